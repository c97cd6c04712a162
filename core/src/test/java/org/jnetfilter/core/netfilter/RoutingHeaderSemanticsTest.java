package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * IPv6 routing headers (and destination options, {@link #destinationOptions()}) of datagrams for this host, as Linux
 * 6.18 handled them on this machine (2026-11-30): a
 * (fd77::1) sent UDP datagrams to router b (vba fd77::2, vbc fd77:1::2 toward c = fd77:1::3, forwarding on) with a
 * routing header in front of the UDP header; b's counters of {@code -p udp} rules in INPUT, FORWARD and mangle
 * POSTROUTING, nstat, and tcpdump on a and c recorded what it did:
 *
 * <pre>
 * routing header                                  b
 * type 0, 1 segment left                          INPUT; parameter problem, pointer 42 (the type); InHdrErrors
 * type 0, none left                               INPUT; delivered (udp port unreachable)
 * type 2 (no Mobile IPv6), type 3 (no RPL), 1     INPUT; parameter problem, pointer 42
 * SRH, seg6_enabled off                           INPUT; dropped silently
 * SRH, seg6_enabled on, 1 left of 2               INPUT, FORWARD, POSTROUTING: out vbc to fd77:1::3, 0 left, hop limit 63
 * SRH, 3 left of 1                                INPUT; parameter problem, pointer 43 (segments left)
 * SRH, none left                                  INPUT; delivered
 * </pre>
 */
class RoutingHeaderSemanticsTest {
    private static final HexFormat HEX = HexFormat.of();
    static final String ROUTER = """
            link add vba address 02:00:00:00:00:ba
            addr add fd77::2/64 dev vba
            link add vbc address 02:00:00:00:00:bc
            addr add fd77:1::2/64 dev vbc
            -6 neigh add fd77::1 lladdr 02:00:00:00:00:0a dev vba
            -6 neigh add fd77:1::3 lladdr 02:00:00:00:00:0c dev vbc
            sysctl net.ipv6.conf.all.forwarding=1
            """;
    static final String SEG6 = "sysctl net.ipv6.conf.all.seg6_enabled=1\nsysctl net.ipv6.conf.vba.seg6_enabled=1\n";

    static byte[] address(String a) {
        IpAddress x = IpAddress.parse(a);
        return ByteBuffer.allocate(16).putLong(x.hi()).putLong(x.lo()).array();
    }

    /** fd77::1:4000 -> fd77::2:5000 "rthd" behind {@code rh}, the UDP checksum for {@code last} (the final destination). */
    static byte[] datagram(byte[] rh, String last) {
        return datagram(43, rh, last);
    }

    static byte[] datagram(int nextHeader, byte[] rh, String last) {
        return datagram(nextHeader, rh, "fd77::2", last);
    }

    /** fd77::1:4000 -> {@code destination}:5000 behind the extension header {@code rh} of type {@code nextHeader}. */
    static byte[] datagram(int nextHeader, byte[] rh, String destination, String last) {
        ByteBuffer udp = ByteBuffer.allocate(12).putShort((short) 4000).putShort((short) 5000).putShort((short) 12)
                .putShort((short) 0).put("rthd".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        ByteBuffer pseudo = ByteBuffer.allocate(40 + 12).put(address("fd77::1")).put(address(last)).putInt(12)
                .putInt(17).put(udp.array());
        int check = org.jnetfilter.core.packet.Checksums.internet(MemorySegment.ofArray(pseudo.array()), 0,
                pseudo.capacity());
        udp.putShort(6, (short) (check == 0 ? 0xFFFF : check));
        ByteBuffer b = ByteBuffer.allocate(40 + rh.length + 12);
        b.putInt(0x60000000).putShort((short) (rh.length + 12)).put((byte) nextHeader).put((byte) 64)
                .put(address("fd77::1"))
                .put(address(destination)).put(rh).put(udp.array());
        return b.array();
    }

    static byte[] rh(int type, int segmentsLeft, int lastEntry, String... addresses) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(new byte[] {17, (byte) (2 * addresses.length), (byte) type, (byte) segmentsLeft,
            (byte) (type == 4 ? lastEntry : 0), 0, 0, 0});
        for (String a : addresses) {
            o.writeBytes(address(a));
        }
        return o.toByteArray();
    }

    static Stream<Arguments> headers() {
        return Stream.of(
                Arguments.of("type 0, one segment left", "", datagram(rh(0, 1, 0, "fd77:1::3"), "fd77:1::3"),
                        "INPUT; parameter problem 0 at 42"),
                Arguments.of("type 0, none left", "", datagram(rh(0, 0, 0, "fd77:1::3"), "fd77::2"),
                        "INPUT; local"),
                Arguments.of("type 2 without Mobile IPv6", "", datagram(rh(2, 1, 0, "fd77:1::3"), "fd77:1::3"),
                        "INPUT; parameter problem 0 at 42"),
                Arguments.of("type 3 without RPL", "", datagram(rh(3, 1, 0, "fd77:1::3"), "fd77:1::3"),
                        "INPUT; parameter problem 0 at 42"),
                Arguments.of("segment routing, seg6_enabled off", "", datagram(rh(4, 1, 1, "fd77:1::3", "fd77:9::9"),
                        "fd77:1::3"), "INPUT"),
                Arguments.of("segment routing, one left of two", SEG6, datagram(rh(4, 1, 1, "fd77:1::3", "fd77:9::9"),
                        "fd77:1::3"), "INPUT, FORWARD, POSTROUTING; vbc "
                        + "60000000003" + "42b3ffd770000000000000000000000000001fd770001000000000000000000000003"
                        + "1104040001000000fd770001000000000000000000000003fd770009000000000000000000000009"
                        + "0fa01388000c06e172746864"),
                Arguments.of("segment routing, three left of one", SEG6, datagram(rh(4, 3, 0, "fd77:1::3"), "fd77:1::3"),
                        "INPUT; parameter problem 0 at 43"),
                Arguments.of("segment routing, none left", SEG6, datagram(rh(4, 0, 0, "fd77::2"), "fd77::2"),
                        "INPUT; local"));
    }

    @ParameterizedTest(name = "{0}: {3}")
    @MethodSource("headers")
    void routingHeadersAreHandledAfterInputAsLinuxHandlesThem(String name, String sysctls, byte[] datagram,
            String expected) throws Exception {
        assertThat(outcome(sysctls, datagram)).isEqualTo(expected);
    }

    /** A destination options header before UDP with these options (hex), zeros to a multiple of 8. */
    static byte[] destinationOptions(String options) {
        return datagram(60, optionsHeader(options), "fd77::2");
    }

    /** A hop-by-hop or destination options header before UDP with these options (hex), Pad1 to a multiple of 8. */
    static byte[] optionsHeader(String options) {
        byte[] o = HEX.parseHex(options);
        int length = (o.length + 2 + 7) / 8 * 8;
        byte[] h = new byte[length];
        h[0] = 17;
        h[1] = (byte) (length / 8 - 1);
        System.arraycopy(o, 0, h, 2, o.length);
        return h;
    }

    /**
     * Destination options as Linux 6.18 handled them (b's nstat: InHdrErrors, parameter problems, udp port
     * unreachable for the delivered ones): an unknown option's two high bits decide, padding and the option count
     * are bounded.
     */
    static Stream<Arguments> destinationOptions() {
        return Stream.of(
                Arguments.of("unknown option 00: skipped", destinationOptions("3e0400000000"), "INPUT; local"),
                Arguments.of("unknown option 01: dropped", destinationOptions("7e0400000000"), "INPUT"),
                Arguments.of("unknown option 10: parameter problem", destinationOptions("be0400000000"),
                        "INPUT; parameter problem 2 at 42"),
                Arguments.of("unknown option 11 to a unicast address: parameter problem",
                        destinationOptions("fe0400000000"), "INPUT; parameter problem 2 at 42"),
                Arguments.of("PadN that is not zeros", destinationOptions("0104ff000000"), "INPUT"),
                Arguments.of("nine options", destinationOptions("3e00".repeat(9) + "0100"), "INPUT"),
                Arguments.of("eight options", destinationOptions("3e00".repeat(8) + "0102" + "0000"), "INPUT; local"),
                Arguments.of("eight Pad1 in a row", destinationOptions("00".repeat(8) + "3e0400000000"), "INPUT"));
    }

    @ParameterizedTest(name = "{0}: {2}")
    @MethodSource("destinationOptions")
    void destinationOptionsAreHandledAfterInputAsLinuxHandlesThem(String name, byte[] datagram, String expected)
            throws Exception {
        assertThat(outcome("", datagram)).isEqualTo(expected);
    }

    /** What b does with {@code datagram} from a: the hooks a UDP datagram passed, then what it sent or delivered. */
    private static String outcome(String sysctls, byte[] datagram) throws Exception {
        List<String> hooks = new ArrayList<>();
        List<String> out = new ArrayList<>();
        Datapath d = new Datapath(HostFile.parseRunning("b", ROUTER + sysctls), new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
                byte[] ip = frame.asSlice(14).toArray(ValueLayout.JAVA_BYTE);
                if (ip[6] == 58 && ip[40] == 4) {
                    out.add("parameter problem " + ip[41] + " at " + ByteBuffer.wrap(ip, 44, 4).getInt());
                } else if (ip[6] != 58) {
                    out.add(ifname + " " + HEX.formatHex(ip));
                }
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment packet) {
                out.add("local");
            }
        });
        for (Hook h : List.of(Hook.INPUT, Hook.FORWARD, Hook.POSTROUTING)) {
            d.netfilter().register(Family.IPV6, h, 0, "udp", p -> {
                if (p.protocol() == 17) {
                    hooks.add(h.name());
                }
                return Verdict.ACCEPT;
            });
        }
        byte[] frame = new byte[14 + datagram.length];
        System.arraycopy(HEX.parseHex("0200000000ba02000000000a86dd"), 0, frame, 0, 14);
        System.arraycopy(datagram, 0, frame, 14, datagram.length);
        d.receive("vba", MemorySegment.ofArray(frame), true, 1_000_000_000L, Trace.NONE);
        return String.join(", ", hooks) + (out.isEmpty() ? "" : "; " + String.join("; ", out));
    }
}
