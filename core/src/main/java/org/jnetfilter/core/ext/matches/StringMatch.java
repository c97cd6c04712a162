package org.jnetfilter.core.ext.matches;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
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
 * {@code -m string} (libxt_string revision 1, xt_string): a byte pattern searched between two offsets with a
 * textsearch algorithm. The pattern is kept as bytes; it prints as {@code --hex-string} when any byte is not
 * printable, as libxt_string decides.
 */
public final class StringMatch extends MatchExtension {
    static final OptionSpec FROM = OptionSpec.withArg("from");
    static final OptionSpec TO = OptionSpec.withArg("to");
    static final OptionSpec ALGO = OptionSpec.withArg("algo");
    static final OptionSpec STRING = OptionSpec.withArg("string");
    static final OptionSpec HEX_STRING = OptionSpec.withArg("hex-string");
    static final OptionSpec ICASE = OptionSpec.flag("icase");

    // Linux: XT_STRING_MAX_PATTERN_SIZE = 128, XT_STRING_MAX_ALGO_NAME_SIZE = 16
    static final int MAX_PATTERN = 128;
    static final int MAX_ALGO = 15;
    /** The textsearch algorithms a stock kernel provides. */
    static final List<String> KERNEL_ALGOS = List.of("bm", "kmp", "fsm");

    public StringMatch() {
        super("string", List.of(FROM, TO, ALGO, STRING, HEX_STRING, ICASE));
    }

    public record Data(int from, int to, String algo, byte[] pattern, boolean invert, boolean icase)
            implements ExtensionData {
        @Override
        public boolean equals(Object o) {
            return o instanceof Data d && from == d.from && to == d.to && algo.equals(d.algo)
                    && Arrays.equals(pattern, d.pattern) && invert == d.invert && icase == d.icase;
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(pattern) * 31 + algo.hashCode();
        }

        /*
         * xt_string string_mt -> skb_find_text(skb, from, to): the bytes searched start at the network
         * header (skb->data at the IP hooks); an occurrence must start at or after from and end at or
         * before to and the packet's end. bm and kmp find the first occurrence of the same bytes, so one
         * naive scan answers for both, with one difference: ts_bm searches each block skb_seq_read hands
         * it on its own (Linux 6.x restarts its shift per block), so in a non-linear packet (a datagram
         * conntrack's defragmentation reassembled) an occurrence across two blocks is not found by bm,
         * while kmp carries its state over (PacketContext.blockEnd); with --icase both sides go through the kernel's toupper, whose
         * ctype table is Latin-1 (lib/ctype.c). fsm reads the pattern as a token program (TsFsm).
         */
        @Override
        public boolean matches(PacketContext pkt) {
            if (algo.equals("fsm")) {
                return TsFsm.found(pattern, pkt, from, to) != invert;
            }
            int end = Math.min(to, pkt.length());
            int last = end - pattern.length;
            boolean perBlock = algo.equals("bm");
            for (int p = from; p <= last; p++) {
                if ((!perBlock || p + pattern.length <= pkt.blockEnd(p)) && matchesAt(pkt, p)) {
                    return !invert;
                }
            }
            return invert;
        }

        private boolean matchesAt(PacketContext pkt, int p) {
            for (int i = 0; i < pattern.length; i++) {
                int a = pkt.networkU8(p + i);
                int b = pattern[i] & 0xFF;
                if (icase ? kernelToUpper(a) != kernelToUpper(b) : a != b) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            boolean hex = isHex();
            out.append(invert ? " !" : "").append(hex ? " --hex-string" : " --string");
            appendPattern(out, hex);
            out.append(" --algo ").append(algo);
            if (from != 0) {
                out.append(" --from ").append(from);
            }
            if (to != 65535) {
                out.append(" --to ").append(to);
            }
            if (icase) {
                out.append(" --icase");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" STRING match ").append(invert ? "!" : "");
            appendPattern(out, isHex());
            out.append(" ALGO name ").append(algo);
            if (from != 0) {
                out.append(" FROM ").append(from);
            }
            if (to != 65535) {
                out.append(" TO ").append(to);
            }
            if (icase) {
                out.append(" ICASE");
            }
        }

        private boolean isHex() {
            for (byte b : pattern) {
                if (b < 0x20 || b > 0x7e) {
                    return true;
                }
            }
            return false;
        }

        private void appendPattern(StringBuilder out, boolean hex) {
            out.append(" \"");
            if (hex) {
                out.append('|');
                for (byte b : pattern) {
                    out.append(String.format("%02x", b & 0xFF));
                }
                out.append('|');
            } else {
                for (byte b : pattern) {
                    if (b == '"' || b == '\\') {
                        out.append('\\');
                    }
                    out.append((char) b);
                }
            }
            out.append('"');
        }

        /**
         * string_mt_check: from after to is EINVAL; an algorithm the kernel lacks is ENOENT; a pattern fsm_init
         * refuses (not whole tokens, a bad token, or --icase) is EINVAL, as textsearch_prepare's error.
         */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (from > to || pattern.length == 0 || pattern.length > MAX_PATTERN) {
                throw XtablesException.invalidArgument();
            }
            if (!KERNEL_ALGOS.contains(algo)) {
                throw XtablesException.kernel("No chain/target/match by that name");
            }
            if (algo.equals("fsm") && !TsFsm.accepts(pattern, icase)) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    /**
     * Linux toupper: lower-case letters of lib/ctype.c's Latin-1 table (a-z, 0xDF-0xF6, 0xF8-0xFF) lose
     * 0x20; everything else stays.
     */
    static int kernelToUpper(int c) {
        boolean lower = (c >= 'a' && c <= 'z') || (c >= 0xDF && c <= 0xFF && c != 0xF7);
        return lower ? c - 0x20 : c;
    }

    /** parse_hex_string: literal bytes with |hex| runs; backslash escapes the next character outside them. */
    static byte[] parseHex(String text) {
        byte[] s = text.getBytes(StandardCharsets.UTF_8);
        int len = s.length;
        if (len == 0) {
            throw XtablesException.parameter("STRING must contain at least one char");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean hex = false;
        boolean literal = false;
        int i = 0;
        while (i < len) {
            if (s[i] == '\\' && !hex) {
                literal = true;
            } else if (s[i] == '\\') {
                throw XtablesException.parameter("Cannot include literals in hex data");
            } else if (s[i] == '|') {
                if (hex) {
                    hex = false;
                } else {
                    hex = true;
                    while (i + 1 < len && s[i + 1] == ' ') {
                        i++;
                    }
                }
                if (i + 1 >= len) {
                    break;
                }
                i++;
                continue;
            }
            if (literal) {
                if (i + 1 >= len) {
                    throw XtablesException.parameter("Bad literal placement at end of string");
                }
                out.write(s[i + 1]);
                i += 2;
                literal = false;
            } else if (hex) {
                if (i + 1 >= len) {
                    throw XtablesException.parameter("Odd number of hex digits");
                }
                if (i + 2 >= len) {
                    throw XtablesException.parameter("Invalid hex block");
                }
                if (!isHexDigit(s[i])) {
                    throw XtablesException.parameter("Invalid hex char '" + (char) s[i] + "'");
                }
                if (!isHexDigit(s[i + 1])) {
                    throw XtablesException.parameter("Invalid hex char '" + (char) s[i + 1] + "'");
                }
                out.write(Integer.parseInt(new String(s, i, 2, StandardCharsets.US_ASCII), 16));
                i += s[i + 2] == ' ' ? 3 : 2;
            } else {
                out.write(s[i]);
                i++;
            }
            if (out.size() > MAX_PATTERN + 1) {
                throw XtablesException.parameter("STRING too long \"" + text + "\"");
            }
        }
        return out.toByteArray();
    }

    private static boolean isHexDigit(byte b) {
        return Character.digit((char) b, 16) >= 0;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int from;
            private int to = 65535;
            private String algo;
            private byte[] pattern;
            private boolean invert;
            private boolean icase;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                if (option == STRING || option == HEX_STRING) {
                    OptionSpec other = option == STRING ? HEX_STRING : STRING;
                    if (seen(other.name())) {
                        throw XtablesException.parameter(
                                "string: option \"--string\" cannot be used together with \"--hex-string\".\n");
                    }
                    once(option);
                    if (option == STRING) {
                        byte[] b = arg.getBytes(StandardCharsets.UTF_8);
                        if (b.length > MAX_PATTERN) {
                            throw XtablesException.parameter("STRING too long \"" + arg + "\"");
                        }
                        pattern = b;
                    } else {
                        pattern = parseHex(arg);
                    }
                    invert = inv;
                    return;
                }
                plain(option, inv);
                if (option == FROM) {
                    from = (int) uint(option, arg, 0, 65535);
                } else if (option == TO) {
                    to = (int) uint(option, arg, 0, 65535);
                } else if (option == ALGO) {
                    if (arg.length() > MAX_ALGO) {
                        throw XtablesException.parameter("string: option \"--algo\" is too long (max: " + MAX_ALGO
                                + ")\n");
                    }
                    algo = arg;
                } else {
                    icase = true;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (pattern == null) {
                    throw XtablesException.parameter("STRING match: You must specify `--string' or `--hex-string'");
                }
                mandatory("algo");
                return new Data(from, to, algo, pattern, invert, icase);
            }
        };
    }
}
