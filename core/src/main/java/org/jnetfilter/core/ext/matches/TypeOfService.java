package org.jnetfilter.core.ext.matches;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.rules.Family;

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

    // ---- the DS field on the packet path (tos, dscp, ecn matches; TOS, DSCP, ECN targets) ----

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /**
     * ipv4_get_dsfield / ipv6_get_dsfield: the IPv4 TOS byte, or the IPv6 traffic class (the eight bits
     * after the version nibble).
     */
    public static int dsfield(PacketContext pkt) {
        return pkt.family() == Family.IPV4 ? pkt.networkU8(Ipv4Header.TOS) : (pkt.networkU16(0) >>> 4) & 0xFF;
    }

    /**
     * ipv4_change_dsfield / ipv6_change_dsfield: {@code ds = (ds & mask) | value}. IPv4 fixes the header
     * checksum incrementally. The kernel's own arithmetic (HC + m - m', a borrow folded back) never gives
     * 0xFFFF, and neither does RFC 1624 eqn. 3 nor a full recomputation, so the three agree.
     */
    public static void changeDsfield(PacketContext pkt, int mask, int value) {
        MemorySegment s = pkt.segment();
        long at = pkt.networkOffset();
        int old = dsfield(pkt);
        int ds = (old & mask | value) & 0xFF;
        if (pkt.family() == Family.IPV4) {
            s.set(ValueLayout.JAVA_BYTE, at + Ipv4Header.TOS, (byte) ds);
            int check = Short.toUnsignedInt(s.get(U16, at + Ipv4Header.CHECKSUM));
            s.set(U16, at + Ipv4Header.CHECKSUM, (short) Checksums.update16(check, old, ds));
        } else {
            int word = Short.toUnsignedInt(s.get(U16, at));
            s.set(U16, at, (short) (word & 0xF00F | ds << 4));
        }
    }
}
