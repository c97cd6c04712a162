package org.jnetfilter.core.classify;

import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.IpSpec;

/**
 * The port ranges of a tcp, udp or sctp match, read from the match's save form
 * ({@code " ! --sport 1:2 --dport 80"}): the save form is the match's canonical, tested text, and
 * the ranges themselves are package-private to the extensions. Compile time only.
 */
final class PortText {
    private PortText() {
    }

    /** {sLo, sHi, sInverted, dLo, dHi, dInverted} (inverted as 0/1), any port when absent; null if unreadable. */
    static int[] ranges(ExtensionData data, IpSpec ip) {
        StringBuilder sb = new StringBuilder(48);
        data.save(sb, ip);
        int[] r = {0, 65535, 0, 0, 65535, 0};
        if (!read(sb, "--sport ", r, 0) || !read(sb, "--dport ", r, 3)) {
            return null;
        }
        return r;
    }

    /** Reads the range after {@code option} into r[at..at+2]; false when it is there but unreadable. */
    private static boolean read(StringBuilder s, String option, int[] r, int at) {
        int i = s.indexOf(option);
        if (i < 0) {
            return true;
        }
        r[at + 2] = i >= 2 && s.charAt(i - 1) == ' ' && s.charAt(i - 2) == '!' ? 1 : 0;
        int p = i + option.length();
        int lo = 0;
        int digits = 0;
        while (p < s.length() && Character.isDigit(s.charAt(p)) && digits < 6) {
            lo = lo * 10 + (s.charAt(p++) - '0');
            digits++;
        }
        if (digits == 0) {
            return false;
        }
        int hi = lo;
        if (p < s.length() && s.charAt(p) == ':') {
            p++;
            hi = 0;
            digits = 0;
            while (p < s.length() && Character.isDigit(s.charAt(p)) && digits < 6) {
                hi = hi * 10 + (s.charAt(p++) - '0');
                digits++;
            }
            if (digits == 0) {
                return false;
            }
        }
        if (p < s.length() && s.charAt(p) != ' ' || hi > 65535 || lo > hi) {
            return false;
        }
        r[at] = lo;
        r[at + 1] = hi;
        return true;
    }
}
