package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.Fixtures.builtin;
import static org.jnetfilter.core.netfilter.Fixtures.filter;
import static org.jnetfilter.core.netfilter.Fixtures.goTo;
import static org.jnetfilter.core.netfilter.Fixtures.ip;
import static org.jnetfilter.core.netfilter.Fixtures.jump;
import static org.jnetfilter.core.netfilter.Fixtures.match;
import static org.jnetfilter.core.netfilter.Fixtures.rule;
import static org.jnetfilter.core.netfilter.Fixtures.target;
import static org.jnetfilter.core.netfilter.Fixtures.tcp4;
import static org.jnetfilter.core.netfilter.Fixtures.user;
import static org.jnetfilter.core.netfilter.Fixtures.verdict;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.AllocationMeter;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;
import org.jnetfilter.core.rules.Table;
import org.junit.jupiter.api.Test;

/** The class comments' contract: loading a packet and walking a table allocate nothing. */
class TableWalkAllocationTest {
    @Test
    void walkingATableAllocatesNothingPerPacket() {
        IpSpec any = IpSpec.any(Family.IPV4);
        IpSpec tcp = any.withProtocol(Protocols.TCP);
        Table t = filter(
                builtin("INPUT", "DROP",
                        rule(any.withSrc(IpNet.ipv4(ip(10, 0, 0, 0), 8)), verdict("DROP")),
                        rule(any.withInIface("eth+"), target(any, "LOG", "--log-prefix", "x")),
                        rule(tcp, jump("SVC"), match(tcp, "multiport", "--dports", "80,22:23")),
                        rule(verdict("ACCEPT"), match(any, "mark", "--mark", "0x1"))),
                user("SVC", rule(tcp, goTo("MARKING"), match(tcp, "tcp", "--dport", "22", "--syn"))),
                user("MARKING", rule(target(any, "MARK", "--set-mark", "1"))));
        MemorySegment syn = tcp4(ip(192, 168, 1, 2), ip(10, 0, 0, 1), 40000, 22, 0x02);
        PacketContext pkt = new PacketContext();
        long[] sink = {0};
        Runnable one = () -> {
            pkt.ipv4(syn, 0).inInterface("eth0");
            sink[0] += TableWalk.run(t, Hook.INPUT, pkt, Trace.NONE);
        };
        // the least of three rounds: a JIT compilation or a profile update may allocate during one of them;
        // anything allocated per packet would be at least 16 bytes x 100k
        long allocated = AllocationMeter.leastOfThreeRounds(one, 20_000, 100_000);
        assertThat(sink[0]).isEqualTo(320_000L * Verdict.ACCEPT);
        assertThat(allocated).as("bytes allocated for 100k walks").isLessThan(100_000);
    }
}
