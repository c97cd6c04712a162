package org.jnetfilter.core.reply;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.api.Test;

/** REJECT in FORWARD and OUTPUT, where the reply's source and route differ from INPUT's. */
class RejectRepliesTest {
    /** TCP SYN src -> dst, ports 40000 -> 80, sequence 100, valid checksums. */
    static byte[] syn(String src, String dst) {
        byte[] b = new byte[40];
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x45);
        s.set(IcmpErrors.U16, 2, (short) 40);
        s.set(IcmpErrors.U16, 6, (short) 0x4000);
        s.set(ValueLayout.JAVA_BYTE, 8, (byte) 64);
        s.set(ValueLayout.JAVA_BYTE, 9, (byte) 6);
        int from = (int) IpAddress.parse(src).lo();
        int to = (int) IpAddress.parse(dst).lo();
        s.set(IcmpErrors.U32, 12, from);
        s.set(IcmpErrors.U32, 16, to);
        s.set(IcmpErrors.U16, 10, (short) Checksums.ipv4Header(s, 0));
        s.set(IcmpErrors.U32, 20, 40000 << 16 | 80);
        s.set(IcmpErrors.U32, 24, 100);
        s.set(ValueLayout.JAVA_BYTE, 32, (byte) 0x50);
        s.set(ValueLayout.JAVA_BYTE, 33, (byte) 0x02);
        s.set(IcmpErrors.U16, 36, (short) Checksums.tcpV4(s, 20, 20, from, to));
        return b;
    }

    static String addresses(Reply r) {
        return HexFormat.of().formatHex(r.datagram().toArray(ValueLayout.JAVA_BYTE), 12, 20);
    }

    @Test
    void aForwardedConnectionIsResetInTheNameOfItsDestinationBackThroughTheIngress() {
        RejectReplies replies = new RejectReplies(new IcmpErrors(IcmpErrorsTest.router(), 1));
        PacketContext pkt = new PacketContext().ipv4(MemorySegment.ofArray(syn("10.0.1.2", "10.0.2.9")), 0)
                .inInterface("eth0").outInterface("eth1").hook(Hook.FORWARD).random(new SplittableRandom(1));
        Reply rst = replies.reply(pkt, RejectReplies.IPT_TCP_RESET);
        assertThat(addresses(rst)).isEqualTo("0a0002090a000102");
        assertThat(rst.route().dev()).isEqualTo("eth0");
        assertThat(rst.datagram().get(IcmpErrors.U32, 28)).as("ack = seq + SYN").isEqualTo(101);
        Reply unreachable = replies.reply(pkt, RejectReplies.IPT_ICMP_HOST_PROHIBITED);
        assertThat(addresses(unreachable)).as("from the address toward the source").isEqualTo("0a0001010a000102");
        assertThat(unreachable.datagram().get(ValueLayout.JAVA_BYTE, 21)).isEqualTo((byte) 10);
    }

    @Test
    void aLocallyGeneratedPacketRejectedInOutputIsAnsweredThroughLoopbackWithoutLimit() {
        RejectReplies replies = new RejectReplies(new IcmpErrors(IcmpErrorsTest.router(), 1));
        for (int i = 0; i < 20; i++) {
            PacketContext pkt = new PacketContext().ipv4(MemorySegment.ofArray(syn("10.0.2.1", "10.0.2.9")), 0)
                    .outInterface("eth1").hook(Hook.OUTPUT).random(new SplittableRandom(1));
            Reply r = replies.reply(pkt, RejectReplies.IPT_ICMP_PORT_UNREACHABLE);
            assertThat(r).isNotNull();
            assertThat(addresses(r)).isEqualTo("0a0002010a000201");
            assertThat(r.route().dev()).isEqualTo("lo");
        }
    }

    @Test
    void anUnknownRejectWithSendsNothing() {
        RejectReplies replies = new RejectReplies(new IcmpErrors(IcmpErrorsTest.router(), 1));
        PacketContext pkt = new PacketContext().ipv4(MemorySegment.ofArray(syn("10.0.1.2", "10.0.2.9")), 0)
                .inInterface("eth0").hook(Hook.FORWARD);
        assertThat(replies.reply(pkt, 4)).isNull();
        assertThat(replies.reply(pkt, -1)).isNull();
    }
}
