package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.SaveText;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -j IDLETIMER} (libxt_IDLETIMER revision 1, xt_IDLETIMER): a sysfs timer reset by each packet. */
public final class IdletimerTarget extends TargetExtension {
    static final OptionSpec TIMEOUT = OptionSpec.withArg("timeout");
    static final OptionSpec LABEL = OptionSpec.withArg("label");
    static final OptionSpec ALARM = OptionSpec.flag("alarm");

    // Linux: MAX_IDLETIMER_LABEL_SIZE 28, NUL included
    static final int LABEL_MAX = 27;

    public IdletimerTarget() {
        super("IDLETIMER", List.of(TIMEOUT, LABEL, ALARM));
    }

    public record Data(long timeout, String label, boolean alarm) implements ExtensionData {
        /** xt_IDLETIMER idletimer_tg_target: re-arms the label's timer (no sysfs timer here) and goes on. */
        @Override
        public int apply(PacketContext pkt) {
            return Verdict.CONTINUE;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --timeout ").append(timeout).append(" --label ");
            // iptables prints the label bare even with blanks in it; jnetfilter quotes those few, because
            // its state is kept as save text and must read back
            if (label.chars().anyMatch(ch -> Character.isWhitespace(ch) || ch == '"' || ch == '\'' || ch == '\\')) {
                StringBuilder quoted = new StringBuilder();
                SaveText.appendQuoted(quoted, label);
                out.append(quoted, 1, quoted.length());
            } else {
                out.append(label);
            }
            if (alarm) {
                out.append(" --alarm");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" timeout:").append(timeout).append(" label:").append(label);
            if (alarm) {
                out.append(" alarm");
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            // Linux: idletimer_tg_checkentry refuses a zero timeout
            if (timeout == 0) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long timeout;
            private String label;
            private boolean alarm;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == TIMEOUT) {
                    timeout = uint(option, arg, 0, 0xFFFFFFFFL);
                } else if (option == LABEL) {
                    label = LogTarget.boundedString(arg, LABEL_MAX);
                } else {
                    alarm = true;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory(TIMEOUT.name());
                mandatory(LABEL.name());
                return new Data(timeout, label, alarm);
            }
        };
    }
}
