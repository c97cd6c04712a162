package org.jnetfilter.core.ext.matches;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.ext.Addresses;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.Services;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;

/**
 * Value syntaxes shared by the connection-tracking matches (conntrack, state, mark, connmark, connbytes,
 * ipvs, ...), parsed as libxtables' option types parse them (xtoptions.c): mark/mask, unsigned ranges,
 * port ranges, address/mask; plus the state and status names of the conntrack family of matches.
 */
final class ConntrackValues {
    private ConntrackValues() {
    }

    // Linux: XT_STATE_BIT(ctinfo) = 1 << (ctinfo % IP_CT_IS_REPLY + 1); IP_CT_NUMBER = 5
    static final int STATE_INVALID = 1;
    static final int STATE_ESTABLISHED = 1 << 1;
    static final int STATE_RELATED = 1 << 2;
    static final int STATE_NEW = 1 << 3;
    /** XT_STATE_UNTRACKED (xt_state.h) = 1 << (IP_CT_NUMBER + 1). */
    static final int STATE_UNTRACKED_STATE_MATCH = 1 << 6;
    /** XT_CONNTRACK_STATE_SNAT, _DNAT, _UNTRACKED (xt_conntrack.h). */
    static final int CT_STATE_SNAT = 1 << 6;
    static final int CT_STATE_DNAT = 1 << 7;
    static final int CT_STATE_UNTRACKED = 1 << 8;

    // Linux: enum ip_conntrack_status, the bits conntrack's --ctstatus knows
    static final int STATUS_EXPECTED = 1;
    static final int STATUS_SEEN_REPLY = 1 << 1;
    static final int STATUS_ASSURED = 1 << 2;
    static final int STATUS_CONFIRMED = 1 << 3;

    static final long U32 = 0xFFFFFFFFL;

    /** xtopt_parse_markmask: {@code value[/mask]}; see {@link org.jnetfilter.core.ext.MarkMask#markMask}. */
    static long[] markMask(String ext, String opt, String arg) {
        return org.jnetfilter.core.ext.MarkMask.markMask(ext, opt, arg);
    }

    /** See {@link org.jnetfilter.core.ext.MarkMask#strtoul32}. */
    static long[] strtoul32(String s, int from) {
        return org.jnetfilter.core.ext.MarkMask.strtoul32(s, from);
    }

    /**
     * xtopt_parse_mint for a two-element range type (UINT32RC, UINT64RC) as 1.8.11 does it: empty parts
     * take the type's bounds, the second value may not be below the first. {@code max} is unsigned
     * (-1 for UINT64). Messages quote the rest of the argument from where parsing stopped, as the C code does.
     * @return {from, to}; to == from when one value was given
     */
    static long[] uintRange(String ext, String opt, String arg, long max) {
        long[] out = new long[2];
        int count = 0;
        long min = 0;
        int pos = 0;
        while (true) {
            if (count == 2) {
                throw XtablesException.parameter(ext + ": Too many components for option \"--" + opt
                        + "\" (max: 2)\n");
            }
            String rest = arg.substring(pos);
            int end;
            long value;
            if (rest.isEmpty() || rest.charAt(0) == ':') {
                end = pos;
                value = count == 1 ? max : 0;
            } else {
                int len = numberEnd(rest);
                BigInteger v = len == 0 ? null : new BigInteger(digits(rest.substring(0, len)),
                        radix(rest.substring(0, len)));
                if (v == null || v.compareTo(unsigned(max)) > 0 || v.compareTo(unsigned(min)) < 0) {
                    throw XtablesException.parameter(ext + ": bad value for option \"--" + opt + "\" near \"" + rest
                            + "\", or out of range (" + Long.toUnsignedString(min) + "-"
                            + Long.toUnsignedString(max) + ").\n");
                }
                value = v.longValue();
                end = pos + len;
                if (end < arg.length() && arg.charAt(end) != ':') {
                    throw XtablesException.parameter(ext + ": Argument to \"--" + opt
                            + "\" has unexpected characters near \"" + arg.substring(end) + "\".\n");
                }
                min = value;
            }
            out[count++] = value;
            if (end >= arg.length()) {
                break;
            }
            pos = end + 1;
        }
        if (count == 1) {
            out[1] = out[0];
        }
        return out;
    }

    private static BigInteger unsigned(long v) {
        return new BigInteger(Long.toUnsignedString(v));
    }

    private static int radix(String num) {
        return num.startsWith("0x") || num.startsWith("0X") ? 16 : num.length() > 1 && num.startsWith("0") ? 8 : 10;
    }

    private static String digits(String num) {
        return radix(num) == 16 ? num.substring(2) : num;
    }

    /** Where strtoul would stop reading a number (base 0). */
    private static int numberEnd(String s) {
        int i = 0;
        int radix = 10;
        if (s.startsWith("0x") || s.startsWith("0X")) {
            if (s.length() > 2 && Character.digit(s.charAt(2), 16) >= 0) {
                radix = 16;
                i = 2;
            } else {
                return 1;
            }
        } else if (s.startsWith("0")) {
            radix = 8;
        }
        while (i < s.length() && Character.digit(s.charAt(i), radix) >= 0) {
            i++;
        }
        return i;
    }

    /**
     * xtopt_parse_mport (PORTRC): {@code port[:port]}, a number (taken modulo 2^16, as the C code
     * truncates it) or a service name; empty parts are 0 and 65535. 1.8.11 refuses a descending range.
     * @return {from, to}
     */
    static int[] portRange(String ext, String opt, String arg) {
        String[] parts = arg.split(":", -1);
        if (parts.length > 2) {
            throw XtablesException.parameter(ext + ": Too many components for option \"--" + opt
                    + "\" (max: 2)\n");
        }
        int[] out = new int[2];
        int prev = 0;
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            int value;
            if (p.isEmpty()) {
                value = i == 1 ? 0xFFFF : 0;
            } else {
                if (isDecimal(p)) {
                    value = decimalPort(p);
                } else {
                    int s = Services.port(p, null);
                    if (s < 0) {
                        throw XtablesException.parameter("Port \"" + p + "\" does not resolve to anything.\n");
                    }
                    value = s;
                }
            }
            if (value < prev) {
                throw XtablesException.parameter("Port range " + prev + "-" + value + " is negative.\n");
            }
            prev = value;
            out[i] = value;
        }
        if (parts.length == 1) {
            out[1] = out[0];
        }
        return out;
    }

    /** xtopt_parse_port: one port, a number (taken modulo 2^16) or a service name. */
    static int port(String arg) {
        if (isDecimal(arg)) {
            return decimalPort(arg);
        }
        int s = Services.port(arg, null);
        if (s < 0) {
            throw XtablesException.parameter("Port \"" + arg + "\" does not resolve to anything.\n");
        }
        return s;
    }

    private static boolean isDecimal(String s) {
        return !s.isEmpty() && s.chars().allMatch(ch -> ch >= '0' && ch <= '9');
    }

    /** A decimal port number as xtables reads it into 16 bits: larger numbers wrap. */
    private static int decimalPort(String s) {
        return new BigInteger(s).mod(BigInteger.valueOf(0x10000)).intValue();
    }

    /** {@code from[:to]} as the conntrack family saves ranges. */
    static String range(long from, long to) {
        return from == to ? Long.toUnsignedString(from) : Long.toUnsignedString(from) + ":" + Long.toUnsignedString(to);
    }

    /**
     * xtopt_parse_hostmask: one host (no list) and an optional prefix length or mask; the address is kept
     * unmasked. A mask that is no prefix becomes a host mask, as the C code's prefix length -1 does.
     */
    static IpNet hostMask(String ext, String opt, Family family, String arg) {
        int slash = arg.indexOf('/');
        String host = slash >= 0 ? arg.substring(0, slash) : arg;
        int prefix = slash >= 0 ? prefixLength(ext, opt, family, arg.substring(slash + 1)) : family.addressBits();
        long[] addr = resolve(family, host);
        long[] mask = family == Family.IPV4
                ? new long[] {0, prefix == 0 ? 0 : (U32 << (32 - prefix)) & U32}
                : Addresses.prefixMask6(prefix);
        return new IpNet(family, addr[0], addr[1], mask[0], mask[1]);
    }

    /**
     * xtopt_parse_plenmask: a prefix length, or a mask in address form; a mask that is no prefix (or a
     * number the address parser reads as one, such as 33.0.0.0) means a host mask.
     */
    static int prefixLength(String ext, String opt, Family family, String m) {
        int bits = family.addressBits();
        long n = Numbers.parseUnsigned(m, 0, bits);
        if (n >= 0) {
            return (int) n;
        }
        if (family == Family.IPV4) {
            long mask = Addresses.parseIpv4(m);
            if (mask < 0) {
                throw badMask(ext, opt, bits);
            }
            return prefixOf(Family.IPV4, 0, mask);
        }
        long[] mask = Addresses.parseIpv6(m);
        if (mask == null) {
            throw badMask(ext, opt, bits);
        }
        return prefixOf(Family.IPV6, mask[0], mask[1]);
    }

    private static int prefixOf(Family family, long hi, long lo) {
        int p = new IpNet(family, 0, 0, hi, lo).prefixLength();
        return p < 0 ? family.addressBits() : p;
    }

    private static XtablesException badMask(String ext, String opt, int bits) {
        return XtablesException.parameter(ext + ": bad value for option \"--" + opt
                + "\", neither a valid network mask nor valid CIDR (0-" + bits + ").\n");
    }

    /**
     * getaddrinfo(host) without DNS: a numeric address as inet_aton / inet_pton read it, else /etc/hosts.
     * The failures carry glibc's texts for what this host reports when no name server answers.
     */
    private static long[] resolve(Family family, String host) {
        long v4 = inetAton(host);
        long[] v6 = Addresses.parseIpv6(host);
        if (family == Family.IPV4 && v4 >= 0) {
            return new long[] {0, v4};
        }
        if (family == Family.IPV6 && v6 != null) {
            return v6;
        }
        if (v4 >= 0 || v6 != null) {
            throw XtablesException.parameter("getaddrinfo: Address family for hostname not supported\n");
        }
        boolean numeric = !host.isEmpty() && host.chars().allMatch(ch -> Character.isDigit(ch) || ch == '.');
        boolean valid = !host.isEmpty() && host.chars().allMatch(ch -> Character.isLetterOrDigit(ch) || ch == '.'
                || ch == '-' || ch == '_');
        if (numeric || !valid) {
            throw XtablesException.parameter("getaddrinfo: Name or service not known\n");
        }
        List<IpNet> found;
        try {
            found = Addresses.parseOne(family, host);
        } catch (XtablesException e) {
            throw XtablesException.parameter("getaddrinfo: Temporary failure in name resolution\n");
        }
        IpNet first = found.get(0);
        return new long[] {first.hi(), first.lo()};
    }

    /** inet_aton: a, a.b, a.b.c or a.b.c.d, the last part filling the remaining bytes; -1 when not that. */
    static long inetAton(String s) {
        if (s.isEmpty() || s.endsWith(".")) {
            return -1;
        }
        String[] parts = s.split("\\.", -1);
        if (parts.length > 4) {
            return -1;
        }
        long[] v = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            if (parts[i].isEmpty() || !Character.isDigit(parts[i].charAt(0))) {
                return -1;
            }
            v[i] = Numbers.parseStrtoul(parts[i]);
            if (v[i] < 0) {
                return -1;
            }
        }
        long result = 0;
        for (int i = 0; i < parts.length - 1; i++) {
            if (v[i] > 255) {
                return -1;
            }
            result |= v[i] << (24 - 8 * i);
        }
        long last = v[parts.length - 1];
        int lastBits = 32 - 8 * (parts.length - 1);
        if (lastBits < 64 && last >= (1L << lastBits)) {
            return -1;
        }
        return result | last;
    }

    /** {@code addr[/prefix]} as conntrack and ipvs print an address: numeric or a host name. */
    static void appendAddress(StringBuilder out, IpNet net, boolean numeric) {
        String addr = numeric ? net.addressText() : hostName(net);
        out.append(addr);
        int p = net.prefixLength();
        if (p >= 0 && p != net.family().addressBits()) {
            out.append('/').append(p);
        } else if (p < 0) {
            out.append('/').append(net.maskText());
        }
    }

    private static final Map<String, String> HOST_BY_ADDRESS = new HashMap<>();

    static {
        try {
            Path hosts = Path.of("/etc/hosts");
            if (Files.isReadable(hosts)) {
                for (String line : Files.readAllLines(hosts)) {
                    int hash = line.indexOf('#');
                    String[] f = (hash >= 0 ? line.substring(0, hash) : line).trim().split("\\s+");
                    if (f.length < 2) {
                        continue;
                    }
                    long v4 = f[0].indexOf(':') < 0 && f[0].split("\\.").length == 4 ? Addresses.parseIpv4(f[0]) : -1;
                    if (v4 >= 0) {
                        HOST_BY_ADDRESS.putIfAbsent(AddressText.ipv4((int) v4), f[1]);
                    } else {
                        long[] v6 = Addresses.parseIpv6(f[0]);
                        if (v6 != null) {
                            HOST_BY_ADDRESS.putIfAbsent(AddressText.ipv6(v6[0], v6[1]), f[1]);
                        }
                    }
                }
            }
        } catch (IOException e) {
            HOST_BY_ADDRESS.clear();
        }
    }

    /** xtables_ipaddr_to_anyname without DNS: the /etc/hosts name, else the number. */
    static String hostName(IpNet net) {
        String numeric = net.addressText();
        return HOST_BY_ADDRESS.getOrDefault(numeric, numeric);
    }

    /** Comma-separated names of the set bits, in table order. */
    static String names(String[] names, int[] bits, int mask) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < names.length; i++) {
            if ((mask & bits[i]) != 0) {
                if (!sb.isEmpty()) {
                    sb.append(',');
                }
                sb.append(names[i]);
            }
        }
        return sb.toString();
    }
}
