package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Internet checksums (RFC 1071), their pseudo-header variants, incremental update (RFC 1624)
 * and SCTP's CRC32c (RFC 9260 appendix A).
 *
 * <p>Vocabulary: a <em>partial sum</em> is the folded 16-bit ones' complement sum of some 16-bit
 * words, not yet complemented; a <em>checksum</em> is its complement, the value on the wire. A
 * range summed on its own must start at an even distance from the start of what the checksum
 * covers; an odd trailing byte is padded with a zero low byte (RFC 1071).
 *
 * <p>Linux behaviours reproduced:
 * <ul>
 *   <li>UDP over IPv4: a checksum field of 0 means "no checksum" and is accepted unchecked
 *       (RFC 768; Linux: udp4_csum_init). A computed 0 is sent as 0xFFFF (Linux: CSUM_MANGLED_0).
 *   <li>UDP over IPv6: 0 is invalid (RFC 8200 8.1; Linux: udp6_csum_init "udp checksum is 0").
 *   <li>UDP-Lite: 0 is invalid ("UDPLite: zeroed checksum field"), coverage 0 means the whole
 *       datagram, coverage below 8 or beyond the datagram is dropped.
 *   <li>NAT keeps a UDP/IPv4 zero checksum zero when it rewrites ports or addresses
 *       (Linux: nf_nat_proto udp_manip_pkt), see {@link #updateUdp16}.
 *   <li>The SCTP CRC32c is stored little-endian (Linux: sctp_compute_cksum returns __le32).
 * </ul>
 *
 * <p>Hot path: static, stateless, allocation-free. Ranges are assumed inside the segment (the
 * segment throws otherwise); lengths are the caller's, already validated against the packet.
 */
public final class Checksums {
    static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static final int PROTO_ICMP = 1;
    public static final int PROTO_TCP = 6;
    public static final int PROTO_UDP = 17;
    public static final int PROTO_ICMPV6 = 58;
    public static final int PROTO_UDPLITE = 136;
    /** Linux: CSUM_MANGLED_0, how a computed zero UDP checksum goes on the wire. */
    public static final int MANGLED_ZERO = 0xFFFF;

    private static final int TCP_CHECKSUM = TcpHeader.CHECKSUM;
    private static final int UDP_CHECKSUM = UdpHeader.CHECKSUM;
    private static final int ICMP_CHECKSUM = 2;

    private Checksums() {
    }

    // ---- RFC 1071 ----

    /** Folds carries into 16 bits (end-around carry). Never returns 0 for a non-zero input. */
    public static int fold(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) sum;
    }

    /** Partial sum of {@code length} bytes at {@code offset}, added to {@code initial}. */
    public static int partial(MemorySegment s, long offset, int length, long initial) {
        long sum = initial;
        long at = offset;
        long end = offset + length;
        // Eight bytes at a time: add both 32-bit halves into a 64-bit accumulator; the carries
        // pile up in the high bits and are folded once at the end (RFC 1071 section 2(C)).
        while (at + 8 <= end) {
            long w = NetworkOrder.u64(s, at);
            sum += (w >>> 32) + (w & 0xFFFF_FFFFL);
            at += 8;
        }
        if (at + 4 <= end) {
            sum += NetworkOrder.u32(s, at);
            at += 4;
        }
        if (at + 2 <= end) {
            sum += NetworkOrder.u16(s, at);
            at += 2;
        }
        if (at < end) {
            sum += NetworkOrder.u8(s, at) << 8;
        }
        return fold(sum);
    }

    /** The Internet checksum of a range: complement of its partial sum. */
    public static int internet(MemorySegment s, long offset, int length) {
        return ~partial(s, offset, length, 0) & 0xFFFF;
    }

    // ---- IPv4 header ----

    /** Header checksum of the IPv4 header at {@code offset} (IHL words, checksum field as zero). */
    public static int ipv4Header(MemorySegment s, long offset) {
        int hl = (NetworkOrder.u8(s, offset) & 0x0F) << 2;
        int sum = partial(s, offset, Ipv4Header.CHECKSUM, 0);
        sum = partial(s, offset + Ipv4Header.CHECKSUM + 2, hl - Ipv4Header.CHECKSUM - 2, sum);
        return ~sum & 0xFFFF;
    }

    /** Linux: ip_fast_csum(iph, ihl) == 0, the sum over the header including its checksum. */
    public static boolean ipv4HeaderValid(MemorySegment s, long offset) {
        int hl = (NetworkOrder.u8(s, offset) & 0x0F) << 2;
        return partial(s, offset, hl, 0) == 0xFFFF;
    }

    // ---- pseudo-headers ----

    /** Partial sum of the IPv4 pseudo-header (RFC 9293 3.1, RFC 768). */
    public static int pseudoV4(int source, int destination, int protocol, int length) {
        long sum = (source >>> 16) + (source & 0xFFFF) + (destination >>> 16) + (destination & 0xFFFF)
                + protocol + length;
        return fold(sum);
    }

    /**
     * Partial sum of the IPv6 pseudo-header (RFC 8200 8.1) with addresses read from the segment.
     * With a routing header the destination must be the final one, so it is passed separately.
     */
    public static int pseudoV6(MemorySegment s, long sourceAt, long destinationAt, int protocol, long length) {
        int sum = partial(s, sourceAt, 16, 0);
        sum = partial(s, destinationAt, 16, sum);
        return fold(sum + (length >>> 16) + (length & 0xFFFF) + protocol);
    }

    private static int pseudoV6(MemorySegment s, long ipv6Offset, int protocol, long length) {
        return pseudoV6(s, ipv6Offset + Ipv6Header.SOURCE, ipv6Offset + Ipv6Header.DESTINATION, protocol, length);
    }

    /** Checksum over {@code coverage} bytes at {@code l4} with the 16-bit field at {@code field} skipped. */
    private static int withPseudo(MemorySegment s, long l4, int coverage, int field, int pseudo) {
        int sum = partial(s, l4, field, pseudo);
        sum = partial(s, l4 + field + 2, coverage - field - 2, sum);
        return ~sum & 0xFFFF;
    }

    private static boolean verify(MemorySegment s, long l4, int coverage, int pseudo) {
        return partial(s, l4, coverage, pseudo) == 0xFFFF;
    }

    private static int mangleZero(int checksum) {
        return checksum == 0 ? MANGLED_ZERO : checksum;
    }

    // ---- TCP ----

    public static int tcpV4(MemorySegment s, long l4, int length, int source, int destination) {
        return withPseudo(s, l4, length, TCP_CHECKSUM, pseudoV4(source, destination, PROTO_TCP, length));
    }

    public static boolean tcpV4Valid(MemorySegment s, long l4, int length, int source, int destination) {
        return verify(s, l4, length, pseudoV4(source, destination, PROTO_TCP, length));
    }

    public static int tcpV6(MemorySegment s, long ipv6Offset, long l4, int length) {
        return withPseudo(s, l4, length, TCP_CHECKSUM, pseudoV6(s, ipv6Offset, PROTO_TCP, length));
    }

    public static boolean tcpV6Valid(MemorySegment s, long ipv6Offset, long l4, int length) {
        return verify(s, l4, length, pseudoV6(s, ipv6Offset, PROTO_TCP, length));
    }

    // ---- UDP ----

    /** UDP checksum over IPv4; a computed 0 is returned as 0xFFFF, since 0 means "none". */
    public static int udpV4(MemorySegment s, long l4, int length, int source, int destination) {
        return mangleZero(withPseudo(s, l4, length, UDP_CHECKSUM, pseudoV4(source, destination, PROTO_UDP, length)));
    }

    /** True when the checksum verifies or is 0 (no checksum over IPv4). */
    public static boolean udpV4Valid(MemorySegment s, long l4, int length, int source, int destination) {
        return NetworkOrder.u16(s, l4 + UDP_CHECKSUM) == 0
                || verify(s, l4, length, pseudoV4(source, destination, PROTO_UDP, length));
    }

    public static int udpV6(MemorySegment s, long ipv6Offset, long l4, int length) {
        return mangleZero(withPseudo(s, l4, length, UDP_CHECKSUM, pseudoV6(s, ipv6Offset, PROTO_UDP, length)));
    }

    /** Over IPv6 a zero checksum is an error, not "none". */
    public static boolean udpV6Valid(MemorySegment s, long ipv6Offset, long l4, int length) {
        return NetworkOrder.u16(s, l4 + UDP_CHECKSUM) != 0
                && verify(s, l4, length, pseudoV6(s, ipv6Offset, PROTO_UDP, length));
    }

    // ---- UDP-Lite: the pseudo-header carries the datagram length, the sum covers `coverage` ----

    public static int udpLiteV4(MemorySegment s, long l4, int length, int coverage, int source, int destination) {
        return mangleZero(withPseudo(s, l4, coverage, UDP_CHECKSUM,
                pseudoV4(source, destination, PROTO_UDPLITE, length)));
    }

    public static boolean udpLiteV4Valid(MemorySegment s, long l4, int length, int source, int destination) {
        int coverage = udpLiteCoverage(s, l4, length);
        return coverage > 0 && verify(s, l4, coverage, pseudoV4(source, destination, PROTO_UDPLITE, length));
    }

    public static int udpLiteV6(MemorySegment s, long ipv6Offset, long l4, int length, int coverage) {
        return mangleZero(withPseudo(s, l4, coverage, UDP_CHECKSUM, pseudoV6(s, ipv6Offset, PROTO_UDPLITE, length)));
    }

    public static boolean udpLiteV6Valid(MemorySegment s, long ipv6Offset, long l4, int length) {
        int coverage = udpLiteCoverage(s, l4, length);
        return coverage > 0 && verify(s, l4, coverage, pseudoV6(s, ipv6Offset, PROTO_UDPLITE, length));
    }

    /** Effective coverage, or -1 when Linux drops the datagram (bad coverage or zero checksum). */
    private static int udpLiteCoverage(MemorySegment s, long l4, int length) {
        if (length < UdpHeader.LENGTH || NetworkOrder.u16(s, l4 + UDP_CHECKSUM) == 0) {
            return -1;
        }
        int cscov = NetworkOrder.u16(s, l4 + UdpHeader.CHECKSUM_COVERAGE);
        if (cscov == 0) {
            return length;
        }
        return cscov < UdpHeader.LENGTH || cscov > length ? -1 : cscov;
    }

    // ---- ICMP, ICMPv6 ----

    /** ICMP checksum over the whole message, no pseudo-header (RFC 792). */
    public static int icmp(MemorySegment s, long offset, int length) {
        return withPseudo(s, offset, length, ICMP_CHECKSUM, 0);
    }

    public static boolean icmpValid(MemorySegment s, long offset, int length) {
        return partial(s, offset, length, 0) == 0xFFFF;
    }

    public static int icmpv6(MemorySegment s, long ipv6Offset, long l4, int length) {
        return withPseudo(s, l4, length, ICMP_CHECKSUM, pseudoV6(s, ipv6Offset, PROTO_ICMPV6, length));
    }

    public static boolean icmpv6Valid(MemorySegment s, long ipv6Offset, long l4, int length) {
        return verify(s, l4, length, pseudoV6(s, ipv6Offset, PROTO_ICMPV6, length));
    }

    // ---- RFC 1624 incremental update ----

    /*
     * RFC 1624 equation 3: HC' = ~(~HC + ~m + m'). Unlike equation 2 of RFC 1141 it never
     * produces 0xFFFF ("-0") from a checksum a full computation would give as 0x0000, so the
     * result equals a full recomputation whenever HC was correct. Linux: csum_replace2,
     * csum_replace4, inet_proto_csum_replace4/16 (the latter for pseudo-header fields).
     */

    /** Checksum after a 16-bit field changed from {@code old} to {@code neu}. */
    public static int update16(int checksum, int old, int neu) {
        long sum = (~checksum & 0xFFFF) + (~old & 0xFFFF) + (neu & 0xFFFF);
        return ~fold(sum) & 0xFFFF;
    }

    /** Checksum after a 32-bit field (an IPv4 address, a sequence number) changed. */
    public static int update32(int checksum, int old, int neu) {
        long sum = (~checksum & 0xFFFF) + (~old >>> 16 & 0xFFFF) + (~old & 0xFFFF)
                + (neu >>> 16 & 0xFFFF) + (neu & 0xFFFF);
        return ~fold(sum) & 0xFFFF;
    }

    /** Checksum after a 128-bit field (an IPv6 address, as two halves) changed. */
    public static int update128(int checksum, long oldHigh, long oldLow, long newHigh, long newLow) {
        long sum = (~checksum & 0xFFFF) + halves(~oldHigh) + halves(~oldLow) + halves(newHigh) + halves(newLow);
        return ~fold(sum) & 0xFFFF;
    }

    private static long halves(long v) {
        return (v >>> 48) + (v >>> 32 & 0xFFFF) + (v >>> 16 & 0xFFFF) + (v & 0xFFFF);
    }

    /** UDP variant of {@link #update16}: a 0 ("no checksum") stays 0; a result 0 becomes 0xFFFF. */
    public static int updateUdp16(int checksum, int old, int neu) {
        return checksum == 0 ? 0 : mangleZero(update16(checksum, old, neu));
    }

    /** UDP variant of {@link #update32}, for NAT of an address in the pseudo-header. */
    public static int updateUdp32(int checksum, int old, int neu) {
        return checksum == 0 ? 0 : mangleZero(update32(checksum, old, neu));
    }

    // ---- SCTP CRC32c ----

    /*
     * CRC32c (Castagnoli, reflected polynomial 0x82F63B78), table-driven a byte at a time: SCTP
     * packets are small and this keeps the code allocation-free without java.util.zip.CRC32C's
     * ByteBuffer view. The checksum field counts as zero while computing (RFC 9260 6.8).
     */
    private static final int[] CRC32C_TABLE = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            int c = i;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ 0x82F6_3B78 : c >>> 1;
            }
            CRC32C_TABLE[i] = c;
        }
    }

    /** CRC32c of a byte range, as java.util.zip.CRC32C computes it. */
    public static long crc32c(MemorySegment s, long offset, int length) {
        return Integer.toUnsignedLong(~crc32cUpdate(~0, s, offset, length));
    }

    private static int crc32cUpdate(int crc, MemorySegment s, long offset, int length) {
        for (long at = offset, end = offset + length; at < end; at++) {
            crc = (crc >>> 8) ^ CRC32C_TABLE[(crc ^ s.get(ValueLayout.JAVA_BYTE, at)) & 0xFF];
        }
        return crc;
    }

    /** SCTP checksum of the {@code length}-byte packet at {@code offset}, checksum field as zero. */
    public static long sctp(MemorySegment s, long offset, int length) {
        int crc = crc32cUpdate(~0, s, offset, SctpHeader.CHECKSUM);
        for (int i = 0; i < 4; i++) {
            crc = (crc >>> 8) ^ CRC32C_TABLE[crc & 0xFF];
        }
        crc = crc32cUpdate(crc, s, offset + SctpHeader.LENGTH, length - SctpHeader.LENGTH);
        return Integer.toUnsignedLong(~crc);
    }
}
