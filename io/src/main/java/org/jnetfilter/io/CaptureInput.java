package org.jnetfilter.io;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;

/**
 * A read window over a channel: the readers ask for the next {@code n} bytes to be contiguous in
 * one direct buffer, read fields at offsets relative to the window's start, then advance past
 * them. Memory stays constant: the buffer holds one read-ahead chunk or, if larger, the largest
 * record seen, bounded by {@link #MAX_RECORD}.
 *
 * <p>Single thread; no allocation per record unless a record is larger than any before it.
 */
final class CaptureInput implements AutoCloseable {

    /**
     * Largest block or record the readers will hold in memory. libpcap caps snaplen at
     * 262144 (MAXIMUM_SNAPLEN) and Wireshark caps pcapng blocks at 16 MiB; anything larger
     * is a corrupt length field, not a packet.
     */
    static final int MAX_RECORD = 16 * 1024 * 1024;

    private static final int INITIAL_CAPACITY = 64 * 1024;

    private static final ValueLayout.OfShort U16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16_BE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32_BE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final ReadableByteChannel channel;
    private ByteBuffer buffer;
    private MemorySegment segment;
    /** Window start, as an index into {@link #buffer}. */
    private int position;
    /** End of valid bytes in {@link #buffer}. */
    private int limit;
    /** File offset of buffer index 0. */
    private long base;
    private boolean endOfInput;
    private boolean bigEndian;

    CaptureInput(ReadableByteChannel channel) {
        this.channel = channel;
        this.buffer = ByteBuffer.allocateDirect(INITIAL_CAPACITY);
        this.segment = MemorySegment.ofBuffer(buffer);
    }

    /** File offset of the window's start. */
    long offset() {
        return base + position;
    }

    void order(ByteOrder order) {
        bigEndian = order == ByteOrder.BIG_ENDIAN;
    }

    ByteOrder order() {
        return bigEndian ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
    }

    /**
     * Makes the next {@code n} bytes contiguous in the window, reading as needed.
     * Returns how many are available: {@code n}, or fewer only at the end of the input.
     * The buffer grows only as far as the input really has bytes, so a corrupt length
     * field costs no more memory than the file's size.
     */
    int fill(int n) throws IOException {
        while (limit - position < n && !endOfInput) {
            if (limit == buffer.capacity()) {
                makeRoom(n);
            }
            buffer.limit(buffer.capacity()).position(limit);
            int read = channel.read(buffer);
            if (read < 0) {
                endOfInput = true;
            } else {
                limit += read;
            }
        }
        return Math.min(n, limit - position);
    }

    /** With the buffer full: moves the window to the buffer's start, or, if already there, doubles it. */
    private void makeRoom(int n) {
        int available = limit - position;
        if (position > 0) {
            MemorySegment.copy(segment, position, segment, 0, available);
        } else {
            int capacity = (int) Math.min(2L * buffer.capacity(), Math.max(n, buffer.capacity() + 1L));
            ByteBuffer grown = ByteBuffer.allocateDirect(capacity);
            MemorySegment grownSegment = MemorySegment.ofBuffer(grown);
            MemorySegment.copy(segment, 0, grownSegment, 0, available);
            buffer = grown;
            segment = grownSegment;
        }
        base += position;
        position = 0;
        limit = available;
    }

    /** True when no byte is left: the input ended on a record boundary. */
    boolean atEnd() throws IOException {
        return fill(1) == 0;
    }

    void advance(int n) {
        position += n;
    }

    /** Skips {@code n} bytes; returns how many were skipped (fewer only at the end of input). */
    long skip(long n) throws IOException {
        long skipped = 0;
        while (skipped < n) {
            int chunk = (int) Math.min(n - skipped, buffer.capacity());
            int got = fill(chunk);
            if (got == 0) {
                break;
            }
            position += got;
            skipped += got;
        }
        return skipped;
    }

    int u8(int at) {
        return segment.get(ValueLayout.JAVA_BYTE, position + at) & 0xff;
    }

    int u16(int at) {
        return segment.get(bigEndian ? U16_BE : U16_LE, position + at) & 0xffff;
    }

    /** Unsigned 32-bit field, widened. */
    long u32(int at) {
        return segment.get(bigEndian ? U32_BE : U32_LE, position + at) & 0xffff_ffffL;
    }

    /** Signed 64-bit field, as pcapng stores it: two 32-bit words in the section's byte order. */
    long i64(int at) {
        long first = u32(at);
        long second = u32(at + 4);
        return bigEndian ? (first << 32) | second : (second << 32) | first;
    }

    /** A 32-bit field as a raw int, for magic numbers and lengths checked by the caller. */
    int i32(int at, ByteOrder order) {
        return segment.get(order == ByteOrder.BIG_ENDIAN ? U32_BE : U32_LE, position + at);
    }

    /** A view of {@code length} bytes at {@code at}; valid until the next {@link #fill}. */
    MemorySegment slice(int at, int length) {
        return segment.asSlice(position + at, length);
    }

    /** The whole buffer; with {@link #absolute(int)} it lets readers keep one view per buffer. */
    MemorySegment segment() {
        return segment;
    }

    /** Index into {@link #segment()} of window offset {@code at}. */
    long absolute(int at) {
        return position + (long) at;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
