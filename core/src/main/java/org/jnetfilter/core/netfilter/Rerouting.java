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
}
