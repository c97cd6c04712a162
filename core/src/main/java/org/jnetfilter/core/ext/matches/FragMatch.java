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

/**
 * {@code -m frag} (libip6t_frag, ip6t_frag.c): the IPv6 Fragment header's identification, length, reserved
 * bits, and whether it is the first, a middle or the last fragment.
 */
public final class FragMatch extends MatchExtension {
    static final OptionSpec FRAGID = OptionSpec.withArg("fragid");
    static final OptionSpec FRAGLEN = OptionSpec.withArg("fraglen");
    static final OptionSpec FRAGRES = OptionSpec.flag("fragres");
    static final OptionSpec FRAGFIRST = OptionSpec.flag("fragfirst");
    static final OptionSpec FRAGMORE = OptionSpec.flag("fragmore");
    static final OptionSpec FRAGLAST = OptionSpec.flag("fraglast");
    static final long MAX = 0xFFFFFFFFL;
    // Linux: sizeof(struct frag_hdr), IP6_MF
    static final int FRAG_HEADER = 8;
    static final int MORE_FRAGMENTS = 0x0001;

    public FragMatch() {
        super("frag", EnumSet.of(Family.IPV6), List.of(FRAGID, FRAGLEN, FRAGRES, FRAGFIRST, FRAGMORE, FRAGLAST));
    }

    /** @param length -1 when not matched on */
    public record Data(SpiRange id, long length, boolean lengthInverted, boolean reserved, boolean first,
                       boolean more, boolean last) implements ExtensionData {
        /*
         * ip6t_frag frag_mt6: the fragment header anywhere in the chain (not there: no match; chain cut
         * short: drop); its identification in the --fragid range; --fragres: the reserved byte and the two
         * reserved bits zero; --fragfirst: offset 0; --fragmore / --fraglast: M set / clear. The header is
         * 8 bytes whatever --fraglen says: the kernel keeps that value but never compares it.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            int ptr = Ipv6OptionsHeader.find(pkt, Ipv6OptionsHeader.NEXTHDR_FRAGMENT);
            if (ptr < 0) {
                if (ptr != Ipv6OptionsHeader.NOT_FOUND) {
                    pkt.hotdrop(true);
                }
                return false;
            }
            if (ptr + FRAG_HEADER > pkt.length()) {
                pkt.hotdrop(true);
                return false;
            }
            int fragOff = pkt.networkU16(ptr + 2);
            long identification = Integer.toUnsignedLong(pkt.networkU16(ptr + 4) << 16 | pkt.networkU16(ptr + 6));
            return id.matches(identification)
                    && !(reserved && (pkt.networkU8(ptr + 1) != 0 || (fragOff & 0x6) != 0))
                    && !(first && (fragOff & ~0x7) != 0)
                    && !(more && (fragOff & MORE_FRAGMENTS) == 0)
                    && !(last && (fragOff & MORE_FRAGMENTS) != 0);
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            id.save(out, "fragid");
            if (length >= 0) {
                out.append(lengthInverted ? " ! --fraglen " : " --fraglen ").append(length);
            }
            appendFlags(out, " --frag");
        }

        private void appendFlags(StringBuilder out, String prefix) {
            if (reserved) {
                out.append(prefix).append("res");
            }
            if (first) {
                out.append(prefix).append("first");
            }
            if (more) {
                out.append(prefix).append("more");
            }
            if (last) {
                out.append(prefix).append("last");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" frag ");
            id.list(out, "id");
            if (length >= 0) {
                out.append(" length:").append(lengthInverted ? "!" : "").append(length);
            }
            if (reserved) {
                out.append(" reserved");
            }
            if (first) {
                out.append(" first");
            }
            if (more) {
                out.append(" more");
            }
            if (last) {
                out.append(" last");
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private SpiRange id = SpiRange.any(MAX);
            private long length = -1;
            private boolean lengthInverted;
            private boolean reserved;
            private boolean first;
            private boolean more;
            private boolean last;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                if (option == FRAGID) {
                    once(option);
                    id = SpiRange.parse(extName, option.name(), arg, MAX, invert);
                } else if (option == FRAGLEN) {
                    once(option);
                    length = uint(option, arg, 0, MAX);
                    lengthInverted = invert;
                } else {
                    plain(option, invert);
                    if (option == FRAGMORE && seen("fraglast") || option == FRAGLAST && seen("fragmore")) {
                        // xtables names the pair in option-table order, whichever came first
                        throw XtablesException.parameter(
                                "frag: option \"--fragmore\" cannot be used together with \"--fraglast\".\n");
                    }
                    reserved |= option == FRAGRES;
                    first |= option == FRAGFIRST;
                    more |= option == FRAGMORE;
                    last |= option == FRAGLAST;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(id, length, lengthInverted, reserved, first, more, last);
            }
        };
    }
}
