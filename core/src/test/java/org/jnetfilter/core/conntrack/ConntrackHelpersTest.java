package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ACK;
import static org.jnetfilter.core.conntrack.Packets.PSH;
import static org.jnetfilter.core.conntrack.Packets.SYN;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.api.Test;

/**
 * The ftp and tftp helpers and the expectation table on a forwarding path without NAT (the kernel differential
 * test, KernelConntrackHelpersDifferentialTest in the iptables module, runs the same with NAT against Linux): a
 * CT --helper template on the control connection's first packet, as {@code -t raw -A PREROUTING -p tcp --dport
 * 21 -j CT --helper ftp} gives.
 */
class ConntrackHelpersTest {
    static final int CLIENT = ip("10.0.1.2");
    static final int SERVER = ip("10.0.2.2");
    final Conntrack table = new Conntrack();
    int verdict;

    /** PREROUTING conntrack, then the confirm hook (helper, sequence adjustment), at {@code seconds}. */
    PacketContext forward(MemorySegment packet, double seconds, String helper) {
        PacketContext pkt = Packets.load(packet);
        pkt.nowNanos(Path.seconds(seconds));
        if (helper != null) {
            pkt.conntrack(Connection.template(0, false, helper), CtInfo.NEW);
        }
        verdict = table.in(pkt, Hook.PREROUTING);
        if (verdict == Verdict.ACCEPT) {
            verdict = table.confirm(pkt);
        }
        return pkt;
    }

    static MemorySegment tcp(int src, int dst, int sport, int dport, int seq, int ack, int flags, String data) {
        return Packets.tcpText(src, dst, sport, dport, seq, ack, flags, data);
    }

    static MemorySegment udp(int src, int dst, int sport, int dport, byte[] data) {
        byte[] u = ByteBuffer.allocate(8 + data.length).putShort((short) sport).putShort((short) dport)
                .putShort((short) (8 + data.length)).putShort((short) 0).put(data).array();
        return Packets.ipv4(src, dst, 17, u);
    }

    int clientSeq;
    int serverSeq;

    /** The control connection's handshake from client port {@code port}, the first packet with {@code helper}. */
    void handshake(int port, double t, String helper) {
        clientSeq = 1000;
        serverSeq = 5000;
        forward(tcp(CLIENT, SERVER, port, 21, clientSeq++, 0, SYN, ""), t, helper);
        forward(tcp(SERVER, CLIENT, 21, port, serverSeq++, clientSeq, SYN | ACK, ""), t, null);
        forward(tcp(CLIENT, SERVER, port, 21, clientSeq, serverSeq, ACK, ""), t, null);
    }

    /** The control connection up to the client's USER answered, from client port {@code port}; its entry. */
    Connection login(int port, double t) {
        handshake(port, t, "ftp");
        server(port, "220 hello\r\n", t);
        PacketContext p = client(port, "USER a\r\n", t);
        server(port, "331 ok\r\n", t);
        return p.conntrack();
    }

    PacketContext client(int port, String data, double t) {
        PacketContext p = forward(tcp(CLIENT, SERVER, port, 21, clientSeq, serverSeq, PSH | ACK, data), t, null);
        clientSeq += data.length();
        return p;
    }

    PacketContext server(int port, String data, double t) {
        PacketContext p = forward(tcp(SERVER, CLIENT, 21, port, serverSeq, clientSeq, PSH | ACK, data), t, null);
        serverSeq += data.length();
        return p;
    }

    static boolean helperMatches(PacketContext pkt, String... words) {
        ExtensionData m = Rules.match("helper", words);
        return m.matches(pkt);
    }

    @Test
    void portExpectsTheServersConnectionWhichIsRelatedAndAChildOfTheControlConnection() {
        Connection control = login(40001, 0);
        client(40001, "PORT 10,0,1,2,156,64\r\n", 1);
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(table.listExpectations(Family.IPV4, Path.seconds(1))).isEqualTo("300 proto=6 src=10.0.2.2 "
                + "dst=10.0.1.2 sport=0 dport=40000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 "
                + "dport=65535 master-src=10.0.1.2 master-dst=10.0.2.2 sport=40001 dport=21 class=0 helper=ftp\n");

        PacketContext syn = forward(tcp(SERVER, CLIENT, 20, 40000, 7000, 0, SYN, ""), 2, null);
        assertThat(syn.ctInfo()).isEqualTo(CtInfo.RELATED);
        Connection data = syn.conntrack();
        assertThat(data.hasStatus(Connection.EXPECTED)).isTrue();
        assertThat(data.master()).isSameAs(control);
        assertThat(data.helper()).as("the data connection has no helper of its own").isEmpty();
        assertThat(table.expectations(Path.seconds(2))).as("taken by the connection").isEmpty();
        assertThat(control.listLine(Path.seconds(2))).endsWith("helper=ftp use=2");
        // xt_helper: the master's helper; the name matches by the helper name's length (strncmp)
        assertThat(helperMatches(syn, "--helper", "ftp")).isTrue();
        assertThat(helperMatches(syn, "--helper", "ftp-2121")).isTrue();
        assertThat(helperMatches(syn, "--helper", "")).isTrue();
        assertThat(helperMatches(syn, "--helper", "tftp")).isFalse();
        assertThat(helperMatches(syn, "!", "--helper", "ftp")).isFalse();

        PacketContext synAck = forward(tcp(CLIENT, SERVER, 40000, 20, 9000, 7001, SYN | ACK, ""), 2, null);
        assertThat(synAck.ctInfo()).isEqualTo(CtInfo.ESTABLISHED_REPLY);
        PacketContext onControl = client(40001, "LIST\r\n", 2);
        assertThat(helperMatches(onControl, "--helper", "ftp")).as("the control connection has no master").isFalse();
        assertThat(helperMatches(onControl, "!", "--helper", "ftp")).isTrue();
    }

    @Test
    void pasvReplyExpectsTheClientsConnectionToTheServer() {
        login(40002, 0);
        client(40002, "PASV\r\n", 1);
        server(40002, "227 Entering Passive Mode (10,0,2,2,195,80).\r\n", 1);
        PacketContext syn = forward(tcp(CLIENT, SERVER, 40003, 50000, 3000, 0, SYN, ""), 2, null);
        assertThat(syn.ctInfo()).isEqualTo(CtInfo.RELATED);
    }

    @Test
    void expectationExpiresAfterFiveMinutes() {
        login(40004, 0);
        client(40004, "PORT 10,0,1,2,156,64\r\n", 1);
        assertThat(table.expectations(Path.seconds(300.9))).hasSize(1);
        PacketContext syn = forward(tcp(SERVER, CLIENT, 20, 40000, 7000, 0, SYN, ""), 301, null);
        assertThat(syn.ctInfo()).isEqualTo(CtInfo.NEW);
    }

    @Test
    void aSecondPortEvictsTheFirstExpectationOfItsMaster() {
        login(40005, 0);
        client(40005, "PORT 10,0,1,2,156,64\r\n", 1);
        server(40005, "200 ok\r\n", 1);
        client(40005, "PORT 10,0,1,2,156,65\r\n", 1);
        assertThat(table.expectations(Path.seconds(1))).extracting(Expectation::destinationPort).containsExactly(40001);
        assertThat(forward(tcp(SERVER, CLIENT, 20, 40000, 7000, 0, SYN, ""), 2, null).ctInfo()).isEqualTo(CtInfo.NEW);
    }

    @Test
    void theSameExpectationFromAnotherControlConnectionClashesAndIsDropped() {
        login(40006, 0);
        client(40006, "PORT 10,0,1,2,156,64\r\n", 1);
        login(40007, 1);
        client(40007, "PORT 10,0,1,2,156,64\r\n", 2);
        assertThat(verdict).as("cannot add expectation").isEqualTo(Verdict.DROP);
        assertThat(table.expectations(Path.seconds(2))).extracting(e -> e.master().original().sourceId())
                .containsExactly(40006);
    }

    @Test
    void aCommandCutShortIsDroppedAndNotRemembered() {
        login(40008, 0);
        client(40008, "PORT 10,0,1,2\r\n", 1);
        assertThat(verdict).isEqualTo(Verdict.DROP);
        assertThat(table.expectations(Path.seconds(1))).isEmpty();
    }

    @Test
    void theFirstSegmentOfADirectionIsNeverRead() {
        handshake(40009, 0, "ftp");
        client(40009, "PORT 10,0,1,2,156,64\r\n", 1);
        assertThat(table.expectations(Path.seconds(1))).isEmpty();
        // its newline counts: the next command is read
        client(40009, "PORT 10,0,1,2,156,64\r\n", 1);
        assertThat(table.expectations(Path.seconds(1))).hasSize(1);
    }

    @Test
    void expectationsGoWithTheirMaster() {
        Connection control = login(40010, 0);
        client(40010, "PORT 10,0,1,2,156,64\r\n", 1);
        table.kill(control);
        assertThat(table.expectations(Path.seconds(1))).isEmpty();
    }

    @Test
    void withoutAHelperTemplateNothingIsExpected() {
        handshake(40011, 0, null);
        server(40011, "220 hello\r\n", 0);
        client(40011, "USER a\r\n", 0);
        client(40011, "PORT 10,0,1,2,156,64\r\n", 1);
        assertThat(table.expectations(Path.seconds(1))).isEmpty();
    }

    @Test
    void tftpReadRequestExpectsTheAnswerFromAnyServerPort() {
        byte[] rrq = "\u0000\u0001f\u0000octet\u0000".getBytes(StandardCharsets.ISO_8859_1);
        PacketContext request = forward(udp(CLIENT, SERVER, 1069, 69, rrq), 0, "tftp");
        assertThat(request.conntrack().helper()).isEqualTo("tftp");
        assertThat(table.expectations(Path.seconds(0))).hasSize(1);
        PacketContext data = forward(udp(SERVER, CLIENT, 3000, 1069, new byte[] {0, 3, 0, 1}), 0.1, null);
        assertThat(data.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat(data.conntrack().master()).isSameAs(request.conntrack());
        assertThat(helperMatches(data, "--helper", "tftp")).isTrue();
    }

    @Test
    void tftpDataAndAckOpcodesExpectNothing() {
        forward(udp(CLIENT, SERVER, 1070, 69, new byte[] {0, 3, 0, 1}), 0, "tftp");
        forward(udp(CLIENT, SERVER, 1070, 69, new byte[] {0, 4, 0, 1}), 0, null);
        assertThat(table.expectations(Path.seconds(0))).isEmpty();
    }

    @Test
    void sequenceOffsetsApplyAfterTheRewrittenSegmentOnly() {
        Connection c = login(40012, 0);
        // a rewrite at seq 2000 grew the payload by 3, then one at 2100 by 2 more
        SeqAdjust.set(c, 0, 2000, 3);
        assertThat(SeqAdjust.offset(c, 0, 1999)).isZero();
        assertThat(SeqAdjust.offset(c, 0, 2000)).as("the rewritten segment itself").isZero();
        assertThat(SeqAdjust.offset(c, 0, 2001)).isEqualTo(3);
        SeqAdjust.set(c, 0, 2100, 2);
        assertThat(SeqAdjust.offset(c, 0, 2050)).as("a retransmission before the second rewrite").isEqualTo(3);
        assertThat(SeqAdjust.offset(c, 0, 2101)).isEqualTo(5);
        // an older rewrite (a retransmitted command) while one is pending changes nothing
        SeqAdjust.set(c, 0, 2050, 7);
        assertThat(SeqAdjust.offset(c, 0, 2101)).isEqualTo(5);
        assertThat(SeqAdjust.offset(c, 1, 9999)).as("the other direction").isZero();
        assertThat(c.hasStatus(Connection.SEQ_ADJUST)).isTrue();
    }
    @Test
    void adjustmentMovesLaterSequenceNumbersAndTheOtherDirectionsAcksAndSackBlocks() {
        Connection c = login(40013, 0);
        // the client's command at seq 2000 grew by 2
        SeqAdjust.set(c, 0, 2000, 2);
        PacketContext later = Packets.load(Packets.ipv4(CLIENT, SERVER, 6, Packets.tcp(40013, 21, 2030, 6000,
                ACK, 0)));
        assertThat(SeqAdjust.adjust(later, c, 0, 20)).isTrue();
        assertThat(TcpTracking.seq(later)).isEqualTo(2032);
        assertThat(TcpTracking.ackSeq(later)).as("nothing moved the server's numbers").isEqualTo(6000);
        assertThat(Packets.checksumsValid(later)).isTrue();

        // the server acknowledges and selectively acknowledges in the moved space
        byte[] sack = ByteBuffer.allocate(12).put((byte) 1).put((byte) 1).put((byte) 5).put((byte) 10)
                .putInt(1990).putInt(2052).array();
        PacketContext ack = Packets.load(Packets.ipv4(SERVER, CLIENT, 6, Packets.tcp(21, 40013, 6000, 2042, ACK,
                64240, sack, 0)));
        assertThat(SeqAdjust.adjust(ack, c, 1, 20)).isTrue();
        assertThat(TcpTracking.ackSeq(ack)).isEqualTo(2040);
        assertThat(ack.transportU16(24) << 16 | ack.transportU16(26)).as("a left edge before the rewrite")
                .isEqualTo(1990);
        assertThat(ack.transportU16(28) << 16 | ack.transportU16(30)).isEqualTo(2050);
        assertThat(Packets.checksumsValid(ack)).isTrue();

        byte[] cut = {1, 1, 5, 10, 0, 0};
        PacketContext malformed = Packets.load(Packets.ipv4(SERVER, CLIENT, 6, Packets.tcp(21, 40013, 6000, 2042,
                ACK, 64240, cut, 0)));
        assertThat(SeqAdjust.adjust(malformed, c, 1, 20)).as("a SACK option longer than the options").isFalse();
    }
}
