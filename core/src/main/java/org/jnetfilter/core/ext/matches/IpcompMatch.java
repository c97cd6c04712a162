package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m ipcomp --ipcompspi N[:M] [--compres]} (libxt_ipcomp, xt_ipcomp.c): the IPComp CPI and the
 * reserved field; needs {@code -p ipcomp}.
 */
public final class IpcompMatch extends MatchExtension {
    static final OptionSpec IPCOMPSPI = OptionSpec.withArg("ipcompspi");
    static final OptionSpec COMPRES = OptionSpec.flag("compres");
    static final long MAX = 0xFFFFFFFFL;
    // Linux: IPPROTO_COMP
    static final int IPPROTO_COMP = 108;
    // Linux: sizeof(struct ip_comp_hdr): next header, flags, CPI
    static final int COMP_HEADER = 4;

    public IpcompMatch() {
        super("ipcomp", List.of(IPCOMPSPI, COMPRES));
    }

    public record Data(SpiRange spi, boolean reserved) implements ExtensionData {
        /**
         * xt_ipcomp comp_mt: never a non-first fragment; the 4-byte IPComp header at thoff must be there,
         * else drop; its 16-bit CPI is what --ipcompspi ranges over. --compres is kept but, as in the
         * kernel, not looked at.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            if (pkt.fragmentOffset() != 0) {
                return false;
            }
            if (!pkt.transportAvailable(COMP_HEADER)) {
                pkt.hotdrop(true);
                return false;
            }
            return spi.matches(pkt.transportU16(2));
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            spi.save(out, "ipcompspi");
            if (reserved) {
                out.append(" --compres");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" comp");
            if (!spi.isAny()) {
                out.append(' ');
                spi.list(out, "spi");
            }
            if (reserved) {
                out.append(" reserved");
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (ip.protocol() != IPPROTO_COMP || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            // iptables 1.8.9 left 0:0 here, saving "--ipcompspi 0" for a bare -m ipcomp; the full range
            // is what a saved "-m ipcomp" must read back as
            private SpiRange spi = SpiRange.any(MAX);
            private boolean reserved;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                if (option == COMPRES) {
                    plain(option, invert);
                    reserved = true;
                    return;
                }
                once(option);
                spi = SpiRange.parse(extName, option.name(), arg, MAX, invert);
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(spi, reserved);
            }
        };
    }
}
