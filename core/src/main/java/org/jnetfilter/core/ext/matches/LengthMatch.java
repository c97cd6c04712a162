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

/** {@code -m length --length min[:max]} (libxt_length, xt_length.c): the packet's layer-3 length. */
public final class LengthMatch extends MatchExtension {
    static final OptionSpec LENGTH = OptionSpec.withArg("length");

    public LengthMatch() {
        super("length", List.of(LENGTH));
    }

    public record Data(int min, int max, boolean inverted) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! --length " : " --length ");
            appendRange(out);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" length ").append(inverted ? "!" : "");
            appendRange(out);
        }

        /**
         * xt_length: IPv4 Total Length; IPv6 Payload Length + 40, both as the header says (the IPv6 sum
         * is kept in 16 bits, as length_mt6 keeps it).
         */
        @Override
        public boolean matches(PacketContext pkt) {
            int len = pkt.family() == Family.IPV4 ? pkt.networkU16(2) : (pkt.networkU16(4) + 40) & 0xFFFF;
            return (len >= min && len <= max) != inverted;
        }

        private void appendRange(StringBuilder out) {
            out.append(min);
            if (min != max) {
                out.append(':').append(max);
            }
        }
    }

    /**
     * xtables' UINT16RC argument: one or two numbers separated by ':', either side empty for its default
     * (0 and 65535). Returns the values read.
     */
    static long[] parseRange(String ext, String option, String arg, long lmax) {
        long[] vals = new long[2];
        int n = 0;
        int pos = 0;
        int[] end = new int[1];
        while (true) {
            if (n == 2) {
                throw XtablesException.parameter(ext + ": Too many components for option \"--" + option
                        + "\" (max: 2)\n");
            }
            long v;
            int stop;
            if (pos == arg.length() || arg.charAt(pos) == ':') {
                stop = pos;
                v = n == 1 ? lmax : 0;
            } else {
                v = TypeOfService.prefixNumber(arg, pos, end);
                if (v < 0 || v > lmax) {
                    throw XtablesException.parameter(ext + ": bad value for option \"--" + option + "\" near \""
                            + arg.substring(pos) + "\", or out of range (0-" + lmax + ").\n");
                }
                stop = end[0];
                if (stop != arg.length() && arg.charAt(stop) != ':') {
                    throw XtablesException.parameter(ext + ": Argument to \"--" + option
                            + "\" has unexpected characters near \"" + arg.substring(stop) + "\".\n");
                }
            }
            vals[n++] = v;
            if (stop == arg.length()) {
                break;
            }
            pos = stop + 1;
        }
        return n == 1 ? new long[] {vals[0]} : vals;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int min;
            private int max;
            private boolean inverted;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                long[] r = parseRange(extName, option.name(), arg, 65535);
                min = (int) r[0];
                max = (int) (r.length == 1 ? r[0] : r[1]);
                // iptables 1.8.11 refuses a range that can never match; 1.8.9 accepted it
                if (min > max) {
                    throw XtablesException.parameter(extName + ": Invalid range " + arg + " for option \"--"
                            + option.name() + "\" (min > max).\n");
                }
                inverted = invert;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("length");
                return new Data(min, max, inverted);
            }
        };
    }
}
