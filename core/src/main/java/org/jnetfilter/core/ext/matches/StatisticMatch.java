package org.jnetfilter.core.ext.matches;

import java.util.List;
import java.util.Locale;
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
 * {@code -m statistic} (libxt_statistic, xt_statistic): random sampling, probability as a 31-bit fraction
 * ({@code lround(0x80000000 * p)}), or every n-th packet ({@code every} stored minus one, as the kernel does).
 *
 * <p>Packet semantics, xt_statistic statistic_mt. Random: a packet matches when the low 31 bits of a random
 * u32 (from {@link PacketContext#random()}) are below the stored probability, so {@code --probability 1}
 * always matches and 0 never. Nth: a counter per rule ({@link RuleState}) starts where iptables sets it
 * ({@code nth.count = every - packet}, every stored minus one) and is advanced before the test, wrapping from
 * every to 0; a packet matches when it wraps, so {@code --packet p} first matches the (p+1)-th packet (checked on
 * Linux 6.18: {@code --every 3 --packet 0} matches packets 1, 4, 7...). {@code !} inverts either answer.
 */
public final class StatisticMatch extends MatchExtension {
    static final OptionSpec MODE = OptionSpec.withArg("mode");
    static final OptionSpec PROBABILITY = OptionSpec.withArg("probability");
    static final OptionSpec EVERY = OptionSpec.withArg("every");
    static final OptionSpec PACKET = OptionSpec.withArg("packet");

    public enum Mode { RANDOM, NTH }

    public StatisticMatch() {
        super("statistic", List.of(MODE, PROBABILITY, EVERY, PACKET));
    }

    public record Data(Mode mode, boolean invert, long probability, long every, long packet,
            RuleState<Nth> state) implements ExtensionData {
        public Data(Mode mode, boolean invert, long probability, long every, long packet) {
            this(mode, invert, probability, every, packet, new RuleState<>());
        }

        @Override
        public boolean matches(PacketContext pkt) {
            if (mode == Mode.RANDOM) {
                return ((pkt.random().nextInt() & 0x7FFFFFFFL) < probability) != invert;
            }
            Nth n = state.get();
            if (n == null) {
                // Linux: libxt_statistic sets nth.count = every - packet; statistic_mt_check copies it to the counter
                n = state.setIfAbsent(new Nth(every - packet));
            }
            return (n.advance(every) == 0) != invert;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            append(out, "--", true);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" statistic");
            append(out, "", false);
        }

        private void append(StringBuilder out, String prefix, boolean save) {
            String inv = invert ? " !" : "";
            if (mode == Mode.RANDOM) {
                out.append(' ').append(prefix).append("mode random").append(inv).append(' ').append(prefix)
                        .append("probability ")
                        .append(String.format(Locale.ROOT, "%.11f", probability / (double) 0x80000000L));
            } else {
                out.append(' ').append(prefix).append("mode nth").append(inv).append(' ').append(prefix)
                        .append("every ").append(every + 1);
                if (packet != 0 || save) {
                    out.append(' ').append(prefix).append("packet ").append(packet);
                }
            }
        }
    }

    /** xt_statistic_priv: the nth counter, 0 .. every (every stored minus one). */
    public static final class Nth {
        private long count;

        Nth(long start) {
            count = start;
        }

        synchronized long advance(long every) {
            count = count == every ? 0 : count + 1;
            return count;
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private Mode mode = Mode.RANDOM;
            private boolean invert;
            private long probability;
            private long every;
            private long packet;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                if (option == PROBABILITY || option == EVERY || option == PACKET) {
                    boolean conflict = option == PROBABILITY ? seen("every") || seen("packet") : seen("probability");
                    if (conflict) {
                        String other = option != PROBABILITY ? option.name() : seen("every") ? "every" : "packet";
                        throw XtablesException.parameter("statistic: option \"--probability\" cannot be used "
                                + "together with \"--" + other + "\".\n");
                    }
                }
                if (option == MODE) {
                    plain(option, inv);
                    mode = switch (arg) {
                        case "random" -> Mode.RANDOM;
                        case "nth" -> Mode.NTH;
                        default -> throw XtablesException.parameter("Bad mode \"" + arg + "\"");
                    };
                } else if (option == PROBABILITY) {
                    once(option);
                    double d;
                    try {
                        d = Double.parseDouble(arg.strip());
                    } catch (NumberFormatException e) {
                        d = -1;
                    }
                    if (!(d >= 0 && d <= 1) || endsInFloatSuffix(arg.strip())) {
                        throw XtablesException.parameter("statistic: bad value for option \"--probability\", "
                                + "or out of range (0-1).\n");
                    }
                    probability = Math.round(0x80000000L * d);
                    invert |= inv;
                } else if (option == EVERY) {
                    once(option);
                    every = uint(option, arg, 1, 0xFFFFFFFFL) - 1;
                    invert |= inv;
                } else {
                    plain(option, inv);
                    packet = uint(option, arg, 0, 0xFFFFFFFFL);
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (mode == Mode.RANDOM && !seen("probability")) {
                    throw XtablesException.parameter("--probability must be specified when using random mode");
                }
                if (mode == Mode.NTH && !seen("every") && !seen("packet")) {
                    throw XtablesException.parameter("--every and --packet must be specified when using nth mode");
                }
                if (mode == Mode.NTH && packet > every) {
                    throw XtablesException.parameter("the --packet p must be 0 <= p <= n-1");
                }
                mandatory("mode");
                if (seen("every") && !seen("packet")) {
                    throw XtablesException.parameter("statistic: option \"--every\" also requires \"--packet\".\n");
                }
                if (seen("packet") && !seen("every")) {
                    throw XtablesException.parameter("statistic: option \"--packet\" also requires \"--every\".\n");
                }
                return new Data(mode, invert, probability, every, packet);
            }
        };
    }

    /**
     * Java reads "0.5d" and "0.5f" as numbers, strtod does not: a probability Java parsed (so without a line
     * break inside) is refused when it ends in one of those suffixes.
     */
    private static boolean endsInFloatSuffix(String s) {
        if (s.isEmpty()) {
            return false;
        }
        char c = s.charAt(s.length() - 1);
        return c == 'f' || c == 'F' || c == 'd' || c == 'D';
    }
}
