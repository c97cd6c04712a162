package org.jnetfilter.core.bpf;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.jnetfilter.core.bpf.ClassicBpf.Insn;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.testkit.TunnelDatagrams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The ancillary loads that need the kernel's flow dissector or netlink parsing: SKF_AD_PAY_OFFSET, SKF_AD_RXHASH,
 * SKF_AD_NLATTR and SKF_AD_NLATTR_NEST.
 *
 * <p>The payload offsets are Linux 6.18's, recorded on this machine (2026-11-30): 101 rules
 * {@code -m bpf --bytecode "4,32 0 0 4294963252,21 0 1 N,6 0 0 1,6 0 0 0"} (N = 0..100) in raw PREROUTING of a
 * namespace, each packet below sent by a raw socket from another over a veth pair, the rule whose counter moved
 * giving the offset.
 */
class BpfAncillaryLoadsTest {
    private static final HexFormat HEX = HexFormat.of();
    static final List<Insn> PAY_OFFSET = ClassicBpfTest.program("32 0 0 4294963252,22 0 0 0");
    static final List<Insn> RXHASH = ClassicBpfTest.program("32 0 0 4294963232,22 0 0 0");

    static byte[] ip4(int proto, byte[] payload, byte[] options, int frag, int src, int dst) {
        int ihl = 20 + options.length;
        ByteBuffer b = ByteBuffer.allocate(ihl + payload.length);
        b.put((byte) (0x40 | ihl / 4)).put((byte) 0).putShort((short) (ihl + payload.length)).putShort((short) 7)
                .putShort((short) frag).put((byte) 64).put((byte) proto).putShort((short) 0).putInt(src).putInt(dst)
                .put(options).put(payload);
        return b.array();
    }

    static byte[] ip4(int proto, byte[] payload) {
        return ip4(proto, payload, new byte[0], 0, 0x0A420001, 0x0A420002);
    }

    static byte[] ip6(int next, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(40 + payload.length);
        b.putInt(0x60000000).putShort((short) payload.length).put((byte) next).put((byte) 64)
                .putLong(0xFD66000000000000L).putLong(1).putLong(0xFD66000000000000L).putLong(2).put(payload);
        return b.array();
    }

    static byte[] cat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            o.writeBytes(p);
        }
        return o.toByteArray();
    }

    static final byte[] UDP = HEX.parseHex("0fa01388000c000061626364");
    static final byte[] TCP5 = HEX.parseHex("0fa01388000000010000000050020200" + "00000000");
    static final byte[] TCP8 = HEX.parseHex("0fa01388000000010000000080020200" + "00000000" + "020405b4"
            + "01010100" + "01010100");
    static final byte[] TCP3 = HEX.parseHex("0fa01388000000010000000030020200" + "00000000");
    static final byte[] ICMP = HEX.parseHex("08000000000100017069676e64617461");
    static final byte[] INNER4 = ip4(17, UDP, new byte[0], 0, 0x0A010101, 0x0A020202);

    static Stream<Arguments> payloadOffsets() {
        return Stream.of(
                Arguments.of("IPv4 UDP", 4, ip4(17, UDP), 28),
                Arguments.of("IPv4 TCP, data offset 5", 4, ip4(6, TCP5), 40),
                Arguments.of("IPv4 TCP, data offset 8", 4, ip4(6, TCP8), 52),
                Arguments.of("IPv4 ICMP", 4, ip4(1, ICMP), 28),
                Arguments.of("IPv4 with options, UDP", 4, ip4(17, UDP, new byte[] {1, 1, 1, 0}, 0, 0x0A420001,
                        0x0A420002), 32),
                Arguments.of("IPv4 first fragment", 4, ip4(17, cat(UDP, new byte[12]), new byte[0], 0x2000, 0x0A420001,
                        0x0A420002), 28),
                Arguments.of("IPv4 later fragment", 4, ip4(17, new byte[16], new byte[0], 1, 0x0A420001, 0x0A420002),
                        20),
                Arguments.of("IPv4 SCTP", 4, ip4(132, new byte[16]), 32),
                Arguments.of("IPv4 GRE carrying IPv4 UDP", 4, ip4(47, cat(HEX.parseHex("00000800"), INNER4)), 52),
                Arguments.of("IPv4 in IPv4, UDP", 4, ip4(4, INNER4), 48),
                Arguments.of("IPv4 protocol 253", 4, ip4(253, new byte[8]), 20),
                Arguments.of("IPv4 IGMP", 4, ip4(2, HEX.parseHex("1164000000000000")), 28),
                Arguments.of("IPv4 TCP, data offset 3: at least 20", 4, ip4(6, TCP3), 40),
                Arguments.of("IPv4 DCCP", 4, ip4(33, new byte[16]), 32),
                Arguments.of("IPv4 UDP-Lite", 4, ip4(136, UDP), 28),
                Arguments.of("IPv4 TCP cut short before its data offset", 4, ip4(6, java.util.Arrays.copyOf(TCP5, 10)),
                        20),
                Arguments.of("IPv6 UDP", 6, ip6(17, UDP), 48),
                Arguments.of("IPv6 TCP", 6, ip6(6, TCP5), 60),
                Arguments.of("IPv6 hop-by-hop, UDP", 6, ip6(0, cat(HEX.parseHex("1100010400000000"), UDP)), 56),
                Arguments.of("IPv6 first fragment, UDP", 6, ip6(44, cat(HEX.parseHex("1100000100000009"), UDP)), 56),
                Arguments.of("IPv6 later fragment", 6, ip6(44, cat(HEX.parseHex("1100000800000009"), new byte[8])), 48),
                Arguments.of("IPv6 ICMPv6", 6, ip6(58, HEX.parseHex("8000000000010001")), 48),
                Arguments.of("IPv6 routing header, UDP", 6, ip6(43, cat(HEX.parseHex("1100000000000000"), UDP)), 56),
                Arguments.of("IPv6 no next header", 6, ip6(59, new byte[0]), 40),
                Arguments.of("IPv4 in IPv6, UDP", 6, ip6(4, INNER4), 68),
                Arguments.of("IPv6 destination options, TCP", 6, ip6(60, cat(HEX.parseHex("0600010400000000"), TCP5)),
                        68));
    }

    static PacketContext packet(int version, byte[] datagram) {
        PacketContext p = new PacketContext();
        MemorySegment s = MemorySegment.ofArray(datagram);
        p = version == 4 ? p.ipv4(s, 0) : p.ipv6(s, 0);
        Host host = new Host();
        host.addLink("eth0", 0x020000000002L, 1500);
        return p.host(host).inInterface("eth0").hook(Hook.PREROUTING);
    }

    @ParameterizedTest(name = "{0}: {3}")
    @MethodSource("payloadOffsets")
    void payloadOffsetIsWhereLinuxsFlowDissectorFindsThePayload(String name, int version, byte[] datagram, int offset) {
        assertThat(ClassicBpf.run(PAY_OFFSET, packet(version, datagram))).isEqualTo(offset);
    }

    @Test
    void payloadOffsetIsZeroWhenTheDissectionFails() {
        // GRE carrying an unknown protocol, and an IPv6 extension header cut short
        assertThat(ClassicBpf.run(PAY_OFFSET, packet(4, ip4(47, HEX.parseHex("00001234abcd"))))).isZero();
        assertThat(ClassicBpf.run(PAY_OFFSET, packet(6, ip6(0, new byte[1])))).isZero();
    }

    /** Tunnels: GRE version 1 (PPTP), GRE carrying Ethernet, MPLS (recorded from Linux 6.18, see TunnelDatagrams). */
    static Stream<Arguments> tunnelPayloadOffsets() {
        return TunnelDatagrams.cases().stream().map(c -> Arguments.of(c.name(), c.version(), c.datagram(),
                c.payloadOffset()));
    }

    @ParameterizedTest(name = "{0}: {3}")
    @MethodSource("tunnelPayloadOffsets")
    void payloadOffsetThroughTunnelsIsWhereLinuxsFlowDissectorFindsIt(String name, int version, byte[] datagram,
            int offset) {
        assertThat(ClassicBpf.run(PAY_OFFSET, packet(version, datagram))).isEqualTo(offset);
    }

    @Test
    void receiveHashIsZeroAsNothingComputedItBeforeTheHook() {
        // Linux 6.18: "ld rxhash; jeq #0" matched every received packet of KernelExtensionPacketsDifferentialTest
        assertThat(ClassicBpf.run(RXHASH, packet(4, ip4(17, UDP)))).isZero();
    }

    /** Netlink attributes from offset 20 of a datagram: {len 8, type 1}, {len 6, type 2 | NLA_F_NESTED}, {len 12, type 3 nesting {len 8, type 4}}. */
    static byte[] attributes() {
        byte[] a = HEX.parseHex("0800" + "0100" + "aabbccdd" + "0600" + "0280" + "eeff" + "0000"
                + "0c00" + "0300" + "0800" + "0400" + "11223344");
        return ip4(253, a);
    }

    static Stream<Arguments> netlinkAttributes() {
        // A = 20 (ld #20), X = the type (ldx #type), ld nlattr / nlattr_nest, ret a
        return Stream.of(
                Arguments.of("the first attribute", "nlattr", 20, 1, 20L),
                Arguments.of("the second, its flag bits masked off, after 8 bytes", "nlattr", 20, 2, 28L),
                Arguments.of("the third, after a length of 6 padded to 8", "nlattr", 20, 3, 36L),
                Arguments.of("a type no attribute has", "nlattr", 20, 9, 0L),
                Arguments.of("a type only nested attributes have", "nlattr", 20, 4, 0L),
                Arguments.of("inside the attribute at A", "nlattr_nest", 36, 4, 40L),
                Arguments.of("inside: not found", "nlattr_nest", 36, 1, 0L),
                Arguments.of("A past the last header", "nlattr", 49, 1, 0L),
                Arguments.of("A inside an attribute: its bytes read as a header too long", "nlattr", 24, 1, 0L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("netlinkAttributes")
    void netlinkAttributeLoadsFindTheOffsetOfTheAttribute(String name, String load, int a, int type, long offset) {
        long k = load.equals("nlattr") ? 4294963212L : 4294963216L;
        List<Insn> program = List.of(new Insn(0x00, 0, 0, a), new Insn(0x01, 0, 0, type), new Insn(0x20, 0, 0, k),
                new Insn(0x16, 0, 0, 0));
        assertThat(ClassicBpf.run(program, packet(4, attributes()))).isEqualTo(offset);
    }
}
