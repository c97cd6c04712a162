package org.jnetfilter.core.classify;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.jnetfilter.core.AllocationMeter;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Protocols;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.core.rules.Target;
import org.junit.jupiter.api.Test;

/** The class comment's contract: once the chains are compiled, a classified walk allocates nothing. */
class ClassifiedWalkAllocationTest {
    static Rule rule(IpSpec ip, Target target, Match... matches) {
        return new Rule(new RuleSpec(ip, List.of(matches), target), Counters.zero());
    }

    @Test
    void aClassifiedWalkAllocatesNothingPerPacket() {
        IpSpec any = IpSpec.any(Family.IPV4);
        IpSpec tcp = any.withProtocol(Protocols.TCP);
        Chain input = Chain.builtin("INPUT").withPolicy("DROP", Counters.zero()).withRules(RuleList.of(List.of(
                rule(any.withSrc(IpNet.ipv4(0x0A000000, 8)), Target.verdictOrNull("DROP")),
                rule(any.withInIface("eth+"), ClassifyFixtures.target(any, "LOG", "--log-prefix", "x")),
                rule(tcp, new Target.Jump("SVC", false), ClassifyFixtures.match(tcp, "multiport", "--dports", "80,22:23")),
                rule(any, Target.verdictOrNull("ACCEPT"), ClassifyFixtures.match(any, "mark", "--mark", "0x1")))));
        Chain svc = Chain.user("SVC").withRules(RuleList.of(List.of(
                rule(tcp, new Target.Jump("MARKING", true), ClassifyFixtures.match(tcp, "tcp", "--dport", "22", "--syn")))));
        Chain marking = Chain.user("MARKING").withRules(RuleList.of(List.of(
                rule(any, ClassifyFixtures.target(any, "MARK", "--set-mark", "1")))));
        Table t = Table.of(TableKind.FILTER, Family.IPV4, List.of(input), List.of(marking, svc));
        MemorySegment syn = ClassifyFixtures.ipv4(0xC0A80102, 0x0A000001, 6, 0, 64,
                ClassifyFixtures.transport(40000, 22, 0x02, 20));
        PacketContext pkt = new PacketContext();
        ClassifiedWalk.prepare(t);
        long[] sink = {0};
        Runnable one = () -> {
            pkt.ipv4(syn, 0).inInterface("eth0");
            sink[0] += ClassifiedWalk.run(t, Hook.INPUT, pkt, Trace.NONE);
        };
        // the least of three rounds: a JIT compilation may allocate during one; a per-packet allocation
        // would be at least 16 bytes x 100k
        long allocated = AllocationMeter.leastOfThreeRounds(one, 20_000, 100_000);
        assertThat(sink[0]).isEqualTo(320_000L * Verdict.ACCEPT);
        assertThat(allocated).as("bytes allocated for 100k walks").isLessThan(100_000);
    }
}
