package org.jnetfilter.core.host;

/**
 * What a route lookup gives: the route type, the chosen route, the device the packet leaves by (lo for local
 * delivery on output, as {@code ip route get} prints it), the gateway if any, the preferred source, and for
 * errors the errno the kernel returns (ENETUNREACH when nothing matched; EHOSTUNREACH, EACCES, EINVAL for
 * unreachable, prohibit and blackhole routes or rules).
 */
public record RouteResult(RouteType type, int errno, Route route, String dev, IpAddress gateway,
        IpAddress source, int table) {

    /** Linux errno values (include/uapi/asm-generic/errno*.h). */
    public static final int EACCES = 13;
    public static final int EINVAL = 22;
    public static final int ENETUNREACH = 101;
    public static final int EHOSTUNREACH = 113;

    public boolean isError() {
        return errno != 0;
    }

    static RouteResult error(RouteType type, int errno, Route route, int table) {
        return new RouteResult(type, errno, route, null, null, null, table);
    }

    /** fib_props[type].error for IPv4; ip6_rt_type_to_error for IPv6 (the same values). */
    static int errnoOf(RouteType type) {
        return switch (type) {
            case BLACKHOLE -> EINVAL;
            case UNREACHABLE -> EHOSTUNREACH;
            case PROHIBIT -> EACCES;
            default -> 0;
        };
    }

    @Override
    public String toString() {
        if (isError()) {
            return type.word() + " (errno " + errno + ")";
        }
        StringBuilder sb = new StringBuilder(type.word());
        if (gateway != null) {
            sb.append(" via ").append(gateway.text());
        }
        if (dev != null) {
            sb.append(" dev ").append(dev);
        }
        if (source != null) {
            sb.append(" src ").append(source.text());
        }
        return sb.toString();
    }
}
