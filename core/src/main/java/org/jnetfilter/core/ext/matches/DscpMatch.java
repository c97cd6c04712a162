package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -m dscp --dscp N | --dscp-class NAME} (libxt_dscp, xt_dscp.c dscp_mt): the top six bits of TOS. */
public final class DscpMatch extends MatchExtension {
    static final OptionSpec DSCP = OptionSpec.withArg("dscp");
    static final OptionSpec DSCP_CLASS = OptionSpec.withArg("dscp-class");

    public DscpMatch() {
        super("dscp", List.of(DSCP, DSCP_CLASS));
    }

    public record Data(int dscp, boolean inverted) implements ExtensionData {
        /** xt_dscp dscp_mt / dscp_mt6: the upper six bits of the DS field (XT_DSCP_SHIFT 2). */
        @Override
        public boolean matches(PacketContext pkt) {
            return (TypeOfService.dsfield(pkt) >>> 2 == dscp) != inverted;
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! --dscp " : " --dscp ").append(TypeOfService.hex2(dscp));
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" DSCP match ").append(inverted ? "!" : "").append(TypeOfService.hex2(dscp));
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int dscp;
            private boolean inverted;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                dscp = option == DSCP ? (int) uint(option, arg, 0, TypeOfService.DSCP_MAX)
                        : TypeOfService.dscpClass(arg);
                inverted = invert;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                exclusive("dscp-class", "dscp");
                if (!seen("dscp") && !seen("dscp-class")) {
                    throw XtablesException.parameter("DSCP match: Parameter --dscp is required");
                }
                return new Data(dscp, inverted);
            }
        };
    }
}
