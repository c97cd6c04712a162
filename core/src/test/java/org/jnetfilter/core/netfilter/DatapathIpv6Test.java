package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.DatapathHarness.CLIENT_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH0_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH1_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.frame;
import static org.jnetfilter.core.netfilter.DatapathHarness.rules;
import static org.jnetfilter.core.netfilter.DatapathHarness.table;
import static org.jnetfilter.core.netfilter.DatapathHarness.u48;
import static org.jnetfilter.core.netfilter.Fixtures.builtin;
import static org.jnetfilter.core.netfilter.Fixtures.rule;
import static org.jnetfilter.core.netfilter.Fixtures.target;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.packet.Ipv6Header;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.api.Test;

/** The IPv6 paths through {@link DatapathHarness}'s router (fd00:1::/64 on eth0, fd00:2::/64 on eth1). */
class DatapathIpv6Test {
    static final long NET1 = 0xFD00000100000000L;
    static final long NET2 = 0xFD00000200000000L;
    static final IpSpec ANY6 = IpSpec.any(Family.IPV6);

    private final DatapathHarness h = new DatapathHarness(DatapathHarness.HOST
            + "neigh add fd00:2::20 lladdr 02:00:00:00:02:14 dev eth1\n");

    private static MemorySegment udp6(long srcHi, long srcLo, long dstHi, long dstLo, int hopLimit) {
        return DatapathKernelFactsTest.udp6(srcHi, srcLo, dstHi, dstLo, hopLimit, 10);
    }

    @Test
    void forwardsWithHopLimitDecrementedToTheNeighbour() {
        h.datapath.rules(Family.IPV6, rules(Family.IPV6, table(TableKind.FILTER, Family.IPV6)));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, udp6(NET1, 0x10, NET2, 0x20, 64)));
        assertThat(h.out).containsExactly("tx eth1");
        MemorySegment f = h.lastFrame();
        assertThat(u48(f, 0)).isEqualTo(0x020000000214L);
        assertThat(u48(f, 6)).isEqualTo(ETH1_MAC);
        assertThat(new Ipv6Header().wrap(f, 14).hopLimit()).isEqualTo(63);
        assertThat(h.events).containsExactly("route forward dev eth1 via fd00:2::20", "FORWARD filter");
    }

    @Test
    void ipv4RulesDoNotSeeIpv6Packets() {
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4,
                builtin("FORWARD", "DROP"))));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, udp6(NET1, 0x10, NET2, 0x20, 64)));
        assertThat(h.out).containsExactly("tx eth1");
    }

    @Test
    void hopLimitOneIsNotForwarded() {
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, udp6(NET1, 0x10, NET2, 0x20, 1)));
        assertThat(h.replyRequests).containsExactly("icmp 3/0 info 0");
        assertThat(h.events).endsWith("dropped TTL_EXPIRED");
    }

    @Test
    void forwardingOffDropsSilently() {
        h.host.sysctl("net.ipv6.conf.all.forwarding", "0");
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, udp6(NET1, 0x10, NET2, 0x20, 64)));
        assertThat(h.out).isEmpty();
        assertThat(h.replyRequests).isEmpty();
        assertThat(h.events).endsWith("dropped IPV6_FORWARDING_DISABLED");
    }

    @Test
    void ownAddressIsDeliveredLocally() {
        h.datapath.rules(Family.IPV6, rules(Family.IPV6, table(TableKind.FILTER, Family.IPV6)));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, udp6(NET1, 0x10, NET1, 0x1, 64)));
        assertThat(h.out).containsExactly("local eth0");
        assertThat(h.events).containsExactly("route local", "INPUT filter");
    }

    @Test
    void allNodesMulticastIsDeliveredLocally() {
        h.receive("eth0", frame(0x333300000001L, CLIENT_MAC, udp6(NET1, 0x10, 0xFF02000000000000L, 1, 1)));
        assertThat(h.out).containsExactly("local eth0");
    }

    @Test
    void loopbackAddressFromTheWireIsDroppedByIpv6Rcv() {
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, udp6(0, 1, NET1, 0x1, 64)));
        assertThat(h.events).containsExactly("dropped IP_INHDR");
    }

    @Test
    void localOutputSelectsTheSourceOfTheEgressInterface() {
        h.sendLocal(udp6(0, 0, NET2, 0x20, 64));
        assertThat(h.out).containsExactly("tx eth1");
        Ipv6Header ip = new Ipv6Header().wrap(h.lastFrame(), 14);
        assertThat(ip.sourceHigh()).isEqualTo(NET2);
        assertThat(ip.sourceLow()).isEqualTo(1);
    }

    @Test
    void localToLoopbackAddressLoopsThroughLo() {
        h.datapath.rules(Family.IPV6, rules(Family.IPV6, table(TableKind.FILTER, Family.IPV6),
                table(TableKind.MANGLE, Family.IPV6)));
        h.sendLocal(udp6(0, 1, 0, 1, 64));
        assertThat(h.out).containsExactly("local lo");
        assertThat(h.events).containsExactly("route local dev lo", "OUTPUT mangle", "OUTPUT filter",
                "POSTROUTING mangle", "looped back", "PREROUTING mangle", "route local dev lo", "INPUT mangle",
                "INPUT filter");
    }

    @Test
    void aHopLimitChangedInIpv6MangleOutputReroutesAsIp6tMangleOutDoes() {
        // Linux 6.18 (difftest seed 9 case 9000081): ip6t_mangle_out compares the hop limit too, so a TEE copy of a
        // SYN for dut whose hop limit mangle OUTPUT lowered was routed again by its destination, looped back and
        // answered with a second reset instead of leaving for the gateway
        h.datapath.rules(Family.IPV6, rules(Family.IPV6, table(TableKind.MANGLE, Family.IPV6,
                builtin("OUTPUT", "ACCEPT", rule(ANY6, target(ANY6, "HL", "--hl-dec", "1"))))));
        h.sendLocal(udp6(0, 0, NET2, 0x20, 64));
        assertThat(h.out).containsExactly("tx eth1");
        assertThat(h.events.stream().filter(e -> e.startsWith("route ")).count()).as("routed again").isEqualTo(2);
    }

    @Test
    void markInIpv6MangleOutputReroutes() {
        DatapathHarness p = new DatapathHarness(DatapathHarness.HOST
                + "addr add fd00:3::1/64 dev eth2\n-6 route add default via fd00:2::fe\n"
                + "-6 route add default via fd00:3::fe table 100\n-6 rule add fwmark 0x1 table 100\n");
        var mark = rule(ANY6, target(ANY6, "MARK", "--set-mark", "1"));
        p.datapath.rules(Family.IPV6, rules(Family.IPV6, table(TableKind.MANGLE, Family.IPV6,
                builtin("OUTPUT", "ACCEPT", mark))));
        p.sendLocal(udp6(NET2, 1, 0x20010DB800000000L, 7, 64));
        assertThat(p.out).containsExactly("tx eth2");
    }

    @Test
    void localPacketLargerThanTheMtuIsFragmented() {
        h.host.setMtu("eth1", 1280);
        h.sendLocal(DatapathKernelFactsTest.udp6(NET2, 1, NET2, 0x20, 64, 2000));
        assertThat(h.out).containsExactly("tx eth1", "tx eth1");
        int payload = 0;
        for (MemorySegment f : h.frames) {
            Ipv6Header ip = new Ipv6Header().wrap(f, 14);
            assertThat(40 + ip.payloadLength()).isLessThanOrEqualTo(1280);
            assertThat(ip.nextHeader()).isEqualTo(Ipv6Header.NEXTHDR_FRAGMENT);
            payload += ip.payloadLength() - 8;
        }
        assertThat(payload).isEqualTo(2008);
    }
}
