package org.jnetfilter.core.host;

import java.util.List;
import org.jnetfilter.core.rules.Family;

/**
 * A network interface as {@code ip link} shows it: name, ifindex, MAC (48 bits in a long), MTU, admin state
 * and its configured addresses in the order they were added (the first of a subnet is the primary, as in
 * Linux). Immutable; {@link Host} replaces it on change.
 */
public record Link(String name, int index, long mac, int mtu, boolean up, List<InterfaceAddress> addresses) {

    public Link {
        addresses = List.copyOf(addresses);
    }

    public boolean isLoopback() {
        return index == Host.LOOPBACK_INDEX;
    }

    public List<InterfaceAddress> addresses(Family family) {
        return addresses.stream().filter(a -> a.address().family() == family).toList();
    }

    Link withUp(boolean v) {
        return new Link(name, index, mac, mtu, v, addresses);
    }

    Link withMtu(int v) {
        return new Link(name, index, mac, v, up, addresses);
    }

    Link withMac(long v) {
        return new Link(name, index, v, mtu, up, addresses);
    }

    Link withAddresses(List<InterfaceAddress> v) {
        return new Link(name, index, mac, mtu, up, v);
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
