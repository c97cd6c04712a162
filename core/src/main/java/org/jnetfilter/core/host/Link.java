package org.jnetfilter.core.host;

import java.util.List;
import org.jnetfilter.core.rules.Family;

/**
 * A network interface as {@code ip link} shows it: name, ifindex, MAC (48 bits in a long), MTU, admin state
 * and its configured addresses in the order they were added (the first of a subnet is the primary, as in
 * Linux); a bridge ({@code type bridge}) or a bridge port ({@code master}, with its {@code hairpin} flag and the
 * STP port state the user set, {@link #portState}). Immutable; {@link Host} replaces it on change.
 */
public record Link(String name, int index, long mac, int mtu, boolean up, List<InterfaceAddress> addresses,
        boolean bridge, String master, boolean hairpin, int portState) {

    /** Linux: BR_STATE_DISABLED .. BR_STATE_BLOCKING (include/uapi/linux/if_bridge.h), as iproute2 names them. */
    public static final List<String> PORT_STATES = List.of("disabled", "listening", "learning", "forwarding",
            "blocking");
    public static final int PORT_DISABLED = 0;
    public static final int PORT_LISTENING = 1;
    public static final int PORT_LEARNING = 2;
    public static final int PORT_FORWARDING = 3;
    public static final int PORT_BLOCKING = 4;

    public Link {
        addresses = List.copyOf(addresses);
    }

    public Link(String name, int index, long mac, int mtu, boolean up, List<InterfaceAddress> addresses) {
        this(name, index, mac, mtu, up, addresses, false, null, false, PORT_FORWARDING);
    }

    /** Whether the interface is a port of a bridge ({@link #master()} names it). */
    public boolean isBridgePort() {
        return master != null;
    }

    /**
     * The port's STP state as the bridge uses it: disabled while the port or its bridge is down ({@code bridgeUp}),
     * else the state set ({@link #portState}; forwarding unless the user set another since the port or the bridge
     * last came up).
     */
    public int portState(boolean bridgeUp) {
        return up && bridgeUp ? portState : PORT_DISABLED;
    }

    Link withBridge(boolean v) {
        return new Link(name, index, mac, mtu, up, addresses, v, master, hairpin, portState);
    }

    /** Linux: br_add_if enables the port (br_stp_enable_port), and with STP off it forwards at once. */
    Link withMaster(String v) {
        return new Link(name, index, mac, mtu, up, addresses, bridge, v, v != null && hairpin,
                java.util.Objects.equals(v, master) ? portState : PORT_FORWARDING);
    }

    Link withHairpin(boolean v) {
        return new Link(name, index, mac, mtu, up, addresses, bridge, master, v, portState);
    }

    Link withPortState(int v) {
        return new Link(name, index, mac, mtu, up, addresses, bridge, master, hairpin, v);
    }

    public boolean isLoopback() {
        return index == Host.LOOPBACK_INDEX;
    }

    public List<InterfaceAddress> addresses(Family family) {
        return addresses.stream().filter(a -> a.address().family() == family).toList();
    }

    Link withUp(boolean v) {
        return new Link(name, index, mac, mtu, v, addresses, bridge, master, hairpin, portState);
    }

    Link withMtu(int v) {
        return new Link(name, index, mac, v, up, addresses, bridge, master, hairpin, portState);
    }

    Link withMac(long v) {
        return new Link(name, index, v, mtu, up, addresses, bridge, master, hairpin, portState);
    }

    Link withAddresses(List<InterfaceAddress> v) {
        return new Link(name, index, mac, mtu, up, v, bridge, master, hairpin, portState);
    }

    public static String macText(long mac) {
        StringBuilder sb = new StringBuilder(17);
        for (int i = 5; i >= 0; i--) {
            sb.append(String.format("%02x", (mac >>> (8 * i)) & 0xFF));
            if (i > 0) {
                sb.append(':');
            }
        }
        return sb.toString();
    }

    /** {@code aa:bb:cc:dd:ee:ff}, or -1 when not that form. */
    public static long parseMac(String text) {
        String[] p = text.split(":", -1);
        if (p.length != 6) {
            return -1;
        }
        long v = 0;
        for (String b : p) {
            if (b.isEmpty() || b.length() > 2) {
                return -1;
            }
            int x = 0;
            for (int i = 0; i < b.length(); i++) {
                int d = Character.digit(b.charAt(i), 16);
                if (d < 0) {
                    return -1;
                }
                x = x * 16 + d;
            }
            v = (v << 8) | x;
        }
        return v;
    }
}
