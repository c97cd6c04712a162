package org.jnetfilter.core.reply;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.Link;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The rules of __icmp_send and icmp6_send the recordings do not reach: which originals get no error, where
 * the source comes from, how much is quoted, the limits of each kind of message.
 */
class IcmpErrorsTest {
    static final long MS = 1_000_000L;

    /** A router: eth0 10.0.1.1/24 (the sender's side), eth1 10.0.2.1/24 mtu 1400, lo; fd00:1::1/64 on eth0. */
    static Host router() {
        Host h = new Host();
        h.addLink("eth0", Link.parseMac("02:00:00:00:00:01"), 1500);
        h.addLink("eth1", Link.parseMac("02:00:00:00:00:02"), 1400);
        h.setUp("eth0", true);
        h.setUp("eth1", true);
        h.addAddress("eth0", IpAddress.parse("10.0.1.1"), 24);
        h.addAddress("eth1", IpAddress.parse("10.0.2.1"), 24);
        h.addAddress("eth0", IpAddress.parse("fd00:1::1"), 64);
        h.sysctl("net.ipv4.ip_forward", "1");
        return h;
    }

    /** UDP 10.0.1.2:1000 -> dst:2000 with {@code payload} bytes; {@code fragOff} the flags/offset word. */
    static byte[] udp4(String dst, int fragOff, int tos, int payload) {
        byte[] b = new byte[28 + payload];
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x45);
        s.set(ValueLayout.JAVA_BYTE, 1, (byte) tos);
        s.set(IcmpErrors.U16, 2, (short) b.length);
        s.set(IcmpErrors.U16, 6, (short) fragOff);
        s.set(ValueLayout.JAVA_BYTE, 8, (byte) 64);
        s.set(ValueLayout.JAVA_BYTE, 9, (byte) 17);
        s.set(IcmpErrors.U32, 12, (int) IpAddress.parse("10.0.1.2").lo());
        s.set(IcmpErrors.U32, 16, (int) IpAddress.parse(dst).lo());
        s.set(IcmpErrors.U16, 10, (short) Checksums.ipv4Header(s, 0));
        s.set(IcmpErrors.U32, 20, 1000 << 16 | 2000);
        return b;
    }

    static PacketContext forwarded(byte[] datagram) {
        return new PacketContext().ipv4(MemorySegment.ofArray(datagram), 0).inInterface("eth0").outInterface("eth1")
                .hook(Hook.FORWARD).random(new SplittableRandom(1)).nowNanos(10_000 * MS);
    }

    static Stream<Arguments> noError() {
        return Stream.<Arguments>of(
                Arguments.of("a frame to another host's link address",
                        (Consumer<PacketContext>) p -> p.packetType(PacketContext.PACKET_OTHERHOST), udp4("10.0.2.9", 0, 0, 8)),
                Arguments.of("a link-layer broadcast",
                        (Consumer<PacketContext>) p -> p.packetType(PacketContext.PACKET_BROADCAST), udp4("10.0.2.9", 0, 0, 8)),
                Arguments.of("a subnet broadcast", (Consumer<PacketContext>) p -> { }, udp4("10.0.2.255", 0, 0, 8)),
                Arguments.of("a multicast group", (Consumer<PacketContext>) p -> { }, udp4("239.1.1.1", 0, 0, 8)),
                Arguments.of("a non-first fragment", (Consumer<PacketContext>) p -> { }, udp4("10.0.2.9", 0x2001, 0, 8)));
    }

    @ParameterizedTest(name = "no error about {0}")
    @MethodSource("noError")
    void noErrorAbout(String what, Consumer<PacketContext> setup, byte[] datagram) {
        PacketContext pkt = forwarded(datagram);
        setup.accept(pkt);
        IcmpErrors icmp = new IcmpErrors(router(), 1);
        assertThat(icmp.icmpSend(pkt, IcmpErrors.ICMP_TIME_EXCEEDED, IcmpErrors.ICMP_EXC_TTL, 0)).isNull();
    }

    @Test
    void noErrorAboutAnIcmpErrorNorAnUnknownIcmpTypeButOneAboutAnEcho() {
        IcmpErrors icmp = new IcmpErrors(router(), 1);
        for (int inner : new int[] {3, 4, 5, 11, 12, 19, 200}) {
            byte[] d = udp4("10.0.2.9", 0, 0, 8);
            d[9] = 1;
            d[20] = (byte) inner;
            assertThat(icmp.icmpSend(forwarded(d), IcmpErrors.ICMP_TIME_EXCEEDED, 0, 0)).as("type %d", inner).isNull();
        }
        byte[] echo = udp4("10.0.2.9", 0, 0, 8);
        echo[9] = 1;
        echo[20] = 8;
        assertThat(icmp.icmpSend(forwarded(echo), IcmpErrors.ICMP_TIME_EXCEEDED, 0, 0)).isNotNull();
    }

    @Test
    void aForwardedPacketsErrorComesFromTheAddressTowardItsSourceOrTheInboundOneWhenAsked() {
        byte[] d = udp4("10.0.2.9", 0, 0x1d, 8);
        Reply r = new IcmpErrors(router(), 1).icmpSend(forwarded(d), IcmpErrors.ICMP_TIME_EXCEEDED, 0, 0);
        assertThat(HexFormat.of().formatHex(r.datagram().toArray(ValueLayout.JAVA_BYTE), 12, 20))
                .isEqualTo("0a0001010a000102");
        // RT_TOS(0x1d) | IPTOS_PREC_INTERNETCONTROL; TTL ip_default_ttl; no DF
        assertThat(r.datagram().get(ValueLayout.JAVA_BYTE, 1)).isEqualTo((byte) 0xDC);
        assertThat(r.datagram().get(ValueLayout.JAVA_BYTE, 8)).isEqualTo((byte) 64);
        assertThat(r.datagram().get(IcmpErrors.U16, 6)).isZero();
        assertThat(r.route().dev()).isEqualTo("eth0");
        // arrived on eth1 (an asymmetric path): the route back still says 10.0.1.1; with
        // icmp_errors_use_inbound_ifaddr the address of eth1, the device it came in by
        PacketContext asymmetric = forwarded(d).inInterface("eth1").outInterface("eth0");
        Reply viaRoute = new IcmpErrors(router(), 1).icmpSend(asymmetric, IcmpErrors.ICMP_TIME_EXCEEDED, 0, 0);
        assertThat(viaRoute.datagram().get(IcmpErrors.U32, 12)).isEqualTo((int) IpAddress.parse("10.0.1.1").lo());
        Reply inbound = new IcmpErrors(router(), 1).sysctl("net.ipv4.icmp_errors_use_inbound_ifaddr", 1)
                .icmpSend(forwarded(d).inInterface("eth1"), IcmpErrors.ICMP_TIME_EXCEEDED, 0, 0);
        assertThat(inbound.datagram().get(IcmpErrors.U32, 12)).isEqualTo((int) IpAddress.parse("10.0.2.1").lo());
    }

    @Test
    void theQuoteStopsAt576BytesOrTheRoutesMtu() {
        Host h = router();
        IcmpErrors icmp = new IcmpErrors(h, 1);
        Reply big = icmp.icmpSend(forwarded(udp4("10.0.2.9", 0, 0, 1400)), IcmpErrors.ICMP_DEST_UNREACH,
                IcmpErrors.ICMP_FRAG_NEEDED, 1400);
        assertThat(big.length()).isEqualTo(576);
        assertThat(big.datagram().get(IcmpErrors.U32, 24)).isEqualTo(1400);
        assertThat(Checksums.icmpValid(big.datagram(), 20, 556)).isTrue();
        h.setMtu("eth0", 68);
        // room = 68 - 20 - 8 = 40 > 20: 40 bytes quoted; at MTU 48 room would be 20: nothing
        assertThat(new IcmpErrors(h, 1).icmpSend(forwarded(udp4("10.0.2.9", 0, 0, 100)),
                IcmpErrors.ICMP_DEST_UNREACH, IcmpErrors.ICMP_FRAG_NEEDED, 68).length()).isEqualTo(68);
        h.setMtu("eth0", 48);
        assertThat(new IcmpErrors(h, 1).icmpSend(forwarded(udp4("10.0.2.9", 0, 0, 100)),
                IcmpErrors.ICMP_DEST_UNREACH, IcmpErrors.ICMP_FRAG_NEEDED, 48)).isNull();
    }

    @Test
    void fragmentationNeededIsNeverRateLimitedButTimeExceededIsPerSource() {
        IcmpErrors icmp = new IcmpErrors(router(), 1);
        int sent = 0;
        for (int i = 0; i < 20; i++) {
            if (icmp.icmpSend(forwarded(udp4("10.0.2.9", 0, 0, 8)), IcmpErrors.ICMP_DEST_UNREACH,
                    IcmpErrors.ICMP_FRAG_NEEDED, 1400) != null) {
                sent++;
            }
        }
        assertThat(sent).isEqualTo(20);
        int exceeded = 0;
        for (int i = 0; i < 20; i++) {
            if (icmp.icmpSend(forwarded(udp4("10.0.2.9", 0, 0, 8)), IcmpErrors.ICMP_TIME_EXCEEDED, 0, 0) != null) {
                exceeded++;
            }
        }
        assertThat(exceeded).isEqualTo(6);
    }

    @Test
    void packetsThatCameInOnLoopbackAreNotLimited() {
        IcmpErrors icmp = new IcmpErrors(router(), 1);
        int sent = 0;
        for (int i = 0; i < 20; i++) {
            byte[] d = udp4("10.0.1.1", 0, 0, 8);
            // 10.0.1.1 -> 10.0.1.1 through lo: the reply's route is local, through lo as well
            MemorySegment.ofArray(d).set(IcmpErrors.U32, 12, (int) IpAddress.parse("10.0.1.1").lo());
            PacketContext pkt = new PacketContext().ipv4(MemorySegment.ofArray(d), 0).inInterface("lo")
                    .hook(Hook.INPUT).random(new SplittableRandom(1)).nowNanos(10_000 * MS);
            if (icmp.icmpSend(pkt, IcmpErrors.ICMP_DEST_UNREACH, IcmpErrors.ICMP_PORT_UNREACH, 0) != null) {
                sent++;
            }
        }
        assertThat(sent).isEqualTo(20);
    }

    @Test
    void theGlobalBucketHoldsFiftyAndRefillsAtAThousandASecond() {
        IcmpRateLimit limit = new IcmpRateLimit();
        SplittableRandom r = new SplittableRandom(5);
        long t = 1_000_000;
        int allowed = 0;
        for (int i = 0; i < 500; i++) {
            if (limit.globalAllow(t, 1000, 50)) {
                allowed++;
                limit.globalConsume(r);
            }
        }
        // 50 credits spent 0, 1 or 2 at a time: about 50 messages, never 0 or unbounded
        assertThat(allowed).isBetween(30, 90);
        assertThat(limit.globalAllow(t + 4, 1000, 50)).as("HZ/50 = 5 jiffies not yet passed").isFalse();
        assertThat(limit.globalAllow(t + 5, 1000, 50)).isTrue();
    }

    @Test
    void redirectsFollowIpRtSendRedirectsBackoffAndStopAfterNine() {
        IcmpErrors icmp = new IcmpErrors(router(), 1);
        byte[] d = udp4("10.0.1.9", 0, 0, 8);
        int gw = (int) IpAddress.parse("10.0.1.254").lo();
        long t = 10_000 * MS;
        int sent = 0;
        long lastSent = t;
        for (int ms = 0; ms < 20_000; ms += 4) {
            PacketContext pkt = new PacketContext().ipv4(MemorySegment.ofArray(d), 0).inInterface("eth0")
                    .outInterface("eth0").hook(Hook.FORWARD).random(new SplittableRandom(1)).nowNanos(t + ms * MS);
            if (icmp.icmpSend(pkt, IcmpErrors.ICMP_REDIRECT, 1, gw) != null) {
                sent++;
                lastSent = ms;
            }
        }
        // the k-th redirect waits 20 ms << k after the last: the ninth goes at 10.2 s, then none while
        // redirected packets keep coming (each one pushes the 20.48 s of silence further)
        assertThat(sent).isEqualTo(9);
        assertThat(lastSent).isLessThan(11_000);
    }
}
