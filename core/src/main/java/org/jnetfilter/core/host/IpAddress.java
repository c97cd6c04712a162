package org.jnetfilter.core.host;

import org.jnetfilter.core.ext.Addresses;
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;

/**
 * One IPv4 or IPv6 address, laid out as {@link IpNet} lays it out (IPv4 in the low 32 bits of {@code lo};
 * IPv6 as {@code hi:lo}). Parsing and printing go through {@link Addresses} and {@link AddressText}.
 */
public record IpAddress(Family family, long hi, long lo) {

    public static IpAddress ipv4(int address) {
        return new IpAddress(Family.IPV4, 0, address & 0xFFFFFFFFL);
    }

    public static IpAddress any(Family family) {
        return new IpAddress(family, 0, 0);
    }

    /** A numeric address of either family (dotted quad with four parts, or inet_pton IPv6); null if neither. */
    public static IpAddress parse(String text) {
        if (text.indexOf(':') >= 0) {
            long[] v = Addresses.parseIpv6(text);
            return v == null ? null : new IpAddress(Family.IPV6, v[0], v[1]);
        }
        if (text.split("\\.", -1).length != 4) {
            return null;
        }
        long v = Addresses.parseIpv4(text);
        return v < 0 ? null : new IpAddress(Family.IPV4, 0, v);
    }

    public boolean isAny() {
        return hi == 0 && lo == 0;
    }

    public boolean in(IpNet net) {
        return net.family() == family && net.contains(hi, lo);
    }

    /** The network of this address under a prefix length. */
    public IpNet net(int prefix) {
        if (family == Family.IPV4) {
            return IpNet.ipv4((int) lo, prefix);
        }
        long[] m = Addresses.prefixMask6(prefix);
        return IpNet.of(family, hi, lo, m[0], m[1]);
    }

    public IpNet hostNet() {
        return net(family.addressBits());
    }

    /** Linux ipv4_is_multicast / ipv6_addr_is_multicast. */
    public boolean isMulticast() {
        return family == Family.IPV4 ? (lo & 0xF0000000L) == 0xE0000000L : (hi >>> 56) == 0xFF;
    }

    /** Linux ipv4_is_lbcast: 255.255.255.255. */
    public boolean isLimitedBroadcast() {
        return family == Family.IPV4 && lo == 0xFFFFFFFFL;
    }

    /** fe80::/10. */
    public boolean isLinkLocal() {
        return family == Family.IPV6 && (hi >>> 54) == (0xFE80L >>> 6);
    }

    public boolean isLoopback() {
        return family == Family.IPV4 ? (lo >>> 24) == 127 : hi == 0 && lo == 1;
    }

    /** Bits in common from the top, as RFC 6724 rule 8 compares candidate sources. */
    int commonPrefix(IpAddress o) {
        if (family == Family.IPV4) {
            return Math.min(32, Long.numberOfLeadingZeros((lo ^ o.lo) & 0xFFFFFFFFL) - 32);
        }
        long h = hi ^ o.hi;
        return h != 0 ? Long.numberOfLeadingZeros(h) : 64 + Long.numberOfLeadingZeros(lo ^ o.lo);
    }

    public String text() {
        return family == Family.IPV4 ? AddressText.ipv4((int) lo) : AddressText.ipv6(hi, lo);
    }

    @Override
    public String toString() {
        return text();
    }
}
