package org.jnetfilter.core.ext.targets;

import java.util.List;
import java.util.Set;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * The IPv4 TTL and IPv6 hop limit targets share one shape: set, decrement or increment an 8-bit field,
 * in the mangle table. {@code TTL} and {@code HL} differ only in names.
 */
abstract class HopCountTarget extends TargetExtension {
    // Linux: IPT_TTL_SET/INC/DEC = IP6T_HL_SET/INC/DEC = 0..2
    public static final int SET = 0;
    public static final int INC = 1;
    public static final int DEC = 2;

    private final OptionSpec set;
    private final OptionSpec dec;

    /** @param prefix "ttl" or "hl": the option names' prefix; the target name is its upper case */
    HopCountTarget(String prefix, Family family) {
        this(prefix, family, OptionSpec.withArg(prefix + "-set"), OptionSpec.withArg(prefix + "-dec"),
                OptionSpec.withArg(prefix + "-inc"));
    }

    private HopCountTarget(String prefix, Family family, OptionSpec set, OptionSpec dec, OptionSpec inc) {
        super(prefix.toUpperCase(), Set.of(family), List.of(set, dec, inc));
        this.set = set;
        this.dec = dec;
    }

    /** @param mode SET, INC or DEC */
    public record Data(String prefix, int mode, int value) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --").append(prefix).append(mode == SET ? "-set " : mode == DEC ? "-dec " : "-inc ")
                    .append(value);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(' ').append(prefix.toUpperCase())
                    .append(mode == SET ? " set to " : mode == DEC ? " decrement by " : " increment by ").append(value);
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, "mangle", 0);
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        String prefix = name().toLowerCase();
        return new OptionParser(name()) {
            private int mode = -1;
            private int value;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                noInvert(option, invert);
                if (option == set) {
                    value = (int) uint(option, arg, 0, 255);
                    mode = SET;
                } else {
                    value = (int) uint(option, arg, 1, 255);
                    mode = option == dec ? DEC : INC;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                // xtables_options_fcheck: the three exclude each other, reported in table order
                String[] names = {prefix + "-set", prefix + "-dec", prefix + "-inc"};
                for (String entry : names) {
                    for (String other : names) {
                        if (!other.equals(entry) && seen(entry) && seen(other)) {
                            exclusive(other, entry);
                        }
                    }
                }
                if (mode < 0) {
                    throw XtablesException.parameter(name() + ": You must specify an action");
                }
                return new Data(prefix, mode, value);
            }
        };
    }
}
