package org.jnetfilter.core.ext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;

/**
 * Addresses and masks as xtables parses them (xtables_ipparse_multiple, xtables_ip6parse_multiple):
 * comma-separated lists, {@code addr[/mask]} with a prefix length or a mask in address form, and host
 * names from /etc/hosts (jnetfilter does no DNS: rulesets must not depend on the network).
 */
public final class Addresses {
    private Addresses() {
    }

    /** Parses a comma-separated list; each element may expand to several addresses (a host name). */
    public static List<IpNet> parseMultiple(Family family, String spec) {
        List<IpNet> out = new ArrayList<>();
        for (String part : spec.split(",", -1)) {
            out.addAll(parseOne(family, part));
        }
        return out;
    }

    /**
     * The network {@code text} names when it is the plain form iptables-save writes, four decimal parts and an
     * optional prefix length ("10.96.0.1", "10.244.0.0/16"), as {@link #parseMultiple} reads it (that one net);
     * null for any other text (lists, masks, names, short forms, octal or padded lengths), which parseMultiple
     * reads. Allocates only the result: a restore reads one or two addresses on most of its rules.
     */
    public static IpNet plainIpv4Net(String text) {
        int n = text.length();
        long v = 0;
        int i = 0;
        for (int part = 0; part < 4; part++) {
            if (part > 0) {
                if (i >= n || text.charAt(i) != '.') {
                    return null;
                }
                i++;
            }
            int start = i;
            int octet = 0;
            while (i < n && i - start < 3 && text.charAt(i) >= '0' && text.charAt(i) <= '9') {
                octet = octet * 10 + (text.charAt(i++) - '0');
            }
            if (i == start || octet > 255) {
                return null;
            }
            v = v << 8 | octet;
        }
        int bits = 32;
        if (i < n) {
            // strtoul with base 0 reads a leading 0 as octal: only "0" or a length without one is plain here
            if (text.charAt(i) != '/' || n - i < 2 || n - i > 3 || n - i == 3 && text.charAt(i + 1) == '0') {
                return null;
            }
            bits = 0;
            for (int k = i + 1; k < n; k++) {
                char c = text.charAt(k);
                if (c < '0' || c > '9') {
                    return null;
                }
                bits = bits * 10 + (c - '0');
            }
            if (bits > 32) {
                return null;
            }
        }
        long mask = bits == 0 ? 0 : (0xFFFFFFFFL << (32 - bits)) & 0xFFFFFFFFL;
        return IpNet.of(Family.IPV4, 0, v, 0, mask);
    }

    public static List<IpNet> parseOne(Family family, String part) {
        int slash = part.indexOf('/');
        String addr = slash >= 0 ? part.substring(0, slash) : part;
        String maskText = slash >= 0 ? part.substring(slash + 1) : null;
        long[] mask = family == Family.IPV4 ? parseMask4(maskText) : parseMask6(maskText);
        List<long[]> hosts = resolve(family, addr);
        List<IpNet> out = new ArrayList<>();
        for (long[] h : hosts) {
            IpNet net = IpNet.of(family, h[0], h[1], mask[0], mask[1]);
            if (!out.contains(net)) {
                out.add(net);
            }
        }
        return out;
    }

    private static long[] parseMask4(String m) {
        if (m == null) {
            return new long[] {0, 0xFFFFFFFFL};
        }
        if (m.indexOf('.') >= 0) {
            long v = parseIpv4(m);
            if (v < 0) {
                throw XtablesException.parameter("invalid mask `" + m + "' specified");
            }
            return new long[] {0, v};
        }
        long bits = Numbers.parseUnsigned(m, 0, 32);
        if (bits < 0) {
            throw XtablesException.parameter("invalid mask `" + m + "' specified");
        }
        return new long[] {0, bits == 0 ? 0 : (0xFFFFFFFFL << (32 - bits)) & 0xFFFFFFFFL};
    }

    private static long[] parseMask6(String m) {
        if (m == null) {
            return new long[] {-1L, -1L};
        }
        if (m.indexOf(':') >= 0) {
            long[] v = parseIpv6(m);
            if (v == null) {
                throw XtablesException.parameter("host/network `" + m + "' not found");
            }
            return v;
        }
        long bits = Numbers.parseUnsigned(m, 0, 128);
        if (bits < 0) {
            throw XtablesException.parameter("invalid mask `" + m + "' specified");
        }
        return prefixMask6((int) bits);
    }

    public static long[] prefixMask6(int bits) {
        long hi = bits == 0 ? 0 : bits >= 64 ? -1L : -1L << (64 - bits);
        long lo = bits <= 64 ? 0 : bits == 128 ? -1L : -1L << (128 - bits);
        return new long[] {hi, lo};
    }

    private static List<long[]> resolve(Family family, String addr) {
        if (family == Family.IPV4) {
            long v = parseIpv4(addr);
            if (v >= 0) {
                return List.of(new long[] {0, v});
            }
        } else {
            long[] v = parseIpv6(addr);
            if (v != null) {
                return List.of(v);
            }
        }
        List<long[]> hosts = hostsFileLookup(family, addr);
        if (hosts.isEmpty()) {
            throw XtablesException.parameter("host/network `" + addr + "' not found");
        }
        return hosts;
    }

    /**
     * xtables_numeric_to_ipaddr: one to four dot-separated decimal numbers 0-255 (missing trailing parts are
     * zero: "1.2.3" is 1.2.3.0); -1 when not that form.
     */
    public static long parseIpv4(String s) {
        if (s.isEmpty()) {
            return -1;
        }
        // the usual text, ASCII digits and dots, read in one pass without splitting
        long v = 0;
        long part = 0;
        int digits = 0;
        int parts = 1;
        boolean ascii = true;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '.') {
                if (digits == 0 || part > 255 || ++parts > 4) {
                    return -1;
                }
                v = (v << 8) | part;
                part = 0;
                digits = 0;
            } else if (c >= '0' && c <= '9') {
                if (++digits > 3) {
                    return -1;
                }
                part = part * 10 + (c - '0');
            } else {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            if (digits == 0 || part > 255) {
                return -1;
            }
            v = (v << 8) | part;
            return v << (8 * (4 - parts));
        }
        return parseIpv4Split(s);
    }

    /** The general form: parts that Character.isDigit accepts (other scripts' digits too, as before). */
    static long parseIpv4Split(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length > 4) {
            return -1;
        }
        long v = 0;
        for (int i = 0; i < 4; i++) {
            long b = 0;
            if (i < parts.length) {
                String p = parts[i];
                if (p.isEmpty() || p.length() > 3) {
                    return -1;
                }
                for (int k = 0; k < p.length(); k++) {
                    if (!Character.isDigit(p.charAt(k))) {
                        return -1;
                    }
                }
                b = Long.parseLong(p);
                if (b > 255) {
                    return -1;
                }
            }
            v = (v << 8) | b;
        }
        return v;
    }

    /** inet_pton(AF_INET6): {hi, lo}, or null when not an IPv6 address. */
    public static long[] parseIpv6(String s) {
        if (s.isEmpty() || s.indexOf(':') < 0) {
            return null;
        }
        int[] groups = new int[8];
        int dbl = s.indexOf("::");
        if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) {
            return null;
        }
        List<Integer> head = new ArrayList<>();
        List<Integer> tail = new ArrayList<>();
        if (dbl >= 0) {
            if (!parseGroups(s.substring(0, dbl), head, false) || !parseGroups(s.substring(dbl + 2), tail, true)) {
                return null;
            }
            if (head.size() + tail.size() > 7) {
                return null;
            }
        } else {
            if (!parseGroups(s, head, true) || head.size() != 8) {
                return null;
            }
        }
        for (int i = 0; i < head.size(); i++) {
            groups[i] = head.get(i);
        }
        for (int i = 0; i < tail.size(); i++) {
            groups[8 - tail.size() + i] = tail.get(i);
        }
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < 4; i++) {
            hi = (hi << 16) | groups[i];
            lo = (lo << 16) | groups[i + 4];
        }
        return new long[] {hi, lo};
    }

    private static boolean parseGroups(String s, List<Integer> out, boolean allowV4Tail) {
        if (s.isEmpty()) {
            return true;
        }
        String[] parts = s.split(":", -1);
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            if (i == parts.length - 1 && allowV4Tail && p.indexOf('.') >= 0) {
                String[] q = p.split("\\.", -1);
                if (q.length != 4) {
                    return false;
                }
                int[] b = new int[4];
                for (int k = 0; k < 4; k++) {
                    if (q[k].isEmpty() || q[k].length() > 3 || !q[k].chars().allMatch(Character::isDigit)) {
                        return false;
                    }
                    b[k] = Integer.parseInt(q[k]);
                    if (b[k] > 255) {
                        return false;
                    }
                }
                out.add((b[0] << 8) | b[1]);
                out.add((b[2] << 8) | b[3]);
                continue;
            }
            if (p.isEmpty() || p.length() > 4) {
                return false;
            }
            int v = 0;
            for (int k = 0; k < p.length(); k++) {
                int d = Character.digit(p.charAt(k), 16);
                if (d < 0) {
                    return false;
                }
                v = v * 16 + d;
            }
            out.add(v);
        }
        return true;
    }

    private static List<long[]> hostsFileLookup(Family family, String name) {
        List<long[]> out = new ArrayList<>();
        Path hosts = Path.of("/etc/hosts");
        if (!Files.isReadable(hosts)) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(hosts)) {
                int hash = line.indexOf('#');
                String body = (hash >= 0 ? line.substring(0, hash) : line).trim();
                if (body.isEmpty()) {
                    continue;
                }
                String[] f = body.split("\\s+");
                boolean named = false;
                for (int i = 1; i < f.length; i++) {
                    named |= f[i].equals(name);
                }
                if (!named) {
                    continue;
                }
                if (family == Family.IPV4) {
                    long v = f[0].indexOf(':') < 0 ? parseIpv4(f[0]) : -1;
                    if (v >= 0 && f[0].split("\\.").length == 4) {
                        out.add(new long[] {0, v});
                    }
                } else {
                    long[] v = parseIpv6(f[0]);
                    if (v != null) {
                        out.add(v);
                    }
                }
            }
        } catch (IOException e) {
            return out;
        }
        return out;
    }
}
