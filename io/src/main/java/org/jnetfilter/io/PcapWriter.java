package org.jnetfilter.io;

import java.io.Flushable;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes classic libpcap files, the format {@link PcapReader} documents, for one link type.
 * Packets longer than snaplen are cut to snaplen, keeping their original length, as tcpdump
 * does. Single thread; buffered, no allocation per packet.
 */
public final class PcapWriter implements AutoCloseable, Flushable {

    /** libpcap's MAXIMUM_SNAPLEN, tcpdump's default. */
    public static final int DEFAULT_SNAP_LENGTH = 262144;

    private static final long MAX_SECONDS = 0xffff_ffffL;

    private final CaptureOutput out;
    private final TimestampPrecision precision;
    private final int snapLength;

    public PcapWriter(WritableByteChannel channel, int linkType, int snapLength, TimestampPrecision precision,
            ByteOrder order) throws IOException {
        if (snapLength <= 0) {
            throw new IllegalArgumentException("snaplen " + snapLength + " must be positive");
        }
        if (linkType < 0 || linkType > 0xffff) {
            throw new IllegalArgumentException("link type " + linkType + " is not a 16-bit LINKTYPE_ value");
        }
        this.out = new CaptureOutput(channel, order);
        this.precision = precision;
        this.snapLength = snapLength;
        out.u32(precision.magic).u16(2).u16(4).u32(0).u32(0).u32(snapLength).u32(linkType);
    }

    /** Creates (or truncates) a file in little-endian order with tcpdump's default snaplen. */
    public static PcapWriter create(Path file, int linkType, TimestampPrecision precision) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        try {
            return new PcapWriter(channel, linkType, DEFAULT_SNAP_LENGTH, precision, ByteOrder.LITTLE_ENDIAN);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** Writes a whole packet: original length equals the data's size. */
    public void write(long timestampNanos, MemorySegment data) throws IOException {
        write(timestampNanos, Math.toIntExact(data.byteSize()), data);
    }

    public void write(long timestampNanos, byte[] data) throws IOException {
        write(timestampNanos, data.length, MemorySegment.ofArray(data));
    }

    /**
     * Writes one record.
     *
     * @param timestampNanos since the epoch; must fit pcap's unsigned 32-bit seconds (until 2106).
     *     Microsecond files drop the sub-microsecond part.
     * @param originalLength the packet's length on the wire, at least {@code data}'s size
     */
    public void write(long timestampNanos, int originalLength, MemorySegment data) throws IOException {
        long seconds = Math.floorDiv(timestampNanos, 1_000_000_000L);
        if (seconds < 0 || seconds > MAX_SECONDS) {
            throw new IllegalArgumentException("timestamp " + timestampNanos + " ns is outside pcap's range (1970 to 2106)");
        }
        if (originalLength < data.byteSize()) {
            throw new IllegalArgumentException("original length " + originalLength + " is less than the "
                    + data.byteSize() + " bytes given");
        }
        long fraction = (timestampNanos - seconds * 1_000_000_000L) / precision.nanosPerUnit;
        int captured = (int) Math.min(data.byteSize(), snapLength);
        out.u32(seconds).u32(fraction).u32(captured).u32(originalLength);
        out.bytes(captured == data.byteSize() ? data : data.asSlice(0, captured));
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
