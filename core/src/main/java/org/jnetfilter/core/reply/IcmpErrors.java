package org.jnetfilter.core.reply;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;
import org.jnetfilter.core.ext.matches.RuleState;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.Link;
import org.jnetfilter.core.host.RouteResult;
import org.jnetfilter.core.host.RouteType;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.RouteDecision;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Family;

/**
 * The kernel's ICMP and ICMPv6 error senders, {@code __icmp_send} (net/ipv4/icmp.c) and {@code icmp6_send}
 * (net/ipv6/icmp.c), for every error the packet path raises: destination unreachable (REJECT, no route,
 * fragmentation needed with the next-hop MTU), time exceeded (TTL, reassembly), parameter problem, packet
 * too big, redirect (IPv4's; IPv6's is a neighbour discovery message, {@link #ndiscRedirect}). The original is the packet loaded in a {@link PacketContext} (its hook, input device,
 * packet type and mark as the kernel's skb has them); the result is the error datagram, or null when the
 * kernel sends nothing.
 *
 * <p>IPv4, in the kernel's order: nothing for a packet that was not addressed to this host at the link layer
 * (pkt_type not PACKET_HOST), for one whose route is broadcast or multicast, for a non-first fragment, for an
 * error about an ICMP error (or about an ICMP type above 18, taken as an error); then the global rate limit
 * (not for packets that came in on loopback); the source is the original's destination when its route is local
 * (RTCF_LOCAL: {@link PacketContext#route()}, else the destination's address type when no route is held; a TEE copy of a
 * packet for this host is routed to its gateway, so not), else (icmp_errors_use_inbound_ifaddr 0) what the route lookup toward the original's source
 * selects, 192.0.0.8 (INADDR_DUMMY) when it selects nothing; the per-destination limit
 * ({@code icmp_ratelimit}, types in {@code icmp_ratemask}: unreachable except fragmentation needed, source
 * quench, time exceeded, parameter problem; never through loopback; redirects have their own limiter
 * instead, ip_rt_send_redirect's: at most 9, the k-th 20 ms &lt;&lt; k after the previous, restarting after
 * 20.48 s of silence); as much of the original as fits in
 * 576 bytes (or the route's MTU if smaller); TOS {@code RT_TOS(original) | 0xC0} for errors; TTL
 * {@code ip_default_ttl}; DF clear (the ICMP socket does not discover path MTU); an IP ID the kernel draws
 * per destination (here from the packet's random source).
 *
 * <p>IPv6: nothing for an original with an unspecified or multicast source, nothing when the destination was
 * multicast or not for this host's link address unless the error is Packet Too Big or an unrecognised
 * option whose type asks for an error; nothing about an ICMPv6 error (types below 128) or a packet whose
 * upper header cannot be found (but non-first fragments do get errors, RFC 8200 4.5); the same global
 * limit, then per destination {@code icmpv6 ratelimit} shifted right by (128 - prefix of the route) / 32,
 * for the types in {@code icmpv6 ratemask} (all errors but Packet Too Big); as much of the original as keeps
 * the error within 1280 bytes (1232 quoted); traffic class 0; hop limit of the device (64); a flow label
 * from the kernel's flow hash (auto_flowlabels), here a hash of the addresses, type and code with a seed.
 *
 * <p>The record route, timestamp, source route and CIPSO options of a received original are echoed into the error
 * as {@code __ip_options_echo} does ({@link Ipv4OptionsEcho}): a source route reversed, the error sent to the hop
 * before this one with the sender as the route's last entry.
 * <p>Not modelled:
 * xfrm policies. The caller decides when a redirect is due (ip_forward's conditions). Not thread-safe (the
 * rate limits are state): one instance per host, used from one packet thread or under a lock.
 */
public final class IcmpErrors {
    // Linux: include/uapi/linux/icmp.h
    public static final int ICMP_DEST_UNREACH = 3;
    public static final int ICMP_SOURCE_QUENCH = 4;
    public static final int ICMP_REDIRECT = 5;
    public static final int ICMP_TIME_EXCEEDED = 11;
    public static final int ICMP_PARAMETERPROB = 12;
    public static final int ICMP_NET_UNREACH = 0;
    public static final int ICMP_HOST_UNREACH = 1;
    public static final int ICMP_PROT_UNREACH = 2;
    public static final int ICMP_PORT_UNREACH = 3;
    public static final int ICMP_FRAG_NEEDED = 4;
    public static final int ICMP_NET_ANO = 9;
    public static final int ICMP_HOST_ANO = 10;
    public static final int ICMP_PKT_FILTERED = 13;
    public static final int ICMP_EXC_TTL = 0;
    public static final int ICMP_EXC_FRAGTIME = 1;
    // Linux: NR_ICMP_TYPES
    static final int NR_ICMP_TYPES = 18;

    // Linux: include/uapi/linux/icmpv6.h
    public static final int ICMPV6_DEST_UNREACH = 1;
    public static final int ICMPV6_PKT_TOOBIG = 2;
    public static final int ICMPV6_TIME_EXCEED = 3;
    public static final int ICMPV6_PARAMPROB = 4;
    public static final int ICMPV6_NOROUTE = 0;
    public static final int ICMPV6_ADM_PROHIBITED = 1;
    public static final int ICMPV6_ADDR_UNREACH = 3;
    public static final int ICMPV6_PORT_UNREACH = 4;
    public static final int ICMPV6_POLICY_FAIL = 5;
    public static final int ICMPV6_REJECT_ROUTE = 6;
    public static final int ICMPV6_EXC_HOPLIMIT = 0;
    public static final int ICMPV6_EXC_FRAGTIME = 1;
    public static final int ICMPV6_UNK_OPTION = 2;
    static final int ICMPV6_INFOMSG_MASK = 0x80;

    // Linux: IPTOS_TOS_MASK (RT_TOS), IPTOS_PREC_INTERNETCONTROL
    static final int TOS_MASK = 0x1E;
    static final int PREC_INTERNETCONTROL = 0xC0;
    // Linux: the RFC 1812 limit __icmp_send quotes within
    static final int IPV4_ERROR_MAX = 576;
    // Linux: IPV6_MIN_MTU - sizeof(struct ipv6hdr) - sizeof(struct icmp6hdr)
    static final int IPV6_QUOTE_MAX = 1280 - 40 - 8;
    // Linux: INADDR_DUMMY, 192.0.0.8
    static final int INADDR_DUMMY = 0xC0000008;

    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final Host host;
    private final long flowLabelSeed;
    private final IcmpRateLimit limits = new IcmpRateLimit();
    private final java.util.Map<String, Long> settingByName = new java.util.HashMap<>();

    /** @param flowLabelSeed the secret of the kernel's flow hash (its {@code hashrnd}), for IPv6 flow labels */
    public IcmpErrors(Host host, long flowLabelSeed) {
        this.host = Objects.requireNonNull(host, "host");
        this.flowLabelSeed = flowLabelSeed;
    }

    public Host host() {
        return host;
    }

    /**
     * ip_error's own limit before it sends an unreachable about the IPv4 packet in {@code pkt} (no route, a
     * prohibit or unreachable route): the inet_peer of the packet's source, shared with the per-destination limit
     * of the errors sent to that address ({@link IcmpRateLimit#ipErrorAllow}).
     */
    public boolean ipErrorAllow(PacketContext pkt) {
        return limits.ipErrorAllow(IpAddress.ipv4((int) pkt.sourceLo()), RuleState.jiffies(pkt.nowNanos()));
    }

    /** {@code icmp_send} or {@code icmpv6_send}, by the original's family. */
    public Reply send(PacketContext pkt, int type, int code, int info) {
        return pkt.family() == Family.IPV4 ? icmpSend(pkt, type, code, info) : icmpv6Send(pkt, type, code, info);
    }

    /** Whether ICMP {@code type} is an error (icmp_pointers[].error). */
    static boolean isIcmpError(int type) {
        return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH || type == ICMP_REDIRECT
                || type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
    }

    // ---- IPv4 ----

    /**
     * __icmp_send: an ICMP message of {@code type}/{@code code} about the IPv4 packet in {@code pkt};
     * {@code info} is the 32-bit rest-of-header word (the next-hop MTU in its low 16 bits for fragmentation
     * needed, the gateway for a redirect, the pointer in its top byte for a parameter problem).
     */
    public Reply icmpSend(PacketContext pkt, int type, int code, int info) {
        if (pkt.family() != Family.IPV4 || pkt.length() < 20) {
            return null;
        }
        if (pkt.packetType() != PacketContext.PACKET_HOST) {
            return null;
        }
        IpAddress origSrc = IpAddress.ipv4((int) pkt.sourceLo());
        IpAddress origDst = IpAddress.ipv4((int) pkt.destinationLo());
        if (type == ICMP_REDIRECT && !limits.redirectAllow(origSrc, RuleState.jiffies(pkt.nowNanos()))) {
            // Linux: ip_rt_send_redirect limits redirects per source before icmp_send
            return null;
        }
        RouteType dstType = host.addressType(origDst, null);
        if (dstType == RouteType.BROADCAST || dstType == RouteType.MULTICAST) {
            return null;
        }
        if ((pkt.networkU16(6) & 0x1FFF) != 0) {
            return null;
        }
        if (isIcmpError(type) && pkt.networkU8(9) == Checksums.PROTO_ICMP) {
            int at = (pkt.networkU8(0) & 0x0F) << 2;
            if (at + 1 > pkt.length()) {
                return null;
            }
            int inner = pkt.networkU8(at);
            if (inner > NR_ICMP_TYPES || isIcmpError(inner)) {
                return null;
            }
        }
        long jiffies = RuleState.jiffies(pkt.nowNanos());
        boolean limited = !icmpv4MaskAllow(type, code);
        boolean applyPeerLimit = false;
        if (!isLoopback(pkt.inInterface()) && limited) {
            if (!limits.globalAllow(jiffies, setting("net.ipv4.icmp_msgs_per_sec", 1000),
                    setting("net.ipv4.icmp_msgs_burst", 50))) {
                return null;
            }
            applyPeerLimit = true;
        }
        IpAddress source = null;
        // Linux: the source is the original's destination when its route is RTCF_LOCAL (local delivery, a local
        // packet out by lo); a TEE copy to a local address routed to its gateway is not: the lookup chooses
        RouteDecision held = pkt.route();
        boolean localRoute = held != null ? held.kind() == RouteDecision.Kind.LOCAL : dstType == RouteType.LOCAL;
        if (localRoute) {
            source = origDst;
        } else if (isInbound(pkt) && setting("net.ipv4.icmp_errors_use_inbound_ifaddr", 0) != 0) {
            source = inboundAddress(pkt.inInterface(), origSrc);
        }
        int tos = isIcmpError(type) ? (pkt.networkU8(1) & TOS_MASK) | PREC_INTERNETCONTROL : pkt.networkU8(1);
        long mark = replyMark(pkt, "net.ipv4.fwmark_reflect");
        // Linux: an echoed source route sends the error to the hop before this one (faddr), the sender last
        IpAddress firstHop = Ipv4OptionsEcho.firstHop(pkt);
        IpAddress to = firstHop != null ? firstHop : origSrc;
        RouteResult route = host.lookup(Family.IPV4, to, source, mark, null, null);
        if (route.isError()) {
            return null;
        }
        if (applyPeerLimit && !isLoopback(route.dev())) {
            long timeout = RuleState.msecsToJiffies(setting("net.ipv4.icmp_ratelimit", 1000));
            if (!limits.peerAllow(to, jiffies, timeout)) {
                return null;
            }
        }
        if (applyPeerLimit) {
            limits.globalConsume(pkt.random());
        }
        IpAddress from = source != null ? source : route.source();
        int fromBits = from == null || from.isAny() ? INADDR_DUMMY : (int) from.lo();
        byte[] options = Ipv4OptionsEcho.options(pkt, fromBits, host);
        if (options == null) {
            return null;
        }
        int ihl = 20 + options.length;
        int room = Math.min(mtu(route.dev()), IPV4_ERROR_MAX) - ihl - 8;
        if (room <= 20) {
            return null;
        }
        int quoted = Math.min(pkt.length(), room);

        int total = ihl + 8 + quoted;
        MemorySegment out = MemorySegment.ofArray(new byte[total]);
        out.set(ValueLayout.JAVA_BYTE, 0, (byte) (0x40 | ihl / 4));
        MemorySegment.copy(MemorySegment.ofArray(options), 0, out, 20, options.length);
        out.set(ValueLayout.JAVA_BYTE, 1, (byte) tos);
        out.set(U16, 2, (short) total);
        // Linux: ip_select_ident draws the ID from a per-destination counter with random steps
        out.set(U16, 4, (short) pkt.random().nextInt(1 << 16));
        out.set(U16, 6, (short) 0);
        out.set(ValueLayout.JAVA_BYTE, 8, (byte) setting("net.ipv4.ip_default_ttl", 64));
        out.set(ValueLayout.JAVA_BYTE, 9, (byte) Checksums.PROTO_ICMP);
        out.set(U32, 12, fromBits);
        out.set(U32, 16, (int) to.lo());
        Ipv4OptionsEcho.build(out, 0, ihl, (int) origSrc.lo());
        out.set(U16, 10, (short) Checksums.ipv4Header(out, 0));
        out.set(ValueLayout.JAVA_BYTE, ihl, (byte) type);
        out.set(ValueLayout.JAVA_BYTE, ihl + 1, (byte) code);
        out.set(U32, ihl + 4, info);
        MemorySegment.copy(pkt.segment(), pkt.networkOffset(), out, ihl + 8, quoted);
        int check = partialChecksumQuoted(pkt, quoted);
        if (check >= 0) {
            // Linux: the quote is the skb's bytes as they are; a CHECKSUM_PARTIAL field holds the pseudo-header's sum
            // (a TCP reset of REJECT, a datagram of a socket on a device with checksum offload: 6.18 in a netns)
            out.set(U16, ihl + 8 + check, (short) Checksums.pseudoV4((int) pkt.sourceLo(), (int) pkt.destinationLo(),
                    pkt.protocol(), pkt.length() - pkt.transportOffset()));
        }
        out.set(U16, ihl + 2, (short) Checksums.icmp(out, ihl, 8 + quoted));
        return new Reply(Family.IPV4, out, route, mark, pkt.conntrack());
    }

    /** icmpv4_mask_allow: true when the message is exempt from both rate limits. */
    private boolean icmpv4MaskAllow(int type, int code) {
        if (type > NR_ICMP_TYPES) {
            return true;
        }
        if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED) {
            return true;
        }
        // Linux: icmp_ratemask 6168 = unreachable, source quench, time exceeded, parameter problem
        return ((1L << type) & setting("net.ipv4.icmp_ratemask", 6168)) == 0;
    }

    /** inet_select_addr(dev, dst, RT_SCOPE_LINK): the device's address on dst's subnet, else its first. */
    private IpAddress inboundAddress(String dev, IpAddress dst) {
        Link link = dev.isEmpty() ? null : host.link(dev);
        if (link == null) {
            return null;
        }
        IpAddress first = null;
        for (var a : link.addresses(Family.IPV4)) {
            if (first == null) {
                first = a.address();
            }
            if (dst.in(a.network())) {
                return a.address();
            }
        }
        return first;
    }

    // ---- IPv6 ----

    /**
     * icmp6_send: an ICMPv6 message of {@code type}/{@code code} about the IPv6 packet in {@code pkt};
     * {@code info} is the 32-bit word after the checksum (the MTU of Packet Too Big, the pointer of a
     * parameter problem).
     */
    public Reply icmpv6Send(PacketContext pkt, int type, int code, int info) {
        if (pkt.family() != Family.IPV6 || pkt.length() < 40) {
            return null;
        }
        IpAddress origSrc = new IpAddress(Family.IPV6, pkt.sourceHi(), pkt.sourceLo());
        IpAddress origDst = new IpAddress(Family.IPV6, pkt.destinationHi(), pkt.destinationLo());
        IpAddress source = null;
        RouteType dstType = host.addressType(origDst, null);
        if (dstType == RouteType.LOCAL || dstType == RouteType.ANYCAST) {
            source = origDst;
        }
        if (origDst.isMulticast() || pkt.packetType() != PacketContext.PACKET_HOST) {
            boolean exempt = type == ICMPV6_PKT_TOOBIG
                    || (type == ICMPV6_PARAMPROB && code == ICMPV6_UNK_OPTION && optionAsksForError(pkt, info));
            if (!exempt) {
                return null;
            }
            source = null;
        }
        if (origSrc.isAny() || origSrc.isMulticast()) {
            return null;
        }
        if (isIneligible(pkt)) {
            return null;
        }
        long jiffies = RuleState.jiffies(pkt.nowNanos());
        boolean applyPeerLimit = false;
        if (!isLoopback(pkt.inInterface()) && !icmpv6MaskAllow(type)) {
            if (!limits.globalAllow(jiffies, setting("net.ipv4.icmp_msgs_per_sec", 1000),
                    setting("net.ipv4.icmp_msgs_burst", 50))) {
                return null;
            }
            applyPeerLimit = true;
        }
        long mark = replyMark(pkt, "net.ipv6.fwmark_reflect");
        // a link-local (scoped) destination is reached through the device the original came in by
        String oif = origSrc.isLinkLocal() && !pkt.inInterface().isEmpty() ? pkt.inInterface() : null;
        RouteResult route = host.lookup(Family.IPV6, origSrc, source, mark, null, oif);
        if (route.isError()) {
            return null;
        }
        if (applyPeerLimit && !isLoopback(route.dev())) {
            long timeout = RuleState.msecsToJiffies(setting("net.ipv6.icmp.ratelimit", 100));
            int plen = route.route() != null ? route.route().dst().prefixLength() : 128;
            if (plen < 128) {
                // Linux: "Give more bandwidth to wider prefixes (so smaller mask)"
                timeout >>= (128 - plen) >> 5;
            }
            if (!limits.peerAllow(origSrc, jiffies, timeout)) {
                return null;
            }
        }
        if (applyPeerLimit) {
            limits.globalConsume(pkt.random());
        }
        IpAddress from = source != null ? source : route.source();
        if (from == null) {
            return null;
        }
        int quoted = Math.min(pkt.length(), IPV6_QUOTE_MAX);
        int payload = 8 + quoted;
        MemorySegment out = MemorySegment.ofArray(new byte[40 + payload]);
        int flowLabel = flowLabel(from, origSrc, type, code);
        out.set(U32, 0, (6 << 28) | flowLabel);
        out.set(U16, 4, (short) payload);
        out.set(ValueLayout.JAVA_BYTE, 6, (byte) Checksums.PROTO_ICMPV6);
        out.set(ValueLayout.JAVA_BYTE, 7, (byte) hopLimit(route.dev()));
        out.set(U64, 8, from.hi());
        out.set(U64, 16, from.lo());
        out.set(U64, 24, origSrc.hi());
        out.set(U64, 32, origSrc.lo());
        out.set(ValueLayout.JAVA_BYTE, 40, (byte) type);
        out.set(ValueLayout.JAVA_BYTE, 41, (byte) code);
        out.set(U32, 44, info);
        MemorySegment.copy(pkt.segment(), pkt.networkOffset(), out, 48, quoted);
        int check = partialChecksumQuoted(pkt, quoted);
        if (check >= 0) {
            // Linux: as icmp_send, the skb's bytes: a CHECKSUM_PARTIAL field holds the pseudo-header's sum (a UDP
            // socket's datagram on a device with checksum offload: 6.18 in a netns)
            out.set(U16, 48 + check, (short) Checksums.pseudoV6(pkt.segment(), pkt.networkOffset() + 8,
                    pkt.networkOffset() + 24, pkt.protocol(), pkt.length() - pkt.transportOffset()));
        }
        out.set(U16, 42, (short) Checksums.icmpv6(out, 0, 40, payload));
        return new Reply(Family.IPV6, out, route, mark, pkt.conntrack());
    }

    // Linux: NDISC_REDIRECT, ND_OPT_TARGET_LL_ADDR, ND_OPT_REDIRECT_HDR (include/net/ndisc.h); sizeof(struct rd_msg)
    public static final int NDISC_REDIRECT = 137;
    static final int ND_OPT_TARGET_LL_ADDR = 2;
    static final int ND_OPT_REDIRECT_HDR = 4;
    static final int RD_MSG_LENGTH = 40;
    // Linux: ip6_forward and ndisc_send_redirect give each peer 1 s per redirect (inet_peer_xrlim_allow, 1*HZ)
    static final long REDIRECT6_TIMEOUT = RuleState.HZ;

    /**
     * ip6_forward's redirect and ndisc_send_redirect: the forwarded IPv6 packet in {@code pkt} leaves by the
     * interface it came in on, toward {@code target} (the route's gateway, or the destination itself when it is
     * on-link). Null when Linux sends none: the destination's peer (1 s a redirect, a burst of 6), no link-local
     * address on the input interface, a target that is neither the destination nor link-local unicast, a
     * route back to the sender through a gateway (the sender is not a neighbour), the sender's peer limit.
     * The message: from the interface's link-local address to the sender, hop limit 255, traffic class and flow
     * label 0, the target and destination, a target link-layer address option when the host has a neighbour
     * entry for the target (the kernel's NUD_VALID; an unresolved neighbour gets none), then the redirected
     * header option with as much of the packet as keeps the message within 1280 bytes, in 8-byte units.
     */
    public Reply ndiscRedirect(PacketContext pkt, IpAddress target) {
        if (pkt.family() != Family.IPV6 || pkt.length() < 40) {
            return null;
        }
        IpAddress origSrc = new IpAddress(Family.IPV6, pkt.sourceHi(), pkt.sourceLo());
        IpAddress origDst = new IpAddress(Family.IPV6, pkt.destinationHi(), pkt.destinationLo());
        long jiffies = RuleState.jiffies(pkt.nowNanos());
        if (!limits.peerAllow(origDst, jiffies, REDIRECT6_TIMEOUT)) {
            return null;
        }
        Link dev = pkt.inInterface().isEmpty() ? null : host.link(pkt.inInterface());
        IpAddress linkLocal = null;
        if (dev != null) {
            for (var a : host.effectiveAddresses(dev, Family.IPV6)) {
                if (a.address().isLinkLocal()) {
                    linkLocal = a.address();
                    break;
                }
            }
        }
        if (linkLocal == null) {
            return null;
        }
        if (!target.equals(origDst) && !(target.isLinkLocal() && !target.isMulticast())) {
            return null;
        }
        String oif = origSrc.isLinkLocal() ? dev.name() : null;
        RouteResult route = host.lookup(Family.IPV6, origSrc, linkLocal, 0, null, oif);
        if (route.isError() || route.gateway() != null) {
            return null;
        }
        if (!limits.peerAllow(origSrc, jiffies, REDIRECT6_TIMEOUT)) {
            return null;
        }
        boolean targetMac = host.hasNeighbour(target);
        int optlen = targetMac ? 8 : 0;
        int rdLen = Math.min(1280 - 40 - RD_MSG_LENGTH - optlen, pkt.length() + 8) & ~7;
        int payload = RD_MSG_LENGTH + optlen + rdLen;
        MemorySegment out = MemorySegment.ofArray(new byte[40 + payload]);
        out.set(U32, 0, 6 << 28);
        out.set(U16, 4, (short) payload);
        out.set(ValueLayout.JAVA_BYTE, 6, (byte) Checksums.PROTO_ICMPV6);
        // Linux: the ndisc socket's hop limit
        out.set(ValueLayout.JAVA_BYTE, 7, (byte) 255);
        out.set(U64, 8, linkLocal.hi());
        out.set(U64, 16, linkLocal.lo());
        out.set(U64, 24, origSrc.hi());
        out.set(U64, 32, origSrc.lo());
        out.set(ValueLayout.JAVA_BYTE, 40, (byte) NDISC_REDIRECT);
        out.set(U64, 48, target.hi());
        out.set(U64, 56, target.lo());
        out.set(U64, 64, origDst.hi());
        out.set(U64, 72, origDst.lo());
        int at = 40 + RD_MSG_LENGTH;
        if (targetMac) {
            long mac = host.neighbourMac(target);
            out.set(ValueLayout.JAVA_BYTE, at, (byte) ND_OPT_TARGET_LL_ADDR);
            out.set(ValueLayout.JAVA_BYTE, at + 1, (byte) 1);
            out.set(U16, at + 2, (short) (mac >>> 32));
            out.set(U32, at + 4, (int) mac);
            at += 8;
        }
        if (rdLen > 0) {
            out.set(ValueLayout.JAVA_BYTE, at, (byte) ND_OPT_REDIRECT_HDR);
            out.set(ValueLayout.JAVA_BYTE, at + 1, (byte) (rdLen >>> 3));
            MemorySegment.copy(pkt.segment(), pkt.networkOffset(), out, at + 8, rdLen - 8);
        }
        out.set(U16, 42, (short) Checksums.icmpv6(out, 0, 40, payload));
        return new Reply(Family.IPV6, out, route, 0, null);
    }

    /**
     * Where, from the network header, the quote of {@code quoted} bytes holds a TCP or UDP checksum the packet left
     * CHECKSUM_PARTIAL (first fragment only); -1 when it holds none.
     */
    private static int partialChecksumQuoted(PacketContext pkt, int quoted) {
        int proto = pkt.protocol();
        if (!pkt.transportChecksumPartial() || proto != Checksums.PROTO_TCP && proto != Checksums.PROTO_UDP
                || pkt.fragmentOffset() != 0) {
            return -1;
        }
        int check = pkt.transportOffset() + (proto == Checksums.PROTO_TCP ? 16 : 6);
        return check + 2 <= quoted ? check : -1;
    }

    /** icmpv6_mask_allow: true when the message is exempt from both rate limits. */
    private boolean icmpv6MaskAllow(int type) {
        if (type > 255 || type == ICMPV6_PKT_TOOBIG) {
            return true;
        }
        return !inRanges(host.sysctl("net.ipv6.icmp.ratemask"), type);
    }

    /** A bitmap sysctl in its text form ("0-1,3-127"): whether {@code bit} is set. */
    static boolean inRanges(String ranges, int bit) {
        for (String part : ranges.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int dash = p.indexOf('-');
            int lo = Integer.parseInt(dash < 0 ? p : p.substring(0, dash));
            int hi = dash < 0 ? lo : Integer.parseInt(p.substring(dash + 1));
            if (bit >= lo && bit <= hi) {
                return true;
            }
        }
        return false;
    }

    /** opt_unrec: the option at {@code offset} has the action bits 10 (discard and send an error). */
    private static boolean optionAsksForError(PacketContext pkt, int offset) {
        return offset >= 0 && offset < pkt.length() && (pkt.networkU8(offset) & 0xC0) == 0x80;
    }

    /**
     * is_ineligible: an ICMPv6 error (type below 128) gets no error, nor does a packet whose ICMPv6 type
     * cannot be read, except a non-first fragment; a header chain that cannot be walked is eligible.
     */
    private static boolean isIneligible(PacketContext pkt) {
        int next = pkt.networkU8(6);
        int at = 40;
        int fragOff = 0;
        while (isExtension(next)) {
            if (next == 59 || at + 2 > pkt.length()) {
                return false;
            }
            int length;
            if (next == 44) {
                if (at + 4 > pkt.length()) {
                    return false;
                }
                fragOff = pkt.networkU16(at + 2);
                if ((fragOff & ~0x7) != 0) {
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
        if (next != Checksums.PROTO_ICMPV6) {
            return false;
        }
        if (at + 1 > pkt.length()) {
            return fragOff == 0;
        }
        return (pkt.networkU8(at) & ICMPV6_INFOMSG_MASK) == 0;
    }

    static boolean isExtension(int next) {
        return next == 0 || next == 43 || next == 44 || next == 51 || next == 59 || next == 60;
    }

    /** The auto flow label (ip6_make_flowlabel): 20 bits of a keyed hash of the flow. */
    private int flowLabel(IpAddress src, IpAddress dst, int type, int code) {
        long h = flowLabelSeed;
        h = mix(h ^ src.hi());
        h = mix(h ^ src.lo());
        h = mix(h ^ dst.hi());
        h = mix(h ^ dst.lo());
        h = mix(h ^ ((long) Checksums.PROTO_ICMPV6 << 16 | type << 8 | code));
        return (int) (h & 0xFFFFF);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    // ---- what both share ----

    private static boolean isInbound(PacketContext pkt) {
        return pkt.hook() != null && pkt.hook().ordinal() <= 2;
    }

    private boolean isLoopback(String dev) {
        if (dev == null || dev.isEmpty()) {
            return false;
        }
        Link link = host.link(dev);
        return link != null && link.isLoopback();
    }

    int mtu(String dev) {
        Link link = dev == null ? null : host.link(dev);
        return link != null ? link.mtu() : 1500;
    }

    int hopLimit(String dev) {
        String v = dev == null ? null : host.sysctl("net.ipv6.conf." + dev + ".hop_limit");
        if (v == null) {
            v = host.sysctl("net.ipv6.conf.all.hop_limit");
        }
        return v == null ? 64 : Integer.parseInt(v.trim());
    }

    /** IP4_REPLY_MARK / IP6_REPLY_MARK: the original's mark when fwmark_reflect is set, else 0. */
    long replyMark(PacketContext pkt, String reflect) {
        return setting(reflect, 0) != 0 ? pkt.mark() : 0;
    }

    /**
     * Sets a numeric sysctl of the ICMP senders here only (net.ipv4.icmp_ratelimit, icmp_ratemask, icmp_msgs_per_sec,
     * icmp_msgs_burst, icmp_errors_use_inbound_ifaddr, ip_default_ttl, fwmark_reflect, net.ipv6.icmp.ratelimit); it
     * wins over the host's value ({@link Host#sysctl}, where a HOST file's {@code sysctl} lines set them).
     */
    public IcmpErrors sysctl(String name, long value) {
        settingByName.put(name, value);
        return this;
    }

    /** A sysctl: set here, else the host's, else Linux's default. */
    long setting(String name, long linuxDefault) {
        Long set = settingByName.get(name);
        if (set != null) {
            return set;
        }
        String v = host.sysctl(name);
        return v == null ? linuxDefault : Long.parseLong(v.trim());
    }
}
