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

/** {@code -m tcpmss --mss N[:M]} (libxt_tcpmss, xt_tcpmss.c): the MSS option of a TCP SYN; needs -p tcp. */
public final class TcpmssMatch extends MatchExtension {
    static final OptionSpec MSS = OptionSpec.withArg("mss");
    static final long MAX = 0xFFFF;
    // Linux: sizeof(struct tcphdr), TCPOPT_MSS, TCPOLEN_MSS
    static final int TCP_HEADER = 20;
    static final int OPT_MSS = 2;
    static final int OPT_MSS_LENGTH = 4;

    public TcpmssMatch() {
        super("tcpmss", List.of(MSS));
    }

    public record Data(int min, int max, boolean inverted) implements ExtensionData {
        /**
         * xt_tcpmss tcpmss_mt: the first MSS option (kind 2, length 4, wholly inside the options) decides;
         * a packet without one matches only inverted. A TCP header cut short, a data offset below 5 or
         * options cut short drop. The fragment offset is not looked at (the rule's -p tcp --syn is).
         */
        @Override
        public boolean matches(PacketContext pkt) {
            if (!pkt.transportAvailable(TCP_HEADER)) {
                pkt.hotdrop(true);
                return false;
            }
            int headerLength = (pkt.transportU8(12) >>> 4) << 2;
            if (headerLength < TCP_HEADER) {
                pkt.hotdrop(true);
                return false;
            }
            int optionsLength = headerLength - TCP_HEADER;
            if (optionsLength == 0) {
                return inverted;
            }
            if (!pkt.transportAvailable(headerLength)) {
                pkt.hotdrop(true);
                return false;
            }
            for (int i = 0; i < optionsLength; ) {
                int kind = pkt.transportU8(TCP_HEADER + i);
                if (kind == OPT_MSS && optionsLength - i >= OPT_MSS_LENGTH
                        && pkt.transportU8(TCP_HEADER + i + 1) == OPT_MSS_LENGTH) {
                    int mss = pkt.transportU16(TCP_HEADER + i + 2);
                    return (mss >= min && mss <= max) != inverted;
                }
                if (kind < 2 || i + 1 >= optionsLength) {
                    i++;
                } else {
                    int len = pkt.transportU8(TCP_HEADER + i + 1);
                    i += len == 0 ? 1 : len;
                }
            }
            return inverted;
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! --mss " : " --mss ").append(min);
            if (min != max) {
                out.append(':').append(max);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" tcpmss match ").append(inverted ? "!" : "").append(min);
            if (min != max) {
                out.append(':').append(max);
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (ip.protocol() != Protocols.TCP || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long lo;
            private long hi;
            private boolean inv;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                int colon = arg.indexOf(':');
                String a = colon < 0 ? arg : arg.substring(0, colon);
                String b = colon < 0 ? null : arg.substring(colon + 1);
                lo = a.isEmpty() && colon >= 0 ? 0 : value(option, a);
                hi = colon < 0 ? lo : b.isEmpty() ? MAX : value(option, b);
                if (lo > hi) {
                    throw XtablesException.parameter("tcpmss: invalid range given");
                }
                inv = invert;
            }

            private long value(OptionSpec option, String s) {
                long v = org.jnetfilter.core.ext.Numbers.parseUnsigned(s, 0, MAX);
                if (v < 0 || s.isEmpty()) {
                    throw XtablesException.parameter("tcpmss: bad value for option \"--mss\" near \"" + s
                            + "\", or out of range (0-65535).\n");
                }
                return v;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("mss");
                return new Data((int) lo, (int) hi, inv);
            }
        };
    }
}
