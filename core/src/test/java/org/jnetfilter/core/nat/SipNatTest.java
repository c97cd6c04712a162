package org.jnetfilter.core.nat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
 * nf_nat_sip on a forwarding path without the kernel (KernelConntrackHelpersDifferentialTest in the iptables module
 * compares the same sessions with Linux byte for byte): a phone at 10.0.1.2 behind SNAT 10.0.2.100 calls and
 * registers at 10.0.2.2; what leaves names the translated address everywhere the phone named itself, the
 * Content-Length follows the SDP, and the media and the registrar's calls to the translated address reach the
 * phone.
 */
class SipNatTest {
    static final int PHONE = ip("10.0.1.2");
    static final int PROXY = ip("10.0.2.2");
    static final int OUTSIDE = ip("10.0.2.100");

    final SnatForwarding path = new SnatForwarding();
    final Conntrack table = path.table;
    final Table nat = path.nat;

    /** Forwards the packet through {@link SnatForwarding}; {@code helper}: a new connection with the sip helper. */
    PacketContext forward(MemorySegment packet, boolean helper) {
        return path.forward(packet, helper ? "sip" : null, 256);
    }

    static MemorySegment udp(int src, int dst, int sport, int dport, String text) {
        byte[] data = text.getBytes(StandardCharsets.US_ASCII);
        byte[] u = ByteBuffer.allocate(8 + data.length).putShort((short) sport).putShort((short) dport)
                .putShort((short) (8 + data.length)).putShort((short) 0).put(data).array();
        return Packets.ipv4(src, dst, 17, u);
    }

    static String payload(PacketContext p) {
        int at = p.transportOffset() + 8;
        byte[] b = p.segment().asSlice(p.networkOffset() + at, p.length() - at).toArray(ValueLayout.JAVA_BYTE);
        return new String(b, StandardCharsets.US_ASCII);
    }

    static int destination(PacketContext p) {
        return p.networkU16(16) << 16 | p.networkU16(18);
    }

    static final String SDP = "v=0\r\no=- 1 1 IN IP4 10.0.1.2\r\ns=call\r\nc=IN IP4 10.0.1.2\r\nt=0 0\r\n"
            + "m=audio 4000 RTP/AVP 0\r\n";

    static String invite() {
        return "INVITE sip:bob@10.0.2.2 SIP/2.0\r\n"
                + "Via: SIP/2.0/UDP 10.0.1.2:5060;branch=z9hG4bK1;rport\r\n"
                + "From: <sip:alice@10.0.1.2>;tag=1\r\n"
                + "To: <sip:bob@10.0.2.2>\r\n"
                + "Call-ID: c1@10.0.1.2\r\n"
                + "CSeq: 1 INVITE\r\n"
                + "Contact: <sip:alice@10.0.1.2:5060>\r\n"
                + "Content-Type: application/sdp\r\n"
                + "Content-Length: " + SDP.length() + "\r\n\r\n" + SDP;
    }

    @Test
    void anInviteLeavesNamingTheTranslatedAddressAndTheMediaReachesThePhone() {
        PacketContext out = forward(udp(PHONE, PROXY, 5060, 5060, invite()), true);
        String text = payload(out);
        assertThat(text).startsWith("INVITE sip:bob@10.0.2.2 SIP/2.0\r\n")
                .contains("Via: SIP/2.0/UDP 10.0.2.100:5060;branch=z9hG4bK1;rport\r\n")
                .contains("From: <sip:alice@10.0.2.100:5060>;tag=1\r\n")
                .contains("To: <sip:bob@10.0.2.2>\r\n")
                .contains("Call-ID: c1@10.0.1.2\r\n")
                .contains("Contact: <sip:alice@10.0.2.100:5060>\r\n")
                .contains("o=- 1 1 IN IP4 10.0.2.100\r\n")
                .contains("c=IN IP4 10.0.2.100\r\n")
                .contains("m=audio 4000 RTP/AVP 0\r\n");
        Matcher length = Pattern.compile("Content-Length: (\\d+)\r\n\r\n").matcher(text);
        assertThat(length.find()).isTrue();
        assertThat(Integer.parseInt(length.group(1))).as("the SDP's new length")
                .isEqualTo(text.length() - length.end()).isEqualTo(SDP.length() + 4);
        assertThat(Packets.checksumsValid(out)).isTrue();
        assertThat(out.networkU16(2)).as("IP total length").isEqualTo(out.length());
        assertThat(table.listExpectations(Family.IPV4, out.nowNanos())).contains(
                "proto=17 src=10.0.2.2 dst=10.0.2.100 sport=0 dport=4000 ",
                "proto=17 src=10.0.2.2 dst=10.0.2.100 sport=0 dport=4001 ");

        // the proxy answers the translated Via with received= and rport= naming what it saw
        PacketContext answer = forward(udp(PROXY, OUTSIDE, 5060, 5060, "SIP/2.0 180 Ringing\r\n"
                + "Via: SIP/2.0/UDP 10.0.2.100:5060;branch=z9hG4bK1;received=10.0.2.100;rport=5060\r\n"
                + "To: <sip:bob@10.0.2.2>;tag=2\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"), false);
        assertThat(payload(answer)).as("back to the phone's own address")
                .contains("Via: SIP/2.0/UDP 10.0.1.2:5060;branch=z9hG4bK1;received=10.0.1.2;rport=5060\r\n");

        PacketContext rtp = forward(udp(PROXY, OUTSIDE, 30000, 4000, "rtp"), false);
        assertThat(rtp.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat(destination(rtp)).as("to the phone").isEqualTo(PHONE);
        assertThat(rtp.transportU16(2)).isEqualTo(4000);
    }

    @Test
    void aRegistrationBehindSnatExpectsTheRegistrarsCallsAtTheTranslatedContact() {
        forward(udp(PHONE, PROXY, 5060, 5060, "REGISTER sip:10.0.2.2 SIP/2.0\r\n"
                + "Via: SIP/2.0/UDP 10.0.1.2:5060;branch=z9hG4bK2\r\nCSeq: 2 REGISTER\r\n"
                + "Contact: <sip:alice@10.0.1.2:5062>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n"), true);
        assertThat(table.listExpectations(Family.IPV4, path.nowNanos()))
                .contains("src=10.0.2.2 dst=10.0.2.100 sport=0 dport=5062 ").contains("PERMANENT,INACTIVE");
        forward(udp(PROXY, OUTSIDE, 5060, 5060, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.2.100:5060\r\n"
                + "CSeq: 2 REGISTER\r\nContact: <sip:alice@10.0.2.100:5062>;expires=300\r\nContent-Length: 0\r\n\r\n"),
                false);
        PacketContext call = forward(udp(PROXY, OUTSIDE, 5070, 5062, "INVITE sip:alice@10.0.2.100:5062 SIP/2.0\r\n"
                + "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"), false);
        assertThat(call.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat(destination(call)).as("to the phone").isEqualTo(PHONE);
        assertThat(payload(call)).as("read by sip: its Request-URI translated back")
                .startsWith("INVITE sip:alice@10.0.1.2:5062 SIP/2.0\r\n");
    }

    /**
     * forced_dport: a phone whose request names {@code Via: SIP/2.0/UDP 10.0.1.2:5062} but sends from another port.
     * On UDP the proxy's answers go to 5062 (checksum recomputed); on TCP Linux 6.18 drops them ("forced_dport only
     * expected with UDP"; KernelConntrackHelpersDifferentialTest has the TCP session against Linux).
     */
    @Test
    void answersToAPhoneThatForcedItsPortGoThereOnUdpAndAreDroppedOnTcp() {
        String request = invite().replace("10.0.1.2:5060;branch", "10.0.1.2:5062;branch");
        String ok = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.1.2:5062;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\n"
                + "Content-Length: 0\r\n\r\n";
        forward(udp(PHONE, PROXY, 40000, 5060, request), true);
        PacketContext answer = forward(udp(PROXY, OUTSIDE, 5060, 40000, ok), false);
        assertThat(answer.transportU16(2)).as("UDP: to the Via's port").isEqualTo(5062);
        assertThat(Packets.checksumsValid(answer)).isTrue();

        // another router: the same offer on a second connection behind the same SNAT would be refused (-EALREADY)
        SnatForwarding router = new SnatForwarding();

        int c = 1000;
        int s = 5000;
        router.forward(Packets.tcpText(PHONE, PROXY, 40010, 5060, c++, 0, 0x02, ""), "sip", 256);
        router.forward(Packets.tcpText(PROXY, OUTSIDE, 5060, 40010, s++, c, 0x12, ""), null, 256);
        router.forward(Packets.tcpText(PHONE, PROXY, 40010, 5060, c, s, 0x10, ""), null, 256);
        PacketContext out = router.forward(Packets.tcpText(PHONE, PROXY, 40010, 5060, c, s, 0x18, request), null, 256);
        assertThat(out.transportU16(2)).as("the request itself leaves").isEqualTo(5060);
        assertThat(router.verdict(Packets.tcpText(PROXY, OUTSIDE, 5060, 40010, s, c + request.length() + 10, 0x18, ok),
                null)).as("TCP: the answer is dropped").isEqualTo(Verdict.DROP);
    }

    static String inviteWith(String sdp) {
        return invite().replace(SDP, sdp).replace("Content-Length: " + SDP.length(), "Content-Length: " + sdp.length());
    }

    /**
     * An SDP without a media line: o= and the session's c= get the session's c= address as it was written (the
     * phone's own, untranslated: no media line gave another), and without a session c= nothing of the SDP is
     * rewritten (Linux 6.18: process_sdp's have_rtp_addr; KernelConntrackHelpersDifferentialTest has both).
     */
    @Test
    void anOfferWithoutMediaRewritesTheOwnerOnlyFromTheSessionAddress() {
        String[][] cases = {
            // the SDP sent, the o= and c= lines that leave
            {"v=0\r\no=- 1 1 IN IP4 10.0.1.9\r\ns=call\r\nc=IN IP4 10.0.1.2\r\nt=0 0\r\n",
                "o=- 1 1 IN IP4 10.0.1.2\r\n", "c=IN IP4 10.0.1.2\r\n"},
            {"v=0\r\no=- 1 1 IN IP4 10.0.1.9\r\ns=call\r\nt=0 0\r\n", "o=- 1 1 IN IP4 10.0.1.9\r\n", null},
            {"v=0\r\no=- 1 1 IN IP4 10.0.1.9\r\ns=call\r\nc=IN IP4 10.0.1.2\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n",
                "o=- 1 1 IN IP4 10.0.1.2\r\n", "c=IN IP4 10.0.1.2\r\n"},
        };
        int port = 5060;
        for (String[] c : cases) {
            PacketContext out = forward(udp(PHONE, PROXY, port++, 5060, inviteWith(c[0])), true);
            String text = payload(out);
            assertThat(text).as(c[0]).contains(c[1]).contains("Content-Length: " + (c[0].length()
                    + c[1].length() - "o=- 1 1 IN IP4 10.0.1.9\r\n".length()) + "\r\n");
            if (c[2] != null) {
                assertThat(text).as(c[0]).contains(c[2]);
            }
            assertThat(Packets.checksumsValid(out)).isTrue();
        }
    }
}
