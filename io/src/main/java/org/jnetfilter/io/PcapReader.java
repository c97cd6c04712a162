package org.jnetfilter.io;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;

/**
 * Reads classic libpcap files (tcpdump -w), streaming, in either byte order, with
 * microsecond or nanosecond timestamps.
 *
 * <pre>
 *  file header (24 bytes)                      record header (16 bytes), then incl_len bytes
 *   0 magic  a1b2c3d4 us | a1b23c4d ns          0 ts_sec
 *   4 version_major (2) | version_minor (4)     4 ts_usec or ts_nsec
 *   8 thiszone (0)                              8 incl_len  (captured)
 *  12 sigfigs (0)                              12 orig_len  (on the wire)
 *  16 snaplen
 *  20 linktype (low 16 bits; upper bits: FCS length, ignored)
 * </pre>
 *
 * Like libpcap, the reader accepts a captured length above the original length and above
 * snaplen; it refuses captured lengths above {@link CaptureInput#MAX_RECORD}, which are
 * corrupt, and a last record cut short.
 */
public final class PcapReader extends CaptureCursor {

    static final int FILE_HEADER_LENGTH = 24;
    static final int RECORD_HEADER_LENGTH = 16;

    private final TimestampPrecision precision;
    private final int linkType;
    private final long snapLength;

    public PcapReader(ReadableByteChannel channel, String defaultInterfaceName)
            throws IOException, CaptureFormatException {
        this(new CaptureInput(channel), defaultInterfaceName);
    }

    PcapReader(CaptureInput input, String defaultInterfaceName) throws IOException, CaptureFormatException {
        super(input, defaultInterfaceName);
        int got = input.fill(FILE_HEADER_LENGTH);
        if (got < FILE_HEADER_LENGTH) {
            throw truncated(0, "pcap file header", FILE_HEADER_LENGTH, got);
        }
        int magic = input.i32(0, ByteOrder.LITTLE_ENDIAN);
        TimestampPrecision found = null;
        for (TimestampPrecision p : TimestampPrecision.values()) {
            if (magic == p.magic) {
                input.order(ByteOrder.LITTLE_ENDIAN);
                found = p;
            } else if (magic == Integer.reverseBytes(p.magic)) {
                input.order(ByteOrder.BIG_ENDIAN);
                found = p;
            }
        }
        if (found == null) {
            throw new CaptureFormatException(0, String.format(
                    "magic 0x%08x at offset 0 is neither pcap (a1b2c3d4, a1b23c4d, either byte order)"
                            + " nor pcapng (0a0d0d0a)", input.i32(0, ByteOrder.BIG_ENDIAN)));
        }
        precision = found;
        int major = input.u16(4);
        int minor = input.u16(6);
        if (major != 2) {
            throw new CaptureFormatException(4, "pcap version " + major + "." + minor
                    + " at offset 4 is not supported (expected 2.x)");
        }
        snapLength = input.u32(16);
        linkType = (int) (input.u32(20) & 0xffff);
        input.advance(FILE_HEADER_LENGTH);
    }

    /** Microseconds or nanoseconds, from the magic number. */
    public TimestampPrecision precision() {
        return precision;
    }

    /** The file's byte order, from the magic number. */
    public ByteOrder byteOrder() {
        return input.order();
    }

    /** The snaplen field of the file header. */
    public long snapLength() {
        return snapLength;
    }

    @Override
    public boolean next() throws IOException, CaptureFormatException {
        if (input.atEnd()) {
            return false;
        }
        long offset = input.offset();
        int got = input.fill(RECORD_HEADER_LENGTH);
        if (got < RECORD_HEADER_LENGTH) {
            throw truncated(offset, "record header", RECORD_HEADER_LENGTH, got);
        }
        long seconds = input.u32(0);
        long fraction = input.u32(4);
        long captured = input.u32(8);
        long original = input.u32(12);
        if (captured > CaptureInput.MAX_RECORD) {
            throw new CaptureFormatException(offset, "captured length " + captured + " at offset " + offset
                    + " exceeds the maximum " + CaptureInput.MAX_RECORD);
        }
        if (original > Integer.MAX_VALUE) {
            throw new CaptureFormatException(offset, "original length " + original + " at offset " + offset
                    + " exceeds the maximum " + Integer.MAX_VALUE);
        }
        int length = RECORD_HEADER_LENGTH + (int) captured;
        got = input.fill(length);
        if (got < length) {
            throw truncated(offset, "record", length, got);
        }
        // ts_sec < 2^32 and fraction < 2^32, so neither product overflows a long.
        long nanos = seconds * 1_000_000_000L + fraction * precision.nanosPerUnit;
        current(offset, 0, defaultInterfaceName, linkType, nanos, (int) original, (int) captured,
                RECORD_HEADER_LENGTH);
        input.advance(length);
        return true;
    }
}
