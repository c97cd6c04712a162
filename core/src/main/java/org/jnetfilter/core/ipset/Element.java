package org.jnetfilter.core.ipset;

import java.util.Objects;

/**
 * The key of one set element, for every set type: up to three dimensions (address or network, protocol and
 * port, second address, interface, or a set name). Addresses are kept as {@link org.jnetfilter.core.rules.IpNet}
 * keeps them (IPv4 in the low 32 bits of {@code lo}), already masked to their prefix.
 *
 * <p>Hot path: a set's table is keyed by these; the set match fills a thread-local probe instance in place
 * and looks it up, so a lookup allocates nothing. Elements stored in a table are never changed again.
 */
public final class Element {
    long hi;
    long lo;
    int cidr;
    int proto;
    int port;
    long hi2;
    long lo2;
    int cidr2;
    String iface;
    String name;

    Element() {
    }

    Element copy() {
        return of(hi, lo, cidr, proto, port, hi2, lo2, cidr2, iface, name);
    }

    void clear() {
        hi = 0;
        lo = 0;
        cidr = 0;
        proto = 0;
        port = 0;
        hi2 = 0;
        lo2 = 0;
        cidr2 = 0;
        iface = null;
        name = null;
    }

    /** An element from its fields (a stored state read back); addresses already masked. */
    public static Element of(long hi, long lo, int cidr, int proto, int port, long hi2, long lo2, int cidr2,
            String iface, String name) {
        Element e = new Element();
        e.hi = hi;
        e.lo = lo;
        e.cidr = cidr;
        e.proto = proto;
        e.port = port;
        e.hi2 = hi2;
        e.lo2 = lo2;
        e.cidr2 = cidr2;
        e.iface = iface;
        e.name = name;
        return e;
    }

    public long hi2() {
        return hi2;
    }

    public long lo2() {
        return lo2;
    }

    public int cidr2() {
        return cidr2;
    }

    public long hi() {
        return hi;
    }

    public long lo() {
        return lo;
    }

    public int cidr() {
        return cidr;
    }

    public int proto() {
        return proto;
    }

    public int port() {
        return port;
    }

    public String iface() {
        return iface;
    }

    public String setName() {
        return name;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Element e && hi == e.hi && lo == e.lo && cidr == e.cidr && proto == e.proto
                && port == e.port && hi2 == e.hi2 && lo2 == e.lo2 && cidr2 == e.cidr2 && Objects.equals(iface, e.iface)
                && Objects.equals(name, e.name);
    }

    @Override
    public int hashCode() {
        long h = hi * 0x9E3779B97F4A7C15L;
        h = (h ^ lo) * 0x9E3779B97F4A7C15L;
        h = (h ^ ((long) cidr << 48 | (long) proto << 24 | port)) * 0x9E3779B97F4A7C15L;
        h = (h ^ hi2) * 0x9E3779B97F4A7C15L;
        h = (h ^ lo2 ^ cidr2) * 0x9E3779B97F4A7C15L;
        int s = (iface == null ? 0 : iface.hashCode()) * 31 + (name == null ? 0 : name.hashCode());
        return (int) (h ^ (h >>> 32)) ^ s;
    }
}
