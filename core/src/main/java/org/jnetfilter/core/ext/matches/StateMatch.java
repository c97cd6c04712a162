package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -m state --state LIST} (libxt_state, xt_state.c): the connection-tracking state of the packet. */
public final class StateMatch extends MatchExtension {
    static final OptionSpec STATE = OptionSpec.withArg("state");

    static final String[] NAMES = {"INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED"};
    static final int[] BITS = {ConntrackValues.STATE_INVALID, ConntrackValues.STATE_NEW,
            ConntrackValues.STATE_RELATED, ConntrackValues.STATE_ESTABLISHED,
            ConntrackValues.STATE_UNTRACKED_STATE_MATCH};

    public StateMatch() {
        super("state", List.of(STATE));
    }

    /** @param stateMask XT_STATE_* bits */
    public record Data(int stateMask, boolean inverted) implements ExtensionData {
        @Override
        public boolean shareable() {
            return true;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! --state " : " --state ").append(text());
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(inverted ? " ! state " : " state ").append(text());
        }

        /** xt_state state_mt: the bit of the packet's ctinfo, UNTRACKED, or INVALID without an entry. */
        @Override
        public boolean matches(PacketContext pkt) {
            return ((stateMask & stateBit(pkt)) != 0) != inverted;
        }

        private String text() {
            return ConntrackValues.names(NAMES, BITS, stateMask);
        }
    }

    /** XT_STATE_BIT(ctinfo) = 1 << (ctinfo % IP_CT_IS_REPLY + 1); XT_STATE_UNTRACKED; XT_STATE_INVALID. */
    static int stateBit(PacketContext pkt) {
        if (pkt.conntrack() != null) {
            return 1 << (pkt.ctInfo() % org.jnetfilter.core.conntrack.CtInfo.IS_REPLY + 1);
        }
        return pkt.untracked() ? ConntrackValues.STATE_UNTRACKED_STATE_MATCH : ConntrackValues.STATE_INVALID;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int mask;
            private boolean inverted;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                mask = ConntrackMatch.parseNames(arg, NAMES, BITS, "state", false,
                        "\"--state\" requires a list of states with no spaces, e.g. ESTABLISHED,RELATED");
                inverted = invert;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("state");
                return new Data(mask, inverted);
            }
        };
    }
}
