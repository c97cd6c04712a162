package org.jnetfilter.core.host;

import org.jnetfilter.core.rules.IpNet;

/**
 * An address configured on an interface, with its prefix length and, for IPv4, the broadcast address it was
 * given ({@code ip addr add A/P brd B dev D}; {@code brd +} is the subnet's): ifa_broadcast, null when none was
 * given (as iproute2 leaves it without {@code brd}).
 */
public record InterfaceAddress(IpAddress address, int prefix, IpAddress broadcast) {
    public InterfaceAddress(IpAddress address, int prefix) {
        this(address, prefix, null);
    }

    public IpNet network() {
        return address.net(prefix);
    }

    @Override
    public String toString() {
        return address.text() + "/" + prefix;
    }
}
