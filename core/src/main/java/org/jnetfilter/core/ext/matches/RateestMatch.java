package org.jnetfilter.core.ext.matches;

import java.util.List;
import java.util.Locale;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.ext.targets.RateestTarget;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m rateest} (libxt_rateest, xt_rateest): compares the rate of a RATEEST estimator with a value or with
 * another estimator. Rates are bytes per second (u32), as xt_rateest_match_info keeps them. The rate options take
 * their value from the next word when it does not start with '-' or '!', as libxt_rateest reads argv.
 *
 * <p>Packet semantics, xt_rateest xt_rateest_mt: reads the estimator(s) ({@link RateestTarget.Estimator}, at
 * {@link PacketContext#nowNanos()}); with {@code --rateest-delta} a side is the given value minus the rate (0
 * when the rate exceeds it), else the rate; an absolute comparison takes the given bps2/pps2 as they are. Every
 * rate kind given must compare (lt, gt, eq); {@code !} inverts. The kernel refuses the rule when no RATEEST
 * rule created the estimator; here an estimator not created yet (its RATEEST rule has seen no packet) reads 0,
 * which is what the new estimator would read, and is looked up again on the next packet.
 */
public final class RateestMatch extends MatchExtension {
    static final OptionSpec RATEEST1 = OptionSpec.withArg("rateest1");
    static final OptionSpec RATEEST = OptionSpec.withArg("rateest");
    static final OptionSpec RATEEST2 = OptionSpec.withArg("rateest2");
    static final OptionSpec BPS1 = OptionSpec.flag("rateest-bps1");
    static final OptionSpec PPS1 = OptionSpec.flag("rateest-pps1");
    static final OptionSpec BPS2 = OptionSpec.flag("rateest-bps2");
    static final OptionSpec PPS2 = OptionSpec.flag("rateest-pps2");
    static final OptionSpec BPS = OptionSpec.flag("rateest-bps");
    static final OptionSpec PPS = OptionSpec.flag("rateest-pps");
    static final OptionSpec DELTA = OptionSpec.flag("rateest-delta");
    static final OptionSpec LT = OptionSpec.flag("rateest-lt");
    static final OptionSpec GT = OptionSpec.flag("rateest-gt");
    static final OptionSpec EQ = OptionSpec.flag("rateest-eq");

    // Linux: xt_rateest.h
    public static final int FLAG_INVERT = 1;
    public static final int FLAG_ABS = 2;
    public static final int FLAG_REL = 4;
    public static final int FLAG_DELTA = 8;
    public static final int FLAG_BPS = 16;
    public static final int FLAG_PPS = 32;
    public static final int MODE_EQ = 1;
    public static final int MODE_LT = 2;
    public static final int MODE_GT = 3;
    static final int NAME_MAX = 15;

    public RateestMatch() {
        super("rateest", List.of(RATEEST1, RATEEST, RATEEST2, BPS1, PPS1, BPS2, PPS2, BPS, PPS, DELTA, LT, GT, EQ));
    }

    public record Data(String name1, String name2, int flags, int mode, long bps1, long pps1, long bps2, long pps2,
            RuleState<RateestTarget.Estimator[]> state) implements ExtensionData {
        public Data(String name1, String name2, int flags, int mode, long bps1, long pps1, long bps2, long pps2) {
            this(name1, name2, flags, mode, bps1, pps1, bps2, pps2, new RuleState<>());
        }

        @Override
        public boolean matches(PacketContext pkt) {
            RateestTarget.Estimator[] est = state.get();
            if (est == null || est[0] == null || (has(FLAG_REL) && est[1] == null)) {
                RateestTarget.Estimator e1 = RateestTarget.ESTIMATORS.find(name1);
                RateestTarget.Estimator e2 = has(FLAG_REL) ? RateestTarget.ESTIMATORS.find(name2) : null;
                if (e1 != null && (e2 != null || !has(FLAG_REL))) {
                    est = state.setIfAbsent(new RateestTarget.Estimator[] {e1, e2});
                } else {
                    est = new RateestTarget.Estimator[] {e1, e2};
                }
            }
            long now = org.jnetfilter.core.ext.matches.RuleState.jiffies(pkt.nowNanos());
            long sbps = est[0] == null ? 0 : est[0].bps(now);
            long spps = est[0] == null ? 0 : est[0].pps(now);
            long b1 = sbps;
            long p1 = spps;
            if (has(FLAG_DELTA)) {
                b1 = bps1 >= sbps ? bps1 - sbps : 0;
                p1 = pps1 >= spps ? pps1 - spps : 0;
            }
            long b2 = bps2;
            long p2 = pps2;
            if (!has(FLAG_ABS)) {
                long rbps = est[1] == null ? 0 : est[1].bps(now);
                long rpps = est[1] == null ? 0 : est[1].pps(now);
                b2 = rbps;
                p2 = rpps;
                if (has(FLAG_DELTA)) {
                    b2 = bps2 >= rbps ? bps2 - rbps : 0;
                    p2 = pps2 >= rpps ? pps2 - rpps : 0;
                }
            }
            boolean ret = true;
            if (has(FLAG_BPS)) {
                ret &= compare(b1, b2);
            }
            if (has(FLAG_PPS)) {
                ret &= compare(p1, p2);
            }
            return ret != has(FLAG_INVERT);
        }

        private boolean compare(long a, long b) {
            return switch (mode) {
                case MODE_LT -> Long.compareUnsigned(a, b) < 0;
                case MODE_GT -> Long.compareUnsigned(a, b) > 0;
                default -> a == b;
            };
        }

        private boolean has(int f) {
            return (flags & f) != 0;
        }

        private void appendMode(StringBuilder out, String prefix) {
            if (has(FLAG_INVERT)) {
                out.append(" !");
            }
            out.append(' ').append(prefix).append(mode == MODE_EQ ? "eq" : mode == MODE_LT ? "lt" : "gt");
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            boolean delta = has(FLAG_DELTA);
            if (delta) {
                out.append(" --rateest-delta");
            }
            out.append(has(FLAG_REL) ? " --rateest1 " : " --rateest ").append(name1);
            if (delta) {
                if (has(FLAG_BPS)) {
                    out.append(" --rateest-bps1");
                    appendRate(out, bps1, false);
                }
                if (has(FLAG_PPS)) {
                    out.append(" --rateest-pps1 ").append(pps1);
                }
            }
            appendMode(out, "--rateest-");
            boolean value = delta || has(FLAG_ABS);
            if (has(FLAG_BPS)) {
                out.append(delta ? " --rateest-bps2" : " --rateest-bps");
                if (value) {
                    appendRate(out, bps2, false);
                }
            }
            if (has(FLAG_PPS)) {
                out.append(delta ? " --rateest-pps2" : " --rateest-pps");
                if (value) {
                    out.append(' ').append(pps2);
                }
            }
            if (has(FLAG_REL)) {
                out.append(" --rateest2 ").append(name2);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            boolean delta = has(FLAG_DELTA);
            out.append(" rateest match ").append(name1);
            if (delta) {
                out.append(" delta");
            }
            if (has(FLAG_BPS)) {
                out.append(" bps");
                if (delta) {
                    appendRate(out, bps1, numeric);
                }
                if (has(FLAG_ABS)) {
                    appendRate(out, bps2, numeric);
                    appendMode(out, "");
                }
            }
            if (has(FLAG_PPS)) {
                out.append(" pps");
                if (delta) {
                    out.append(' ').append(pps1);
                }
                if (has(FLAG_ABS)) {
                    appendMode(out, "");
                    out.append(' ').append(pps2);
                }
            }
            if (has(FLAG_REL)) {
                appendMode(out, "");
                out.append(' ').append(name2);
                if (has(FLAG_BPS)) {
                    out.append(" bps");
                    if (delta) {
                        appendRate(out, bps2, numeric);
                    }
                }
                if (has(FLAG_PPS)) {
                    out.append(" pps");
                    if (delta) {
                        out.append(' ').append(pps2);
                    }
                }
            }
        }

        /** xt_rateest_mt_checkentry: a rate kind and a comparison are required. */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (!has(FLAG_BPS) && !has(FLAG_PPS)) {
                throw XtablesException.invalidArgument();
            }
            if (mode < MODE_EQ || mode > MODE_GT) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    static void appendRate(StringBuilder out, long rate, boolean numeric) {
        double bits = rate * 8.0;
        if (numeric) {
            out.append(' ').append(rate);
        } else if (bits >= 1000.0 * 1000000.0) {
            out.append(String.format(Locale.ROOT, " %.0fMbit", bits / 1000000.0));
        } else if (bits >= 1000.0 * 1000.0) {
            out.append(String.format(Locale.ROOT, " %.0fKbit", bits / 1000.0));
        } else {
            out.append(String.format(Locale.ROOT, " %.0fbit", bits));
        }
    }

    private static final String[] SUFFIXES = {"bit", "Kibit", "kbit", "mibit", "mbit", "gibit", "gbit", "tibit",
        "tbit", "Bps", "KiBps", "KBps", "MiBps", "MBps", "GiBps", "GBps", "TiBps", "TBps"};
    private static final double[] SCALES = {1., 1024., 1000., 1024. * 1024., 1000000., 1024. * 1024. * 1024.,
        1000000000., 1024. * 1024. * 1024. * 1024., 1000000000000., 8., 8. * 1024., 8000., 8. * 1024 * 1024,
        8000000., 8. * 1024. * 1024. * 1024., 8000000000., 8. * 1024. * 1024. * 1024. * 1024., 8000000000000.};

    /** rateest_get_rate: a number with an optional tc-style unit, in bytes per second; -1 when unreadable. */
    static long parseRate(String s) {
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("^\\s*([+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)(.*)$").matcher(s);
        if (!m.matches()) {
            return -1;
        }
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2);
        double scale = 8;
        if (!unit.isEmpty()) {
            scale = -1;
            for (int i = 0; i < SUFFIXES.length; i++) {
                if (SUFFIXES[i].equalsIgnoreCase(unit)) {
                    scale = SCALES[i];
                    break;
                }
            }
            if (scale < 0) {
                return -1;
            }
        }
        double bytes = v * scale / 8.0;
        return bytes >= 4294967296.0 || bytes < 0 ? (long) bytes & 0xFFFFFFFFL : (long) bytes;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private String name1;
            private String name2;
            private int flags;
            private int mode;
            private long bps1;
            private long pps1;
            private long bps2;
            private long pps2;
            private boolean modeSeen;

            private void twice(String key, String shown) {
                if (seen(key)) {
                    throw XtablesException.parameter("rateest: can't specify " + shown + " twice");
                }
                mark(OptionSpec.flag(key));
            }

            private String value(ParseContext c) {
                String w = c.peekWord();
                if (w == null || w.startsWith("-") || w.startsWith("!")) {
                    return null;
                }
                return c.nextWord();
            }

            private long rate(ParseContext c) {
                String w = value(c);
                if (w == null) {
                    return 0;
                }
                long r = parseRate(w);
                if (r < 0) {
                    throw XtablesException.parameter("rateest: could not parse rate `" + w + "'");
                }
                return r;
            }

            private long pps(ParseContext c) {
                String w = value(c);
                if (w == null) {
                    return 0;
                }
                long v = Numbers.parseUnsigned(w, 0, 0xFFFFFFFFL);
                if (v < 0) {
                    throw XtablesException.parameter("rateest: could not parse pps `" + w + "'");
                }
                return v;
            }

            private String estimator(String arg) {
                return arg.length() > NAME_MAX ? arg.substring(0, NAME_MAX) : arg;
            }

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                boolean comparison = option == LT || option == GT || option == EQ;
                if (invert && !comparison) {
                    String what = option == RATEEST1 || option == RATEEST || option == RATEEST2 ? "rateest"
                            : option == DELTA ? "rateest-delta"
                            : option == BPS1 || option == BPS2 || option == BPS ? "rateest-bps" : "rateest-pps";
                    throw XtablesException.parameter("rateest: " + what + " can't be inverted");
                }
                if (option == RATEEST1 || option == RATEEST) {
                    twice("rateest1", "--rateest1");
                    name1 = estimator(arg);
                } else if (option == RATEEST2) {
                    twice("rateest2", "--rateest2");
                    name2 = estimator(arg);
                    flags |= FLAG_REL;
                } else if (option == BPS1) {
                    twice("rateest-bps1", "--rateest-bps1");
                    flags |= FLAG_BPS;
                    bps1 = rate(c);
                } else if (option == PPS1) {
                    twice("rateest-pps1", "--rateest-pps1");
                    flags |= FLAG_PPS;
                    pps1 = pps(c);
                } else if (option == BPS2 || option == BPS) {
                    twice("rateest-bps2", "--rateest-bps2");
                    flags |= FLAG_BPS;
                    bps2 = rate(c);
                } else if (option == PPS2 || option == PPS) {
                    twice("rateest-pps2", "--rateest-pps2");
                    flags |= FLAG_PPS;
                    pps2 = pps(c);
                } else if (option == DELTA) {
                    twice("rateest-delta", "--rateest-delta");
                    flags |= FLAG_DELTA;
                } else {
                    if (modeSeen) {
                        throw XtablesException.parameter("rateest: can't specify lt/gt/eq twice");
                    }
                    modeSeen = true;
                    mode = option == EQ ? MODE_EQ : option == LT ? MODE_LT : MODE_GT;
                    if (invert) {
                        flags |= FLAG_INVERT;
                    }
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if ((flags & FLAG_REL) == 0) {
                    flags |= FLAG_ABS;
                }
                return new Data(name1 == null ? "" : name1, name2 == null ? "" : name2, flags, mode, bps1, pps1, bps2,
                        pps2);
            }
        };
    }
}
