package org.jnetfilter.core.ipset;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.jnetfilter.core.ext.Addresses;
import org.jnetfilter.core.ext.Services;
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Protocols;

/**
 * Element text as the ipset program parses and prints it (libipset parse.c / print.c): addresses with
 * {@code /cidr} or {@code from-to} ranges (expanded for the IP types, split into networks for the net types,
 * as ipset's kernel side does), {@code [proto:]port[-port]} with ICMP type names, interfaces with an optional
 * {@code physdev:} prefix, set names for list:set.
 */
final class ElementSyntax {
    // ipset: the ICMP and ICMPv6 type/code names of lib/icmp.c and lib/icmpv6.c
    private static final Object[][] ICMP = {
        {"echo-reply", 0, 0}, {"pong", 0, 0}, {"network-unreachable", 3, 0}, {"host-unreachable", 3, 1},
        {"protocol-unreachable", 3, 2}, {"port-unreachable", 3, 3}, {"fragmentation-needed", 3, 4},
        {"source-route-failed", 3, 5}, {"network-unknown", 3, 6}, {"host-unknown", 3, 7},
        {"network-prohibited", 3, 9}, {"host-prohibited", 3, 10}, {"TOS-network-unreachable", 3, 11},
        {"TOS-host-unreachable", 3, 12}, {"communication-prohibited", 3, 13}, {"host-precedence-violation", 3, 14},
        {"precedence-cutoff", 3, 15}, {"source-quench", 4, 0}, {"network-redirect", 5, 0}, {"host-redirect", 5, 1},
        {"TOS-network-redirect", 5, 2}, {"TOS-host-redirect", 5, 3}, {"echo-request", 8, 0}, {"ping", 8, 0},
        {"router-advertisement", 9, 0}, {"router-solicitation", 10, 0}, {"ttl-zero-during-transit", 11, 0},
        {"ttl-zero-during-reassembly", 11, 1}, {"ip-header-bad", 12, 0}, {"required-option-missing", 12, 1},
        {"timestamp-request", 13, 0}, {"timestamp-reply", 14, 0}, {"address-mask-request", 17, 0},
        {"address-mask-reply", 18, 0},
    };
    private static final Object[][] ICMPV6 = {
        {"no-route", 1, 0}, {"communication-prohibited", 1, 1}, {"address-unreachable", 1, 3},
        {"port-unreachable", 1, 4}, {"packet-too-big", 2, 0}, {"ttl-zero-during-transit", 3, 0},
        {"ttl-zero-during-reassembly", 3, 1}, {"bad-header", 4, 0}, {"unknown-header-type", 4, 1},
        {"unknown-option", 4, 2}, {"echo-request", 128, 0}, {"ping", 128, 0}, {"echo-reply", 129, 0},
        {"pong", 129, 0}, {"router-solicitation", 133, 0}, {"router-advertisement", 134, 0},
        {"neighbour-solicitation", 135, 0}, {"neigbour-solicitation", 135, 0}, {"neighbour-advertisement", 136, 0},
        {"neigbour-advertisement", 136, 0}, {"redirect", 137, 0},
    };
    // Linux: IFNAMSIZ - 1
    private static final int MAX_IFACE = 15;
    // a guard against ranges the kernel would fill a set with until it is full
    private static final long MAX_EXPANSION = 1 << 20;

    private ElementSyntax() {
    }

    /** The elements {@code text} stands for in {@code set}; ranges give several. */
    static List<Element> parse(IpSet set, String text) {
        SetType type = set.type();
        Family family = set.options().family();
        List<Element> out = new ArrayList<>();
        switch (type) {
            case LIST_SET -> {
                Element e = new Element();
                e.name = text;
                out.add(e);
            }
            case BITMAP_PORT -> {
                int colon = text.indexOf(':');
                String proto = colon < 0 ? "tcp" : text.substring(0, colon);
                int[] r = portRange(colon < 0 ? text : text.substring(colon + 1), proto, text);
                for (int p = r[0]; p <= r[1]; p++) {
                    Element e = new Element();
                    e.port = p;
                    out.add(e);
                }
            }
            case HASH_IP -> {
                for (long[] a : ipsOf(family, text, set.options().netmask(), type)) {
                    Element e = new Element();
                    e.hi = a[0];
                    e.lo = a[1];
                    e.cidr = (int) a[2];
                    out.add(e);
                }
            }
            case HASH_NET -> {
                for (long[] a : netsOf(family, text)) {
                    Element e = new Element();
                    e.hi = a[0];
                    e.lo = a[1];
                    e.cidr = (int) a[2];
                    out.add(e);
                }
            }
            case HASH_NET_IFACE -> {
                String[] parts = split(text, 2, type);
                String iface = parts[1];
                String name = iface.startsWith("physdev:") ? iface.substring("physdev:".length()) : iface;
                if (name.length() > MAX_IFACE) {
                    throw IpsetException.syntax("interface name '" + name + "' is longer than " + MAX_IFACE
                            + " characters");
                }
                for (long[] a : netsOf(family, parts[0])) {
                    Element e = new Element();
                    e.hi = a[0];
                    e.lo = a[1];
                    e.cidr = (int) a[2];
                    e.iface = iface;
                    out.add(e);
                }
            }
            case HASH_IP_PORT, HASH_NET_PORT, HASH_IP_PORT_IP -> {
                String[] parts = split(text, type == SetType.HASH_IP_PORT_IP ? 3 : 2, type);
                List<long[]> firsts = type == SetType.HASH_NET_PORT ? netsOf(family, parts[0])
                        : ipsOf(family, parts[0], family.addressBits(), type);
                int[] protoPorts = protoPorts(family, parts[1]);
                List<long[]> thirds = type == SetType.HASH_IP_PORT_IP
                        ? ipsOf(family, parts[2], family.addressBits(), type) : List.of(new long[3]);
                long n = (long) firsts.size() * (protoPorts[2] - protoPorts[1] + 1) * thirds.size();
                if (n > MAX_EXPANSION) {
                    throw IpsetException.error("Hash is full, cannot add more elements");
                }
                for (long[] a : firsts) {
                    for (int p = protoPorts[1]; p <= protoPorts[2]; p++) {
                        for (long[] c : thirds) {
                            Element e = new Element();
                            e.hi = a[0];
                            e.lo = a[1];
                            e.cidr = (int) a[2];
                            e.proto = protoPorts[0];
                            e.port = p;
                            e.hi2 = c[0];
                            e.lo2 = c[1];
                            e.cidr2 = type == SetType.HASH_IP_PORT_IP ? family.addressBits() : 0;
                            out.add(e);
                        }
                    }
                }
            }
            default -> throw new IllegalStateException(type.text());
        }
        return out;
    }

    private static String[] split(String text, int n, SetType type) {
        String[] parts = text.split(",", -1);
        if (parts.length < n) {
            String ordinal = parts.length == 1 ? "Second" : "Third";
            throw IpsetException.syntax(ordinal + " element is missing from " + text + ".");
        }
        if (parts.length > n) {
            throw IpsetException.syntax("Elem separator in " + text + ", but settype " + type.text()
                    + " supports none.");
        }
        return parts;
    }

    /** Single addresses: a plain address, {@code a/cidr} or {@code a-b} (IPv4 only), masked to {@code mask} bits. */
    private static List<long[]> ipsOf(Family family, String text, int mask, SetType type) {
        List<long[]> out = new ArrayList<>();
        int slash = text.indexOf('/');
        int dash = text.indexOf('-');
        if (family == Family.IPV6) {
            if (slash >= 0 || dash >= 0) {
                throw IpsetException.syntax("plain IP address must be supplied: " + text);
            }
            long[] a = ipv6(text);
            long[] m = Addresses.prefixMask6(mask);
            out.add(new long[] {a[0] & m[0], a[1] & m[1], mask});
            return out;
        }
        long from;
        long to;
        if (slash >= 0) {
            long a = ipv4(text.substring(0, slash));
            int cidr = cidr(text.substring(slash + 1), 32, text);
            long m = cidrMask4(cidr);
            from = a & m;
            to = from | (~m & 0xFFFFFFFFL);
        } else if (dash >= 0) {
            from = ipv4(text.substring(0, dash));
            to = ipv4(text.substring(dash + 1));
            if (from > to) {
                long t = from;
                from = to;
                to = t;
            }
        } else {
            from = ipv4(text);
            to = from;
        }
        long m = cidrMask4(mask);
        long step = 1L << (32 - mask);
        if ((to - from) / step + 1 > MAX_EXPANSION) {
            throw IpsetException.error("Hash is full, cannot add more elements");
        }
        for (long a = from & m; a <= to; a += step) {
            out.add(new long[] {0, a, mask});
        }
        return out;
    }

    /** Networks: {@code a[/cidr]} or an IPv4 {@code a-b} range split into the fewest networks covering it. */
    private static List<long[]> netsOf(Family family, String text) {
        List<long[]> out = new ArrayList<>();
        int slash = text.indexOf('/');
        int dash = text.indexOf('-');
        if (family == Family.IPV6) {
            if (dash >= 0) {
                throw IpsetException.syntax("IPv6 range is not supported: " + text);
            }
            long[] a = ipv6(slash >= 0 ? text.substring(0, slash) : text);
            int cidr = slash >= 0 ? cidr(text.substring(slash + 1), 128, text) : 128;
            long[] m = Addresses.prefixMask6(cidr);
            out.add(new long[] {a[0] & m[0], a[1] & m[1], cidr});
            return out;
        }
        if (dash >= 0 && slash < 0) {
            long from = ipv4(text.substring(0, dash));
            long to = ipv4(text.substring(dash + 1));
            if (from > to) {
                throw IpsetException.error("Range is invalid: the first element is larger than the second one");
            }
            // Linux: ip_set_range_to_cidr: the largest aligned network starting at from that ends by to
            long a = from;
            while (a <= to) {
                int cidr = 32;
                while (cidr > 1) {
                    long size = 1L << (32 - (cidr - 1));
                    if ((a & (size - 1)) != 0 || a + size - 1 > to) {
                        break;
                    }
                    cidr--;
                }
                out.add(new long[] {0, a, cidr});
                a += 1L << (32 - cidr);
                if (out.size() > MAX_EXPANSION) {
                    throw IpsetException.error("Hash is full, cannot add more elements");
                }
            }
            return out;
        }
        long a = ipv4(slash >= 0 ? text.substring(0, slash) : text);
        int cidr = slash >= 0 ? cidr(text.substring(slash + 1), 32, text) : 32;
        out.add(new long[] {0, a & cidrMask4(cidr), cidr});
        return out;
    }

    static long cidrMask4(int cidr) {
        return cidr == 0 ? 0 : (0xFFFFFFFFL << (32 - cidr)) & 0xFFFFFFFFL;
    }

    private static int cidr(String s, int max, String text) {
        if (s.isEmpty() || !s.chars().allMatch(Character::isDigit) || s.length() > 9) {
            throw IpsetException.syntax("'" + s + "' is invalid as number");
        }
        if (Integer.parseInt(s) > max) {
            throw IpsetException.syntax("'" + s + "' is out of range 0-" + max);
        }
        return Integer.parseInt(s);
    }

    static long ipv4(String s) {
        long v = Addresses.parseIpv4(s);
        if (v < 0 || s.chars().filter(c -> c == '.').count() != 3) {
            throw IpsetException.syntax("cannot parse " + s + ": resolving to IPv4 address failed");
        }
        return v;
    }

    static long[] ipv6(String s) {
        long[] v = Addresses.parseIpv6(s);
        if (v == null) {
            throw IpsetException.syntax("cannot parse " + s + ": resolving to IPv6 address failed");
        }
        return v;
    }

    /** {@code [proto:]port[-port]}: {proto, from, to}; ICMP types as {@code type<<8|code}. */
    private static int[] protoPorts(Family family, String text) {
        int colon = text.indexOf(':');
        int proto = Protocols.TCP;
        String ports = text;
        String protoText = "tcp";
        if (colon >= 0) {
            protoText = text.substring(0, colon);
            ports = text.substring(colon + 1);
            if (protoText.equals("icmpv6")) {
                proto = Protocols.ICMPV6;
            } else {
                OptionalInt p = Protocols.parse(protoText);
                if (p.isEmpty()) {
                    throw IpsetException.syntax("cannot parse '" + protoText + "' as a protocol");
                }
                proto = p.getAsInt();
            }
        }
        if (proto == Protocols.ICMP || proto == Protocols.ICMPV6) {
            if ((proto == Protocols.ICMP) != (family == Family.IPV4)) {
                throw IpsetException.syntax("Protocol ICMP" + (proto == Protocols.ICMP ? "" : "v6")
                        + " can be used with family " + (proto == Protocols.ICMP ? "INET" : "INET6") + " only");
            }
            int tc = icmp(proto == Protocols.ICMP ? ICMP : ICMPV6, ports, proto == Protocols.ICMP ? "ICMP" : "ICMPv6");
            return new int[] {proto, tc, tc};
        }
        if (proto == Protocols.TCP || proto == Protocols.UDP || proto == Protocols.SCTP || proto == Protocols.UDPLITE
                || proto == Protocols.DCCP) {
            int[] r = portRange(ports, Protocols.name(proto), text);
            return new int[] {proto, r[0], r[1]};
        }
        if (!ports.equals("0")) {
            throw IpsetException.syntax("Protocol " + protoText + " can be used with pseudo port value 0 only.");
        }
        return new int[] {proto, 0, 0};
    }

    private static int icmp(Object[][] table, String s, String what) {
        int slash = s.indexOf('/');
        if (slash >= 0) {
            try {
                int t = Integer.parseInt(s.substring(0, slash));
                int c = Integer.parseInt(s.substring(slash + 1));
                if (t >= 0 && t <= 255 && c >= 0 && c <= 255) {
                    return t << 8 | c;
                }
            } catch (NumberFormatException e) {
                // falls through to the message
            }
            throw IpsetException.syntax("cannot parse " + s + " as an " + what + " type/code");
        }
        for (Object[] row : table) {
            String n = (String) row[0];
            if (!s.isEmpty() && n.regionMatches(true, 0, s, 0, s.length())) {
                return (Integer) row[1] << 8 | (Integer) row[2];
            }
        }
        throw IpsetException.syntax("cannot parse " + s + " as an " + what + " name");
    }

    private static int[] portRange(String s, String proto, String text) {
        int dash = s.indexOf('-');
        if (dash > 0) {
            int a = port(s.substring(0, dash), proto);
            int b = port(s.substring(dash + 1), proto);
            return a <= b ? new int[] {a, b} : new int[] {b, a};
        }
        int p = port(s, proto);
        return new int[] {p, p};
    }

    private static int port(String s, String proto) {
        if (!s.isEmpty() && s.chars().allMatch(Character::isDigit)) {
            if (s.length() <= 5 && Integer.parseInt(s) <= 65535) {
                return Integer.parseInt(s);
            }
            // ipset: a number out of range, then the service lookup failing too, each reported
            throw IpsetException.syntax("'" + s + "' is out of range 0-65535\nSyntax error: '" + proto
                    + "' is invalid as number\ncannot parse '" + s + "' as a " + proto + " port");
        }
        int p = Services.port(s, proto);
        if (p < 0) {
            throw IpsetException.syntax("cannot parse '" + s + "' as a " + proto + " port");
        }
        return p;
    }

    /** The element as {@code ipset list} and {@code save} print it. */
    static void print(StringBuilder out, IpSet set, Element e) {
        SetType type = set.type();
        Family family = set.options().family();
        switch (type) {
            case LIST_SET -> out.append(e.name);
            case BITMAP_PORT -> out.append(e.port);
            case HASH_IP -> address(out, family, e.hi, e.lo);
            case HASH_NET -> net(out, family, e.hi, e.lo, e.cidr);
            case HASH_NET_IFACE -> {
                net(out, family, e.hi, e.lo, e.cidr);
                out.append(',').append(e.iface);
            }
            case HASH_IP_PORT, HASH_NET_PORT, HASH_IP_PORT_IP -> {
                if (type == SetType.HASH_NET_PORT) {
                    net(out, family, e.hi, e.lo, e.cidr);
                } else {
                    address(out, family, e.hi, e.lo);
                }
                out.append(',');
                protoPort(out, e.proto, e.port);
                if (type == SetType.HASH_IP_PORT_IP) {
                    out.append(',');
                    address(out, family, e.hi2, e.lo2);
                }
            }
            default -> throw new IllegalStateException(type.text());
        }
    }

    private static void protoPort(StringBuilder out, int proto, int port) {
        if (proto == Protocols.ICMP || proto == Protocols.ICMPV6) {
            out.append(proto == Protocols.ICMP ? "icmp:" : "icmpv6:");
            String name = null;
            for (Object[] row : proto == Protocols.ICMP ? ICMP : ICMPV6) {
                if ((Integer) row[1] == port >> 8 && (Integer) row[2] == (port & 0xFF)) {
                    name = (String) row[0];
                    break;
                }
            }
            out.append(name != null ? name : (port >> 8) + "/" + (port & 0xFF));
            return;
        }
        String n = Protocols.name(proto);
        out.append(n != null && proto != 0 ? n : Integer.toString(proto)).append(':').append(port);
    }

    private static void net(StringBuilder out, Family family, long hi, long lo, int cidr) {
        address(out, family, hi, lo);
        if (cidr != family.addressBits()) {
            out.append('/').append(cidr);
        }
    }

    static void address(StringBuilder out, Family family, long hi, long lo) {
        out.append(family == Family.IPV4 ? AddressText.ipv4((int) lo) : AddressText.ipv6(hi, lo));
    }
}
