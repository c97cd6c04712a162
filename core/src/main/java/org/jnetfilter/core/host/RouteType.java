package org.jnetfilter.core.host;

/**
 * Route and address types, the kernel's {@code enum rtn_type} (include/uapi/linux/rtnetlink.h) in its order;
 * the addrtype match names the same set. {@code UNSPEC} doubles as "no type".
 */
public enum RouteType {
    UNSPEC, UNICAST, LOCAL, BROADCAST, ANYCAST, MULTICAST, BLACKHOLE, UNREACHABLE, PROHIBIT, THROW;

    /** The types whose lookup ends in an error (fib_props[].error), THROW excepted: it continues. */
    public boolean isError() {
        return this == BLACKHOLE || this == UNREACHABLE || this == PROHIBIT;
    }

    /** The word `ip route` prints and parses. */
    public String word() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
