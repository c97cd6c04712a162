package org.jnetfilter.core.netfilter;

import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.RouteResult;
import org.jnetfilter.core.host.RouteType;

/**
 * A route decision of the datapath: what the kernel attaches to a packet as its {@code dst_entry} after
 * ip_route_input / ip_route_output (ip6_route_input / ip6_route_output). Immutable; the datapath caches decisions
 * per (addresses, mark, input interface) while the host's configuration is unchanged, so reading one costs no
 * allocation.
 */
public final class RouteDecision {
    /** What the route does with the packet. */
    public enum Kind {
        /** To this host: INPUT and local delivery (locally sent: out by lo and back in). */
        LOCAL,
        /** A broadcast address of this host (input) or out by a device to a broadcast address (output). */
        BROADCAST,
        /** A multicast group (input: joined; output: out by a device). */
        MULTICAST,
        /** A received packet routed onward: ip_forward / ip6_forward. */
        FORWARD,
        /** A locally sent packet out by a device. */
        OUTPUT,
        /** No usable route: {@link #errno()} says why (the kernel's ip_error / ip6_pkt_discard / -errno). */
        ERROR
    }

    private final Kind kind;
    private final RouteResult result;
    private final int errno;
    private final String egress;
    private final IpAddress nextHop;
    private final int mtu;

    // what the datapath needs beyond the public view
    final Datapath.Interface out;
    final long nextHopMac;
    final boolean redirect;

    RouteDecision(Kind kind, RouteResult result, int errno, Datapath.Interface out, IpAddress nextHop,
            long nextHopMac, boolean redirect) {
        this.kind = kind;
        this.result = result;
        this.errno = errno;
        this.out = out;
        this.egress = out == null ? null : out.name;
        this.nextHop = nextHop;
        this.mtu = out == null ? 0 : out.mtu;
        this.nextHopMac = nextHopMac;
        this.redirect = redirect;
    }

    public Kind kind() {
        return kind;
    }

    /** The host's lookup result behind the decision (route, table, preferred source), null for decisions made before any lookup (martians). */
    public RouteResult result() {
        return result;
    }

    /** For {@link Kind#ERROR}: the errno (ENETUNREACH, EHOSTUNREACH, EACCES, EINVAL); else 0. */
    public int errno() {
        return errno;
    }

    /** The route's type as {@code ip route} names it (unicast, local, broadcast, unreachable, prohibit, blackhole...). */
    public RouteType type() {
        return result == null ? RouteType.UNSPEC : result.type();
    }

    /** The interface the packet leaves by (lo for local delivery of a locally sent packet), null for input-local and errors. */
    public String egress() {
        return egress;
    }

    /** The neighbour the frame goes to: the gateway, or the destination when it is on-link; null when none. */
    public IpAddress nextHop() {
        return nextHop;
    }

    /** The egress interface's MTU, 0 without one. */
    public int mtu() {
        return mtu;
    }

    /** ip_forward sends an ICMP redirect: the packet leaves by the interface it came in on, to an on-link source. */
    public boolean redirects() {
        return redirect;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(kind.name().toLowerCase(java.util.Locale.ROOT));
        if (kind == Kind.ERROR) {
            sb.append(' ').append(type().word()).append(" errno ").append(errno);
        }
        if (egress != null) {
            sb.append(" dev ").append(egress);
        }
        if (nextHop != null) {
            sb.append(" via ").append(nextHop.text());
        }
        return sb.toString();
    }
}
