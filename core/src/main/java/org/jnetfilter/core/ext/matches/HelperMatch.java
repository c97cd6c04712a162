package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.conntrack.Connection;
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
         * xt_helper helper_mt: the helper of the connection's master, so only connections a helper expected
         * match (the control connection itself does not). The name matches when it starts with the helper's
         * name (strncmp over the helper name's length); an empty name matches any helper. No connection, no
         * master or a master without helper: the negation flag.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            Connection ct = pkt.conntrack();
            if (ct == null || ct.isTemplate()) {
                return inverted;
            }
            Connection master = ct.master();
            if (master == null || master.helper().isEmpty()) {
                return inverted;
            }
            if (helper.isEmpty()) {
                return !inverted;
            }
            return inverted ^ helper.startsWith(master.helper());
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
