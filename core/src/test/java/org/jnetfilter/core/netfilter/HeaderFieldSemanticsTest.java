package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.SemanticsPackets.bytes;
import static org.jnetfilter.core.netfilter.SemanticsPackets.concat;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ipv4;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ipv6;
import static org.jnetfilter.core.netfilter.SemanticsPackets.load;
import static org.jnetfilter.core.netfilter.SemanticsPackets.loadTruncated;
import static org.jnetfilter.core.netfilter.SemanticsPackets.match;
import static org.jnetfilter.core.netfilter.SemanticsPackets.tcp;

import java.lang.foreign.MemorySegment;
import java.util.stream.Stream;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Protocols;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** tos, dscp, ecn, tcpmss and realm against packet bytes: xt_dscp.c, xt_ecn.c, xt_tcpmss.c, xt_realm.c. */
class HeaderFieldSemanticsTest {
    static final Family V4 = Family.IPV4;
    static final Family V6 = Family.IPV6;
    static final int TCP = Protocols.TCP;
    static final int UDP = Protocols.UDP;

    static final byte[] UDP8 = bytes(0x9c, 0x40, 0, 53, 0, 8, 0, 0);

    static Arguments yes(String name, ExtensionData d, MemorySegment s) {
        return Arguments.of(name, d, s, -1, true, false);
    }

    static Arguments no(String name, ExtensionData d, MemorySegment s) {
        return Arguments.of(name, d, s, -1, false, false);
    }

    static Arguments drops(String name, ExtensionData d, MemorySegment s, int truncateTo) {
        return Arguments.of(name, d, s, truncateTo, false, true);
    }

    static Arguments noCut(String name, ExtensionData d, MemorySegment s, int truncateTo) {
        return Arguments.of(name, d, s, truncateTo, false, false);
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                // tos: (tos & mask) == value
                yes("tos exact", match(V4, -1, "tos", "--tos", "0x10/0xff"), ipv4(0x10, UDP, 0, UDP8)),
                no("tos differs", match(V4, -1, "tos", "--tos", "0x10/0xff"), ipv4(0x12, UDP, 0, UDP8)),
                yes("tos symbol ignores the precedence bits (mask 0x3f)",
                        match(V4, -1, "tos", "--tos", "Minimize-Delay"), ipv4(0xD0, UDP, 0, UDP8)),
                no("tos symbol sees the ECN bits", match(V4, -1, "tos", "--tos", "Minimize-Delay"),
                        ipv4(0x11, UDP, 0, UDP8)),
                yes("tos masked", match(V4, -1, "tos", "--tos", "0x08/0x08"), ipv4(0xF8, UDP, 0, UDP8)),
                no("tos negated", match(V4, -1, "tos", "!", "--tos", "0x10/0xff"), ipv4(0x10, UDP, 0, UDP8)),
                yes("tos negated other", match(V4, -1, "tos", "!", "--tos", "0x10/0xff"), ipv4(0x00, UDP, 0, UDP8)),
                yes("tos IPv6 traffic class", match(V6, -1, "tos", "--tos", "0xb8/0xff"), ipv6(0xB8, UDP, UDP8)),
                no("tos IPv6 traffic class differs", match(V6, -1, "tos", "--tos", "0xb8/0xff"),
                        ipv6(0xB4, UDP, UDP8)),
                // dscp: tos >> 2
                yes("dscp EF", match(V4, -1, "dscp", "--dscp-class", "EF"), ipv4(0xB8, UDP, 0, UDP8)),
                yes("dscp EF with ECN CE", match(V4, -1, "dscp", "--dscp", "0x2e"), ipv4(0xBB, UDP, 0, UDP8)),
                no("dscp other", match(V4, -1, "dscp", "--dscp", "0x2e"), ipv4(0xB4, UDP, 0, UDP8)),
                yes("dscp 0 boundary", match(V4, -1, "dscp", "--dscp", "0"), ipv4(0x03, UDP, 0, UDP8)),
                yes("dscp 63 boundary", match(V4, -1, "dscp", "--dscp", "63"), ipv4(0xFC, UDP, 0, UDP8)),
                no("dscp negated", match(V4, -1, "dscp", "!", "--dscp", "0x2e"), ipv4(0xB8, UDP, 0, UDP8)),
                yes("dscp IPv6", match(V6, -1, "dscp", "--dscp", "0x0a"), ipv6(0x28, UDP, UDP8)),
                // ecn: ECT codepoint and TCP flags
                yes("ecn ect 3 (CE)", match(V4, -1, "ecn", "--ecn-ip-ect", "3"), ipv4(0x03, UDP, 0, UDP8)),
                no("ecn ect 3 vs 1", match(V4, -1, "ecn", "--ecn-ip-ect", "3"), ipv4(0x01, UDP, 0, UDP8)),
                yes("ecn ect 0", match(V4, -1, "ecn", "--ecn-ip-ect", "0"), ipv4(0xB8, UDP, 0, UDP8)),
                yes("ecn ! ect 0", match(V4, -1, "ecn", "!", "--ecn-ip-ect", "0"), ipv4(0x02, UDP, 0, UDP8)),
                yes("ecn IPv6 ect 2", match(V6, -1, "ecn", "--ecn-ip-ect", "2"), ipv6(0x02, UDP, UDP8)),
                yes("ecn ECE set", match(V4, TCP, "ecn", "--ecn-tcp-ece"), ipv4(TCP, tcp(0x50))),
                no("ecn ECE clear", match(V4, TCP, "ecn", "--ecn-tcp-ece"), ipv4(TCP, tcp(0x10))),
                yes("ecn ! ECE", match(V4, TCP, "ecn", "!", "--ecn-tcp-ece"), ipv4(TCP, tcp(0x10))),
                yes("ecn CWR and ECE", match(V4, TCP, "ecn", "--ecn-tcp-cwr", "--ecn-tcp-ece"),
                        ipv4(TCP, tcp(0xC2))),
                no("ecn CWR and ECE, only CWR", match(V4, TCP, "ecn", "--ecn-tcp-cwr", "--ecn-tcp-ece"),
                        ipv4(TCP, tcp(0x82))),
                yes("ecn IPv6 CWR", match(V6, TCP, "ecn", "--ecn-tcp-cwr"), ipv6(0, TCP, tcp(0x80))),
                noCut("ecn TCP header cut short: no match, no drop", match(V4, TCP, "ecn", "--ecn-tcp-cwr"),
                        ipv4(TCP, tcp(0x80)), 30),
                // tcpmss: the MSS option
                yes("tcpmss 1460 in range", match(V4, TCP, "tcpmss", "--mss", "1000:1500"),
                        ipv4(TCP, tcp(0x02, 2, 4, 0x05, 0xb4))),
                yes("tcpmss lower boundary", match(V4, TCP, "tcpmss", "--mss", "1460:1500"),
                        ipv4(TCP, tcp(0x02, 2, 4, 0x05, 0xb4))),
                yes("tcpmss upper boundary", match(V4, TCP, "tcpmss", "--mss", "1000:1460"),
                        ipv4(TCP, tcp(0x02, 2, 4, 0x05, 0xb4))),
                no("tcpmss one above", match(V4, TCP, "tcpmss", "--mss", "1000:1459"),
                        ipv4(TCP, tcp(0x02, 2, 4, 0x05, 0xb4))),
                yes("tcpmss after NOPs and wscale", match(V4, TCP, "tcpmss", "--mss", "536"),
                        ipv4(TCP, tcp(0x02, 1, 3, 3, 7, 1, 1, 2, 4, 0x02, 0x18))),
                no("tcpmss no option", match(V4, TCP, "tcpmss", "--mss", "0:65535"), ipv4(TCP, tcp(0x02))),
                yes("tcpmss no option, negated", match(V4, TCP, "tcpmss", "!", "--mss", "1460"),
                        ipv4(TCP, tcp(0x02))),
                no("tcpmss negated", match(V4, TCP, "tcpmss", "!", "--mss", "1460"),
                        ipv4(TCP, tcp(0x02, 2, 4, 0x05, 0xb4))),
                no("tcpmss option of wrong length", match(V4, TCP, "tcpmss", "--mss", "1460"),
                        ipv4(TCP, tcp(0x02, 2, 3, 0x05, 0xb4))),
                yes("tcpmss IPv6", match(V6, TCP, "tcpmss", "--mss", "1440"),
                        ipv6(0, TCP, tcp(0x02, 2, 4, 0x05, 0xa0))),
                drops("tcpmss options cut short", match(V4, TCP, "tcpmss", "--mss", "1460"),
                        ipv4(TCP, tcp(0x02, 2, 4, 0x05, 0xb4)), 42),
                drops("tcpmss TCP header cut short", match(V4, TCP, "tcpmss", "--mss", "1460"),
                        ipv4(TCP, tcp(0x02)), 39),
                drops("tcpmss data offset below 5", match(V4, TCP, "tcpmss", "--mss", "1460"),
                        ipv4(TCP, dataOffset(tcp(0x02), 4)), -1),
                // realm: no route realms, tclassid 0
                yes("realm 0", match(V4, -1, "realm", "--realm", "0"), ipv4(UDP, UDP8)),
                no("realm 5", match(V4, -1, "realm", "--realm", "5"), ipv4(UDP, UDP8)),
                yes("realm ! 5", match(V4, -1, "realm", "!", "--realm", "5"), ipv4(UDP, UDP8)),
                yes("realm 0/0xff00", match(V4, -1, "realm", "--realm", "0x0/0xff00"), ipv4(UDP, UDP8)));
    }

    static byte[] dataOffset(byte[] tcp, int words) {
        tcp[12] = (byte) (words << 4);
        return tcp;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesAsTheKernel(String name, ExtensionData d, MemorySegment s, int truncateTo, boolean expected,
                            boolean hotdrop) {
        PacketContext pkt = truncateTo < 0 ? load(s) : loadTruncated(s, truncateTo);
        assertThat(d.matches(pkt)).isEqualTo(expected);
        assertThat(pkt.hotdrop()).isEqualTo(hotdrop);
    }

    /** A concat use keeps the helper honest: a UDP datagram with payload is still seen by tos. */
    @org.junit.jupiter.api.Test
    void tosLooksOnlyAtTheIpHeader() {
        MemorySegment s = ipv4(0x10, UDP, 0, concat(UDP8, bytes(1, 2, 3)));
        assertThat(match(V4, -1, "tos", "--tos", "0x10/0xff").matches(load(s))).isTrue();
    }
}
