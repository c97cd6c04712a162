package org.jnetfilter.core.ext.matches;

import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.IpSpec;

/**
 * The Hop-by-Hop and Destination Options headers as the hbh and dst matches see them (ip6t_hbh.c serves
 * both): the header length and a list of options {@code type[:length]}.
 */
final class Ipv6OptionsHeader {
    // Linux: IP6T_OPTS_OPTSNR
    static final int MAX_OPTIONS = 16;
    /** Low byte of an option entry meaning "any length", as ip6t_opts keeps it. */
    static final int ANY_LENGTH = 0x00FF;
    static final long MAX = 0xFFFFFFFFL;

    private Ipv6OptionsHeader() {
    }

    /**
     * @param length  -1 when not matched on
     * @param options type in the high byte, length (or {@link #ANY_LENGTH}) in the low byte
     */
    record Data(String name, long length, boolean lengthInverted, List<Integer> options)
            implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (length >= 0) {
                out.append(lengthInverted ? " ! --" : " --").append(name).append("-len ").append(length);
            }
            if (!options.isEmpty()) {
                out.append(" --").append(name).append("-opts ");
                appendOptions(out);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(' ').append(name);
            if (length >= 0) {
                out.append(" length:").append(lengthInverted ? "!" : "").append(length);
            }
            if (!options.isEmpty()) {
                out.append(" opts ");
                appendOptions(out);
            }
        }

        private void appendOptions(StringBuilder out) {
            for (int i = 0; i < options.size(); i++) {
                int o = options.get(i);
                out.append(i > 0 ? "," : "").append(o >> 8);
                if ((o & 0xFF) != ANY_LENGTH) {
                    out.append(':').append(o & 0xFF);
                }
            }
        }
    }

    static final class Parser extends OptionParser {
        private final OptionSpec lenOption;
        private long length = -1;
        private boolean lengthInverted;
        private final List<Integer> options = new ArrayList<>();

        Parser(String name, OptionSpec lenOption) {
            super(name);
            this.lenOption = lenOption;
        }

        @Override
        public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
            if (option == lenOption) {
                once(option);
                length = uint(option, arg, 0, MAX);
                lengthInverted = invert;
                return;
            }
            plain(option, invert);
            for (String item : arg.split(",", -1)) {
                if (options.size() >= MAX_OPTIONS) {
                    throw XtablesException.parameter("too many addresses specified");
                }
                int colon = item.indexOf(':');
                String type = colon < 0 ? item : item.substring(0, colon);
                int t = strtol(type, "opt");
                int len = colon < 0 ? ANY_LENGTH : strtol(item.substring(colon + 1), "length");
                options.add(((t & 0xFF) << 8) | (len & 0xFF));
            }
        }

        /** strtol(s, NULL, 0) with its leading-digits reading; "no valid digits" when there are none. */
        private int strtol(String s, String what) {
            int i = 0;
            boolean neg = false;
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
                neg = s.charAt(i) == '-';
                i++;
            }
            int radix = 10;
            if (s.startsWith("0x", i) || s.startsWith("0X", i)) {
                if (i + 2 < s.length() && Character.digit(s.charAt(i + 2), 16) >= 0) {
                    radix = 16;
                    i += 2;
                }
            } else if (s.startsWith("0", i)) {
                radix = 8;
            }
            long v = 0;
            int start = i;
            while (i < s.length() && Character.digit(s.charAt(i), radix) >= 0) {
                v = Math.min(v * radix + Character.digit(s.charAt(i), radix), Integer.MAX_VALUE);
                i++;
            }
            if (i == start) {
                throw XtablesException.parameter(extName + ": no valid digits in " + what + " `" + s + "'");
            }
            return (int) (neg ? -v : v);
        }

        @Override
        public ExtensionData finish(ParseContext c) {
            return new Data(extName, length, lengthInverted, List.copyOf(options));
        }
    }
}
