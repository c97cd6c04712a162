package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ACK;
import static org.jnetfilter.core.conntrack.Packets.PSH;
import static org.jnetfilter.core.conntrack.Packets.SYN;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The sip helper on a forwarding path without NAT: a {@code CT --helper sip} template on the signalling
 * connection's first packet, then calls (INVITE, 200, ACK, BYE with SDP bodies) and registrations, with the
 * expectations they leave as {@code conntrack -L expect} lists them (the same sessions run against Linux in
 * KernelSipHelperDifferentialTest of the iptables module).
 */
class SipHelperTest {
    static final int PHONE = ip("10.0.1.2");
    static final int PROXY = ip("10.0.2.2");
    /** The forwarding path of the ftp/tftp scenarios: PREROUTING conntrack, then the confirm hook. */
    final ConntrackHelpersTest path = new ConntrackHelpersTest();
    final Conntrack table = path.table;
    int verdict;

    PacketContext forward(MemorySegment packet, double seconds, String helper) {
        PacketContext pkt = path.forward(packet, seconds, helper);
        verdict = path.verdict;
        return pkt;
    }

    static MemorySegment udp(int src, int dst, int sport, int dport, String text) {
        byte[] data = text.getBytes(StandardCharsets.ISO_8859_1);
        byte[] u = ByteBuffer.allocate(8 + data.length).putShort((short) sport).putShort((short) dport)
                .putShort((short) (8 + data.length)).putShort((short) 0).put(data).array();
        return Packets.ipv4(src, dst, 17, u);
    }

    PacketContext phone(String text, double t, String helper) {
        return forward(udp(PHONE, PROXY, 5060, 5060, text), t, helper);
    }

    PacketContext proxy(String text, double t) {
        return forward(udp(PROXY, PHONE, 5060, 5060, text), t, null);
    }

    static String sdp(String connection, String... media) {
        StringBuilder sb = new StringBuilder("v=0\r\no=- 1 1 IN IP4 " + connection + "\r\ns=call\r\n");
        if (!connection.isEmpty()) {
            sb.append("c=IN IP4 ").append(connection).append("\r\n");
        }
        sb.append("t=0 0\r\n");
        for (String m : media) {
            sb.append(m).append("\r\n");
        }
        return sb.toString();
    }

    static String request(String method, int cseq, String from, String body) {
        return method + " sip:bob@" + "10.0.2.2" + " SIP/2.0\r\n"
                + "Via: SIP/2.0/UDP " + from + ":5060;branch=z9hG4bK1\r\n"
                + "From: <sip:alice@" + from + ">;tag=1\r\n"
                + "To: <sip:bob@10.0.2.2>\r\n"
                + "Call-ID: abc@" + from + "\r\n"
                + "CSeq: " + cseq + " " + method + "\r\n"
                + "Contact: <sip:alice@" + from + ":5060>\r\n"
                + (body.isEmpty() ? "" : "Content-Type: application/sdp\r\n")
                + "Content-Length: " + body.length() + "\r\n\r\n" + body;
    }

    static String response(String status, int cseq, String method, String body) {
        return "SIP/2.0 " + status + "\r\n"
                + "Via: SIP/2.0/UDP 10.0.1.2:5060;branch=z9hG4bK1\r\n"
                + "From: <sip:alice@10.0.1.2>;tag=1\r\n"
                + "To: <sip:bob@10.0.2.2>;tag=2\r\n"
                + "Call-ID: abc@10.0.1.2\r\n"
                + "CSeq: " + cseq + " " + method + "\r\n"
                + "Contact: <sip:bob@10.0.2.2:5060>\r\n"
                + "Content-Length: " + body.length() + "\r\n\r\n" + body;
    }

    List<String> expectations(double t) {
        String all = table.listExpectations(Family.IPV4, Path.seconds(t));
        return all.isEmpty() ? List.of() : List.of(all.split("\n"));
    }

    static String media(int timeout, String src, String dst, int dport, int cls) {
        return timeout + " proto=17 src=" + src + " dst=" + dst + " sport=0 dport=" + dport
                + " mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.1.2"
                + " master-dst=10.0.2.2 sport=5060 dport=5060 class=" + cls + " helper=sip";
    }

    @Test
    void inviteAndItsAnswerExpectRtpAndRtcpBothWaysAndByeFlushesThem() {
        PacketContext invite = phone(request("INVITE", 1, "10.0.1.2", sdp("10.0.1.2", "m=audio 4000 RTP/AVP 0")),
                0, "sip");
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        Connection call = invite.conntrack();
        assertThat(expectations(0)).containsExactlyInAnyOrder(media(180, "10.0.2.2", "10.0.1.2", 4000, 1),
                media(180, "10.0.2.2", "10.0.1.2", 4001, 1));
        proxy(response("100 Trying", 1, "INVITE", ""), 1);
        proxy(response("200 OK", 1, "INVITE", sdp("10.0.2.2", "m=audio 5005 RTP/AVP 0")), 1);
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(expectations(1)).hasSize(4).contains(media(180, "10.0.1.2", "10.0.2.2", 5004, 1),
                media(180, "10.0.1.2", "10.0.2.2", 5005, 1));
        phone(request("ACK", 1, "10.0.1.2", ""), 2, null);
        assertThat(expectations(2)).hasSize(4);
        // Linux: nf_ct_refresh(ct, sip_timeout * HZ) on every packet with a payload
        assertThat(call.secondsLeft(Path.seconds(2))).isEqualTo(3600);

        PacketContext rtp = forward(udp(PROXY, PHONE, 30000, 4000, "rtp"), 3, null);
        assertThat(rtp.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat(rtp.conntrack().master()).isSameAs(call);
        assertThat(rtp.conntrack().helper()).as("media connections have no helper").isEmpty();
        assertThat(expectations(3)).hasSize(3);

        phone(request("BYE", 2, "10.0.1.2", ""), 4, null);
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(expectations(4)).isEmpty();
    }

    @Test
    void aFailedInviteFlushesTheMediaOfThatInviteOnly() {
        phone(request("INVITE", 7, "10.0.1.2", sdp("10.0.1.2", "m=audio 4000 RTP/AVP 0")), 0, "sip");
        proxy(response("486 Busy Here", 6, "INVITE", ""), 1);
        assertThat(expectations(1)).as("another CSeq").hasSize(2);
        proxy(response("486 Busy Here", 7, "INVITE", ""), 1);
        assertThat(expectations(1)).isEmpty();
    }

    /** SDP bodies: what the INVITE expects (ports from the phone's address), or that it is dropped. */
    static Stream<Arguments> sdpBodies() {
        return Stream.of(
                Arguments.of("audio and video: two classes", sdp("10.0.1.2", "m=audio 4000 RTP/AVP 0",
                        "m=video 4002 RTP/AVP 31"), Verdict.ACCEPT, List.of("4000/1", "4001/1", "4002/2", "4003/2")),
                Arguments.of("an odd port expects the pair below it", sdp("10.0.1.2", "m=audio 4001 RTP/AVP 0"),
                        Verdict.ACCEPT, List.of("4000/1", "4001/1")),
                Arguments.of("image (T.38)", sdp("10.0.1.2", "m=image 6000 udptl t38"), Verdict.ACCEPT,
                        List.of("6000/3", "6001/3")),
                Arguments.of("port 0 is an inactive stream", sdp("10.0.1.2", "m=audio 0 RTP/AVP 0",
                        "m=video 4002 RTP/AVP 31"), Verdict.ACCEPT, List.of("4002/2", "4003/2")),
                Arguments.of("another media type is skipped", sdp("10.0.1.2", "m=application 9 TCP/BFCP *",
                        "m=audio 4000 RTP/AVP 0"), Verdict.ACCEPT, List.of("4000/1", "4001/1")),
                Arguments.of("the media's own c= overrides the session's",
                        sdp("10.0.9.9", "m=audio 4000 RTP/AVP 0", "c=IN IP4 10.0.1.2"), Verdict.ACCEPT,
                        List.of("4000/1", "4001/1")),
                Arguments.of("media at a third party's address is not expected (sip_direct_media)",
                        sdp("10.0.1.99", "m=audio 4000 RTP/AVP 0"), Verdict.ACCEPT, List.of()),
                Arguments.of("a port below 1024 is dropped", sdp("10.0.1.2", "m=audio 80 RTP/AVP 0"), Verdict.DROP,
                        List.of()),
                Arguments.of("a port above 65535 is dropped", sdp("10.0.1.2", "m=audio 70000 RTP/AVP 0"),
                        Verdict.DROP, List.of()),
                Arguments.of("media without any c= is dropped", sdp("", "m=audio 4000 RTP/AVP 0"), Verdict.DROP,
                        List.of()),
                Arguments.of("LF line ends", sdp("10.0.1.2", "m=audio 4000 RTP/AVP 0").replace("\r\n", "\n"),
                        Verdict.ACCEPT, List.of("4000/1", "4001/1")),
                Arguments.of("no v= line: no SDP", sdp("10.0.1.2", "m=audio 4000 RTP/AVP 0").replace("v=0", "x=0"),
                        Verdict.ACCEPT, List.of()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("sdpBodies")
    void sdpOfAnInvite(String name, String body, int expectedVerdict, List<String> ports) {
        phone(request("INVITE", 1, "10.0.1.2", body), 0, "sip");
        assertThat(verdict).isEqualTo(expectedVerdict);
        List<String> seen = table.expectations(Path.seconds(0)).stream()
                .map(e -> e.destinationPort() + "/" + e.expectClass).sorted().toList();
        assertThat(seen).isEqualTo(ports.stream().sorted().toList());
    }

    /** Malformed messages: Linux drops some and lets the rest through unread. */
    static Stream<Arguments> malformed() {
        String sdp = sdp("10.0.1.2", "m=audio 4000 RTP/AVP 0");
        return Stream.of(
                Arguments.of("a request without CSeq", request("INVITE", 1, "10.0.1.2", sdp)
                        .replace("CSeq: 1 INVITE\r\n", ""), Verdict.DROP),
                Arguments.of("a CSeq without digits", request("INVITE", 1, "10.0.1.2", sdp)
                        .replace("CSeq: 1", "CSeq: x"), Verdict.DROP),
                Arguments.of("an unknown method is not read", request("OPTIONS", 1, "10.0.1.2", "")
                        .replace("CSeq: 1 OPTIONS\r\n", ""), Verdict.ACCEPT),
                Arguments.of("a method not followed by a space and a letter is not read", "INVITEX sip:b@10.0.2.2 "
                        + "SIP/2.0\r\n\r\n", Verdict.ACCEPT),
                Arguments.of("a response without a status code", "SIP/2.0 OK\r\nCSeq: 1 INVITE\r\n\r\n",
                        Verdict.DROP),
                Arguments.of("a response without CSeq", "SIP/2.0 200 OK\r\nTo: <sip:b@10.0.2.2>\r\n\r\n",
                        Verdict.DROP),
                Arguments.of("a payload shorter than \"SIP/2.0 200\" is not read", "SIP/2.0 2", Verdict.ACCEPT),
                Arguments.of("a REGISTER whose Contact does not parse", "REGISTER sip:10.0.2.2 SIP/2.0\r\n"
                        + "CSeq: 1 REGISTER\r\nContact: <sip:alice@10.0.1.2:80>\r\n\r\n", Verdict.DROP),
                Arguments.of("a REGISTER with expires= and no number", "REGISTER sip:10.0.2.2 SIP/2.0\r\n"
                        + "CSeq: 1 REGISTER\r\nContact: <sip:alice@10.0.1.2:5062>;expires=x\r\n\r\n",
                        Verdict.DROP));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void malformedMessages(String name, String text, int expectedVerdict) {
        if (text.startsWith("SIP/2.0")) {
            phone("OPTIONS sip:b@10.0.2.2 SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n", 0, "sip");
            proxy(text, 0);
        } else {
            phone(text, 0, "sip");
        }
        assertThat(verdict).isEqualTo(expectedVerdict);
    }

    static String register(int cseq, String contact, String expires) {
        return "REGISTER sip:10.0.2.2 SIP/2.0\r\n"
                + "Via: SIP/2.0/UDP 10.0.1.2:5060;branch=z9hG4bK2\r\n"
                + "From: <sip:alice@10.0.2.2>;tag=3\r\n"
                + "To: <sip:alice@10.0.2.2>\r\n"
                + "Call-ID: reg@10.0.1.2\r\n"
                + "CSeq: " + cseq + " REGISTER\r\n"
                + "Contact: " + contact + "\r\n"
                + expires
                + "Content-Length: 0\r\n\r\n";
    }

    static String registerOk(int cseq, String contact) {
        return "SIP/2.0 200 OK\r\n"
                + "Via: SIP/2.0/UDP 10.0.1.2:5060;branch=z9hG4bK2\r\n"
                + "CSeq: " + cseq + " REGISTER\r\n"
                + "Contact: " + contact + "\r\n"
                + "Content-Length: 0\r\n\r\n";
    }

    static String signalling(int timeout, String flags) {
        return timeout + " proto=17 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=5062 mask-src=255.255.255.255 "
                + "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.1.2 master-dst=10.0.2.2 sport=5060 "
                + "dport=5060 " + flags + "class=0 helper=sip";
    }

    @Test
    void registerExpectsIncomingCallsFromTheRegistrarOnceItAccepts() {
        phone(register(1, "<sip:alice@10.0.1.2:5062>", "Expires: 600\r\n"), 0, "sip");
        assertThat(expectations(0)).containsExactly(signalling(180, "PERMANENT,INACTIVE "));
        PacketContext early = forward(udp(PROXY, PHONE, 5060, 5062, request("INVITE", 1, "10.0.2.2", "")), 1, null);
        assertThat(early.ctInfo()).as("an inactive expectation matches nothing").isEqualTo(CtInfo.NEW);

        phone(register(1, "<sip:alice@10.0.1.2:5062>", "Expires: 600\r\n"), 0, "sip");
        proxy(registerOk(1, "<sip:alice@10.0.1.2:5062>;expires=300"), 1);
        assertThat(expectations(1)).containsExactly(signalling(300, "PERMANENT "));
        PacketContext call = forward(udp(PROXY, PHONE, 5070, 5062, request("INVITE", 1, "10.0.2.2", "")), 2, null);
        assertThat(call.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat(call.conntrack().helper()).as("exp->helper: the call is read by sip").isEqualTo("sip");
        assertThat(expectations(2)).as("PERMANENT: it stays").hasSize(1);
    }

    @Test
    void registerAnswersOfAnotherCseqOrFailingOrReleasingAreTakenAsLinuxTakesThem() {
        phone(register(4, "<sip:alice@10.0.1.2:5062>", "Expires: 600\r\n"), 0, "sip");
        proxy(registerOk(3, "<sip:alice@10.0.1.2:5062>;expires=300"), 1);
        assertThat(expectations(1)).as("a late answer: unchanged").containsExactly(
                signalling(179, "PERMANENT,INACTIVE "));
        proxy(registerOk(4, "<sip:alice@10.0.1.99:5062>;expires=300"), 1);
        assertThat(expectations(1)).as("no Contact of the phone: removed").isEmpty();

        phone(register(5, "<sip:alice@10.0.1.2:5062>", "Expires: 600\r\n"), 2, null);
        proxy("SIP/2.0 401 Unauthorized\r\nCSeq: 5 REGISTER\r\n\r\n", 2);
        assertThat(expectations(2)).as("a failure removes it").isEmpty();

        phone(register(6, "<sip:alice@10.0.1.2:5062>;expires=0", "Expires: 600\r\n"), 3, null);
        assertThat(expectations(3)).as("expires=0 releases the binding").isEmpty();
        phone(register(7, "<sip:alice@10.0.1.2:5062;transport=tcp>", ""), 3, null);
        assertThat(expectations(3)).as("no expiry and another transport").isEmpty();
    }

    @Test
    void aThirdPartyRegistrationIsNotExpected() {
        phone(register(1, "<sip:carol@10.0.1.7:5062>", "Expires: 600\r\n"), 0, "sip");
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(expectations(0)).isEmpty();
    }

    @Test
    void overTcpEachMessageOfASegmentIsReadUpToItsContentLength() {
        int c = 1000;
        int s = 5000;
        forward(Packets.tcpText(PHONE, PROXY, 40000, 5060, c++, 0, SYN, ""), 0, "sip");
        forward(Packets.tcpText(PROXY, PHONE, 5060, 40000, s++, c, SYN | ACK, ""), 0, null);
        forward(Packets.tcpText(PHONE, PROXY, 40000, 5060, c, s, ACK, ""), 0, null);
        String bye = request("BYE", 2, "10.0.1.2", "");
        String invite = request("INVITE", 3, "10.0.1.2", sdp("10.0.1.2", "m=audio 4000 RTP/AVP 0"));
        String text = bye + invite;
        PacketContext p = forward(Packets.tcpText(PHONE, PROXY, 40000, 5060, c, s, PSH | ACK, text), 1, null);
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(table.expectations(Path.seconds(1))).extracting(Expectation::destinationPort)
                .containsExactlyInAnyOrder(4000, 4001);
        assertThat(p.conntrack().secondsLeft(Path.seconds(1))).isEqualTo(3600);
        c += text.length();
        String cut = request("INVITE", 4, "10.0.1.2", sdp("10.0.1.2", "m=audio 4100 RTP/AVP 0"));
        forward(Packets.tcpText(PHONE, PROXY, 40000, 5060, c, s, PSH | ACK, cut.substring(0, cut.length() - 5)), 2,
                null);
        assertThat(table.expectations(Path.seconds(2))).as("a message cut short is not read")
                .extracting(Expectation::destinationPort).containsExactlyInAnyOrder(4000, 4001);
    }

    @Test
    void theSameMediaSeenOnAnotherSipConnectionIsNotExpectedTwice() {
        phone(request("INVITE", 1, "10.0.1.2", sdp("10.0.1.2", "m=audio 4000 RTP/AVP 0")), 0, "sip");
        forward(Packets.tcpText(PHONE, PROXY, 40000, 5060, 1, 0, SYN, ""), 0, "sip");
        forward(Packets.tcpText(PROXY, PHONE, 5060, 40000, 1, 2, SYN | ACK, ""), 0, null);
        forward(Packets.tcpText(PHONE, PROXY, 40000, 5060, 2, 2, ACK, ""), 0, null);
        String invite = request("INVITE", 1, "10.0.1.2", sdp("10.0.1.2", "m=audio 4000 RTP/AVP 0"));
        forward(Packets.tcpText(PHONE, PROXY, 40000, 5060, 2, 2, PSH | ACK, invite), 1, null);
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(table.expectations(Path.seconds(1))).as("-EALREADY: taken as added, not added twice")
                .hasSize(2);
        forward(udp(PHONE, PROXY, 5061, 5060, request("INVITE", 1, "10.0.1.2", sdp("10.0.1.2",
                "m=audio 4000 RTP/AVP 0"))), 2, "sip");
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(table.expectations(Path.seconds(2))).as("skip_expect: another connection of the same helper")
                .hasSize(2).allMatch(e -> e.master().original().sourceId() == 5060);
    }
}
