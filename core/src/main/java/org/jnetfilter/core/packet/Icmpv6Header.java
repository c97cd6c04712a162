package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;

/**
 * ICMPv6 header (RFC 4443); the second word depends on the type. Its checksum includes the
 * IPv6 pseudo-header ({@link Checksums#icmpv6}).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  echo: Identifier             |  echo: Sequence Number        |
 * |  packet too big: MTU                                          |
 * |  parameter problem: Pointer                                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  errors: as much of the offending packet as fits ...          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * <p>Hot path: one instance per packet thread, re-pointed with {@link #wrap}; no allocation.
 * Assumes {@link #LENGTH} bytes are present.
 */
public final class Icmpv6Header {
    public static final int TYPE = 0;
    public static final int CODE = 1;
    public static final int CHECKSUM = 2;
    public static final int IDENTIFIER = 4;
    public static final int SEQUENCE = 6;
    public static final int MTU = 4;
    public static final int POINTER = 4;
    public static final int LENGTH = 8;
    public static final int ERROR_PAYLOAD = 8;

    public static final int DEST_UNREACH = 1;
    public static final int PACKET_TOO_BIG = 2;
    public static final int TIME_EXCEED = 3;
    public static final int PARAMPROB = 4;
    public static final int ECHO_REQUEST = 128;
    public static final int ECHO_REPLY = 129;
    public static final int MLD_QUERY = 130;
    public static final int ROUTER_SOLICITATION = 133;
    public static final int ROUTER_ADVERTISEMENT = 134;
    public static final int NEIGHBOUR_SOLICITATION = 135;
    public static final int NEIGHBOUR_ADVERTISEMENT = 136;
    public static final int REDIRECT = 137;

    private MemorySegment segment;
    private long offset;

    public Icmpv6Header wrap(MemorySegment segment, long offset) {
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

    public int type() {
        return NetworkOrder.u8(segment, offset + TYPE);
    }

    public Icmpv6Header type(int v) {
        NetworkOrder.u8(segment, offset + TYPE, v);
        return this;
    }

    public int code() {
        return NetworkOrder.u8(segment, offset + CODE);
    }

    public Icmpv6Header code(int v) {
        NetworkOrder.u8(segment, offset + CODE, v);
        return this;
    }

    public int checksum() {
        return NetworkOrder.u16(segment, offset + CHECKSUM);
    }

    public Icmpv6Header checksum(int v) {
        NetworkOrder.u16(segment, offset + CHECKSUM, v);
        return this;
    }

    public int identifier() {
        return NetworkOrder.u16(segment, offset + IDENTIFIER);
    }

    public Icmpv6Header identifier(int v) {
        NetworkOrder.u16(segment, offset + IDENTIFIER, v);
        return this;
    }

    public int sequence() {
        return NetworkOrder.u16(segment, offset + SEQUENCE);
    }

    public Icmpv6Header sequence(int v) {
        NetworkOrder.u16(segment, offset + SEQUENCE, v);
        return this;
    }

    public long mtu() {
        return NetworkOrder.u32(segment, offset + MTU);
    }

    public Icmpv6Header mtu(long v) {
        NetworkOrder.u32(segment, offset + MTU, v);
        return this;
    }

    public long pointer() {
        return NetworkOrder.u32(segment, offset + POINTER);
    }

    public Icmpv6Header pointer(long v) {
        NetworkOrder.u32(segment, offset + POINTER, v);
        return this;
    }

    /**
     * Linux: icmpv6_is_err, the four error types that quote a packet. RFC 4443 2.1 reserves all
     * of 0..127 for errors, but only these are related to connections by conntrack.
     */
    public static boolean isError(int type) {
        return type >= DEST_UNREACH && type <= PARAMPROB;
    }
}
