package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ACK;
import static org.jnetfilter.core.conntrack.Packets.SYN;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.junit.jupiter.api.Test;

class UdpIcmpTrackingTest {
    static final int A = ip("192.168.1.10");
    static final int B = ip("10.0.0.1");
    static final int ROUTER = ip("192.168.1.1");

    final Conntrack table = new Conntrack();
    final Path path = new Path(table);

    static MemorySegment udp(int src, int dst, int sport, int dport) {
        return Packets.ipv4(src, dst, 17, Packets.udp(sport, dport, 10));
    }

    @Test
    void udpStartsUnrepliedForThirtySeconds() {
        PacketContext p = path.forward(udp(A, B, 5353, 53), 0);
        assertThat(p.ctInfo()).isEqualTo(CtInfo.NEW);
        assertThat(p.conntrack().listLine(Path.seconds(0))).isEqualTo("udp      17 30 src=192.168.1.10 dst=10.0.0.1 "
                + "sport=5353 dport=53 [UNREPLIED] src=10.0.0.1 dst=192.168.1.10 sport=53 dport=5353 mark=0 use=1");
    }

    @Test
    void udpReplyIsEstablishedAndAStreamAfterTwoSecondsIsAssuredForTwoMinutes() {
        path.forward(udp(A, B, 5353, 53), 0);
        PacketContext reply = path.forward(udp(B, A, 53, 5353), 0.1);
        assertThat(reply.ctInfo()).isEqualTo(CtInfo.ESTABLISHED_REPLY);
        Connection c = reply.conntrack();
        // Linux: the first reply still refreshes with the unreplied timeout; SEEN_REPLY is set after it
        assertThat(c.secondsLeft(Path.seconds(0.1))).isEqualTo(30);
        assertThat(c.hasStatus(Connection.ASSURED)).isFalse();
        PacketContext early = path.forward(udp(A, B, 5353, 53), 1);
        assertThat(early.ctInfo()).isEqualTo(CtInfo.ESTABLISHED);
        assertThat(c.hasStatus(Connection.ASSURED)).isFalse();
        path.forward(udp(A, B, 5353, 53), 3);
        assertThat(c.hasStatus(Connection.ASSURED)).isTrue();
        assertThat(c.secondsLeft(Path.seconds(3))).isEqualTo(120);
        assertThat(c.listLine(Path.seconds(3))).isEqualTo("udp      17 120 src=192.168.1.10 dst=10.0.0.1 sport=5353 "
                + "dport=53 src=10.0.0.1 dst=192.168.1.10 sport=53 dport=5353 [ASSURED] mark=0 use=1");
    }

    @Test
    void truncatedUdpIsInvalid() {
        byte[] u = Packets.udp(1, 2, 10);
        u[4] = 0;
        u[5] = 100;
        assertThat(path.forward(Packets.ipv4(A, B, 17, u), 0).conntrack()).isNull();
    }

    @Test
    void icmpEchoAndReply() {
        PacketContext req = path.forward(Packets.ipv4(A, B, 1, Packets.icmpEcho(8, 0x1234, 1)), 0);
        assertThat(req.ctInfo()).isEqualTo(CtInfo.NEW);
        PacketContext rep = path.forward(Packets.ipv4(B, A, 1, Packets.icmpEcho(0, 0x1234, 1)), 0.5);
        assertThat(rep.ctInfo()).isEqualTo(CtInfo.ESTABLISHED_REPLY);
        assertThat(rep.conntrack().listLine(Path.seconds(0.5))).isEqualTo("icmp     1 30 src=192.168.1.10 "
                + "dst=10.0.0.1 type=8 code=0 id=4660 src=10.0.0.1 dst=192.168.1.10 type=0 code=0 id=4660 mark=0 "
                + "use=1");
    }

    @Test
    void echoReplyWithoutRequestAndUnknownTypesAreInvalid() {
        assertThat(path.forward(Packets.ipv4(B, A, 1, Packets.icmpEcho(0, 1, 1)), 0).conntrack()).isNull();
        assertThat(path.forward(Packets.ipv4(B, A, 1, Packets.icmpEcho(9, 0, 0)), 0).conntrack()).isNull();
        assertThat(path.forward(Packets.ipv4(B, A, 1, Packets.icmpEcho(40, 0, 0)), 0).conntrack()).isNull();
        assertThat(table.count()).isZero();
    }

    @Test
    void icmpErrorQuotingATrackedPacketIsRelated() {
        MemorySegment syn = Packets.ipv4(A, B, 6, Packets.tcp(40000, 80, 1000, 0, SYN, 0));
        Connection c = path.forward(syn, 0).conntrack();
        // the router answers the client: host unreachable, quoting the SYN
        PacketContext err = path.forward(Packets.ipv4(ROUTER, A, 1, Packets.icmpError(3, 1, syn, 28)), 0.1);
        assertThat(err.conntrack()).isSameAs(c);
        assertThat(err.ctInfo()).isEqualTo(CtInfo.RELATED_REPLY);
        // the server's own port unreachable quoting a packet it received: found in the original direction
        MemorySegment reply = Packets.ipv4(B, A, 6, Packets.tcp(80, 40000, 5000, 1001, SYN | ACK, 0));
        PacketContext err2 = path.forward(Packets.ipv4(A, B, 1, Packets.icmpError(3, 3, reply, 28)), 0.2);
        assertThat(err2.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat(c.hasStatus(Connection.SEEN_REPLY)).isFalse();
    }

    @Test
    void icmpErrorSentElsewhereOrAboutNothingIsInvalid() {
        MemorySegment syn = Packets.ipv4(A, B, 6, Packets.tcp(40000, 80, 1000, 0, SYN, 0));
        path.forward(syn, 0);
        int other = ip("192.168.1.99");
        assertThat(path.forward(Packets.ipv4(ROUTER, other, 1, Packets.icmpError(3, 1, syn, 28)), 0.1).conntrack())
                .isNull();
        MemorySegment unknown = Packets.ipv4(A, B, 6, Packets.tcp(40001, 80, 1000, 0, SYN, 0));
        assertThat(path.forward(Packets.ipv4(ROUTER, A, 1, Packets.icmpError(3, 1, unknown, 28)), 0.1).conntrack())
                .isNull();
        assertThat(table.count()).isEqualTo(1);
    }

    @Test
    void ipv6NeighbourDiscoveryIsUntracked() {
        long hi = 0xfe80000000000000L;
        byte[] ns = new byte[24];
        ns[0] = (byte) 135;
        PacketContext p = path.forward(Packets.ipv6(hi, 1, 0xff02000000000000L, 0x1ff000002L, 58, ns), 0);
        assertThat(p.untracked()).isTrue();
        assertThat(p.conntrack()).isNull();
    }

    @Test
    void ipv6DatagramWithoutUpperLayerIsLeftWithoutEntry() {
        // Linux: ipv6_skip_exthdr finds no upper layer behind No Next Header (59), directly or after AH, so
        // nf_conntrack_in counts it invalid and accepts it without an entry (state INVALID, not UNTRACKED)
        long hi = 0x20010db800000000L;
        byte[] ah = new byte[16];
        ah[0] = 59;
        ah[1] = 2;
        for (byte[] rest : new byte[][] {new byte[8], ah}) {
            int next = rest.length == 8 ? 59 : 51;
            PacketContext p = path.forward(Packets.ipv6(hi, 2, hi, 1, next, rest), 0);
            assertThat(p.conntrack()).as("next header %d", next).isNull();
            assertThat(p.untracked()).isFalse();
        }
        assertThat(table.count()).isZero();
    }

    @Test
    void ipv6EchoIsTrackedAsIcmpv6() {
        long hi = 0x20010db800000000L;
        path.forward(Packets.ipv6(hi, 2, hi, 1, 58, Packets.icmpEcho(128, 7, 1)), 0);
        PacketContext rep = path.forward(Packets.ipv6(hi, 1, hi, 2, 58, Packets.icmpEcho(129, 7, 1)), 0);
        assertThat(rep.ctInfo()).isEqualTo(CtInfo.ESTABLISHED_REPLY);
        assertThat(rep.conntrack().listLine(Path.seconds(0))).isEqualTo("icmpv6   58 30 src=2001:db8::2 dst=2001:db8::1 "
                + "type=128 code=0 id=7 src=2001:db8::1 dst=2001:db8::2 type=129 code=0 id=7 mark=0 use=1");
    }

    @Test
    void otherProtocolsAreTrackedGenericallyForTenMinutes() {
        PacketContext p = path.forward(Packets.ipv4(A, B, 41, new byte[40]), 0);
        assertThat(p.conntrack().listLine(Path.seconds(0))).isEqualTo("unknown  41 600 src=192.168.1.10 dst=10.0.0.1 "
                + "[UNREPLIED] src=10.0.0.1 dst=192.168.1.10 mark=0 use=1");
        // checked against conntrack -L of this machine's 6.18: DCCP is generic, its ports printed as 0
        PacketContext dccp = path.forward(Packets.ipv4(A, B, 33, new byte[16]), 0);
        assertThat(dccp.conntrack().listLine(Path.seconds(0))).isEqualTo("dccp     33 600 src=192.168.1.10 "
                + "dst=10.0.0.1 sport=0 dport=0 [UNREPLIED] src=10.0.0.1 dst=192.168.1.10 sport=0 dport=0 mark=0 use=1");
        PacketContext gre = path.forward(Packets.ipv4(A, B, 47, new byte[] {0, 0, 8, 0}), 0);
        assertThat(gre.conntrack().listLine(Path.seconds(0))).isEqualTo("gre      47 30 src=192.168.1.10 "
                + "dst=10.0.0.1 srckey=0x0 dstkey=0x0 [UNREPLIED] src=10.0.0.1 dst=192.168.1.10 srckey=0x0 "
                + "dstkey=0x0 mark=0 use=1");
    }

    @Test
    void alreadyAttachedOrUntrackedPacketsAreLeftAlone() {
        PacketContext p = path.forward(udp(A, B, 1, 2), 0);
        Connection c = p.conntrack();
        assertThat(table.in(p, org.jnetfilter.core.rules.Hook.PREROUTING)).isEqualTo(Verdict.ACCEPT);
        assertThat(p.conntrack()).isSameAs(c);
        PacketContext u = Packets.load(udp(A, B, 3, 4)).untracked(true);
        table.in(u, org.jnetfilter.core.rules.Hook.PREROUTING);
        assertThat(u.conntrack()).isNull();
        assertThat(table.count()).isEqualTo(1);
    }

    @Test
    void fullTableDropsEarlyTheUnassuredElseTheNewPacket() {
        Host host = new Host();
        host.sysctl("net.netfilter.nf_conntrack_max", "2");
        Conntrack small = new Conntrack(host);
        Path p = new Path(small);
        // two assured TCP connections fill it
        for (int port = 1; port <= 2; port++) {
            p.forward(Packets.ipv4(A, B, 6, Packets.tcp(port, 80, 1, 0, SYN, 0)), 0);
            p.forward(Packets.ipv4(B, A, 6, Packets.tcp(80, port, 9, 2, SYN | ACK, 0)), 0);
            p.forward(Packets.ipv4(A, B, 6, Packets.tcp(port, 80, 2, 10, ACK, 0)), 0);
        }
        p.forward(udp(A, B, 7, 7), 1);
        assertThat(p.lastVerdict).isEqualTo(Verdict.DROP);
        assertThat(small.count()).isEqualTo(2);
    }

    @Test
    void acceptedSettingsComeFromTheHostSysctls() {
        Host host = new Host();
        host.sysctl("net.netfilter.nf_conntrack_udp_timeout", "5");
        Conntrack t = new Conntrack(host);
        PacketContext p = new Path(t).forward(udp(A, B, 1, 2), 0);
        assertThat(p.conntrack().secondsLeft(Path.seconds(0))).isEqualTo(5);
        host.sysctl("net.netfilter.nf_conntrack_udp_timeout", "7");
        t.reloadSettings();
        PacketContext q = new Path(t).forward(udp(A, B, 1, 2), 1);
        assertThat(q.conntrack().secondsLeft(Path.seconds(1))).isEqualTo(7);
    }

    @Test
    void listingIsSortedAndFiltersByFamily() {
        path.forward(udp(A, B, 2, 2), 0);
        path.forward(udp(A, B, 1, 1), 0);
        path.forward(Packets.ipv4(A, B, 6, Packets.tcp(3, 3, 1, 0, SYN, 0)), 0);
        String out = table.list(org.jnetfilter.core.rules.Family.IPV4, Path.seconds(0));
        assertThat(out.lines().toList()).hasSize(3).isSorted();
        assertThat(table.list(org.jnetfilter.core.rules.Family.IPV6, Path.seconds(0))).isEmpty();
        assertThat(Conntrack.listSummary(3)).isEqualTo("conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.");
        assertThat(ACK).isEqualTo(0x10);
    }
}
