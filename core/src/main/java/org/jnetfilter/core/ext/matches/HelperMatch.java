package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.SaveText;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m helper --helper NAME} (libxt_helper, xt_helper.c): the conntrack helper of the packet's
 * connection (of its master, for related connections).
 */
public final class HelperMatch extends MatchExtension {
    static final OptionSpec HELPER = OptionSpec.withArg("helper");

    // Linux: struct xt_helper_info char name[30], NUL included; libxt_helper cuts longer names
    static final int MAX_LEN = 29;

    public HelperMatch() {
        super("helper", List.of(HELPER));
    }

    public record Data(String helper, boolean inverted) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " !" : "").append(" --helper");
            SaveText.appendQuoted(out, helper);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" helper match ").append(inverted ? "! " : "").append('"').append(helper).append('"');
        }

        /**
         * xt_helper helper_mt: the helper of the connection's master. No helper creates expectations here, so
         * no connection has a master and the answer is always the negation flag, as in a kernel whose
         * connections were never expected by a helper.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            return inverted;
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private String helper;
            private boolean inverted;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                helper = arg.length() > MAX_LEN ? arg.substring(0, MAX_LEN) : arg;
                inverted = invert;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("helper");
                return new Data(helper, inverted);
            }
        };
    }
}
