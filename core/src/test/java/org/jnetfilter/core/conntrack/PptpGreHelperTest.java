package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.nio.ByteBuffer;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.testkit.PptpMessages;
import org.junit.jupiter.api.Test;

/**
 * The pptp helper and the enhanced-GRE keys it gives (KernelConntrackHelpersDifferentialTest in the iptables module
 * runs the same sessions against Linux): a control connection from the PNS (client) to the PAC (server) port 1723.
 */
class PptpGreHelperTest {
    static final int PNS = ConntrackHelpersTest.CLIENT;
    static final int PAC = ConntrackHelpersTest.SERVER;
    final DccSaneAmandaNetbiosHelpersTest control = new DccSaneAmandaNetbiosHelpersTest();
    final Conntrack table = control.path.table;

    static String message(int type, int bodyLength, int... body) {
        return PptpMessages.control(type, bodyLength, body);
    }

    PacketContext pns(String data) {
        return control.send(true, 40060, 1723, data, 1);
    }

    PacketContext pac(String data) {
        return control.send(false, 40060, 1723, data, 1);
    }

    PacketContext gre(int src, int dst, int callId, double t) {
        byte[] g = ByteBuffer.allocate(12).putShort((short) 0x2001).putShort((short) 0x880B).putShort((short) 4)
                .putShort((short) callId).putInt(0xFF030021).array();
        return control.path.forward(Packets.ipv4(src, dst, 47, g), t, null);
    }

    /** The session set up and an outgoing call from PNS call id 0x1234 answered by PAC call id 0x5678. */
    Connection outgoingCall() {
        Connection c = control.connect(40060, 1723, "pptp");
        pns(message(1, 144, 1, 0));
        pac(message(2, 144, 1, 0, 1));
        pns(message(7, 156, 0x12, 0x34));
        pac(message(8, 20, 0x56, 0x78, 0x12, 0x34, 1));
        return c;
    }

    @Test
    void outgoingCallReplyExpectsTheGreFlowsEachWayKeyedByTheCallIds() {
        outgoingCall();
        assertThat(table.listExpectations(Family.IPV4, Path.seconds(1))).isEqualTo(
                "300 proto=47 src=10.0.1.2 dst=10.0.2.2 srckey=0x1234 dstkey=0x5678 mask-src=255.255.255.255 "
                        + "mask-dst=255.255.255.255 srckey=0xffff dstkey=0xffff master-src=10.0.1.2 master-dst=10.0.2.2 "
                        + "sport=40060 dport=1723 class=0 helper=pptp\n"
                        + "300 proto=47 src=10.0.2.2 dst=10.0.1.2 srckey=0x5678 dstkey=0x1234 mask-src=255.255.255.255 "
                        + "mask-dst=255.255.255.255 srckey=0xffff dstkey=0xffff master-src=10.0.1.2 master-dst=10.0.2.2 "
                        + "sport=40060 dport=1723 class=0 helper=pptp\n");
    }

    @Test
    void theFirstGreFlowTakesItsKeysFromTheKeymapAndRemovesTheOtherExpectation() {
        outgoingCall();
        PacketContext first = gre(PNS, PAC, 0x5678, 2);
        assertThat(first.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat(first.conntrack().original().sourceId()).as("the PNS's call id, from the keymap").isEqualTo(0x1234);
        assertThat(table.expectations(Path.seconds(2))).as("its reply was the other expectation").isEmpty();
        PacketContext back = gre(PAC, PNS, 0x1234, 2);
        assertThat(back.ctInfo()).isEqualTo(CtInfo.ESTABLISHED_REPLY);
        assertThat(back.conntrack()).isSameAs(first.conntrack());
        gre(PNS, PAC, 0x5678, 2);
        assertThat(first.conntrack().listLine(Path.seconds(2))).as("replied: the stream timeout, ASSURED").isEqualTo("gre      47 180 src=10.0.1.2 dst=10.0.2.2 "
                + "srckey=0x1234 dstkey=0x5678 src=10.0.2.2 dst=10.0.1.2 srckey=0x5678 dstkey=0x1234 [ASSURED] mark=0 use=1");
    }

    @Test
    void callDisconnectKillsTheGreFlowAndDropsTheKeymap() {
        outgoingCall();
        Connection flow = gre(PNS, PAC, 0x5678, 2).conntrack();
        pns(message(12, 4, 0x12, 0x34));
        pac(message(13, 136, 0x56, 0x78, 3));
        assertThat(table.connections(Path.seconds(3))).doesNotContain(flow);
        PacketContext after = gre(PNS, PAC, 0x5678, 3);
        assertThat(after.ctInfo()).isEqualTo(CtInfo.NEW);
        assertThat(after.conntrack().original().sourceId()).as("no keymap: source key 0").isZero();
    }

    @Test
    void messagesOutOfOrderOrShortAreIgnored() {
        control.connect(40060, 1723, "pptp");
        pns(message(7, 156, 0x12, 0x34));
        pac(message(8, 20, 0x56, 0x78, 0x12, 0x34, 1));
        assertThat(table.expectations(Path.seconds(1))).as("no session").isEmpty();
        pns(message(1, 144, 1, 0));
        pac(message(2, 143, 1, 0, 1));
        pns(message(7, 156, 0x12, 0x34));
        pac(message(8, 20, 0x56, 0x78, 0x12, 0x34, 1));
        assertThat(table.expectations(Path.seconds(1))).as("the start reply was short").isEmpty();
        pac(message(2, 144, 1, 0, 1));
        pns(message(7, 156, 0x12, 0x34));
        pac(message(8, 20, 0x56, 0x78, 0x12, 0x35, 1));
        assertThat(table.expectations(Path.seconds(1))).as("the reply names another PNS call").isEmpty();
        pac(message(8, 20, 0x56, 0x78, 0x12, 0x34, 2));
        assertThat(table.expectations(Path.seconds(1))).as("the call was refused").isEmpty();
    }

    @Test
    void anIcmpErrorQuotingAGrePacketIsRelatedToItsFlowByTheKeymapsKeys() {
        outgoingCall();
        Connection flow = gre(PNS, PAC, 0x5678, 2).conntrack();
        byte[] g = ByteBuffer.allocate(12).putShort((short) 0x2001).putShort((short) 0x880B).putShort((short) 4)
                .putShort((short) 0x5678).putInt(0xFF030021).array();
        byte[] error = Packets.icmpError(3, 1, Packets.ipv4(PNS, PAC, 47, g), 28);
        PacketContext p = control.path.forward(Packets.ipv4(ip("10.0.2.254"), PNS, 1, error), 3, null);
        assertThat(p.ctInfo()).isEqualTo(CtInfo.RELATED_REPLY);
        assertThat(p.conntrack()).isSameAs(flow);
    }

    @Test
    void enhancedGreWithoutPppGetsNoEntry() {
        byte[] g = ByteBuffer.allocate(8).putShort((short) 0x2001).putShort((short) 0x0800).putShort((short) 0)
                .putShort((short) 7).array();
        PacketContext p = control.path.forward(Packets.ipv4(PNS, PAC, 47, g), 0, null);
        assertThat(p.conntrack()).isNull();
    }
}
