package org.jnetfilter.io;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;

/** A buffered, byte-order-aware sink for the writers. Single thread. */
final class CaptureOutput implements AutoCloseable {

    private static final int CAPACITY = 256 * 1024;

    private final WritableByteChannel channel;
    private final ByteBuffer buffer;
    private final MemorySegment segment;
    private final ValueLayout.OfShort u16;
    private final ValueLayout.OfInt u32;
    private final ValueLayout.OfLong u64;
    private long written;

    CaptureOutput(WritableByteChannel channel, ByteOrder order) {
        this.channel = channel;
        this.buffer = ByteBuffer.allocateDirect(CAPACITY);
        this.segment = MemorySegment.ofBuffer(buffer);
        this.u16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(order);
        this.u32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(order);
        this.u64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(order);
    }

    /** Bytes written so far, including those still buffered. */
    long written() {
        return written + buffer.position();
    }

    private void ensure(int n) throws IOException {
        if (buffer.remaining() < n) {
            flush();
        }
    }

    CaptureOutput u8(int v) throws IOException {
        ensure(1);
        buffer.put((byte) v);
        return this;
    }

    CaptureOutput u16(int v) throws IOException {
        ensure(2);
        segment.set(u16, buffer.position(), (short) v);
        buffer.position(buffer.position() + 2);
        return this;
    }

    CaptureOutput u32(long v) throws IOException {
        ensure(4);
        segment.set(u32, buffer.position(), (int) v);
        buffer.position(buffer.position() + 4);
        return this;
    }

    CaptureOutput u64(long v) throws IOException {
        ensure(8);
        segment.set(u64, buffer.position(), v);
        buffer.position(buffer.position() + 8);
        return this;
    }

    CaptureOutput bytes(MemorySegment src) throws IOException {
        long done = 0;
        long size = src.byteSize();
        while (done < size) {
            if (!buffer.hasRemaining()) {
                flush();
            }
            int chunk = (int) Math.min(size - done, buffer.remaining());
            MemorySegment.copy(src, done, segment, buffer.position(), chunk);
            buffer.position(buffer.position() + chunk);
            done += chunk;
        }
        return this;
    }

    CaptureOutput zeros(int n) throws IOException {
        for (int i = 0; i < n; i++) {
            ensure(1);
            buffer.put((byte) 0);
        }
        return this;
    }

    void flush() throws IOException {
        buffer.flip();
        while (buffer.hasRemaining()) {
            written += channel.write(buffer);
        }
        buffer.clear();
    }

    @Override
    public void close() throws IOException {
        try {
            flush();
        } finally {
            channel.close();
        }
    }
}
