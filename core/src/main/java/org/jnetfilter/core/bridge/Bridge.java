package org.jnetfilter.core.bridge;

import java.util.List;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.Link;
import org.jnetfilter.core.rules.Family;

/**
 * A bridge device's forwarding as net/bridge/br_input.c (br_handle_frame, br_handle_frame_finish), br_forward.c
 * (br_forward, br_flood, should_deliver) and br_device.c (br_dev_xmit) decide it, with kernel STP off (stp_state 0:
 * ports forward unless the user set another state), learning and flooding on, VLAN filtering and multicast
 * snooping's database off:
 *
 * <ul>
 * <li>A frame received on a port: a source address that is not a valid unicast one drops it (is_valid_ether_addr).
 *   The 01:80:c2:00:00:0X link-local groups: X = 1 (pause frames) is dropped; X = 0 (the STP group, forwarded with
 *   STP off) and the groups whose bit is set in the bridge's group_fwd_mask go on as any multicast; the others go
 *   to the port's own stack (not forwarded), their source learned only when the port is learning or forwarding
 *   (__br_handle_local_finish, nbp_state_should_learn). Then the port's STP state: a learning or forwarding port
 *   passes the frame to the bridge's PREROUTING hooks, any other drops it unlearned. After the hooks
 *   (br_handle_frame_finish) the source is learned on the port, a learning port drops the frame there, and the
 *   destination decides: broadcast and multicast are flooded and go up to the host (no multicast database:
 *   br_multicast_rcv finds no group, so local_rcv); a local address (the bridge's, a port's, a permanent entry)
 *   goes up only; a known address goes to its port; an unknown one is flooded and does not go up (the bridge is not
 *   promiscuous).</li>
 * <li>should_deliver: a frame leaves by a forwarding port (a port that is down, or whose bridge is down, is
 *   disabled) other than the one it came in on, or by the same one when the port is in hairpin mode.</li>
 * <li>br_dev_xmit (the host sends by the bridge): broadcast, multicast and unknown destinations are flooded to
 *   every forwarding port, a known one goes to its port when it forwards, a local one nowhere.</li>
 * </ul>
 *
 * <p>Flooding follows the bridge's port list, which br_add_if extends at its head: the port that joined last
 * comes first. Hot path: decisions allocate nothing; the port array is the one {@link #ports()} returns.
 */
public final class Bridge {
    /** Not forwarded: the frame goes up to the host only. */
    public static final int UP = -1;
    /** Flooded to every port that {@link #shouldDeliver} allows. */
    public static final int FLOOD = -2;
    /** Flooded, and a copy goes up to the host (broadcast, multicast). */
    public static final int FLOOD_AND_UP = -3;
    /** Dropped by the bridge (an invalid source address, a pause frame, a local destination of br_dev_xmit). */
    public static final int DROP = -4;
    /** {@link #admit}: dropped, unlearned, by the port's STP state (disabled, listening, blocking). */
    public static final int NOT_FORWARDING = -5;
    /** {@link #decide}: the source learned, the frame dropped: the port is learning (BR_STATE_LEARNING). */
    public static final int LEARNING = -6;

    private static final long LINK_LOCAL_GROUP = 0x0180_C200_0000L;
    /** The group bit of the first octet: broadcast and multicast destinations, invalid sources. */
    private static final long MULTICAST_BIT = 0x0100_0000_0000L;

    /** One port as the bridge sees it; {@code state}: its STP state (Link.PORT_*), disabled while it or the bridge is down. */
    public record Port(String name, int index, long mac, boolean up, boolean hairpin, int state) {
        /** Whether frames may leave by it (Linux: should_deliver's p->state == BR_STATE_FORWARDING). */
        public boolean forwarding() {
            return state == Link.PORT_FORWARDING;
        }
    }

    private final String name;
    private final int index;
    private final long mac;
    private final boolean up;
    private final Port[] ports;
    private final Fdb fdb;
    private final int groupFwdMask;
    /** br_netfilter runs bridged IPv4 / IPv6 frames through the hooks (the sysctl, or the bridge's own option). */
    private final boolean callsIptables;
    private final boolean callsIp6tables;
    /** br_netfilter's bridge-nf-filter-vlan-tagged: 802.1Q-tagged IPv4/IPv6 frames meet the hooks too. */
    private final boolean filtersVlanTagged;
    /** Per port (as {@link #ports}), Host#portFlushes when the bridge was built. */
    private final int[] flushes;

    /** The bridge {@code bridge} of {@code host}, its table's learned entries kept from {@code previous} (or none). */
    public Bridge(Host host, Link bridge, Bridge previous) {
        name = bridge.name();
        index = bridge.index();
        mac = bridge.mac();
        up = bridge.up();
        List<Link> members = host.ports(name);
        ports = new Port[members.size()];
        flushes = new int[ports.length];
        int[] kept = new int[ports.length];
        int nKept = 0;
        for (int i = 0; i < ports.length; i++) {
            // Linux: br_add_if puts a new port at the head of the port list
            Link l = members.get(ports.length - 1 - i);
            ports[i] = new Port(l.name(), l.index(), l.mac(), l.up(), l.hairpin(), l.portState(up));
            flushes[i] = host.portFlushes(l.name());
            if (previous != null && previous.flushes(l.index()) == flushes[i]) {
                kept[nKept++] = l.index();
            }
        }
        groupFwdMask = host.groupFwdMask(name);
        callsIptables = host.bridgeNetfilter(Family.IPV4, name);
        callsIp6tables = host.bridgeNetfilter(Family.IPV6, name);
        filtersVlanTagged = host.sysctlLong("net.bridge.bridge-nf-filter-vlan-tagged") != 0;
        fdb = new Fdb(host.bridgeAgeingNanos(name));
        // Linux: br_fdb_add_local for the bridge's address and each port's (fdb_add_local on br_add_if)
        fdb.addLocal(mac, 0);
        for (Port p : ports) {
            fdb.addLocal(p.mac(), p.index());
        }
        for (Host.StaticFdbEntry e : host.staticFdb()) {
            Link p = host.link(e.port());
            if (p != null && name.equals(p.master())) {
                if (e.local()) {
                    fdb.addLocal(e.mac(), p.index());
                } else {
                    fdb.addStatic(e.mac(), p.index());
                }
            }
        }
        if (previous != null) {
            // Linux: br_fdb_delete_by_port when a port is disabled or leaves: what it learned is forgotten
            fdb.keepLearned(previous.fdb, java.util.Arrays.copyOf(kept, nKept));
        }
    }

    public String name() {
        return name;
    }

    public int index() {
        return index;
    }

    public long mac() {
        return mac;
    }

    public boolean up() {
        return up;
    }

    /** The ports in flooding order (the last to join first). Not to be modified. */
    public Port[] ports() {
        return ports;
    }

    /** Whether bridged frames of {@code family} meet the iptables (ip6tables) hooks on this bridge. */
    public boolean callsHooks(Family family) {
        return family == Family.IPV4 ? callsIptables : family == Family.IPV6 && callsIp6tables;
    }

    /** Whether an 802.1Q-tagged frame of {@code family} meets the hooks (is_vlan_ip / is_vlan_ipv6). */
    public boolean callsHooksTagged(Family family) {
        return filtersVlanTagged && callsHooks(family);
    }

    public Fdb fdb() {
        return fdb;
    }

    /** The flush count a port had when this bridge was built, or -1 when it was not a port. */
    private int flushes(int ifindex) {
        for (int i = 0; i < ports.length; i++) {
            if (ports[i].index() == ifindex) {
                return flushes[i];
            }
        }
        return -1;
    }

    /** The port with this ifindex, or null. */
    public Port port(int ifindex) {
        for (Port p : ports) {
            if (p.index() == ifindex) {
                return p;
            }
        }
        return null;
    }

    /**
     * br_handle_frame before the bridge's PREROUTING hooks, for a frame from {@code source} to {@code destination}
     * received on port {@code ingress}: {@link #DROP} (an invalid source address, a pause frame), {@link #UP} for an
     * IEEE 802.1D link-local group that is neither the STP one nor in group_fwd_mask (not forwarded: it goes to the
     * port's own stack), {@link #NOT_FORWARDING} when the port's state takes no frames, else 0: on to the hooks and
     * {@link #decide}.
     */
    public int admit(Port ingress, long source, long destination, long nowNanos) {
        // Linux: br_handle_frame drops a multicast or all-zero source (is_valid_ether_addr)
        if ((source & MULTICAST_BIT) != 0 || source == 0) {
            return DROP;
        }
        if ((destination & ~0xFL) == LINK_LOCAL_GROUP) {
            int group = (int) (destination & 0xF);
            if (group == 1) {
                return DROP;
            }
            // Linux: the STP group is forwarded while STP is off; the others when group_fwd_mask has their bit
            if (group != 0 && (groupFwdMask & (1 << group)) == 0) {
                if (learns(ingress.state())) {
                    // Linux: __br_handle_local_finish learns only on a learning or forwarding port
                    fdb.learn(source, ingress.index(), nowNanos);
                }
                return UP;
            }
        }
        // Linux: br_handle_frame: only BR_STATE_FORWARDING and BR_STATE_LEARNING pass to NF_BR_PRE_ROUTING
        return learns(ingress.state()) ? 0 : NOT_FORWARDING;
    }

    private static boolean learns(int state) {
        return state == Link.PORT_FORWARDING || state == Link.PORT_LEARNING;
    }

    /**
     * br_handle_frame_finish (after the PREROUTING hooks): learns the source on {@code ingress}, then answers where
     * the frame goes: {@link #LEARNING} when the port only learns, else by its destination {@link #UP},
     * {@link #FLOOD}, {@link #FLOOD_AND_UP}, or the ifindex of the port to forward to (which may be the ingress port:
     * {@link #shouldDeliver} decides whether it may leave there).
     */
    public int decide(Port ingress, long source, long destination, long nowNanos) {
        fdb.learn(source, ingress.index(), nowNanos);
        if (ingress.state() == Link.PORT_LEARNING) {
            return LEARNING;
        }
        if ((destination & MULTICAST_BIT) != 0) {
            return FLOOD_AND_UP;
        }
        int to = fdb.lookup(destination, nowNanos);
        return to == Fdb.LOCAL ? UP : to == Fdb.UNKNOWN ? FLOOD : to;
    }

    /** br_dev_xmit: where a frame the host sends by the bridge goes ({@link #FLOOD}, {@link #DROP} or a port). */
    public int transmit(long destination, long nowNanos) {
        if ((destination & MULTICAST_BIT) != 0) {
            return FLOOD;
        }
        int to = fdb.lookup(destination, nowNanos);
        return to == Fdb.LOCAL ? DROP : to == Fdb.UNKNOWN ? FLOOD : to;
    }

    /**
     * should_deliver: {@code to} forwards, and is either not the port the frame came in on ({@code ingress}; 0 for
     * the host's own frames) or in hairpin mode.
     */
    public static boolean shouldDeliver(Port to, int ingress) {
        return to.forwarding() && (to.index() != ingress || to.hairpin());
    }
}
