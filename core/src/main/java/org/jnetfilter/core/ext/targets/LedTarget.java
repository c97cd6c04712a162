package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j LED} (libxt_LED, xt_LED): blinks an LED trigger. The reference kernel has no xt_LED module, so
 * like iptables-legacy there every rule using it is refused when the table is committed.
 */
public final class LedTarget extends TargetExtension {
    static final OptionSpec LED_TRIGGER_ID = OptionSpec.withArg("led-trigger-id");
    static final OptionSpec LED_DELAY = OptionSpec.withArg("led-delay");
    static final OptionSpec LED_ALWAYS_BLINK = OptionSpec.flag("led-always-blink");

    // Linux: struct xt_led_info id[27], NUL included
    static final int ID_MAX = 26;
    /** --led-delay inf. */
    static final long DELAY_INFINITE = 0xFFFFFFFFL;

    public LedTarget() {
        super("LED", List.of(LED_TRIGGER_ID, LED_DELAY, LED_ALWAYS_BLINK));
    }

    public record Data(String id, long delay, boolean alwaysBlink) implements ExtensionData {
        /** xt_LED led_tg: blinks the trigger (no LED here) and goes on with the next rule. */
        @Override
        public int apply(PacketContext pkt) {
            return Verdict.CONTINUE;
        }

        private void print(StringBuilder out, String dashes) {
            out.append(' ').append(dashes).append("led-trigger-id \"").append(id).append('"');
            if (delay == DELAY_INFINITE) {
                out.append(' ').append(dashes).append("led-delay inf");
            } else if (delay != 0) {
                out.append(' ').append(dashes).append("led-delay ").append(delay);
            }
            if (alwaysBlink) {
                out.append(' ').append(dashes).append("led-always-blink");
            }
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            print(out, "--");
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" led-trigger-id:\"").append(id).append('"');
            if (delay == DELAY_INFINITE) {
                out.append(" led-delay:inf");
            } else if (delay != 0) {
                out.append(" led-delay:").append(delay).append("ms");
            }
            if (alwaysBlink) {
                out.append(" led-always-blink");
            }
        }

        // Accepted everywhere, as a kernel with the module accepts it (the kernel iptables-legacy runs on
        // here lacks it and refuses with ENOENT; jnetfilter is not bound to one kernel's modules).
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private String id;
            private long delay;
            private boolean alwaysBlink;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == LED_TRIGGER_ID) {
                    id = LogTarget.boundedString(arg, ID_MAX);
                } else if (option == LED_DELAY) {
                    delay = arg.equals("inf") ? DELAY_INFINITE : uint(option, arg, 0, 0xFFFFFFFEL);
                } else {
                    alwaysBlink = true;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory(LED_TRIGGER_ID.name());
                return new Data(id, delay, alwaysBlink);
            }
        };
    }
}
