package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ACK;
import static org.jnetfilter.core.conntrack.Packets.FIN;
import static org.jnetfilter.core.conntrack.Packets.RST;
import static org.jnetfilter.core.conntrack.Packets.SYN;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;

class TcpTrackingTest {
    static final int CLIENT = ip("10.0.0.2");
    static final int SERVER = ip("10.0.0.1");
    static final int CPORT = 40000;
    static final int SPORT = 80;

    final Conntrack table = new Conntrack();
    final Path path = new Path(table);

    static MemorySegment c2s(int seq, int ack, int flags, int payload) {
        return Packets.ipv4(CLIENT, SERVER, 6, Packets.tcp(CPORT, SPORT, seq, ack, flags, payload));
    }

    static MemorySegment s2c(int seq, int ack, int flags, int payload) {
        return Packets.ipv4(SERVER, CLIENT, 6, Packets.tcp(SPORT, CPORT, seq, ack, flags, payload));
    }

    /** SYN, SYN/ACK, ACK at t = 0, 0.01, 0.02; client ISN 1000, server ISN 5000. */
    Connection handshake() {
        path.forward(c2s(1000, 0, SYN, 0), 0);
        path.forward(s2c(5000, 1001, SYN | ACK, 0), 0.01);
        PacketContext ack = path.forward(c2s(1001, 5001, ACK, 0), 0.02);
        return ack.conntrack();
    }

    @Test
    void synCreatesUnrepliedSynSentEntryWithTwoMinutes() {
        PacketContext syn = path.forward(c2s(1000, 0, SYN, 0), 0);
        assertThat(syn.ctInfo()).isEqualTo(CtInfo.NEW);
        Connection c = syn.conntrack();
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_SYN_SENT);
        assertThat(c.isConfirmed()).isTrue();
        assertThat(c.listLine(Path.seconds(0))).isEqualTo("tcp      6 120 SYN_SENT src=10.0.0.2 dst=10.0.0.1 "
                + "sport=40000 dport=80 [UNREPLIED] src=10.0.0.1 dst=10.0.0.2 sport=80 dport=40000 mark=0 use=1");
    }

    @Test
    void handshakeReachesEstablishedAndAssured() {
        path.forward(c2s(1000, 0, SYN, 0), 0);
        PacketContext synack = path.forward(s2c(5000, 1001, SYN | ACK, 0), 0.01);
        assertThat(synack.ctInfo()).isEqualTo(CtInfo.ESTABLISHED_REPLY);
        assertThat(synack.conntrack().tcpState()).isEqualTo(Connection.TCP_SYN_RECV);
        assertThat(synack.conntrack().hasStatus(Connection.SEEN_REPLY)).isTrue();
        PacketContext ack = path.forward(c2s(1001, 5001, ACK, 0), 1);
        assertThat(ack.ctInfo()).isEqualTo(CtInfo.ESTABLISHED);
        Connection c = ack.conntrack();
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_ESTABLISHED);
        assertThat(c.hasStatus(Connection.ASSURED)).isTrue();
        assertThat(c.listLine(Path.seconds(2))).isEqualTo("tcp      6 431999 ESTABLISHED src=10.0.0.2 dst=10.0.0.1 "
                + "sport=40000 dport=80 src=10.0.0.1 dst=10.0.0.2 sport=80 dport=40000 [ASSURED] mark=0 use=1");
        assertThat(table.count()).isEqualTo(1);
    }

    @Test
    void unacknowledgedDataShortensTheEstablishedTimeoutToFiveMinutes() {
        Connection c = handshake();
        path.forward(c2s(1001, 5001, ACK | Packets.PSH, 100), 1);
        assertThat(c.secondsLeft(Path.seconds(1))).isEqualTo(300);
        path.forward(s2c(5001, 1101, ACK, 0), 1.1);
        assertThat(c.secondsLeft(Path.seconds(1.1))).isEqualTo(432000);
    }

    @Test
    void finExchangeEndsInTimeWaitForTwoMinutes() {
        Connection c = handshake();
        path.forward(c2s(1001, 5001, FIN | ACK, 0), 1);
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_FIN_WAIT);
        path.forward(s2c(5001, 1002, ACK, 0), 1.1);
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_CLOSE_WAIT);
        path.forward(s2c(5001, 1002, FIN | ACK, 0), 1.2);
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_LAST_ACK);
        path.forward(c2s(1002, 5002, ACK, 0), 1.3);
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_TIME_WAIT);
        assertThat(c.secondsLeft(Path.seconds(1.3))).isEqualTo(120);
    }

    @Test
    void resetAfterFinClosesFromFinWaitAndCloseWait() {
        Connection c = handshake();
        path.forward(c2s(1001, 5001, FIN | ACK, 0), 1);
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_FIN_WAIT);
        path.forward(s2c(5001, 1002, RST | ACK, 0), 1.1);
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_CLOSE);

        Path other = new Path(new Conntrack());
        other.forward(c2s(1000, 0, SYN, 0), 0);
        other.forward(s2c(5000, 1001, SYN | ACK, 0), 0.01);
        Connection d = other.forward(c2s(1001, 5001, ACK, 0), 0.02).conntrack();
        other.forward(c2s(1001, 5001, FIN | ACK, 0), 1);
        other.forward(s2c(5001, 1002, ACK, 0), 1.1);
        assertThat(d.tcpState()).isEqualTo(Connection.TCP_CLOSE_WAIT);
        // a reset from the stack that closed (seq = what the peer acknowledged) and one from the other side
        other.forward(c2s(1002, 0, RST, 0), 1.2);
        assertThat(d.tcpState()).isEqualTo(Connection.TCP_CLOSE);
    }

    @Test
    void resetClosesWithTenSeconds() {
        Connection c = handshake();
        path.forward(s2c(5001, 1001, RST | ACK, 0), 1);
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_CLOSE);
        assertThat(c.secondsLeft(Path.seconds(1))).isEqualTo(10);
    }

    @Test
    void resetWithAnInexactSequenceKeepsTheEstablishedStateForAChallengeAck() {
        Connection c = handshake();
        PacketContext rst = path.forward(s2c(5011, 0, RST, 0), 1);
        assertThat(rst.conntrack()).isSameAs(c);
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_ESTABLISHED);
        // Linux: any RST in window gets the close timeout
        assertThat(c.secondsLeft(Path.seconds(1))).isEqualTo(10);
        path.forward(s2c(5001, 0, RST, 0), 1.1);
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_CLOSE);
    }

    @Test
    void resetAnsweringTheSynRemovesTheEntry() {
        path.forward(c2s(1000, 0, SYN, 0), 0);
        PacketContext rst = path.forward(s2c(0, 1001, RST | ACK, 0), 0.01);
        assertThat(rst.conntrack()).isNotNull();
        assertThat(table.count()).isZero();
    }

    @Test
    void resetOutsideTheWindowIsInvalid() {
        handshake();
        PacketContext rst = path.forward(s2c(1, 1001, RST, 0), 1);
        assertThat(rst.conntrack()).isNull();
        assertThat(path.lastVerdict).isEqualTo(Verdict.ACCEPT);
    }

    @Test
    void ackForDataNotSeenIsInvalid() {
        Connection c = handshake();
        PacketContext bad = path.forward(s2c(5001, 900000, ACK, 0), 1);
        assertThat(bad.conntrack()).isNull();
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_ESTABLISHED);
    }

    @Test
    void segmentBeyondTheReceiverWindowIsInvalid() {
        handshake();
        PacketContext bad = path.forward(c2s(1001 + 10_000_000, 5001, ACK, 10), 1);
        assertThat(bad.conntrack()).isNull();
    }

    @Test
    void beLiberalAcceptsOutOfWindowSegments() {
        Host host = new Host();
        host.sysctl("net.netfilter.nf_conntrack_tcp_be_liberal", "1");
        Conntrack liberal = new Conntrack(host);
        Path p = new Path(liberal);
        p.forward(c2s(1000, 0, SYN, 0), 0);
        p.forward(s2c(5000, 1001, SYN | ACK, 0), 0.01);
        p.forward(c2s(1001, 5001, ACK, 0), 0.02);
        assertThat(p.forward(c2s(1001 + 10_000_000, 5001, ACK, 10), 1).conntrack()).isNotNull();
    }

    @Test
    void invalidFlagCombinationsGetNoEntry() {
        for (int flags : new int[] {SYN | FIN, SYN | RST, FIN, 0, Packets.PSH}) {
            PacketContext p = path.forward(c2s(1000, 0, flags, 0), 0);
            assertThat(p.conntrack()).as("flags 0x%x", flags).isNull();
        }
        assertThat(table.count()).isZero();
    }

    @Test
    void midStreamAckIsPickedUpWithLooseOnAndInvalidWithLooseOff() {
        PacketContext p = path.forward(c2s(1001, 5001, ACK, 10), 0);
        assertThat(p.ctInfo()).isEqualTo(CtInfo.NEW);
        assertThat(p.conntrack().tcpState()).isEqualTo(Connection.TCP_ESTABLISHED);
        // Linux: without a reply the picked-up entry gets the unacknowledged timeout
        assertThat(p.conntrack().secondsLeft(Path.seconds(0))).isEqualTo(300);

        Host host = new Host();
        host.sysctl("net.netfilter.nf_conntrack_tcp_loose", "0");
        Path strict = new Path(new Conntrack(host));
        assertThat(strict.forward(c2s(1001, 5001, ACK, 10), 0).conntrack()).isNull();
    }

    @Test
    void synAckWithoutSynIsInvalid() {
        assertThat(path.forward(s2c(5000, 1001, SYN | ACK, 0), 0).conntrack()).isNull();
    }

    @Test
    void retransmittedSynDoesNotRenewTheTimeout() {
        path.forward(c2s(1000, 0, SYN, 0), 0);
        PacketContext again = path.forward(c2s(1000, 0, SYN, 0), 50);
        assertThat(again.ctInfo()).isEqualTo(CtInfo.NEW);
        assertThat(again.conntrack().secondsLeft(Path.seconds(50))).isEqualTo(70);
    }

    @Test
    void newSynInTimeWaitReopensTheConnection() {
        Connection old = handshake();
        path.forward(c2s(1001, 5001, FIN | ACK, 0), 1);
        path.forward(s2c(5001, 1002, FIN | ACK, 0), 1.1);
        path.forward(c2s(1002, 5002, ACK, 0), 1.2);
        assertThat(old.tcpState()).isEqualTo(Connection.TCP_TIME_WAIT);
        PacketContext syn = path.forward(c2s(900000, 0, SYN, 0), 2);
        assertThat(syn.ctInfo()).isEqualTo(CtInfo.NEW);
        assertThat(syn.conntrack()).isNotSameAs(old);
        assertThat(syn.conntrack().tcpState()).isEqualTo(Connection.TCP_SYN_SENT);
        assertThat(table.count()).isEqualTo(1);
    }

    @Test
    void entryExpiresWhenItsTimeoutRunsOut() {
        path.forward(c2s(1000, 0, SYN, 0), 0);
        assertThat(table.connections(Path.seconds(119.99))).hasSize(1);
        assertThat(table.connections(Path.seconds(120))).isEmpty();
        PacketContext late = path.forward(s2c(5000, 1001, SYN | ACK, 0), 121);
        assertThat(late.conntrack()).isNull();
    }

    @Test
    void windowScaleIsTrackedWhenBothSidesOfferIt() {
        byte[] ws7 = {1, 3, 3, 7};
        path.forward(Packets.ipv4(CLIENT, SERVER, 6, Packets.tcp(CPORT, SPORT, 1000, 0, SYN, 64240, ws7, 0)), 0);
        PacketContext synack = path.forward(Packets.ipv4(SERVER, CLIENT, 6,
                Packets.tcp(SPORT, CPORT, 5000, 1001, SYN | ACK, 65160, ws7, 0)), 0.01);
        Connection c = synack.conntrack();
        assertThat(c.tdScale[0]).isEqualTo(7);
        assertThat(c.tdScale[1]).isEqualTo(7);
        path.forward(c2s(1001, 5001, ACK, 0), 0.02);
        // the server announces 64240 << 7 bytes; 5 MB ahead is beyond an unscaled window, inside the scaled one
        path.forward(s2c(5001, 1001, ACK, 0), 0.03);
        PacketContext data = path.forward(c2s(1001 + 5_000_000, 5001, ACK, 100), 1);
        assertThat(data.conntrack()).isSameAs(c);
    }

    @Test
    void packetWithBadChecksumAtPreroutingIsInvalid() {
        MemorySegment syn = c2s(1000, 0, SYN, 0);
        syn.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 36, (byte) 0x55);
        assertThat(path.forward(syn, 0).conntrack()).isNull();
        // locally generated packets are not checked
        assertThat(path.localOut(syn, 0).conntrack()).isNotNull();
    }

    @Test
    void ipv6HandshakeIsTrackedToo() {
        long hi = 0x20010db800000000L;
        MemorySegment syn = Packets.ipv6(hi, 2, hi, 1, 6, Packets.tcp(CPORT, SPORT, 1, 0, SYN, 0));
        MemorySegment synack = Packets.ipv6(hi, 1, hi, 2, 6, Packets.tcp(SPORT, CPORT, 9, 2, SYN | ACK, 0));
        MemorySegment ack = Packets.ipv6(hi, 2, hi, 1, 6, Packets.tcp(CPORT, SPORT, 2, 10, ACK, 0));
        path.forward(syn, 0);
        path.forward(synack, 0);
        Connection c = path.forward(ack, 0).conntrack();
        assertThat(c.family()).isEqualTo(Family.IPV6);
        assertThat(c.listLine(Path.seconds(0))).isEqualTo("tcp      6 432000 ESTABLISHED src=2001:db8::2 "
                + "dst=2001:db8::1 sport=40000 dport=80 src=2001:db8::1 dst=2001:db8::2 sport=80 dport=40000 "
                + "[ASSURED] mark=0 use=1");
    }

    @Test
    void threeRetransmissionsOfTheSameSegmentShortenTheTimeoutToFiveMinutes() {
        Connection c = handshake();
        path.forward(s2c(5001, 1001, ACK, 0), 0.5);
        assertThat(c.secondsLeft(Path.seconds(0.5))).isEqualTo(432000);
        for (int i = 1; i <= 3; i++) {
            path.forward(s2c(5001, 1001, ACK | Packets.PSH, 50), 1 + i);
        }
        // Linux: tcp_max_retrans = 3 identical segments without an acceptable ACK
        assertThat(c.retrans).isEqualTo(2);
        path.forward(s2c(5001, 1001, ACK | Packets.PSH, 50), 5);
        assertThat(c.retrans).isEqualTo(3);
        assertThat(c.secondsLeft(Path.seconds(5))).isEqualTo(300);
    }

    @Test
    void simultaneousOpenGoesThroughSynSent2() {
        path.forward(c2s(1000, 0, SYN, 0), 0);
        PacketContext crossing = path.forward(s2c(5000, 0, SYN, 0), 0.01);
        Connection c = crossing.conntrack();
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_SYN_SENT2);
        path.forward(c2s(1000, 5001, SYN | ACK, 0), 0.02);
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_SYN_RECV);
        path.forward(s2c(5000, 1001, SYN | ACK, 0), 0.03);
        path.forward(s2c(5001, 1001, ACK, 0), 0.04);
        assertThat(c.tcpState()).isEqualTo(Connection.TCP_ESTABLISHED);
    }

    @Test
    void ctHelperTemplateNamesTheHelperInTheListing() {
        MemorySegment syn = c2s(1000, 0, SYN, 0);
        PacketContext p = Packets.load(syn);
        p.nowNanos(Path.seconds(0));
        Rules.target("raw", org.jnetfilter.core.rules.IpSpec.any(Family.IPV4).withProtocol(6), "CT", "--helper",
                "ftp").apply(p);
        table.in(p, org.jnetfilter.core.rules.Hook.PREROUTING);
        table.confirm(p);
        assertThat(p.conntrack().helper()).isEqualTo("ftp");
        assertThat(p.conntrack().listLine(Path.seconds(0))).endsWith("mark=0 helper=ftp use=1");
    }
}
