package org.jnetfilter.core.nat;

import java.util.List;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.InterfaceAddress;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.Link;
import org.jnetfilter.core.host.RouteResult;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;

/**
 * The addresses MASQUERADE and REDIRECT translate to, from the packet's {@link PacketContext#host()}.
 * Called for the first packet of a connection only; allocates.
 */
public final class NatAddresses {
    private NatAddresses() {
    }

    /**
     * nf_nat_masquerade: IPv4 as inet_select_addr(out, nexthop, RT_SCOPE_UNIVERSE): the first primary
     * global address of the outgoing interface on the next hop's subnet, else its first primary global
     * address; IPv6 as ipv6_dev_get_saddr for the destination. {hi, lo}, or null when there is none.
     */
    public static long[] masqueradeSource(PacketContext pkt) {
        Host host = pkt.host();
        String out = pkt.outInterface();
        Link link = host.link(out);
        if (link == null) {
            return null;
        }
        Family f = pkt.family();
        IpAddress dst = new IpAddress(f, pkt.destinationHi(), pkt.destinationLo());
        RouteResult r;
        try {
            r = host.lookup(f, dst, null, pkt.mark(), null, out);
        } catch (RuntimeException e) {
            r = null;
        }
        if (f == Family.IPV6) {
            if (r == null || r.isError() || r.source() == null) {
                return null;
            }
            return new long[] {r.source().hi(), r.source().lo()};
        }
        IpAddress nexthop = r != null && !r.isError() && r.gateway() != null ? r.gateway() : dst;
        List<InterfaceAddress> addresses = link.addresses(Family.IPV4);
        InterfaceAddress first = null;
        for (int i = 0; i < addresses.size(); i++) {
            InterfaceAddress a = addresses.get(i);
            // host-scope (loopback) addresses are never chosen for the universe scope; secondaries neither
            if (a.address().isLoopback() || secondary(addresses, i)) {
                continue;
            }
            if (a.network().contains(nexthop.hi(), nexthop.lo())) {
                return new long[] {0, a.address().lo()};
            }
            if (first == null) {
                first = a;
            }
        }
        return first == null ? null : new long[] {0, first.address().lo()};
    }

    /** Linux: an address is secondary when an earlier one of the interface has the same subnet. */
    private static boolean secondary(List<InterfaceAddress> addresses, int i) {
        InterfaceAddress a = addresses.get(i);
        for (int j = 0; j < i; j++) {
            InterfaceAddress b = addresses.get(j);
            if (b.prefix() == a.prefix() && b.network().contains(a.address().hi(), a.address().lo())) {
                return true;
            }
        }
        return false;
    }

    /**
     * nf_nat_redirect: in OUTPUT the loopback address (127.0.0.1, ::1); else the first address of the
     * incoming interface (IPv6: global before link-local, as the kernel orders its list). Null: none (drop).
     */
    public static long[] redirectDestination(PacketContext pkt) {
        Family f = pkt.family();
        if (pkt.hook() == Hook.OUTPUT) {
            return f == Family.IPV4 ? new long[] {0, 0x7F000001L} : new long[] {0, 1};
        }
        Host host = pkt.host();
        Link link = host.link(pkt.inInterface());
        if (link == null) {
            return null;
        }
        List<InterfaceAddress> addresses = host.effectiveAddresses(link, f);
        if (addresses.isEmpty()) {
            return null;
        }
        InterfaceAddress chosen = addresses.get(0);
        if (f == Family.IPV6) {
            for (InterfaceAddress a : addresses) {
                if (!a.address().isLinkLocal()) {
                    chosen = a;
                    break;
                }
            }
        }
        return new long[] {chosen.address().hi(), chosen.address().lo()};
    }
}
