package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.DatapathHarness.ipOf;
import static org.jnetfilter.core.netfilter.DatapathHarness.u48;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.stream.Stream;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.packet.Ipv6Header;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What a Linux 6.x router answers, recorded on this machine (2026-11-30) with three namespaces: client 10.0.1.10 /
 * fd00:1::10 behind r0 (10.0.1.1, fd00:1::1), server 10.0.2.20 / fd00:2::20 behind r1 (10.0.2.1, fd00:2::1), UDP
 * datagrams of 10 bytes from the client by a raw socket, tcpdump on the client's side. The same router here, with
 * the kernel's reply builders ({@link Replies#kernel}), must answer alike: which ICMP message, from which address,
 * about what, and nothing where Linux sends nothing.
 *
 * <pre>
 * case                                   Linux answered (tcpdump -v)
 * ip_forward=0, to 10.0.2.20             nothing
 * ip_forward=0, no route                 nothing
 * no route                               10.0.1.1 > 10.0.1.10: ICMP net 192.0.2.7 unreachable (tos 0xc0, len 66)
 * TTL 1                                  10.0.1.1 > 10.0.1.10: ICMP time exceeded in-transit (quotes ttl 1)
 * DF, 1228 bytes, r1 mtu 1000            ICMP 10.0.2.20 unreachable - need to frag (mtu 1000), length 576
 * route prohibit                         ICMP host unreachable - admin prohibited filter (code 13)
 * route unreachable                      ICMP host unreachable (code 1)
 * route blackhole                        nothing
 * via 10.0.1.254 out r0 (in r0)          ICMP redirect to host 10.0.1.254 (quotes ttl 63); forwarded
 * IPv6 forwarding 0, to fd00:2::20       nothing
 * IPv6 forwarding 0, no route            fd00:1::1 > fd00:1::10 destination unreachable, unreachable route (code 0)
 * IPv6 no route                          the same
 * IPv6 hop limit 1                       time exceeded in-transit
 * IPv6 1448 bytes, r1 mtu 1300           packet too big, mtu 1300 (payload length 1240)
 * IPv6 route prohibit                    unreachable prohibited (code 1)
 * IPv6 route unreachable                 unreachable route (code 0)
 * IPv6 route blackhole                   nothing
 * </pre>
 */
class DatapathKernelFactsTest {
    static final String ROUTER = """
            link add eth0 address 02:00:00:00:00:01
            link set eth0 up
            addr add 10.0.1.1/24 dev eth0
            addr add fd00:1::1/64 dev eth0
            link add eth1 address 02:00:00:00:00:02
            link set eth1 up
            addr add 10.0.2.1/24 dev eth1
            addr add fd00:2::1/64 dev eth1
            neigh add 10.0.1.10 lladdr 02:00:00:00:01:0a dev eth0
            neigh add fd00:1::10 lladdr 02:00:00:00:01:0a dev eth0
            route add prohibit 198.18.0.0/24
            route add unreachable 198.51.100.0/24
            route add blackhole 203.0.113.0/24
            route add 100.64.0.0/24 via 10.0.1.254
            route add prohibit 2001:db8:1::/48
            route add unreachable 2001:db8:2::/48
            route add blackhole 2001:db8:3::/48
            """;
    static final String FORWARDING = "sysctl net.ipv4.ip_forward=1\nsysctl net.ipv6.conf.all.forwarding=1\n";

    /** name, forwarding, eth1 mtu, destination, ttl, DF, payload, expected ICMP "type/code" (or null), info. */
    static Stream<Arguments> ipv4() {
        return Stream.of(
                Arguments.of("forwarding off", false, 1500, "10.0.2.20", 64, false, 10, null, 0),
                Arguments.of("forwarding off, no route", false, 1500, "192.0.2.99", 64, false, 10, null, 0),
                Arguments.of("no route", true, 1500, "192.0.2.7", 64, false, 10, "3/0", 0),
                Arguments.of("ttl 1", true, 1500, "10.0.2.20", 1, false, 10, "11/0", 0),
                Arguments.of("DF over the mtu", true, 1000, "10.0.2.20", 64, true, 1200, "3/4", 1000),
                Arguments.of("prohibit route", true, 1500, "198.18.0.7", 64, false, 10, "3/13", 0),
                Arguments.of("unreachable route", true, 1500, "198.51.100.7", 64, false, 10, "3/1", 0),
                Arguments.of("blackhole route", true, 1500, "203.0.113.7", 64, false, 10, null, 0),
                Arguments.of("redirect", true, 1500, "100.64.0.7", 64, false, 10, "5/1", 0x0A0001FE));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ipv4")
    void ipv4RouterAnswersAsLinux(String name, boolean forwarding, int mtu, String dst, int ttl, boolean df,
            int payload, String icmp, int info) {
        DatapathHarness h = new DatapathHarness(ROUTER + (forwarding ? FORWARDING : ""));
        h.datapath.replies(Replies.kernel(h.host, 0));
        h.host.setMtu("eth1", mtu);
        MemorySegment udp = udp4(Fixtures.ip(10, 0, 1, 10), (int) org.jnetfilter.core.host.IpAddress.parse(dst).lo(),
                ttl, df, payload);
        h.receive("eth0", DatapathHarness.frame(0x020000000001L, 0x02000000010AL, udp));
        MemorySegment answer = null;
        for (int i = 0; i < h.out.size(); i++) {
            if (h.out.get(i).equals("tx eth0") && answer == null) {
                answer = h.frames.get(i);
            }
        }
        if (icmp == null) {
            assertThat(answer).isNull();
            return;
        }
        assertThat(answer).isNotNull();
        Ipv4Header ip = ipOf(answer);
        assertThat(u48(answer, 0)).isEqualTo(0x02000000010AL);
        assertThat(ip.source()).isEqualTo(Fixtures.ip(10, 0, 1, 1));
        assertThat(ip.destination()).isEqualTo(Fixtures.ip(10, 0, 1, 10));
        assertThat(ip.tos()).isEqualTo(0xC0);
        assertThat(ip.protocol()).isEqualTo(1);
        int type = Byte.toUnsignedInt(answer.get(ValueLayout.JAVA_BYTE, 34));
        int code = Byte.toUnsignedInt(answer.get(ValueLayout.JAVA_BYTE, 35));
        assertThat(type + "/" + code).isEqualTo(icmp);
        int rest = answer.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 38);
        if (type == 3 && code == 4) {
            assertThat(rest & 0xFFFF).isEqualTo(info);
            assertThat(ip.totalLength()).isEqualTo(576);
        } else if (type == 5) {
            assertThat(rest).isEqualTo(info);
            // quoted after the TTL decrement, and the packet itself goes on
            assertThat(Byte.toUnsignedInt(answer.get(ValueLayout.JAVA_BYTE, 42 + 8))).isEqualTo(63);
            assertThat(h.out).containsExactly("tx eth0", "tx eth0");
        } else {
            assertThat(ip.totalLength()).isEqualTo(66);
        }
    }

    /** name, forwarding, eth1 mtu, destination, hop limit, payload, expected ICMPv6 "type/code" (or null), info. */
    static Stream<Arguments> ipv6() {
        return Stream.of(
                Arguments.of("forwarding off", false, 1500, "fd00:2::20", 64, 10, null, 0),
                Arguments.of("forwarding off, no route", false, 1500, "2001:db8::7", 64, 10, "1/0", 0),
                Arguments.of("no route", true, 1500, "2001:db8::7", 64, 10, "1/0", 0),
                Arguments.of("hop limit 1", true, 1500, "fd00:2::20", 1, 10, "3/0", 0),
                Arguments.of("over the mtu", true, 1300, "fd00:2::20", 64, 1400, "2/0", 1300),
                Arguments.of("prohibit route", true, 1500, "2001:db8:1::7", 64, 10, "1/1", 0),
                Arguments.of("unreachable route", true, 1500, "2001:db8:2::7", 64, 10, "1/0", 0),
                Arguments.of("blackhole route", true, 1500, "2001:db8:3::7", 64, 10, null, 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ipv6")
    void ipv6RouterAnswersAsLinux(String name, boolean forwarding, int mtu, String dst, int hopLimit, int payload,
            String icmp, int info) {
        DatapathHarness h = new DatapathHarness(ROUTER + (forwarding ? FORWARDING : ""));
        h.datapath.replies(Replies.kernel(h.host, 0));
        h.host.setMtu("eth1", mtu);
        var d = org.jnetfilter.core.host.IpAddress.parse(dst);
        MemorySegment udp = udp6(0xFD00000100000000L, 0x10, d.hi(), d.lo(), hopLimit, payload);
        h.receive("eth0", DatapathHarness.frame(0x020000000001L, 0x02000000010AL, udp));
        MemorySegment answer = null;
        for (int i = 0; i < h.out.size(); i++) {
            if (h.out.get(i).equals("tx eth0") && answer == null) {
                answer = h.frames.get(i);
            }
        }
        if (icmp == null) {
            assertThat(answer).isNull();
            return;
        }
        assertThat(answer).isNotNull();
        Ipv6Header ip = new Ipv6Header().wrap(answer, 14);
        assertThat(ip.sourceHigh()).isEqualTo(0xFD00000100000000L);
        assertThat(ip.sourceLow()).isEqualTo(1);
        assertThat(ip.destinationLow()).isEqualTo(0x10);
        assertThat(ip.nextHeader()).isEqualTo(58);
        int type = Byte.toUnsignedInt(answer.get(ValueLayout.JAVA_BYTE, 54));
        int code = Byte.toUnsignedInt(answer.get(ValueLayout.JAVA_BYTE, 55));
        assertThat(type + "/" + code).isEqualTo(icmp);
        if (type == 2) {
            assertThat(answer.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 58))
                    .isEqualTo(info);
            assertThat(ip.payloadLength()).isEqualTo(1240);
        } else {
            assertThat(ip.payloadLength()).isEqualTo(66);
        }
    }

    static MemorySegment udp4(int src, int dst, int ttl, boolean df, int payload) {
        ByteBuffer b = ByteBuffer.allocate(28 + payload);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (28 + payload)).putShort((short) 0x1234)
                .putShort((short) (df ? 0x4000 : 0)).put((byte) ttl).put((byte) 17).putShort((short) 0)
                .putInt(src).putInt(dst).putShort((short) 40000).putShort((short) 9999).putShort((short) (8 + payload))
                .putShort((short) 0);
        MemorySegment s = MemorySegment.ofArray(b.array());
        new Ipv4Header().wrap(s, 0).updateChecksum();
        return s;
    }

    static MemorySegment udp6(long srcHi, long srcLo, long dstHi, long dstLo, int hopLimit, int payload) {
        ByteBuffer b = ByteBuffer.allocate(48 + payload);
        b.putInt(0x60000000).putShort((short) (8 + payload)).put((byte) 17).put((byte) hopLimit).putLong(srcHi)
                .putLong(srcLo).putLong(dstHi).putLong(dstLo).putShort((short) 40000).putShort((short) 9999)
                .putShort((short) (8 + payload)).putShort((short) 0);
        MemorySegment s = MemorySegment.ofArray(b.array());
        int sum = Checksums.udpV6(s, 0, 40, 8 + payload);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 46, (short) sum);
        return s;
    }
}
