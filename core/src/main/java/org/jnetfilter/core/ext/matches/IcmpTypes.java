package org.jnetfilter.core.ext.matches;

import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.XtablesException;

/**
 * ICMP and ICMPv6 type names and the {@code type[/code[:code]]} syntax shared by the icmp and icmp6 matches.
 * A name stands for a type and a code range; 0-255 is "any code".
 */
final class IcmpTypes {

    /** One named type: codes lo..hi. */
    record Name(String name, int type, int codeLo, int codeHi) {
    }

    private static Name n(String name, int type, int lo, int hi) {
        return new Name(name, type, lo, hi);
    }

    // Linux: include/uapi/linux/icmp.h type and code numbers; names and order as iptables lists them
    static final Name[] ICMP = {
        n("any", 0xFF, 0, 0xFF),
        n("echo-reply", 0, 0, 0xFF), n("pong", 0, 0, 0xFF),
        n("destination-unreachable", 3, 0, 0xFF),
        n("network-unreachable", 3, 0, 0), n("host-unreachable", 3, 1, 1),
        n("protocol-unreachable", 3, 2, 2), n("port-unreachable", 3, 3, 3),
        n("fragmentation-needed", 3, 4, 4), n("source-route-failed", 3, 5, 5),
        n("network-unknown", 3, 6, 6), n("host-unknown", 3, 7, 7),
        n("network-prohibited", 3, 9, 9), n("host-prohibited", 3, 10, 10),
        n("TOS-network-unreachable", 3, 11, 11), n("TOS-host-unreachable", 3, 12, 12),
        n("communication-prohibited", 3, 13, 13), n("host-precedence-violation", 3, 14, 14),
        n("precedence-cutoff", 3, 15, 15),
        n("source-quench", 4, 0, 0xFF),
        n("redirect", 5, 0, 0xFF),
        n("network-redirect", 5, 0, 0), n("host-redirect", 5, 1, 1),
        n("TOS-network-redirect", 5, 2, 2), n("TOS-host-redirect", 5, 3, 3),
        n("echo-request", 8, 0, 0xFF), n("ping", 8, 0, 0xFF),
        n("router-advertisement", 9, 0, 0xFF),
        n("router-solicitation", 10, 0, 0xFF),
        n("time-exceeded", 11, 0, 0xFF), n("ttl-exceeded", 11, 0, 0xFF),
        n("ttl-zero-during-transit", 11, 0, 0), n("ttl-zero-during-reassembly", 11, 1, 1),
        n("parameter-problem", 12, 0, 0xFF),
        n("ip-header-bad", 12, 0, 0), n("required-option-missing", 12, 1, 1),
        n("timestamp-request", 13, 0, 0xFF),
        n("timestamp-reply", 14, 0, 0xFF),
        n("address-mask-request", 17, 0, 0xFF),
        n("address-mask-reply", 18, 0, 0xFF),
    };

    // Linux: include/uapi/linux/icmpv6.h; the mld-listener names are parsed as iptables 1.8.11 does
    static final Name[] ICMPV6 = {
        n("destination-unreachable", 1, 0, 0xFF),
        n("no-route", 1, 0, 0), n("communication-prohibited", 1, 1, 1),
        n("beyond-scope", 1, 2, 2), n("address-unreachable", 1, 3, 3),
        n("port-unreachable", 1, 4, 4), n("failed-policy", 1, 5, 5),
        n("reject-route", 1, 6, 6),
        n("packet-too-big", 2, 0, 0xFF),
        n("time-exceeded", 3, 0, 0xFF), n("ttl-exceeded", 3, 0, 0xFF),
        n("ttl-zero-during-transit", 3, 0, 0), n("ttl-zero-during-reassembly", 3, 1, 1),
        n("parameter-problem", 4, 0, 0xFF),
        n("bad-header", 4, 0, 0), n("unknown-header-type", 4, 1, 1), n("unknown-option", 4, 2, 2),
        n("echo-request", 128, 0, 0xFF), n("ping", 128, 0, 0xFF),
        n("echo-reply", 129, 0, 0xFF), n("pong", 129, 0, 0xFF),
        n("mld-listener-query", 130, 0, 0xFF),
        n("mld-listener-report", 131, 0, 0xFF),
        n("mld-listener-done", 132, 0, 0xFF), n("mld-listener-reduction", 132, 0, 0xFF),
        n("router-solicitation", 133, 0, 0xFF),
        n("router-advertisement", 134, 0, 0xFF),
        n("neighbour-solicitation", 135, 0, 0xFF), n("neighbor-solicitation", 135, 0, 0xFF),
        n("neighbour-advertisement", 136, 0, 0xFF), n("neighbor-advertisement", 136, 0, 0xFF),
        n("redirect", 137, 0, 0xFF),
    };

    private IcmpTypes() {
    }

    /** iptables 1.8.9 lists the MLD types by number: their names came later. */
    private static boolean unlistedInOldIptables(Name n) {
        return n.name().startsWith("mld-");
    }

    /**
     * A name (any unambiguous case-insensitive prefix) or {@code type[/code[:code]]}; returns {type, lo, hi}.
     * {@code what} is "ICMP" or "ICMPv6" as the messages say it.
     */
    static int[] parse(Name[] table, String what, String s) {
        Name match = null;
        for (Name n : table) {
            if (n.name().regionMatches(true, 0, s, 0, s.length()) && s.length() <= n.name().length()) {
                if (match != null) {
                    throw XtablesException.parameter("Ambiguous " + what + " type `" + s + "': `" + match.name()
                            + "' or `" + n.name() + "'?");
                }
                match = n;
            }
        }
        if (match != null) {
            return new int[] {match.type(), match.codeLo(), match.codeHi()};
        }
        int[] pos = {0};
        long type = strtoul(s, pos);
        if (type < 0 || type > 0xFF) {
            throw XtablesException.parameter("Unknown " + what + " type `" + s + "'");
        }
        int lo = 0;
        int hi = 0xFF;
        if (pos[0] < s.length() && s.charAt(pos[0]) == '/') {
            pos[0]++;
            long c = strtoul(s, pos);
            if (c < 0 || c > 0xFF) {
                throw XtablesException.parameter("Unknown " + what + " code `" + s + "'");
            }
            lo = (int) c;
            hi = (int) c;
            if (pos[0] < s.length() && s.charAt(pos[0]) == ':') {
                pos[0]++;
                long c2 = strtoul(s, pos);
                if (c2 < 0 || c2 > 0xFF) {
                    throw XtablesException.parameter("Unknown " + what + " code `" + s + "'");
                }
                hi = (int) c2;
            }
        } else if (pos[0] < s.length() && s.charAt(pos[0]) == ':') {
            throw XtablesException.parameter(what + " type range not supported");
        }
        if (pos[0] < s.length()) {
            throw XtablesException.parameter("unknown character " + s.charAt(pos[0]));
        }
        return new int[] {(int) type, lo, hi};
    }

    /** strtoul(s + pos, &end, 0) for the longest numeric prefix; -1 when no digits. Advances pos. */
    private static long strtoul(String s, int[] pos) {
        int i = pos[0];
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        int start = i;
        if (i < s.length() && s.charAt(i) == '+') {
            i++;
        }
        int j = i;
        while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)))) {
            j++;
        }
        // take the longest prefix strtoul would read
        for (int end = j; end > i; end--) {
            long v = Numbers.parseStrtoul(s.substring(i, end));
            if (v >= 0) {
                pos[0] = end;
                return v > 0xFFFFFFFFL ? Long.MAX_VALUE : v;
            }
        }
        pos[0] = start;
        return -1;
    }

    /** The -L text after the match name: " echo-request", " !type 3 code 1" joined as iptables prints it. */
    static void list(StringBuilder out, Name[] table, int type, int lo, int hi, boolean inverted, boolean numeric) {
        if (!numeric) {
            for (Name n : table) {
                if (n.type() == type && n.codeLo() == lo && n.codeHi() == hi && !unlistedInOldIptables(n)) {
                    out.append(' ').append(inverted ? "!" : "").append(n.name());
                    return;
                }
            }
        }
        if (inverted) {
            out.append(" !");
        }
        out.append("type ").append(type);
        if (lo == hi) {
            out.append(" code ").append(lo);
        } else if (lo != 0 || hi != 0xFF) {
            out.append(" codes ").append(lo).append('-').append(hi);
        }
    }

    /**
     * icmp_match / icmp6_match: never a non-first fragment; a header shorter than 8 bytes drops the
     * packet; else the type must be equal and the code in range (or, for IPv4, type 0xFF: any).
     */
    static boolean matches(org.jnetfilter.core.netfilter.PacketContext pkt, int type, int codeLo, int codeHi,
                           boolean inverted, boolean anyType) {
        if (pkt.fragmentOffset() != 0) {
            return false;
        }
        if (!pkt.transportAvailable(8)) {
            pkt.hotdrop(true);
            return false;
        }
        int t = pkt.transportU8(0);
        int c = pkt.transportU8(1);
        return (anyType || (t == type && c >= codeLo && c <= codeHi)) != inverted;
    }
}
