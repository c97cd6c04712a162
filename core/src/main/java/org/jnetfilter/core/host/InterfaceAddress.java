package org.jnetfilter.core.host;

import org.jnetfilter.core.rules.IpNet;

/** An address configured on an interface, with its prefix length ({@code ip addr add A/P dev D}). */
public record InterfaceAddress(IpAddress address, int prefix) {
    public IpNet network() {
        return address.net(prefix);
    }

    @Override
    public String toString() {
        return address.text() + "/" + prefix;
    }
}
