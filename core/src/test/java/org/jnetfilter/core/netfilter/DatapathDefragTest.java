package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.DatapathHarness.CLIENT;
import static org.jnetfilter.core.netfilter.DatapathHarness.CLIENT_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH0_ADDR;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH0_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.SERVER;
import static org.jnetfilter.core.netfilter.DatapathHarness.frame;
import static org.jnetfilter.core.netfilter.DatapathHarness.ipOf;
import static org.jnetfilter.core.netfilter.DatapathHarness.rules;
import static org.jnetfilter.core.netfilter.DatapathHarness.table;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.function.Supplier;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.api.Test;

/** Fragments: reassembled before local delivery (ip_local_deliver), and before conntrack when a module asks. */
class DatapathDefragTest {
    private final DatapathHarness h = new DatapathHarness();

    /** The two fragments (504 + 504 bytes of payload) of a UDP datagram of 1008 bytes from the client. */
    static MemorySegment[] fragments(int dst) {
        MemorySegment whole = DatapathKernelFactsTest.udp4(CLIENT, dst, 64, false, 1000);
        MemorySegment[] f = new MemorySegment[2];
        for (int i = 0; i < 2; i++) {
            MemorySegment s = MemorySegment.ofArray(new byte[20 + 504]);
            MemorySegment.copy(whole, 0, s, 0, 20);
            MemorySegment.copy(whole, 20 + 504L * i, s, 20, 504);
            new Ipv4Header().wrap(s, 0).totalLength(524).flagsAndFragmentOffset(i == 0 ? Ipv4Header.FLAG_MF : 63)
                    .updateChecksum();
            f[i] = s;
        }
        return f;
    }

    private void receiveAt(long nanos, MemorySegment ip) {
        h.datapath.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, ip), true, nanos, h.trace);
    }

    @Test
    void fragmentsForTheHostAreReassembledBeforeInput() {
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4)));
        MemorySegment[] f = fragments(ETH0_ADDR);
        receiveAt(1, f[0]);
        assertThat(h.out).isEmpty();
        receiveAt(2, f[1]);
        assertThat(h.out).containsExactly("local eth0");
        Ipv4Header ip = new Ipv4Header().wrap(h.lastFrame(), 0);
        assertThat(ip.totalLength()).isEqualTo(1028);
        assertThat(ip.moreFragments()).isFalse();
        assertThat(h.events).containsOnlyOnce("INPUT filter");
    }

    @Test
    void anIncompleteDatagramSendsReassemblyTimeExceededWhenItsQueueExpires() {
        MemorySegment[] f = fragments(ETH0_ADDR);
        receiveAt(1_000_000_000L, f[0]);
        receiveAt(2_000_000_000L, DatapathHarness.tcp(CLIENT, ETH0_ADDR));
        assertThat(h.replyRequests).isEmpty();
        // Linux: ipfrag_time 30 s from the first fragment
        receiveAt(31_000_000_001L, DatapathHarness.tcp(CLIENT, ETH0_ADDR));
        assertThat(h.replyRequests).containsExactly("icmp 11/1 info 0");
        assertThat(h.out).containsExactly("local eth0", "tx eth0", "local eth0");
    }

    @Test
    void withoutConntrackForwardedFragmentsPassOneByOne() {
        MemorySegment[] f = fragments(SERVER);
        receiveAt(1, f[0]);
        receiveAt(2, f[1]);
        assertThat(h.out).containsExactly("tx eth1", "tx eth1");
    }

    /** A stand-in for conntrack: needed while the nat table exists, defragmenting, one function at -200. */
    static final class Tracking implements HookModule {
        @Override
        public boolean needed(Family family, Ruleset rules) {
            return rules.table(TableKind.NAT) != null;
        }

        @Override
        public List<Netfilter.Registration> register(Netfilter nf, Family family, Supplier<Ruleset> rules) {
            return List.of(nf.register(family, Hook.PREROUTING, Priorities.CONNTRACK, "conntrack",
                    p -> Verdict.ACCEPT));
        }
    }

    @Test
    void aDatagramReassembledForConntrackKeepsItsFragmentsAsSeparateBuffers() {
        h.datapath.module(new Tracking());
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.NAT, Family.IPV4)));
        List<Integer> blockEnds = new java.util.ArrayList<>();
        h.datapath.netfilter().register(Family.IPV4, Hook.PREROUTING, Priorities.CONNTRACK + 1, "probe", p -> {
            blockEnds.add(p.blockEnd(0));
            blockEnds.add(p.blockEnd(524));
            return Verdict.ACCEPT;
        });
        MemorySegment[] f = fragments(SERVER);
        receiveAt(1, f[0]);
        receiveAt(2, f[1]);
        // Linux: the first fragment's buffer (20 + 504 bytes) is the head, the second's payload on its frag_list
        assertThat(blockEnds).containsExactly(524, 1028);
    }

    @Test
    void aDatagramReassembledForLocalDeliveryIsOneBuffer() {
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4)));
        List<Integer> blockEnds = new java.util.ArrayList<>();
        h.datapath.netfilter().register(Family.IPV4, Hook.INPUT, Priorities.FILTER + 1, "probe", p -> {
            blockEnds.add(p.blockEnd(0));
            return Verdict.ACCEPT;
        });
        MemorySegment[] f = fragments(ETH0_ADDR);
        receiveAt(1, f[0]);
        receiveAt(2, f[1]);
        // Linux: ip_local_deliver's reassembly coalesces the fragments (checked in a namespace with string --algo bm)
        assertThat(blockEnds).containsExactly(1028);
    }

    @Test
    void withConntrackFragmentsAreReassembledInPreroutingAndLeaveAsTheyCame() {
        h.datapath.module(new Tracking());
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.NAT, Family.IPV4)));
        MemorySegment[] f = fragments(SERVER);
        receiveAt(1, f[0]);
        assertThat(h.out).isEmpty();
        assertThat(h.events).containsExactly("PREROUTING nf_defrag_ipv4", "PREROUTING nf_defrag_ipv4 STOLEN");
        h.events.clear();
        receiveAt(2, f[1]);
        assertThat(h.events).startsWith("PREROUTING nf_defrag_ipv4", "PREROUTING conntrack");
        assertThat(h.out).containsExactly("tx eth1", "tx eth1");
        for (int i = 0; i < 2; i++) {
            Ipv4Header ip = ipOf(h.frames.get(i));
            assertThat(ip.totalLength()).isEqualTo(524);
            assertThat(ip.fragmentOffset()).isEqualTo(i * 63);
            assertThat(ip.moreFragments()).isEqualTo(i == 0);
            assertThat(ip.ttl()).isEqualTo(63);
            assertThat(ip.checksumValid()).isTrue();
            assertThat(h.frames.get(i).asSlice(34).toArray(ValueLayout.JAVA_BYTE))
                    .isEqualTo(f[i].asSlice(20).toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void reassembledDatagramLargerThanTheMtuIsForwardedWhenItsFragmentsFit() {
        h.host.setMtu("eth1", 600);
        h.datapath.module(new Tracking());
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.NAT, Family.IPV4)));
        MemorySegment[] f = fragments(SERVER);
        for (MemorySegment x : f) {
            Ipv4Header ip = new Ipv4Header().wrap(x, 0);
            ip.flagsAndFragmentOffset(ip.flagsAndFragmentOffset() | Ipv4Header.FLAG_DF).updateChecksum();
        }
        receiveAt(1, f[0]);
        receiveAt(2, f[1]);
        assertThat(h.replyRequests).isEmpty();
        assertThat(h.out).containsExactly("tx eth1", "tx eth1");
        h.host.setMtu("eth1", 500);
        receiveAt(3, f[0]);
        receiveAt(4, f[1]);
        assertThat(h.replyRequests).containsExactly("icmp 3/4 info 500");
    }

    @Test
    void conntrackSeesTheReassembledDatagramAndTracksIt() {
        var conntrack = new org.jnetfilter.core.conntrack.Conntrack(h.host);
        h.datapath.module(new org.jnetfilter.core.conntrack.ConntrackModule(conntrack));
        // a rule that takes conntrack (the nat table alone does not)
        var ip = org.jnetfilter.core.rules.IpSpec.any(Family.IPV4);
        var state = org.jnetfilter.core.conntrack.Rules.matchOf(ip, "conntrack", "--ctstate", "NEW");
        var tracked = org.jnetfilter.core.conntrack.Rules.rule(ip, java.util.List.of(state), "CONNMARK", "--set-mark", "1");
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, org.jnetfilter.core.conntrack.Rules.nat(Family.IPV4,
                java.util.List.of(tracked), java.util.List.of(), java.util.List.of(), java.util.List.of())));
        MemorySegment[] f = fragments(SERVER);
        receiveAt(1, f[0]);
        receiveAt(2, f[1]);
        assertThat(h.out).containsExactly("tx eth1", "tx eth1");
        assertThat(h.events).containsSubsequence("PREROUTING nf_defrag_ipv4", "route forward dev eth1 via 10.0.2.20");
        // one connection for the whole datagram, not one per fragment (a non-first fragment has no ports)
        assertThat(conntrack.count()).isEqualTo(1);
        assertThat(conntrack.list(Family.IPV4, 2)).contains("udp").contains("sport=40000 dport=9999");
    }
}
