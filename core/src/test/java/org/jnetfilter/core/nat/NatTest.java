package org.jnetfilter.core.nat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ACK;
import static org.jnetfilter.core.conntrack.Packets.SYN;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.conntrack.Packets;
import org.jnetfilter.core.conntrack.Rules;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.Route;
import org.jnetfilter.core.host.RouteType;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;
import org.junit.jupiter.api.Test;

class NatTest {
    static final int LAN = ip("192.168.1.10");
    static final int LAN2 = ip("192.168.1.11");
    static final int DNS = ip("8.8.8.8");
    static final int PUBLIC = ip("203.0.113.1");
    static final IpSpec V4 = IpSpec.any(Family.IPV4);
    static final IpSpec UDP = V4.withProtocol(17);
    static final IpSpec TCP = V4.withProtocol(6);

    static Table postrouting(Rule... rules) {
        return Rules.nat(Family.IPV4, List.of(), List.of(), List.of(), List.of(rules));
    }

    static Table prerouting(Rule... rules) {
        return Rules.nat(Family.IPV4, List.of(rules), List.of(), List.of(), List.of());
    }

    static MemorySegment udp(int src, int dst, int sport, int dport) {
        return Packets.ipv4(src, dst, 17, Packets.udp(sport, dport, 12));
    }

    static int src(PacketContext p) {
        return (int) p.sourceLo();
    }

    static int dst(PacketContext p) {
        return (int) p.destinationLo();
    }

    static int sport(PacketContext p) {
        return p.transportU16(0);
    }

    static int dport(PacketContext p) {
        return p.transportU16(2);
    }

    @Test
    void snatRewritesTheSourceAndTheReplyIsTranslatedBack() {
        NatPath path = new NatPath(new Host(), postrouting(Rules.rule(UDP, "SNAT", "--to-source", "203.0.113.1")));
        PacketContext out = path.forward(udp(LAN, DNS, 40000, 53), 0, "eth1", "eth0");
        assertThat(src(out)).isEqualTo(PUBLIC);
        assertThat(sport(out)).isEqualTo(40000);
        assertThat(Packets.checksumsValid(out)).isTrue();
        Connection c = out.conntrack();
        assertThat(c.hasStatus(Connection.SRC_NAT | Connection.SRC_NAT_DONE | Connection.DST_NAT_DONE)).isTrue();
        assertThat(c.listLine(NatPath.at(0))).isEqualTo("udp      17 30 src=192.168.1.10 dst=8.8.8.8 sport=40000 "
                + "dport=53 [UNREPLIED] src=8.8.8.8 dst=203.0.113.1 sport=53 dport=40000 mark=0 use=1");

        PacketContext back = path.forward(udp(DNS, PUBLIC, 53, 40000), 0.1, "eth0", "eth1");
        assertThat(back.ctInfo()).isEqualTo(CtInfo.ESTABLISHED_REPLY);
        assertThat(dst(back)).isEqualTo(LAN);
        assertThat(dport(back)).isEqualTo(40000);
        assertThat(Packets.checksumsValid(back)).isTrue();
        assertThat(Rules.match("conntrack", "--ctstate", "SNAT").matches(back)).isTrue();
        assertThat(Rules.match("conntrack", "--ctstate", "DNAT").matches(back)).isFalse();
    }

    @Test
    void aSecondSourceOnTheSamePortGetsAnotherPortFromTheRange() {
        NatPath path = new NatPath(new Host(), postrouting(Rules.rule(UDP, "SNAT", "--to-source", "203.0.113.1")));
        path.forward(udp(LAN, DNS, 40000, 53), 0, "eth1", "eth0");
        PacketContext second = path.forward(udp(LAN2, DNS, 40000, 53), 0, "eth1", "eth0");
        assertThat(src(second)).isEqualTo(PUBLIC);
        int port = sport(second);
        assertThat(port).isNotEqualTo(40000).isBetween(1024, 65535);
        assertThat(Packets.checksumsValid(second)).isTrue();
        PacketContext back = path.forward(udp(DNS, PUBLIC, 53, port), 0.1, "eth0", "eth1");
        assertThat(dst(back)).isEqualTo(LAN2);
        assertThat(dport(back)).isEqualTo(40000);
        PacketContext first = path.forward(udp(DNS, PUBLIC, 53, 40000), 0.1, "eth0", "eth1");
        assertThat(dst(first)).isEqualTo(LAN);
    }

    @Test
    void portRangeAndLowPortsFollowTheKernelsChoice() {
        NatPath path = new NatPath(new Host(),
                postrouting(Rules.rule(UDP, "SNAT", "--to-source", "203.0.113.1:2000-2001")));
        assertThat(sport(path.forward(udp(LAN, DNS, 40000, 53), 0, "eth1", "eth0"))).isBetween(2000, 2001);
        assertThat(sport(path.forward(udp(LAN2, DNS, 40000, 53), 0, "eth1", "eth0"))).isBetween(2000, 2001);
        PacketContext third = path.forward(udp(ip("192.168.1.12"), DNS, 40000, 53), 0, "eth1", "eth0");
        // Linux: every tuple of the range taken: the last one tried is used, and confirm finds the clash
        assertThat(path.lastVerdict).isEqualTo(Verdict.DROP);
        assertThat(path.table.count()).isEqualTo(2);
        assertThat(third.conntrack()).isNotNull();

        NatPath low = new NatPath(new Host(), postrouting(Rules.rule(UDP, "SNAT", "--to-source", "203.0.113.1")));
        low.forward(udp(LAN, DNS, 123, 123), 0, "eth1", "eth0");
        int p2 = sport(low.forward(udp(LAN2, DNS, 123, 123), 0, "eth1", "eth0"));
        assertThat(p2).isBetween(1, 511).isNotEqualTo(123);
    }

    @Test
    void dnatRewritesTheDestinationAndTheReplySource() {
        NatPath path = new NatPath(new Host(), prerouting(
                Rules.rule(TCP, "DNAT", "--to-destination", "10.0.0.5:8080")));
        int vip = ip("198.51.100.1");
        PacketContext syn = path.forward(Packets.ipv4(LAN, vip, 6, Packets.tcp(40000, 80, 1000, 0, SYN, 0)), 0,
                "eth0", "eth1");
        assertThat(dst(syn)).isEqualTo(ip("10.0.0.5"));
        assertThat(dport(syn)).isEqualTo(8080);
        assertThat(Packets.checksumsValid(syn)).isTrue();
        PacketContext synack = path.forward(Packets.ipv4(ip("10.0.0.5"), LAN, 6,
                Packets.tcp(8080, 40000, 5000, 1001, SYN | ACK, 0)), 0.1, "eth1", "eth0");
        assertThat(src(synack)).isEqualTo(vip);
        assertThat(sport(synack)).isEqualTo(80);
        assertThat(Packets.checksumsValid(synack)).isTrue();
        assertThat(synack.conntrack().tcpState()).isEqualTo(Connection.TCP_SYN_RECV);
        assertThat(Rules.match("conntrack", "--ctstate", "DNAT", "--ctorigdst", "198.51.100.1", "--ctreplsrc",
                "10.0.0.5", "--ctreplsrcport", "8080").matches(synack)).isTrue();
    }

    @Test
    void natTableIsWalkedOnlyForTheFirstPacket() {
        Rule dnat = Rules.rule(UDP, "DNAT", "--to-destination", "10.0.0.5");
        NatPath path = new NatPath(new Host(), prerouting(dnat));
        path.forward(udp(LAN, DNS, 1, 2), 0, "eth0", "eth1");
        path.forward(udp(LAN, DNS, 1, 2), 0.5, "eth0", "eth1");
        PacketContext third = path.forward(udp(LAN, DNS, 1, 2), 1, "eth0", "eth1");
        assertThat(dnat.counters().packets()).isEqualTo(1);
        assertThat(dst(third)).isEqualTo(ip("10.0.0.5"));
    }

    @Test
    void masqueradeTakesTheOutgoingInterfacesAddressForTheNextHop() {
        Host host = new Host();
        host.addLink("eth0", 0x020000000001L, 1500);
        host.setUp("eth0", true);
        host.addAddress("eth0", IpAddress.parse("203.0.113.7"), 24);
        host.addAddress("eth0", IpAddress.parse("198.51.100.9"), 24);
        host.addRoute(new Route(Host.TABLE_MAIN, RouteType.UNICAST, IpAddress.parse("0.0.0.0").net(0), 0,
                IpAddress.parse("198.51.100.1"), "eth0", null, false));
        NatPath path = new NatPath(host, postrouting(Rules.rule(V4, "MASQUERADE")));
        PacketContext out = path.forward(udp(LAN, DNS, 40000, 53), 0, "eth1", "eth0");
        assertThat(src(out)).isEqualTo(ip("198.51.100.9"));
        assertThat(Packets.checksumsValid(out)).isTrue();
        assertThat(out.conntrack().masqueradeInterface()).isEqualTo("eth0");
        // a later original-direction packet leaving by another interface kills the connection
        path.forward(udp(LAN, DNS, 40000, 53), 1, "eth1", "eth2");
        assertThat(path.lastVerdict).isEqualTo(Verdict.DROP);
        assertThat(path.table.count()).isZero();
    }

    @Test
    void masqueradeWithoutAnAddressDrops() {
        Host host = new Host();
        host.addLink("eth0", 0x020000000001L, 1500);
        host.setUp("eth0", true);
        NatPath path = new NatPath(host, postrouting(Rules.rule(V4, "MASQUERADE")));
        path.forward(udp(LAN, DNS, 40000, 53), 0, "eth1", "eth0");
        assertThat(path.lastVerdict).isEqualTo(Verdict.DROP);
    }

    @Test
    void redirectGoesToTheIncomingInterfacesFirstAddressOrLoopbackInOutput() {
        Host host = new Host();
        host.addLink("eth1", 0x020000000002L, 1500);
        host.setUp("eth1", true);
        host.addAddress("eth1", IpAddress.parse("192.168.1.1"), 24);
        Table nat = Rules.nat(Family.IPV4, List.of(Rules.rule(TCP, "REDIRECT", "--to-ports", "3128")), List.of(),
                List.of(Rules.rule(TCP, "REDIRECT", "--to-ports", "3129")), List.of());
        NatPath path = new NatPath(host, nat);
        PacketContext in = path.localIn(Packets.ipv4(LAN, DNS, 6, Packets.tcp(40000, 80, 1, 0, SYN, 0)), 0, "eth1");
        assertThat(dst(in)).isEqualTo(ip("192.168.1.1"));
        assertThat(dport(in)).isEqualTo(3128);
        assertThat(Packets.checksumsValid(in)).isTrue();
        PacketContext out = path.localOut(Packets.ipv4(ip("192.168.1.1"), DNS, 6,
                Packets.tcp(40001, 80, 1, 0, SYN, 0)), 0, "lo");
        assertThat(dst(out)).isEqualTo(ip("127.0.0.1"));
        assertThat(dport(out)).isEqualTo(3129);
    }

    @Test
    void netmapKeepsTheHostPart() {
        NatPath path = new NatPath(new Host(), postrouting(Rules.rule(V4, "NETMAP", "--to", "10.10.0.0/16")));
        PacketContext out = path.forward(udp(ip("192.168.7.10"), DNS, 1, 2), 0, "eth1", "eth0");
        assertThat(src(out)).isEqualTo(ip("10.10.7.10"));
        assertThat(Packets.checksumsValid(out)).isTrue();
    }

    @Test
    void icmpErrorAboutASnattedPacketIsTranslatedInsideAndOut() {
        NatPath path = new NatPath(new Host(), postrouting(Rules.rule(UDP, "SNAT", "--to-source", "203.0.113.1")));
        PacketContext out = path.forward(udp(LAN, DNS, 40000, 53), 0, "eth1", "eth0");
        MemorySegment sent = out.segment();
        MemorySegment err = Packets.ipv4(DNS, PUBLIC, 1, Packets.icmpError(3, 3, sent, 28));
        PacketContext e = path.forward(err, 0.1, "eth0", "eth1");
        assertThat(e.ctInfo()).isEqualTo(CtInfo.RELATED_REPLY);
        assertThat(dst(e)).isEqualTo(LAN);
        MemorySegment s = e.segment();
        // the quoted packet: its source back to the client's
        assertThat(Packets.u32(s, 20 + 8 + 12)).isEqualTo(LAN);
        assertThat(Packets.u16(s, 20 + 8 + 20)).isEqualTo(40000);
        assertThat(Packets.checksumsValid(e)).isTrue();
        assertThat(org.jnetfilter.core.packet.Checksums.ipv4HeaderValid(s, 28)).isTrue();
    }

    @Test
    void nullBindingMovesALocalSourcePortThatClashesWithAMapping() {
        Host host = new Host();
        NatPath path = new NatPath(host, postrouting(Rules.rule(UDP.withSrc(
                org.jnetfilter.core.rules.IpNet.ipv4(ip("192.168.1.0"), 24)), "SNAT", "--to-source", "203.0.113.1")));
        path.forward(udp(LAN, DNS, 40000, 53), 0, "eth1", "eth0");
        PacketContext local = path.localOut(udp(PUBLIC, DNS, 40000, 53), 0, "eth0");
        assertThat(src(local)).isEqualTo(PUBLIC);
        assertThat(sport(local)).isNotEqualTo(40000);
        assertThat(local.conntrack().hasStatus(Connection.SRC_NAT)).isTrue();
        assertThat(path.table.count()).isEqualTo(2);
    }

    @Test
    void pingIdsClashingAfterSnatAreRenumbered() {
        NatPath path = new NatPath(new Host(), postrouting(Rules.rule(V4.withProtocol(1), "SNAT", "--to-source",
                "203.0.113.1")));
        path.forward(Packets.ipv4(LAN, DNS, 1, Packets.icmpEcho(8, 77, 1)), 0, "eth1", "eth0");
        PacketContext second = path.forward(Packets.ipv4(LAN2, DNS, 1, Packets.icmpEcho(8, 77, 1)), 0, "eth1", "eth0");
        int id = second.transportU16(4);
        assertThat(id).isNotEqualTo(77);
        assertThat(Packets.checksumsValid(second)).isTrue();
        PacketContext reply = path.forward(Packets.ipv4(DNS, PUBLIC, 1, Packets.icmpEcho(0, id, 1)), 0.1, "eth0", "eth1");
        assertThat(dst(reply)).isEqualTo(LAN2);
        assertThat(reply.transportU16(4)).isEqualTo(77);
        assertThat(Packets.checksumsValid(reply)).isTrue();
    }

    @Test
    void snatOverAnAddressRangeHashesTheSourceAsTheKernel() {
        NatPath path = new NatPath(new Host(), postrouting(Rules.rule(UDP, "SNAT", "--to-source",
                "203.0.113.1-203.0.113.4", "--persistent")));
        PacketContext a = path.forward(udp(LAN, DNS, 1, 53), 0, "eth1", "eth0");
        PacketContext b = path.forward(udp(LAN, ip("1.1.1.1"), 2, 53), 0, "eth1", "eth0");
        // --persistent: the choice depends on the source alone
        assertThat(src(a)).isEqualTo(src(b)).isBetween(ip("203.0.113.1"), ip("203.0.113.4"));
    }

    @Test
    void ipv6SnatKeepsChecksumsValid() {
        long hi = 0x20010db800000000L;
        Table nat = Rules.nat(Family.IPV6, List.of(), List.of(), List.of(), List.of(Rules.rule(
                IpSpec.any(Family.IPV6).withProtocol(6), "SNAT", "--to-source", "2001:db8:ffff::1")));
        NatPath path = new NatPath(new Host(), nat);
        PacketContext out = path.forward(Packets.ipv6(hi, 2, hi + 1, 1, 6, Packets.tcp(40000, 80, 1, 0, SYN, 0)), 0,
                "eth1", "eth0");
        assertThat(out.sourceHi()).isEqualTo(0x20010db8ffff0000L);
        assertThat(out.sourceLo()).isEqualTo(1);
        assertThat(Packets.checksumsValid(out)).isTrue();
    }
}
