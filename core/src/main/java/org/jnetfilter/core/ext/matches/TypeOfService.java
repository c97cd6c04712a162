package org.jnetfilter.core.ext.matches;

import org.jnetfilter.core.ext.XtablesException;

/**
 * The IPv4 TOS / IPv6 traffic-class byte as iptables names its values: the RFC 1349 TOS symbols that
 * {@code tos} and {@code TOS} accept (xtables' TOSMASK argument type), and the DiffServ class names
 * (RFC 2474, 2597, 3246) that {@code dscp} and {@code DSCP} accept.
 */
public final class TypeOfService {
    // RFC 1349 names, value under the 0x3f mask iptables gives symbolic values
    private static final String[] SYMBOL_NAMES = {
        "Minimize-Cost", "Maximize-Reliability", "Maximize-Throughput", "Minimize-Delay", "Normal-Service"};
    private static final int[] SYMBOL_VALUES = {0x02, 0x04, 0x08, 0x10, 0x00};
    public static final int SYMBOL_MASK = 0x3f;

    // Linux: XT_DSCP_MAX = 0x3f
    public static final int DSCP_MAX = 0x3f;
    private static final String[] CLASS_NAMES = {
        "CS0", "CS1", "CS2", "CS3", "CS4", "CS5", "CS6", "CS7", "BE",
        "AF11", "AF12", "AF13", "AF21", "AF22", "AF23", "AF31", "AF32", "AF33", "AF41", "AF42", "AF43", "EF"};
    private static final int[] CLASS_VALUES = {
        0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0x00,
        0x0a, 0x0c, 0x0e, 0x12, 0x14, 0x16, 0x1a, 0x1c, 0x1e, 0x22, 0x24, 0x26, 0x2e};

    private TypeOfService() {
    }

    /**
     * xtables' TOSMASK argument: {@code value[/mask]} (numbers 0-255, the mask 0xff when absent) or a
     * symbol, case-insensitive, with mask 0x3f. Returns {value, mask}.
     */
    public static int[] parseValueMask(String arg) {
        int[] end = new int[1];
        long v = prefixNumber(arg, 0, end);
        if (v >= 0 && v <= 0xff) {
            int rest = end[0];
            if (rest == arg.length()) {
                return new int[] {(int) v, 0xff};
            }
            if (arg.charAt(rest) == '/') {
                long m = prefixNumber(arg, rest + 1, end);
                if (m >= 0 && m <= 0xff && end[0] == arg.length()) {
                    return new int[] {(int) v, (int) m};
                }
            }
            throw XtablesException.parameter("Illegal value: \"" + arg + "\"");
        }
        for (int i = 0; i < SYMBOL_NAMES.length; i++) {
            if (SYMBOL_NAMES[i].equalsIgnoreCase(arg)) {
                return new int[] {SYMBOL_VALUES[i], SYMBOL_MASK};
            }
        }
        throw XtablesException.parameter("Symbolic name \"" + arg + "\" is unknown");
    }

    /** The symbol for value under mask 0x3f, or null (tos_try_print_symbolic). */
    public static String symbol(int value, int mask) {
        if (mask != SYMBOL_MASK) {
            return null;
        }
        for (int i = 0; i < SYMBOL_NAMES.length; i++) {
            if (SYMBOL_VALUES[i] == value) {
                return SYMBOL_NAMES[i];
            }
        }
        return null;
    }

    /** A DiffServ class name, case-insensitive; "Invalid DSCP value" otherwise. */
    public static int dscpClass(String name) {
        for (int i = 0; i < CLASS_NAMES.length; i++) {
            if (CLASS_NAMES[i].equalsIgnoreCase(name)) {
                return CLASS_VALUES[i];
            }
        }
        throw XtablesException.parameter("Invalid DSCP value `" + name + "'");
    }

    /** 0x%02x. */
    public static String hex2(int v) {
        return String.format("0x%02x", v);
    }

    /**
     * strtoul(s + from, &end, 0) as xtables_strtoui uses it: the number read, or -1 when there are no
     * digits, it is negative or it overflows; end[0] is where reading stopped.
     */
    static long prefixNumber(String s, int from, int[] end) {
        int i = from;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        boolean neg = false;
        if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            neg = s.charAt(i) == '-';
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
        boolean overflow = false;
        while (i < s.length() && Character.digit(s.charAt(i), radix) >= 0) {
            v = v * radix + Character.digit(s.charAt(i), radix);
            if (v > 0xFFFFFFFFFFL) {
                overflow = true;
            }
            i++;
        }
        end[0] = i;
        if (i == start) {
            end[0] = from;
            return -1;
        }
        if (overflow || (neg && v != 0)) {
            return -1;
        }
        return v;
    }
}
