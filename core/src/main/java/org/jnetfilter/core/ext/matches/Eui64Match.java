package org.jnetfilter.core.ext.matches;

import java.util.EnumSet;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m eui64} (libip6t_eui64, ip6t_eui64.c): the source address's interface identifier is the EUI-64
 * of the Ethernet source MAC. Needs the MAC header, so only in PREROUTING, INPUT and FORWARD.
 */
public final class Eui64Match extends MatchExtension {
    // Linux: eui64_mt_check allows NF_INET_PRE_ROUTING, NF_INET_LOCAL_IN, NF_INET_FORWARD
    static final int ALLOWED_HOOKS = Hook.PREROUTING.bit() | Hook.INPUT.bit() | Hook.FORWARD.bit();

    public Eui64Match() {
        super("eui64", EnumSet.of(Family.IPV6), List.<OptionSpec>of());
    }

    public record Data() implements ExtensionData {
        /**
         * ip6t_eui64: the low 64 bits of the IPv6 source must be the modified EUI-64 of the Ethernet source
         * (the MAC split by ff:fe, the universal/local bit flipped). Without an Ethernet header a non-first
         * fragment is dropped, anything else does not match.
         */
        @Override
        public boolean matches(org.jnetfilter.core.netfilter.PacketContext pkt) {
            long mac = pkt.macSource();
            if (mac < 0) {
                if (pkt.fragmentOffset() != 0) {
                    pkt.hotdrop(true);
                }
                return false;
            }
            long eui = ((mac >>> 24) << 40) | (0xFFFEL << 24) | (mac & 0xFFFFFFL);
            eui ^= 0x02L << 56;
            return pkt.sourceLo() == eui;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
        }

        /** iptables prints "eui64 " without the usual leading space. */
        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append("eui64 ");
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if ((hookMask & ~ALLOWED_HOOKS) != 0) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new ExtensionParser() {
            @Override
            public void parse(org.jnetfilter.core.ext.OptionSpec option, boolean invert, String arg, ParseContext c) {
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data();
            }
        };
    }
}
