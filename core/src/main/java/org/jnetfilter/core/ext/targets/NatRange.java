package org.jnetfilter.core.ext.targets;

import org.jnetfilter.core.ext.Addresses;
import org.jnetfilter.core.ext.Services;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * A NAT mapping as {@code struct nf_nat_range2} holds it: an optional address range, an optional port
 * range with an optional base port for shifted maps, and the flags. Addresses are {hi, lo} as IpNet keeps
 * them (IPv4 in the low 32 bits of lo). Parsed and printed as libxt_NAT does for SNAT/DNAT, and the port
 * part alone for MASQUERADE and REDIRECT.
 */
record NatRange(boolean mapIps, long minHi, long minLo, long maxHi, long maxLo,
                boolean protoSpecified, int minPort, int maxPort, boolean offset, int basePort) {

    // Linux: NF_NAT_RANGE_* flags, include/uapi/linux/netfilter/nf_nat.h
    static final int RANDOM = 0x04;
    static final int PERSISTENT = 0x08;
    static final int RANDOM_FULLY = 0x10;

    /** What a target does with the base port of a shifted map ({@code a-b/base}). */
    enum Shift {
        /** REDIRECT's legacy revision has no room for it. */
        REFUSED,
        /** DNAT keeps it. */
        KEPT,
        /**
         * SNAT and MASQUERADE keep the flag but lose the port: iptables saves 5-6/7 as 5-6/0. iptables itself
         * then refuses its own /0; jnetfilter takes it back, since its state is kept as save text.
         */
        ZEROED
    }

    static final NatRange NONE = new NatRange(false, 0, 0, 0, 0, false, 0, 0, false, 0);

    /** The nf_nat_range2 flags this mapping carries besides {@code extra} (RANDOM, PERSISTENT, ...). */
    int natFlags(int extra) {
        return extra | (mapIps ? org.jnetfilter.core.nat.Nat.MAP_IPS : 0)
                | (protoSpecified ? org.jnetfilter.core.nat.Nat.PROTO_SPECIFIED : 0)
                | (offset ? org.jnetfilter.core.nat.Nat.PROTO_OFFSET : 0);
    }

    /** Whether the rule's protocol carries ports NAT can map (libxt_NAT's portok). */
    static boolean portsAllowed(IpSpec ip, Family family) {
        // iptables looks at the protocol number only, a negated -p counts too
        if (ip == null) {
            return false;
        }
        int p = ip.protocol();
        return p == Protocols.TCP || p == Protocols.UDP || p == Protocols.SCTP || p == Protocols.DCCP
                || (family == Family.IPV4 && p == Protocols.ICMP);
    }

    /** {@code --to-source}/{@code --to-destination}: addr[-addr][:port[-port[/base]]], IPv6 in brackets. */
    static NatRange parseTo(Family family, String arg, boolean portOk, Shift shift) {
        String addrPart;
        String portPart = null;
        int open = arg.indexOf('[');
        if (open >= 0 && family == Family.IPV4) {
            throw XtablesException.parameter("Invalid address format");
        }
        if (open >= 0) {
            int close = arg.indexOf(']', open + 1);
            if (close < 0) {
                throw XtablesException.parameter("Invalid address format");
            }
            addrPart = arg.substring(open + 1, close);
            int colon = arg.indexOf(':', close + 1);
            portPart = colon >= 0 ? arg.substring(colon + 1) : null;
        } else {
            // a second colon means an IPv6 address without brackets: no port part
            int colon = arg.indexOf(':');
            if (colon >= 0 && arg.indexOf(':', colon + 1) >= 0) {
                colon = -1;
            }
            addrPart = colon >= 0 ? arg.substring(0, colon) : arg;
            portPart = colon >= 0 ? arg.substring(colon + 1) : null;
        }
        NatRange ports = NONE;
        if (portPart != null) {
            ports = parsePorts(portPart, portOk, shift);
        }
        if (addrPart.isEmpty() && portPart != null) {
            return ports;
        }
        int dash = addrPart.indexOf('-');
        String first = dash >= 0 ? addrPart.substring(0, dash) : addrPart;
        long[] min = parseAddress(family, first);
        long[] max = dash >= 0 ? parseAddress(family, addrPart.substring(dash + 1)) : min;
        return new NatRange(true, min[0], min[1], max[0], max[1], ports.protoSpecified, ports.minPort,
                ports.maxPort, ports.offset, ports.basePort);
    }

    private static long[] parseAddress(Family family, String s) {
        if (family == Family.IPV4) {
            long v = Addresses.parseIpv4(s);
            if (v >= 0) {
                return new long[] {0, v};
            }
        } else {
            long[] v = Addresses.parseIpv6(s);
            if (v != null) {
                return v;
            }
        }
        throw XtablesException.parameter("Bad IP address \"" + s + "\"");
    }

    /** port[-port[/base]]; a service name is accepted for the first and the base port only. */
    static NatRange parsePorts(String arg, boolean portOk, Shift shift) {
        if (!portOk) {
            throw XtablesException.parameter("Need TCP, UDP, SCTP or DCCP with port specification");
        }
        int[] r = prefixNumber(arg, 0);
        int port;
        int end;
        if (r == null) {
            port = Services.port(arg, null);
            if (port < 0) {
                throw XtablesException.parameter("Port `" + arg + "' not valid");
            }
            end = arg.length();
        } else {
            port = r[0];
            end = r[1];
        }
        if (end == arg.length()) {
            return new NatRange(false, 0, 0, 0, 0, true, port, port, false, 0);
        }
        char c = arg.charAt(end);
        if (c == ':') {
            throw XtablesException.parameter("Invalid port:port syntax - use dash");
        }
        if (c != '-') {
            throw XtablesException.parameter("Garbage after port value: `" + arg.substring(end) + "'");
        }
        String rest = arg.substring(end + 1);
        int[] m = prefixNumber(rest, 0);
        if (m == null) {
            throw XtablesException.parameter("Port `" + rest + "' not valid");
        }
        if (m[0] < port) {
            throw XtablesException.parameter("Port range `" + rest + "' funky");
        }
        if (m[1] == rest.length()) {
            return new NatRange(false, 0, 0, 0, 0, true, port, m[0], false, 0);
        }
        if (rest.charAt(m[1]) != '/') {
            throw XtablesException.parameter("Garbage after port range: `" + rest.substring(m[1]) + "'");
        }
        if (shift == Shift.REFUSED) {
            throw XtablesException.parameter("Shifted portmap ranges not supported with this kernel");
        }
        String baseText = rest.substring(m[1] + 1);
        int[] b = prefixNumber(baseText, shift == Shift.ZEROED ? 0 : 1);
        int base;
        if (b == null || b[1] != baseText.length()) {
            base = Services.port(baseText, null);
            if (base < 0) {
                throw XtablesException.parameter("Port `" + baseText + "' not valid");
            }
        } else {
            base = b[0];
        }
        return new NatRange(false, 0, 0, 0, 0, true, port, m[0], true, shift == Shift.ZEROED ? 0 : base);
    }

    /**
     * xtables_strtoui with an end pointer: a leading number (strtoul base 0) in [min, 65535] and the index
     * after it; null when there is no number or it is out of range.
     */
    private static int[] prefixNumber(String s, int min) {
        int i = 0;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        if (i < s.length() && s.charAt(i) == '+') {
            i++;
        }
        int radix = 10;
        if (i + 1 < s.length() && s.charAt(i) == '0' && (s.charAt(i + 1) == 'x' || s.charAt(i + 1) == 'X')
                && i + 2 < s.length() && Character.digit(s.charAt(i + 2), 16) >= 0) {
            radix = 16;
            i += 2;
        } else if (i < s.length() && s.charAt(i) == '0') {
            radix = 8;
        }
        int start = i;
        long v = 0;
        while (i < s.length() && Character.digit(s.charAt(i), radix) >= 0) {
            v = Math.min(v * radix + Character.digit(s.charAt(i), radix), 1L << 40);
            i++;
        }
        if (i == start || v < min || v > 65535) {
            return null;
        }
        return new int[] {(int) v, i};
    }

    private static String address(Family family, long hi, long lo) {
        return family == Family.IPV4 ? AddressText.ipv4((int) lo) : AddressText.ipv6(hi, lo);
    }

    /** libxt_NAT's sprint_range: addresses, then :ports, IPv6 in brackets when ports follow. */
    String text(Family family) {
        StringBuilder sb = new StringBuilder();
        boolean brackets = family == Family.IPV6 && protoSpecified;
        if (mapIps) {
            if (brackets) {
                sb.append('[');
            }
            sb.append(address(family, minHi, minLo));
            if (minHi != maxHi || minLo != maxLo) {
                sb.append('-').append(address(family, maxHi, maxLo));
            }
            if (brackets) {
                sb.append(']');
            }
        }
        if (protoSpecified) {
            sb.append(':');
            sb.append(portsText());
        }
        return sb.toString();
    }

    /** The port range alone: min[-max][/base]. */
    String portsText() {
        StringBuilder sb = new StringBuilder().append(minPort);
        if (maxPort != minPort) {
            sb.append('-').append(maxPort);
        }
        if (offset) {
            sb.append('/').append(basePort);
        }
        return sb.toString();
    }
}
