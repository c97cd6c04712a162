package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/** {@code -m tcpmss --mss N[:M]} (libxt_tcpmss, xt_tcpmss.c): the MSS option of a TCP SYN; needs -p tcp. */
public final class TcpmssMatch extends MatchExtension {
    static final OptionSpec MSS = OptionSpec.withArg("mss");
    static final long MAX = 0xFFFF;

    public TcpmssMatch() {
        super("tcpmss", List.of(MSS));
    }

    public record Data(int min, int max, boolean inverted) implements ExtensionData {
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
