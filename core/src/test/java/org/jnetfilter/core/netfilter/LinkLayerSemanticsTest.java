package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;

/** mac, eui64, CLASSIFY, TRACE and NOTRACK: what the packet carries beside its headers. */
class LinkLayerSemanticsTest {
    private static final long MAC = 0x0211_2233_4455L;

    private static PacketContext tcp4() {
        return new PacketContext().ipv4(SemanticsPackets.ipv4(6, SemanticsPackets.tcp(0x02)), 0);
    }

    @Test
    void macMatchesTheEthernetSourceAndNeverAPacketWithoutOne() {
        ExtensionData mac = SemanticsPackets.match(Family.IPV4, 6, "mac", "--mac-source", "02:11:22:33:44:55");
        ExtensionData notMac = SemanticsPackets.match(Family.IPV4, 6, "mac", "!", "--mac-source", "02:11:22:33:44:55");
        assertThat(mac.matches(tcp4().macSource(MAC))).isTrue();
        assertThat(notMac.matches(tcp4().macSource(MAC))).isFalse();
        assertThat(mac.matches(tcp4().macSource(MAC + 1))).isFalse();
        // xt_mac: no Ethernet header is no match, '!' or not
        assertThat(mac.matches(tcp4())).isFalse();
        assertThat(notMac.matches(tcp4())).isFalse();
    }

    @Test
    void eui64MatchesASourceAddressMadeFromTheMac() {
        ExtensionData eui = SemanticsPackets.match(Family.IPV6, 6, "eui64");
        MemorySegment p = SemanticsPackets.ipv6(6, SemanticsPackets.tcp(0x02));
        // source 2001:db8::11:22ff:fe33:4455 (bytes 8-23 of the header) is the modified EUI-64 of 02:11:22:33:44:55 (the U/L bit flipped)
        p.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 8,
                0x2001_0db8_0000_0000L);
        p.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 16,
                0x0011_22ff_fe33_4455L);
        PacketContext pkt = new PacketContext().ipv6(p, 0);
        assertThat(eui.matches(pkt.macSource(MAC))).isTrue();
        assertThat(eui.matches(pkt.macSource(MAC ^ 1))).isFalse();
        assertThat(eui.matches(pkt.macSource(-1))).isFalse();
        assertThat(pkt.hotdrop()).isFalse();
    }

    @Test
    void classifySetsThePriorityAndTraceAndNotrackMarkThePacket() {
        PacketContext pkt = tcp4();
        ExtensionData classify = SemanticsPackets.target(Family.IPV4, 6, "CLASSIFY", "--set-class", "1:10");
        assertThat(classify.apply(pkt)).isEqualTo(Verdict.CONTINUE);
        assertThat(pkt.priority()).isEqualTo(0x0001_0010L);
        assertThat(SemanticsPackets.target(Family.IPV4, 6, "TRACE").apply(pkt)).isEqualTo(Verdict.CONTINUE);
        assertThat(pkt.traced()).isTrue();
        assertThat(SemanticsPackets.target(Family.IPV4, 6, "NOTRACK").apply(pkt)).isEqualTo(Verdict.CONTINUE);
        assertThat(pkt.untracked()).isTrue();
        // a new packet starts clean
        PacketContext next = tcp4();
        assertThat(next.priority()).isZero();
        assertThat(next.traced()).isFalse();
        assertThat(next.untracked()).isFalse();
        assertThat(next.macSource()).isEqualTo(-1);
    }
}
