package org.jnetfilter.core.ext;

import java.math.BigInteger;

/** {@code value[/mask]} numbers as xtables' option framework reads them (marks, connmarks, ct labels, ...). */
public final class MarkMask {
    public static final long U32 = 0xFFFFFFFFL;

    private MarkMask() {
    }

    /** xtopt_parse_markmask: {@code value[/mask]}; the mask defaults to all ones. @return {value, mask} */
    public static long[] markMask(String ext, String opt, String arg) {
        long[] value = strtoul32(arg, 0);
        if (value == null) {
            throw badMarkMask(ext, opt);
        }
        long mask = U32;
        int end = (int) value[1];
        if (end < arg.length() && arg.charAt(end) == '/') {
            long[] m = strtoul32(arg, end + 1);
            if (m == null) {
                throw badMarkMask(ext, opt);
            }
            mask = m[0];
            end = (int) m[1];
        }
        if (end < arg.length()) {
            throw XtablesException.parameter(ext + ": trailing garbage after value for option \"--" + opt + "\".\n");
        }
        return new long[] {value[0], mask};
    }

    private static XtablesException badMarkMask(String ext, String opt) {
        return XtablesException.parameter(ext + ": bad integer value for option \"--" + opt + "\", or out of range.\n");
    }

    /**
     * strtoul(s + from, &end, 0) limited to 32 bits, as xtables_strtoui reads a number that may be followed
     * by more text: {value, end}, or null when no digits were read or the value is out of range ('-' included).
     */
    public static long[] strtoul32(String s, int from) {
        int i = from;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        boolean negative = false;
        if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            negative = s.charAt(i) == '-';
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
        BigInteger v = BigInteger.ZERO;
        while (i < s.length() && Character.digit(s.charAt(i), radix) >= 0) {
            v = v.multiply(BigInteger.valueOf(radix)).add(BigInteger.valueOf(Character.digit(s.charAt(i), radix)));
            i++;
        }
        if (i == start) {
            return null;
        }
        if (negative || v.bitLength() > 32) {
            return null;
        }
        return new long[] {v.longValue(), i};
    }
}
