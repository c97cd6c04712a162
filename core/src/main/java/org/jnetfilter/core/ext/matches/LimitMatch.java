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

/**
 * {@code -m limit} (libxt_limit, xt_limit): a token bucket. The rate is kept as xt_limit keeps it: the
 * period between packets in units of 1/{@value #SCALE} s ({@code avg}), and the bucket depth ({@code burst}).
 *
 * <p>Packet semantics, xt_limit limit_mt: the bucket holds u32 credits; each jiffy since the last packet adds
 * {@code CREDITS_PER_JIFFY} (128 at HZ 250), capped at {@code user2credits(avg * burst)}; a packet that finds
 * {@code user2credits(avg)} credits takes them and matches. The bucket is per rule ({@link RuleState}), starts
 * full, and is locked per packet. The addition wraps in 32 bits as the kernel's does, so after about
 * {@code 2^32 / 128} jiffies (37 hours at HZ 250) of silence the bucket may come back short, as in Linux.
 */
public final class LimitMatch extends MatchExtension {
    static final OptionSpec LIMIT = OptionSpec.withArg("limit");
    static final OptionSpec LIMIT_BURST = OptionSpec.withArg("limit-burst");

    // Linux: XT_LIMIT_SCALE = 10000, default rate "3/hour" and burst 5 (libxt_limit)
    static final long SCALE = 10000;
    static final int DEFAULT_BURST = 5;
    static final long DEFAULT_AVG = SCALE * 3600 / 3;

    // Linux, this kernel: HZ = 250, CREDITS_PER_JIFFY = POW2_BELOW32(0xFFFFFFFF / (HZ*60*60*24)) = 128
    private static final long HZ_CREDITS = 250L * 128;

    public LimitMatch() {
        super("limit", List.of(LIMIT, LIMIT_BURST));
    }

    public record Data(long avg, long burst, RuleState<Bucket> state) implements ExtensionData {
        public Data(long avg, long burst) {
            this(avg, burst, new RuleState<>());
        }

        /** limit_mt: refill by the jiffies since the last packet, cap, and take {@code cost} if there. */
        @Override
        public boolean matches(PacketContext pkt) {
            Bucket b = state.get();
            if (b == null) {
                b = state.setIfAbsent(new Bucket(userToCredits((avg * burst) & 0xFFFFFFFFL), userToCredits(avg),
                        RuleState.jiffies(pkt.nowNanos())));
            }
            return b.take(RuleState.jiffies(pkt.nowNanos()));
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --limit");
            appendRate(out, avg);
            if (burst != DEFAULT_BURST) {
                out.append(" --limit-burst ").append(burst);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" limit: avg");
            appendRate(out, avg);
            out.append(" burst ").append(burst);
        }

        /** limit_mt_check: ERANGE when avg * burst overflows the credit arithmetic. */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (burst == 0 || userToCredits((avg * burst) & 0xFFFFFFFFL) < userToCredits(avg)) {
                throw XtablesException.kernel("Numerical result out of range");
            }
        }
    }

    /** xt_limit_priv and the kernel-filled part of xt_rateinfo: credits in u32 as the kernel keeps them. */
    public static final class Bucket {
        private final long creditCap;
        private final long cost;
        private long credit;
        private long prev;

        Bucket(long creditCap, long cost, long nowJiffies) {
            this.creditCap = creditCap;
            this.cost = cost;
            this.credit = creditCap;
            this.prev = nowJiffies;
        }

        synchronized boolean take(long now) {
            credit = (credit + (now - prev) * CREDITS_PER_JIFFY) & 0xFFFFFFFFL;
            prev = now;
            if (credit > creditCap) {
                credit = creditCap;
            }
            if (credit >= cost) {
                credit -= cost;
                return true;
            }
            return false;
        }

        /** The credits left, for tests and {@code -L} debugging. */
        public synchronized long credit() {
            return credit;
        }
    }

    // Linux: CREDITS_PER_JIFFY = POW2_BELOW32(0xFFFFFFFF / (HZ*60*60*24)) = 128 at HZ 250
    static final long CREDITS_PER_JIFFY = 128;

    static long userToCredits(long user) {
        if (user > 0xFFFFFFFFL / HZ_CREDITS) {
            return ((user / SCALE) * HZ_CREDITS) & 0xFFFFFFFFL;
        }
        return ((user * HZ_CREDITS) & 0xFFFFFFFFL) / SCALE;
    }

    private static final String[] RATE_NAMES = {"day", "hour", "min", "sec"};
    private static final long[] RATE_MULTS = {SCALE * 86400, SCALE * 3600, SCALE * 60, SCALE};

    /** print_rate: the largest unit that divides without losing more than the quotient. */
    static void appendRate(StringBuilder out, long period) {
        if (period == 0) {
            out.append(" inf");
            return;
        }
        int i = 1;
        for (; i < RATE_MULTS.length; i++) {
            if (period > RATE_MULTS[i] || RATE_MULTS[i] / period < RATE_MULTS[i] % period) {
                break;
            }
        }
        out.append(' ').append(RATE_MULTS[i - 1] / period).append('/').append(RATE_NAMES[i - 1]);
    }

    /** The seconds per unit named after '/' (any prefix of second/minute/hour/day), or -1. */
    static long unitSeconds(String unit) {
        if (unit.isEmpty()) {
            return -1;
        }
        String u = unit.toLowerCase(java.util.Locale.ROOT);
        if ("second".startsWith(u)) {
            return 1;
        } else if ("minute".startsWith(u)) {
            return 60;
        } else if ("hour".startsWith(u)) {
            return 3600;
        } else if ("day".startsWith(u)) {
            return 86400;
        }
        return -1;
    }

    /** atoi: leading digits (after optional blanks and sign), 0 when none. */
    static long atol(String s) {
        int i = 0;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        boolean neg = false;
        if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            neg = s.charAt(i) == '-';
            i++;
        }
        long v = 0;
        while (i < s.length() && Character.isDigit(s.charAt(i)) && v < Long.MAX_VALUE / 100) {
            v = v * 10 + (s.charAt(i++) - '0');
        }
        return neg ? -v : v;
    }

    static long parseRate(String rate) {
        int slash = rate.indexOf('/');
        long mult = 1;
        if (slash >= 0) {
            mult = unitSeconds(rate.substring(slash + 1));
            if (mult < 0) {
                throw badRate(rate);
            }
        }
        long r = atol(rate) & 0xFFFFFFFFL;
        if (r == 0) {
            throw badRate(rate);
        }
        long v = (SCALE * mult / r) & 0xFFFFFFFFL;
        if (v == 0) {
            throw XtablesException.parameter("Rate too fast \"" + rate + "\"");
        }
        return v;
    }

    private static XtablesException badRate(String rate) {
        return XtablesException.parameter("bad rate \"" + rate + "\"'");
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long avg = DEFAULT_AVG;
            private long burst = DEFAULT_BURST;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == LIMIT) {
                    avg = parseRate(arg);
                } else {
                    burst = uint(option, arg, 0, 10000);
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(avg, burst);
            }
        };
    }
}
