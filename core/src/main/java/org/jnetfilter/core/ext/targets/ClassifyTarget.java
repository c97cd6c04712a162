package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j CLASSIFY --set-class MAJOR:MINOR} (libxt_CLASSIFY, xt_CLASSIFY): sets skb->priority, a tc
 * class handle. FORWARD, OUTPUT and POSTROUTING, in any table.
 */
public final class ClassifyTarget extends TargetExtension {
    static final OptionSpec SET_CLASS = OptionSpec.withArg("set-class");

    public ClassifyTarget() {
        super("CLASSIFY", List.of(SET_CLASS));
    }

    /** @param priority TC_H_MAKE(major << 16, minor) */
    public record Data(long priority) implements ExtensionData {
        /** xt_CLASSIFY: skb->priority = the class; continue. */
        @Override
        public int apply(org.jnetfilter.core.netfilter.PacketContext pkt) {
            pkt.priority(priority);
            return org.jnetfilter.core.netfilter.Verdict.CONTINUE;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(String.format(" --set-class %04x:%04x", priority >>> 16, priority & 0xFFFF));
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(String.format(" CLASSIFY set %x:%x", priority >>> 16, priority & 0xFFFF));
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, null,
                    TargetScope.hooks(Hook.FORWARD, Hook.OUTPUT, Hook.POSTROUTING));
        }
    }

    /** sscanf's %x at {@code s[pos]}: {value, end}, or null when no hex number is there. */
    private static long[] scanHex(String s, int pos) {
        int i = pos;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        boolean negative = false;
        if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            negative = s.charAt(i) == '-';
            i++;
        }
        if (i + 2 < s.length() && s.charAt(i) == '0' && (s.charAt(i + 1) == 'x' || s.charAt(i + 1) == 'X')
                && Character.digit(s.charAt(i + 2), 16) >= 0) {
            i += 2;
        }
        int start = i;
        long v = 0;
        while (i < s.length() && Character.digit(s.charAt(i), 16) >= 0) {
            v = (v << 4 | Character.digit(s.charAt(i), 16)) & 0xFFFFFFFFL;
            i++;
        }
        if (i == start) {
            return null;
        }
        return new long[] {negative ? -v & 0xFFFFFFFFL : v, i};
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long priority;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                long[] major = scanHex(arg, 0);
                long[] minor = major != null && major[1] < arg.length() && arg.charAt((int) major[1]) == ':'
                        ? scanHex(arg, (int) major[1] + 1) : null;
                if (minor == null) {
                    throw XtablesException.parameter("Bad class value \"" + arg + "\"");
                }
                priority = ((major[0] << 16) & 0xFFFF0000L) | (minor[0] & 0xFFFF);
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory(SET_CLASS.name());
                return new Data(priority);
            }
        };
    }
}
