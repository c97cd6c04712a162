package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.stream.Stream;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The sip helper under nf_conntrack_sip's module parameters (the HOST file's {@code modprobe nf_conntrack_sip ...}
 * line) on a router between a phone (10.0.1.2 on eth0) and a proxy (10.0.2.2 on eth1), another host 10.0.2.22 on
 * eth1 and no route to 10.9.0.0/16: what a call and a registration leave expected, from where, and the call's
 * timeout (KernelConntrackHelpersDifferentialTest runs the same parameters against Linux).
 */
class SipModuleParametersTest {
    static final int PHONE = ip("10.0.1.2");
    static final int PROXY = ip("10.0.2.2");
    static final int OTHER = ip("10.0.2.22");

    Conntrack table;
    int verdict;

    void host(String parameters) throws Exception {
        Host host = HostFile.parseRunning("router", """
                link add eth0
                addr add 10.0.1.1/24 dev eth0
                link add eth1
                addr add 10.0.2.1/24 dev eth1
                """ + (parameters.isEmpty() ? "" : "modprobe nf_conntrack_sip " + parameters + "\n"));
        table = new Conntrack(host);
    }

    /** A forwarded packet: conntrack at PREROUTING, the helper at POSTROUTING by the device towards {@code dst}. */
    PacketContext forward(int src, int dst, int sport, int dport, String text, double seconds, boolean template) {
        MemorySegment packet = SipHelperTest.udp(src, dst, sport, dport, text);
        PacketContext pkt = Packets.load(packet);
        pkt.nowNanos(Path.seconds(seconds));
        pkt.host(table.host());
        if (template) {
            pkt.conntrack(Connection.template(0, false, "sip"), CtInfo.NEW);
        }
        verdict = table.in(pkt, Hook.PREROUTING);
        if (verdict == Verdict.ACCEPT) {
            pkt.hook(Hook.POSTROUTING);
            pkt.outInterface((dst >>> 8 & 0xFF) == 1 ? "eth0" : "eth1");
            verdict = table.confirm(pkt);
        }
        return pkt;
    }

    List<String> expected(double seconds) {
        return table.expectations(Path.seconds(seconds)).stream()
                .map(e -> Tuple.address(Family.IPV4, 0, e.srcLo & e.srcMaskLo) + "->"
                        + Tuple.address(Family.IPV4, 0, e.dstLo) + ":" + e.destinationPort())
                .sorted().toList();
    }

    static Stream<Arguments> calls() {
        return Stream.of(
                Arguments.of("defaults: the phone's own address, from the proxy only", "", List.of(
                        "10.0.1.2:4000<-10.0.2.2", "10.0.1.2:4001<-10.0.2.2", "10.0.2.2:5004<-10.0.1.2",
                        "10.0.2.2:5005<-10.0.1.2")),
                Arguments.of("sip_direct_media=0: every address named, from anywhere", "sip_direct_media=0", List.of(
                        "10.0.1.2:4000<-0.0.0.0", "10.0.1.2:4001<-0.0.0.0", "10.0.2.22:4002<-0.0.0.0",
                        "10.0.2.22:4003<-0.0.0.0", "10.0.2.2:5004<-0.0.0.0", "10.0.2.2:5005<-0.0.0.0",
                        "10.9.0.1:4004<-0.0.0.0", "10.9.0.1:4005<-0.0.0.0")),
                Arguments.of("sip_external_media=1: not what the signalling's device reaches (unrouted is expected)",
                        "sip_direct_media=0 sip_external_media=1", List.of("10.0.1.2:4000<-0.0.0.0",
                                "10.0.1.2:4001<-0.0.0.0", "10.0.2.2:5004<-0.0.0.0", "10.0.2.2:5005<-0.0.0.0",
                                "10.9.0.1:4004<-0.0.0.0", "10.9.0.1:4005<-0.0.0.0")),
                Arguments.of("sip_external_media=1 under sip_direct_media=1: no effect", "sip_external_media=1",
                        List.of("10.0.1.2:4000<-10.0.2.2", "10.0.1.2:4001<-10.0.2.2", "10.0.2.2:5004<-10.0.1.2",
                                "10.0.2.2:5005<-10.0.1.2")));
    }

    /**
     * An INVITE offering audio at the phone, video at 10.0.2.22 (behind the proxy's device) and an image stream at
     * the unrouted 10.9.0.1, and the proxy's 200 with audio at itself.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("calls")
    void mediaExpectationsFollowSipDirectMediaAndSipExternalMedia(String name, String parameters,
            List<String> expectations) throws Exception {
        host(parameters);
        forward(PHONE, PROXY, 5060, 5060, SipHelperTest.request("INVITE", 1, "10.0.1.2", SipHelperTest.sdp("10.0.1.2",
                "m=audio 4000 RTP/AVP 0", "m=video 4002 RTP/AVP 31", "c=IN IP4 10.0.2.22", "m=image 4004 udptl t38",
                "c=IN IP4 10.9.0.1")), 0, true);
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        forward(PROXY, PHONE, 5060, 5060, SipHelperTest.response("200 OK", 1, "INVITE", SipHelperTest.sdp("10.0.2.2",
                "m=audio 5004 RTP/AVP 0")), 1, false);
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(expected(1).stream().map(SipModuleParametersTest::flip).sorted().toList())
                .isEqualTo(expectations.stream().sorted().toList());
    }

    /**
     * An INVITE to the router itself (helper at INPUT): the device sip_external_media compares with is the
     * loopback, so media behind the receiving device is expected and media at the router's own address is not
     * (as Linux 6.18 in a netns).
     */
    @org.junit.jupiter.api.Test
    void externalMediaOfAMessageToTheHostItselfSkipsOnlyItsOwnAddresses() throws Exception {
        host("sip_direct_media=0 sip_external_media=1");
        PacketContext pkt = Packets.load(SipHelperTest.udp(PROXY, ip("10.0.2.1"), 5060, 5060,
                SipHelperTest.request("INVITE", 1, "10.0.2.2", SipHelperTest.sdp("10.0.2.22", "m=audio 4000 RTP/AVP 0",
                        "m=video 4002 RTP/AVP 31", "c=IN IP4 10.0.1.2", "m=image 4004 udptl t38",
                        "c=IN IP4 10.0.2.1"))));
        pkt.nowNanos(Path.seconds(0));
        pkt.host(table.host());
        pkt.conntrack(Connection.template(0, false, "sip"), CtInfo.NEW);
        assertThat(table.in(pkt, Hook.PREROUTING)).isEqualTo(Verdict.ACCEPT);
        pkt.hook(Hook.INPUT);
        pkt.inInterface("eth1");
        assertThat(table.confirm(pkt)).isEqualTo(Verdict.ACCEPT);
        assertThat(expected(0)).containsExactly("0.0.0.0->10.0.1.2:4002", "0.0.0.0->10.0.1.2:4003",
                "0.0.0.0->10.0.2.22:4000", "0.0.0.0->10.0.2.22:4001");
    }

    /** "a->b:p" as "b:p<-a", the form the table above reads best in. */
    private static String flip(String e) {
        int arrow = e.indexOf("->");
        return e.substring(arrow + 2) + "<-" + e.substring(0, arrow);
    }

    static Stream<Arguments> registrations() {
        return Stream.of(Arguments.of("sip_direct_signalling=1: the registrar's calls only", "", CtInfo.NEW),
                Arguments.of("sip_direct_signalling=0: a call to the Contact from anywhere", "sip_direct_signalling=0",
                        CtInfo.RELATED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("registrations")
    void aRegisteredContactIsCalledFromWhereSipDirectSignallingSays(String name, String parameters, int ctinfo)
            throws Exception {
        host(parameters);
        forward(PHONE, PROXY, 5060, 5060, SipHelperTest.register(1, "<sip:alice@10.0.1.2:5062>", "Expires: 600\r\n"),
                0, true);
        forward(PROXY, PHONE, 5060, 5060, SipHelperTest.registerOk(1, "<sip:alice@10.0.1.2:5062>;expires=300"), 1,
                false);
        PacketContext call = forward(OTHER, PHONE, 5070, 5062, SipHelperTest.request("INVITE", 1, "10.0.2.22", ""), 2,
                false);
        assertThat(call.ctInfo()).isEqualTo(ctinfo);
    }

    static Stream<Arguments> timeouts() {
        return Stream.of(Arguments.of("", 3600L), Arguments.of("sip_timeout=600", 600L),
                Arguments.of("sip_timeout=0x3c", 60L));
    }

    @ParameterizedTest(name = "{0} -> {1} s")
    @MethodSource("timeouts")
    void theCallsTimeoutIsSipTimeoutAfterEachMessage(String parameters, long seconds) throws Exception {
        host(parameters);
        PacketContext invite = forward(PHONE, PROXY, 5060, 5060, SipHelperTest.request("OPTIONS", 1, "10.0.1.2", ""),
                0, true);
        forward(PROXY, PHONE, 5060, 5060, SipHelperTest.response("200 OK", 1, "OPTIONS", ""), 5, false);
        assertThat(invite.conntrack().secondsLeft(Path.seconds(5))).isEqualTo(seconds);
    }
}
