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
    // Linux: sizeof(struct ip_auth_hdr): next header, length, reserved, SPI, sequence number
    static final int AH_HEADER = 12;

    public AhMatch() {
        super("ah", List.of(AHSPI, AHLEN, AHRES));
    }

    /** @param length 0 with lengthInverted false when not matched on (IPv6 only) */
    public record Data(SpiRange spi, long length, boolean lengthInverted, boolean reserved)
            implements ExtensionData {
        /*
         * IPv4, ipt_ah ah_mt: never a non-first fragment; the 12-byte AH header at thoff (the rule's -p ah)
         * must be there, else drop; only the SPI is looked at. IPv6, ip6t_ah ah_mt6: the AH header is
         * found anywhere in the chain (ipv6_find_hdr; not there: no match; chain cut short: drop); then
         * the SPI, --ahlen against the header's length in bytes ((hdrlen + 2) * 4; 0 means not asked) and
         * --ahres against a zero reserved field.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            if (pkt.family() == Family.IPV4) {
                if (pkt.fragmentOffset() != 0) {
                    return false;
                }
                if (!pkt.transportAvailable(AH_HEADER)) {
                    pkt.hotdrop(true);
                    return false;
                }
                return spi.matches(u32(pkt, pkt.transportOffset() + 4));
            }
            int ptr = Ipv6OptionsHeader.find(pkt, Ipv6OptionsHeader.NEXTHDR_AUTH);
            if (ptr < 0) {
                if (ptr != Ipv6OptionsHeader.NOT_FOUND) {
                    pkt.hotdrop(true);
                }
                return false;
            }
            if (ptr + AH_HEADER > pkt.length()) {
                pkt.hotdrop(true);
                return false;
            }
            long hdrlen = (pkt.networkU8(ptr + 1) + 2) << 2;
            return spi.matches(u32(pkt, ptr + 4))
                    && (length == 0 || (length == hdrlen) != lengthInverted)
                    && !(reserved && pkt.networkU16(ptr + 2) != 0);
        }

        private static long u32(PacketContext pkt, int at) {
            return Integer.toUnsignedLong(pkt.networkU16(at) << 16 | pkt.networkU16(at + 2));
        }
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
