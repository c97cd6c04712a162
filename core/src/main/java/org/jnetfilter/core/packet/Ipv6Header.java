package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;

/**
 * IPv6 fixed header (RFC 8200). Extension headers are walked by {@link Ipv6HeaderChain}.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Traffic Class |           Flow Label                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Payload Length        |  Next Header  |   Hop Limit   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                         Source Address                        +
 * |                      (bytes 8 .. 23)                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                      Destination Address                      +
 * |                      (bytes 24 .. 39)                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * <p>A 128-bit address is read as two {@code long} halves in network order ({@code high} holds
 * bytes 0..7), which makes prefix masks two ANDs and needs no array.
 *
 * <p>Hot path: one instance per packet thread, re-pointed with {@link #wrap}; no allocation.
 * Assumes {@link #LENGTH} bytes are present, as checked by {@link IpReceive#ipv6}.
 */
public final class Ipv6Header {
    public static final int VERSION_CLASS_FLOW = 0;
    public static final int PAYLOAD_LENGTH = 4;
    public static final int NEXT_HEADER = 6;
    public static final int HOP_LIMIT = 7;
    public static final int SOURCE = 8;
    public static final int DESTINATION = 24;
    public static final int LENGTH = 40;

    /** Linux: NEXTHDR_* (include/net/ipv6.h). */
    public static final int NEXTHDR_HOP = 0;
    public static final int NEXTHDR_TCP = 6;
    public static final int NEXTHDR_UDP = 17;
    public static final int NEXTHDR_IPV6 = 41;
    public static final int NEXTHDR_ROUTING = 43;
    public static final int NEXTHDR_FRAGMENT = 44;
    public static final int NEXTHDR_GRE = 47;
    public static final int NEXTHDR_ESP = 50;
    public static final int NEXTHDR_AUTH = 51;
    public static final int NEXTHDR_ICMP = 58;
    public static final int NEXTHDR_NONE = 59;
    public static final int NEXTHDR_DEST = 60;
    public static final int NEXTHDR_SCTP = 132;
    public static final int NEXTHDR_UDPLITE = 136;

    private MemorySegment segment;
    private long offset;

    public Ipv6Header wrap(MemorySegment segment, long offset) {
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

    private long word0() {
        return NetworkOrder.u32(segment, offset + VERSION_CLASS_FLOW);
    }

    private Ipv6Header word0(long v) {
        NetworkOrder.u32(segment, offset + VERSION_CLASS_FLOW, v);
        return this;
    }

    public int version() {
        return (int) (word0() >>> 28);
    }

    public Ipv6Header version(int v) {
        return word0((word0() & 0x0FFF_FFFFL) | ((long) (v & 0xF) << 28));
    }

    public int trafficClass() {
        return (int) (word0() >>> 20) & 0xFF;
    }

    public Ipv6Header trafficClass(int v) {
        return word0((word0() & 0xF00F_FFFFL) | ((long) (v & 0xFF) << 20));
    }

    public int dscp() {
        return trafficClass() >>> 2;
    }

    public int ecn() {
        return trafficClass() & 0x03;
    }

    public int flowLabel() {
        return (int) word0() & 0xF_FFFF;
    }

    public Ipv6Header flowLabel(int v) {
        return word0((word0() & 0xFFF0_0000L) | (v & 0xF_FFFF));
    }

    public int payloadLength() {
        return NetworkOrder.u16(segment, offset + PAYLOAD_LENGTH);
    }

    public Ipv6Header payloadLength(int v) {
        NetworkOrder.u16(segment, offset + PAYLOAD_LENGTH, v);
        return this;
    }

    public int nextHeader() {
        return NetworkOrder.u8(segment, offset + NEXT_HEADER);
    }

    public Ipv6Header nextHeader(int v) {
        NetworkOrder.u8(segment, offset + NEXT_HEADER, v);
        return this;
    }

    public int hopLimit() {
        return NetworkOrder.u8(segment, offset + HOP_LIMIT);
    }

    public Ipv6Header hopLimit(int v) {
        NetworkOrder.u8(segment, offset + HOP_LIMIT, v);
        return this;
    }

    public long sourceHigh() {
        return NetworkOrder.u64(segment, offset + SOURCE);
    }

    public long sourceLow() {
        return NetworkOrder.u64(segment, offset + SOURCE + 8);
    }

    public Ipv6Header source(long high, long low) {
        NetworkOrder.u64(segment, offset + SOURCE, high);
        NetworkOrder.u64(segment, offset + SOURCE + 8, low);
        return this;
    }

    public long destinationHigh() {
        return NetworkOrder.u64(segment, offset + DESTINATION);
    }

    public long destinationLow() {
        return NetworkOrder.u64(segment, offset + DESTINATION + 8);
    }

    public Ipv6Header destination(long high, long low) {
        NetworkOrder.u64(segment, offset + DESTINATION, high);
        NetworkOrder.u64(segment, offset + DESTINATION + 8, low);
        return this;
    }

    /** ::1 (Linux: ipv6_addr_loopback). */
    public static boolean isLoopback(long high, long low) {
        return high == 0 && low == 1;
    }

    /** ff00::/8 (Linux: ipv6_addr_is_multicast). */
    public static boolean isMulticast(long high) {
        return (high >>> 56) == 0xFF;
    }

    /** Scope nibble of a multicast address (Linux: IPV6_ADDR_MC_SCOPE). */
    public static int multicastScope(long high) {
        return (int) (high >>> 48) & 0x0F;
    }
}
