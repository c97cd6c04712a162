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

/**
 * {@code -j TOS} (libxt_TOS revision 1, xt_DSCP.c tos_tg): tos = (tos & ~mask) ^ value. The and/or/xor
 * forms are stored as that value/mask pair, as the kernel receives them. mangle table only.
 */
public final class TosTarget extends TargetExtension {
    static final OptionSpec SET_TOS = OptionSpec.withArg("set-tos");
    static final OptionSpec AND_TOS = OptionSpec.withArg("and-tos");
    static final OptionSpec OR_TOS = OptionSpec.withArg("or-tos");
    static final OptionSpec XOR_TOS = OptionSpec.withArg("xor-tos");
    private static final List<OptionSpec> OPTIONS = List.of(SET_TOS, AND_TOS, OR_TOS, XOR_TOS);

    public TosTarget() {
        super("TOS", OPTIONS);
    }

    public record Data(int value, int mask) implements ExtensionData {
        /**
         * xt_DSCP tos_tg / tos_tg6: {@code ds = (ds & ~mask) ^ value}, written only when it changes (IPv4
         * with an incremental header checksum fix); the walk goes on.
         */
        @Override
        public int apply(PacketContext pkt) {
            int orig = TypeOfService.dsfield(pkt);
            int ds = (orig & ~mask ^ value) & 0xFF;
            if (ds != orig) {
                TypeOfService.changeDsfield(pkt, 0, ds);
            }
            return Verdict.CONTINUE;
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --set-tos ").append(TypeOfService.hex2(value)).append('/').append(TypeOfService.hex2(mask));
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            String symbol = numeric ? null : TypeOfService.symbol(value, mask);
            if (numeric) {
                out.append(" TOS set ").append(TypeOfService.hex2(value)).append('/').append(TypeOfService.hex2(mask));
            } else if (symbol != null) {
                out.append("  TOS set").append(symbol);
            } else if (value == 0) {
                out.append(" TOS and ").append(TypeOfService.hex2(~mask & 0xff));
            } else if (value == mask) {
                out.append(" TOS or ").append(TypeOfService.hex2(value));
            } else if (mask == 0) {
                out.append(" TOS xor ").append(TypeOfService.hex2(value));
            } else {
                out.append(" TOS set ").append(TypeOfService.hex2(value)).append('/').append(TypeOfService.hex2(mask));
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, "mangle", 0);
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int value;
            private int mask;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                noInvert(option, invert);
                if (option == SET_TOS) {
                    int[] vm = TypeOfService.parseValueMask(arg);
                    value = vm[0];
                    mask = vm[1];
                    return;
                }
                int v = (int) uint(option, arg, 0, 255);
                if (option == AND_TOS) {
                    value = 0;
                    mask = ~v & 0xff;
                } else if (option == OR_TOS) {
                    value = v;
                    mask = v;
                } else {
                    value = v;
                    mask = 0;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                // xtables_options_fcheck: each option excludes the others, reported in table order
                for (OptionSpec entry : OPTIONS) {
                    for (OptionSpec other : OPTIONS) {
                        if (other != entry && seen(entry.name()) && seen(other.name())) {
                            exclusive(other.name(), entry.name());
                        }
                    }
                }
                if (!seen("set-tos") && !seen("and-tos") && !seen("or-tos") && !seen("xor-tos")) {
                    throw XtablesException.parameter("TOS: An action is required");
                }
                return new Data(value, mask);
            }
        };
    }
}
