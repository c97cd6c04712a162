package org.jnetfilter.core.nat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ACK;
import static org.jnetfilter.core.conntrack.Packets.PSH;
import static org.jnetfilter.core.conntrack.Packets.SYN;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.ConntrackHooks;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.conntrack.Packets;
import org.jnetfilter.core.conntrack.Rules;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.Netfilter;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Table;
import org.junit.jupiter.api.Test;

/**
 * nf_nat_ftp and sequence adjustment on a forwarding path without the kernel (KernelConntrackHelpersDifferentialTest
 * in the iptables module compares the same with Linux byte for byte): a client behind SNAT 10.0.2.100 sends PORT
 * naming its own address; the command leaving is rewritten two bytes longer, later client segments are moved
 * forward, the server's acknowledgements moved back, and the server's data connection to the announced port
 * reaches the client, RELATED, without a walk of the nat table.
 */
class HelperNatTest {
    static final int CLIENT = ip("10.0.1.2");
    static final int SERVER = ip("10.0.2.2");
    static final int OUTSIDE = ip("10.0.2.100");

    final SnatForwarding path = new SnatForwarding();
    final Conntrack table = path.table;
    final Table nat = path.nat;

    /** Forwards the packet through {@link SnatForwarding}; {@code template}: a new connection with the ftp helper. */
    PacketContext forward(MemorySegment packet, boolean template) {
        return path.forward(packet, template ? "ftp" : null, 64);
    }

    static MemorySegment tcp(int src, int dst, int sport, int dport, int seq, int ack, int flags, String data) {
        return Packets.tcpText(src, dst, sport, dport, seq, ack, flags, data);
    }

    static String payload(PacketContext p) {
        int at = p.transportOffset() + (p.transportU8(12) >>> 4) * 4;
        byte[] b = p.segment().asSlice(p.networkOffset() + at, p.length() - at).toArray(ValueLayout.JAVA_BYTE);
        return new String(b, StandardCharsets.US_ASCII);
    }

    static int seq(PacketContext p) {
        return p.transportU16(4) << 16 | p.transportU16(6);
    }

    static int ack(PacketContext p) {
        return p.transportU16(8) << 16 | p.transportU16(10);
    }

    @Test
    void portBehindSnatIsRewrittenAndTheStreamsStayConsistent() {
        int c = 1000;
        int s = 5000;
        forward(tcp(CLIENT, SERVER, 40002, 21, c++, 0, SYN, ""), true);
        forward(tcp(SERVER, OUTSIDE, 21, 40002, s++, c, SYN | ACK, ""), false);
        forward(tcp(CLIENT, SERVER, 40002, 21, c, s, ACK, ""), false);
        forward(tcp(SERVER, OUTSIDE, 21, 40002, s, c, PSH | ACK, "220 hi\r\n"), false);
        s += 8;
        forward(tcp(CLIENT, SERVER, 40002, 21, c, s, PSH | ACK, "USER a\r\n"), false);
        c += 8;

        PacketContext port = forward(tcp(CLIENT, SERVER, 40002, 21, c, s, PSH | ACK, "PORT 10,0,1,2,156,65\r\n"),
                false);
        assertThat(payload(port)).isEqualTo("PORT 10,0,2,100,156,65\r\n");
        assertThat(port.length()).isEqualTo(20 + 20 + 24);
        assertThat(port.networkU16(2)).as("IP total length").isEqualTo(64);
        assertThat(Packets.checksumsValid(port)).isTrue();
        assertThat(seq(port)).as("the rewritten segment keeps its own number").isEqualTo(c);
        assertThat(table.listExpectations(Family.IPV4, port.nowNanos())).startsWith("300 proto=6 src=10.0.2.2 "
                + "dst=10.0.2.100 sport=0 dport=40001 ");
        c += 22;

        // the server acknowledges the 24 bytes it received; the client sees its own 22
        PacketContext ok = forward(tcp(SERVER, OUTSIDE, 21, 40002, s, c + 2, PSH | ACK, "200 ok\r\n"), false);
        assertThat(ok.conntrack()).as("in window after taking the offset off").isNotNull();
        assertThat(ack(ok)).isEqualTo(c);
        assertThat(Packets.checksumsValid(ok)).isTrue();
        s += 8;
        PacketContext list = forward(tcp(CLIENT, SERVER, 40002, 21, c, s, PSH | ACK, "LIST\r\n"), false);
        assertThat(seq(list)).isEqualTo(c + 2);
        assertThat(Packets.checksumsValid(list)).isTrue();

        PacketContext data = forward(tcp(SERVER, OUTSIDE, 20, 40001, 7000, 0, SYN, ""), false);
        assertThat(data.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat((int) data.destinationLo()).isEqualTo(CLIENT);
        assertThat(data.transportU16(2)).isEqualTo(40001);
        assertThat(data.conntrack().hasStatus(Connection.SRC_NAT_DONE | Connection.DST_NAT_DONE)).isTrue();
        assertThat(nat.chain("POSTROUTING").rules().get(0).counters().packets())
                .as("the data connection follows its master: no walk of the nat table").isEqualTo(1);
    }

    static PacketContext udpText(String text, boolean checksum) {
        byte[] data = text.getBytes(StandardCharsets.US_ASCII);
        java.nio.ByteBuffer u = java.nio.ByteBuffer.allocate(8 + data.length).putShort((short) 10080)
                .putShort((short) 850).putShort((short) (8 + data.length)).putShort((short) 0).put(data);
        byte[] bytes = u.array();
        PacketContext p = Packets.load(Packets.ipv4(SERVER, CLIENT, 17, bytes));
        if (!checksum) {
            p.segment().set(ValueLayout.JAVA_SHORT_UNALIGNED, p.networkOffset() + 20 + 6, (short) 0);
        }
        return p;
    }

    @Test
    void aUdpRewriteSetsBothLengthsAndTheChecksumUnlessTheDatagramHadNone() {
        for (boolean checksum : new boolean[] {true, false}) {
            PacketContext p = udpText("CONNECT DATA 50010 MESG 1\n", checksum);
            assertThat(!checksum || Packets.checksumsValid(p)).isTrue();
            assertThat(HelperNat.mangleUdp(p, 20, 13, 5, "6".getBytes(StandardCharsets.US_ASCII))).isTrue();
            assertThat(p.length()).isEqualTo(20 + 8 + 22);
            assertThat(p.networkU16(2)).as("IP total length").isEqualTo(50);
            assertThat(p.networkU16(20 + 4)).as("UDP length").isEqualTo(30);
            byte[] rest = new byte[22];
            MemorySegment.copy(p.segment(), ValueLayout.JAVA_BYTE, p.networkOffset() + 28, rest, 0, 22);
            assertThat(new String(rest, StandardCharsets.US_ASCII)).isEqualTo("CONNECT DATA 6 MESG 1\n");
            if (checksum) {
                assertThat(Packets.checksumsValid(p)).isTrue();
            } else {
                assertThat(p.networkU16(20 + 6)).as("no checksum stays none").isZero();
            }
        }
    }

    @Test
    void commandsAreFormattedAsNfNatFtpFormatsThem() {
        assertThat(new String(HelperNat.command(HelperNat.FTP_PORT, Family.IPV4, 0, ip("10.0.2.100"), 40001),
                StandardCharsets.US_ASCII)).isEqualTo("10,0,2,100,156,65");
        assertThat(new String(HelperNat.command(HelperNat.FTP_EPRT, Family.IPV4, 0, ip("10.0.2.100"), 21),
                StandardCharsets.US_ASCII)).isEqualTo("|1|10.0.2.100|21|");
        assertThat(new String(HelperNat.command(HelperNat.FTP_EPRT, Family.IPV6, 0xfd02000000000000L, 0x100, 21),
                StandardCharsets.US_ASCII)).isEqualTo("|2|fd02:0000:0000:0000:0000:0000:0000:0100|21|");
        assertThat(new String(HelperNat.command(HelperNat.FTP_EPSV, Family.IPV6, 0, 0, 50000),
                StandardCharsets.US_ASCII)).isEqualTo("|||50000|");
    }
}
