package org.jnetfilter.core.reply;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.jnetfilter.core.defrag.Defrag;
import org.jnetfilter.core.defrag.Fragmenter;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.Link;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A Linux router with conntrack (so nf_defrag) between two namespaces, recorded by
 * tools/replies/record-defrag.sh (resources/reply/kernel-defrag.txt): the fragments sent to it, what it
 * forwarded and what came back. Here the same fragments go through {@link Defrag}, the forwarding step the
 * pipeline performs (TTL / hop limit minus one), the {@link Fragmenter} toward the egress MTU, and
 * {@link IcmpErrors} for the errors. Compared byte for byte; by rule: the IPv6 fragment identification
 * (the kernel draws it), ICMP IPv4 IDs and IPv6 flow labels.
 */
class DefragKernelGoldenTest {
    record Probe(String name, List<byte[]> sent, List<byte[]> forwarded, List<byte[]> back) {
    }

    static final Map<String, Probe> PROBES = probes();

    static Map<String, Probe> probes() {
        return probes(KernelRecording.resource("/reply/kernel-defrag.txt"));
    }

    /** Parses a kernel-defrag.txt recording. */
    static Map<String, Probe> probes(String text) {
        Map<String, Probe> byName = new LinkedHashMap<>();
        Probe p = null;
        for (String line : text.split("\n")) {
            String[] w = line.trim().split(" ", 2);
            switch (w[0]) {
                case "probe" -> byName.put(w[1], p = new Probe(w[1], new ArrayList<>(), new ArrayList<>(), new ArrayList<>()));
                case "sent" -> p.sent().add(HexFormat.of().parseHex(w[1]));
                case "fwd" -> p.forwarded().add(HexFormat.of().parseHex(w[1]));
                case "back" -> p.back().add(HexFormat.of().parseHex(w[1]));
                default -> {
                }
            }
        }
        return byName;
    }

    /** The router: r0 toward the source (10.98.1.1/24, fd98:1::1/64), r1 toward the destination. */
    static Host router(int r1Mtu) {
        Host h = new Host();
        h.addLink("r0", Link.parseMac("02:00:00:00:01:01"), 1500);
        h.addLink("r1", Link.parseMac("02:00:00:00:02:01"), r1Mtu);
        h.setUp("r0", true);
        h.setUp("r1", true);
        h.addAddress("r0", IpAddress.parse("10.98.1.1"), 24);
        h.addAddress("r0", IpAddress.parse("fd98:1::1"), 64);
        h.addAddress("r1", IpAddress.parse("10.98.2.1"), 24);
        h.addAddress("r1", IpAddress.parse("fd98:2::1"), 64);
        h.sysctl("net.ipv4.ip_forward", "1");
        return h;
    }

    static boolean v4(byte[] d) {
        return (d[0] >> 4) == 4;
    }

    /** The fragments through the router's defrag; the reassembled result, if any. */
    static Defrag.Result defrag(Probe p, Defrag defrag) {
        Defrag.Result last = null;
        for (byte[] f : p.sent()) {
            Defrag.Result r = defrag.add(MemorySegment.ofArray(f), 0, f.length, 1_000_000_000L, 0, "r0");
            if (r.outcome() == Defrag.Outcome.REASSEMBLED) {
                return r;
            }
            last = r;
        }
        return last;
    }

    /** ip_forward's ip_decrease_ttl / the hop limit decrement, as the pipeline does after routing. */
    static void forward(MemorySegment d) {
        if ((d.get(ValueLayout.JAVA_BYTE, 0) >> 4) == 4) {
            d.set(ValueLayout.JAVA_BYTE, 8, (byte) (d.get(ValueLayout.JAVA_BYTE, 8) - 1));
            d.set(IcmpErrors.U16, 10, (short) 0);
            d.set(IcmpErrors.U16, 10, (short) Checksums.ipv4Header(d, 0));
        } else {
            d.set(ValueLayout.JAVA_BYTE, 7, (byte) (d.get(ValueLayout.JAVA_BYTE, 7) - 1));
        }
    }

    static Stream<Arguments> forwardedProbes() {
        return Stream.of(Arguments.of("v4-in-order", 1500), Arguments.of("v4-in-order-df", 1500),
                Arguments.of("v4-out-of-order", 1500), Arguments.of("v4-overlap-dropped", 1500),
                Arguments.of("v4-duplicate-ignored", 1500), Arguments.of("v4-egress-mtu-1300", 1300),
                Arguments.of("v6-in-order", 1500), Arguments.of("v6-out-of-order", 1500),
                Arguments.of("v6-overlap-dropped", 1500));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("forwardedProbes")
    void forwardsAsTheRouterDid(String name, int egressMtu) {
        compareForwarded(PROBES, name, egressMtu);
    }

    static void compareForwarded(Map<String, Probe> probes, String name, int egressMtu) {
        Probe p = probes.get(name);
        boolean ipv4 = v4(p.sent().get(0));
        Defrag.Result r = defrag(p, new Defrag(ipv4 ? Family.IPV4 : Family.IPV6));
        if (p.forwarded().isEmpty()) {
            assertThat(r.outcome()).isNotEqualTo(Defrag.Outcome.REASSEMBLED);
            return;
        }
        assertThat(r.outcome()).isEqualTo(Defrag.Outcome.REASSEMBLED);
        forward(r.datagram());
        int id = ipv4 ? 0 : MemorySegment.ofArray(p.forwarded().get(0)).get(IcmpErrors.U32, 44);
        Fragmenter.Output out = Fragmenter.refragment(r, egressMtu, ipv4, id);
        List<String> ours = out.fragments().stream()
                .map(s -> HexFormat.of().formatHex(s.toArray(ValueLayout.JAVA_BYTE))).toList();
        assertThat(ours).containsExactlyElementsOf(p.forwarded().stream().map(HexFormat.of()::formatHex).toList());
    }

    @Test
    void aReassembledDatagramWithDfTooBigForTheEgressGetsFragmentationNeededFromTheIngressAddress() {
        compareFragmentationNeeded(PROBES);
    }

    static void compareFragmentationNeeded(Map<String, Probe> probes) {
        Probe p = probes.get("v4-egress-mtu-1300-df");
        Defrag.Result r = defrag(p, new Defrag(Family.IPV4));
        assertThat(r.dontFragment()).isTrue();
        Fragmenter.Output out = Fragmenter.refragment(r, 1300, true, 0);
        assertThat(out.tooBigMtu()).isEqualTo(1300);
        // ip_forward checks the MTU before it decrements the TTL: the quoted header has the original's
        IcmpErrors icmp = new IcmpErrors(router(1300), 1).sysctl("net.ipv4.icmp_ratelimit", 0);
        PacketContext pkt = new PacketContext().ipv4(r.datagram(), 0).inInterface("r0").outInterface("r1")
                .hook(Hook.FORWARD).random(new SplittableRandom(3));
        Reply reply = icmp.icmpSend(pkt, IcmpErrors.ICMP_DEST_UNREACH, IcmpErrors.ICMP_FRAG_NEEDED, out.tooBigMtu());
        assertSameIcmp(reply, p.back().get(0));
    }

    @Test
    void anExpiredIpv4QueueUnderConntrackSendsTimeExceededOnlyForALocalDestination() {
        compareExpiry(PROBES);
    }

    static void compareExpiry(Map<String, Probe> probes) {
        for (String name : List.of("v4-expire-forwarded", "v4-expire-local", "v4-expire-forwarded-no-first")) {
            Probe p = probes.get(name);
            Defrag defrag = new Defrag(Family.IPV4).timeoutNanos(2_000_000_000L);
            defrag(p, defrag);
            List<Defrag.Expired> gone = defrag.expire(4_000_000_000L);
            assertThat(gone).hasSize(1);
            Host host = router(1500);
            byte[] first = p.sent().get(0);
            boolean local = host.isLocalAddress(IpAddress.ipv4(MemorySegment.ofArray(first).get(IcmpErrors.U32, 16)));
            boolean sends = gone.get(0).sendsTimeExceeded(true, local);
            assertThat(sends).as(name).isEqualTo(!p.back().isEmpty());
            if (sends) {
                IcmpErrors icmp = new IcmpErrors(host, 1).sysctl("net.ipv4.icmp_ratelimit", 0);
                PacketContext pkt = new PacketContext().ipv4(gone.get(0).first(), 0).inInterface("r0")
                        .hook(Hook.PREROUTING).random(new SplittableRandom(3));
                Reply reply = icmp.icmpSend(pkt, IcmpErrors.ICMP_TIME_EXCEEDED, IcmpErrors.ICMP_EXC_FRAGTIME, 0);
                assertSameIcmp(reply, p.back().get(0));
            }
        }
        for (String name : List.of("v6-expire-forwarded", "v6-expire-local")) {
            Probe p = probes.get(name);
            Defrag defrag = new Defrag(Family.IPV6).timeoutNanos(2_000_000_000L);
            defrag(p, defrag);
            List<Defrag.Expired> gone = defrag.expire(4_000_000_000L);
            assertThat(gone).hasSize(1);
            assertThat(gone.get(0).sendsTimeExceeded(true, false)).isTrue();
            IcmpErrors icmp = new IcmpErrors(router(1500), 1).sysctl("net.ipv6.icmp.ratelimit", 0);
            PacketContext pkt = new PacketContext().ipv6(gone.get(0).first(), 0).inInterface(gone.get(0).inDevice())
                    .hook(Hook.PREROUTING).random(new SplittableRandom(3));
            Reply reply = icmp.icmpv6Send(pkt, IcmpErrors.ICMPV6_TIME_EXCEED, IcmpErrors.ICMPV6_EXC_FRAGTIME, 0);
            assertThat(p.back()).as(name).hasSize(1);
            byte[] linux = p.back().get(0).clone();
            byte[] ours = reply.datagram().toArray(ValueLayout.JAVA_BYTE);
            assertThat(Checksums.icmpv6Valid(reply.datagram(), 0, 40, ours.length - 40)).isTrue();
            System.arraycopy(ours, 1, linux, 1, 3);
            assertThat(HexFormat.of().formatHex(ours)).isEqualTo(HexFormat.of().formatHex(linux));
        }
    }

    static void assertSameIcmp(Reply reply, byte[] kernel) {
        assertThat(reply).isNotNull();
        byte[] ours = reply.datagram().toArray(ValueLayout.JAVA_BYTE);
        byte[] linux = kernel.clone();
        assertThat(Checksums.ipv4HeaderValid(reply.datagram(), 0)).isTrue();
        System.arraycopy(ours, 4, linux, 4, 2);
        System.arraycopy(ours, 10, linux, 10, 2);
        assertThat(HexFormat.of().formatHex(ours)).isEqualTo(HexFormat.of().formatHex(linux));
    }
}
