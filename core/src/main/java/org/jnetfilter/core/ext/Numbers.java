package org.jnetfilter.core.ext;

/** Number parsing as xtables_strtoul does it (strtoull with base 0: decimal, 0x hex, 0 octal). */
public final class Numbers {
    private Numbers() {
    }

    /** The value in [min, max], or -1 when it is not a number or out of range. */
    public static long parseUnsigned(String s, long min, long max) {
        long v = parseStrtoul(s);
        if (v < 0 || Long.compareUnsigned(v, min) < 0 || Long.compareUnsigned(v, max) > 0) {
            return -1;
        }
        return v;
    }

    /**
     * strtoull(s, &end, 0) with the whole string consumed; -1 when not a number, overflowed or empty.
     * Leading whitespace and a '+' are accepted as strtoull accepts them; '-' is refused (xtables refuses it).
     */
    public static long parseStrtoul(String s) {
        if (s == null) {
            return -1;
        }
        int i = 0;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        if (i < s.length() && s.charAt(i) == '+') {
            i++;
        }
        if (i >= s.length()) {
            return -1;
        }
        int radix = 10;
        if (s.charAt(i) == '0' && i + 1 < s.length() && (s.charAt(i + 1) == 'x' || s.charAt(i + 1) == 'X')
                && i + 2 < s.length() && Character.digit(s.charAt(i + 2), 16) >= 0) {
            radix = 16;
            i += 2;
        } else if (s.charAt(i) == '0' && i + 1 < s.length()) {
            radix = 8;
        }
        long v = 0;
        for (; i < s.length(); i++) {
            int d = Character.digit(s.charAt(i), radix);
            if (d < 0) {
                return -1;
            }
            long nv = v * radix + d;
            if (nv < 0 || (v != 0 && nv / radix != v)) {
                return -1;
            }
            v = nv;
        }
        return v;
    }
}
