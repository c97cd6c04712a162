package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;

/**
 * UDP header (RFC 768), also UDP-Lite (RFC 3828) where the length field is the checksum
 * coverage.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Length (UDP-Lite: Coverage) |           Checksum            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * <p>Hot path: one instance per packet thread, re-pointed with {@link #wrap}; no allocation.
 * Assumes {@link #LENGTH} bytes are present. Setters do not fix the checksum: use
 * {@link Checksums#updateUdp16} (which keeps a zero "no checksum" as zero).
 */
public final class UdpHeader {
    public static final int SOURCE_PORT = 0;
    public static final int DESTINATION_PORT = 2;
    public static final int LENGTH_FIELD = 4;
    public static final int CHECKSUM_COVERAGE = 4;
    public static final int CHECKSUM = 6;
    public static final int LENGTH = 8;

    private MemorySegment segment;
    private long offset;

    public UdpHeader wrap(MemorySegment segment, long offset) {
        this.segment = segment;
        this.offset = offset;
        return this;
    }

    public MemorySegment segment() {
        return segment;
    }

    public long offset() {
        return offset;
    }

    public int sourcePort() {
        return NetworkOrder.u16(segment, offset + SOURCE_PORT);
    }

    public UdpHeader sourcePort(int v) {
        NetworkOrder.u16(segment, offset + SOURCE_PORT, v);
        return this;
    }

    public int destinationPort() {
        return NetworkOrder.u16(segment, offset + DESTINATION_PORT);
    }

    public UdpHeader destinationPort(int v) {
        NetworkOrder.u16(segment, offset + DESTINATION_PORT, v);
        return this;
    }

    /** UDP datagram length, header included. */
    public int length() {
        return NetworkOrder.u16(segment, offset + LENGTH_FIELD);
    }

    public UdpHeader length(int v) {
        NetworkOrder.u16(segment, offset + LENGTH_FIELD, v);
        return this;
    }

    /** UDP-Lite checksum coverage as sent (0 means the whole datagram). */
    public int checksumCoverage() {
        return NetworkOrder.u16(segment, offset + CHECKSUM_COVERAGE);
    }

    public UdpHeader checksumCoverage(int v) {
        NetworkOrder.u16(segment, offset + CHECKSUM_COVERAGE, v);
        return this;
    }

    /**
     * UDP-Lite coverage in bytes for a datagram of {@code datagramLength} bytes, or -1 when Linux
     * drops it (udplite_checksum_init, and conntrack's udplite_error "invalid checksum
     * coverage"): 0 means everything; below 8 or beyond the datagram is invalid.
     */
    public int effectiveCoverage(int datagramLength) {
        int cscov = checksumCoverage();
        if (cscov == 0) {
            return datagramLength;
        }
        return cscov < LENGTH || cscov > datagramLength ? -1 : cscov;
    }

    public int checksum() {
        return NetworkOrder.u16(segment, offset + CHECKSUM);
    }

    public UdpHeader checksum(int v) {
        NetworkOrder.u16(segment, offset + CHECKSUM, v);
        return this;
    }
}
