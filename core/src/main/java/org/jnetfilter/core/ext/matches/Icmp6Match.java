package org.jnetfilter.core.ext.matches;

import java.util.EnumSet;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -m icmp6 --icmpv6-type T[/C]} (libip6t_icmp6, ip6_tables.c icmp6_match), IPv6 only. xtables
 * also finds it as "icmpv6" and "ipv6-icmp" (the names {@code -p} gives it), so those are registered as
 * aliases that save as icmp6.
 */
public final class Icmp6Match extends MatchExtension {
    static final OptionSpec ICMPV6_TYPE = OptionSpec.withArg("icmpv6-type");
    static final String NAME = "icmp6";

    public Icmp6Match() {
        this(NAME);
    }

    /** An alias name under which xtables_find_match finds icmp6. */
    public Icmp6Match(String alias) {
        super(alias, EnumSet.of(Family.IPV6), List.of(ICMPV6_TYPE));
    }

    public record Data(int type, int codeLo, int codeHi, boolean inverted) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! --icmpv6-type " : " --icmpv6-type ").append(type);
            if (codeLo != 0 || codeHi != 0xFF) {
                out.append('/').append(codeLo);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" ipv6-icmp");
            IcmpTypes.list(out, IcmpTypes.ICMPV6, type, codeLo, codeHi, inverted, numeric);
        }

        /**
         * ip6_tables.c icmp6_match: never a non-first fragment; a header shorter than 8 bytes drops. No
         * "any" type: the type must be equal.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            return IcmpTypes.matches(pkt, type, codeLo, codeHi, inverted, false);
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (ip.protocol() != Protocols.ICMPV6 || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
        }

        @Override
        public String saveName() {
            return NAME;
        }
    }

    /** The aliases icmpv6 and ipv6-icmp show icmp6's help, as iptables loads icmp6 for them. */
    @Override
    public String help(Family family) {
        return helpText("icmp6", family);
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(NAME) {
            private int[] t;
            private boolean inv;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                t = IcmpTypes.parse(IcmpTypes.ICMPV6, "ICMPv6", arg);
                inv = invert;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("icmpv6-type");
                return new Data(t[0], t[1], t[2], inv);
            }
        };
    }
}
