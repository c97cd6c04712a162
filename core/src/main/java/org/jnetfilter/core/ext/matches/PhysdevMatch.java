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
 * by, as br_netfilter records them ({@link org.jnetfilter.core.netfilter.PacketContext#physInInterface()}).
 * Interface names follow -i/-o: a trailing '+' is a prefix match.
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
         * xt_physdev's physdev_mt. A packet without br_netfilter's information (not bridged: routed, local, or
         * bridged with the bridge-nf-call switch off) matches only when every option given is negated. A bridged
         * one: --physdev-is-bridged asks for an output port (FORWARD, POSTROUTING of a bridged frame),
         * --physdev-is-in/-out for the ports; --physdev-in is compared only when there is an input port (without
         * one it is passed over); --physdev-out without an output port does not match, negated or not.
         * Names compare as the kernel's masks do: a trailing '+' matches any name it begins.
         */
        @Override
        public boolean matches(org.jnetfilter.core.netfilter.PacketContext pkt) {
            if (!pkt.bridged()) {
                // Linux: !nf_bridge_info_exists(skb): NOMATCH for any option given without its invert flag
                return (bitmask & ~invert) == 0;
            }
            String in = pkt.physInInterface();
            String out = pkt.physOutInterface();
            if ((bitmask & OP_BRIDGED) != 0 && out.isEmpty() == ((invert & OP_BRIDGED) == 0)) {
                return false;
            }
            if ((bitmask & OP_ISIN) != 0 && in.isEmpty() != ((invert & OP_ISIN) != 0)) {
                return false;
            }
            if ((bitmask & OP_ISOUT) != 0 && out.isEmpty() != ((invert & OP_ISOUT) != 0)) {
                return false;
            }
            if ((bitmask & OP_IN) != 0 && !in.isEmpty() && nameMatches(physIn, in) == ((invert & OP_IN) != 0)) {
                return false;
            }
            if ((bitmask & OP_OUT) == 0) {
                return true;
            }
            // Linux 6.18 (checked in a namespace): no output port yet (PREROUTING, INPUT) matches neither
            // --physdev-out nor its negation
            return !out.isEmpty() && nameMatches(physOut, out) != ((invert & OP_OUT) != 0);
        }

        /** ifname_compare_aligned under libxt_physdev's mask: the whole name, or its part before a final '+'. */
        private static boolean nameMatches(String rule, String device) {
            int n = rule.length();
            if (n > 0 && rule.charAt(n - 1) == '+') {
                return device.regionMatches(0, rule, 0, n - 1);
            }
            return device.equals(rule);
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
