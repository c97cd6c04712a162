package org.jnetfilter.core.host;

import java.util.List;
import org.jnetfilter.core.rules.Family;

/**
 * A network interface as {@code ip link} shows it: name, ifindex, MAC (48 bits in a long), MTU, admin state
 * and its configured addresses in the order they were added (the first of a subnet is the primary, as in
 * Linux); a bridge ({@code type bridge}) or a bridge port ({@code master}, with its {@code hairpin} flag).
 * Immutable; {@link Host} replaces it on change.
 */
public record Link(String name, int index, long mac, int mtu, boolean up, List<InterfaceAddress> addresses,
        boolean bridge, String master, boolean hairpin) {

    public Link {
        addresses = List.copyOf(addresses);
    }

    public Link(String name, int index, long mac, int mtu, boolean up, List<InterfaceAddress> addresses) {
        this(name, index, mac, mtu, up, addresses, false, null, false);
    }

    /** Whether the interface is a port of a bridge ({@link #master()} names it). */
    public boolean isBridgePort() {
        return master != null;
    }

    Link withBridge(boolean v) {
        return new Link(name, index, mac, mtu, up, addresses, v, master, hairpin);
    }

    Link withMaster(String v) {
        return new Link(name, index, mac, mtu, up, addresses, bridge, v, v != null && hairpin);
    }

    Link withHairpin(boolean v) {
        return new Link(name, index, mac, mtu, up, addresses, bridge, master, v);
    }

    public boolean isLoopback() {
        return index == Host.LOOPBACK_INDEX;
    }

    public List<InterfaceAddress> addresses(Family family) {
        return addresses.stream().filter(a -> a.address().family() == family).toList();
    }

    Link withUp(boolean v) {
        return new Link(name, index, mac, mtu, v, addresses, bridge, master, hairpin);
    }

    Link withMtu(int v) {
        return new Link(name, index, mac, v, up, addresses, bridge, master, hairpin);
    }

    Link withMac(long v) {
        return new Link(name, index, v, mtu, up, addresses, bridge, master, hairpin);
    }

    Link withAddresses(List<InterfaceAddress> v) {
        return new Link(name, index, mac, mtu, up, v, bridge, master, hairpin);
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
