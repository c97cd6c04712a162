package org.jnetfilter.io;

/**
 * A capture file that does not follow its format: a bad magic number, a block or record whose
 * length does not fit, a packet for an interface that was never described, a truncated last
 * record. The message names the byte offset (from the start of the file) and what was wrong,
 * for example {@code block length 12 at offset 4096 is shorter than the minimum 28}.
 */
public final class CaptureFormatException extends Exception {

    private static final long serialVersionUID = 1L;

    private final long offset;

    public CaptureFormatException(long offset, String message) {
        super(message);
        this.offset = offset;
    }

    /** Byte offset from the start of the input where the problem was found. */
    public long offset() {
        return offset;
    }
}
