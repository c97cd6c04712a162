package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * IPv6 hop-by-hop options at receive (ip6_rcv_core / ipv6_parse_hopopts, before PREROUTING), as Linux 6.18 handled
 * them on this machine (2026-11-30): a (fd77::1, vab 02:00:00:00:00:0a) sent UDP datagrams fd77::1:4000 -> :5000 with
 * a hop-by-hop options header to b (vba fd77::2, 02:00:00:00:00:ba) from an AF_PACKET socket; tcpdump on a and b's
 * nstat recorded what b did:
 *
 * <pre>
 * options (after the next header and length)   b
 * unknown 3e (00)                              delivered (udp port unreachable)
 * unknown 7e (01)                              dropped silently, InHdrErrors
 * unknown be (10), fe (11) to fd77::2          parameter problem 2 (unrecognised option), pointer 42; InHdrErrors
 * unknown fe (11) to ff02::1                   dropped silently
 * unknown be (10) to ff02::1                   parameter problem 2, pointer 42, from fd77::2
 * Router Alert, 2 bytes / 3 bytes              delivered / dropped silently
 * IOAM at offset 42 / at 44                    dropped silently (not 4n) / delivered (ioam6_enabled off)
 * CALIPSO (10 or 4 bytes)                      dropped silently
 * nine unknown 00 options                      dropped silently (max_hbh_opts_number 8)
 * Jumbo 255 with Payload Length set            parameter problem 0 (header field), pointer 44 (the value)
 * be then 7e                                   parameter problem 2, pointer 42 (the first decides)
 * ten of be at once                            six parameter problems (ratelimit 1000 ms over a /64: 250 ms, burst 6)
 * </pre>
 *
 * <p>The limits are the host's sysctls (checked the same way between two namespaces, 2026-11-30, with the options
 * set through IPV6_HOPOPTS / IPV6_DSTOPTS): max_hbh_opts_number -8 drops an unknown option of any action silently
 * (InHdrErrors), a header longer than max_hbh_length is dropped silently (InHdrErrors), one longer than
 * max_dst_opts_length is dropped without even InHdrErrors, max_dst_opts_number -8 as the hop-by-hop one.
 */
class HopByHopOptionsSemanticsTest {
    private static final HexFormat HEX = HexFormat.of();

    /** A hop-by-hop options header before UDP with these options (hex), Pad1 to a multiple of 8, to {@code dst}. */
    static byte[] hopByHop(String options, String dst) {
        return RoutingHeaderSemanticsTest.datagram(0, RoutingHeaderSemanticsTest.optionsHeader(options), dst, dst);
    }

    static Stream<Arguments> options() {
        String problem42 = "OUTPUT icmp6, POSTROUTING icmp6; vba parameter problem 2 at 42 from fd77::2 to fd77::1";
        return Stream.of(
                Arguments.of("unknown option 00: skipped", hopByHop("3e0400000000", "fd77::2"),
                        "PREROUTING udp, INPUT udp; local"),
                Arguments.of("unknown option 01: dropped", hopByHop("7e0400000000", "fd77::2"), ""),
                Arguments.of("unknown option 10: parameter problem", hopByHop("be0400000000", "fd77::2"), problem42),
                Arguments.of("unknown option 11 to a unicast address: parameter problem",
                        hopByHop("fe0400000000", "fd77::2"), problem42),
                Arguments.of("unknown option 11 to a multicast address: dropped", hopByHop("fe0400000000", "ff02::1"),
                        ""),
                Arguments.of("unknown option 10 to a multicast address: parameter problem",
                        hopByHop("be0400000000", "ff02::1"), problem42),
                Arguments.of("router alert", hopByHop("05020000", "fd77::2"), "PREROUTING udp, INPUT udp; local"),
                Arguments.of("router alert of 3 bytes", hopByHop("0503000000", "fd77::2"), ""),
                Arguments.of("IOAM at 42 (not 4n)", hopByHop("3104000000000000", "fd77::2"), ""),
                Arguments.of("IOAM at 44", hopByHop("01003106000000000000", "fd77::2"),
                        "PREROUTING udp, INPUT udp; local"),
                Arguments.of("CALIPSO", hopByHop("070800000000000000000000", "fd77::2"), ""),
                Arguments.of("CALIPSO cut short", hopByHop("0702000000", "fd77::2"), ""),
                Arguments.of("nine options", hopByHop("3e00".repeat(9) + "0100", "fd77::2"), ""),
                Arguments.of("jumbo of 255 with a payload length", hopByHop("c204000000ff", "fd77::2"),
                        "OUTPUT icmp6, POSTROUTING icmp6; vba parameter problem 0 at 44 from fd77::2 to fd77::1"),
                Arguments.of("unknown option 10 before one of 01", hopByHop("be04000000007e04", "fd77::2"),
                        problem42));
    }

    @ParameterizedTest(name = "{0}: {2}")
    @MethodSource("options")
    void hopByHopOptionsAreHandledAtReceiveAsLinuxHandlesThem(String name, byte[] datagram, String expected)
            throws Exception {
        Receiver b = new Receiver();
        b.receive(datagram, 1_000_000_000L);
        assertThat(b.seen()).isEqualTo(expected);
    }

    /** A destination options header before UDP with these options (hex), Pad1 to a multiple of 8, to {@code dst}. */
    static byte[] destinationOptions(String options, String dst) {
        return RoutingHeaderSemanticsTest.datagram(60, RoutingHeaderSemanticsTest.optionsHeader(options), dst, dst);
    }

    static Stream<Arguments> limits() {
        String delivered = "PREROUTING udp, INPUT udp; local";
        String sixteen = "3e0a" + "00".repeat(10);
        return Stream.of(
                Arguments.of("net.ipv6.max_hbh_opts_number=16", hopByHop("3e00".repeat(9) + "0100", "fd77::2"),
                        delivered),
                Arguments.of("net.ipv6.max_hbh_opts_number=-8", hopByHop("be0400000000", "fd77::2"), ""),
                Arguments.of("net.ipv6.max_hbh_opts_number=-8", hopByHop("3e0400000000", "fd77::2"), ""),
                Arguments.of("net.ipv6.max_hbh_opts_number=-8", hopByHop("05020000", "fd77::2"), delivered),
                Arguments.of("net.ipv6.max_hbh_length=8", hopByHop(sixteen, "fd77::2"), ""),
                Arguments.of("net.ipv6.max_hbh_length=16", hopByHop(sixteen, "fd77::2"), delivered),
                Arguments.of("net.ipv6.max_dst_opts_length=8", destinationOptions(sixteen, "fd77::2"), "PREROUTING udp, INPUT udp"),
                Arguments.of("net.ipv6.max_dst_opts_length=16", destinationOptions(sixteen, "fd77::2"), delivered),
                Arguments.of("net.ipv6.max_dst_opts_number=-8", destinationOptions("3e0400000000", "fd77::2"),
                        "PREROUTING udp, INPUT udp"),
                Arguments.of("net.ipv6.max_dst_opts_number=8", destinationOptions("3e0400000000", "fd77::2"),
                        delivered));
    }

    @ParameterizedTest(name = "{0}: {2}")
    @MethodSource("limits")
    void theOptionLimitsAreTheHostsSysctls(String sysctl, byte[] datagram, String expected) throws Exception {
        Receiver b = new Receiver();
        String[] nameValue = sysctl.split("=");
        b.d.host().sysctl(nameValue[0], nameValue[1]);
        b.receive(datagram, 1_000_000_000L);
        assertThat(b.seen()).isEqualTo(expected);
    }

    @Test
    void parameterProblemsForHopByHopOptionsAreRateLimitedAsOtherIcmpv6Errors() throws Exception {
        Receiver b = new Receiver();
        for (int i = 0; i < 10; i++) {
            b.receive(hopByHop("be0400000000", "fd77::2"), 1_000_000_000L);
        }
        assertThat(b.out).hasSize(6);
    }

    @Test
    void theParameterProblemQuotesTheDatagramAsItArrived() throws Exception {
        Receiver b = new Receiver();
        byte[] datagram = hopByHop("be0400000000", "fd77::2");
        b.receive(datagram, 1_000_000_000L);
        byte[] quoted = new byte[datagram.length];
        System.arraycopy(b.lastIcmp, 40 + 8, quoted, 0, quoted.length);
        assertThat(quoted).isEqualTo(datagram);
    }

    /** Router b with hooks recorded by protocol and transmitted ICMPv6 errors described. */
    private static final class Receiver {
        final List<String> hooks = new ArrayList<>();
        final List<String> out = new ArrayList<>();
        byte[] lastIcmp;
        final Datapath d;

        Receiver() throws Exception {
            d = new Datapath(HostFile.parseRunning("b", RoutingHeaderSemanticsTest.ROUTER), new PacketSink() {
                @Override
                public void transmit(String ifname, MemorySegment frame) {
                    byte[] ip = frame.asSlice(14).toArray(ValueLayout.JAVA_BYTE);
                    ByteBuffer b = ByteBuffer.wrap(ip);
                    if (ip[6] == 58 && ip[40] == 4) {
                        lastIcmp = ip;
                        out.add(ifname + " parameter problem " + ip[41] + " at " + b.getInt(44) + " from "
                                + new IpAddress(Family.IPV6, b.getLong(8), b.getLong(16)) + " to "
                                + new IpAddress(Family.IPV6, b.getLong(24), b.getLong(32)));
                    } else {
                        out.add(ifname + " " + HEX.formatHex(ip));
                    }
                }

                @Override
                public void deliverLocal(String ifname, MemorySegment packet) {
                    out.add("local");
                }
            });
            for (Hook h : List.of(Hook.PREROUTING, Hook.INPUT, Hook.FORWARD, Hook.OUTPUT, Hook.POSTROUTING)) {
                d.netfilter().register(Family.IPV6, h, 0, "seen", p -> {
                    hooks.add(h.name() + (p.protocol() == 58 ? " icmp6" : p.protocol() == 17 ? " udp" : " other"));
                    return Verdict.ACCEPT;
                });
            }
        }

        void receive(byte[] datagram, long now) {
            byte[] frame = new byte[14 + datagram.length];
            boolean multicast = (datagram[24] & 0xFF) == 0xFF;
            System.arraycopy(HEX.parseHex((multicast ? "333300000001" : "0200000000ba") + "02000000000a86dd"), 0,
                    frame, 0, 14);
            System.arraycopy(datagram, 0, frame, 14, datagram.length);
            d.receive("vba", MemorySegment.ofArray(frame), true, now, Trace.NONE);
        }

        String seen() {
            return String.join(", ", hooks) + (out.isEmpty() ? "" : "; " + String.join("; ", out));
        }
    }
}
