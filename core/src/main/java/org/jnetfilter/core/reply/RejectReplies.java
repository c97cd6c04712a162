package org.jnetfilter.core.reply;

import static org.jnetfilter.core.reply.IcmpErrors.U16;
import static org.jnetfilter.core.reply.IcmpErrors.U32;
import static org.jnetfilter.core.reply.IcmpErrors.U64;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.RouteResult;
import org.jnetfilter.core.host.RouteType;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;

/**
 * The replies of {@code -j REJECT}: what ipt_REJECT / ip6t_REJECT send for the {@code reject_with} code the
 * target left on the packet ({@link PacketContext#rejectWith()}).
 *
 * <p>ICMP unreachables (nf_send_unreach, nf_send_unreach6): nothing for a non-first fragment, nothing when the
 * original's transport checksum is wrong (checked as the kernel checks an skb whose checksum no device
 * verified, CHECKSUM_NONE: IPv4 sums the whole datagram, IP header included, with the TCP/UDP pseudo-header;
 * IPv6 the upper-layer part with its pseudo-header; not checked for AH, ESP, SCTP, UDP-Lite, DCCP, GRE, nor
 * for UDP without a checksum); then the message goes through {@link IcmpErrors} with all its rules and limits.
 * IPv4 codes: net/host/proto/port unreachable 0-3, net-prohibited 9, host-prohibited 10, admin-prohibited 13;
 * IPv6: no-route 0, adm-prohibited 1, addr-unreach 3, port-unreach 4, policy-fail 5, reject-route 6.
 *
 * <p>TCP resets (nf_send_reset, nf_send_reset6): nothing for a non-first fragment, a packet that is not TCP
 * or too short for its header, a reset, a wrong checksum, (IPv4) a broadcast or multicast route, (IPv6) a
 * source or destination that is not unicast, nor when no route leads back. The reset goes from the
 * original's destination to its source with the ports swapped, a 20-byte header, no options, window 0: when
 * the original had ACK, sequence = its acknowledgment number and flags RST; otherwise sequence 0,
 * acknowledgment = its sequence + SYN + FIN + payload length, flags RST|ACK. IPv4 header: TOS 0, ID 0, DF,
 * TTL of the original's route (ip_default_ttl, 64); IPv6: traffic class 0, flow label 0, hop limit of the
 * route (64). The TCP checksum is complete (the kernel leaves it to the device, CHECKSUM_PARTIAL; on the
 * wire it is the same).
 *
 * <p>Not thread-safe through {@link IcmpErrors}' rate limits; allocates only the reply.
 */
public final class RejectReplies {
    // Linux: enum ipt_reject_with
    public static final int IPT_ICMP_NET_UNREACHABLE = 0;
    public static final int IPT_ICMP_HOST_UNREACHABLE = 1;
    public static final int IPT_ICMP_PROT_UNREACHABLE = 2;
    public static final int IPT_ICMP_PORT_UNREACHABLE = 3;
    public static final int IPT_ICMP_NET_PROHIBITED = 5;
    public static final int IPT_ICMP_HOST_PROHIBITED = 6;
    public static final int IPT_TCP_RESET = 7;
    public static final int IPT_ICMP_ADMIN_PROHIBITED = 8;
    // Linux: enum ip6t_reject_with
    public static final int IP6T_ICMP6_NO_ROUTE = 0;
    public static final int IP6T_ICMP6_ADM_PROHIBITED = 1;
    public static final int IP6T_ICMP6_ADDR_UNREACH = 3;
    public static final int IP6T_ICMP6_PORT_UNREACH = 4;
    public static final int IP6T_TCP_RESET = 6;
    public static final int IP6T_ICMP6_POLICY_FAIL = 7;
    public static final int IP6T_ICMP6_REJECT_ROUTE = 8;

    private static final int TCP_FIN = 0x01;
    private static final int TCP_SYN = 0x02;
    private static final int TCP_RST = 0x04;
    private static final int TCP_ACK = 0x10;

    private final IcmpErrors icmp;

    public RejectReplies(IcmpErrors icmp) {
        this.icmp = Objects.requireNonNull(icmp, "icmp");
    }

    /** The reply REJECT sends for the packet in {@code pkt} ({@code pkt.rejectWith()}), or null for none. */
    public Reply reply(PacketContext pkt) {
        return reply(pkt, pkt.rejectWith());
    }

    /** The reply for {@code rejectWith}, the kernel's reject_with code of the packet's family. */
    public Reply reply(PacketContext pkt, int rejectWith) {
        if (pkt.family() == Family.IPV4) {
            if (rejectWith == IPT_TCP_RESET) {
                return reset4(pkt);
            }
            int code = icmpCode(rejectWith);
            return code < 0 ? null : unreach4(pkt, code);
        }
        if (rejectWith == IP6T_TCP_RESET) {
            return reset6(pkt);
        }
        int code = icmpv6Code(rejectWith);
        return code < 0 ? null : unreach6(pkt, code);
    }

    /** reject_tg's switch for IPv4: the ICMP code of a reject_with value, -1 for none. */
    static int icmpCode(int with) {
        return switch (with) {
            case IPT_ICMP_NET_UNREACHABLE -> IcmpErrors.ICMP_NET_UNREACH;
            case IPT_ICMP_HOST_UNREACHABLE -> IcmpErrors.ICMP_HOST_UNREACH;
            case IPT_ICMP_PROT_UNREACHABLE -> IcmpErrors.ICMP_PROT_UNREACH;
            case IPT_ICMP_PORT_UNREACHABLE -> IcmpErrors.ICMP_PORT_UNREACH;
            case IPT_ICMP_NET_PROHIBITED -> IcmpErrors.ICMP_NET_ANO;
            case IPT_ICMP_HOST_PROHIBITED -> IcmpErrors.ICMP_HOST_ANO;
            case IPT_ICMP_ADMIN_PROHIBITED -> IcmpErrors.ICMP_PKT_FILTERED;
            default -> -1;
        };
    }

    /** reject_tg's switch for IPv6: the ICMPv6 code of a reject_with value, -1 for none. */
    static int icmpv6Code(int with) {
        return switch (with) {
            case IP6T_ICMP6_NO_ROUTE -> IcmpErrors.ICMPV6_NOROUTE;
            case IP6T_ICMP6_ADM_PROHIBITED -> IcmpErrors.ICMPV6_ADM_PROHIBITED;
            case IP6T_ICMP6_ADDR_UNREACH -> IcmpErrors.ICMPV6_ADDR_UNREACH;
            case IP6T_ICMP6_PORT_UNREACH -> IcmpErrors.ICMPV6_PORT_UNREACH;
            case IP6T_ICMP6_POLICY_FAIL -> IcmpErrors.ICMPV6_POLICY_FAIL;
            case IP6T_ICMP6_REJECT_ROUTE -> IcmpErrors.ICMPV6_REJECT_ROUTE;
            default -> -1;
        };
    }

    // ---- IPv4 ----

    private Reply unreach4(PacketContext pkt, int code) {
        if ((pkt.networkU16(6) & 0x1FFF) != 0) {
            return null;
        }
        int ihl = (pkt.networkU8(0) & 0x0F) << 2;
        int proto = pkt.networkU8(9);
        // Linux: nf_send_unreach sums the datagram again (its header too, which a record route or timestamp filled on
        // receipt leaves with a stale checksum until ip_forward_options) unless skb_csum_unnecessary: conntrack verified
        // the transport checksum in PREROUTING
        if (!pkt.checksumVerified() && verifyChecksum(pkt, ihl, proto) && !checksum4Valid(pkt, ihl, proto)) {
            return null;
        }
        return icmp.icmpSend(pkt, IcmpErrors.ICMP_DEST_UNREACH, code, 0);
    }

    private Reply reset4(PacketContext pkt) {
        if ((pkt.networkU16(6) & 0x1FFF) != 0 || pkt.networkU8(9) != Checksums.PROTO_TCP) {
            return null;
        }
        int ihl = (pkt.networkU8(0) & 0x0F) << 2;
        if (ihl + 20 > pkt.length()) {
            return null;
        }
        int flags = pkt.networkU8(ihl + 13);
        // Linux: nf_reject_ip_tcphdr_get sums the segment again (nf_ip_checksum), its IP header too, unless the sum
        // taken on receipt is still with the packet (conntrack's check in PREROUTING left CHECKSUM_COMPLETE). ip_forward
        // forgets that sum before FORWARD (skb_forward_csum), so a forwarded segment whose header a record route or
        // timestamp receipt left with a stale checksum gets no reset, conntrack or not (checked on Linux 6.18; a port
        // unreachable still goes: nf_send_unreach asks skb_csum_unnecessary, which csum_valid answers)
        boolean sumKept = pkt.checksumVerified() && pkt.hook() != Hook.FORWARD;
        if ((flags & TCP_RST) != 0 || !sumKept && !checksum4Valid(pkt, ihl, Checksums.PROTO_TCP)) {
            return null;
        }
        IpAddress origSrc = IpAddress.ipv4((int) pkt.sourceLo());
        IpAddress origDst = IpAddress.ipv4((int) pkt.destinationLo());
        RouteType dstType = icmp.host().addressType(origDst, null);
        if (dstType == RouteType.BROADCAST || dstType == RouteType.MULTICAST) {
            return null;
        }
        long mark = icmp.replyMark(pkt, "net.ipv4.fwmark_reflect");
        // Linux: ip_route_me_harder routes the reset from the original's destination back to its source
        RouteResult route = icmp.host().lookup(Family.IPV4, origSrc, origDst, mark, null, null);
        if (route.isError()) {
            return null;
        }
        MemorySegment out = MemorySegment.ofArray(new byte[40]);
        out.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x45);
        out.set(U16, 2, (short) 40);
        out.set(U16, 6, (short) 0x4000);
        out.set(ValueLayout.JAVA_BYTE, 8, (byte) icmp.setting("net.ipv4.ip_default_ttl", 64));
        out.set(ValueLayout.JAVA_BYTE, 9, (byte) Checksums.PROTO_TCP);
        out.set(U32, 12, (int) origDst.lo());
        out.set(U32, 16, (int) origSrc.lo());
        out.set(U16, 10, (short) Checksums.ipv4Header(out, 0));
        int payload = pkt.length() - ihl - ((pkt.networkU8(ihl + 12) >>> 4) << 2);
        putResetHeader(out, 20, pkt, ihl, flags, payload);
        out.set(U16, 36, (short) Checksums.tcpV4(out, 20, 20, (int) origDst.lo(), (int) origSrc.lo()));
        return new Reply(Family.IPV4, out, route, mark, pkt.conntrack());
    }

    /** nf_reject_ip_tcphdr_put / nf_reject_ip6_tcphdr_put: the reset's 20-byte TCP header, checksum 0. */
    private static void putResetHeader(MemorySegment out, int at, PacketContext pkt, int thoff, int flags,
            int payload) {
        out.set(U16, at, (short) pkt.networkU16(thoff + 2));
        out.set(U16, at + 2, (short) pkt.networkU16(thoff));
        long seq = Integer.toUnsignedLong(pkt.segment().get(U32, pkt.networkOffset() + thoff + 4));
        int ack = pkt.segment().get(U32, pkt.networkOffset() + thoff + 8);
        if ((flags & TCP_ACK) != 0) {
            out.set(U32, at + 4, ack);
            out.set(ValueLayout.JAVA_BYTE, at + 13, (byte) TCP_RST);
        } else {
            long next = seq + ((flags & TCP_SYN) != 0 ? 1 : 0) + ((flags & TCP_FIN) != 0 ? 1 : 0) + payload;
            out.set(U32, at + 8, (int) next);
            out.set(ValueLayout.JAVA_BYTE, at + 13, (byte) (TCP_RST | TCP_ACK));
        }
        out.set(ValueLayout.JAVA_BYTE, at + 12, (byte) 0x50);
    }

    /**
     * nf_ip_checksum on a CHECKSUM_NONE skb: the one's complement sum of the whole datagram (its IP header
     * included, which a valid header makes neutral) plus, for TCP and UDP, the pseudo-header.
     */
    private static boolean checksum4Valid(PacketContext pkt, int ihl, int proto) {
        long pseudo = 0;
        if (proto == Checksums.PROTO_TCP || proto == Checksums.PROTO_UDP) {
            pseudo = Checksums.pseudoV4((int) pkt.sourceLo(), (int) pkt.destinationLo(), proto, pkt.length() - ihl);
        }
        return Checksums.partial(pkt.segment(), pkt.networkOffset(), pkt.length(), pseudo) == 0xFFFF;
    }

    /**
     * nf_reject_verify_csum: protocols whose integrity is not the 16-bit sum of the whole payload are not
     * checked, nor UDP without a checksum.
     */
    private static boolean verifyChecksum(PacketContext pkt, int thoff, int proto) {
        switch (proto) {
            case 51, 50, 132, 136, 33, 47:
                return false;
            case Checksums.PROTO_UDP:
                return thoff + 8 > pkt.length() || pkt.networkU16(thoff + 6) != 0;
            default:
                return true;
        }
    }

    // ---- IPv6 ----

    /**
     * ipv6_skip_exthdr from the fixed header: {@code [thoff, protocol, fragment offset field]}, or null when
     * the chain cannot be walked (No Next Header, a header past the end). A non-first fragment stops the walk
     * at its fragment header with protocol 44.
     */
    static int[] skipExtensionHeaders(PacketContext pkt) {
        int next = pkt.networkU8(6);
        int at = 40;
        int frag = 0;
        while (IcmpErrors.isExtension(next)) {
            if (next == 59 || at + 2 > pkt.length()) {
                return null;
            }
            int length;
            if (next == 44) {
                if (at + 4 > pkt.length()) {
                    return null;
                }
                frag = pkt.networkU16(at + 2);
                if ((frag & ~0x7) != 0) {
                    break;
                }
                length = 8;
            } else if (next == 51) {
                length = (pkt.networkU8(at + 1) + 2) << 2;
            } else {
                length = (pkt.networkU8(at + 1) + 1) << 3;
            }
            next = pkt.networkU8(at);
            at += length;
        }
        return new int[] {at, next, frag};
    }

    /** nf_ip6_checksum on a CHECKSUM_NONE skb: the upper-layer part with its pseudo-header. */
    private static boolean checksum6Valid(PacketContext pkt, int thoff, int proto) {
        long net = pkt.networkOffset();
        int len = pkt.length() - thoff;
        int pseudo = Checksums.pseudoV6(pkt.segment(), net + 8, net + 24, proto, len);
        return Checksums.partial(pkt.segment(), net + thoff, len, pseudo) == 0xFFFF;
    }

    private Reply unreach6(PacketContext pkt, int code) {
        int[] h = skipExtensionHeaders(pkt);
        if (h == null || h[0] >= pkt.length() || (h[2] & ~0x7) != 0) {
            return null;
        }
        if (verifyChecksum(pkt, h[0], h[1]) && !checksum6Valid(pkt, h[0], h[1])) {
            return null;
        }
        return icmp.icmpv6Send(pkt, IcmpErrors.ICMPV6_DEST_UNREACH, code, 0);
    }

    private Reply reset6(PacketContext pkt) {
        IpAddress origSrc = new IpAddress(Family.IPV6, pkt.sourceHi(), pkt.sourceLo());
        IpAddress origDst = new IpAddress(Family.IPV6, pkt.destinationHi(), pkt.destinationLo());
        if (!isUnicast(origSrc) || !isUnicast(origDst)) {
            return null;
        }
        int[] h = skipExtensionHeaders(pkt);
        if (h == null || h[0] > pkt.length()) {
            return null;
        }
        int thoff = h[0];
        int tcpLength = pkt.length() - thoff;
        if (h[1] != Checksums.PROTO_TCP || tcpLength < 20) {
            return null;
        }
        int flags = pkt.networkU8(thoff + 13);
        if ((flags & TCP_RST) != 0 || !checksum6Valid(pkt, thoff, Checksums.PROTO_TCP)) {
            return null;
        }
        long mark = icmp.replyMark(pkt, "net.ipv6.fwmark_reflect");
        RouteResult route = icmp.host().lookup(Family.IPV6, origSrc, origDst, mark, null, null);
        if (route.isError()) {
            return null;
        }
        MemorySegment out = MemorySegment.ofArray(new byte[60]);
        out.set(U32, 0, 6 << 28);
        out.set(U16, 4, (short) 20);
        out.set(ValueLayout.JAVA_BYTE, 6, (byte) Checksums.PROTO_TCP);
        out.set(ValueLayout.JAVA_BYTE, 7, (byte) icmp.hopLimit(route.dev()));
        out.set(U64, 8, origDst.hi());
        out.set(U64, 16, origDst.lo());
        out.set(U64, 24, origSrc.hi());
        out.set(U64, 32, origSrc.lo());
        int payload = tcpLength - ((pkt.networkU8(thoff + 12) >>> 4) << 2);
        putResetHeader(out, 40, pkt, thoff, flags, payload);
        out.set(U16, 56, (short) Checksums.tcpV6(out, 0, 40, 20));
        return new Reply(Family.IPV6, out, route, mark, pkt.conntrack());
    }

    /** ipv6_addr_type(...) & IPV6_ADDR_UNICAST: not unspecified, not multicast. */
    private static boolean isUnicast(IpAddress a) {
        return !a.isAny() && !a.isMulticast();
    }
}
