package org.jnetfilter.difftest;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.IcmpHeader;
import org.jnetfilter.core.packet.Icmpv6Header;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.packet.Ipv6Header;
import org.jnetfilter.core.packet.TcpHeader;
import org.jnetfilter.core.reply.IcmpErrors;
import org.jnetfilter.core.reply.Ipv4OptionsEcho;
import org.jnetfilter.core.reply.Reply;
import org.jnetfilter.core.rules.Hook;

/**
 * dut's sockets as the harness's topology has them: none. What Linux answers to a datagram INPUT
 * delivered, with no socket listening, and what the harness therefore expects jnetfilter's host to send:
 * <ul>
 * <li>ICMP echo request: an echo reply (icmp_echo / icmp_reply), from the request's destination, TTL
 *   64, TOS of the request, not for broadcast destinations (icmp_echo_ignore_broadcasts = 1);
 *   ICMPv6 echo request: an echo reply (icmpv6_echo_reply), hop limit 64, traffic class of the request.</li>
 * <li>TCP to a closed port (tcp_v4_send_reset / tcp_v6_send_reset): nothing for a RST or a segment whose
 *   checksum is wrong; else RST with seq = the segment's ACK when it has one, else RST+ACK with seq 0 and
 *   ack = seq + data length + SYN + FIN; window 0, DF, TTL 64, the segment's TOS / traffic class
 *   without its ECN bits.</li>
 * <li>UDP to a closed port (__udp4_lib_rcv / __udp6_lib_rcv): port unreachable through icmp_send /
 *   icmpv6_send, not for broadcasts, not when the checksum is wrong.</li>
 * </ul>
 * IPv4 answers echo the options the receive path compiled in the datagram (ip_send_unicast_reply, icmp_reply and
 * icmp_send all call __ip_options_echo): record route and timestamp with this host's entry added where there is room,
 * a source route reversed, CIPSO; not router alert, security or unknown options ({@link Ipv4OptionsEcho}, as Linux
 * 6.18 answered SYNs, UDP datagrams and echo requests with each of them). When the options cannot be echoed (a
 * record route or timestamp pointer leaving less than an entry) the kernel sends no answer at all.
 * An IPv6 UDP datagram over 76 bytes gets no answer when conntrack checksummed it and a target changed its IPv6
 * header afterwards ({@link #conntrackChecksummed}): the kernel counts a checksum error.
 * IPv6 fragments reach the stack one by one (INPUT sees each: Linux reassembles IPv6 in the Fragment
 * header's protocol handler, ipv6_frag_rcv, after the hook), so they are reassembled here first: by
 * source, destination and identification, complete when the pieces from offset 0 to the last (M clear)
 * join without holes. Not a hot path; one small array per answer.
 */
final class LocalStack {
    private final Host host;
    private final IcmpErrors icmp;
    private boolean linkBroadcast;
    private final java.util.SplittableRandom random = new java.util.SplittableRandom(2);
    private final java.util.Map<String, java.util.TreeMap<Integer, byte[]>> fragmentsByKey = new java.util.HashMap<>();
    private final java.util.Map<String, byte[]> firstHeaderByKey = new java.util.HashMap<>();

    /** The IPv6 header's sum when conntrack checksummed the datagram being received, or -1. */
    private int headerSumAtConntrack = -1;

    /**
     * Linux: conntrack's udp_error checks a UDP checksum at PREROUTING in software (nf_ip6_checksum ->
     * __skb_checksum_complete) and leaves the sum of the whole packet, IPv6 header included, in skb->csum
     * (CHECKSUM_COMPLETE, csum_complete_sw). A target that rewrites the header afterwards without fixing that sum
     * (DSCP, TOS, HL; NAT does fix it) makes it stale: ip6_input_finish subtracts the new header, udp6_csum_init
     * finds the sum wrong, defers datagrams over CHECKSUM_BREAK (76 bytes) and, the sum being software's, calls
     * them bad: Udp6InCsumErrors, no port unreachable. Shorter ones are summed again at once and pass. (Checked in
     * a namespace: fragmented and whole datagrams, DSCP in mangle PREROUTING and INPUT, HL; not with NAT alone.)
     *
     * @param headerSum {@link #ipv6HeaderSum} of the header conntrack saw, or -1 when conntrack did not sum it
     */
    void conntrackChecksummed(int headerSum) {
        headerSumAtConntrack = headerSum;
    }

    /** The ones' complement sum of the IPv6 header's words that targets rewrite (class, flow label, hop limit). */
    static int ipv6HeaderSum(MemorySegment s, long at) {
        int sum = Be.u16(s, at) + Be.u16(s, at + 2) + Be.u16(s, at + 6);
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return sum;
    }

    LocalStack(Host host, IcmpErrors icmp) {
        this.host = host;
        this.icmp = icmp;
    }

    /**
     * The answer datagram to {@code d} (an IP datagram INPUT delivered on {@code ifname}; {@code linkBroadcast}:
     * it came in a frame to a broadcast or multicast MAC), or null. Linux's TCP and icmp_send answer only
     * frames that were addressed to this host at the link layer (pkt_type PACKET_HOST).
     */
    byte[] answer(String ifname, byte[] d, boolean linkBroadcast, long nowNanos) {
        return answer(ifname, d, 0, linkBroadcast, nowNanos);
    }

    /** As {@link #answer(String, byte[], boolean, long)} for a datagram with the IPv4 options state {@code ipv4Options}. */
    byte[] answer(String ifname, byte[] d, int ipv4Options, boolean linkBroadcast, long nowNanos) {
        if (d.length < 1) {
            return null;
        }
        this.linkBroadcast = linkBroadcast;
        this.ipv4Options = ipv4Options;
        this.answerOptions = 0;
        int version = (d[0] >> 4) & 0xF;
        return version == 4 ? answer4(ifname, d, nowNanos) : version == 6 ? answer6(ifname, d, nowNanos) : null;
    }

    /** The compiled IPv4 options of the datagram being answered (PacketSink#deliverLocal). */
    private int ipv4Options;
    /** The options state of the last answer (Ipv4Options#built), or 0. */
    private int answerOptions;

    /**
     * The options state of the last answer as ip_options_build leaves it with the datagram ({@link
     * org.jnetfilter.core.netfilter.Ipv4Options#built}; 0 for none): what an ICMP error about the answer echoes, as
     * Linux's REJECT in OUTPUT does about a reset or echo reply that echoed options.
     */
    int answerOptions() {
        return answerOptions;
    }

    /**
     * {@code answer} (an IPv4 datagram with a 20-byte header, from {@code d}'s destination to its source) with the
     * options of {@code d} echoed into its header, or null when they cannot be echoed. With a source route the answer
     * goes to the hop before this one and the route's last entry is the sender (ip_options_build).
     */
    private byte[] echoingOptions(byte[] answer, byte[] d, long now) {
        if (ipv4Options == 0) {
            return answer;
        }
        PacketContext original = new PacketContext().ipv4(MemorySegment.ofArray(d), 0, d.length).host(host).nowNanos(now)
                .ipv4Options(ipv4Options);
        int sender = Be.s32(original.segment(), Ipv4Header.SOURCE);
        Ipv4OptionsEcho.Echo echo = Ipv4OptionsEcho.echo(original, Be.s32(MemorySegment.ofArray(answer),
                Ipv4Header.SOURCE), host);
        if (echo == null) {
            return null;
        }
        byte[] options = echo.options();
        answerOptions = echo.state();
        if (options.length == 0) {
            return answer;
        }
        int ihl = 20 + options.length;
        byte[] out = new byte[answer.length + options.length];
        System.arraycopy(answer, 0, out, 0, 20);
        System.arraycopy(options, 0, out, 20, options.length);
        System.arraycopy(answer, 20, out, ihl, answer.length - 20);
        MemorySegment o = MemorySegment.ofArray(out);
        Ipv4Header ip = new Ipv4Header().wrap(o, 0).ihl(ihl / 4).totalLength(out.length);
        IpAddress firstHop = Ipv4OptionsEcho.firstHop(original);
        if (firstHop != null) {
            ip.destination((int) firstHop.lo());
        }
        Ipv4OptionsEcho.build(o, 0, ihl, sender);
        ip.updateChecksum();
        return out;
    }

    private byte[] answer4(String ifname, byte[] d, long now) {
        MemorySegment s = MemorySegment.ofArray(d);
        Ipv4Header ip = new Ipv4Header().wrap(s, 0);
        int hl = ip.headerLength();
        int len = Math.min(ip.totalLength(), d.length);
        if (ip.isFragment() || len < hl) {
            return null;
        }
        int src = ip.source();
        int dst = ip.destination();
        boolean broadcast = dst == -1 || (dst & 0xFF) == 0xFF;
        int l4len = len - hl;
        switch (ip.protocol()) {
            case Checksums.PROTO_ICMP -> {
                if (broadcast || l4len < 8 || Be.u8(s, hl) != IcmpHeader.ECHO_REQUEST || !Checksums.icmpValid(s, hl, l4len)) {
                    return null;
                }
                byte[] l4 = java.util.Arrays.copyOfRange(d, hl, len);
                l4[0] = (byte) IcmpHeader.ECHO_REPLY;
                return echoingOptions(PacketCrafter.ip(PacketCrafter.Ip.of(PacketCrafter.Address.v4(dst),
                        PacketCrafter.Address.v4(src)).tos(ip.tos()).flags(0).id(0), Checksums.PROTO_ICMP, l4), d, now);
            }
            case Checksums.PROTO_TCP -> {
                if (broadcast || linkBroadcast || l4len < TcpHeader.MIN_LENGTH
                        || !Checksums.tcpV4Valid(s, hl, l4len, src, dst)) {
                    return null;
                }
                byte[] rst = reset(s, hl, l4len);
                return rst == null ? null : echoingOptions(PacketCrafter.ip(PacketCrafter.Ip.of(PacketCrafter.Address.v4(dst),
                        PacketCrafter.Address.v4(src)).tos(ip.tos() & ~3).id(0), Checksums.PROTO_TCP, rst), d, now);
            }
            case Checksums.PROTO_UDP -> {
                if (broadcast || l4len < 8 || !Checksums.udpV4Valid(s, hl, l4len, src, dst)) {
                    return null;
                }
                return portUnreachable(ifname, s, len, false, now);
            }
            default -> {
                return null;
            }
        }
    }

    private byte[] answer6(String ifname, byte[] d, long now) {
        if (d.length >= Ipv6Header.LENGTH + 8 && (d[6] & 0xFF) == Ipv6Header.NEXTHDR_FRAGMENT) {
            d = reassemble6(d);
            if (d == null) {
                return null;
            }
        }
        MemorySegment s = MemorySegment.ofArray(d);
        Ipv6Header ip = new Ipv6Header().wrap(s, 0);
        int len = Math.min(Ipv6Header.LENGTH + ip.payloadLength(), d.length);
        int l4len = len - Ipv6Header.LENGTH;
        int hl = Ipv6Header.LENGTH;
        PacketCrafter.Address src = PacketCrafter.Address.v6(ip.sourceHigh(), ip.sourceLow());
        PacketCrafter.Address dst = PacketCrafter.Address.v6(ip.destinationHigh(), ip.destinationLow());
        switch (ip.nextHeader()) {
            case Checksums.PROTO_ICMPV6 -> {
                if (l4len < 8 || Be.u8(s, hl) != Icmpv6Header.ECHO_REQUEST || !Checksums.icmpv6Valid(s, 0, hl, l4len)) {
                    return null;
                }
                byte[] l4 = java.util.Arrays.copyOfRange(d, hl, len);
                l4[0] = (byte) Icmpv6Header.ECHO_REPLY;
                return PacketCrafter.ip(PacketCrafter.Ip.of(dst, src).tos(ip.trafficClass()), Checksums.PROTO_ICMPV6, l4);
            }
            case Checksums.PROTO_TCP -> {
                if (linkBroadcast || l4len < TcpHeader.MIN_LENGTH || !Checksums.tcpV6Valid(s, 0, hl, l4len)) {
                    return null;
                }
                byte[] rst = reset(s, hl, l4len);
                return rst == null ? null : PacketCrafter.ip(PacketCrafter.Ip.of(dst, src).tos(ip.trafficClass() & ~3),
                        Checksums.PROTO_TCP, rst);
            }
            case Checksums.PROTO_UDP -> {
                if (l4len < 8 || !Checksums.udpV6Valid(s, 0, hl, l4len)) {
                    return null;
                }
                // Linux: CHECKSUM_BREAK = 76, compared with the UDP length (the skb trimmed to it)
                if (headerSumAtConntrack >= 0 && Be.u16(s, hl + 4) > 76 && ipv6HeaderSum(s, 0) != headerSumAtConntrack) {
                    return null;
                }
                return portUnreachable(ifname, s, len, true, now);
            }
            default -> {
                return null;
            }
        }
    }

    /** The datagram when {@code fragment} completes one (Fragment header removed), else null. */
    private byte[] reassemble6(byte[] fragment) {
        MemorySegment s = MemorySegment.ofArray(fragment);
        int at = Ipv6Header.LENGTH;
        int offsetAndM = Be.u16(s, at + 2);
        int offset = offsetAndM & ~7;
        boolean more = (offsetAndM & 1) != 0;
        long id = Be.s32(s, at + 4) & 0xFFFF_FFFFL;
        String key = java.util.HexFormat.of().formatHex(fragment, 8, 40) + "/" + id;
        int payloadEnd = Math.min(fragment.length, Ipv6Header.LENGTH + Be.u16(s, 4));
        byte[] piece = java.util.Arrays.copyOfRange(fragment, at + 8, payloadEnd);
        var pieces = fragmentsByKey.computeIfAbsent(key, k -> new java.util.TreeMap<>());
        pieces.put(offset, piece);
        if (offset == 0) {
            firstHeaderByKey.put(key, java.util.Arrays.copyOf(fragment, at + 8));
        }
        if (!more) {
            // the last piece has arrived: its end is the datagram's length (kept under a key below 0)
            pieces.put(Integer.MIN_VALUE, java.nio.ByteBuffer.allocate(4).putInt(offset + piece.length).array());
        }
        if (!pieces.containsKey(Integer.MIN_VALUE) || !firstHeaderByKey.containsKey(key)) {
            return null;
        }
        int total = java.nio.ByteBuffer.wrap(pieces.get(Integer.MIN_VALUE)).getInt();
        java.io.ByteArrayOutputStream payload = new java.io.ByteArrayOutputStream();
        for (var e : pieces.entrySet()) {
            if (e.getKey() < 0) {
                continue;
            }
            if (e.getKey() != payload.size()) {
                return null; // a hole (or an overlap, which this harness never sends)
            }
            payload.writeBytes(e.getValue());
        }
        if (payload.size() != total) {
            return null;
        }
        byte[] head = firstHeaderByKey.remove(key);
        fragmentsByKey.remove(key);
        byte[] out = new byte[Ipv6Header.LENGTH + total];
        System.arraycopy(head, 0, out, 0, Ipv6Header.LENGTH);
        System.arraycopy(payload.toByteArray(), 0, out, Ipv6Header.LENGTH, total);
        MemorySegment o = MemorySegment.ofArray(out);
        Be.u16(o, 4, total);
        out[6] = head[Ipv6Header.LENGTH]; // the Fragment header's next header
        return out;
    }

    /** Whether an answer is ICMP or ICMPv6 (sent by the kernel's ICMP socket rather than TCP's control socket). */
    static boolean isIcmp(byte[] datagram) {
        int version = (datagram[0] >> 4) & 0xF;
        int proto = version == 4 ? datagram[9] & 0xFF : datagram[6] & 0xFF;
        return proto == Checksums.PROTO_ICMP || proto == Checksums.PROTO_ICMPV6;
    }

    /** tcp_v4_send_reset / tcp_v6_send_reset: the RST's TCP header, or null when none is sent. */
    private static byte[] reset(MemorySegment s, int l4, int l4len) {
        TcpHeader t = new TcpHeader().wrap(s, l4);
        if (t.hasFlags(TcpHeader.RST) || t.headerLength() < TcpHeader.MIN_LENGTH || t.headerLength() > l4len) {
            return null;
        }
        if (t.hasFlags(TcpHeader.ACK)) {
            return PacketCrafter.tcp(t.destinationPort(), t.sourcePort(), t.acknowledgment(), 0, TcpHeader.RST, 0, 0);
        }
        long data = l4len - t.headerLength();
        long ack = (t.sequence() + data + (t.hasFlags(TcpHeader.SYN) ? 1 : 0) + (t.hasFlags(TcpHeader.FIN) ? 1 : 0))
                & 0xFFFF_FFFFL;
        return PacketCrafter.tcp(t.destinationPort(), t.sourcePort(), 0, ack, TcpHeader.RST | TcpHeader.ACK, 0, 0);
    }

    private byte[] portUnreachable(String ifname, MemorySegment s, int len, boolean v6, long now) {
        PacketContext pkt = new PacketContext();
        if (v6) {
            pkt.ipv6(s, 0, len);
        } else {
            pkt.ipv4(s, 0, len);
        }
        pkt.inInterface(ifname).packetType(linkBroadcast ? PacketContext.PACKET_BROADCAST : PacketContext.PACKET_HOST).hook(Hook.INPUT).host(host).nowNanos(now).random(random);
        if (!v6) {
            // Linux: __udp4_lib_rcv's icmp_send echoes IPCB(skb)->opt
            pkt.ipv4Options(ipv4Options);
        }
        Reply r = v6 ? icmp.send(pkt, IcmpErrors.ICMPV6_DEST_UNREACH, IcmpErrors.ICMPV6_PORT_UNREACH, 0)
                : icmp.send(pkt, IcmpErrors.ICMP_DEST_UNREACH, IcmpErrors.ICMP_PORT_UNREACH, 0);
        return r == null ? null : r.datagram().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }
}
