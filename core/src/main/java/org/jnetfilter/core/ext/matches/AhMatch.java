package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -m ah}: for IPv4 (libipt_ah, ipt_ah.c) the AH SPI of a {@code -p ah} packet; for IPv6 (libip6t_ah,
 * ip6t_ah.c) the AH extension header anywhere in the chain, with its length and reserved field too.
 * One name, two modules: the IPv6-only options are unknown to iptables.
 */
public final class AhMatch extends MatchExtension {
    static final OptionSpec AHSPI = OptionSpec.withArg("ahspi");
    static final OptionSpec AHLEN = OptionSpec.withArg("ahlen");
    static final OptionSpec AHRES = OptionSpec.flag("ahres");
    static final long MAX = 0xFFFFFFFFL;

    public AhMatch() {
        super("ah", List.of(AHSPI, AHLEN, AHRES));
    }

    /** @param length 0 with lengthInverted false when not matched on (IPv6 only) */
    public record Data(SpiRange spi, long length, boolean lengthInverted, boolean reserved)
            implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            spi.save(out, "ahspi");
            if (length != 0 || lengthInverted) {
                out.append(lengthInverted ? " ! --ahlen " : " --ahlen ").append(length);
            }
            if (reserved) {
                out.append(" --ahres");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            if (ip.family() == Family.IPV4) {
                out.append(" ah ");
                spi.list(out, "spi");
                return;
            }
            out.append(" ah ");
            spi.list(out, "spi");
            if (length != 0 || lengthInverted) {
                out.append("length:").append(lengthInverted ? "!" : "").append(length);
            }
            if (reserved) {
                out.append(" reserved");
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (ip.family() == Family.IPV4 && (ip.protocol() != Protocols.AH || ip.inverted(IpSpec.INV_PROTO))) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        boolean v4 = ctx.family() == Family.IPV4;
        return new OptionParser(name()) {
            private SpiRange spi = SpiRange.any(MAX);
            private long length;
            private boolean lengthInverted;
            private boolean reserved;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                if (v4 && option != AHSPI) {
                    throw XtablesException.parameter("unknown option \"--" + option.name() + "\"");
                }
                if (option == AHSPI) {
                    once(option);
                    spi = SpiRange.parse(extName, option.name(), arg, MAX, invert);
                } else if (option == AHLEN) {
                    once(option);
                    length = uint(option, arg, 0, MAX);
                    lengthInverted = invert;
                } else {
                    plain(option, invert);
                    reserved = true;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(spi, length, lengthInverted, reserved);
            }
        };
    }
}
