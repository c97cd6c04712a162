package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.DatapathHarness.CLIENT;
import static org.jnetfilter.core.netfilter.DatapathHarness.CLIENT_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH0_ADDR;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH0_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.SERVER;
import static org.jnetfilter.core.netfilter.DatapathHarness.frame;
import static org.jnetfilter.core.netfilter.DatapathHarness.rules;
import static org.jnetfilter.core.netfilter.DatapathHarness.table;
import static org.jnetfilter.core.netfilter.DatapathHarness.tcp;
import static org.jnetfilter.core.netfilter.Fixtures.builtin;
import static org.jnetfilter.core.netfilter.Fixtures.ip;
import static org.jnetfilter.core.netfilter.Fixtures.match;
import static org.jnetfilter.core.netfilter.Fixtures.rule;
import static org.jnetfilter.core.netfilter.Fixtures.verdict;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.AllocationMeter;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.api.Test;

/**
 * The Datapath's contract: a forwarded (IPv4 or IPv6), delivered or locally sent packet whose route is cached
 * allocates nothing.
 */
class DatapathAllocationTest {
    @Test
    void forwardingLocalDeliveryAndLocalOutputAllocateNothingPerPacket() throws Exception {
        IpSpec any = IpSpec.any(Family.IPV4);
        IpSpec tcpSpec = any.withProtocol(Protocols.TCP);
        Datapath dp = new Datapath(HostFile.parse("test", DatapathHarness.HOST), new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment ethernetFrame) {
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment ipPacket) {
            }
        });
        dp.rules(Family.IPV4, rules(Family.IPV4,
                table(TableKind.FILTER, Family.IPV4, builtin("FORWARD", "DROP",
                        rule(any.withSrc(IpNet.ipv4(ip(192, 168, 0, 0), 16)), verdict("DROP")),
                        rule(tcpSpec, verdict("ACCEPT"), match(tcpSpec, "tcp", "--dport", "80")))),
                table(TableKind.MANGLE, Family.IPV4), table(TableKind.RAW, Family.IPV4)));
        MemorySegment forwarded = frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER));
        MemorySegment local = frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ETH0_ADDR));
        MemorySegment sent = tcp(ETH0_ADDR, CLIENT);
        // IPv6 forwarded from fd00:1::10 to fd00:2::20 (ip6_forward's source checks read the address in place)
        MemorySegment forwarded6 = frame(ETH0_MAC, CLIENT_MAC, DatapathKernelFactsTest.udp6(0xFD00000100000000L,
                0x10, 0xFD00000200000000L, 0x20, 64, 10));
        Runnable one = () -> {
            dp.receive("eth0", forwarded, true, 1, Trace.NONE);
            dp.receive("eth0", forwarded6, true, 1, Trace.NONE);
            dp.receive("eth0", local, true, 1, Trace.NONE);
            dp.sendLocal(sent, 1, Trace.NONE);
        };
        // the least of three rounds (a JIT compilation may allocate during one); one object per packet would be
        // at least 16 bytes x 200k
        long allocated = AllocationMeter.leastOfThreeRounds(one, 20_000, 50_000);
        assertThat(allocated).isLessThan(100_000);
    }
}
