package org.jnetfilter.core.netfilter;

import org.jnetfilter.core.packet.ReceiveResult;

/**
 * Why the datapath dropped a packet: the kernel's {@code SKB_DROP_REASON_*} where it has one (named after it), else
 * the place in the path. The receive checks map from {@link ReceiveResult}.
 */
public enum DropReason {
    /** Linux: SKB_DROP_REASON_PKT_TOO_SMALL: a frame shorter than its Ethernet header, or a datagram cut short. */
    PKT_TOO_SMALL("packet too small"),
    /** Linux: SKB_DROP_REASON_UNHANDLED_PROTO: neither IPv4 nor IPv6 (nor ARP), or 802.1Q-tagged (no VLAN devices). */
    UNHANDLED_PROTO("unhandled protocol"),
    /** ARP is not answered: the host's neighbour table is given, and the datapath does not speak ARP. */
    ARP_NOT_ANSWERED("ARP not answered (not modelled)"),
    /** br_handle_frame: a frame with a multicast or all-zero source address, or a pause frame (01:80:c2:00:00:01). */
    BRIDGE_INVALID_FRAME("invalid frame for the bridge (source address, pause frame)"),
    /** br_handle_frame: an IEEE 802.1D link-local group (01:80:c2:00:00:02-0f) goes to the port's own stack. */
    BRIDGE_LINK_LOCAL("link-local group frame, not forwarded by the bridge"),
    /** br_handle_frame: the port's STP state (disabled, listening, blocking) takes no frames: dropped unlearned. */
    BRIDGE_PORT_NOT_FORWARDING("bridge port not forwarding (STP state disabled, listening or blocking)"),
    /** br_handle_frame_finish: a port in the learning state learns the frame's source, then drops it. */
    BRIDGE_PORT_LEARNING("bridge port learning (STP state): source learned, frame dropped"),
    /** should_deliver: no port may take the frame (it would leave where it came in, without hairpin; ports down). */
    BRIDGE_NOT_DELIVERED("no bridge port to deliver to"),
    /** Linux: SKB_DROP_REASON_DEV_READY: the interface is down. */
    DEV_READY("interface down"),
    /** A datagram larger than 65535 bytes (a jumbogram): beyond the datapath's buffer. */
    TOO_BIG_FOR_BUFFER("datagram beyond 65535 bytes"),
    /** Linux: SKB_DROP_REASON_OTHERHOST: ip_rcv / ipv6_rcv drop frames addressed to another MAC. */
    OTHERHOST("addressed to another host (PACKET_OTHERHOST)"),
    /** Linux: SKB_DROP_REASON_IP_INHDR: ip_rcv_core / ip6_rcv_core header errors. */
    IP_INHDR("bad IP header"),
    /**
     * ip_rcv_options: a source route option on an interface that does not accept source routes (accept_source_route
     * is off for all by default).
     */
    SOURCE_ROUTE("source route option refused (accept_source_route)"),
    /**
     * ip_options_rcv_srr / ip_forward: an accepted source route that cannot be followed (its next hop has no unicast
     * or local route, a strict route's hop is not this host or needs a gateway, not PACKET_HOST).
     */
    SOURCE_ROUTE_FAILED("source route not followed"),
    /**
     * ip6_tlvopt_unknown: an IPv6 hop-by-hop or destination option this host does not know whose two high bits say discard
     * (Linux: SKB_DROP_REASON_UNHANDLED_PROTO there).
     */
    IPV6_UNKNOWN_OPTION("unknown IPv6 option to be discarded"),
    /** ipv6_srh_rcv: a segment routing header where seg6_enabled is off (all or the interface; off by default). */
    SEG6_DISABLED("segment routing header refused (seg6_enabled)"),
    /** Linux: SKB_DROP_REASON_IP_CSUM. */
    IP_CSUM("bad IP header checksum"),
    /** Linux: ipv6_rcv: a version field that is not 6 (SKB_DROP_REASON_UNHANDLED_PROTO there). */
    IP_VERSION("bad IP version"),
    /** Linux: SKB_DROP_REASON_NETFILTER_DROP: a hook function said DROP (a rule, a policy, a queue without listener). */
    NETFILTER_DROP("dropped by netfilter"),
    /** Linux: ip_route_input_slow returned -EINVAL for a martian source or destination (IPSTATS InAddrErrors). */
    IP_INVALID_SOURCE("martian source or destination"),
    /** Linux: SKB_DROP_REASON_IP_RPFILTER: fib_validate_source refused the source (rp_filter, a local source). */
    IP_RPFILTER("reverse path filter"),
    /** Linux: a multicast destination of a group the host has not joined (ip_route_input_noref -EINVAL). */
    NOT_MULTICAST_MEMBER("multicast group not joined"),
    /** Linux: SKB_DROP_REASON_IP_INADDRERRORS: ip_error on an interface without forwarding, an unreachable route. */
    IP_INADDRERRORS("not for this host and not forwarded"),
    /** Linux: SKB_DROP_REASON_IP_INNOROUTES: no route (input). */
    IP_INNOROUTES("no route"),
    /** A blackhole route or rule: dropped without an answer. */
    BLACKHOLE("blackhole route"),
    /** A prohibit route: dropped, the sender told so (ICMP communication administratively prohibited). */
    PROHIBITED("prohibit route"),
    /** Linux: SKB_DROP_REASON_IP_OUTNOROUTES: a locally sent packet has no route (the sender gets an error). */
    IP_OUTNOROUTES("no route for a local packet"),
    /**
     * Linux: SKB_DROP_REASON_CPU_BACKLOG: a looped-back packet finding the backlog full (netdev_max_backlog); also the
     * packets past the datapath's bound on one call's backlog, where Linux would loop for ever (see {@link Backlog}).
     */
    CPU_BACKLOG("backlog full"),
    /** ip_forward / ip6_forward: only PACKET_HOST frames are forwarded. */
    NOT_PACKET_HOST("link-layer broadcast or multicast not forwarded"),
    /** ip6_forward: net.ipv6.conf.all.forwarding is 0. */
    IPV6_FORWARDING_DISABLED("IPv6 forwarding disabled"),
    /** ip_forward / ip6_forward: TTL or hop limit 1 or 0 (ICMP time exceeded sent). */
    TTL_EXPIRED("TTL expired in transit"),
    /** ip_forward (DF set) / ip6_forward / ip_fragment: larger than the MTU, not to be fragmented (ICMP sent). */
    PKT_TOO_BIG("larger than the MTU"),
    /** A fragment the reassembly refused or that killed its queue (overlap, bad length, memory). */
    FRAGMENT_DROPPED("fragment dropped by reassembly");

    private final String description;

    DropReason(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }

    /** The drop reason of a failed receive check. */
    public static DropReason of(ReceiveResult r) {
        if (r == ReceiveResult.IPV6_UNKNOWN_OPTION) {
            return IPV6_UNKNOWN_OPTION;
        }
        return switch (r.dropReason()) {
            case "IP_CSUM" -> IP_CSUM;
            case "PKT_TOO_SMALL" -> PKT_TOO_SMALL;
            case "UNHANDLED_PROTO" -> IP_VERSION;
            default -> IP_INHDR;
        };
    }
}
