package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.SemanticsPackets.bytes;
import static org.jnetfilter.core.netfilter.SemanticsPackets.concat;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ext;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ipv4;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ipv6;
import static org.jnetfilter.core.netfilter.SemanticsPackets.load;
import static org.jnetfilter.core.netfilter.SemanticsPackets.loadTruncated;
import static org.jnetfilter.core.netfilter.SemanticsPackets.match;
import static org.jnetfilter.core.netfilter.SemanticsPackets.tcp;
import static org.jnetfilter.core.netfilter.SemanticsPackets.zeros;

import java.lang.foreign.MemorySegment;
import java.util.stream.Stream;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Protocols;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** esp, ah, ipcomp and policy: xt_esp.c, ipt_ah.c, ip6t_ah.c, xt_ipcomp.c, xt_policy.c. */
class IpsecHeaderSemanticsTest {
    static final Family V4 = Family.IPV4;
    static final Family V6 = Family.IPV6;
    static final int ESP = Protocols.ESP;
    static final int AH = Protocols.AH;
    static final int COMP = 108;
    static final int HOP = 0;
    static final int TCP = Protocols.TCP;
    static final int UDP = Protocols.UDP;

    /** ESP: SPI 0x00001000, sequence 1, then encrypted bytes. */
    static final byte[] ESP_1000 = concat(bytes(0, 0, 0x10, 0, 0, 0, 0, 1), zeros(16));
    static final byte[] ESP_MAX = concat(bytes(0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1), zeros(16));

    /** AH with a 12-byte ICV (24 bytes, length field 4), SPI 0x200, followed by {@code next}. */
    static byte[] ah(int next, int reserved, long spi) {
        return concat(bytes(next, 4, reserved >> 8, reserved, (int) (spi >> 24), (int) (spi >> 16), (int) (spi >> 8),
                (int) spi, 0, 0, 0, 7), zeros(12));
    }

    /** IPComp: next header, flags, CPI. */
    static byte[] comp(int cpi) {
        return concat(bytes(TCP, 0, cpi >> 8, cpi), zeros(12));
    }

    static Arguments c(String name, ExtensionData d, MemorySegment s, int length, boolean expected,
                       boolean hotdrop) {
        return Arguments.of(name, d, s, length, expected, hotdrop);
    }

    static Arguments c(String name, ExtensionData d, MemorySegment s, boolean expected) {
        return c(name, d, s, -1, expected, false);
    }

    static Stream<Arguments> cases() {
        MemorySegment ah4 = ipv4(AH, concat(ah(TCP, 0, 0x200), tcp(0x02)));
        MemorySegment ah6 = ipv6(HOP, concat(ext(AH, zeros(6)), ah(TCP, 0, 0x200), tcp(0x02)));
        MemorySegment ah6Reserved = ipv6(AH, concat(ah(TCP, 0x0100, 0x200), tcp(0x02)));
        return Stream.of(
                // esp
                c("esp spi", match(V4, ESP, "esp", "--espspi", "4096"), ipv4(ESP, ESP_1000), true),
                c("esp spi range", match(V4, ESP, "esp", "--espspi", "4000:5000"), ipv4(ESP, ESP_1000), true),
                c("esp spi range low edge", match(V4, ESP, "esp", "--espspi", "4096:5000"), ipv4(ESP, ESP_1000),
                        true),
                c("esp spi range below", match(V4, ESP, "esp", "--espspi", "4097:5000"), ipv4(ESP, ESP_1000),
                        false),
                c("esp negated", match(V4, ESP, "esp", "!", "--espspi", "4096"), ipv4(ESP, ESP_1000), false),
                c("esp spi 0xFFFFFFFF", match(V4, ESP, "esp", "--espspi", "4294967295"), ipv4(ESP, ESP_MAX), true),
                c("esp any spi", match(V4, ESP, "esp"), ipv4(ESP, ESP_MAX), true),
                c("esp IPv6", match(V6, ESP, "esp", "--espspi", "4096"), ipv6(ESP, ESP_1000), true),
                c("esp non-first fragment", match(V4, ESP, "esp", "--espspi", "4096"), ipv4(0, ESP, 0x0003, ESP_1000),
                        false),
                c("esp header cut short drops", match(V4, ESP, "esp", "--espspi", "4096"), ipv4(ESP, ESP_1000), 27,
                        false, true),
                // ah, IPv4: at thoff, the SPI only
                c("ah spi", match(V4, AH, "ah", "--ahspi", "512"), ah4, true),
                c("ah spi other", match(V4, AH, "ah", "--ahspi", "513"), ah4, false),
                c("ah ! spi", match(V4, AH, "ah", "!", "--ahspi", "513"), ah4, true),
                c("ah header cut short drops", match(V4, AH, "ah", "--ahspi", "512"), ah4, 31, false, true),
                c("ah non-first fragment", match(V4, AH, "ah", "--ahspi", "512"),
                        ipv4(0, AH, 0x0010, ah(TCP, 0, 0x200)), false),
                // ah, IPv6: found anywhere in the chain
                c("ah6 after hop-by-hop", match(V6, -1, "ah", "--ahspi", "512"), ah6, true),
                c("ah6 length in bytes", match(V6, -1, "ah", "--ahlen", "24"), ah6, true),
                c("ah6 length other", match(V6, -1, "ah", "--ahlen", "20"), ah6, false),
                c("ah6 ! length", match(V6, -1, "ah", "!", "--ahlen", "20"), ah6, true),
                c("ah6 reserved zero", match(V6, -1, "ah", "--ahres"), ah6, true),
                c("ah6 reserved non-zero", match(V6, -1, "ah", "--ahres"), ah6Reserved, false),
                c("ah6 reserved not asked", match(V6, -1, "ah", "--ahspi", "512"), ah6Reserved, true),
                c("ah6 absent: no match, no drop", match(V6, -1, "ah", "--ahspi", "512"), ipv6(TCP, tcp(0x02)),
                        false),
                c("ah6 chain cut short drops", match(V6, -1, "ah", "--ahspi", "512"), ah6, 49, false, true),
                c("ah6 header cut short drops", match(V6, -1, "ah", "--ahspi", "512"), ah6, 55, false, true),
                // ipcomp: the 16-bit CPI
                c("ipcomp cpi", match(V4, COMP, "ipcomp", "--ipcompspi", "0x1234"), ipv4(COMP, comp(0x1234)), true),
                c("ipcomp cpi range edge", match(V4, COMP, "ipcomp", "--ipcompspi", "0:4660"),
                        ipv4(COMP, comp(0x1234)), true),
                c("ipcomp cpi other", match(V4, COMP, "ipcomp", "--ipcompspi", "0x1235"), ipv4(COMP, comp(0x1234)),
                        false),
                c("ipcomp ! cpi", match(V4, COMP, "ipcomp", "!", "--ipcompspi", "0x1235"), ipv4(COMP, comp(0x1234)),
                        true),
                c("ipcomp cut short drops", match(V4, COMP, "ipcomp", "--ipcompspi", "1"), ipv4(COMP, comp(1)), 23,
                        false, true),
                c("ipcomp non-first fragment", match(V4, COMP, "ipcomp", "--ipcompspi", "1"),
                        ipv4(0, COMP, 0x0001, comp(1)), false),
                c("ipcomp IPv6", match(V6, COMP, "ipcomp", "--ipcompspi", "0x1234"), ipv6(COMP, comp(0x1234)), true),
                // policy: no security path, no xfrm bundle
                c("policy in none", match(V4, -1, "policy", "--dir", "in", "--pol", "none"), ipv4(ESP, ESP_1000), true),
                c("policy out none", match(V4, -1, "policy", "--dir", "out", "--pol", "none"), ipv4(UDP, zeros(8)),
                        true),
                c("policy in ipsec", match(V4, -1, "policy", "--dir", "in", "--pol", "ipsec"), ipv4(ESP, ESP_1000),
                        false),
                c("policy out ipsec strict esp", match(V4, -1, "policy", "--dir", "out", "--pol", "ipsec", "--strict",
                        "--proto", "esp"), ipv4(UDP, zeros(8)), false),
                c("policy in ipsec ! spi", match(V6, -1, "policy", "--dir", "in", "--pol", "ipsec", "!", "--spi", "5"),
                        ipv6(UDP, zeros(8)), false),
                c("policy IPv6 in none", match(V6, -1, "policy", "--dir", "in", "--pol", "none"), ipv6(ESP, ESP_1000),
                        true));
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
