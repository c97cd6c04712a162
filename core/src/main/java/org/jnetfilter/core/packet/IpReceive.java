package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;

/**
 * The sanity checks Linux applies to a received IP packet before the PREROUTING hook:
 * ip_rcv_core for IPv4, ip6_rcv_core (with ipv6_parse_hopopts) for IPv6. A packet that fails
 * never reaches netfilter; the result says why and which counters moved.
 *
 * <pre>
 * IPv4, in kernel order:                       IPv6, in kernel order:
 *   buffer under 20 bytes    InHdrErrors         buffer under 40 bytes      InHdrErrors
 *   version != 4, IHL under 5 InHdrErrors        version != 6               InHdrErrors
 *   buffer under IHL*4       InHdrErrors         ::1 src/dst, not on lo     InHdrErrors
 *   header checksum          InCsumErrors+Hdr    ff?1:: dst, not on lo      InHdrErrors
 *   buffer under Total Length InTruncatedPkts    ff?0:: dst                 InHdrErrors
 *   Total Length under IHL*4 InHdrErrors         ff00::/8 src               InHdrErrors
 *   trim to Total Length                         buffer under 40 + Payload  InTruncatedPkts
 *                                                trim; hop-by-hop options   InHdrErrors
 * </pre>
 *
 * <p>After {@link ReceiveResult#OK}, {@link #length()} is the datagram length the kernel trims
 * the buffer to (link-layer padding removed).
 *
 * <p>Not modelled here: PACKET_OTHERHOST frames (dropped before any counter, the caller knows
 * the link-layer type), InDiscards for a device without IPv6, drop_unicast_in_l2_multicast,
 * and IPv4 options (checked after PREROUTING, in ip_rcv_finish_core).
 *
 * <p>Hot path: one instance per packet thread; no allocation; never throws for any bytes, as
 * long as {@code [offset, offset + length)} lies inside the segment.
 */
public final class IpReceive {
    /** Linux: IPV6_MAXPLEN. */
    public static final int IPV6_MAXPLEN = 65535;
    /** Linux: net.ipv6.max_hbh_opts_number default (IP6_DEFAULT_MAX_HBH_OPTS_CNT). */
    public static final int DEFAULT_MAX_HBH_OPTIONS = 8;
    /** Linux: ip6_parse_tlv allows at most 7 consecutive bytes of padding. */
    private static final int MAX_PADDING = 7;
    private static final int OPT_PAD1 = 0;
    private static final int OPT_PADN = 1;
    private static final int OPT_JUMBO = 0xC2;

    private final int maxHopByHopOptions;
    private long length;
    private ReceiveResult hopByHopFailure = ReceiveResult.OK;

    public IpReceive() {
        this(DEFAULT_MAX_HBH_OPTIONS);
    }

    /** With a non-default net.ipv6.max_hbh_opts_number. */
    public IpReceive(int maxHopByHopOptions) {
        this.maxHopByHopOptions = maxHopByHopOptions;
    }

    /** Length of the last accepted datagram (IP header included). */
    public long length() {
        return length;
    }

    /** Checks the IPv4 packet of {@code length} buffer bytes at {@code offset}. */
    public ReceiveResult ipv4(MemorySegment s, long offset, long length) {
        this.length = 0;
        if (length < Ipv4Header.MIN_LENGTH) {
            return ReceiveResult.IPV4_HEADER_TRUNCATED;
        }
        int versionIhl = NetworkOrder.u8(s, offset);
        int ihl = versionIhl & 0x0F;
        if (ihl < 5) {
            return ReceiveResult.IPV4_BAD_IHL;
        }
        if (versionIhl >>> 4 != 4) {
            return ReceiveResult.IPV4_BAD_VERSION;
        }
        int headerLength = ihl << 2;
        if (length < headerLength) {
            return ReceiveResult.IPV4_OPTIONS_TRUNCATED;
        }
        if (!Checksums.ipv4HeaderValid(s, offset)) {
            return ReceiveResult.IPV4_BAD_CHECKSUM;
        }
        int totalLength = NetworkOrder.u16(s, offset + Ipv4Header.TOTAL_LENGTH);
        if (length < totalLength) {
            return ReceiveResult.IPV4_TRUNCATED;
        }
        if (totalLength < headerLength) {
            return ReceiveResult.IPV4_BAD_TOTAL_LENGTH;
        }
        this.length = totalLength;
        return ReceiveResult.OK;
    }

    /**
     * Checks the IPv6 packet of {@code length} buffer bytes at {@code offset};
     * {@code loopbackDevice} is true when it arrived on lo (or was looped back), which allows
     * ::1 and interface-local multicast.
     */
    public ReceiveResult ipv6(MemorySegment s, long offset, long length, boolean loopbackDevice) {
        this.length = 0;
        if (length < Ipv6Header.LENGTH) {
            return ReceiveResult.IPV6_HEADER_TRUNCATED;
        }
        if (NetworkOrder.u8(s, offset) >>> 4 != 6) {
            return ReceiveResult.IPV6_BAD_VERSION;
        }
        long srcHigh = NetworkOrder.u64(s, offset + Ipv6Header.SOURCE);
        long srcLow = NetworkOrder.u64(s, offset + Ipv6Header.SOURCE + 8);
        long dstHigh = NetworkOrder.u64(s, offset + Ipv6Header.DESTINATION);
        long dstLow = NetworkOrder.u64(s, offset + Ipv6Header.DESTINATION + 8);
        if (!loopbackDevice
                && (Ipv6Header.isLoopback(srcHigh, srcLow) || Ipv6Header.isLoopback(dstHigh, dstLow))) {
            return ReceiveResult.IPV6_LOOPBACK_ADDRESS;
        }
        boolean multicastDst = Ipv6Header.isMulticast(dstHigh);
        if (!loopbackDevice && multicastDst && Ipv6Header.multicastScope(dstHigh) == 1) {
            return ReceiveResult.IPV6_INTERFACE_LOCAL_MULTICAST;
        }
        if (multicastDst && Ipv6Header.multicastScope(dstHigh) == 0) {
            return ReceiveResult.IPV6_MULTICAST_SCOPE_ZERO;
        }
        if (Ipv6Header.isMulticast(srcHigh)) {
            return ReceiveResult.IPV6_MULTICAST_SOURCE;
        }
        int payloadLength = NetworkOrder.u16(s, offset + Ipv6Header.PAYLOAD_LENGTH);
        int nextHeader = NetworkOrder.u8(s, offset + Ipv6Header.NEXT_HEADER);
        long datagram = length;
        // Payload Length 0 with hop-by-hop options may announce a jumbogram; otherwise trim.
        if (payloadLength != 0 || nextHeader != Ipv6Header.NEXTHDR_HOP) {
            if (Ipv6Header.LENGTH + payloadLength > length) {
                return ReceiveResult.IPV6_TRUNCATED;
            }
            datagram = Ipv6Header.LENGTH + payloadLength;
        }
        if (nextHeader == Ipv6Header.NEXTHDR_HOP) {
            long jumbo = hopByHop(s, offset, datagram, payloadLength);
            if (jumbo < 0) {
                return hopByHopFailure;
            }
            if (jumbo > 0) {
                datagram = Ipv6Header.LENGTH + jumbo;
            }
        }
        this.length = datagram;
        return ReceiveResult.OK;
    }

    /**
     * Parses the hop-by-hop options header as ipv6_parse_hopopts / ip6_parse_tlv do. Returns the
     * jumbo payload length (0 when absent), or -1 with the reason in {@link #hopByHopFailure}.
     */
    private long hopByHop(MemorySegment s, long offset, long datagram, int payloadLength) {
        long base = offset + Ipv6Header.LENGTH;
        if (Ipv6Header.LENGTH + 8 > datagram) {
            return fail(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
        }
        int headerLength = (NetworkOrder.u8(s, base + 1) + 1) << 3;
        if (Ipv6Header.LENGTH + headerLength > datagram) {
            return fail(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
        }
        long jumbo = 0;
        int options = 0;
        int padding = 0;
        int at = 2;
        while (at < headerLength) {
            int type = NetworkOrder.u8(s, base + at);
            if (type == OPT_PAD1) {
                if (++padding > MAX_PADDING) {
                    return fail(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
                }
                at++;
                continue;
            }
            if (at + 2 > headerLength) {
                return fail(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
            }
            int optionLength = NetworkOrder.u8(s, base + at + 1) + 2;
            if (at + optionLength > headerLength) {
                return fail(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
            }
            if (type == OPT_PADN) {
                padding += optionLength;
                if (padding > MAX_PADDING) {
                    return fail(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
                }
                // RFC 8200 4.2: PadN carries zeros; Linux rejects anything else.
                for (int i = 2; i < optionLength; i++) {
                    if (NetworkOrder.u8(s, base + at + i) != 0) {
                        return fail(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
                    }
                }
                at += optionLength;
                continue;
            }
            padding = 0;
            if (++options > maxHopByHopOptions) {
                return fail(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
            }
            if (type == OPT_JUMBO) {
                // RFC 2675: 4-byte value, aligned 4n+2, only with Payload Length 0, above 65535.
                if (optionLength != 6 || (at & 3) != 2) {
                    return fail(ReceiveResult.IPV6_BAD_JUMBO);
                }
                jumbo = NetworkOrder.u32(s, base + at + 2);
                if (jumbo <= IPV6_MAXPLEN || payloadLength != 0) {
                    return fail(ReceiveResult.IPV6_BAD_JUMBO);
                }
                if (jumbo > datagram - Ipv6Header.LENGTH) {
                    return fail(ReceiveResult.IPV6_JUMBO_TRUNCATED);
                }
            } else if ((type >>> 6) != 0) {
                // Unknown option whose two high bits say "discard" (RFC 8200 4.2). Router Alert,
                // CALIPSO and IOAM have 00 and are skipped here like any 00 option.
                return fail(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
            }
            at += optionLength;
        }
        return jumbo;
    }

    private long fail(ReceiveResult reason) {
        hopByHopFailure = reason;
        return -1;
    }
}
