package org.jnetfilter.core.ext.matches;

import org.jnetfilter.core.ext.Ports;

/** A port range of the tcp, udp, sctp and dccp matches; 0:65535 not inverted is "any". */
record PortRange(int lo, int hi, boolean inverted) {
    static final PortRange ANY = new PortRange(0, 65535, false);

    boolean isAny() {
        return lo == 0 && hi == 65535 && !inverted;
    }

    boolean matches(int port) {
        return (port >= lo && port <= hi) != inverted;
    }

    /** " --sport 1:2" (save). */
    void save(StringBuilder out, String option) {
        if (isAny()) {
            return;
        }
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

    static PortRange parse(String s, String proto, boolean inverted) {
        int[] r = Ports.parseRange(s, proto);
        return new PortRange(r[0], r[1], inverted);
    }
}
