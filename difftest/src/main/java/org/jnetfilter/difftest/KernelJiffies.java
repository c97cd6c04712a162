package org.jnetfilter.difftest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.jnetfilter.core.ext.matches.RuleState;

/**
 * Where the kernel's jiffies tick, so that jnetfilter's token buckets refill in the same jiffies as the kernel's.
 *
 * <p>Design note. Linux counts jiffies from the tick, whose period it aligns to a multiple of TICK_NSEC on
 * CLOCK_MONOTONIC (tick_init_jiffy_update): jiffies = monotonic / (10^9 / HZ) + a constant (on this machine's
 * 6.18, 2026-11-30: 3,000 reads of /proc/timer_list, its "now at" against its "jiffies:", gave one difference but
 * for reads that straddled a tick). jnetfilter counts jiffies as {@code nowNanos / (10^9 / HZ)} of the clock it
 * is given, here the kernel side's wall-clock arrival stamps (CLOCK_REALTIME): shifted back by {@link #phase}, the
 * realtime-to-monotonic offset modulo a jiffy, a stamp falls in the jiffy the kernel counted then, so the
 * difference of two packets' jiffies is the kernel's, and a refill decided by the jiffy a packet falls in is
 * decided alike (up to the microseconds between dut's processing of a frame and the stamp of the marker reply that
 * follows it). The shift is less than a jiffy, nothing beside the hour margins of time matches.
 *
 * <p>{@link #unusableReason} says when this does not hold: a kernel whose HZ is not jnetfilter's
 * ({@link RuleState#HZ}), or whose jiffies do not follow the monotonic clock so.
 */
final class KernelJiffies {
    static final long NANOS_PER_JIFFY = 1_000_000_000L / RuleState.HZ;

    private KernelJiffies() {
    }

    /**
     * The shift that puts the kernel's jiffy edges on multiples of a jiffy of the wall clock: (CLOCK_REALTIME -
     * CLOCK_MONOTONIC) mod one jiffy, measured now (System.nanoTime is CLOCK_MONOTONIC on Linux).
     */
    static long phase() {
        long best = Long.MAX_VALUE;
        long offset = 0;
        for (int i = 0; i < 16; i++) {
            long before = System.nanoTime();
            java.time.Instant now = java.time.Instant.now();
            long after = System.nanoTime();
            if (after - before < best) {
                best = after - before;
                long real = now.getEpochSecond() * 1_000_000_000L + now.getNano();
                offset = real - (before + (after - before) / 2);
            }
        }
        return Math.floorMod(offset, NANOS_PER_JIFFY);
    }

    /**
     * The kernel side's arrival stamps as jnetfilter is to see them: shifted back by {@link #phase} when
     * {@code onJiffies} (this kernel's jiffies follow the monotonic clock, {@link #unusableReason} null), else as
     * they are. Times of day (IPv4 timestamp options) then differ from the kernel's by less than a jiffy: the
     * comparison takes those by rule.
     */
    static java.util.List<Long> onKernelJiffies(java.util.List<Long> stamps, boolean onJiffies) {
        if (!onJiffies) {
            return stamps;
        }
        long shift = phase();
        java.util.List<Long> out = new java.util.ArrayList<>(stamps.size());
        for (long t : stamps) {
            out.add(t - shift);
        }
        return out;
    }

    /** Why refills cannot be compared on this kernel, or null when they can. */
    static String unusableReason() {
        long hz = configHz();
        if (hz > 0 && hz != RuleState.HZ) {
            return "the kernel's CONFIG_HZ is " + hz + ", jnetfilter's HZ " + RuleState.HZ;
        }
        return followsMonotonic() ? null : "the kernel's jiffies do not tick on multiples of "
                + NANOS_PER_JIFFY / 1000 + " us of the monotonic clock (/proc/timer_list)";
    }

    /** CONFIG_HZ from /proc/config.gz, 0 when it cannot be read. */
    static long configHz() {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(Path.of("/proc/config.gz")))) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
                if (line.startsWith("CONFIG_HZ=")) {
                    return Long.parseLong(line.substring("CONFIG_HZ=".length()).strip());
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }

    /**
     * Whether jiffies - monotonic / jiffy is the same in nine reads of /proc/timer_list out of ten (a read may print
     * its "now" before a tick and its jiffies after).
     */
    static boolean followsMonotonic() {
        java.util.Map<Long, Integer> differences = new java.util.HashMap<>();
        int reads = 40;
        for (int i = 0; i < reads; i++) {
            String s;
            try {
                s = Files.readString(Path.of("/proc/timer_list"), StandardCharsets.US_ASCII);
            } catch (IOException e) {
                return false;
            }
            int at = s.indexOf("now at ");
            int j = s.indexOf("\njiffies: ");
            if (at < 0 || j < 0) {
                return false;
            }
            long now = Long.parseLong(s.substring(at + 7, s.indexOf(' ', at + 7)));
            long jiffies = Long.parseLong(s.substring(j + 10, s.indexOf('\n', j + 10)).strip());
            differences.merge(jiffies - Math.floorDiv(now, NANOS_PER_JIFFY), 1, Integer::sum);
        }
        return differences.values().stream().mapToInt(Integer::intValue).max().orElse(0) * 10 >= reads * 9;
    }
}
