package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.packet.Checksums;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Redirects of a router whose forwarded packet leaves by the interface it came in on, as Linux 6.18 sent them on this
 * machine (2026-11-30): namespace a (2001:db8:1::1, 02:00:00:00:00:0a) sends UDP datagrams by a raw socket to router
 * b (vba 02:00:00:00:00:0b, 2001:db8:1::2/64, forwarding on), whose routes send them back out by vba; tcpdump on a
 * recorded the redirects byte for byte (the expected frames below are theirs).
 *
 * <pre>
 * route on b                                     b sent
 * 2001:db8:9::/64 dev vba (on-link)              redirect, target = destination, no target link-layer option
 * 2001:db8:8::/64 via fe80::1234 (neigh known)   redirect, target fe80::1234, target link-layer option 02:00:00:00:12:34
 * 2001:db8:7::/64 via 2001:db8:1::77             nothing (a global gateway is no redirect target)
 * 10 datagrams from one source, one destination  6 redirects (1 s per redirect, a burst of 6, per peer)
 * 10 datagrams from one source, 10 destinations  6 redirects (the source's peer)
 * </pre>
 * Every datagram is forwarded as well (hop limit 63), the redirect first.
 */
class RedirectSemanticsTest {
    private static final HexFormat HEX = HexFormat.of();
    static final String ROUTER = """
            link add vba address 02:00:00:00:00:0b
            link set vba up
            addr add 2001:db8:1::2/64 dev vba
            link add vbc address 02:00:00:00:00:bc
            link set vbc up
            addr add 2001:db8:2::2/64 dev vbc
            neigh add 2001:db8:1::1 lladdr 02:00:00:00:00:0a dev vba
            neigh add fe80::1234 lladdr 02:00:00:00:12:34 dev vba
            route add 2001:db8:9::/64 dev vba
            route add 2001:db8:8::/64 via fe80::1234 dev vba
            route add 2001:db8:7::/64 via 2001:db8:1::77 dev vba
            sysctl net.ipv6.conf.all.forwarding=1
            """;
    static final long A_MAC = 0x02000000000AL;
    static final long B_MAC = 0x02000000000BL;

    /** The probe a sent: UDP 4000+i -> 5000, "redirect-probe", hop limit 64. */
    static MemorySegment probe(String src, String dst, int i) {
        byte[] data = "redirect-probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        IpAddress s = IpAddress.parse(src);
        IpAddress d = IpAddress.parse(dst);
        ByteBuffer b = ByteBuffer.allocate(48 + data.length);
        b.putInt(0x60000000).putShort((short) (8 + data.length)).put((byte) 17).put((byte) 64).putLong(s.hi())
                .putLong(s.lo()).putLong(d.hi()).putLong(d.lo()).putShort((short) (4000 + i)).putShort((short) 5000)
                .putShort((short) (8 + data.length)).putShort((short) 0).put(data);
        MemorySegment m = MemorySegment.ofArray(b.array());
        m.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 46,
                (short) Checksums.udpV6(m, 0, 40, 8 + data.length));
        return m;
    }

    static Stream<Arguments> routes() {
        return Stream.of(
                Arguments.of("on-link destination: the destination is the target", "2001:db8:9::9",
                        "02000000000a02000000000b86dd6000000000683afffe80000000000000000000fffe00000b20010db80001"
                                + "000000000000000000018900" + "7c8d" + "0000000020010db800090000000000000000000920"
                                + "010db80009000000000000000000090408000000000000600000000016114020010db8000100000"
                                + "00000000000000120010db80009000000000000000000090fa013880016d2267265646972656374"),
                Arguments.of("link-local gateway with a neighbour entry: its link-layer address goes along",
                        "2001:db8:8::8",
                        "02000000000a02000000000b86dd6000000000703afffe80000000000000000000fffe00000b20010db80001"
                                + "0000000000000000000189008368" + "00000000fe800000000000000000000000001234"
                                + "20010db80008000000000000000000080201020000001234" + "0408000000000000"
                                + "600000000016114020010db800010000000000000000000120010db800080000000000000000"
                                + "00080fa013880016d2287265646972656374"),
                Arguments.of("global gateway: no redirect", "2001:db8:7::7", null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("routes")
    void ipv6RouterSendsTheRedirectLinuxSends(String name, String dst, String expected) {
        DatapathHarness h = router();
        h.receive("vba", DatapathHarness.frame(B_MAC, A_MAC, probe("2001:db8:1::1", dst, 0)));
        List<String> redirects = redirects(h);
        if (expected == null) {
            assertThat(redirects).isEmpty();
            assertThat(h.out).containsExactly("tx vba");
            return;
        }
        assertThat(redirects).containsExactly(expected);
        // the redirect goes first (before FORWARD), then the datagram with its hop limit decremented
        assertThat(h.out).containsExactly("tx vba", "tx vba");
        assertThat(Byte.toUnsignedInt(h.lastFrame().get(ValueLayout.JAVA_BYTE, 14 + 7))).isEqualTo(63);
        assertThat(h.events).startsWith("route forward dev vba via " + (dst.startsWith("2001:db8:8") ? "fe80::1234" : dst),
                "generated ICMPv6 redirect");
    }

    @Test
    void ipv6RedirectsToOneDestinationStopAfterABurstOfSixThenOneASecond() {
        DatapathHarness h = router();
        for (int i = 0; i < 10; i++) {
            h.datapath.receive("vba", DatapathHarness.frame(B_MAC, A_MAC, probe("2001:db8:1::5", "2001:db8:9::10", i)),
                    true, 1_000_000_000L, h.trace);
        }
        assertThat(redirects(h)).hasSize(6);
        h.frames.clear();
        h.out.clear();
        h.datapath.receive("vba", DatapathHarness.frame(B_MAC, A_MAC, probe("2001:db8:1::5", "2001:db8:9::10", 11)),
                true, 2_000_000_000L, h.trace);
        assertThat(redirects(h)).hasSize(1);
    }

    @Test
    void ipv6RedirectsToOneSourceStopAfterABurstOfSixWhateverTheDestination() {
        DatapathHarness h = router();
        for (int i = 0; i < 10; i++) {
            h.receive("vba", DatapathHarness.frame(B_MAC, A_MAC, probe("2001:db8:1::6", "2001:db8:9::" + (20 + i), 0)));
        }
        assertThat(redirects(h)).hasSize(6);
        assertThat(h.out.stream().filter(o -> o.equals("tx vba"))).hasSize(16);
    }

    @Test
    void linkLocalSourceLeavingByAnotherInterfaceIsAnsweredBeyondScopeAndDropped() {
        DatapathHarness h = router();
        h.receive("vba", DatapathHarness.frame(B_MAC, A_MAC, probe("fe80::a", "2001:db8:2::3", 0)));
        assertThat(h.events).containsSubsequence("generated ICMPv6 beyond scope of source address",
                "dropped IP_INADDRERRORS");
        MemorySegment f = h.lastFrame();
        // ICMPv6 destination unreachable, code 2 (beyond scope of source address), from b's link-local address
        assertThat(Byte.toUnsignedInt(f.get(ValueLayout.JAVA_BYTE, 54))).isEqualTo(1);
        assertThat(Byte.toUnsignedInt(f.get(ValueLayout.JAVA_BYTE, 55))).isEqualTo(2);
        assertThat(HEX.formatHex(f.asSlice(22, 16).toArray(ValueLayout.JAVA_BYTE)))
                .isEqualTo("fe80000000000000000000fffe00000b");
    }

    @Test
    void ipv4RedirectWithoutSharedMediaNeedsTheGatewayOnTheSourcesSubnet() {
        String router = """
                link add eth0 address 02:00:00:00:00:01
                link set eth0 up
                addr add 10.0.1.1/24 dev eth0
                addr add 10.0.9.1/24 dev eth0
                route add 192.0.2.0/24 via 10.0.1.254
                route add 198.51.100.0/24 via 10.0.9.254
                sysctl net.ipv4.ip_forward=1
                sysctl net.ipv4.conf.all.shared_media=0
                sysctl net.ipv4.conf.eth0.shared_media=0
                """;
        DatapathHarness h = new DatapathHarness(router);
        h.receive("eth0", DatapathHarness.frame(0x020000000001L, A_MAC, DatapathHarness.tcp(Fixtures.ip(10, 0, 1, 10),
                Fixtures.ip(192, 0, 2, 7))));
        assertThat(h.replyRequests).containsExactly("icmp 5/1 info " + 0x0A0001FEL);
        h.replyRequests.clear();
        h.receive("eth0", DatapathHarness.frame(0x020000000001L, A_MAC, DatapathHarness.tcp(Fixtures.ip(10, 0, 1, 10),
                Fixtures.ip(198, 51, 100, 7))));
        assertThat(h.replyRequests).isEmpty();
        h.host.sysctl("net.ipv4.conf.eth0.shared_media", "1");
        h.receive("eth0", DatapathHarness.frame(0x020000000001L, A_MAC, DatapathHarness.tcp(Fixtures.ip(10, 0, 1, 10),
                Fixtures.ip(198, 51, 100, 7))));
        assertThat(h.replyRequests).containsExactly("icmp 5/1 info " + 0x0A0009FEL);
    }

    private static DatapathHarness router() {
        DatapathHarness h = new DatapathHarness(ROUTER);
        h.datapath.replies(Replies.kernel(h.host, 0));
        return h;
    }

    /** The ICMPv6 redirects (type 137) among the frames sent, as hex. */
    private static List<String> redirects(DatapathHarness h) {
        List<String> out = new ArrayList<>();
        for (MemorySegment f : h.frames) {
            if (f.byteSize() > 54 && f.get(ValueLayout.JAVA_BYTE, 20) == 58
                    && Byte.toUnsignedInt(f.get(ValueLayout.JAVA_BYTE, 54)) == 137) {
                out.add(HEX.formatHex(f.toArray(ValueLayout.JAVA_BYTE)));
            }
        }
        return out;
    }
}
