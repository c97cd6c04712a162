package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;

/**
 * ICMP header (RFC 792); the second word depends on the type.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  echo: Identifier             |  echo: Sequence Number        |
 * |  redirect: Gateway Internet Address                           |
 * |  frag needed: unused          |  Next-Hop MTU (RFC 1191)      |
 * |  parameter problem: Pointer   |  unused                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  errors: the offending IP header + at least 8 bytes ...       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * <p>Hot path: one instance per packet thread, re-pointed with {@link #wrap}; no allocation.
 * Assumes {@link #LENGTH} bytes are present. The checksum covers the whole ICMP message
 * ({@link Checksums#icmp}).
 */
public final class IcmpHeader {
    public static final int TYPE = 0;
    public static final int CODE = 1;
    public static final int CHECKSUM = 2;
    public static final int IDENTIFIER = 4;
    public static final int SEQUENCE = 6;
    public static final int GATEWAY = 4;
    public static final int POINTER = 4;
    public static final int NEXT_HOP_MTU = 6;
    public static final int LENGTH = 8;
    /** Where an error's quoted packet starts. */
    public static final int ERROR_PAYLOAD = 8;

    public static final int ECHO_REPLY = 0;
    public static final int DEST_UNREACH = 3;
    public static final int SOURCE_QUENCH = 4;
    public static final int REDIRECT = 5;
    public static final int ECHO_REQUEST = 8;
    public static final int TIME_EXCEEDED = 11;
    public static final int PARAMETER_PROBLEM = 12;
    public static final int TIMESTAMP = 13;
    public static final int TIMESTAMP_REPLY = 14;
    public static final int INFO_REQUEST = 15;
    public static final int INFO_REPLY = 16;
    public static final int ADDRESS = 17;
    public static final int ADDRESS_REPLY = 18;
    /** Destination unreachable codes used by REJECT and PMTU discovery. */
    public static final int CODE_PORT_UNREACH = 3;
    public static final int CODE_FRAG_NEEDED = 4;

    private MemorySegment segment;
    private long offset;

    public IcmpHeader wrap(MemorySegment segment, long offset) {
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

    public IcmpHeader type(int v) {
        NetworkOrder.u8(segment, offset + TYPE, v);
        return this;
    }

    public int code() {
        return NetworkOrder.u8(segment, offset + CODE);
    }

    public IcmpHeader code(int v) {
        NetworkOrder.u8(segment, offset + CODE, v);
        return this;
    }

    public int checksum() {
        return NetworkOrder.u16(segment, offset + CHECKSUM);
    }

    public IcmpHeader checksum(int v) {
        NetworkOrder.u16(segment, offset + CHECKSUM, v);
        return this;
    }

    public int identifier() {
        return NetworkOrder.u16(segment, offset + IDENTIFIER);
    }

    public IcmpHeader identifier(int v) {
        NetworkOrder.u16(segment, offset + IDENTIFIER, v);
        return this;
    }

    public int sequence() {
        return NetworkOrder.u16(segment, offset + SEQUENCE);
    }

    public IcmpHeader sequence(int v) {
        NetworkOrder.u16(segment, offset + SEQUENCE, v);
        return this;
    }

    public int gateway() {
        return NetworkOrder.bits32(segment, offset + GATEWAY);
    }

    public IcmpHeader gateway(int v) {
        NetworkOrder.bits32(segment, offset + GATEWAY, v);
        return this;
    }

    public int pointer() {
        return NetworkOrder.u8(segment, offset + POINTER);
    }

    public IcmpHeader pointer(int v) {
        NetworkOrder.u8(segment, offset + POINTER, v);
        return this;
    }

    public int nextHopMtu() {
        return NetworkOrder.u16(segment, offset + NEXT_HOP_MTU);
    }

    public IcmpHeader nextHopMtu(int v) {
        NetworkOrder.u16(segment, offset + NEXT_HOP_MTU, v);
        return this;
    }

    /**
     * Linux: icmp_is_err, the types that quote a packet and that conntrack relates to an
     * existing connection (RELATED) instead of tracking.
     */
    public static boolean isError(int type) {
        return type == DEST_UNREACH || type == SOURCE_QUENCH || type == REDIRECT
                || type == TIME_EXCEEDED || type == PARAMETER_PROBLEM;
    }

    /** Checksum computed over the {@code length}-byte message starting here. */
    public IcmpHeader updateChecksum(int length) {
        return checksum(Checksums.icmp(segment, offset, length));
    }
}
