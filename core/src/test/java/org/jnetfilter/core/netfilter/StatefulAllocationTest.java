package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.Fixtures.builtin;
import static org.jnetfilter.core.netfilter.Fixtures.filter;
import static org.jnetfilter.core.netfilter.Fixtures.ip;
import static org.jnetfilter.core.netfilter.Fixtures.match;
import static org.jnetfilter.core.netfilter.Fixtures.rule;
import static org.jnetfilter.core.netfilter.Fixtures.target;
import static org.jnetfilter.core.netfilter.Fixtures.tcp4;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.jnetfilter.core.AllocationMeter;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Table;
import org.junit.jupiter.api.Test;

/**
 * The packet-path contract for the stateful extensions without lookup keys: once a rule's state exists,
 * limit, statistic, quota, time, cpu, NFLOG and NFQUEUE allocate nothing per packet.
 */
class StatefulAllocationTest {
    @Test
    void statefulRulesAllocateNothingPerPacketOnceTheirStateExists() {
        IpSpec any = IpSpec.any(Family.IPV4);
        Table t = filter(builtin("INPUT", "DROP",
                rule(target(any, "MARK", "--set-mark", "1"), match(any, "limit", "--limit", "100/sec")),
                rule(target(any, "MARK", "--set-mark", "2"),
                        match(any, "statistic", "--mode", "nth", "--every", "3", "--packet", "0")),
                rule(target(any, "MARK", "--set-mark", "3"),
                        match(any, "statistic", "--mode", "random", "--probability", "0.5")),
                rule(target(any, "MARK", "--set-mark", "4"), match(any, "quota", "--quota", "1000000000")),
                rule(target(any, "MARK", "--set-mark", "5"),
                        match(any, "time", "--timestart", "22:00", "--timestop", "06:00", "--weekdays", "Mon,Tue",
                                "--monthdays", "1,30")),
                rule(target(any, "MARK", "--set-mark", "6"), match(any, "cpu", "--cpu", "0")),
                rule(target(any, "NFLOG", "--nflog-group", "1")),
                rule(target(any, "NFQUEUE", "--queue-balance", "0:3", "--queue-bypass"))));
        MemorySegment syn = tcp4(ip(192, 168, 1, 2), ip(10, 0, 0, 1), 40000, 22, 0x02);
        PacketContext pkt = new PacketContext().random(new SplittableRandom(3));
        long[] clock = {1_796_000_000_000_000_000L};
        long[] sink = {0};
        Runnable one = () -> {
            clock[0] += 1_000_000;
            pkt.ipv4(syn, 0).nowNanos(clock[0]);
            sink[0] += Verdict.kind(TableWalk.run(t, Hook.INPUT, pkt, Trace.NONE));
        };
        // the least of three rounds: a JIT compilation or a profile update may allocate during one of them;
        // anything allocated per packet would be at least 16 bytes x 100k
        long allocated = AllocationMeter.leastOfThreeRounds(one, 20_000, 100_000);
        assertThat(sink[0]).isEqualTo(320_000L * Verdict.QUEUE);
        assertThat(allocated).as("bytes allocated for 100k walks").isLessThan(100_000);
    }
}
