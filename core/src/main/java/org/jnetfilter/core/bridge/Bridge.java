package org.jnetfilter.core.bridge;

import java.util.List;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.Link;

/**
 * A bridge device's forwarding as net/bridge/br_input.c (br_handle_frame, br_handle_frame_finish), br_forward.c
 * (br_forward, br_flood, should_deliver) and br_device.c (br_dev_xmit) decide it, with STP off (every port
 * forwarding), learning and flooding on, VLAN filtering and multicast snooping's database off:
 *
 * <ul>
 * <li>A frame received on a port: a source address that is not a valid unicast one drops it (is_valid_ether_addr);
 *   it is learned on the port; then the destination decides: broadcast and multicast are flooded and go up to the
 *   host (no multicast database: br_multicast_rcv finds no group, so local_rcv); 01:80:c2:00:00:00 (the STP group,
 *   forwarded with STP off) is flooded like multicast; other 01:80:c2:00:00:0X link-local groups are not forwarded
 *   and go up, except X = 1 (pause frames), dropped; a local address (the bridge's, a port's, a permanent entry)
 *   goes up only; a known address goes to its port; an unknown one is flooded and does not go up (the bridge is
 *   not promiscuous).</li>
 * <li>should_deliver: a frame leaves by a port other than the one it came in on, or by the same one when the
 *   port is in hairpin mode; the port must be up.</li>
 * <li>br_dev_xmit (the host sends by the bridge): broadcast, multicast and unknown destinations are flooded to
 *   every port, a known one goes to its port, a local one nowhere.</li>
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

    private static final long LINK_LOCAL_GROUP = 0x0180_C200_0000L;
    /** The group bit of the first octet: broadcast and multicast destinations, invalid sources. */
    private static final long MULTICAST_BIT = 0x0100_0000_0000L;

    /** One port as the bridge sees it. */
    public record Port(String name, int index, long mac, boolean up, boolean hairpin) {
    }

    private final String name;
    private final int index;
    private final long mac;
    private final boolean up;
    private final Port[] ports;
    private final Fdb fdb;

    /** The bridge {@code bridge} of {@code host}, its table's learned entries kept from {@code previous} (or none). */
    public Bridge(Host host, Link bridge, Bridge previous) {
        name = bridge.name();
        index = bridge.index();
        mac = bridge.mac();
        up = bridge.up();
        List<Link> members = host.ports(name);
        ports = new Port[members.size()];
        int[] indexes = new int[ports.length];
        for (int i = 0; i < ports.length; i++) {
            // Linux: br_add_if puts a new port at the head of the port list
            Link l = members.get(ports.length - 1 - i);
            ports[i] = new Port(l.name(), l.index(), l.mac(), l.up(), l.hairpin());
            indexes[i] = l.index();
        }
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
            fdb.keepLearned(previous.fdb, indexes);
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

    public Fdb fdb() {
        return fdb;
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
     * IEEE 802.1D link-local group other than the STP one (learned, not forwarded: it goes to the port's own stack),
     * else 0: on to the hooks and {@link #decide}.
     */
    public int admit(int ingress, long source, long destination, long nowNanos) {
        // Linux: br_handle_frame drops a multicast or all-zero source (is_valid_ether_addr)
        if ((source & MULTICAST_BIT) != 0 || source == 0) {
            return DROP;
        }
        if ((destination & ~0xFL) == LINK_LOCAL_GROUP) {
            int group = (int) (destination & 0xF);
            if (group == 1) {
                return DROP;
            }
            if (group != 0) {
                // Linux: br_handle_local_finish learns the source; group_fwd_mask 0 forwards none of them
                fdb.learn(source, ingress, nowNanos);
                return UP;
            }
        }
        return 0;
    }

    /**
     * br_handle_frame_finish (after the PREROUTING hooks): learns the source on {@code ingress}, then answers where
     * the frame goes by its destination: {@link #UP}, {@link #FLOOD}, {@link #FLOOD_AND_UP}, or the ifindex of the
     * port to forward to (which may be the ingress port: {@link #shouldDeliver} decides whether it may leave there).
     */
    public int decide(int ingress, long source, long destination, long nowNanos) {
        fdb.learn(source, ingress, nowNanos);
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

    /** should_deliver: {@code to} is up, and either not the port the frame came in on ({@code ingress}) or hairpin. */
    public static boolean shouldDeliver(Port to, int ingress) {
        return to.up() && (to.index() != ingress || to.hairpin());
    }
}
