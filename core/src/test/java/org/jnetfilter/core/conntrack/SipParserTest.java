package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.jnetfilter.core.conntrack.SipParser.Match;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The sip helper's text parsing, piece by piece, on the forms nf_conntrack_sip.c accepts and refuses: headers in long
 * and compact forms, continuation lines, URIs with and without user parts and ports, IPv6 in brackets, parameters,
 * comma-separated Contact lists, and the SDP lines.
 */
class SipParserTest {
    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** The header's match as text, "-1" (does not parse) or "0" (none). */
    static String header(Family family, String message, int type) {
        byte[] b = bytes(message);
        Match m = new Match();
        int r = SipParser.header(family, b, 0, 0, b.length, type, m);
        return r <= 0 ? Integer.toString(r) : message.substring(m.off, m.off + m.len);
    }

    static Stream<Arguments> headers() {
        String start = "INVITE sip:b@10.0.2.2 SIP/2.0\r\n";
        return Stream.of(
                Arguments.of("CSeq", start + "CSeq: 42 INVITE\r\n", SipParser.HDR_CSEQ, "42"),
                Arguments.of("CSeq in any case, blanks before the colon", start + "cseq \t:  7 BYE\r\n",
                        SipParser.HDR_CSEQ, "7"),
                Arguments.of("CSeq on a continuation line", start + "CSeq:\r\n  9 ACK\r\n", SipParser.HDR_CSEQ,
                        "9"),
                Arguments.of("CSeq without digits", start + "CSeq: x\r\n", SipParser.HDR_CSEQ, "-1"),
                Arguments.of("no CSeq", start + "To: <sip:b@10.0.2.2>\r\n", SipParser.HDR_CSEQ, "0"),
                Arguments.of("the request line is not a header", "CSeq: 1 X\r\n", SipParser.HDR_CSEQ, "0"),
                Arguments.of("Content-Length", start + "Content-Length: 120\r\n", SipParser.HDR_CONTENT_LENGTH,
                        "120"),
                Arguments.of("compact l", start + "l: 120\r\n", SipParser.HDR_CONTENT_LENGTH, "120"),
                Arguments.of("a compact name followed by a letter is another header", start + "lx: 1\r\nl: 2\r\n",
                        SipParser.HDR_CONTENT_LENGTH, "2"),
                Arguments.of("LF line ends", "INVITE sip:b@10.0.2.2 SIP/2.0\nl: 5\n", SipParser.HDR_CONTENT_LENGTH,
                        "5"),
                Arguments.of("CR line ends", "INVITE sip:b@10.0.2.2 SIP/2.0\rl: 5\r", SipParser.HDR_CONTENT_LENGTH,
                        "5"),
                Arguments.of("Contact: user@address:port", start + "Contact: <sip:alice@10.0.1.2:5062>\r\n",
                        SipParser.HDR_CONTACT, "10.0.1.2:5062"),
                Arguments.of("compact m, no user, no port", start + "m: sip:10.0.1.2;expires=60\r\n",
                        SipParser.HDR_CONTACT, "10.0.1.2"),
                Arguments.of("a Contact with a host name", start + "Contact: <sip:alice@pc.example>\r\n",
                        SipParser.HDR_CONTACT, "-1"),
                Arguments.of("a Contact without sip:", start + "Contact: <tel:+123>\r\n", SipParser.HDR_CONTACT,
                        "-1"),
                Arguments.of("From", start + "From: \"A\" <sip:alice@10.0.1.2>;tag=1\r\n", SipParser.HDR_FROM,
                        "10.0.1.2"),
                Arguments.of("compact t", start + "t: <sip:bob@10.0.2.2:5070>\r\n", SipParser.HDR_TO,
                        "10.0.2.2:5070"),
                Arguments.of("Via over UDP", start + "Via: SIP/2.0/UDP 10.0.1.2:5060;branch=z\r\n",
                        SipParser.HDR_VIA_UDP, "10.0.1.2:5060"),
                Arguments.of("compact v, no port", start + "v: SIP/2.0/UDP 10.0.1.2;rport\r\n",
                        SipParser.HDR_VIA_UDP, "10.0.1.2"),
                Arguments.of("a TCP Via is not the UDP one", start + "Via: SIP/2.0/TCP 10.0.1.2:5060\r\n",
                        SipParser.HDR_VIA_UDP, "-1"),
                Arguments.of("Call-Id word@word", start + "Call-ID: a1b2@host.example\r\n", SipParser.HDR_CALL_ID,
                        "a1b2@host.example"),
                Arguments.of("compact i", start + "i: 77\r\n", SipParser.HDR_CALL_ID, "77"),
                Arguments.of("Expires", start + "Expires: 3600\r\n", SipParser.HDR_EXPIRES, "3600"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("headers")
    void headersAreFoundAsLinuxFindsThem(String name, String message, int type, String expected) {
        assertThat(header(Family.IPV4, message, type)).isEqualTo(expected);
    }

    @Test
    void ipv6AddressesInUrisAreInBrackets() {
        String start = "INVITE sip:b@[fd02::2] SIP/2.0\r\n";
        assertThat(header(Family.IPV6, start + "Contact: <sip:alice@[fd01::2]:5062>\r\n", SipParser.HDR_CONTACT))
                .isEqualTo("[fd01::2]:5062");
        assertThat(header(Family.IPV6, start + "Contact: <sip:alice@fd01::2>\r\n", SipParser.HDR_CONTACT))
                .as("without brackets").isEqualTo("-1");
        assertThat(header(Family.IPV4, start + "Contact: <sip:alice@[fd01::2]>\r\n", SipParser.HDR_CONTACT))
                .as("on an IPv4 connection").isEqualTo("-1");
    }

    /** The request line's URI: its address and port, 0 when there is none, -1 when malformed. */
    static Stream<Arguments> requestLines() {
        return Stream.of(
                Arguments.of("INVITE sip:bob@10.0.2.2 SIP/2.0\r\n", "10.0.2.2/5060"),
                Arguments.of("INVITE sip:10.0.2.2:5070 SIP/2.0\r\n", "10.0.2.2:5070/5070"),
                Arguments.of("INVITE SIP:bob@10.0.2.2:5070;transport=udp SIP/2.0\r\n", "10.0.2.2:5070/5070"),
                Arguments.of("INVITE sip:bob@10.0.2.2:80 SIP/2.0\r\n", "-1"),
                Arguments.of("INVITE sip:bob@10.0.2.256 SIP/2.0\r\n", "0"),
                Arguments.of("INVITE tel:123\r\nVia: x\r\n", "-1"),
                Arguments.of(" sip:bob@10.0.2.2 SIP/2.0\r\n", "0"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("requestLines")
    void requestUri(String line, String expected) {
        byte[] b = bytes(line);
        Match m = new Match();
        int r = SipParser.request(Family.IPV4, b, 0, b.length, m);
        assertThat(r <= 0 ? Integer.toString(r) : line.substring(m.off, m.off + m.len) + "/" + m.port)
                .isEqualTo(expected);
    }

    @Test
    void aContactListIsWalkedValueByValueAndLineByLine() {
        String msg = "SIP/2.0 200 OK\r\nContact: <sip:a@10.0.1.2:5062>;expires=60, <sip:b@10.0.1.3>\r\n"
                + "Contact: <sip:c@10.0.1.4:5064>;expires=0\r\n\r\n";
        byte[] b = bytes(msg);
        Match m = new Match();
        SipParser.Walk walk = new SipParser.Walk(0);
        List<String> seen = new ArrayList<>();
        while (SipParser.headerUri(Family.IPV4, b, 0, b.length, SipParser.HDR_CONTACT, walk, m) > 0) {
            int after = m.off + m.len;
            String address = msg.substring(m.off, after) + "/" + m.port;
            int n = SipParser.numericalParam(b, after, b.length, "expires=", m);
            seen.add(address + (n > 0 ? " expires " + m.value : ""));
        }
        assertThat(seen).containsExactly("10.0.1.2:5062/5062 expires 60", "10.0.1.3/5060",
                "10.0.1.4:5064/5064 expires 0");
    }

    @Test
    void numericalParametersReadAsSimpleStrtoulWithBaseZero() {
        Match m = new Match();
        for (String[] c : new String[][] {{"expires=120", "120"}, {"expires=0x10", "16"}, {"expires=010", "8"},
                {"Expires=5;x", "5"}}) {
            byte[] b = bytes("<sip:a@10.0.1.2>;" + c[0]);
            assertThat(SipParser.numericalParam(b, 0, b.length, "expires=", m)).isEqualTo(1);
            assertThat(m.value).as(c[0]).isEqualTo(Long.parseLong(c[1]));
        }
        byte[] none = bytes("<sip:a@10.0.1.2>;expires=;x");
        assertThat(SipParser.numericalParam(none, 0, none.length, "expires=", m)).isEqualTo(-1);
        byte[] after = bytes("<sip:a@10.0.1.2>, <sip:b@10.0.1.3>;expires=5");
        assertThat(SipParser.numericalParam(after, 0, after.length, "expires=", m)).as("past the comma")
                .isZero();
    }

    @Test
    void transportMustBeTheConnectionsOwn() {
        Match m = new Match();
        byte[] tcp = bytes(";transport=TCP>");
        assertThat(SipParser.transport(tcp, 0, tcp.length, Protocol.TCP, m)).isEqualTo(Protocol.TCP);
        assertThat(SipParser.transport(tcp, 0, tcp.length, Protocol.UDP, m)).isZero();
        byte[] sctp = bytes(";transport=sctp>");
        assertThat(SipParser.transport(sctp, 0, sctp.length, Protocol.UDP, m)).isZero();
        byte[] none = bytes(";lr>");
        assertThat(SipParser.transport(none, 0, none.length, Protocol.UDP, m)).isEqualTo(Protocol.UDP);
    }

    /** in4_pton with no delimiter: four octets up to 255; a hex letter in it is an error, other characters end it. */
    static Stream<Arguments> ipv4() {
        return Stream.of(Arguments.of("10.0.1.2", "10.0.1.2"), Arguments.of("10.0.1.2:5060", "10.0.1.2"),
                Arguments.of("010.0.1.2>", "10.0.1.2"), Arguments.of("10.0.1", "-"), Arguments.of("10.0.1.256", "-"),
                Arguments.of("10.0.1.2a", "-"), Arguments.of("10..1.2", "-"), Arguments.of("1.2.3.4.5", "-"),
                Arguments.of("10.0.1.2x", "10.0.1.2"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ipv4")
    void ipv4Addresses(String text, String expected) {
        byte[] b = bytes(text);
        Match m = new Match();
        boolean ok = SipParser.in4(b, 0, b.length, m);
        assertThat(ok ? Tuple.address(Family.IPV4, m.hi, m.lo) : "-").isEqualTo(expected);
    }

    /** The SDP lines process_sdp reads: o=, c= (of the session or a media), m=. */
    @Test
    void sdpLinesStopAtTheirTerminatorAndMatchTheirFamily() {
        String sdp = "INVITE x\r\n\r\nv=0\r\no=- 1 1 IN IP4 10.0.1.2\r\nc=IN IP4 10.0.1.9\r\nm=audio 4000 RTP/AVP 0\r\n"
                + "c=IN IP4 10.0.1.7\r\nm=video 0 RTP/AVP 31\r\n";
        byte[] b = bytes(sdp);
        Match m = new Match();
        assertThat(SipParser.sdpHeader(Family.IPV4, b, 0, b.length, SipParser.SDP_VERSION, SipParser.SDP_UNSPEC, m))
                .isEqualTo(1);
        int sdpoff = m.off;
        assertThat(SipParser.sdpAddrHeader(Family.IPV4, b, sdpoff, b.length, SipParser.SDP_CONNECTION,
                SipParser.SDP_MEDIA, m)).isEqualTo(1);
        assertThat(Tuple.address(Family.IPV4, m.hi, m.lo)).isEqualTo("10.0.1.9");
        assertThat(SipParser.sdpHeader(Family.IPV4, b, sdpoff, b.length, SipParser.SDP_MEDIA, SipParser.SDP_UNSPEC, m))
                .isEqualTo(1);
        assertThat(sdp.substring(m.off, m.off + m.len)).isEqualTo("audio 4000");
        int media = m.off;
        assertThat(SipParser.sdpAddrHeader(Family.IPV4, b, media, b.length, SipParser.SDP_CONNECTION,
                SipParser.SDP_MEDIA, m)).isEqualTo(1);
        assertThat(Tuple.address(Family.IPV4, m.hi, m.lo)).as("the media's own").isEqualTo("10.0.1.7");
        assertThat(SipParser.sdpAddrHeader(Family.IPV6, b, sdpoff, b.length, SipParser.SDP_CONNECTION,
                SipParser.SDP_MEDIA, m)).as("IN IP6 on an IPv6 connection only").isEqualTo(-1);
        byte[] v6 = bytes("x\r\nv=0\r\nc=IN IP6 fd01::2\r\n");
        assertThat(SipParser.sdpAddrHeader(Family.IPV6, v6, 0, v6.length, SipParser.SDP_CONNECTION,
                SipParser.SDP_MEDIA, m)).isEqualTo(1);
        assertThat(Tuple.address(Family.IPV6, m.hi, m.lo)).isEqualTo("fd01::2");
    }

    @Test
    void mediaLengthIsTypeSpacePort() {
        byte[] b = bytes("audio 4000 RTP/AVP");
        assertThat(SipParser.mediaLen(b, 0, b.length)).isEqualTo(10);
        byte[] noSpace = bytes("audio\t4000");
        assertThat(SipParser.mediaLen(noSpace, 0, noSpace.length)).isZero();
    }
}
