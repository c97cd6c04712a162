package org.jnetfilter.core.bpf;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.jnetfilter.core.bpf.ClassicBpf.Insn;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** Classic BPF over a datagram: each program's return value for a UDP packet 10.0.0.1:1000 -> 10.0.0.2:53. */
class ClassicBpfTest {
    /** 20-byte IPv4 header, UDP 1000 -> 53, payload "abcd": 32 bytes; an Ethernet header in front of it. */
    static MemorySegment frame() {
        ByteBuffer b = ByteBuffer.allocate(14 + 32);
        b.put(new byte[] {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00});
        b.put((byte) 0x45).put((byte) 0).putShort((short) 32).putShort((short) 7).putShort((short) 0)
                .put((byte) 64).put((byte) 17).putShort((short) 0).putInt(0x0A000001).putInt(0x0A000002);
        b.putShort((short) 1000).putShort((short) 53).putShort((short) 12).putShort((short) 0);
        b.put(new byte[] {'a', 'b', 'c', 'd'});
        return MemorySegment.ofArray(b.array());
    }

    static PacketContext packet() {
        PacketContext p = new PacketContext().ipv4(frame(), 14).macSource(0x020000000001L);
        Host host = new Host();
        host.addLink("eth0", 0x020000000002L, 1500);
        return p.host(host).inInterface("eth0").hook(Hook.PREROUTING).mark(42);
    }

    static List<Insn> program(String text) {
        List<Insn> out = new ArrayList<>();
        for (String part : text.split(",")) {
            String[] f = part.strip().split(" ");
            out.add(new Insn(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]),
                    Long.parseLong(f[3])));
        }
        return out;
    }

    static Stream<Arguments> programs() {
        return Stream.of(
                Arguments.of("ldb [9]: the protocol", "48 0 0 9,22 0 0 0", 17L),
                Arguments.of("ldh [x+2] behind ldxb 4*([0]&0xf): the UDP destination port",
                        "177 0 0 0,72 0 0 2,22 0 0 0", 53L),
                Arguments.of("ld [16]: the destination address", "32 0 0 16,22 0 0 0", 0x0A000002L),
                Arguments.of("ld len", "128 0 0 0,22 0 0 0", 32L),
                Arguments.of("ld [28]: the last word", "32 0 0 28,22 0 0 0", 0x61626364L),
                Arguments.of("ld [29]: one byte past the end ends the program with 0",
                        "32 0 0 29,6 0 0 1", 0L),
                Arguments.of("ld [x-4] with x = len", "129 0 0 0,64 0 0 4294967292,22 0 0 0", 0x61626364L),
                Arguments.of("ldb [SKF_NET_OFF + 9]", "48 0 0 4293918729,22 0 0 0", 17L),
                Arguments.of("ldh [SKF_LL_OFF + 12]: the EtherType", "40 0 0 4292870156,22 0 0 0", 0x0800L),
                Arguments.of("ldb [SKF_LL_OFF + 11]: the last byte of the source MAC", "48 0 0 4292870155,22 0 0 0",
                        1L),
                Arguments.of("ancillary protocol", "40 0 0 4294963200,22 0 0 0", 0x0800L),
                Arguments.of("ancillary mark", "32 0 0 4294963220,22 0 0 0", 42L),
                Arguments.of("ancillary hatype", "32 0 0 4294963228,22 0 0 0", 1L),
                Arguments.of("ancillary A ^= X", "1 0 0 5,0 0 0 12,32 0 0 4294963240,22 0 0 0", 9L),
                Arguments.of("mul and rsh", "0 0 0 3,36 0 0 5,116 0 0 1,22 0 0 0", 7L),
                Arguments.of("sub wraps at 32 bits", "0 0 0 1,20 0 0 2,22 0 0 0", 0xFFFFFFFFL),
                Arguments.of("neg", "0 0 0 1,132 0 0 0,22 0 0 0", 0xFFFFFFFFL),
                Arguments.of("div is unsigned", "0 0 0 4294967295,52 0 0 2,22 0 0 0", 0x7FFFFFFFL),
                Arguments.of("div by x = 0 ends with 0", "1 0 0 0,0 0 0 9,60 0 0 0,6 0 0 1", 0L),
                Arguments.of("mod by x = 0 ends with 0", "1 0 0 0,0 0 0 9,156 0 0 0,6 0 0 1", 0L),
                Arguments.of("lsh by x = 33 shifts by 1", "1 0 0 33,0 0 0 1,108 0 0 0,22 0 0 0", 2L),
                Arguments.of("jgt is unsigned", "0 0 0 4294967295,37 0 1 1,6 0 0 1,6 0 0 2", 1L),
                Arguments.of("jset", "0 0 0 6,69 1 0 1,6 0 0 3,6 0 0 4", 3L),
                Arguments.of("ja skips", "5 0 0 1,6 0 0 0,6 0 0 5", 5L),
                Arguments.of("st, ld mem, tax, txa", "0 0 0 7,2 0 0 3,0 0 0 0,96 0 0 3,7 0 0 0,0 0 0 1,"
                        + "135 0 0 0,22 0 0 0", 7L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("programs")
    void returns(String name, String text, long expected) {
        assertThat(ClassicBpf.refusal(program(text))).isNull();
        assertThat(ClassicBpf.run(program(text), packet())).isEqualTo(expected);
    }

    @Test
    void interfaceLoadsEndTheProgramWhereThePacketHasNoDevice() {
        List<Insn> ifindex = program("32 0 0 4294963208,6 0 0 1");
        assertThat(ClassicBpf.run(ifindex, packet())).isEqualTo(1);
        assertThat(ClassicBpf.run(ifindex, packet().hook(Hook.OUTPUT))).isZero();
    }

    @Test
    void linkLayerLoadsNeedALinkLayerHeader() {
        List<Insn> ethertype = program("40 0 0 4292870156,22 0 0 0");
        PacketContext raw = new PacketContext().ipv4(frame().asSlice(14), 0);
        assertThat(ClassicBpf.run(ethertype, raw)).isZero();
    }

    static Stream<Arguments> refused() {
        // each checked on Linux 6.18 with iptables-legacy -m bpf: Invalid argument
        return Stream.of(
                Arguments.of("constant shift of 32", "100 0 0 32,6 0 0 1"),
                Arguments.of("ancillary offset past SKF_AD_MAX", "48 0 0 4294963268,6 0 0 1"),
                Arguments.of("ancillary offset SKF_AD_MAX", "48 0 0 4294963264,6 0 0 1"),
                Arguments.of("ancillary offset not a multiple of 4", "32 0 0 4294963202,6 0 0 1"),
                Arguments.of("memory read before a store", "96 0 0 0,6 0 0 1"),
                Arguments.of("memory read after a store on one path only", "21 0 1 0,2 0 0 1,96 0 0 1,6 0 0 1"),
                Arguments.of("division by constant 0", "52 0 0 0,6 0 0 1"),
                Arguments.of("conditional jump past the end", "21 0 1 0,6 0 0 1"),
                Arguments.of("no return at the end", "6 0 0 1,0 0 0 1"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refused")
    void refuses(String name, String text) {
        assertThat(ClassicBpf.refusal(program(text))).isNotNull();
    }

    @Test
    void acceptsWhatLinuxAccepts() {
        assertThat(ClassicBpf.refusal(program("100 0 0 31,6 0 0 1"))).isNull();
        assertThat(ClassicBpf.refusal(program("48 0 0 4294963200,6 0 0 1"))).isNull();
        assertThat(ClassicBpf.refusal(program("21 0 1 0,2 0 0 1,2 0 0 1,96 0 0 1,6 0 0 1"))).isNull();
        assertThat(ClassicBpf.refusal(program("21 0 1 0,22 0 0 0,6 0 0 0"))).isNull();
    }
}
