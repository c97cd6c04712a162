package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;

/**
 * The netbios-ns helper (nf_conntrack_netbios_ns.c over nf_conntrack_broadcast.c, IPv4, UDP): a name query the
 * host broadcasts is answered by unicast from whichever host has the name, which the reply tuple (from the
 * broadcast address) would never match. For a packet a local socket sends (skb->sk) in the original direction on
 * a broadcast route, to the broadcast address of a primary address of the outgoing interface (ifa_broadcast: an
 * address given no {@code brd} has none, and nothing is expected), the helper expects replies from any host of
 * that address's subnet from port 137 to the sender's address and port:
 *
 * <pre>
 *   tuple  src = the broadcast address, sport 137 (the helper's port), dst = the sender, dport = its port
 *   mask   src = the subnet's netmask, sport 0xffff
 *   flags  PERMANENT: every reply within the timeout is RELATED, not only the first
 * </pre>
 *
 * and sets the master's timeout to 3 s (the module's {@code timeout}), also the expectation's (max_expected 1: a
 * new query replaces it). Broadcasts to 255.255.255.255 find no interface address and expect nothing.
 *
 * <p>The expectation is made by {@link ConntrackHelper#broadcastHelp}, shared with the snmp helper. Packet thread;
 * allocates the expectation.
 */
final class NetbiosNsHelper extends ConntrackHelper {
    // Linux: NMBD_PORT
    private static final int NMBD_PORT = 137;
    // Linux: module parameter timeout = 3 s (policy timeout and master timeout)
    private static final long TIMEOUT = 3;

    NetbiosNsHelper() {
        super("netbios-ns", Protocol.UDP, false, 1, TIMEOUT);
    }

    @Override
    int help(PacketContext pkt, Connection ct, int ctinfo, int protoff, long now) {
        broadcastHelp(pkt, ct, ctinfo, NMBD_PORT, TIMEOUT, now);
        return Verdict.ACCEPT;
    }
}
