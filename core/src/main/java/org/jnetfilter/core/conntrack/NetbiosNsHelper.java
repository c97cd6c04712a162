package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.RouteType;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;

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
 * <p>Packet thread; allocates the expectation.
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
        // Linux: only locally generated packets (a socket of this namespace)
        if (pkt.socketUid() == -1 || CtInfo.direction(ctinfo) != 0 || ct.family() != Family.IPV4) {
            return Verdict.ACCEPT;
        }
        Host host = pkt.host();
        String dev = pkt.outInterface();
        long dst = pkt.destinationLo();
        if (host == null || dev == null || dev.isEmpty()
                || host.addressType(IpAddress.ipv4((int) dst), null) != RouteType.BROADCAST) {
            // Linux: the route is not RTCF_BROADCAST
            return Verdict.ACCEPT;
        }
        long mask = host.ipv4BroadcastMask(dev, dst);
        if (mask == 0) {
            return Verdict.ACCEPT;
        }
        Tuple r = ct.reply;
        Expectation exp = new Expectation(ct, Family.IPV4, Protocol.UDP, 0, r.srcLo, 0, mask, NMBD_PORT, 0xFFFF,
                r.dstHi, r.dstLo, r.dstId, Expectation.PERMANENT, 0);
        ct.owner.expectRelated(exp, now);
        ct.refreshTimeout(now, TIMEOUT * Conntrack.HZ);
        return Verdict.ACCEPT;
    }
}
