package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.ext.matches.TypeOfService;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -j DSCP --set-dscp N | --set-dscp-class NAME} (libxt_DSCP, xt_DSCP.c): mangle table only. */
public final class DscpTarget extends TargetExtension {
    static final OptionSpec SET_DSCP = OptionSpec.withArg("set-dscp");
    static final OptionSpec SET_DSCP_CLASS = OptionSpec.withArg("set-dscp-class");

    public DscpTarget() {
        super("DSCP", List.of(SET_DSCP, SET_DSCP_CLASS));
    }

    public record Data(int dscp) implements ExtensionData {
        /**
         * xt_DSCP dscp_tg / dscp_tg6: when the DSCP differs, the upper six bits of the DS field are
         * replaced and the ECN bits kept (IPv4 with an incremental header checksum fix); the walk goes on.
         */
        @Override
        public int apply(PacketContext pkt) {
            if (TypeOfService.dsfield(pkt) >>> 2 != dscp) {
                TypeOfService.changeDsfield(pkt, 0x03, dscp << 2);
            }
            return Verdict.CONTINUE;
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --set-dscp ").append(TypeOfService.hex2(dscp));
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" DSCP set ").append(TypeOfService.hex2(dscp));
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, "mangle", 0);
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int dscp;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                noInvert(option, invert);
                dscp = option == SET_DSCP ? (int) uint(option, arg, 0, TypeOfService.DSCP_MAX)
                        : TypeOfService.dscpClass(arg);
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                exclusive("set-dscp-class", "set-dscp");
                if (!seen("set-dscp") && !seen("set-dscp-class")) {
                    throw XtablesException.parameter("DSCP target: Parameter --set-dscp is required");
                }
                return new Data(dscp);
            }
        };
    }
}
