package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.Addresses;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m iprange --src-range A-B --dst-range A-B} (libxt_iprange revision 1, xt_iprange.c): inclusive
 * address ranges, numeric addresses only. Addresses are kept as {hi, lo} 64-bit halves (IPv4 in lo).
 */
public final class IprangeMatch extends MatchExtension {
    static final OptionSpec SRC_RANGE = OptionSpec.withArg("src-range");
    static final OptionSpec DST_RANGE = OptionSpec.withArg("dst-range");

    public IprangeMatch() {
        super("iprange", List.of(SRC_RANGE, DST_RANGE));
    }

    /** One inclusive range; a range not given is null in {@link Data}. */
    public record Range(long fromHi, long fromLo, long toHi, long toLo, boolean inverted) {
        boolean contains(long hi, long lo) {
            return compare(hi, lo, fromHi, fromLo) >= 0 && compare(hi, lo, toHi, toLo) <= 0;
        }

        private static int compare(long aHi, long aLo, long bHi, long bLo) {
            int c = Long.compareUnsigned(aHi, bHi);
            return c != 0 ? c : Long.compareUnsigned(aLo, bLo);
        }

        void append(StringBuilder out, Family family) {
            out.append(text(family, fromHi, fromLo)).append('-').append(text(family, toHi, toLo));
        }

        private static String text(Family family, long hi, long lo) {
            return family == Family.IPV4 ? AddressText.ipv4((int) lo) : AddressText.ipv6(hi, lo);
        }
    }

    public record Data(Range src, Range dst) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (src != null) {
                out.append(src.inverted() ? " ! --src-range " : " --src-range ");
                src.append(out, ip.family());
            }
            if (dst != null) {
                out.append(dst.inverted() ? " ! --dst-range " : " --dst-range ");
                dst.append(out, ip.family());
            }
        }

        /** xt_iprange revision 1: each range given, inclusive, compared as unsigned numbers. */
        @Override
        public boolean matches(PacketContext pkt) {
            return (src == null || src.contains(pkt.sourceHi(), pkt.sourceLo()) != src.inverted())
                    && (dst == null || dst.contains(pkt.destinationHi(), pkt.destinationLo()) != dst.inverted());
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            if (src != null) {
                out.append(" source IP range ").append(src.inverted() ? "! " : "");
                src.append(out, ip.family());
            }
            if (dst != null) {
                out.append(" destination IP range ").append(dst.inverted() ? "! " : "");
                dst.append(out, ip.family());
            }
        }
    }

    static Range parseRange(Family family, String option, String arg, boolean invert) {
        int dash = arg.indexOf('-');
        String first = dash < 0 ? arg : arg.substring(0, dash);
        String second = dash < 0 ? arg : arg.substring(dash + 1);
        long[] a = address(family, option, first);
        long[] b = address(family, option, second);
        return new Range(a[0], a[1], b[0], b[1], invert);
    }

    private static long[] address(Family family, String option, String text) {
        if (family == Family.IPV4) {
            long v = Addresses.parseIpv4(text);
            if (v >= 0) {
                return new long[] {0, v};
            }
        } else {
            long[] v = Addresses.parseIpv6(text);
            if (v != null) {
                return v;
            }
        }
        throw XtablesException.parameter("iprange: Bad value for \"--" + option + "\" option: \"" + text + "\"");
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private Range src;
            private Range dst;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                Range r = parseRange(c.family(), option.name(), arg, invert);
                int order = Long.compareUnsigned(r.fromHi(), r.toHi()) != 0 ? Long.compareUnsigned(r.fromHi(), r.toHi())
                        : Long.compareUnsigned(r.fromLo(), r.toLo());
                if (order > 0) {
                    // Linux: xt_iprange's checkentry logs this and accepts the rule; iptables-legacy shows it
                    StringBuilder text = new StringBuilder();
                    r.append(text, c.family());
                    c.warn("xt_iprange: range " + text + " is reversed and will never match");
                }
                if (option == SRC_RANGE) {
                    src = r;
                } else {
                    dst = r;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (src == null && dst == null) {
                    throw XtablesException.parameter("iprange match: You must specify `--src-range' or `--dst-range'");
                }
                return new Data(src, dst);
            }
        };
    }
}
