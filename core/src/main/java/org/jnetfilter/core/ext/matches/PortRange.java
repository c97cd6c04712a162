package org.jnetfilter.core.ext.matches;

import org.jnetfilter.core.ext.Ports;

/** A port range of the tcp, udp, sctp and dccp matches; 0:65535 not inverted is "any". */
record PortRange(int lo, int hi, boolean inverted) {
    // equals and hashCode written out: compared for every tcp/udp match a restore shares (Interned)
    @Override
    public boolean equals(Object o) {
        return o instanceof PortRange r && lo == r.lo && hi == r.hi && inverted == r.inverted;
    }

    @Override
    public int hashCode() {
        return (lo * 31 + hi) * 2 + (inverted ? 1 : 0);
    }

    static final PortRange ANY = new PortRange(0, 65535, false);

    boolean isAny() {
        return lo == 0 && hi == 65535 && !inverted;
    }

    boolean matches(int port) {
        return (port >= lo && port <= hi) != inverted;
    }

    /** " --sport 1:2" (save), nothing for the range that means "any port". */
    void save(StringBuilder out, String option) {
        if (!isAny()) {
            saveAlways(out, option);
        }
    }

    /** " --sport 1:2" even for 0:65535: sctp and dccp keep a range the user gave. */
    void saveAlways(StringBuilder out, String option) {
        out.append(inverted ? " ! --" : " --").append(option).append(' ').append(lo);
        if (lo != hi) {
            out.append(':').append(hi);
        }
    }

    /** " spt:ssh", " dpts:!1:1023" (-L), as libxt_tcp print_ports prints them. */
    void list(StringBuilder out, String label, boolean numeric, String proto) {
        if (isAny()) {
            return;
        }
        out.append(' ').append(label);
        if (lo != hi) {
            out.append('s');
        }
        out.append(':');
        if (inverted) {
            out.append('!');
        }
        out.append(Ports.listName(lo, numeric, proto));
        if (lo != hi) {
            out.append(':').append(Ports.listName(hi, numeric, proto));
        }
    }

    /**
     * A port or range as xtables' option framework reads it (XTTYPE_PORTRC, used by udp): a service name,
     * or a decimal number kept modulo 2^16 as the 1.8.9 binary does (70000 is 4464); UINT_MAX, hex,
     * signs and numbers past 2^64 do not resolve. A reversed range is refused, as iptables 1.8.11's
     * tests require.
     */
    static PortRange parseX6(String s, String proto, boolean inverted) {
        int colon = s.indexOf(':');
        int lo;
        int hi;
        if (colon < 0) {
            lo = hi = x6Port(s, proto);
        } else {
            String a = s.substring(0, colon);
            String b = s.substring(colon + 1);
            lo = a.isEmpty() ? 0 : x6Port(a, proto);
            hi = b.isEmpty() ? 65535 : x6Port(b, proto);
            if (lo > hi) {
                throw org.jnetfilter.core.ext.XtablesException.parameter("invalid portrange (min > max)");
            }
        }
        return new PortRange(lo, hi, inverted);
    }

    private static int x6Port(String s, String proto) {
        int named = org.jnetfilter.core.ext.Services.port(s, proto);
        if (named >= 0) {
            return named;
        }
        String t = s.stripLeading();
        boolean digits = !t.isEmpty() && t.chars().allMatch(Character::isDigit);
        java.math.BigInteger v = digits ? new java.math.BigInteger(t) : null;
        if (v == null || v.bitLength() > 64 || v.longValue() == 0xFFFFFFFFL
                || (v.longValue() & 0xFFFFFFFFL) == 0xFFFFFFFFL) {
            throw org.jnetfilter.core.ext.XtablesException.parameter("Port \"" + s + "\" does not resolve to anything.\n");
        }
        return (int) (v.longValue() & 0xFFFF);
    }

    static PortRange parse(String s, String proto, boolean inverted) {
        int[] r = Ports.parseRange(s, proto);
        return new PortRange(r[0], r[1], inverted);
    }
}
