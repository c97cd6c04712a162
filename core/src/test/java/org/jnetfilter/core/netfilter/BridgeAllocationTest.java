package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
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
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.api.Test;

/**
 * The bridge's share of the Datapath's contract: a bridged frame between learned addresses, through br_netfilter's
 * PREROUTING, FORWARD (a physdev rule) and POSTROUTING, and the host's own packet leaving by a bridge port allocate
 * nothing per packet.
 */
class BridgeAllocationTest {
    @Test
    void bridgedFramesTaggedOrNotAndTheHostsOwnThroughTheBridgeAllocateNothingPerPacket() throws Exception {
        IpSpec any = IpSpec.any(Family.IPV4);
        Datapath dp = new Datapath(HostFile.parseRunning("test", """
                link add veth1 address 02:00:00:00:00:11
                link add veth2 address 02:00:00:00:00:12
                link add br0 type bridge
                link set veth1 master br0
                link set veth2 master br0
                addr add 10.244.0.1/24 dev br0
                neigh add 10.244.0.3 lladdr 0a:58:0a:f4:00:03 dev br0
                modprobe br_netfilter
                sysctl net.bridge.bridge-nf-filter-vlan-tagged=1
                """), new PacketSink() {
                    @Override
                    public void transmit(String ifname, MemorySegment ethernetFrame) {
                    }

                    @Override
                    public void deliverLocal(String ifname, MemorySegment ipPacket) {
                    }
                });
        dp.rules(Family.IPV4, rules(Family.IPV4,
                table(TableKind.FILTER, Family.IPV4, builtin("FORWARD", "DROP",
                        rule(any, verdict("ACCEPT"), match(any, "physdev", "--physdev-is-bridged", "--physdev-in",
                                "veth+")))),
                table(TableKind.MANGLE, Family.IPV4)));
        long a = 0x0A580AF40002L;
        long b = 0x0A580AF40003L;
        MemorySegment aToB = frame(b, a, tcp(ip(10, 244, 0, 2), ip(10, 244, 0, 3)));
        MemorySegment bToA = frame(a, b, tcp(ip(10, 244, 0, 3), ip(10, 244, 0, 2)));
        MemorySegment sent = tcp(ip(10, 244, 0, 1), ip(10, 244, 0, 3));
        // the same frame with an 802.1Q tag: untagged for the hooks, tagged again on the way out
        byte[] t = new byte[(int) aToB.byteSize() + 4];
        MemorySegment.copy(aToB, 0, MemorySegment.ofArray(t), 0, 12);
        t[12] = (byte) 0x81;
        t[15] = 10;
        MemorySegment.copy(aToB, 12, MemorySegment.ofArray(t), 16, aToB.byteSize() - 12);
        MemorySegment taggedAToB = MemorySegment.ofArray(t);
        Runnable one = () -> {
            dp.receive("veth1", aToB, true, 1, Trace.NONE);
            dp.receive("veth1", taggedAToB, true, 1, Trace.NONE);
            dp.receive("veth2", bToA, true, 1, Trace.NONE);
            dp.sendLocal(sent, 1, Trace.NONE);
        };
        long allocated = AllocationMeter.leastOfThreeRounds(one, 20_000, 50_000);
        assertThat(allocated).isLessThan(100_000);
    }
}
