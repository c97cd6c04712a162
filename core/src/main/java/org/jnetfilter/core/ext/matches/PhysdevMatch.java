package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.InterfaceNames;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m physdev} (libxt_physdev, xt_physdev.c): the bridge ports a bridged packet entered and leaves
 * by. Interface names follow -i/-o: a trailing '+' is a prefix match.
 */
public final class PhysdevMatch extends MatchExtension {
    static final OptionSpec PHYSDEV_IN = OptionSpec.withArg("physdev-in");
    static final OptionSpec PHYSDEV_OUT = OptionSpec.withArg("physdev-out");
    static final OptionSpec PHYSDEV_IS_IN = OptionSpec.flag("physdev-is-in");
    static final OptionSpec PHYSDEV_IS_OUT = OptionSpec.flag("physdev-is-out");
    static final OptionSpec PHYSDEV_IS_BRIDGED = OptionSpec.flag("physdev-is-bridged");

    // Linux: XT_PHYSDEV_OP_IN = 1, _OUT = 2, _BRIDGED = 4, _ISIN = 8, _ISOUT = 16
    public static final int OP_IN = 0x01;
    public static final int OP_OUT = 0x02;
    public static final int OP_BRIDGED = 0x04;
    public static final int OP_ISIN = 0x08;
    public static final int OP_ISOUT = 0x10;


    public PhysdevMatch() {
        super("physdev", List.of(PHYSDEV_IN, PHYSDEV_OUT, PHYSDEV_IS_IN, PHYSDEV_IS_OUT, PHYSDEV_IS_BRIDGED));
    }

    /** @param bitmask the OP_* given; invert those negated; names "" when not given */
    public record Data(String physIn, String physOut, int bitmask, int invert) implements ExtensionData {
        /**
         * xt_physdev for a packet that did not cross a bridge (jnetfilter has no bridge devices, so none
         * did): every option given must be negated for the rule to match, in the kernel's order of checks.
         */
        @Override
        public boolean matches(org.jnetfilter.core.netfilter.PacketContext pkt) {
            // Linux: !nf_bridge_info_exists(skb): NOMATCH for any of BRIDGED, ISIN, ISOUT, IN, OUT given
            // without its invert flag, else MATCH
            return (bitmask & ~invert) == 0;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            appendOptions(out);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" PHYSDEV match");
            appendOptions(out);
        }

        private void appendOptions(StringBuilder out) {
            flag(out, OP_ISIN, "--physdev-is-in");
            if ((bitmask & OP_IN) != 0) {
                flag(out, OP_IN, "--physdev-in");
                out.append(' ').append(physIn);
            }
            flag(out, OP_ISOUT, "--physdev-is-out");
            if ((bitmask & OP_OUT) != 0) {
                flag(out, OP_OUT, "--physdev-out");
                out.append(' ').append(physOut);
            }
            flag(out, OP_BRIDGED, "--physdev-is-bridged");
        }

        private void flag(StringBuilder out, int bit, String option) {
            if ((bitmask & bit) != 0) {
                out.append((invert & bit) != 0 ? " ! " : " ").append(option);
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            // Linux: the output port of locally generated traffic is not known yet unless it is bridged
            if ((bitmask & (OP_OUT | OP_ISOUT)) != 0
                    && ((bitmask & OP_BRIDGED) == 0 || (invert & OP_BRIDGED) != 0)
                    && (hookMask & Hook.OUTPUT.bit()) != 0) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private String physIn = "";
            private String physOut = "";
            private int bitmask;
            private int invert;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                once(option);
                int bit;
                if (option == PHYSDEV_IN || option == PHYSDEV_OUT) {
                    InterfaceNames.parse(arg, c);
                    if (option == PHYSDEV_IN) {
                        physIn = arg;
                        bit = OP_IN;
                    } else {
                        physOut = arg;
                        bit = OP_OUT;
                    }
                } else if (option == PHYSDEV_IS_IN) {
                    bit = OP_ISIN;
                } else if (option == PHYSDEV_IS_OUT) {
                    bit = OP_ISOUT;
                } else {
                    bit = OP_BRIDGED;
                }
                bitmask |= bit;
                if (inv) {
                    invert |= bit;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (bitmask == 0) {
                    throw XtablesException.parameter("PHYSDEV: no physdev option specified");
                }
                return new Data(physIn, physOut, bitmask, invert);
            }
        };
    }
}
