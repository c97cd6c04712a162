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
import org.jnetfilter.core.rules.Protocols;

/** {@code -m esp --espspi N[:M]} (libxt_esp, xt_esp.c): the ESP SPI in a range; needs {@code -p esp}. */
public final class EspMatch extends MatchExtension {
    static final OptionSpec ESPSPI = OptionSpec.withArg("espspi");
    static final long MAX = 0xFFFFFFFFL;
    // Linux: sizeof(struct ip_esp_hdr)
    static final int ESP_HEADER = 8;

    public EspMatch() {
        super("esp", List.of(ESPSPI));
    }

    public record Data(SpiRange spi) implements ExtensionData {
        /**
         * xt_esp esp_mt: never a non-first fragment; the 8-byte ESP header (SPI, sequence number) at thoff
         * must be there, else drop. The rule's {@code -p esp} chose the protocol.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            if (pkt.fragmentOffset() != 0) {
                return false;
            }
            if (!pkt.transportAvailable(ESP_HEADER)) {
                pkt.hotdrop(true);
                return false;
            }
            return spi.matches(Integer.toUnsignedLong(pkt.transportU16(0) << 16 | pkt.transportU16(2)));
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            spi.save(out, "espspi");
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" esp");
            if (!spi.isAny()) {
                out.append(' ');
                spi.list(out, "spi");
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (ip.protocol() != Protocols.ESP || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private SpiRange spi = SpiRange.any(MAX);

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                spi = SpiRange.parse(extName, option.name(), arg, MAX, invert);
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(spi);
            }
        };
    }
}
