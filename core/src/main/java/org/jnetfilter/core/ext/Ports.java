package org.jnetfilter.core.ext;

import org.jnetfilter.core.rules.Protocols;

/** Port numbers and ranges as xtables parses and prints them. */
public final class Ports {
    private Ports() {
    }

    /** xtables_parse_port: a number 0-65535 or a service name for {@code proto}; "invalid port/service". */
    public static int parse(String s, String proto) {
        int p = Services.port(s, proto);
        if (p >= 0) {
            return p;
        }
        long v = Numbers.parseUnsigned(s, 0, 65535);
        if (v < 0) {
            throw XtablesException.parameter("invalid port/service `" + s + "' specified");
        }
        return (int) v;
    }

    /**
     * A port or range {@code a}, {@code a:b}, {@code :b}, {@code a:}, {@code :} as the tcp/udp matches
     * parse it (xtables_parse_port_range); returns {lo, hi}.
     */
    public static int[] parseRange(String s, String proto) {
        int colon = s.indexOf(':');
        if (colon < 0) {
            int p = parse(s, proto);
            return new int[] {p, p};
        }
        String a = s.substring(0, colon);
        String b = s.substring(colon + 1);
        int lo = a.isEmpty() ? 0 : parse(a, proto);
        int hi = b.isEmpty() ? 65535 : parse(b, proto);
        if (lo > hi) {
            throw XtablesException.parameter("invalid portrange (min > max)");
        }
        return new int[] {lo, hi};
    }

    /** The -L form of one port: a service name unless numeric (xtables' port_to_service). */
    public static String listName(int port, boolean numeric, String proto) {
        if (!numeric && proto != null) {
            String n = Services.name(port, proto);
            if (n != null) {
                return n;
            }
        }
        return Integer.toString(port);
    }

    /** The protocol name getservbyname uses for a rule's -p, or null when the rule has none. */
    public static String protoName(int protocol) {
        return protocol == 0 ? null : Protocols.name(protocol);
    }
}
