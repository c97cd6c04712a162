package org.jnetfilter.core.ext.matches;

import java.time.LocalDateTime;
import java.time.ZoneOffset;
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
 * {@code -m time} (libxt_time, xt_time): time of day in seconds, weekday and month-day bitmaps (bit n for day
 * n, as xt_time_info keeps them), and a date range in seconds since the epoch, UTC unless {@code --kerneltz}.
 *
 * <p>Packet semantics, xt_time time_mt: the packet's time is {@link PacketContext#nowNanos()} (the kernel's
 * {@code skb->tstamp}) in whole seconds, shifted by the kernel's timezone under {@code --kerneltz}
 * ({@link #kernelMinutesWest}); it must lie within the dates (inclusive), then within the daytimes: start
 * &lt; stop is one window, otherwise the window wraps over midnight (at or after start, or at or before stop);
 * with {@code --contiguous} a time before stop counts as the previous day for the weekday and month-day tests.
 * Weekdays are 1 (Monday) .. 7, month days 1 .. 31. Allocates nothing.
 */
public final class TimeMatch extends MatchExtension {
    static final OptionSpec DATESTART = OptionSpec.withArg("datestart");
    static final OptionSpec DATESTOP = OptionSpec.withArg("datestop");
    static final OptionSpec TIMESTART = OptionSpec.withArg("timestart");
    static final OptionSpec TIMESTOP = OptionSpec.withArg("timestop");
    static final OptionSpec WEEKDAYS = OptionSpec.withArg("weekdays");
    static final OptionSpec MONTHDAYS = OptionSpec.withArg("monthdays");
    static final OptionSpec LOCALTZ = OptionSpec.flag("localtz");
    static final OptionSpec UTC = OptionSpec.flag("utc");
    static final OptionSpec KERNELTZ = OptionSpec.flag("kerneltz");
    static final OptionSpec CONTIGUOUS = OptionSpec.flag("contiguous");

    // Linux: xt_time.h
    public static final int FLAG_LOCAL_TZ = 1;
    public static final int FLAG_CONTIGUOUS = 2;
    static final int ALL_WEEKDAYS = 0xFE;
    static final long ALL_MONTHDAYS = 0xFFFFFFFEL;
    static final int MAX_DAYTIME = 24 * 60 * 60 - 1;
    static final long DATE_MAX = Integer.MAX_VALUE;
    static final String[] WEEK_DAYS = {null, "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

    public TimeMatch() {
        super("time", List.of(DATESTART, DATESTOP, TIMESTART, TIMESTOP, WEEKDAYS, MONTHDAYS, LOCALTZ, UTC, KERNELTZ,
                CONTIGUOUS));
    }

    public record Data(long dateStart, long dateStop, int daytimeStart, int daytimeStop, long monthdays,
            int weekdays, int flags) implements ExtensionData {
        @Override
        public boolean matches(PacketContext pkt) {
            long stamp = Math.floorDiv(pkt.nowNanos(), 1_000_000_000L);
            if ((flags & FLAG_LOCAL_TZ) != 0) {
                stamp -= 60L * kernelMinutesWest;
            }
            if (stamp < dateStart || stamp > dateStop) {
                return false;
            }
            long packetTime = Math.floorMod(stamp, SECONDS_PER_DAY);
            if (daytimeStart < daytimeStop) {
                if (packetTime < daytimeStart || packetTime > daytimeStop) {
                    return false;
                }
            } else {
                if (packetTime < daytimeStart && packetTime > daytimeStop) {
                    return false;
                }
                if ((flags & FLAG_CONTIGUOUS) != 0 && packetTime <= daytimeStop) {
                    stamp -= SECONDS_PER_DAY;
                }
            }
            long days = Math.floorDiv(stamp, SECONDS_PER_DAY);
            // 1970-01-01 was a Thursday (4)
            int weekday = (int) Math.floorMod(days + 3, 7) + 1;
            if ((weekdays & (1 << weekday)) == 0) {
                return false;
            }
            return monthdays == ALL_MONTHDAYS || (monthdays & (1L << dayOfMonth(days))) != 0;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (daytimeStart != 0 || daytimeStop != MAX_DAYTIME) {
                out.append(" --timestart ").append(clock(daytimeStart));
                out.append(" --timestop ").append(clock(daytimeStop));
            }
            if (monthdays != ALL_MONTHDAYS) {
                out.append(" --monthdays");
                appendMonthdays(out, false);
            }
            if (weekdays != ALL_WEEKDAYS) {
                out.append(" --weekdays");
                appendWeekdays(out);
            }
            if (dateStart != 0) {
                out.append(" --datestart ").append(date(dateStart, 'T'));
            }
            if (dateStop != 0) {
                out.append(" --datestop ").append(date(dateStop, 'T'));
            }
            if ((flags & FLAG_LOCAL_TZ) != 0) {
                out.append(" --kerneltz");
            }
            if ((flags & FLAG_CONTIGUOUS) != 0) {
                out.append(" --contiguous");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" TIME");
            if (daytimeStart != 0 || daytimeStop != MAX_DAYTIME) {
                out.append(" from ").append(clock(daytimeStart)).append(" to ").append(clock(daytimeStop));
            }
            if (weekdays != ALL_WEEKDAYS) {
                out.append(" on");
                appendWeekdays(out);
            }
            if (monthdays != ALL_MONTHDAYS) {
                out.append(" on");
                appendMonthdays(out, true);
            }
            if (dateStart != 0) {
                out.append(" starting from ").append(date(dateStart, ' '));
            }
            if (dateStop != DATE_MAX) {
                out.append(" until date ").append(date(dateStop, ' '));
            }
            if ((flags & FLAG_LOCAL_TZ) == 0) {
                out.append(" UTC");
            }
            if ((flags & FLAG_CONTIGUOUS) != 0) {
                out.append(" contiguous");
            }
        }

        private void appendWeekdays(StringBuilder out) {
            out.append(' ');
            boolean first = true;
            for (int i = 1; i <= 7; i++) {
                if ((weekdays & (1 << i)) != 0) {
                    out.append(first ? "" : ",").append(WEEK_DAYS[i]);
                    first = false;
                }
            }
        }

        private void appendMonthdays(StringBuilder out, boolean human) {
            out.append(' ');
            boolean first = true;
            for (int i = 1; i <= 31; i++) {
                if ((monthdays & (1L << i)) != 0) {
                    out.append(first ? "" : ",").append(i);
                    first = false;
                    if (human) {
                        int d = i % 10;
                        out.append(i / 10 == 1 ? "th" : d == 1 ? "st" : d == 2 ? "nd" : d == 3 ? "rd" : "th");
                    }
                }
            }
        }
    }

    static final long SECONDS_PER_DAY = 86400;

    /**
     * The kernel's {@code sys_tz.tz_minuteswest} that {@code --kerneltz} applies: 0 (UTC) unless set, as on a
     * machine whose boot scripts never call settimeofday with a timezone. Shared by all rules, as in the kernel.
     */
    public static volatile int kernelMinutesWest;

    /** The day of the month (1..31) of day {@code days} since 1970-01-01, proleptic Gregorian. */
    static int dayOfMonth(long days) {
        long z = days + 719468;
        long era = Math.floorDiv(z, 146097);
        long doe = z - era * 146097;
        long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        return (int) (doy - (153 * mp + 2) / 5 + 1);
    }

    static String clock(int seconds) {
        return String.format("%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60);
    }

    static String date(long epoch, char sep) {
        LocalDateTime t = LocalDateTime.ofEpochSecond(epoch, 0, ZoneOffset.UTC);
        return String.format("%04d-%02d-%02d%c%02d:%02d:%02d", t.getYear(), t.getMonthValue(), t.getDayOfMonth(),
                sep, t.getHour(), t.getMinute(), t.getSecond());
    }

    /** strtoul(s, &e, 10) from index i: {value, end index}. */
    private static long[] decimal(String s, int i) {
        int start = i;
        long v = 0;
        while (i < s.length() && Character.isDigit(s.charAt(i)) && v < 1L << 40) {
            v = v * 10 + (s.charAt(i++) - '0');
        }
        return new long[] {i == start ? 0 : v, i};
    }

    private static char at(String s, long i) {
        return i < s.length() ? s.charAt((int) i) : '\0';
    }

    static long parseDate(String s) {
        long[] limits = {2038, 12, 31, 23, 59, 59};
        char[] seps = {'-', '-', 'T', ':', ':', '\0'};
        long[] parts = {1970, 1, 1, 0, 0, 0};
        int i = 0;
        for (int k = 0; k < 6; k++) {
            long[] r = decimal(s, i);
            char e = at(s, r[1]);
            if ((e != seps[k] && e != '\0') || r[0] > limits[k] || (k == 0 && r[0] < 1970)) {
                throw XtablesException.parameter("Invalid date \"" + s
                        + "\" specified. Should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]]");
            }
            parts[k] = r[0];
            if (e == '\0') {
                break;
            }
            i = (int) r[1] + 1;
        }
        // timegm normalises out-of-range fields (month 0, day 0) as mktime does
        LocalDateTime t = LocalDateTime.of((int) parts[0], 1, 1, 0, 0, 0).plusMonths(parts[1] - 1)
                .plusDays(parts[2] - 1).plusHours(parts[3]).plusMinutes(parts[4]).plusSeconds(parts[5]);
        return t.toEpochSecond(ZoneOffset.UTC);
    }

    static int parseClock(String s) {
        long[] h = decimal(s, 0);
        String tail = s;
        if (at(s, h[1]) != ':' || h[0] > 23) {
            throw badClock(tail);
        }
        tail = s.substring((int) h[1] + 1);
        long[] m = decimal(s, (int) h[1] + 1);
        char e = at(s, m[1]);
        if ((e != ':' && e != '\0') || m[0] > 59) {
            throw badClock(tail);
        }
        long sec = 0;
        if (e == ':') {
            tail = s.substring((int) m[1] + 1);
            long[] x = decimal(s, (int) m[1] + 1);
            if (at(s, x[1]) != '\0' || x[0] > 59) {
                throw badClock(tail);
            }
            sec = x[0];
        }
        return (int) (h[0] * 3600 + m[0] * 60 + sec);
    }

    private static XtablesException badClock(String s) {
        return XtablesException.parameter("invalid time \"" + s
                + "\" specified, should be hh:mm[:ss] format and within the boundaries");
    }

    static int parseWeekdays(String arg) {
        int ret = 0;
        int p = 0;
        while (p < arg.length()) {
            String rest = arg.substring(p);
            boolean valid = false;
            long n = LimitMatch.atol(rest);
            int end = 0;
            while (end < rest.length() && Character.isDigit(rest.charAt(end))) {
                end++;
            }
            char e = end < rest.length() ? rest.charAt(end) : '\0';
            if (end > 0 && (e == ',' || e == '\0') && n > 0 && n <= 7) {
                ret |= 1 << n;
                valid = true;
            } else {
                for (int i = 1; i < WEEK_DAYS.length; i++) {
                    if (rest.startsWith(WEEK_DAYS[i].substring(0, 2))) {
                        ret |= 1 << i;
                        valid = true;
                        break;
                    }
                }
            }
            if (!valid) {
                throw XtablesException.parameter(rest + " is not a valid day specifier");
            }
            int comma = arg.indexOf(',', p);
            if (comma < 0) {
                break;
            }
            p = comma + 1;
        }
        return ret;
    }

    static long parseMonthdays(String arg) {
        long ret = 0;
        int p = 0;
        while (p < arg.length()) {
            String rest = arg.substring(p);
            long[] r = decimal(arg, p);
            char e = at(arg, r[1]);
            if ((e != ',' && e != '\0') || r[0] > 31) {
                throw XtablesException.parameter(rest + " is not a valid day for --monthdays");
            }
            ret |= 1L << r[0];
            if (e == '\0') {
                break;
            }
            p = (int) r[1] + 1;
        }
        return ret;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long dateStart;
            private long dateStop = DATE_MAX;
            private int daytimeStart;
            private int daytimeStop = MAX_DAYTIME;
            private long monthdays = ALL_MONTHDAYS;
            private int weekdays = ALL_WEEKDAYS;
            private int flags;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                if (option == WEEKDAYS || option == MONTHDAYS) {
                    once(option);
                } else {
                    plain(option, inv);
                }
                if ((option == UTC && (seen("localtz") || seen("kerneltz")))
                        || ((option == LOCALTZ || option == KERNELTZ) && seen("utc"))) {
                    boolean local = option == LOCALTZ || (option == UTC && seen("localtz"));
                    String first = local ? "localtz" : "utc";
                    String second = local ? "utc" : "kerneltz";
                    throw XtablesException.parameter("time: option \"--" + first
                            + "\" cannot be used together with \"--" + second + "\".\n");
                }
                if (option == DATESTART) {
                    dateStart = parseDate(arg);
                } else if (option == DATESTOP) {
                    dateStop = parseDate(arg);
                } else if (option == TIMESTART) {
                    daytimeStart = parseClock(arg);
                } else if (option == TIMESTOP) {
                    daytimeStop = parseClock(arg);
                } else if (option == WEEKDAYS) {
                    weekdays = parseWeekdays(arg);
                    if (inv) {
                        weekdays ^= ALL_WEEKDAYS;
                    }
                } else if (option == MONTHDAYS) {
                    monthdays = parseMonthdays(arg);
                    if (inv) {
                        monthdays ^= ALL_MONTHDAYS;
                    }
                } else if (option == LOCALTZ || option == KERNELTZ) {
                    if (option == LOCALTZ) {
                        c.warn("WARNING: --localtz is being replaced by --kerneltz, since \"local\" is ambiguous. "
                                + "Note the kernel timezone has caveats - see manpage for details.");
                    }
                    flags |= FLAG_LOCAL_TZ;
                } else if (option == UTC) {
                    flags &= ~FLAG_LOCAL_TZ;
                } else {
                    flags |= FLAG_CONTIGUOUS;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if ((flags & FLAG_CONTIGUOUS) != 0 && daytimeStart < daytimeStop) {
                    throw XtablesException.parameter(
                            "time: --contiguous only makes sense when stoptime is smaller than starttime");
                }
                return new Data(dateStart, dateStop, daytimeStart, daytimeStop, monthdays, weekdays, flags);
            }
        };
    }
}
