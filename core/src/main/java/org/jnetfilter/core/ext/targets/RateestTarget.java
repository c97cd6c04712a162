package org.jnetfilter.core.ext.targets;

import java.util.List;
import java.util.Locale;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.ext.matches.RuleState;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j RATEEST} (libxt_RATEEST, xt_RATEEST): feeds a named rate estimator. The interval is kept as the
 * kernel's exponent ({@code 250ms << (interval + 2)}, -2..3) and the averaging constant as {@code ewma_log}.
 *
 * <p>Packet semantics, xt_RATEEST xt_rateest_tg: adds the packet ({@code skb->len} bytes) to the named
 * {@link Estimator} and goes on with the next rule. Estimators live in {@link #ESTIMATORS} by name, shared by
 * the RATEEST rules and {@code -m rateest} matches naming them and held by their state, as the kernel keeps
 * them per network namespace with a refcount; the first rule's interval and ewmalog set the estimator (the
 * kernel refuses a second rule with other parameters at checkentry; here it shares the first's). The
 * estimator's timer (gen_estimator est_timer) runs lazily on the injected clock: whoever touches the estimator
 * first runs the periods that ended by {@link PacketContext#nowNanos()}, which equals timers firing on time.
 */
public final class RateestTarget extends TargetExtension {
    static final OptionSpec NAME = OptionSpec.withArg("rateest-name");
    static final OptionSpec INTERVAL = OptionSpec.withArg("rateest-interval");
    static final OptionSpec EWMALOG = OptionSpec.withArg("rateest-ewmalog");

    // Linux: TIME_UNITS_PER_SEC = 1000000 (gen_estimator works in microseconds); IFNAMSIZ = 16
    static final long UNITS_PER_SEC = 1000000;
    static final int NAME_MAX = 15;

    public RateestTarget() {
        super("RATEEST", List.of(NAME, INTERVAL, EWMALOG));
    }

    public record Data(String name, int interval, int ewmaLog, RuleState<Estimator> state) implements ExtensionData {
        public Data(String name, int interval, int ewmaLog) {
            this(name, interval, ewmaLog, new RuleState<>());
        }

        @Override
        public int apply(PacketContext pkt) {
            Estimator e = state.get();
            if (e == null) {
                long now = RuleState.jiffies(pkt.nowNanos());
                e = state.setIfAbsent(ESTIMATORS.get(name, n -> new Estimator(interval + 2, ewmaLog, now)));
            }
            e.add(RuleState.jiffies(pkt.nowNanos()), pkt.length());
            return Verdict.CONTINUE;
        }

        long intervalMicros() {
            return (UNITS_PER_SEC << (interval + 2)) / 4;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            long iv = intervalMicros();
            out.append(" --rateest-name ").append(name).append(" --rateest-interval ").append(time(iv))
                    .append(" --rateest-ewmalog ").append(time(iv * (1L << ewmaLog)));
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            long iv = intervalMicros();
            out.append(" name ").append(name).append(" interval ").append(time(iv)).append(" ewmalog ")
                    .append(time(iv * (1L << ewmaLog)));
        }
    }

    /** The rate estimators of this namespace (the JVM) by name. */
    public static final RuleState.Registry<String, Estimator> ESTIMATORS = new RuleState.Registry<>();

    /**
     * gen_estimator's net_rate_estimator: byte and packet counts, and their moving averages in units of 1/256
     * per second, updated every {@code (HZ/4) << intvl_log} jiffies (62 << intvl_log at HZ 250) by
     * {@code av += (delta << (10 - intvl_log) >> ewma_log) - (av >> ewma_log)} in wrapping u64 arithmetic.
     */
    public static final class Estimator {
        private final int intvlLog;
        private final int ewmaLog;
        private final long period;
        private long bytes;
        private long packets;
        private long lastBytes;
        private long lastPackets;
        private long avbps;
        private long avpps;
        private long nextJiffies;

        public Estimator(int intvlLog, int ewmaLog, long nowJiffies) {
            this.intvlLog = intvlLog;
            this.ewmaLog = ewmaLog;
            this.period = (RuleState.HZ / 4) << intvlLog;
            this.nextJiffies = nowJiffies + period;
        }

        synchronized void add(long now, long len) {
            advance(now);
            bytes += len;
            packets++;
        }

        /** gen_estimator_read: bytes per second, at {@code now}. */
        public synchronized long bps(long now) {
            advance(now);
            return avbps >>> 8;
        }

        /** gen_estimator_read: packets per second, at {@code now}. */
        public synchronized long pps(long now) {
            advance(now);
            return avpps >>> 8;
        }

        private void advance(long now) {
            while (now - nextJiffies >= 0) {
                if (bytes == lastBytes && packets == lastPackets && (avbps >>> ewmaLog) == 0
                        && (avpps >>> ewmaLog) == 0) {
                    // nothing moves any more: skip the idle periods at once
                    nextJiffies += ((now - nextJiffies) / period + 1) * period;
                    return;
                }
                long brate = (bytes - lastBytes) << (10 - intvlLog);
                avbps += (brate >>> ewmaLog) - (avbps >>> ewmaLog);
                long prate = (packets - lastPackets) << (10 - intvlLog);
                avpps += (prate >>> ewmaLog) - (avpps >>> ewmaLog);
                lastBytes = bytes;
                lastPackets = packets;
                nextJiffies += period;
            }
        }
    }

    static String time(long micros) {
        double t = micros;
        if (t >= UNITS_PER_SEC) {
            return String.format(Locale.ROOT, "%.1fs", t / UNITS_PER_SEC);
        } else if (t >= UNITS_PER_SEC / 1000) {
            return String.format(Locale.ROOT, "%.1fms", t / (UNITS_PER_SEC / 1000));
        }
        return (micros & 0xFFFFFFFFL) + "us";
    }

    /** RATEEST_get_time: a decimal number of seconds, or with s/ms/us; -1 when unreadable. */
    static long parseTime(String s) {
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("^\\s*([+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)(.*)$").matcher(s);
        if (!m.matches()) {
            return -1;
        }
        double t = Double.parseDouble(m.group(1));
        String unit = m.group(2).toLowerCase(Locale.ROOT);
        switch (unit) {
            case "" -> { }
            case "s", "sec", "secs" -> t *= UNITS_PER_SEC;
            case "ms", "msec", "msecs" -> t *= UNITS_PER_SEC / 1000;
            case "us", "usec", "usecs" -> { }
            default -> {
                return -1;
            }
        }
        return (long) t & 0xFFFFFFFFL;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private String estName;
            private long interval;
            private long ewmaLog;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == NAME) {
                    if (arg.length() > NAME_MAX) {
                        throw XtablesException.parameter("RATEEST: option \"--rateest-name\" is too long (max: "
                                + NAME_MAX + ")\n");
                    }
                    estName = arg;
                } else if (option == INTERVAL) {
                    interval = parseTime(arg);
                    if (interval < 0) {
                        throw XtablesException.parameter("RATEEST: bad interval value \"" + arg + "\"");
                    }
                } else {
                    ewmaLog = parseTime(arg);
                    if (ewmaLog < 0) {
                        throw XtablesException.parameter("RATEEST: bad ewmalog value \"" + arg + "\"");
                    }
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                int iv = 0;
                for (; iv <= 5; iv++) {
                    if (interval <= (1L << iv) * (UNITS_PER_SEC / 4)) {
                        break;
                    }
                }
                if (iv > 5) {
                    throw XtablesException.parameter("RATEEST: interval value is too large");
                }
                iv -= 2;
                int log = 1;
                for (; log < 32; log++) {
                    double w = 1.0 - 1.0 / (double) (1 << log);
                    if (interval / (-Math.log(w)) > ewmaLog) {
                        break;
                    }
                }
                log--;
                if (log == 0 || log >= 31) {
                    throw XtablesException.parameter("RATEEST: ewmalog value is out of range");
                }
                mandatory("rateest-name");
                return new Data(estName, iv, log);
            }
        };
    }
}
