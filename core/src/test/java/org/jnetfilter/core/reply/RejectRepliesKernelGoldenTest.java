package org.jnetfilter.core.reply;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * REJECT's replies compared byte for byte with what Linux sent for the same packets
 * (resources/reply/kernel-replies.txt, recorded by tools/replies/record.sh with the rules of
 * tools/replies/rules.v4 and rules.v6). Fields the kernel draws at random are compared by rule: the IPv4 ID
 * of ICMP errors (any value; the header checksum must then be valid), the IPv6 flow label of ICMPv6 errors
 * (20 bits), and the TCP checksum of resets, which the kernel leaves to the device (its capture holds the
 * pseudo-header sum): ours must be the complete, valid checksum.
 */
class RejectRepliesKernelGoldenTest {
    static final Map<String, KernelRecording.Probe> PROBES = KernelRecording.probes();

    /** Probe name, the reject_with of the rule the probe hit (-1: a rule the test does not need). */
    static Stream<Arguments> rejectedProbes() {
        return Stream.of(
                Arguments.of("v4-tcp-syn-reset", RejectReplies.IPT_TCP_RESET),
                Arguments.of("v4-tcp-ack-data-reset", RejectReplies.IPT_TCP_RESET),
                Arguments.of("v4-tcp-fin-reset", RejectReplies.IPT_TCP_RESET),
                Arguments.of("v4-tcp-rst-no-reply", RejectReplies.IPT_TCP_RESET),
                Arguments.of("v4-tcp-bad-checksum-no-reply", RejectReplies.IPT_TCP_RESET),
                Arguments.of("v4-udp-port-unreach", RejectReplies.IPT_ICMP_PORT_UNREACHABLE),
                Arguments.of("v4-udp-port-unreach-large", RejectReplies.IPT_ICMP_PORT_UNREACHABLE),
                Arguments.of("v4-with-net-unreach", RejectReplies.IPT_ICMP_NET_UNREACHABLE),
                Arguments.of("v4-with-host-unreach", RejectReplies.IPT_ICMP_HOST_UNREACHABLE),
                Arguments.of("v4-with-proto-unreach", RejectReplies.IPT_ICMP_PROT_UNREACHABLE),
                Arguments.of("v4-with-net-prohib", RejectReplies.IPT_ICMP_NET_PROHIBITED),
                Arguments.of("v4-with-host-prohib", RejectReplies.IPT_ICMP_HOST_PROHIBITED),
                Arguments.of("v4-with-admin-prohib", RejectReplies.IPT_ICMP_ADMIN_PROHIBITED),
                Arguments.of("v4-with-port-unreach", RejectReplies.IPT_ICMP_PORT_UNREACHABLE),
                Arguments.of("v4-udp-zero-checksum", RejectReplies.IPT_ICMP_PORT_UNREACHABLE),
                Arguments.of("v4-udp-bad-checksum-no-reply", RejectReplies.IPT_ICMP_PORT_UNREACHABLE),
                Arguments.of("v4-icmp-echo", RejectReplies.IPT_ICMP_PORT_UNREACHABLE),
                Arguments.of("v4-icmp-error-no-reply", RejectReplies.IPT_ICMP_PORT_UNREACHABLE),
                Arguments.of("v4-gre-proto", RejectReplies.IPT_ICMP_PORT_UNREACHABLE),
                Arguments.of("v4-udp-options", RejectReplies.IPT_ICMP_PORT_UNREACHABLE),
                Arguments.of("v6-tcp-syn-reset", RejectReplies.IP6T_TCP_RESET),
                Arguments.of("v6-tcp-ack-reset", RejectReplies.IP6T_TCP_RESET),
                Arguments.of("v6-tcp-rst-no-reply", RejectReplies.IP6T_TCP_RESET),
                Arguments.of("v6-udp-port-unreach", RejectReplies.IP6T_ICMP6_PORT_UNREACH),
                Arguments.of("v6-udp-port-unreach-large", RejectReplies.IP6T_ICMP6_PORT_UNREACH),
                Arguments.of("v6-udp-no-route", RejectReplies.IP6T_ICMP6_NO_ROUTE),
                Arguments.of("v6-udp-adm-prohibited", RejectReplies.IP6T_ICMP6_ADM_PROHIBITED),
                Arguments.of("v6-udp-addr-unreach", RejectReplies.IP6T_ICMP6_ADDR_UNREACH),
                Arguments.of("v6-udp-policy-fail", RejectReplies.IP6T_ICMP6_POLICY_FAIL),
                Arguments.of("v6-udp-reject-route", RejectReplies.IP6T_ICMP6_REJECT_ROUTE),
                Arguments.of("v6-udp-ext-headers", RejectReplies.IP6T_ICMP6_PORT_UNREACH),
                Arguments.of("v6-udp-first-fragment", RejectReplies.IP6T_ICMP6_PORT_UNREACH),
                Arguments.of("v6-icmp-echo", RejectReplies.IP6T_ICMP6_PORT_UNREACH),
                Arguments.of("v6-icmp-error-no-reply", RejectReplies.IP6T_ICMP6_PORT_UNREACH));
    }

    static PacketContext incoming(byte[] datagram) {
        PacketContext pkt = new PacketContext();
        MemorySegment s = KernelRecording.at(14, datagram);
        if ((datagram[0] >> 4) == 4) {
            pkt.ipv4(s, 14);
        } else {
            pkt.ipv6(s, 14);
        }
        return pkt.inInterface("a0").hook(Hook.INPUT).random(new SplittableRandom(7));
    }

    static RejectReplies unlimited() {
        IcmpErrors icmp = new IcmpErrors(KernelRecording.firewall(), 1)
                .sysctl("net.ipv4.icmp_ratelimit", 0).sysctl("net.ipv6.icmp.ratelimit", 0);
        return new RejectReplies(icmp);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejectedProbes")
    void repliesAsLinuxDid(String probe, int rejectWith) {
        compare(PROBES, probe, rejectWith);
    }

    /** The reply to {@code probe} of {@code probes} equals what Linux sent, by the class comment's rules. */
    static void compare(Map<String, KernelRecording.Probe> probes, String probe, int rejectWith) {
        KernelRecording.Probe p = probes.get(probe);
        assertThat(p).as("probe %s recorded", probe).isNotNull();
        Reply reply = unlimited().reply(incoming(p.sent().get(0)), rejectWith);
        if (p.received().isEmpty()) {
            assertThat(reply).as("Linux sent nothing").isNull();
            return;
        }
        assertThat(reply).as("Linux sent a reply").isNotNull();
        byte[] ours = reply.datagram().toArray(ValueLayout.JAVA_BYTE);
        byte[] linux = p.received().get(0).clone();
        assertThat(reply.route().dev()).isEqualTo("a0");
        if ((linux[0] >> 4) == 4) {
            compareIpv4(ours, linux);
        } else {
            compareIpv6(ours, linux);
        }
        assertThat(HexFormat.of().formatHex(ours)).isEqualTo(HexFormat.of().formatHex(linux));
    }

    /** Copies the kernel-random fields of ours into linux's copy after checking them by rule. */
    private static void compareIpv4(byte[] ours, byte[] linux) {
        MemorySegment o = MemorySegment.ofArray(ours);
        assertThat(Checksums.ipv4HeaderValid(o, 0)).as("IPv4 header checksum").isTrue();
        if (linux[9] == Checksums.PROTO_ICMP) {
            // the ID is drawn per destination by ip_select_ident: any value, the checksum follows it
            System.arraycopy(ours, 4, linux, 4, 2);
            System.arraycopy(ours, 10, linux, 10, 2);
        } else {
            int n = ours.length - 20;
            assertThat(Checksums.tcpV4Valid(o, 20, n, o.get(IcmpErrors.U32, 12), o.get(IcmpErrors.U32, 16)))
                    .as("complete TCP checksum").isTrue();
            System.arraycopy(ours, 36, linux, 36, 2);
        }
    }

    private static void compareIpv6(byte[] ours, byte[] linux) {
        MemorySegment o = MemorySegment.ofArray(ours);
        if (linux[6] == Checksums.PROTO_ICMPV6) {
            int label = o.get(IcmpErrors.U32, 0) & 0xFFFFF;
            int linuxLabel = MemorySegment.ofArray(linux).get(IcmpErrors.U32, 0) & 0xFFFFF;
            assertThat(linuxLabel).as("Linux set an automatic flow label").isNotZero();
            assertThat(Checksums.icmpv6Valid(o, 0, 40, ours.length - 40)).as("ICMPv6 checksum").isTrue();
            // the flow label is a keyed hash of the flow, so the ICMPv6 checksum does not depend on it
            linux[1] = ours[1];
            linux[2] = ours[2];
            linux[3] = ours[3];
            assertThat(label >>> 20).isZero();
        } else {
            assertThat(Checksums.tcpV6Valid(o, 0, 40, ours.length - 40)).as("complete TCP checksum").isTrue();
            System.arraycopy(ours, 56, linux, 56, 2);
        }
    }

    @Test
    void tenRejectedUdpPacketsWithinASecondGetSixPortUnreachablesThenOneASecond() {
        compareRateLimits(PROBES, true);
    }

    /**
     * The replies to the recording's rate-limit probes, counted: Linux's counts, 6 then 1, and 6 for IPv6.
     * Not {@code strict}: on a busy machine the ten IPv6 packets may take longer than the 24 ms bucket's
     * step, so Linux may have answered a seventh.
     */
    static void compareRateLimits(Map<String, KernelRecording.Probe> probes, boolean strict) {
        IcmpErrors icmp = new IcmpErrors(KernelRecording.firewall(), 1);
        RejectReplies replies = new RejectReplies(icmp);
        long t0 = 5_000_000_000L;
        assertThat(countReplies(replies, probes.get("v4-ratelimit-10-udp"), t0))
                .isEqualTo(probes.get("v4-ratelimit-10-udp").received().size()).isEqualTo(6);
        KernelRecording.Probe later = probes.get("v4-ratelimit-after-1s-10-udp");
        assertThat(countReplies(replies, later, t0 + 1_020_000_000L))
                .isEqualTo(later.received().size()).isEqualTo(1);
        RejectReplies replies6 = new RejectReplies(new IcmpErrors(KernelRecording.firewall(), 1));
        // the /64 route shortens the 100 ms bucket to 24 ms (6 jiffies): six within a burst
        KernelRecording.Probe p = probes.get("v6-ratelimit-10-udp");
        assertThat(countReplies(replies6, p, 5_000_000_000L)).isEqualTo(6);
        assertThat(p.received().size()).isBetween(6, strict ? 6 : 7);
    }

    /** The probe's packets 100 µs apart; how many replies. */
    private static int countReplies(RejectReplies replies, KernelRecording.Probe p, long start) {
        List<Reply> sent = new ArrayList<>();
        long t = start;
        for (byte[] d : p.sent()) {
            PacketContext pkt = incoming(d).nowNanos(t);
            int with = (d[0] >> 4) == 4 ? RejectReplies.IPT_ICMP_PORT_UNREACHABLE : RejectReplies.IP6T_ICMP6_PORT_UNREACH;
            Reply r = replies.reply(pkt, with);
            if (r != null) {
                sent.add(r);
            }
            t += 100_000;
        }
        return sent.size();
    }
}
