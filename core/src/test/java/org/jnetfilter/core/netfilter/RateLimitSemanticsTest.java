package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.Fixtures.builtin;
import static org.jnetfilter.core.netfilter.Fixtures.filter;
import static org.jnetfilter.core.netfilter.Fixtures.ip;
import static org.jnetfilter.core.netfilter.Fixtures.ipv4;
import static org.jnetfilter.core.netfilter.Fixtures.match;
import static org.jnetfilter.core.netfilter.Fixtures.rule;
import static org.jnetfilter.core.netfilter.Fixtures.tcp4;
import static org.jnetfilter.core.netfilter.Fixtures.udp;
import static org.jnetfilter.core.netfilter.Fixtures.verdict;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.matches.HashlimitMatch;
import org.jnetfilter.core.ext.matches.LimitMatch;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Rule;
import org.junit.jupiter.api.Test;

/**
 * limit and hashlimit token buckets, checked against the kernel's arithmetic worked by hand at HZ = 250
 * (one jiffy = 4 ms on the injected clock).
 */
class RateLimitSemanticsTest {
    static final IpSpec ANY = IpSpec.any(Family.IPV4);
    static final long JIFFY = 4_000_000L;
    static final int A = ip(192, 168, 1, 10);
    static final int B = ip(192, 168, 1, 11);
    static final int SERVER = ip(10, 0, 0, 1);

    private final PacketContext pkt = new PacketContext();

    private boolean at(ExtensionData d, long jiffies, MemorySegment packet) {
        return d.matches(pkt.ipv4(packet, 0).nowNanos(jiffies * JIFFY));
    }

    private boolean at(ExtensionData d, long jiffies) {
        return at(d, jiffies, tcp4(A, SERVER, 40000, 22, 0x02));
    }

    // ---- limit ----

    @Test
    void limitPassesTheBurstThenRefillsOneCostPer25Jiffies() {
        // 10/second: avg = 1000; cost = 1000 * 250 * 128 / 10000 = 3200; cap = 3 * 3200 = 9600; 128 per jiffy
        ExtensionData d = match(ANY, "limit", "--limit", "10/second", "--limit-burst", "3").data();
        assertThat(at(d, 0)).isTrue();
        assertThat(at(d, 0)).isTrue();
        assertThat(at(d, 0)).isTrue();
        assertThat(at(d, 0)).isFalse();
        // 24 jiffies give 3072 credits: short of 3200
        assertThat(at(d, 24)).isFalse();
        // one more jiffy: 3200, exactly one packet
        assertThat(at(d, 25)).isTrue();
        assertThat(at(d, 25)).isFalse();
        assertThat(((LimitMatch.Data) d).state().get().credit()).isZero();
    }

    @Test
    void limitBucketNeverHoldsMoreThanTheBurst() {
        ExtensionData d = match(ANY, "limit", "--limit", "10/second", "--limit-burst", "3").data();
        assertThat(at(d, 0)).isTrue();
        // a long silence refills to the cap (9600), not beyond
        for (int i = 0; i < 3; i++) {
            assertThat(at(d, 10_000)).isTrue();
        }
        assertThat(at(d, 10_000)).isFalse();
    }

    @Test
    void defaultLimitIsThreePerHourWithBurstFive() {
        // avg = 12,000,000 > 0xFFFFFFFF / 32000, so divided first: cost = 1200 * 32000 = 38,400,000;
        // refilling one cost takes 38,400,000 / 128 = 300,000 jiffies = 20 minutes
        ExtensionData d = match(ANY, "limit").data();
        for (int i = 0; i < 5; i++) {
            assertThat(at(d, 0)).isTrue();
        }
        assertThat(at(d, 0)).isFalse();
        assertThat(at(d, 299_999)).isFalse();
        assertThat(at(d, 300_000)).isTrue();
    }

    @Test
    void bucketLivesWithTheRuleAcrossGenerationsButNotInItsEquality() {
        Rule limited = rule(verdict("ACCEPT"), match(ANY, "limit", "--limit", "1/hour", "--limit-burst", "1"));
        var first = filter(builtin("INPUT", "DROP", limited));
        MemorySegment syn = tcp4(A, SERVER, 40000, 22, 0x02);
        assertThat(TableWalk.run(first, Hook.INPUT, pkt.ipv4(syn, 0), Trace.NONE)).isEqualTo(Verdict.ACCEPT);
        // a new generation keeping the rule keeps its empty bucket
        var second = filter(builtin("INPUT", "DROP", limited), Fixtures.user("extra"));
        assertThat(TableWalk.run(second, Hook.INPUT, pkt.ipv4(syn, 0), Trace.NONE)).isEqualTo(Verdict.DROP);
        // the same options parsed again: equal for -C/-D, but a rule of its own with a full bucket
        Rule again = rule(verdict("ACCEPT"), match(ANY, "limit", "--limit", "1/hour", "--limit-burst", "1"));
        assertThat(again.spec()).isEqualTo(limited.spec());
        assertThat(again.spec().hashCode()).isEqualTo(limited.spec().hashCode());
        var third = filter(builtin("INPUT", "DROP", again));
        assertThat(TableWalk.run(third, Hook.INPUT, pkt.ipv4(syn, 0), Trace.NONE)).isEqualTo(Verdict.ACCEPT);
    }

    // ---- hashlimit ----

    @Test
    void hashlimitKeepsOneBucketPerSourceAddress() {
        // 2/sec: avg = 500,000 us; cost = avg * 137,438,953 = 68,719,476,500,000; CREDITS_PER_JIFFY = 2^39
        ExtensionData d = match(ANY, "hashlimit", "--hashlimit-upto", "2/sec", "--hashlimit-burst", "2",
                "--hashlimit-mode", "srcip", "--hashlimit-name", "rl-src").data();
        assertThat(at(d, 0)).isTrue();
        assertThat(at(d, 0)).isTrue();
        assertThat(at(d, 0)).isFalse();
        // another source has its own full bucket
        assertThat(at(d, 0, tcp4(B, SERVER, 1, 2, 0x02))).isTrue();
        // 124 jiffies give 68,169,720,922,112 credits: short; 125 give 68,719,476,736,000: one packet
        assertThat(at(d, 124)).isFalse();
        assertThat(at(d, 125)).isTrue();
        assertThat(at(d, 125)).isFalse();
    }

    @Test
    void hashlimitAboveMatchesOverTheLimit() {
        ExtensionData d = match(ANY, "hashlimit", "--hashlimit-above", "1/sec", "--hashlimit-burst", "1",
                "--hashlimit-mode", "srcip,dstport", "--hashlimit-name", "rl-above").data();
        assertThat(at(d, 0)).isFalse();
        assertThat(at(d, 0)).isTrue();
        // another destination port is another key
        assertThat(at(d, 0, tcp4(A, SERVER, 40000, 80, 0x02))).isFalse();
        // one second later (250 jiffies) the bucket holds one packet again
        assertThat(at(d, 250)).isFalse();
    }

    @Test
    void hashlimitMasksAddressesIntoOneKey() {
        ExtensionData d = match(ANY, "hashlimit", "--hashlimit-upto", "1/min", "--hashlimit-burst", "1",
                "--hashlimit-mode", "srcip", "--hashlimit-srcmask", "24", "--hashlimit-name", "rl-mask").data();
        assertThat(at(d, 0, tcp4(A, SERVER, 1, 2, 0x02))).isTrue();
        // 192.168.1.11 is in the same /24 as 192.168.1.10
        assertThat(at(d, 0, tcp4(B, SERVER, 1, 2, 0x02))).isFalse();
        assertThat(at(d, 0, tcp4(ip(192, 168, 2, 1), SERVER, 1, 2, 0x02))).isTrue();
    }

    @Test
    void hashlimitEntriesExpireAtTheGarbageCollection() {
        // unit sec: htable-expire 1000 ms = 250 jiffies; gcinterval 1000 ms = 250 jiffies from creation
        ExtensionData d = match(ANY, "hashlimit", "--hashlimit-upto", "1/sec", "--hashlimit-burst", "1",
                "--hashlimit-mode", "srcip", "--hashlimit-name", "rl-expire").data();
        at(d, 0, tcp4(A, SERVER, 1, 2, 0x02));
        at(d, 10, tcp4(B, SERVER, 1, 2, 0x02));
        HashlimitMatch.Table t = ((HashlimitMatch.Data) d).state().get();
        assertThat(t.size()).isEqualTo(2);
        // collection at 250: A expires at 250 (goes), B at 260 (stays)
        at(d, 300, tcp4(B, SERVER, 1, 2, 0x02));
        assertThat(t.size()).isEqualTo(1);
        // B refreshed at 300 expires at 550; the collection due at 750 (run by a packet at 800) takes it
        at(d, 800, tcp4(ip(1, 2, 3, 4), SERVER, 1, 2, 0x02));
        assertThat(t.size()).isEqualTo(1);
    }

    @Test
    void hashlimitTablesAreSharedByName() {
        ExtensionData first = match(ANY, "hashlimit", "--hashlimit-upto", "1/hour", "--hashlimit-burst", "1",
                "--hashlimit-mode", "srcip", "--hashlimit-name", "rl-shared").data();
        ExtensionData second = match(ANY, "hashlimit", "--hashlimit-upto", "1/hour", "--hashlimit-burst", "1",
                "--hashlimit-mode", "srcip", "--hashlimit-name", "rl-shared").data();
        assertThat(at(first, 0)).isTrue();
        assertThat(at(second, 0)).isFalse();
    }

    @Test
    void hashlimitDropsPacketsOfNewKeysWhenTheTableIsFull() {
        ExtensionData d = match(ANY, "hashlimit", "--hashlimit-upto", "1/sec", "--hashlimit-mode", "srcip",
                "--hashlimit-htable-max", "1", "--hashlimit-name", "rl-max").data();
        assertThat(at(d, 0, tcp4(A, SERVER, 1, 2, 0x02))).isTrue();
        assertThat(pkt.hotdrop()).isFalse();
        assertThat(at(d, 0, tcp4(B, SERVER, 1, 2, 0x02))).isFalse();
        assertThat(pkt.hotdrop()).isTrue();
    }

    @Test
    void hashlimitHotdropsWhenThePortsAreCutShort() {
        ExtensionData d = match(ANY, "hashlimit", "--hashlimit-upto", "1/sec", "--hashlimit-mode", "dstport",
                "--hashlimit-name", "rl-short").data();
        assertThat(at(d, 0, ipv4(A, SERVER, 17, 0, 64, new byte[2]))).isFalse();
        assertThat(pkt.hotdrop()).isTrue();
        // a protocol without ports hashes port 0
        assertThat(at(d, 0, ipv4(A, SERVER, 47, 0, 64, new byte[0]))).isTrue();
        assertThat(at(d, 0, ipv4(A, SERVER, 17, 0, 64, udp(1, 53)))).isTrue();
    }

    @Test
    void hashlimitByteModeChargesPerSixteenByteChunk() {
        // 1kb/s: avg = 0xFFFFFFFF / 65 = 66,076,419; cost per chunk = avg * 250 * 2^24 >> 32 = 64,527,752;
        // bucket = 2^24 * 250 = 4,194,304,000; a 40-byte packet is 3 chunks = 193,583,256: 21 fit, not 22
        ExtensionData d = match(ANY, "hashlimit", "--hashlimit-upto", "1kb/s", "--hashlimit-mode", "dstip",
                "--hashlimit-name", "rl-bytes").data();
        for (int i = 0; i < 21; i++) {
            assertThat(at(d, 0)).as("packet %d", i + 1).isTrue();
        }
        assertThat(at(d, 0)).isFalse();
        // 129,055,624 left; 3 jiffies add 3 * 2^24: 179,387,272, short; the 4th: 196,164,488, one packet
        assertThat(at(d, 3)).isFalse();
        assertThat(at(d, 4)).isTrue();
        assertThat(at(d, 4)).isFalse();
    }

    @Test
    void hashlimitRateMatchCountsPacketsInWindowsOfTheInterval() {
        // 2/sec, burst 1: avg = 500,000, rate = 10^6 / avg = 2 packets, burst = 1 + rate = 3 in a window of 1 s
        ExtensionData d = match(ANY, "hashlimit", "--hashlimit-upto", "2/sec", "--hashlimit-burst", "1",
                "--hashlimit-rate-match", "--hashlimit-mode", "srcip", "--hashlimit-name", "rl-rate").data();
        assertThat(at(d, 0)).isTrue();
        assertThat(at(d, 0)).isTrue();
        assertThat(at(d, 0)).isTrue();
        assertThat(at(d, 0)).isFalse();
        // 249 jiffies are still the first window: its fifth packet
        assertThat(at(d, 249)).isFalse();
        // 250 close it: 5 packets * 250 > 250 jiffies * 2, it ran over, so the new window is over from its start
        assertThat(at(d, 250)).isFalse();
        assertThat(at(d, 260)).isFalse();
        // the window opened at 250 counted 2 packets: 2 * 250 > 250 * 2 is false, under again
        assertThat(at(d, 500)).isTrue();
        // another source has a bucket of its own
        assertThat(at(d, 500, tcp4(B, SERVER, 1, 2, 0x02))).isTrue();
    }

    /**
     * rateinfo_recalc's rate-match branch: a packet at least the interval after the window opened closes it, and
     * the next window is over from its start when the closed one counted more than the rate allows for the time
     * it lasted: {@code count * interval * HZ > elapsed * rate}. Rows: packets in the first window (all at jiffy
     * 0), the jiffy of the packet that closes it, whether that packet is over. 2/sec, burst 1: rate 2, 3 a window.
     */
    @Test
    void hashlimitRateMatchClosedWindowRunsOverWhenItsCountExceedsTheRateForItsLength() {
        long[][] rows = {
            // count, closing jiffy, over (1) or under (0)
            {3, 250, 1}, // 750 > 500
            {2, 250, 0}, // 500 > 500 is false
            {5, 600, 1}, // 1,250 > 1,200
            {4, 600, 0}, // 1,000 > 1,200 is false
            {5, 625, 0}, // 1,250 > 1,250 is false
            {6, 749, 1}, // 1,500 > 1,498
            {6, 750, 0}, // 1,500 > 1,500 is false
        };
        for (long[] row : rows) {
            ExtensionData d = match(ANY, "hashlimit", "--hashlimit-upto", "2/sec", "--hashlimit-burst", "1",
                    "--hashlimit-rate-match", "--hashlimit-mode", "srcip", "--hashlimit-htable-expire", "60000",
                    "--hashlimit-name", "rl-close-" + row[0] + "-" + row[1]).data();
            for (int i = 0; i < row[0]; i++) {
                at(d, 0);
            }
            assertThat(at(d, row[1])).as("%d packets, closed at jiffy %d", row[0], row[1]).isEqualTo(row[2] == 0);
        }
    }

    @Test
    void hashlimitRateMatchKeepsAnOverWindowOfAnEntryThatHasNotExpired() {
        // Linux 6.18 in a namespace, htable-expire 60 s: 6 packets, a pause of 1.5 s, the source stays over
        ExtensionData d = match(ANY, "hashlimit", "--hashlimit-upto", "2/sec", "--hashlimit-burst", "1",
                "--hashlimit-rate-match", "--hashlimit-mode", "srcip", "--hashlimit-htable-expire", "60000",
                "--hashlimit-name", "rl-rate-kept").data();
        for (int i = 0; i < 6; i++) {
            at(d, i * 5);
        }
        // 6 * 250 > 375 * 2: the window that opens at 375 is over, all of it
        assertThat(at(d, 375)).isFalse();
        assertThat(at(d, 376)).isFalse();
        assertThat(at(d, 624)).isFalse();
    }

    @Test
    void hashlimitRateMatchStartsAFreshWindowWhenTheCollectorTookTheIdleEntry() {
        // Linux 6.18 in a namespace, the default expiry (1 s for a rate by the second): 6 packets, a pause of 1.5
        // s or more, the source is under again: htable_gc freed the idle entry, the next packet makes a new one
        // (rateinfo_init: no closed window, count 0). Collections every 250 jiffies from the table's first packet.
        ExtensionData d = match(ANY, "hashlimit", "--hashlimit-upto", "2/sec", "--hashlimit-burst", "1",
                "--hashlimit-rate-match", "--hashlimit-mode", "srcip", "--hashlimit-name", "rl-rate-collected").data();
        for (int i = 0; i < 6; i++) {
            at(d, i * 5);
        }
        HashlimitMatch.Table t = ((HashlimitMatch.Data) d).state().get();
        // the last packet at 25 expires at 275; expired but not collected yet at 412: the entry and its over
        // window are still there (the kernel's collector is deferrable work that may run late, never early)
        assertThat(at(d, 412)).isFalse();
        assertThat(t.size()).isEqualTo(1);
        // idle from 412 to 1,000: expired at 662, collected at 750; a fresh entry, 3 packets under, the 4th over
        assertThat(at(d, 1000)).isTrue();
        assertThat(at(d, 1000)).isTrue();
        assertThat(at(d, 1001)).isTrue();
        assertThat(at(d, 1002)).isFalse();
    }

    @Test
    void hashlimitRateMatchAboveMatchesTheWindowsOverTheRate() {
        ExtensionData d = match(ANY, "hashlimit", "--hashlimit-above", "1/sec", "--hashlimit-burst", "1",
                "--hashlimit-rate-match", "--hashlimit-rate-interval", "2", "--hashlimit-name", "rl-rate-above")
                .data();
        // rate 1, burst 2, windows of 2 s (500 jiffies)
        assertThat(at(d, 0)).isFalse();
        assertThat(at(d, 100)).isFalse();
        assertThat(at(d, 200)).isTrue();
        // 499 jiffies is inside the window; 500 close it: 4 * 500 > 500 * 1, over
        assertThat(at(d, 499)).isTrue();
        assertThat(at(d, 500)).isTrue();
        // the window from 500 counted 1 packet by 1,100: 1 * 500 > 600 * 1 is false
        assertThat(at(d, 1100)).isFalse();
    }

    @Test
    void hashlimitRateMatchInByteModeCountsBytes() {
        // 1kb/s: cost 66,076,419, rate = ((0xFFFFFFFF / cost) - 1) << 4 = 1024 bytes, no burst: the burst is the
        // rate; 40-byte packets: 25 fit (1,000 bytes), the 26th (1,040) does not
        ExtensionData d = match(ANY, "hashlimit", "--hashlimit-upto", "1kb/s", "--hashlimit-rate-match",
                "--hashlimit-mode", "dstip", "--hashlimit-name", "rl-rate-bytes").data();
        for (int i = 0; i < 25; i++) {
            assertThat(at(d, 0)).as("packet %d", i + 1).isTrue();
        }
        assertThat(at(d, 0)).isFalse();
        // 1,040 bytes * 250 > 250 jiffies * 1,024: the next window starts over
        assertThat(at(d, 250)).isFalse();
        // 40 bytes in the window from 250: under
        assertThat(at(d, 500)).isTrue();
    }
}
