package org.jnetfilter.core.ext.matches;

import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.XtablesException;

/**
 * An inclusive unsigned range as xtables' range-typed options parse it ({@code a}, {@code a:b}, {@code :b},
 * {@code a:}, {@code :}): IPsec SPIs, fragment ids, segments left, MSS. The full range not inverted is
 * "anything" and is not saved.
 */
record SpiRange(long lo, long hi, long max, boolean inverted) {

    static SpiRange any(long max) {
        return new SpiRange(0, max, max, false);
    }

    boolean isAny() {
        return lo == 0 && hi == max && !inverted;
    }

    boolean matches(long v) {
        return (v >= lo && v <= hi) != inverted;
    }

    /**
     * xtopt_parse_mint for a range of at most two values. A reversed range is refused, as iptables 1.8.11
     * refuses it.
     */
    static SpiRange parse(String ext, String option, String arg, long max, boolean inverted) {
        int colon = arg.indexOf(':');
        String a = colon < 0 ? arg : arg.substring(0, colon);
        String b = colon < 0 ? null : arg.substring(colon + 1);
        long lo = a.isEmpty() && colon >= 0 ? 0 : value(ext, option, a, max);
        long hi = colon < 0 ? lo : b.isEmpty() ? max : value(ext, option, b, max);
        if (lo > hi) {
            throw XtablesException.parameter(ext + ": invalid range given for option \"--" + option + "\"\n");
        }
        return new SpiRange(lo, hi, max, inverted);
    }

    private static long value(String ext, String option, String s, long max) {
        long v = Numbers.parseUnsigned(s, 0, max);
        if (v < 0 || s.isEmpty()) {
            throw XtablesException.parameter(ext + ": bad value for option \"--" + option + "\" near \"" + s
                    + "\", or out of range (0-" + max + ").\n");
        }
        return v;
    }

    /** " ! --espspi 1:2" (save); nothing for "any". */
    void save(StringBuilder out, String option) {
        if (isAny()) {
            return;
        }
        out.append(inverted ? " ! --" : " --").append(option).append(' ').append(lo);
        if (lo != hi) {
            out.append(':').append(hi);
        }
    }

    /** "spi:!5", "spis:1:2" without a leading space; nothing for the full range not inverted. */
    void list(StringBuilder out, String label) {
        if (lo == 0 && hi == max && !inverted) {
            return;
        }
        out.append(label);
        if (lo != hi) {
            out.append('s');
        }
        out.append(':').append(inverted ? "!" : "").append(lo);
        if (lo != hi) {
            out.append(':').append(hi);
        }
    }
}
