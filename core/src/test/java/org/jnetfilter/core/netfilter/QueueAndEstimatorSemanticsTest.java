package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.Fixtures.ip;
import static org.jnetfilter.core.netfilter.Fixtures.ipv4;
import static org.jnetfilter.core.netfilter.Fixtures.match;
import static org.jnetfilter.core.netfilter.Fixtures.target;
import static org.jnetfilter.core.netfilter.Fixtures.tcp4;

import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.targets.NfqueueTarget;
import org.jnetfilter.core.ext.targets.RateestTarget;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Target;
import org.junit.jupiter.api.Test;

/** NFQUEUE verdicts and balancing, RATEEST estimators and the rateest match, and the targets that go on. */
class QueueAndEstimatorSemanticsTest {
    static final IpSpec ANY = IpSpec.any(Family.IPV4);
    static final int A = ip(192, 168, 1, 10);
    static final int SERVER = ip(10, 0, 0, 1);
    static final long JIFFY = 4_000_000L;

    private final PacketContext pkt = new PacketContext();

    private static ExtensionData targetData(String name, String... words) {
        return ((Target.Extension) target(ANY, name, words)).data();
    }

    // ---- NFQUEUE ----

    @Test
    void queueNumberAndBypassFlagGoIntoTheVerdict() {
        int v = targetData("NFQUEUE", "--queue-num", "5").apply(pkt.ipv4(tcp4(A, SERVER, 1, 2, 2), 0));
        assertThat(v).isEqualTo(Verdict.queue(5));
        int b = targetData("NFQUEUE", "--queue-num", "7", "--queue-bypass").apply(pkt);
        assertThat(Verdict.kind(b)).isEqualTo(Verdict.QUEUE);
        assertThat(Verdict.queueNumber(b)).isEqualTo(7);
        assertThat(b & NfqueueTarget.VERDICT_FLAG_QUEUE_BYPASS).isNotZero();
        assertThat(targetData("NFQUEUE").apply(pkt)).isEqualTo(Verdict.queue(0));
    }

    @Test
    void balanceKeepsBothDirectionsOfAFlowInOneQueueAndSpreadsFlows() {
        ExtensionData d = targetData("NFQUEUE", "--queue-balance", "4:7");
        pkt.random(new SplittableRandom(7));
        Set<Integer> used = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            int client = ip(192, 168, i / 256, i % 256);
            int there = Verdict.queueNumber(d.apply(pkt.ipv4(tcp4(client, SERVER, 1000 + i, 80, 2), 0)));
            int back = Verdict.queueNumber(d.apply(pkt.ipv4(tcp4(SERVER, client, 80, 1000 + i, 0x12), 0)));
            assertThat(there).isBetween(4, 7).isEqualTo(back);
            used.add(there);
        }
        assertThat(used).containsExactlyInAnyOrder(4, 5, 6, 7);
        // the hash takes addresses and protocol, not ports
        int tcp = Verdict.queueNumber(d.apply(pkt.ipv4(tcp4(A, SERVER, 1, 2, 2), 0)));
        assertThat(Verdict.queueNumber(d.apply(pkt.ipv4(tcp4(A, SERVER, 3, 4, 2), 0)))).isEqualTo(tcp);
    }

    @Test
    void balanceSeedIsDrawnOncePerRuleFromTheInjectedRandom() {
        int[] first = new int[50];
        int[] second = new int[50];
        for (int round = 0; round < 2; round++) {
            ExtensionData d = targetData("NFQUEUE", "--queue-balance", "0:99");
            pkt.random(new SplittableRandom(1234));
            for (int i = 0; i < 50; i++) {
                MemorySegment flow = ipv4(A + i, SERVER, 17, 0, 64, new byte[8]);
                (round == 0 ? first : second)[i] = Verdict.queueNumber(d.apply(pkt.ipv4(flow, 0)));
            }
        }
        assertThat(second).isEqualTo(first);
    }

    // ---- RATEEST and rateest ----

    @Test
    void estimatorAveragesEachPeriodWithTheEwma() {
        // 250 ms: intvl_log 0, period HZ/4 = 62 jiffies; ewmalog 500 ms gives ewma_log 1
        ExtensionData est = targetData("RATEEST", "--rateest-name", "est-a", "--rateest-interval", "250ms",
                "--rateest-ewmalog", "500ms");
        MemorySegment hundred = ipv4(A, SERVER, 17, 0, 64, new byte[80]);
        for (int i = 0; i < 10; i++) {
            assertThat(est.apply(pkt.ipv4(hundred, 0).nowNanos(0))).isEqualTo(Verdict.CONTINUE);
        }
        RateestTarget.Estimator e = RateestTarget.ESTIMATORS.find("est-a");
        assertThat(e.bps(61)).isZero();
        // at 62: 1000 bytes << 10 = 1,024,000, halved: 512,000 / 256 = 2000 B/s; 10 << 10 >> 1 >> 8 = 20 pps
        assertThat(e.bps(62)).isEqualTo(2000);
        assertThat(e.pps(62)).isEqualTo(20);
        // an idle period halves the averages again
        assertThat(e.bps(124)).isEqualTo(1000);
        assertThat(e.pps(124)).isEqualTo(10);
        // and a long silence decays them to nothing
        assertThat(e.bps(1_000_000)).isZero();

        // the rule holds its estimator: it is the one the registry finds
        assertThat(((RateestTarget.Data) est).state().get()).isSameAs(e);
    }

    @Test
    void rateestMatchComparesTheRateOrItsDistanceToAValue() {
        ExtensionData est = targetData("RATEEST", "--rateest-name", "est-b", "--rateest-interval", "250ms",
                "--rateest-ewmalog", "500ms");
        ExtensionData gt = match(ANY, "rateest", "--rateest", "est-b", "--rateest-gt", "--rateest-bps", "1500").data();
        ExtensionData notGt = match(ANY, "rateest", "--rateest", "est-b", "!", "--rateest-gt", "--rateest-bps",
                "1500").data();
        ExtensionData delta = match(ANY, "rateest", "--rateest-delta", "--rateest1", "est-b", "--rateest-bps1", "2500",
                "--rateest-eq", "--rateest-bps2", "500").data();
        MemorySegment hundred = ipv4(A, SERVER, 17, 0, 64, new byte[80]);
        for (int i = 0; i < 10; i++) {
            est.apply(pkt.ipv4(hundred, 0).nowNanos(0));
        }
        // 2000 B/s at 62 jiffies, 1000 at 124
        assertThat(gt.matches(pkt.nowNanos(62 * JIFFY))).isTrue();
        assertThat(notGt.matches(pkt)).isFalse();
        assertThat(delta.matches(pkt)).isTrue();
        assertThat(gt.matches(pkt.nowNanos(124 * JIFFY))).isFalse();
        assertThat(notGt.matches(pkt)).isTrue();
    }

    @Test
    void anEstimatorNoRuleHasCreatedReadsZero() {
        ExtensionData lt = match(ANY, "rateest", "--rateest", "est-none", "--rateest-lt", "--rateest-pps", "1").data();
        assertThat(lt.matches(pkt.ipv4(tcp4(A, SERVER, 1, 2, 2), 0))).isTrue();
    }

    // ---- targets that go on with the next rule ----

    @Test
    void loggingAndMarkingTargetsContinue() {
        pkt.ipv4(tcp4(A, SERVER, 1, 2, 2), 0);
        assertThat(targetData("NFLOG", "--nflog-group", "3").apply(pkt)).isEqualTo(Verdict.CONTINUE);
        assertThat(targetData("AUDIT", "--type", "accept").apply(pkt)).isEqualTo(Verdict.CONTINUE);
        assertThat(targetData("TRACE").apply(pkt)).isEqualTo(Verdict.CONTINUE);
        assertThat(targetData("NOTRACK").apply(pkt)).isEqualTo(Verdict.CONTINUE);
        assertThat(targetData("CT", "--notrack").apply(pkt)).isEqualTo(Verdict.CONTINUE);
        assertThat(targetData("IDLETIMER", "--timeout", "10", "--label", "idle").apply(pkt))
                .isEqualTo(Verdict.CONTINUE);
        assertThat(targetData("LED", "--led-trigger-id", "net").apply(pkt)).isEqualTo(Verdict.CONTINUE);
        // CT with a zone attaches its template (conntrack semantics: core/.../conntrack tests)
        assertThat(targetData("CT", "--zone", "1").apply(pkt)).isEqualTo(Verdict.CONTINUE);
    }
}
