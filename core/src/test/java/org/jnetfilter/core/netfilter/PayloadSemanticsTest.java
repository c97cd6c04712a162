package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ascii;
import static org.jnetfilter.core.netfilter.SemanticsPackets.bytes;
import static org.jnetfilter.core.netfilter.SemanticsPackets.concat;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ipv4;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ipv6;
import static org.jnetfilter.core.netfilter.SemanticsPackets.load;
import static org.jnetfilter.core.netfilter.SemanticsPackets.loadTruncated;
import static org.jnetfilter.core.netfilter.SemanticsPackets.match;
import static org.jnetfilter.core.netfilter.SemanticsPackets.tcp;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.stream.Stream;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Protocols;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** u32 and string: reads at offsets from the network header (xt_u32.c, xt_string.c / skb_find_text). */
class PayloadSemanticsTest {
    static final Family V4 = Family.IPV4;
    static final Family V6 = Family.IPV6;
    static final int TCP = Protocols.TCP;
    static final int UDP = Protocols.UDP;

    /** 20 (IP) + 20 (TCP) + "GET /index.html HTTP/1.1": "GET" at 40, "HTTP" at 56. */
    static final MemorySegment HTTP = ipv4(TCP, tcp(40000, 80, 0x18, new int[0], ascii("GET /index.html HTTP/1.1")));
    static final byte[] UDP8 = bytes(0x9c, 0x40, 0, 53, 0, 8, 0, 0);

    static ExtensionData u32(String test) {
        return match(V4, -1, "u32", "--u32", test);
    }

    static ExtensionData string(String... words) {
        return match(V4, -1, "string", words);
    }

    static Arguments c(String name, ExtensionData d, MemorySegment s, boolean expected) {
        return Arguments.of(name, d, s, -1, expected);
    }

    static Arguments cut(String name, ExtensionData d, MemorySegment s, int length, boolean expected) {
        return Arguments.of(name, d, s, length, expected);
    }

    static Stream<Arguments> cases() {
        MemorySegment tcp4 = ipv4(TCP, tcp(0x02));
        MemorySegment udp4 = ipv4(UDP, UDP8);
        return Stream.of(
                // u32: the classic examples of iptables-extensions(8)
                c("u32 version 4", u32("0>>28=4"), tcp4, true),
                c("u32 protocol TCP or UDP", u32("6&0xFF=6,17"), udp4, true),
                c("u32 protocol range misses", u32("6&0xFF=1:5"), tcp4, false),
                c("u32 total length 40", u32("0&0xFFFF=40"), tcp4, true),
                c("u32 negated", match(V4, -1, "u32", "!", "--u32", "0&0xFFFF=40"), tcp4, false),
                c("u32 && both hold", u32("0>>28=4&&6&0xFF=6"), tcp4, true),
                c("u32 && second fails", u32("0>>28=4&&6&0xFF=17"), tcp4, false),
                c("u32 @ to the TCP destination port", u32("0>>22&0x3C@0&0xFFFF=80"), tcp4, true),
                c("u32 @ to the TCP flags (SYN)", u32("0>>22&0x3C@12>>16&0x3F=2"), tcp4, true),
                c("u32 @ to the HTTP payload: 'GET '", u32("0>>22&0x3C@12>>26&0x3C@0=0x47455420"), HTTP, true),
                c("u32 last word readable (urgent pointer 0)", u32("36&0xFFFF=0"), tcp4, true),
                c("u32 one byte past the end", u32("37=0:0xFFFFFFFF"), tcp4, false),
                c("u32 @ past the end", u32("0>>22&0x3C@20=0:0xFFFFFFFF"), tcp4, false),
                c("u32 @ exactly to the last word", u32("0>>22&0x3C@16=0:0xFFFFFFFF"), tcp4, true),
                cut("u32 packet under 4 bytes", u32("0=0:0xFFFFFFFF"), tcp4, 3, false),
                c("u32 << by 32 is a shift by 0 (x86)", u32("0<<32>>28=4"), tcp4, true),
                c("u32 on IPv6: version 6", match(V6, -1, "u32", "--u32", "0>>28=6"), ipv6(UDP, UDP8), true),
                // string: from/to are offsets from the IP header; the pattern must end at or before 'to'
                c("string found (bm)", string("--string", "HTTP", "--algo", "bm"), HTTP, true),
                c("string found (kmp)", string("--string", "HTTP", "--algo", "kmp"), HTTP, true),
                c("string absent (bm)", string("--string", "POST", "--algo", "bm"), HTTP, false),
                c("string negated", match(V4, -1, "string", "!", "--string", "POST", "--algo", "kmp"), HTTP, true),
                c("string case differs", string("--string", "http", "--algo", "bm"), HTTP, false),
                c("string --icase (bm)", string("--string", "http", "--algo", "bm", "--icase"), HTTP, true),
                c("string --icase (kmp)", string("--string", "hTtP", "--algo", "kmp", "--icase"), HTTP, true),
                c("string hex", string("--hex-string", "|47 45 54|", "--algo", "bm"), HTTP, true),
                c("string --from at the start", string("--string", "GET", "--algo", "bm", "--from", "40"), HTTP, true),
                c("string --from one past", string("--string", "GET", "--algo", "bm", "--from", "41"), HTTP, false),
                c("string --to at the end", string("--string", "GET", "--algo", "kmp", "--to", "43"), HTTP, true),
                c("string --to one short", string("--string", "GET", "--algo", "kmp", "--to", "42"), HTTP, false),
                c("string in the IP header", string("--hex-string", "|c0a8010a|", "--algo", "bm", "--to", "20"),
                        HTTP, true),
                c("string ending at the packet's end", string("--string", "1.1", "--algo", "bm"), HTTP, true),
                cut("string past the trimmed length", string("--string", "1.1", "--algo", "bm"), HTTP, 63, false),
                c("string icase Latin-1: kernel toupper(0xE9) == 0xC9",
                        match(V4, -1, "string", "--hex-string", "|c9|", "--algo", "bm", "--icase"),
                        ipv4(UDP, concat(UDP8, bytes(0xE9))), true),
                c("string icase: 0xF7 has no upper case",
                        match(V4, -1, "string", "--hex-string", "|d7|", "--algo", "bm", "--icase"),
                        ipv4(UDP, concat(UDP8, bytes(0xF7))), false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesAsTheKernel(String name, ExtensionData d, MemorySegment s, int length, boolean expected) {
        PacketContext pkt = length < 0 ? load(s) : loadTruncated(s, length);
        assertThat(d.matches(pkt)).isEqualTo(expected);
        assertThat(pkt.hotdrop()).isFalse();
    }

    @Test
    void bmAndKmpAgreeOnEveryPatternOfThePacket() {
        byte[] packet = HTTP.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        for (int from = 36; from < packet.length; from += 3) {
            for (int len = 1; from + len <= packet.length && len <= 6; len++) {
                String hex = "|" + java.util.HexFormat.of().formatHex(packet, from, from + len) + "|";
                for (int to : new int[] {from + len - 1, from + len, 65535}) {
                    boolean bm = match(V4, -1, "string", "--hex-string", hex, "--algo", "bm", "--to",
                            Integer.toString(to)).matches(load(HTTP));
                    boolean kmp = match(V4, -1, "string", "--hex-string", hex, "--algo", "kmp", "--to",
                            Integer.toString(to)).matches(load(HTTP));
                    assertThat(bm).isEqualTo(kmp);
                    if (to >= from + len) {
                        assertThat(bm).isTrue();
                    }
                }
            }
        }
    }

    @Test
    void bmMissesAPatternAcrossTheBuffersOfAReassembledDatagramWhileKmpFindsIt() {
        // Linux 6.18 (checked in a namespace): "GET" at 40..42 of HTTP split as if the first fragment's buffer
        // ended after "G" (head 41 bytes) and the second after "ET /" (4 bytes); ts_bm searches block by block
        PacketContext pkt = load(HTTP).fragmentList(41, new int[] {4, 19});
        assertThat(string("--string", "GET", "--algo", "bm").matches(pkt)).isFalse();
        assertThat(string("--string", "GET", "--algo", "kmp").matches(pkt)).isTrue();
        // occurrences inside one block are found; "HTTP" lies in the third
        assertThat(string("--string", "ET /", "--algo", "bm").matches(pkt)).isTrue();
        assertThat(string("--string", "HTTP", "--algo", "bm").matches(pkt)).isTrue();
        assertThat(string("--string", "/index", "--algo", "bm").matches(pkt)).isFalse();
        // pulled into the linear area (TCPMSS does), the packet is one block again
        assertThat(string("--string", "GET", "--algo", "bm").matches(pkt.linearize())).isTrue();
    }

    @Test
    void blockEndsFollowTheHeadAndTheFragmentBuffers() {
        PacketContext pkt = load(HTTP);
        assertThat(pkt.blockEnd(0)).isEqualTo(pkt.length());
        pkt.fragmentList(41, new int[] {4, 19});
        assertThat(List.of(pkt.blockEnd(0), pkt.blockEnd(40), pkt.blockEnd(41), pkt.blockEnd(44), pkt.blockEnd(45),
                pkt.blockEnd(63))).containsExactly(41, 41, 45, 45, 64, 64);
    }

    /**
     * string --algo fsm over UDP datagrams to port 9 whose payload (at offset 28) is each of these strings: which
     * token programs matched, as the counters of Linux 6.18 showed them in a namespace (2026-11-30).
     */
    static Stream<Arguments> fsmCases() {
        String[] payloads = {"Z", "Zx", "xZy", "ZY", "Z123", "5ab"};
        Object[][] programs = {
            // one 0x45 from offset 0: the version byte, but the data does not end there
            {new String[] {"--hex-string", "|00000045|"}, "000000"},
            // 0x45 then any bytes to the end
            {new String[] {"--hex-string", "|0000004501000200|"}, "111111"},
            // head skip of anything, then 'Z', then any bytes: a Z anywhere
            {new String[] {"--hex-string", "|010004000000005a01000200|"}, "111110"},
            // from the payload: 'Z' then anything
            {new String[] {"--from", "28", "--hex-string", "|0000005a01000200|"}, "110110"},
            // exactly 'Z' up to the end of the data
            {new String[] {"--from", "28", "--hex-string", "|0000005a|"}, "100000"},
            // the match plus the 4 bytes of the pattern must fit between from and to
            {new String[] {"--from", "28", "--to", "31", "--hex-string", "|0000005a|"}, "000000"},
            {new String[] {"--from", "28", "--to", "32", "--hex-string", "|0000005a|"}, "100000"},
            // one or more ASCII bytes, then anything
            {new String[] {"--from", "28", "--hex-string", "|0700030001000200|"}, "111111"},
        };
        List<Arguments> out = new java.util.ArrayList<>();
        for (Object[] program : programs) {
            String[] words = (String[]) program[0];
            String[] all = concatWords(words, "--algo", "fsm");
            for (int i = 0; i < payloads.length; i++) {
                MemorySegment packet = ipv4(UDP, concat(bytes(0x9c, 0x40, 0, 9, 0, 8 + payloads[i].length(), 0, 0),
                        ascii(payloads[i])));
                out.add(Arguments.of(String.join(" ", words) + " on \"" + payloads[i] + "\"", string(all), packet,
                        ((String) program[1]).charAt(i) == '1'));
            }
        }
        return out.stream();
    }

    static String[] concatWords(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fsmCases")
    void fsmRunsThePatternAsATokenProgramAsTheKernel(String name, ExtensionData d, MemorySegment s, boolean expected) {
        assertThat(d.matches(load(s))).isEqualTo(expected);
    }

    @Test
    void fsmCharacterClassesFollowTheTokenTypesOrder() {
        // types: 2 digit, 3 xdigit, 5 alpha, 10 lower, 11 upper, 12 punct, 13 space; one byte at offset 28, the end
        MemorySegment digit = ipv4(UDP, concat(UDP8, ascii("7")));
        MemorySegment upper = ipv4(UDP, concat(UDP8, ascii("Q")));
        MemorySegment latin1 = ipv4(UDP, concat(UDP8, bytes(0xE9)));
        for (Object[] c : new Object[][] {
            {"02", digit, true}, {"02", upper, false}, {"03", upper, false}, {"05", upper, true},
            {"0b", upper, true}, {"0a", upper, false}, {"0a", latin1, true}, {"07", latin1, false},
            {"01", latin1, true}, {"0c", digit, false}, {"0d", digit, false},
        }) {
            ExtensionData d = string("--from", "28", "--hex-string", "|" + c[0] + "000000|", "--algo", "fsm");
            assertThat(d.matches(load((MemorySegment) c[1]))).as("type %s", c[0]).isEqualTo(c[2]);
        }
    }

    @Test
    void fsmRefusesAtInsertionWhatFsmInitRefuses() {
        // Linux 6.18: "iptables: Invalid argument. Run `dmesg' for more information." for each of these
        for (String[] words : new String[][] {
            {"--string", "A"}, {"--hex-string", "|000000|"}, {"--hex-string", "|0e000041|"},
            {"--hex-string", "|00000541|"}, {"--hex-string", "|00000441|"}, {"--hex-string", "|0000005a00010059|"},
            {"--hex-string", "|00000041|", "--icase"},
        }) {
            ExtensionData d = string(concatWords(words, "--algo", "fsm"));
            assertThatThrownBy(() -> d.check("filter", 1 << 3, org.jnetfilter.core.rules.IpSpec.any(V4)))
                    .as(String.join(" ", words)).hasMessageContaining("Invalid argument");
        }
        for (String hex : new String[] {"|00000041|", "|0d000041|", "|0000044100000042|"}) {
            string("--hex-string", hex, "--algo", "fsm").check("filter", 1 << 3,
                    org.jnetfilter.core.rules.IpSpec.any(V4));
        }
    }
}
