package org.jnetfilter.core.ext.matches;

import java.util.List;
import java.util.Set;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * The IPv4 TTL and IPv6 hop limit matches share one shape: equal (or, negated, not equal), less than,
 * greater than an 8-bit value. {@code ttl} and {@code hl} differ only in names.
 */
abstract class HopCountMatch extends MatchExtension {
    // Linux: IPT_TTL_EQ/NE/LT/GT = IP6T_HL_EQ/NE/LT/GT = 0..3
    public static final int EQ = 0;
    public static final int NE = 1;
    public static final int LT = 2;
    public static final int GT = 3;
    private static final String[] OPERATORS = {"==", "!=", "<", ">"};

    // Linux: the TTL is byte 8 of the IPv4 header, the hop limit byte 7 of the IPv6 header
    private static final int TTL_BYTE = 8;
    private static final int HOP_LIMIT_BYTE = 7;

    private final String label;
    private final int headerByte;
    private final OptionSpec eq;
    private final OptionSpec lt;
    private final OptionSpec gt;

    /** @param label "TTL" or "HL", as -L prints it */
    HopCountMatch(String name, Family family, String label) {
        this(name, family, label, OptionSpec.withArg(name + "-eq"), OptionSpec.withArg(name + "-lt"),
                OptionSpec.withArg(name + "-gt"));
    }

    private HopCountMatch(String name, Family family, String label, OptionSpec eq, OptionSpec lt, OptionSpec gt) {
        super(name, Set.of(family), List.of(eq, lt, gt));
        this.label = label;
        this.headerByte = family == Family.IPV4 ? TTL_BYTE : HOP_LIMIT_BYTE;
        this.eq = eq;
        this.lt = lt;
        this.gt = gt;
    }

    /**
     * @param mode       EQ, NE, LT or GT
     * @param headerByte where the network header keeps the field (ttl: 8, hl: 7)
     */
    public record Data(String name, String label, int mode, int value, int headerByte) implements ExtensionData {
        /** ipt_ttl.c ttl_mt and ip6t_hl.c hl_mt6. */
        @Override
        public boolean matches(org.jnetfilter.core.netfilter.PacketContext pkt) {
            int actual = pkt.networkU8(headerByte);
            return switch (mode) {
                case EQ -> actual == value;
                case NE -> actual != value;
                case LT -> actual < value;
                default -> actual > value;
            };
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            switch (mode) {
                case EQ -> out.append(" --").append(name).append("-eq ");
                case NE -> out.append(" ! --").append(name).append("-eq ");
                case LT -> out.append(" --").append(name).append("-lt ");
                default -> out.append(" --").append(name).append("-gt ");
            }
            out.append(value);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(' ').append(label).append(" match ").append(label).append(' ').append(OPERATORS[mode])
                    .append(' ').append(value);
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int mode = -1;
            private int value;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                if (option != eq) {
                    noInvert(option, invert);
                }
                value = (int) uint(option, arg, 0, 255);
                mode = option == eq ? (invert ? NE : EQ) : option == lt ? LT : GT;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                // xtables_options_fcheck: -lt and -gt each exclude the other two, -eq excludes nothing
                String n = name();
                exclusive(n + "-eq", n + "-lt");
                exclusive(n + "-gt", n + "-lt");
                exclusive(n + "-eq", n + "-gt");
                exclusive(n + "-lt", n + "-gt");
                if (mode < 0) {
                    throw XtablesException.parameter(label + " match: You must specify one of `--" + n + "-eq', `--"
                            + n + "-lt', `--" + n + "-gt" + ("hl".equals(n) ? "'" : ""));
                }
                return new Data(n, label, mode, value, headerByte);
            }
        };
    }
}
