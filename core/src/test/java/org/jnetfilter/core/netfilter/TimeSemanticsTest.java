package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.Fixtures.ip;
import static org.jnetfilter.core.netfilter.Fixtures.match;
import static org.jnetfilter.core.netfilter.Fixtures.tcp4;

import java.lang.foreign.MemorySegment;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.ZoneOffset;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.matches.TimeMatch;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.junit.jupiter.api.Test;

/** xt_time on the injected clock: daytime windows across midnight, weekdays, month days, dates, kerneltz. */
class TimeSemanticsTest {
    static final IpSpec ANY = IpSpec.any(Family.IPV4);
    static final MemorySegment SYN = tcp4(ip(192, 168, 1, 10), ip(10, 0, 0, 1), 40000, 22, 0x02);

    private final PacketContext pkt = new PacketContext();

    private static ExtensionData time(String... words) {
        return match(ANY, "time", words).data();
    }

    private boolean at(ExtensionData d, String utc) {
        Instant t = Instant.parse(utc);
        return d.matches(pkt.ipv4(SYN, 0).nowNanos(t.getEpochSecond() * 1_000_000_000L + t.getNano()));
    }

    @Test
    void theCalendarOfTheseTests() {
        assertThat(Instant.parse("2026-11-30T00:00:00Z").atOffset(ZoneOffset.UTC).getDayOfWeek())
                .isEqualTo(DayOfWeek.MONDAY);
    }

    @Test
    void daytimeWindowIsInclusive() {
        ExtensionData d = time("--timestart", "08:00", "--timestop", "17:30");
        assertThat(at(d, "2026-11-30T07:59:59Z")).isFalse();
        assertThat(at(d, "2026-11-30T08:00:00Z")).isTrue();
        assertThat(at(d, "2026-11-30T17:30:00Z")).isTrue();
        // whole seconds: 17:30:00.999 is still 17:30:00
        assertThat(at(d, "2026-11-30T17:30:00.999Z")).isTrue();
        assertThat(at(d, "2026-11-30T17:30:01Z")).isFalse();
    }

    @Test
    void daytimeWindowWrapsAcrossMidnight() {
        ExtensionData d = time("--timestart", "22:00", "--timestop", "06:00");
        assertThat(at(d, "2026-11-30T21:59:59Z")).isFalse();
        assertThat(at(d, "2026-11-30T22:00:00Z")).isTrue();
        assertThat(at(d, "2026-11-30T23:59:59Z")).isTrue();
        assertThat(at(d, "2026-12-01T00:00:00Z")).isTrue();
        assertThat(at(d, "2026-12-01T06:00:00Z")).isTrue();
        assertThat(at(d, "2026-12-01T06:00:01Z")).isFalse();
        assertThat(at(d, "2026-12-01T12:00:00Z")).isFalse();
    }

    @Test
    void weekdaysAreTheDayOfThePacket() {
        ExtensionData d = time("--weekdays", "Mon,Fri");
        assertThat(at(d, "2026-11-30T12:00:00Z")).isTrue();
        assertThat(at(d, "2026-12-01T12:00:00Z")).isFalse();
        assertThat(at(d, "2026-12-04T23:59:59Z")).isTrue();
        assertThat(at(d, "2026-12-05T00:00:00Z")).isFalse();
        assertThat(at(d, "2026-12-06T12:00:00Z")).isFalse();
        assertThat(at(d, "2026-12-07T00:00:00Z")).isTrue();
        ExtensionData notWeekend = time("!", "--weekdays", "Sat,Sun");
        assertThat(at(notWeekend, "2026-12-05T12:00:00Z")).isFalse();
        assertThat(at(notWeekend, "2026-12-03T12:00:00Z")).isTrue();
    }

    @Test
    void overnightWindowOnAWeekdayCountsAfterMidnightOnlyWhenContiguous() {
        ExtensionData plain = time("--timestart", "22:00", "--timestop", "02:00", "--weekdays", "Fri");
        ExtensionData contiguous = time("--timestart", "22:00", "--timestop", "02:00", "--weekdays", "Fri",
                "--contiguous");
        // Friday 23:00
        assertThat(at(plain, "2026-12-04T23:00:00Z")).isTrue();
        assertThat(at(contiguous, "2026-12-04T23:00:00Z")).isTrue();
        // Saturday 01:00: Saturday, or with --contiguous the tail of Friday's night
        assertThat(at(plain, "2026-12-05T01:00:00Z")).isFalse();
        assertThat(at(contiguous, "2026-12-05T01:00:00Z")).isTrue();
        // Friday 01:00: Friday, or with --contiguous the tail of Thursday's night
        assertThat(at(plain, "2026-12-04T01:00:00Z")).isTrue();
        assertThat(at(contiguous, "2026-12-04T01:00:00Z")).isFalse();
    }

    @Test
    void monthDaysAndLeapYears() {
        ExtensionData last = time("--monthdays", "29,31");
        assertThat(at(last, "2026-12-31T10:00:00Z")).isTrue();
        assertThat(at(last, "2026-11-30T10:00:00Z")).isFalse();
        assertThat(at(last, "2028-02-29T10:00:00Z")).isTrue();
        assertThat(at(last, "2028-03-01T10:00:00Z")).isFalse();
        assertThat(at(last, "1970-01-31T00:00:00Z")).isTrue();
    }

    @Test
    void datesBoundThePacketInclusively() {
        ExtensionData d = time("--datestart", "2026-12-01", "--datestop", "2026-12-24T18:00:00");
        assertThat(at(d, "2026-11-30T23:59:59Z")).isFalse();
        assertThat(at(d, "2026-12-01T00:00:00Z")).isTrue();
        assertThat(at(d, "2026-12-24T18:00:00Z")).isTrue();
        assertThat(at(d, "2026-12-24T18:00:01Z")).isFalse();
    }

    @Test
    void kernelTimezoneShiftsThePacketTime() {
        ExtensionData utc = time("--timestart", "08:00", "--timestop", "09:00");
        ExtensionData kernel = time("--timestart", "08:00", "--timestop", "09:00", "--kerneltz");
        int saved = TimeMatch.kernelMinutesWest;
        try {
            // sys_tz of UTC+1: 60 minutes east
            TimeMatch.kernelMinutesWest = -60;
            assertThat(at(utc, "2026-11-30T07:30:00Z")).isFalse();
            assertThat(at(kernel, "2026-11-30T07:30:00Z")).isTrue();
            assertThat(at(kernel, "2026-11-30T08:30:00Z")).isFalse();
        } finally {
            TimeMatch.kernelMinutesWest = saved;
        }
        // unset, the kernel's timezone is UTC
        assertThat(at(kernel, "2026-11-30T08:30:00Z")).isTrue();
    }
}
