package org.jnetfilter.core.classify;

import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.IpSpec;

/**
 * The port ranges of a tcp, udp or sctp match, read from the match's save form
 * ({@code " ! --sport 1:2 --dport 80"}). The save form is the match's canonical, tested text, and
 * the ranges themselves are package-private to the extensions; compile time only.
 */
final class PortText {
    private PortText() {
    }

    /** {sLo, sHi, sInverted, dLo, dHi, dInverted} (inverted as 0/1), any port when absent; null if unreadable. */
    static int[] ranges(ExtensionData data, IpSpec ip) {
        StringBuilder sb = new StringBuilder();
        data.save(sb, ip);
        String[] words = sb.toString().trim().split(" +");
        int[] r = {0, 65535, 0, 0, 65535, 0};
        for (int i = 0; i < words.length; i++) {
            String w = words[i];
            int at = w.equals("--sport") ? 0 : w.equals("--dport") ? 3 : -1;
            if (at < 0) {
                continue;
            }
            if (i + 1 >= words.length) {
                return null;
            }
            String range = words[i + 1];
            int colon = range.indexOf(':');
            try {
                int lo = colon < 0 ? Integer.parseInt(range) : Integer.parseInt(range.substring(0, colon));
                int hi = colon < 0 ? lo : Integer.parseInt(range.substring(colon + 1));
                if (lo < 0 || hi > 65535 || lo > hi) {
                    return null;
                }
                r[at] = lo;
                r[at + 1] = hi;
                r[at + 2] = i > 0 && words[i - 1].equals("!") ? 1 : 0;
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return r;
    }
}
