package org.jnetfilter.core.netfilter;

/**
 * The datapath's route lookups a hook function may need for the packet it holds: the re-route of
 * {@code ip_route_me_harder} after OUTPUT changed the packet, and the reverse route's MTU of xt_TCPMSS.
 * Set per packet on {@link PacketContext#rerouting(Rerouting)}.
 */
public interface Rerouting {
    /** Looks the packet's output route up again from its current addresses and mark; false when none. */
    boolean reroute(PacketContext pkt);

    /** The MTU of the route to the packet's source address (tcpmss_reverse_mtu), 0 when there is none. */
    int reverseMtu(PacketContext pkt);

    /**
     * nf_dup_ipv4 / nf_dup_ipv6 (the TEE target): sends a copy of the packet as it is now to the gateway
     * {@code gwHi/gwLo} (by {@code oif} when not empty) through OUTPUT and POSTROUTING, untracked, before the
     * original goes on. Nothing without a datapath.
     */
    default void duplicate(PacketContext pkt, long gwHi, long gwLo, String oif) {
    }

    /**
     * ip_local_out / ip6_local_out of a TCP datagram a target or hook function built in answer to {@code pkt}
     * (SYNPROXY's synproxy_send_tcp): routed by its addresses, attached to {@code ct} as {@code ctinfo} when not
     * null (nf_ct_set), its transport checksum partial, through OUTPUT and POSTROUTING before {@code pkt} goes on.
     * Nothing without a datapath.
     */
    default void localOut(PacketContext pkt, java.lang.foreign.MemorySegment datagram,
            org.jnetfilter.core.conntrack.Connection ct, int ctinfo) {
    }

    /**
     * The route the packet holds now ({@code skb_dst}): the input route after PREROUTING, the output route of a
     * locally sent packet or of a TEE copy (the route to its gateway, whatever its destination); null before routing
     * or without a datapath.
     */
    default RouteDecision heldRoute(PacketContext pkt) {
        return null;
    }
}
