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

    /** A UDP datagram from the client to the server cut into fragments of these payload sizes (offsets in order). */
    static List<MemorySegment> fragments(Family family, int... sizes) {
        int payload = java.util.Arrays.stream(sizes).sum() - 8;
        List<MemorySegment> out = new java.util.ArrayList<>();
        if (family == Family.IPV4) {
            MemorySegment whole = DatapathKernelFactsTest.udp4(CLIENT, SERVER, 64, false, payload);
            int offset = 0;
            for (int i = 0; i < sizes.length; i++) {
                MemorySegment f = MemorySegment.ofArray(new byte[20 + sizes[i]]);
                MemorySegment.copy(whole, 0, f, 0, 20);
                MemorySegment.copy(whole, 20 + offset, f, 20, sizes[i]);
                new Ipv4Header().wrap(f, 0).totalLength(20 + sizes[i])
                        .flagsAndFragmentOffset((i < sizes.length - 1 ? Ipv4Header.FLAG_MF : 0) | offset / 8)
                        .updateChecksum();
                out.add(f);
                offset += sizes[i];
            }
            return out;
        }
        byte[] udp = new byte[8 + payload];
        java.nio.ByteBuffer.wrap(udp).putShort((short) 40000).putShort((short) 53).putShort((short) udp.length);
        int offset = 0;
        for (int i = 0; i < sizes.length; i++) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(48 + sizes[i]);
            b.putInt(0x60000000).putShort((short) (8 + sizes[i])).put((byte) 44).put((byte) 64)
                    .putLong(CLIENT6_HI).putLong(CLIENT6_LO).putLong(SERVER6_HI).putLong(SERVER6_LO)
                    .put((byte) 17).put((byte) 0).putShort((short) (offset | (i < sizes.length - 1 ? 1 : 0)))
                    .putInt(0x77).put(udp, offset, sizes[i]);
            out.add(MemorySegment.ofArray(b.array()));
            offset += sizes[i];
        }
        return out;
    }

    static final long CLIENT6_HI = 0xfd00_0001_0000_0000L;
    static final long CLIENT6_LO = 0x10L;
    static final long SERVER6_HI = 0xfd00_0002_0000_0000L;
    static final long SERVER6_LO = 0x20L;

    /** A frame's fragment as "payload@offset" with "+" for more fragments, or "whole" for a datagram not fragmented. */
    static String shape(MemorySegment frame) {
        if (frame.get(ValueLayout.JAVA_BYTE, 12) == 0x08 && frame.get(ValueLayout.JAVA_BYTE, 13) == 0) {
            Ipv4Header ip = ipOf(frame);
            return (ip.totalLength() - 20) + "@" + ip.fragmentOffset() * 8 + (ip.moreFragments() ? "+" : "");
        }
        int next = Byte.toUnsignedInt(frame.get(ValueLayout.JAVA_BYTE, 14 + 6));
        int plen = Short.toUnsignedInt(frame.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 14 + 4));
        if (next != 44) {
            return "whole";
        }
        int word = Short.toUnsignedInt(frame.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 14 + 42));
        return (plen - 8) + "@" + (word & ~7) + ((word & 1) != 0 ? "+" : "");
    }

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> teeCopiesOfReassembledDatagrams() {
        // Linux 6.18 in namespaces (TEE --gateway in FORWARD, conntrack on; difftest seed 42 ruleset 102): the copy
        // first, then the original; the copy shares the original's fragments (pskb_copy), so ip_do_fragment /
        // ip6_fragment take the slow path: IPv4 at the largest fragment's size, IPv6 at no less than 1280 bytes
        return java.util.stream.Stream.of(
                org.junit.jupiter.params.provider.Arguments.of(Family.IPV4, new int[] {256, 752},
                        List.of("752@0+", "256@752", "256@0+", "752@256")),
                org.junit.jupiter.params.provider.Arguments.of(Family.IPV4, new int[] {504, 504},
                        List.of("504@0+", "504@504", "504@0+", "504@504")),
                org.junit.jupiter.params.provider.Arguments.of(Family.IPV6, new int[] {256, 752},
                        List.of("1008@0", "256@0+", "752@256")),
                org.junit.jupiter.params.provider.Arguments.of(Family.IPV6, new int[] {48, 17},
                        List.of("65@0", "48@0+", "17@48")));
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0} fragments {1}")
    @org.junit.jupiter.params.provider.MethodSource("teeCopiesOfReassembledDatagrams")
    void aTeeCopyOfAReassembledDatagramIsRefragmentedOnTheSlowPathWhileTheOriginalLeavesAsItCame(Family family,
            int[] sizes, List<String> expected) {
        org.jnetfilter.core.host.IpAddress gateway = family == Family.IPV4
                ? new org.jnetfilter.core.host.IpAddress(Family.IPV4, 0, SERVER & 0xFFFFFFFFL)
                : new org.jnetfilter.core.host.IpAddress(Family.IPV6, SERVER6_HI, SERVER6_LO);
        h.host.addNeighbour(gateway, DatapathHarness.SERVER_MAC, "eth1");
        h.datapath.module(new Tracking());
        org.jnetfilter.core.rules.IpSpec any = org.jnetfilter.core.rules.IpSpec.any(family);
        h.datapath.rules(family, rules(family, table(TableKind.NAT, family), table(TableKind.FILTER, family,
                Fixtures.builtin("FORWARD", "ACCEPT", Fixtures.rule(Fixtures.target(any, "TEE", "--gateway",
                        family == Family.IPV4 ? "10.0.2.20" : "fd00:2::20"))))));
        long t = 1;
        for (MemorySegment f : fragments(family, sizes)) {
            receiveAt(t++, f);
        }
        assertThat(h.frames.stream().map(DatapathDefragTest::shape).toList()).isEqualTo(expected);
    }
}
