package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.SemanticsPackets.bytes;
import static org.jnetfilter.core.netfilter.SemanticsPackets.concat;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ext;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ipv6;
import static org.jnetfilter.core.netfilter.SemanticsPackets.load;
import static org.jnetfilter.core.netfilter.SemanticsPackets.loadTruncated;
import static org.jnetfilter.core.netfilter.SemanticsPackets.match;
import static org.jnetfilter.core.netfilter.SemanticsPackets.tcp;
import static org.jnetfilter.core.netfilter.SemanticsPackets.zeros;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.stream.Stream;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Protocols;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * frag, hbh, dst, rt, mh and ipv6header: the IPv6 extension header chain as ipv6_find_hdr and
 * ip6t_frag.c, ip6t_hbh.c, ip6t_rt.c, ip6t_mh.c, ip6t_ipv6header.c see it.
 */
class Ipv6ExtensionHeaderSemanticsTest {
    static final Family V6 = Family.IPV6;
    static final int HOP = 0;
    static final int TCP = Protocols.TCP;
    static final int ROUTING = 43;
    static final int FRAGMENT = 44;
    static final int ESP = 50;
    static final int NONE = 59;
    static final int DEST = 60;
    static final int MH = Protocols.MH;

    /** A fragment header: next header, reserved byte, offset (8-byte units), reserved bits, M, identification. */
    static byte[] frag(int next, int reserved, int offset, int resBits, boolean more, int id) {
        int word = offset << 3 | resBits << 1 | (more ? 1 : 0);
        return ByteBuffer.allocate(8).put((byte) next).put((byte) reserved).putShort((short) word).putInt(id).array();
    }

    /** A type-0 routing header with these addresses ({hi, lo} pairs). */
    static byte[] rt0(int next, int segmentsLeft, int reserved, long... addresses) {
        ByteBuffer b = ByteBuffer.allocate(8 + addresses.length * 8);
        b.put((byte) next).put((byte) addresses.length).put((byte) 0).put((byte) segmentsLeft).putInt(reserved);
        for (long a : addresses) {
            b.putLong(a);
        }
        return b.array();
    }

    static final long A_HI = 0x20010db800000000L;
    static final long A1 = 1;
    static final long A2 = 2;
    static final long A3 = 3;

    /** A mobility header: payload protocol, length, type, reserved, checksum, then 2 bytes of message. */
    static byte[] mh(int payloadProto, int type) {
        return bytes(payloadProto, 0, type, 0, 0, 0, 0, 0);
    }

    static Arguments c(String name, ExtensionData d, MemorySegment s, int length, boolean expected, boolean hotdrop) {
        return Arguments.of(name, d, s, length, expected, hotdrop);
    }

    static Arguments c(String name, ExtensionData d, MemorySegment s, boolean expected) {
        return c(name, d, s, -1, expected, false);
    }

    static ExtensionData m(String name, String... words) {
        return match(V6, -1, name, words);
    }

    static Stream<Arguments> cases() {
        MemorySegment first = ipv6(FRAGMENT, concat(frag(TCP, 0, 0, 0, true, 0x11223344), tcp(0x02)));
        MemorySegment later = ipv6(HOP, concat(ext(FRAGMENT, zeros(6)), frag(DEST, 0, 185, 0, false, 0x11223344),
                zeros(16)));
        MemorySegment reservedFrag = ipv6(FRAGMENT, concat(frag(TCP, 1, 0, 0, true, 7), tcp(0x02)));
        MemorySegment reservedBits = ipv6(FRAGMENT, concat(frag(TCP, 0, 0, 2, true, 7), tcp(0x02)));
        // hop-by-hop with router alert (5, length 2) and two Pad1
        MemorySegment hbh = ipv6(HOP, concat(ext(TCP, bytes(5, 2, 0, 0)), tcp(0x02)));
        // destination options after a routing header: PadN of 4 bytes (1, 2, 0, 0)
        MemorySegment dst = ipv6(ROUTING, concat(rt0(DEST, 1, 0, A_HI, A1), ext(TCP, bytes(1, 2, 0, 0)), tcp(0x02)));
        MemorySegment route = ipv6(HOP, concat(ext(ROUTING, zeros(6)), rt0(TCP, 2, 0, A_HI, A1, A_HI, A2, A_HI, A3),
                tcp(0x02)));
        MemorySegment routeReserved = ipv6(ROUTING, concat(rt0(TCP, 0, 0x10, A_HI, A1), tcp(0x02)));
        MemorySegment type2 = ipv6(ROUTING, concat(bytes(TCP, 2, 2, 1, 0, 0, 0, 0), zeros(16), tcp(0x02)));
        return Stream.of(
                // frag
                c("frag id", m("frag", "--fragid", "287454020"), first, true),
                c("frag id range misses", m("frag", "--fragid", "0:287454019"), first, false),
                c("frag ! id", m("frag", "!", "--fragid", "287454020"), first, false),
                c("frag first", m("frag", "--fragfirst"), first, true),
                c("frag first on a later fragment", m("frag", "--fragfirst"), later, false),
                c("frag more", m("frag", "--fragmore"), first, true),
                c("frag last on M set", m("frag", "--fraglast"), first, false),
                c("frag last on the last one", m("frag", "--fraglast"), later, true),
                c("frag later fragment found behind hop-by-hop", m("frag", "--fragid", "287454020"), later, true),
                c("frag reserved clear", m("frag", "--fragres"), first, true),
                c("frag reserved byte set", m("frag", "--fragres"), reservedFrag, false),
                c("frag reserved bits set", m("frag", "--fragres"), reservedBits, false),
                c("frag --fraglen is not compared", m("frag", "--fraglen", "99"), first, true),
                c("frag absent", m("frag", "--fragfirst"), hbh, false),
                c("frag header cut short drops", m("frag", "--fragfirst"), first, 45, false, true),
                // hbh / dst
                c("hbh length 8", m("hbh", "--hbh-len", "8"), hbh, true),
                c("hbh length 16", m("hbh", "--hbh-len", "16"), hbh, false),
                c("hbh ! length 16", m("hbh", "!", "--hbh-len", "16"), hbh, true),
                c("hbh first option router alert", m("hbh", "--hbh-opts", "5:2"), hbh, true),
                c("hbh options in order, Pad1s", m("hbh", "--hbh-opts", "5,0,0"), hbh, true),
                c("hbh option length differs", m("hbh", "--hbh-opts", "5:3"), hbh, false),
                c("hbh option type differs", m("hbh", "--hbh-opts", "1"), hbh, false),
                c("hbh more options than the header", m("hbh", "--hbh-opts", "5,0,0,0"), hbh, false),
                c("hbh absent", m("hbh", "--hbh-len", "8"), dst, false),
                c("hbh header longer than the packet", m("hbh", "--hbh-len", "8"), hbh, 47, false, false),
                c("hbh chain cut short drops", m("hbh", "--hbh-len", "8"), dst, 41, false, true),
                c("dst behind a routing header", m("dst", "--dst-len", "8", "--dst-opts", "1:2"), dst, true),
                c("dst option length any", m("dst", "--dst-opts", "1"), dst, true),
                c("dst absent", m("dst", "--dst-len", "8"), hbh, false),
                // rt
                c("rt type 0", m("rt", "--rt-type", "0"), route, true),
                c("rt ! type 0", m("rt", "!", "--rt-type", "0"), route, false),
                c("rt type 2", m("rt", "--rt-type", "2"), type2, true),
                c("rt segments left", m("rt", "--rt-segsleft", "2"), route, true),
                c("rt segments left range edge", m("rt", "--rt-segsleft", "3:5"), route, false),
                c("rt length in bytes", m("rt", "--rt-len", "56"), route, true),
                c("rt length other", m("rt", "--rt-len", "48"), route, false),
                c("rt reserved zero", m("rt", "--rt-type", "0", "--rt-0-res"), route, true),
                c("rt reserved non-zero", m("rt", "--rt-type", "0", "--rt-0-res"), routeReserved, false),
                c("rt addresses strict, all in order", m("rt", "--rt-type", "0", "--rt-0-addrs",
                        "2001:db8::1,2001:db8::2,2001:db8::3"), route, true),
                c("rt addresses strict, a prefix only", m("rt", "--rt-type", "0", "--rt-0-addrs",
                        "2001:db8::1,2001:db8::2"), route, false),
                c("rt addresses not strict, a subsequence", m("rt", "--rt-type", "0", "--rt-0-addrs",
                        "2001:db8::1,2001:db8::3", "--rt-0-not-strict"), route, true),
                c("rt addresses not strict, out of order", m("rt", "--rt-type", "0", "--rt-0-addrs",
                        "2001:db8::3,2001:db8::1", "--rt-0-not-strict"), route, false),
                c("rt more addresses than the header", m("rt", "--rt-type", "0", "--rt-0-addrs",
                        "2001:db8::1,2001:db8::2,2001:db8::3,2001:db8::4", "--rt-0-not-strict"), route, false),
                c("rt absent", m("rt", "--rt-type", "0"), hbh, false),
                c("rt header longer than the packet", m("rt", "--rt-type", "0"), route, 80, false, false),
                // mh
                c("mh binding update", match(V6, MH, "mh", "--mh-type", "binding-update"), ipv6(MH, mh(NONE, 5)),
                        true),
                c("mh range", match(V6, MH, "mh", "--mh-type", "4:6"), ipv6(MH, mh(NONE, 6)), true),
                c("mh range misses", match(V6, MH, "mh", "--mh-type", "4:6"), ipv6(MH, mh(NONE, 7)), false),
                c("mh negated", match(V6, MH, "mh", "!", "--mh-type", "5"), ipv6(MH, mh(NONE, 5)), false),
                c("mh payload protocol not 59 drops", match(V6, MH, "mh", "--mh-type", "5"), ipv6(MH, mh(TCP, 5)),
                        -1, false, true),
                c("mh cut short drops", match(V6, MH, "mh", "--mh-type", "5"), ipv6(MH, mh(NONE, 5)), 45, false,
                        true),
                // ipv6header
                c("ipv6header exactly hop + protocol", m("ipv6header", "--header", "hop,prot"), hbh, true),
                c("ipv6header hop alone is not exact", m("ipv6header", "--header", "hop"), hbh, false),
                c("ipv6header ! hop alone", m("ipv6header", "!", "--header", "hop"), hbh, true),
                c("ipv6header soft hop", m("ipv6header", "--header", "hop", "--soft"), hbh, true),
                c("ipv6header soft route,dst", m("ipv6header", "--header", "route,dst", "--soft"), dst, true),
                c("ipv6header soft frag missing", m("ipv6header", "--header", "frag", "--soft"), dst, false),
                c("ipv6header soft ! frag", m("ipv6header", "!", "--header", "frag", "--soft"), dst, true),
                c("ipv6header soft ! hop,frag: hop present", m("ipv6header", "!", "--header", "hop,frag", "--soft"),
                        hbh, false),
                c("ipv6header esp ends the chain", m("ipv6header", "--header", "esp"), ipv6(ESP, zeros(16)), true),
                c("ipv6header no next header", m("ipv6header", "--header", "hop,none"),
                        ipv6(HOP, ext(NONE, zeros(6))), true),
                c("ipv6header frag, dst of a later fragment", m("ipv6header", "--header", "hop,frag,dst,prot"),
                        ipv6(HOP, concat(ext(FRAGMENT, zeros(6)), frag(DEST, 0, 185, 0, false, 9), ext(TCP, zeros(6)),
                                zeros(8))), true),
                c("ipv6header reads a later fragment's zeros as hop-by-hop headers, then runs out",
                        m("ipv6header", "--header", "hop,frag,dst,prot", "--soft"), later, false),
                c("ipv6header header cut short", m("ipv6header", "--header", "hop,prot"), hbh, 41, false, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesAsTheKernel(String name, ExtensionData d, MemorySegment s, int length, boolean expected,
                            boolean hotdrop) {
        PacketContext pkt = length < 0 ? load(s) : loadTruncated(s, length);
        assertThat(d.matches(pkt)).isEqualTo(expected);
        assertThat(pkt.hotdrop()).isEqualTo(hotdrop);
    }
}
