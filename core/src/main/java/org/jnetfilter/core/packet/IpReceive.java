package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;
import java.util.function.LongSupplier;

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
 * <p>A hop-by-hop option that asks for an ICMPv6 parameter problem (unknown with high bits 10, or 11 to
 * a unicast address; a jumbo value) leaves {@link #problemPointer()} and {@link #problemCode()} for the
 * caller to send it; {@link #options} is the same walk for destination options headers.
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
    /** Linux: net.ipv6.max_hbh_length and max_dst_opts_length default (IP6_DEFAULT_MAX_HBH_OPTS_LEN: INT_MAX). */
    public static final long DEFAULT_MAX_OPTIONS_LENGTH = Integer.MAX_VALUE;
    /** Linux: ip6_parse_tlv allows at most 7 consecutive bytes of padding. */
    private static final int MAX_PADDING = 7;
    private static final int OPT_PAD1 = 0;
    private static final int OPT_PADN = 1;
    // Linux: IPV6_TLV_ROUTERALERT, IPV6_TLV_IOAM, IPV6_TLV_CALIPSO, IPV6_TLV_JUMBO
    private static final int OPT_ROUTER_ALERT = 0x05;
    private static final int OPT_IOAM = 0x31;
    // Linux: IOAM6_TYPE_PREALLOC, sizeof(struct ioam6_trace_hdr)
    private static final int IOAM6_TYPE_PREALLOC = 0;
    private static final int IOAM6_TRACE_HEADER = 8;
    // Linux: IOAM6_MASK_SHORT_FIELDS, IOAM6_MASK_WIDE_FIELDS over the trace type word (bit 0 the highest)
    private static final int IOAM6_MASK_SHORT_FIELDS = 0xFF1FFC00;
    private static final int IOAM6_MASK_WIDE_FIELDS = 0x00E00000;
    private boolean ioamEnabled;
    private boolean ioamReading;
    private final int[] ioamTraceAt = new int[8];
    private int ioamTraceCount;
    private static final int OPT_CALIPSO = 0x07;
    private static final int OPT_JUMBO = 0xC2;
    // Linux: ICMPV6_HDR_FIELD, ICMPV6_UNK_OPTION
    private static final int ICMPV6_HDR_FIELD = 0;
    private static final int ICMPV6_UNK_OPTION = 2;

    private final LongSupplier maxHopByHopOptions;
    private final LongSupplier maxHopByHopLength;
    private long length;
    private ReceiveResult hopByHopFailure = ReceiveResult.OK;
    private long jumbo;
    private int problemPointer = -1;
    private int problemCode;

    public IpReceive() {
        this(() -> DEFAULT_MAX_HBH_OPTIONS, () -> DEFAULT_MAX_OPTIONS_LENGTH);
    }

    /**
     * With the host's net.ipv6.max_hbh_opts_number and max_hbh_length, asked only for datagrams that carry a
     * hop-by-hop header (so a sysctl change applies to the next such packet, as in Linux).
     */
    public IpReceive(LongSupplier maxHopByHopOptions, LongSupplier maxHopByHopLength) {
        this.maxHopByHopOptions = maxHopByHopOptions;
        this.maxHopByHopLength = maxHopByHopLength;
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
        this.problemPointer = -1;
        this.ioamTraceCount = 0;
        // the switch is for one call: a caller that did not set it reads no IOAM option
        this.ioamReading = ioamEnabled;
        this.ioamEnabled = false;
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
            long jumboLength = hopByHop(s, offset, datagram, payloadLength);
            if (jumboLength < 0) {
                return hopByHopFailure;
            }
            if (jumboLength > 0) {
                datagram = Ipv6Header.LENGTH + jumboLength;
            }
        }
        this.length = datagram;
        return ReceiveResult.OK;
    }

    /**
     * Parses the hop-by-hop options header as ipv6_parse_hopopts does. Returns the jumbo payload length (0 when
     * absent), or -1 with the reason in {@link #hopByHopFailure}.
     */
    private long hopByHop(MemorySegment s, long offset, long datagram, int payloadLength) {
        ReceiveResult r = options(s, offset, Ipv6Header.LENGTH, datagram, true, maxHopByHopOptions.getAsLong(),
                maxHopByHopLength.getAsLong(), payloadLength);
        return r == ReceiveResult.OK ? jumbo : fail(r);
    }

    /**
     * ip6_parse_tlv over the options header (hop-by-hop when {@code hopByHop}, else destination options) at
     * {@code header} bytes into the IPv6 datagram at {@code offset} of {@code datagram} bytes; {@code maxOptions} is
     * net.ipv6.max_hbh_opts_number or max_dst_opts_number (negative: at most its absolute value, and any option
     * not known here is dropped silently, whatever its action bits), {@code maxLength} max_hbh_length or
     * max_dst_opts_length (a longer header is dropped before its options are read), {@code payloadLength} the IPv6
     * header's (for the jumbo option). Pad1 and PadN at most 7 bytes in a row, PadN zeros, at most {@code maxOptions} other options, the
     * options filling the header exactly; a header cut short or malformed is {@link ReceiveResult#IPV6_BAD_HOP_BY_HOP}.
     * Hop-by-hop knows Router Alert (length 2), Jumbo Payload, IOAM (4n-aligned; read only where enabled: {@link #ioam})
     * and CALIPSO (always dropped: no NetLabel CALIPSO domain, calipso_validate fails); destination options know none
     * (the home address option needs Mobile IPv6). Any other option goes by its two high bits (ip6_tlvopt_unknown):
     * 00 skipped, 01 dropped, 10 parameter problem 'unrecognised option' pointing at it, 11 the same unless the
     * destination is multicast (then only dropped). Checked on Linux 6.18. When the result asks for a parameter
     * problem ({@link #problemPointer()} at least 0), {@link #problemCode()} and the pointer say which. No allocation.
     */
    public ReceiveResult options(MemorySegment s, long offset, int header, long datagram, boolean hopByHop,
            long maxOptions, long maxLength, int payloadLength) {
        problemPointer = -1;
        jumbo = 0;
        if (header + 8 > datagram) {
            return ReceiveResult.IPV6_BAD_HOP_BY_HOP;
        }
        int headerLength = (NetworkOrder.u8(s, offset + header + 1) + 1) << 3;
        // Linux: ipv6_parse_hopopts / ipv6_destopt_rcv compare the header's length with the sysctl before pulling it
        if (headerLength > maxLength) {
            return hopByHop ? ReceiveResult.IPV6_HOP_BY_HOP_TOO_LONG : ReceiveResult.IPV6_DESTINATION_OPTIONS_TOO_LONG;
        }
        if (header + headerLength > datagram) {
            return ReceiveResult.IPV6_BAD_HOP_BY_HOP;
        }
        // Linux: ip6_parse_tlv takes a negative count as "at most -count, and unknown options disallowed"
        boolean unknownDisallowed = maxOptions < 0;
        if (unknownDisallowed) {
            maxOptions = -maxOptions;
        }
        boolean multicastDst = Ipv6Header.isMulticast(NetworkOrder.u64(s, offset + Ipv6Header.DESTINATION));
        int options = 0;
        int padding = 0;
        int end = header + headerLength;
        int at = header + 2;
        while (at < end) {
            int type = NetworkOrder.u8(s, offset + at);
            if (type == OPT_PAD1) {
                if (++padding > MAX_PADDING) {
                    return ReceiveResult.IPV6_BAD_HOP_BY_HOP;
                }
                at++;
                continue;
            }
            if (at + 2 > end) {
                return ReceiveResult.IPV6_BAD_HOP_BY_HOP;
            }
            int optionLength = NetworkOrder.u8(s, offset + at + 1) + 2;
            if (at + optionLength > end) {
                return ReceiveResult.IPV6_BAD_HOP_BY_HOP;
            }
            if (type == OPT_PADN) {
                padding += optionLength;
                if (padding > MAX_PADDING) {
                    return ReceiveResult.IPV6_BAD_HOP_BY_HOP;
                }
                // RFC 8200 4.2: PadN carries zeros; Linux rejects anything else.
                for (int i = 2; i < optionLength; i++) {
                    if (NetworkOrder.u8(s, offset + at + i) != 0) {
                        return ReceiveResult.IPV6_BAD_HOP_BY_HOP;
                    }
                }
                at += optionLength;
                continue;
            }
            padding = 0;
            if (++options > maxOptions) {
                return ReceiveResult.IPV6_BAD_HOP_BY_HOP;
            }
            ReceiveResult r = hopByHop ? hopByHopOption(s, offset, at, type, optionLength, datagram, payloadLength,
                    multicastDst, unknownDisallowed) : unknownOption(at, type, multicastDst, unknownDisallowed);
            if (r != ReceiveResult.OK) {
                return r;
            }
            at += optionLength;
        }
        return ReceiveResult.OK;
    }

    /** The hop-by-hop option of {@code type} at {@code at}: the known ones' checks, else ip6_tlvopt_unknown. */
    private ReceiveResult hopByHopOption(MemorySegment s, long offset, int at, int type, int optionLength,
            long datagram, int payloadLength, boolean multicastDst, boolean unknownDisallowed) {
        switch (type) {
            case OPT_ROUTER_ALERT -> {
                // Linux: ipv6_hop_ra takes only a 2-byte value
                return optionLength == 4 ? ReceiveResult.OK : ReceiveResult.IPV6_BAD_HOP_BY_HOP;
            }
            case OPT_IOAM -> {
                return ioam(s, offset, at, optionLength);
            }
            case OPT_CALIPSO -> {
                // Linux: ipv6_hop_calipso; calipso_validate fails without a NetLabel CALIPSO domain (not modelled)
                return ReceiveResult.IPV6_BAD_HOP_BY_HOP;
            }
            case OPT_JUMBO -> {
                // RFC 2675: 4-byte value, aligned 4n+2, only with Payload Length 0, above 65535.
                if (optionLength != 6 || (at & 3) != 2) {
                    return ReceiveResult.IPV6_BAD_JUMBO;
                }
                long length = NetworkOrder.u32(s, offset + at + 2);
                // Linux: ipv6_hop_jumbo answers parameter problem (ICMPV6_HDR_FIELD) at the value, then at the option
                if (length <= IPV6_MAXPLEN) {
                    return parameterProblem(ICMPV6_HDR_FIELD, at + 2, ReceiveResult.IPV6_BAD_JUMBO);
                }
                if (payloadLength != 0) {
                    return parameterProblem(ICMPV6_HDR_FIELD, at, ReceiveResult.IPV6_BAD_JUMBO);
                }
                if (length > datagram - Ipv6Header.LENGTH) {
                    return ReceiveResult.IPV6_JUMBO_TRUNCATED;
                }
                jumbo = length;
                return ReceiveResult.OK;
            }
            default -> {
                return unknownOption(at, type, multicastDst, unknownDisallowed);
            }
        }
    }

    /**
     * ipv6_hop_ioam's checks of the IOAM option at {@code at}: misaligned (not 4n) dropped; ignored where
     * ioam6_enabled is off on the input interface ({@link #ioamEnabled}); else an option data length under 2
     * dropped, and for a pre-allocated trace (IOAM type 0) a header cut short (under 2 + 8 bytes), a remaining
     * length beyond the option or a NodeLen other than the trace type's fields dropped; a well-formed trace is noted ({@link #ioamTraces}) for the node to fill in.
     * Other IOAM types pass untouched.
     */
    private ReceiveResult ioam(MemorySegment s, long offset, int at, int optionLength) {
        if ((at & 3) != 0) {
            return ReceiveResult.IPV6_BAD_HOP_BY_HOP;
        }
        if (!ioamReading) {
            return ReceiveResult.OK;
        }
        int dataLength = optionLength - 2;
        if (dataLength < 2) {
            return ReceiveResult.IPV6_BAD_HOP_BY_HOP;
        }
        if (NetworkOrder.u8(s, offset + at + 3) == IOAM6_TYPE_PREALLOC) {
            // Linux: struct ioam6_hdr (4 bytes) then struct ioam6_trace_hdr (8 bytes), RemainingLen in 4-byte words
            if (dataLength < 2 + IOAM6_TRACE_HEADER) {
                return ReceiveResult.IPV6_BAD_HOP_BY_HOP;
            }
            int remaining = NetworkOrder.u8(s, offset + at + 4 + 3) & 0x7F;
            if (dataLength < 2 + IOAM6_TRACE_HEADER + remaining * 4) {
                return ReceiveResult.IPV6_BAD_HOP_BY_HOP;
            }
            // Linux 6.18 (CVE-2026-43186 fix): NodeLen must be what the trace type asks for
            // (ioam6_trace_compute_nodelen: one word per short field, two per wide one; the schema not counted)
            int type = (int) NetworkOrder.u32(s, offset + at + 4 + 4);
            int nodeLen = NetworkOrder.u8(s, offset + at + 4 + 2) >>> 3;
            if (nodeLen != Integer.bitCount(type & IOAM6_MASK_SHORT_FIELDS)
                    + 2 * Integer.bitCount(type & IOAM6_MASK_WIDE_FIELDS)) {
                return ReceiveResult.IPV6_BAD_HOP_BY_HOP;
            }
            if (ioamTraceCount < ioamTraceAt.length) {
                ioamTraceAt[ioamTraceCount++] = at + 4;
            }
        }
        return ReceiveResult.OK;
    }

    /**
     * Whether the next {@link #ipv6} reads IOAM options (net.ipv6.conf.IF.ioam6_enabled of the input interface): when
     * off, they are only checked for alignment. It holds for that one call.
     */
    public IpReceive ioamEnabled(boolean enabled) {
        ioamEnabled = enabled;
        return this;
    }

    /** How many well-formed IOAM pre-allocated traces the last {@link #ipv6} met (at most 8 are noted). */
    public int ioamTraces() {
        return ioamTraceCount;
    }

    /** The offset from the IPv6 header of the {@code i}th trace header ({@link #ioamTraces}). */
    public int ioamTraceAt(int i) {
        return ioamTraceAt[i];
    }

    /**
     * ip6_tlvopt_unknown: an option this host does not know, by its two high bits (RFC 8200 4.2); dropped without a
     * word when the sysctl's negative count disallows unknown options.
     */
    private ReceiveResult unknownOption(int at, int type, boolean multicastDst, boolean unknownDisallowed) {
        if (unknownDisallowed) {
            return ReceiveResult.IPV6_UNKNOWN_OPTION;
        }
        int action = type >>> 6;
        if (action == 2 || action == 3 && !multicastDst) {
            return parameterProblem(ICMPV6_UNK_OPTION, at, ReceiveResult.IPV6_UNKNOWN_OPTION);
        }
        return action == 0 ? ReceiveResult.OK : ReceiveResult.IPV6_UNKNOWN_OPTION;
    }

    private ReceiveResult parameterProblem(int code, int pointer, ReceiveResult r) {
        problemCode = code;
        problemPointer = pointer;
        return r;
    }

    /**
     * After a failed {@link #ipv6} or {@link #options}: the ICMPv6 parameter problem pointer (from the IPv6 header)
     * the kernel answers with before dropping, or -1 when it drops silently.
     */
    public int problemPointer() {
        return problemPointer;
    }

    /** The parameter problem's code when {@link #problemPointer()} is at least 0. */
    public int problemCode() {
        return problemCode;
    }

    private long fail(ReceiveResult reason) {
        hopByHopFailure = reason;
        return -1;
    }
}
