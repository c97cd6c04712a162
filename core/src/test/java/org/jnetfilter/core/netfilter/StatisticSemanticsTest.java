package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jnetfilter.core.netfilter.Fixtures.ip;
import static org.jnetfilter.core.netfilter.Fixtures.ipv4;
import static org.jnetfilter.core.netfilter.Fixtures.match;
import static org.jnetfilter.core.netfilter.Fixtures.tcp4;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.junit.jupiter.api.Test;

/** statistic (nth and random with the seeded source), quota and cpu. */
class StatisticSemanticsTest {
    static final IpSpec ANY = IpSpec.any(Family.IPV4);
    static final MemorySegment SYN = tcp4(ip(192, 168, 1, 10), ip(10, 0, 0, 1), 40000, 22, 0x02);

    private final PacketContext pkt = new PacketContext();

    private List<Boolean> run(ExtensionData d, int packets) {
        List<Boolean> out = new ArrayList<>();
        for (int i = 0; i < packets; i++) {
            out.add(d.matches(pkt.ipv4(SYN, 0)));
        }
        return out;
    }

    // ---- statistic nth ----

    @Test
    void nthMatchesThePacketAfterPAsLinuxCounts() {
        // Linux 6.18, six UDP packets through OUTPUT: --every 3 --packet 0 counted packets 1 and 4, --packet 1
        // packets 2 and 5 (the counter starts at every-1-packet and matches when it wraps to 0)
        ExtensionData p0 = match(ANY, "statistic", "--mode", "nth", "--every", "3", "--packet", "0").data();
        assertThat(run(p0, 6)).containsExactly(true, false, false, true, false, false);
        ExtensionData p1 = match(ANY, "statistic", "--mode", "nth", "--every", "3", "--packet", "1").data();
        assertThat(run(p1, 6)).containsExactly(false, true, false, false, true, false);
    }

    @Test
    void nthInvertedAndEveryOne() {
        // Linux 6.18: ! --every 2 --packet 1 counted packets 1, 3, 5
        ExtensionData inv = match(ANY, "statistic", "--mode", "nth", "!", "--every", "2", "--packet", "1").data();
        assertThat(run(inv, 4)).containsExactly(true, false, true, false);
        ExtensionData all = match(ANY, "statistic", "--mode", "nth", "--every", "1", "--packet", "0").data();
        assertThat(run(all, 3)).containsExactly(true, true, true);
    }

    @Test
    void eachNthRuleCountsItsOwnPackets() {
        ExtensionData a = match(ANY, "statistic", "--mode", "nth", "--every", "2", "--packet", "0").data();
        ExtensionData b = match(ANY, "statistic", "--mode", "nth", "--every", "2", "--packet", "0").data();
        assertThat(a).isEqualTo(b);
        assertThat(run(a, 3)).containsExactly(true, false, true);
        assertThat(run(b, 1)).containsExactly(true);
    }

    // ---- statistic random ----

    /** A source that answers the given u32 values in turn. */
    private static RandomGenerator fixed(int... values) {
        return new RandomGenerator() {
            int i;

            @Override
            public long nextLong() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int nextInt() {
                return values[i++];
            }
        };
    }

    @Test
    void randomComparesTheLow31BitsWithTheStoredThreshold() {
        // 0.5 is stored as lround(0x80000000 * 0.5) = 0x40000000
        ExtensionData half = match(ANY, "statistic", "--mode", "random", "--probability", "0.5").data();
        pkt.random(fixed(0x3FFFFFFF, 0x40000000, 0xBFFFFFFF, 0xC0000000, 0));
        assertThat(run(half, 5)).containsExactly(true, false, true, false, true);
    }

    @Test
    void probabilityOneAlwaysAndZeroNever() {
        ExtensionData one = match(ANY, "statistic", "--mode", "random", "--probability", "1").data();
        ExtensionData zero = match(ANY, "statistic", "--mode", "random", "--probability", "0").data();
        pkt.random(fixed(0x7FFFFFFF, 0xFFFFFFFF, 0, 0));
        assertThat(run(one, 2)).containsExactly(true, true);
        assertThat(run(zero, 2)).containsExactly(false, false);
    }

    @Test
    void probabilityIsReadAsStrtodReadsItNotWithJavasFloatSuffixes() {
        // libxt_statistic reads the value with strtod: "0.5d" and "0.5F" are not numbers to it
        for (String bad : List.of("0.5d", "0.5D", "0.5f", "0.5F", " 1d ", "1.5", "-0.1", "x")) {
            assertThatThrownBy(() -> match(ANY, "statistic", "--mode", "random", "--probability", bad)).as(bad)
                    .isInstanceOf(org.jnetfilter.core.ext.XtablesException.class)
                    .hasMessageContaining("bad value for option \"--probability\"");
        }
        for (String good : List.of("0.5", " 0.5 ", "1e-1", "0", "1", ".25")) {
            assertThat(match(ANY, "statistic", "--mode", "random", "--probability", good).data()).as(good).isNotNull();
        }
    }

    @Test
    void randomSamplesWithinStatisticalBoundsAndReplaysWithTheSameSeed() {
        ExtensionData quarter = match(ANY, "statistic", "--mode", "random", "--probability", "0.25").data();
        int n = 100_000;
        pkt.random(new SplittableRandom(42));
        List<Boolean> first = run(quarter, n);
        long hits = first.stream().filter(x -> x).count();
        // mean 25,000, standard deviation sqrt(n p (1 - p)) = 137: six of them either side
        assertThat(hits).isBetween(25_000L - 822, 25_000L + 822);
        pkt.random(new SplittableRandom(42));
        assertThat(run(quarter, n)).isEqualTo(first);
        ExtensionData inverted = match(ANY, "statistic", "--mode", "random", "!", "--probability", "0.25").data();
        pkt.random(new SplittableRandom(42));
        assertThat(run(inverted, n).stream().filter(x -> x).count()).isEqualTo(n - hits);
    }

    // ---- quota ----

    @Test
    void quotaMatchesUntilThePacketNoLongerFitsThenNothing() {
        ExtensionData q = match(ANY, "quota", "--quota", "100").data();
        MemorySegment big = ipv4(1, 2, 17, 0, 64, new byte[60]);
        MemorySegment small = ipv4(1, 2, 17, 0, 64, new byte[0]);
        // 40 + 40 = 80 of 100; the third 40 does not fit and spends the rest
        assertThat(run(q, 2)).containsExactly(true, true);
        assertThat(q.matches(pkt.ipv4(big, 0))).isFalse();
        assertThat(q.matches(pkt.ipv4(small, 0))).isFalse();
    }

    @Test
    void quotaFitsExactlyAndInverts() {
        ExtensionData q = match(ANY, "quota", "--quota", "80").data();
        assertThat(run(q, 3)).containsExactly(true, true, false);
        ExtensionData inv = match(ANY, "quota", "!", "--quota", "80").data();
        assertThat(run(inv, 3)).containsExactly(false, false, true);
    }

    // ---- cpu ----

    @Test
    void everyPacketIsHandledByCpuZero() {
        assertThat(match(ANY, "cpu", "--cpu", "0").data().matches(pkt.ipv4(SYN, 0))).isTrue();
        assertThat(match(ANY, "cpu", "--cpu", "1").data().matches(pkt.ipv4(SYN, 0))).isFalse();
        assertThat(match(ANY, "cpu", "!", "--cpu", "1").data().matches(pkt.ipv4(SYN, 0))).isTrue();
    }
}
