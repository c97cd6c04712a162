package org.jnetfilter.core.ext.matches;

import java.util.ArrayList;
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
 * {@code -m u32} (libxt_u32, xt_u32): tests of 32-bit words fetched from the packet. Each test is a location
 * (numbers joined by {@code & << >> @}) and a list of value ranges, as struct xt_u32_test holds them.
 */
public final class U32Match extends MatchExtension {
    static final OptionSpec U32 = OptionSpec.withArg("u32");

    // Linux: XT_U32_MAXSIZE = 10
    static final int MAX_SIZE = 10;

    public enum Op { AND, LEFTSH, RIGHTSH, AT }

    public record Location(Op op, long number) {
    }

    public record Test(List<Location> location, List<long[]> values) {
        public Test {
            location = List.copyOf(location);
            values = List.copyOf(values);
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Test t) || !location.equals(t.location) || values.size() != t.values.size()) {
                return false;
            }
            for (int i = 0; i < values.size(); i++) {
                if (!java.util.Arrays.equals(values.get(i), t.values.get(i))) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public int hashCode() {
            return location.hashCode();
        }
    }

    public U32Match() {
        super("u32", List.of(U32));
    }

    public record Data(List<Test> tests, boolean invert) implements ExtensionData {
        public Data {
            tests = List.copyOf(tests);
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(invert ? " ! --u32" : " --u32");
            dump(out);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(invert ? " u32 !" : " u32");
            dump(out);
        }

        private void dump(StringBuilder out) {
            out.append(" \"");
            for (int t = 0; t < tests.size(); t++) {
                Test test = tests.get(t);
                if (t > 0) {
                    out.append("&&");
                }
                for (int i = 0; i < test.location().size(); i++) {
                    Location l = test.location().get(i);
                    if (i > 0) {
                        out.append(switch (l.op()) {
                            case AND -> "&";
                            case LEFTSH -> "<<";
                            case RIGHTSH -> ">>";
                            case AT -> "@";
                        });
                    }
                    out.append("0x").append(Long.toHexString(l.number()));
                }
                out.append('=');
                for (int i = 0; i < test.values().size(); i++) {
                    long[] v = test.values().get(i);
                    if (i > 0) {
                        out.append(',');
                    }
                    out.append("0x").append(Long.toHexString(v[0]));
                    if (v[0] != v[1]) {
                        out.append(":0x").append(Long.toHexString(v[1]));
                    }
                }
            }
            out.append('"');
        }

        /*
         * xt_u32 u32_match_it: every test must hold. A location reads a big-endian u32 at an offset from
         * the network header; "&", "<<", ">>" work on that 32-bit value ("<<" and ">>" by 32 or more
         * shift modulo 32, as the x86 instruction the kernel compiles to), "@" moves the base by the
         * value read so far and reads at base + number. Reading past skb->len fails the whole match
         * (no hotdrop); every u32 sum that would wrap fails it too.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            return matchesAll(pkt) != invert;
        }

        private boolean matchesAll(PacketContext pkt) {
            long len = pkt.length();
            for (int t = 0, n = tests.size(); t < n; t++) {
                Test test = tests.get(t);
                List<Location> location = test.location();
                long pos = location.get(0).number();
                if (len < 4 || pos > len - 4) {
                    return false;
                }
                long at = 0;
                int val = word(pkt, pos);
                for (int i = 1, m = location.size(); i < m; i++) {
                    Location l = location.get(i);
                    int number = (int) l.number();
                    switch (l.op()) {
                        case AND -> val &= number;
                        case LEFTSH -> val <<= number;
                        case RIGHTSH -> val >>>= number;
                        case AT -> {
                            at += Integer.toUnsignedLong(val);
                            if (at > 0xFFFFFFFFL || at + 4 > 0xFFFFFFFFL || len < at + 4
                                    || l.number() > len - at - 4) {
                                return false;
                            }
                            val = word(pkt, at + l.number());
                        }
                    }
                }
                long v = Integer.toUnsignedLong(val);
                boolean inRange = false;
                for (int i = 0, m = test.values().size(); i < m && !inRange; i++) {
                    long[] range = test.values().get(i);
                    inRange = range[0] <= v && v <= range[1];
                }
                if (!inRange) {
                    return false;
                }
            }
            return true;
        }

        private static int word(PacketContext pkt, long at) {
            return pkt.networkU16((int) at) << 16 | pkt.networkU16((int) at + 2);
        }
    }

    /** A reader over the test text: blanks are skipped anywhere; message positions count from 0, as libxt_u32's. */
    private static final class Reader {
        final String s;
        int pos;

        Reader(String s) {
            this.s = s;
        }

        void skipBlanks() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                pos++;
            }
        }

        char peek() {
            skipBlanks();
            return pos < s.length() ? s.charAt(pos) : '\0';
        }

        XtablesException error(String what) {
            return XtablesException.parameter("u32: at char " + pos + ": " + what);
        }

        /** strtoul(s, &end, 0) of a u32; "not a number or out of range" when none or too large. */
        long number() {
            skipBlanks();
            int i = pos;
            int radix = 10;
            if ((s.startsWith("0x", i) || s.startsWith("0X", i)) && i + 2 < s.length()
                    && Character.digit(s.charAt(i + 2), 16) >= 0) {
                radix = 16;
                i += 2;
            } else if (i < s.length() && s.charAt(i) == '0') {
                radix = 8;
            }
            int digits = i;
            while (i < s.length() && Character.digit(s.charAt(i), radix) >= 0) {
                i++;
            }
            if (i == digits) {
                throw error("not a number or out of range");
            }
            String text = s.substring(digits, i).replaceFirst("^0+(?=.)", "");
            if (text.length() > 11 || Long.parseLong(text, radix) > 0xFFFFFFFFL) {
                throw error("not a number or out of range");
            }
            pos = i;
            return Long.parseLong(text, radix);
        }
    }

    static List<Test> parseTests(String text) {
        Reader r = new Reader(text);
        List<Test> tests = new ArrayList<>();
        while (true) {
            if (r.peek() == '\0') {
                throw XtablesException.parameter("u32: abrupt end of input after location specifier");
            }
            List<Location> loc = new ArrayList<>();
            loc.add(new Location(Op.AND, r.number()));
            while (true) {
                char c = r.peek();
                Op op;
                if (c == '=') {
                    r.pos++;
                    break;
                } else if (c == '\0') {
                    throw XtablesException.parameter("u32: abrupt end of input after location specifier");
                } else if (c == '&') {
                    op = Op.AND;
                    r.pos++;
                } else if (c == '<' && r.s.startsWith("<<", r.pos)) {
                    op = Op.LEFTSH;
                    r.pos += 2;
                } else if (c == '>' && r.s.startsWith(">>", r.pos)) {
                    op = Op.RIGHTSH;
                    r.pos += 2;
                } else if (c == '@') {
                    op = Op.AT;
                    r.pos++;
                } else {
                    throw r.error("expected \"=\", \"&\", \"<<\", \">>\" or \"@\"");
                }
                loc.add(new Location(op, r.number()));
                if (loc.size() > MAX_SIZE) {
                    throw r.error("too many operators");
                }
            }
            if (r.peek() == '\0') {
                throw XtablesException.parameter("u32: test ended with no value specified");
            }
            List<long[]> values = new ArrayList<>();
            while (true) {
                long lo = r.number();
                long hi = lo;
                if (r.peek() == ':') {
                    r.pos++;
                    hi = r.number();
                }
                values.add(new long[] {lo, hi});
                if (values.size() > MAX_SIZE) {
                    throw r.error("too many \",\"s");
                }
                if (r.peek() == ',') {
                    r.pos++;
                    continue;
                }
                break;
            }
            tests.add(new Test(loc, values));
            if (tests.size() > MAX_SIZE) {
                throw r.error("too many \"&&\"s");
            }
            char c = r.peek();
            if (c == '\0') {
                return tests;
            }
            if (r.s.startsWith("&&", r.pos)) {
                r.pos += 2;
                continue;
            }
            throw r.error("expected \",\" or \"&&\"");
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private List<Test> tests;
            private boolean invert;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                once(option);
                tests = parseTests(arg);
                invert = inv;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("u32");
                return new Data(tests, invert);
            }
        };
    }
}
