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
 * {@code -m icmp --icmp-type T[/C]} (libipt_icmp, ip_tables.c icmp_match), IPv4 only. Type 0xFF with all
 * codes is "any".
 */
public final class IcmpMatch extends MatchExtension {
    static final OptionSpec ICMP_TYPE = OptionSpec.withArg("icmp-type");

    public IcmpMatch() {
        super("icmp", EnumSet.of(Family.IPV4), List.of(ICMP_TYPE));
    }

    public record Data(int type, int codeLo, int codeHi, boolean inverted) implements ExtensionData {
        boolean isAny() {
            return type == 0xFF && codeLo == 0 && codeHi == 0xFF;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! --icmp-type " : " --icmp-type ");
            if (isAny()) {
                out.append("any");
                return;
            }
            out.append(type);
            if (codeLo != 0 || codeHi != 0xFF) {
                out.append('/').append(codeLo);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" icmp");
            IcmpTypes.list(out, IcmpTypes.ICMP, type, codeLo, codeHi, inverted, numeric);
        }

        /**
         * ip_tables.c icmp_match: never a non-first fragment; a header shorter than 8 bytes drops. Type
         * 0xFF matches every type and code.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            return IcmpTypes.matches(pkt, type, codeLo, codeHi, inverted, type == 0xFF);
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (ip.protocol() != Protocols.ICMP || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int[] t;
            private boolean inv;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                t = IcmpTypes.parse(IcmpTypes.ICMP, "ICMP", arg);
                inv = invert;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("icmp-type");
                return new Data(t[0], t[1], t[2], inv);
            }
        };
    }
}
