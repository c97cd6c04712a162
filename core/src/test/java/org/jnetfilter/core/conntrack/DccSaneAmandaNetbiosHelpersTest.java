package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ACK;
import static org.jnetfilter.core.conntrack.Packets.PSH;
import static org.jnetfilter.core.conntrack.Packets.SYN;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The irc, sane, amanda and netbios-ns helpers without NAT, on the forwarding path of {@link ConntrackHelpersTest}
 * (KernelConntrackHelpersDifferentialTest in the iptables module runs them, with NAT, against Linux).
 */
class DccSaneAmandaNetbiosHelpersTest {
    static final int CLIENT = ConntrackHelpersTest.CLIENT;
    static final int SERVER = ConntrackHelpersTest.SERVER;
    final ConntrackHelpersTest path = new ConntrackHelpersTest();
    int clientSeq;
    int serverSeq;

    /** A TCP connection from the client's {@code port} to the server's {@code serverPort}, with {@code helper}. */
    Connection connect(int port, int serverPort, String helper) {
        clientSeq = 1000;
        serverSeq = 5000;
        PacketContext syn = path.forward(ConntrackHelpersTest.tcp(CLIENT, SERVER, port, serverPort, clientSeq++, 0,
                SYN, ""), 0, helper);
        path.forward(ConntrackHelpersTest.tcp(SERVER, CLIENT, serverPort, port, serverSeq++, clientSeq, SYN | ACK, ""),
                0, null);
        path.forward(ConntrackHelpersTest.tcp(CLIENT, SERVER, port, serverPort, clientSeq, serverSeq, ACK, ""), 0, null);
        return syn.conntrack();
    }

    PacketContext send(boolean fromClient, int port, int serverPort, String data, double t) {
        PacketContext p = fromClient
                ? path.forward(ConntrackHelpersTest.tcp(CLIENT, SERVER, port, serverPort, clientSeq, serverSeq,
                        PSH | ACK, data), t, null)
                : path.forward(ConntrackHelpersTest.tcp(SERVER, CLIENT, serverPort, port, serverSeq, clientSeq,
                        PSH | ACK, data), t, null);
        if (fromClient) {
            clientSeq += data.length();
        } else {
            serverSeq += data.length();
        }
        return p;
    }

    String expectations(double t) {
        return path.table.listExpectations(Family.IPV4, Path.seconds(t));
    }

    // ---- irc ----

    /** 10.0.1.2, the client, is 167772418. */
    static Stream<Arguments> dccOffers() {
        return Stream.of(
                Arguments.of("PRIVMSG bob :\u0001DCC SEND file 167772418 5000 1024\u0001\r\n", true, 5000),
                Arguments.of("privmsg bob :\u0001DCC CHAT chat 167772418 5001\u0001\r\n", true, 5001),
                Arguments.of("\r\n  PRIVMSG bob :\u0001DCC SCHAT chat 0167772418   5002\u0001\n", true, 5002),
                Arguments.of("PRIVMSG bob :\u0001DCC TSEND f 167772418 70002 1\u0001\r\n", true, 70002 & 0xFFFF),
                Arguments.of("PRIVMSG bob :\u0001DCC SEND file 167772419 5000 1024\u0001\r\n", false, 0),
                Arguments.of("PRIVMSG bob :\u0001DCC SEND file 167772418 0 1024\u0001\r\n", false, 0),
                Arguments.of("PRIVMSG bob :\u0001DCC SEND file 167772418 5000 1024\u0001", false, 0),
                Arguments.of("NOTICE bob :\u0001DCC SEND file 167772418 5000 1024\u0001\r\n", false, 0),
                Arguments.of("PRIVMSG bob :hi :\u0001DCC SEND file 167772418 5000 1024\u0001\r\n", false, 0),
                Arguments.of("PRIVMSG bob :\u0001DCC RESUME file 5000 1024\u0001\r\n", false, 0),
                Arguments.of("PRIVMSG bob :\u0001DCC send file 167772418 5000 1024\u0001\r\n", false, 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dccOffers")
    void dccOfferFromTheClientExpectsAConnectionFromAnyoneToItsPort(String message, boolean expected, int port) {
        connect(40001, 6667, "irc");
        send(false, 40001, 6667, ":irc 001 alice :hi\r\n", 0);
        send(true, 40001, 6667, message, 1);
        assertThat(path.verdict).isEqualTo(Verdict.ACCEPT);
        if (!expected) {
            assertThat(expectations(1)).isEmpty();
            return;
        }
        assertThat(expectations(1)).isEqualTo("300 proto=6 src=0.0.0.0 dst=10.0.1.2 sport=0 dport=" + port
                + " mask-src=0.0.0.0 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.1.2 "
                + "master-dst=10.0.2.2 sport=40001 dport=6667 class=0 helper=irc\n");
        int third = ip("192.0.2.9");
        PacketContext syn = path.forward(ConntrackHelpersTest.tcp(third, CLIENT, 41000, port, 1, 0, SYN, ""), 2, null);
        assertThat(syn.ctInfo()).as("from any address and port").isEqualTo(CtInfo.RELATED);
    }

    @Test
    void dccOfferFromTheServerSideIsNotRead() {
        connect(40002, 6667, "irc");
        send(false, 40002, 6667, "PRIVMSG alice :\u0001DCC SEND file 167772546 5000 1024\u0001\r\n", 0);
        assertThat(expectations(0)).isEmpty();
    }

    @Test
    void aNinthDccOfferEvictsTheOldest() {
        connect(40003, 6667, "irc");
        send(false, 40003, 6667, ":irc 001 alice :hi\r\n", 0);
        for (int port = 5000; port < 5009; port++) {
            send(true, 40003, 6667, "PRIVMSG bob :\u0001DCC CHAT chat 167772418 " + port + "\u0001\r\n", 1);
        }
        assertThat(path.table.expectations(Path.seconds(1))).extracting(Expectation::destinationPort)
                .containsExactly(5001, 5002, 5003, 5004, 5005, 5006, 5007, 5008);
    }

    // ---- sane ----

    static String bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    @Test
    void saneNetStartReplyExpectsTheClientsDataConnectionToTheServer() {
        connect(40010, 6566, "sane");
        send(true, 40010, 6566, bytes(0, 0, 0, 7, 0, 0, 0, 1), 0);
        send(false, 40010, 6566, bytes(0, 0, 0, 0, 0, 0, 0x13, 0x70, 0, 0, 0x12, 0x34), 0);
        assertThat(expectations(0)).isEqualTo("300 proto=6 src=10.0.1.2 dst=10.0.2.2 sport=0 dport=4976 "
                + "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.1.2 "
                + "master-dst=10.0.2.2 sport=40010 dport=6566 class=0 helper=sane\n");
        PacketContext syn = path.forward(ConntrackHelpersTest.tcp(CLIENT, SERVER, 40011, 4976, 1, 0, SYN, ""), 1, null);
        assertThat(syn.ctInfo()).isEqualTo(CtInfo.RELATED);
    }

    @Test
    void saneReadsOnlyTheReplyToANetStartRequestAndOnlyASuccessfulOne() {
        connect(40012, 6566, "sane");
        send(false, 40012, 6566, bytes(0, 0, 0, 0, 0, 0, 0x13, 0x70), 0);
        assertThat(expectations(0)).as("no request").isEmpty();
        send(true, 40012, 6566, bytes(0, 0, 0, 7, 0, 0, 0, 1), 0);
        send(true, 40012, 6566, bytes(0, 0, 0, 4, 0, 0, 0, 1), 0);
        send(false, 40012, 6566, bytes(0, 0, 0, 0, 0, 0, 0x13, 0x70), 0);
        assertThat(expectations(0)).as("another 8-byte request came after it").isEmpty();
        send(true, 40012, 6566, bytes(0, 0, 0, 7, 0, 0, 0, 1), 0);
        send(false, 40012, 6566, bytes(0, 0, 0, 1, 0, 0, 0x13, 0x70), 0);
        assertThat(expectations(0)).as("status not SUCCESS").isEmpty();
        send(false, 40012, 6566, bytes(0, 0, 0, 0, 0, 0, 0x13, 0x70), 0);
        assertThat(expectations(0)).as("the request was answered already").isEmpty();
        send(true, 40012, 6566, bytes(0, 0, 0, 7, 0, 0, 0, 1), 0);
        send(false, 40012, 6566, bytes(0, 0, 0, 0, 0, 1, 0x13, 0x70), 0);
        assertThat(expectations(0)).as("the half-word before the port not 0").isEmpty();
    }

    // ---- amanda ----

    @Test
    void amandaAnswerExpectsEachPortItNamesAndKeepsTheMasterFiveMinutes() {
        PacketContext req = path.forward(ConntrackHelpersTest.udp(CLIENT, SERVER, 850, 10080,
                "Amanda 2.6 REQ\n".getBytes(StandardCharsets.US_ASCII)), 0, "amanda");
        path.forward(ConntrackHelpersTest.udp(SERVER, CLIENT, 10080, 850,
                "REP\nCONNECT DATA 50010 MESG 50011 INDEX 50012\n".getBytes(StandardCharsets.US_ASCII)), 1, null);
        assertThat(path.table.expectations(Path.seconds(1))).extracting(Expectation::destinationPort)
                .containsExactly(50010, 50011, 50012);
        assertThat(expectations(1)).startsWith("180 proto=6 src=10.0.1.2 dst=10.0.2.2 sport=0 dport=50010 ");
        assertThat(req.conntrack().secondsLeft(Path.seconds(1))).as("master_timeout").isEqualTo(300);
    }

    @Test
    void amandaStopsAtAPortOfZeroAndReadsOnlyUpToTheLineEnd() {
        path.forward(ConntrackHelpersTest.udp(CLIENT, SERVER, 851, 10080, "REQ\n".getBytes(StandardCharsets.US_ASCII)),
                0, "amanda");
        path.forward(ConntrackHelpersTest.udp(SERVER, CLIENT, 10080, 851,
                "CONNECT MESG 50021 DATA 0 INDEX 50022\n".getBytes(StandardCharsets.US_ASCII)), 0, null);
        assertThat(path.table.expectations(Path.seconds(0))).as("DATA is looked for first, and is 0").isEmpty();
        path.forward(ConntrackHelpersTest.udp(SERVER, CLIENT, 10080, 851,
                "CONNECT DATA 50023\nMESG 50024\n".getBytes(StandardCharsets.US_ASCII)), 0, null);
        assertThat(path.table.expectations(Path.seconds(0))).extracting(Expectation::destinationPort)
                .containsExactly(50023);
    }

    @Test
    void amandaRequestsFromTheBackupServerAreNotRead() {
        path.forward(ConntrackHelpersTest.udp(CLIENT, SERVER, 852, 10080,
                "CONNECT DATA 50030\n".getBytes(StandardCharsets.US_ASCII)), 0, "amanda");
        assertThat(path.table.expectations(Path.seconds(0))).isEmpty();
    }

    // ---- netbios-ns ----

    static final String HOST = "link add eth0 address 02:00:00:00:00:01\nlink set eth0 up\n"
            + "addr add 10.0.1.1/24 dev eth0\naddr add 10.0.3.1/24 brd + dev eth0\naddr add 10.0.3.2/24 brd + dev eth0\n";

    /** A datagram the host's own socket sends out of eth0 to {@code dst}:137 with the netbios-ns template. */
    PacketContext query(Host host, int src, int dst, double t, long uid) {
        PacketContext p = Packets.load(ConntrackHelpersTest.udp(src, dst, 137, 137, new byte[12]));
        p.host(host).nowNanos(Path.seconds(t)).socket(uid, uid).outInterface("eth0");
        p.conntrack(Connection.template(0, false, "netbios-ns"), CtInfo.NEW);
        assertThat(path.table.in(p, Hook.OUTPUT)).isEqualTo(Verdict.ACCEPT);
        p.hook(Hook.POSTROUTING);
        assertThat(path.table.confirm(p)).isEqualTo(Verdict.ACCEPT);
        return p;
    }

    @Test
    void broadcastQueryExpectsEveryAnswerFromTheSubnetForThreeSeconds() throws Exception {
        Host host = HostFile.parseRunning("h", HOST);
        PacketContext q = query(host, ip("10.0.3.1"), ip("10.0.3.255"), 0, 0);
        assertThat(expectations(0)).isEqualTo("3 proto=17 src=10.0.3.255 dst=10.0.3.1 sport=137 dport=137 "
                + "mask-src=255.255.255.0 mask-dst=255.255.255.255 sport=65535 dport=65535 master-src=10.0.3.1 "
                + "master-dst=10.0.3.255 sport=137 dport=137 PERMANENT class=0 helper=netbios-ns\n");
        assertThat(q.conntrack().secondsLeft(Path.seconds(0))).isEqualTo(3);
        for (String from : new String[] {"10.0.3.7", "10.0.3.8"}) {
            PacketContext answer = path.forward(ConntrackHelpersTest.udp(ip(from), ip("10.0.3.1"), 137, 137,
                    new byte[12]), 1, null);
            assertThat(answer.ctInfo()).as("PERMANENT: every answer").isEqualTo(CtInfo.RELATED);
        }
        PacketContext wrongPort = path.forward(ConntrackHelpersTest.udp(ip("10.0.3.9"), ip("10.0.3.1"), 138, 137,
                new byte[12]), 1, null);
        assertThat(wrongPort.ctInfo()).isEqualTo(CtInfo.NEW);
        PacketContext late = path.forward(ConntrackHelpersTest.udp(ip("10.0.3.10"), ip("10.0.3.1"), 137, 137,
                new byte[12]), 3.1, null);
        assertThat(late.ctInfo()).isEqualTo(CtInfo.NEW);
    }

    @Test
    void broadcastExpectsNothingWithoutABroadcastAddressASocketOrAPrimaryAddress() throws Exception {
        Host host = HostFile.parseRunning("h", HOST);
        query(host, ip("10.0.1.1"), ip("10.0.1.255"), 0, 0);
        assertThat(expectations(0)).as("10.0.1.1/24 has no brd").isEmpty();
        query(host, ip("10.0.3.1"), ip("255.255.255.255"), 0, 0);
        assertThat(expectations(0)).as("the limited broadcast is no address's").isEmpty();
        query(host, ip("10.0.3.1"), ip("10.0.3.255"), 0, -1);
        assertThat(expectations(0)).as("not from a socket").isEmpty();
        query(host, ip("10.0.3.1"), ip("10.0.3.9"), 0, 0);
        assertThat(expectations(0)).as("not a broadcast").isEmpty();
    }
}
