package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jnetfilter.core.netfilter.SemanticsPackets.SRC4;
import static org.jnetfilter.core.netfilter.SemanticsPackets.DST4;
import static org.jnetfilter.core.netfilter.SemanticsPackets.bytes;
import static org.jnetfilter.core.netfilter.SemanticsPackets.copy;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ipv4;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ipv6;
import static org.jnetfilter.core.netfilter.SemanticsPackets.load;
import static org.jnetfilter.core.netfilter.SemanticsPackets.loadTruncated;
import static org.jnetfilter.core.netfilter.SemanticsPackets.match;
import static org.jnetfilter.core.netfilter.SemanticsPackets.target;
import static org.jnetfilter.core.netfilter.SemanticsPackets.tcp;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.packet.Ipv6Header;
import org.jnetfilter.core.packet.TcpHeader;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Protocols;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * TTL, HL, TOS, DSCP, ECN, TCPMSS, TCPOPTSTRIP and CHECKSUM (xt_HL.c, xt_DSCP.c, ipt_ECN.c,
 * xt_TCPMSS.c, xt_TCPOPTSTRIP.c, xt_CHECKSUM.c): the bytes after the target, and every checksum the
 * target fixed incrementally equal to a full recomputation.
 */
class HeaderRewriteSemanticsTest {
    static final Family V4 = Family.IPV4;
    static final Family V6 = Family.IPV6;
    static final int TCP = Protocols.TCP;
    static final int UDP = Protocols.UDP;
    static final byte[] UDP8 = bytes(0x9c, 0x40, 0, 53, 0, 8, 0, 0);

    static MemorySegment withTtl(MemorySegment s, int ttl) {
        new Ipv4Header().wrap(s, 0).ttl(ttl).updateChecksum();
        return s;
    }

    static MemorySegment withHopLimit(MemorySegment s, int hl) {
        new Ipv6Header().wrap(s, 0).hopLimit(hl);
        return s;
    }

    /** The IPv4 header checksum and, for an unfragmented IPv4 or IPv6 TCP segment, the TCP checksum are what a full computation gives. */
    static void assertChecksumsRecomputed(MemorySegment s) {
        int version = Byte.toUnsignedInt(s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0)) >>> 4;
        if (version == 4) {
            Ipv4Header ip = new Ipv4Header().wrap(s, 0);
            assertThat(ip.checksum()).as("IPv4 header checksum").isEqualTo(Checksums.ipv4Header(s, 0));
            assertThat(Checksums.ipv4HeaderValid(s, 0)).isTrue();
            if (ip.protocol() == TCP && ip.fragmentOffset() == 0) {
                int len = ip.totalLength() - 20;
                assertThat(new TcpHeader().wrap(s, 20).checksum()).as("TCP checksum")
                        .isEqualTo(Checksums.tcpV4(s, 20, len, SRC4, DST4));
            }
        } else {
            Ipv6Header ip = new Ipv6Header().wrap(s, 0);
            if (ip.nextHeader() == TCP) {
                assertThat(new TcpHeader().wrap(s, 40).checksum()).as("TCP checksum")
                        .isEqualTo(Checksums.tcpV6(s, 0, 40, ip.payloadLength()));
            }
        }
    }

    /** {@code expected} is {offset, value} pairs of the bytes that change; all others must stay. */
    static Arguments c(String name, ExtensionData d, MemorySegment s, int verdict, int[] changes) {
        return Arguments.of(name, d, s, -1, verdict, changes);
    }

    static Arguments cut(String name, ExtensionData d, MemorySegment s, int length, int verdict) {
        return Arguments.of(name, d, s, length, verdict, new int[0]);
    }

    static int[] at(int... offsetValuePairs) {
        return offsetValuePairs;
    }

    static final int CONTINUE = Verdict.CONTINUE;
    static final int DROP = Verdict.DROP;

    static ExtensionData t4(String name, String... words) {
        return target(V4, -1, name, words);
    }

    static ExtensionData t4tcp(String name, String... words) {
        return target(V4, TCP, name, words);
    }

    static ExtensionData t6(String name, String... words) {
        return target(V6, -1, name, words);
    }

    static Stream<Arguments> cases() {
        int[] synOptions = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7};
        int[] oddOptions = {1, 4, 2, 2, 4, 0x05, 0xb4, 1};
        return Stream.of(
                // TTL: the checksum follows; increment and decrement saturate
                c("TTL set 1", t4("TTL", "--ttl-set", "1"), ipv4(UDP, UDP8), CONTINUE, at(8, 1)),
                c("TTL set same value: untouched", t4("TTL", "--ttl-set", "64"), ipv4(UDP, UDP8), CONTINUE, at()),
                c("TTL inc 10", t4("TTL", "--ttl-inc", "10"), ipv4(UDP, UDP8), CONTINUE, at(8, 74)),
                c("TTL inc saturates at 255", t4("TTL", "--ttl-inc", "255"), ipv4(UDP, UDP8), CONTINUE, at(8, 255)),
                c("TTL dec 10", t4("TTL", "--ttl-dec", "10"), ipv4(UDP, UDP8), CONTINUE, at(8, 54)),
                c("TTL dec to exactly 0", t4("TTL", "--ttl-dec", "64"), ipv4(UDP, UDP8), CONTINUE, at(8, 0)),
                c("TTL dec never below 0", t4("TTL", "--ttl-dec", "100"), ipv4(UDP, UDP8), CONTINUE, at(8, 0)),
                c("TTL dec of 0 stays 0", t4("TTL", "--ttl-dec", "1"), withTtl(ipv4(UDP, UDP8), 0), CONTINUE, at()),
                c("TTL inc of 255 stays 255", t4("TTL", "--ttl-inc", "1"), withTtl(ipv4(UDP, UDP8), 255), CONTINUE,
                        at()),
                // HL: no IPv6 header checksum
                c("HL set 255", t6("HL", "--hl-set", "255"), ipv6(UDP, UDP8), CONTINUE, at(7, 255)),
                c("HL dec never below 0", t6("HL", "--hl-dec", "200"), ipv6(UDP, UDP8), CONTINUE, at(7, 0)),
                c("HL inc saturates", t6("HL", "--hl-inc", "250"), ipv6(UDP, UDP8), CONTINUE, at(7, 255)),
                c("HL dec 1", t6("HL", "--hl-dec", "1"), withHopLimit(ipv6(UDP, UDP8), 1), CONTINUE, at(7, 0)),
                // TOS: (tos & ~mask) ^ value
                c("TOS set 0x10/0xff", t4("TOS", "--set-tos", "0x10"), ipv4(0x03, UDP, 0, UDP8), CONTINUE, at(1, 0x10)),
                c("TOS symbol keeps precedence", t4("TOS", "--set-tos", "Minimize-Delay"), ipv4(0xC3, UDP, 0, UDP8),
                        CONTINUE, at(1, 0xD0)),
                c("TOS and", t4("TOS", "--and-tos", "0x0f"), ipv4(0xB8, UDP, 0, UDP8), CONTINUE, at(1, 0x08)),
                c("TOS or", t4("TOS", "--or-tos", "0x80"), ipv4(0x01, UDP, 0, UDP8), CONTINUE, at(1, 0x81)),
                c("TOS xor", t4("TOS", "--xor-tos", "0xff"), ipv4(0x0F, UDP, 0, UDP8), CONTINUE, at(1, 0xF0)),
                c("TOS no change", t4("TOS", "--set-tos", "0x10"), ipv4(0x10, UDP, 0, UDP8), CONTINUE, at()),
                c("TOS IPv6 traffic class, flow label kept", t6("TOS", "--set-tos", "0xb8"), ipv6(0x00, UDP, UDP8),
                        CONTINUE, at(0, 0x6B, 1, 0x8A)),
                // DSCP: the six high bits, ECN kept
                c("DSCP EF keeps ECN", t4("DSCP", "--set-dscp", "0x2e"), ipv4(0x01, UDP, 0, UDP8), CONTINUE,
                        at(1, 0xB9)),
                c("DSCP class AF41", t4("DSCP", "--set-dscp-class", "AF41"), ipv4(0x03, UDP, 0, UDP8), CONTINUE,
                        at(1, 0x8B)),
                c("DSCP same: untouched", t4("DSCP", "--set-dscp", "0x2e"), ipv4(0xBA, UDP, 0, UDP8), CONTINUE, at()),
                c("DSCP IPv6", t6("DSCP", "--set-dscp", "0x0a"), ipv6(0x01, UDP, UDP8), CONTINUE, at(0, 0x62, 1, 0x9A)),
                // ECN: IP codepoint, TCP ECE/CWR with the TCP checksum fixed
                c("ECN ip ect 1", t4("ECN", "--ecn-ip-ect", "1"), ipv4(0xB8, UDP, 0, UDP8), CONTINUE, at(1, 0xB9)),
                c("ECN ip ect 0 clears CE", t4("ECN", "--ecn-ip-ect", "0"), ipv4(0xBB, UDP, 0, UDP8), CONTINUE,
                        at(1, 0xB8)),
                c("ECN tcp remove", t4tcp("ECN", "--ecn-tcp-remove"), ipv4(TCP, tcp(0xC2)), CONTINUE, at(33, 0x02)),
                c("ECN tcp remove, nothing set", t4tcp("ECN", "--ecn-tcp-remove"), ipv4(TCP, tcp(0x02)), CONTINUE,
                        at()),
                c("ECN tcp ece 1", t4tcp("ECN", "--ecn-tcp-ece", "1"), ipv4(TCP, tcp(0x12)), CONTINUE, at(33, 0x52)),
                c("ECN tcp cwr 1 and ip ect 2", t4tcp("ECN", "--ecn-tcp-cwr", "1", "--ecn-ip-ect", "2"),
                        ipv4(TCP, tcp(0x10)), CONTINUE, at(1, 0x02, 33, 0x90)),
                cut("ECN tcp header cut short drops", t4tcp("ECN", "--ecn-tcp-remove"), ipv4(TCP, tcp(0xC2)), 39, DROP),
                // TCPMSS --set-mss: lowers, never raises
                c("TCPMSS lowers 1460 to 1400", t4tcp("TCPMSS", "--set-mss", "1400"), ipv4(TCP, tcp(0x02, 2, 4, 0x05,
                        0xb4)), CONTINUE, at(42, 0x05, 43, 0x78)),
                c("TCPMSS never raises", t4tcp("TCPMSS", "--set-mss", "1500"), ipv4(TCP, tcp(0x02, 2, 4, 0x05, 0xb4)),
                        CONTINUE, at()),
                c("TCPMSS equal: untouched", t4tcp("TCPMSS", "--set-mss", "1460"), ipv4(TCP, tcp(0x02, 2, 4, 0x05,
                        0xb4)), CONTINUE, at()),
                c("TCPMSS after NOPs", t4tcp("TCPMSS", "--set-mss", "536"),
                        ipv4(TCP, tcp(0x02, 1, 1, 2, 4, 0x05, 0xb4)), CONTINUE, at(44, 0x02, 45, 0x18)),
                c("TCPMSS no option but data: untouched", t4tcp("TCPMSS", "--set-mss", "536"),
                        ipv4(TCP, tcp(40000, 80, 0x02, new int[0], bytes(1, 2, 3, 4))), CONTINUE, at()),
                c("TCPMSS IPv6", target(V6, TCP, "TCPMSS", "--set-mss", "1220"), ipv6(0, TCP, tcp(0x02, 2, 4, 0x05,
                        0xa0)), CONTINUE, at(62, 0x04, 63, 0xc4)),
                c("TCPMSS non-first fragment: untouched", t4tcp("TCPMSS", "--set-mss", "536"),
                        ipv4(0, TCP, 0x0010, tcp(0x02, 2, 4, 0x05, 0xb4)), CONTINUE, at()),
                cut("TCPMSS TCP header cut short drops", t4tcp("TCPMSS", "--set-mss", "536"),
                        ipv4(TCP, tcp(0x02, 2, 4, 0x05, 0xb4)), 42, DROP),
                // TCPOPTSTRIP: NOPs, the checksum fixed byte by byte
                c("TCPOPTSTRIP sack-permitted,timestamp", t4tcp("TCPOPTSTRIP", "--strip-options",
                        "sack-permitted,timestamp"), ipv4(TCP, tcp(0x02, synOptions)), CONTINUE,
                        at(44, 1, 45, 1, 46, 1, 47, 1, 48, 1, 49, 1, 50, 1, 51, 1, 52, 1, 53, 1, 54, 1, 55, 1)),
                c("TCPOPTSTRIP at an odd offset", t4tcp("TCPOPTSTRIP", "--strip-options", "sack-permitted"),
                        ipv4(TCP, tcp(0x02, oddOptions)), CONTINUE, at(41, 1, 42, 1)),
                c("TCPOPTSTRIP mss,wscale", t4tcp("TCPOPTSTRIP", "--strip-options", "mss,wscale"),
                        ipv4(TCP, tcp(0x02, synOptions)), CONTINUE,
                        at(40, 1, 41, 1, 42, 1, 43, 1, 57, 1, 58, 1, 59, 1)),
                c("TCPOPTSTRIP absent option: untouched", t4tcp("TCPOPTSTRIP", "--strip-options", "md5"),
                        ipv4(TCP, tcp(0x02, synOptions)), CONTINUE, at()),
                c("TCPOPTSTRIP IPv6", target(V6, TCP, "TCPOPTSTRIP", "--strip-options", "mss"),
                        ipv6(0, TCP, tcp(0x02, 2, 4, 0x05, 0xa0)), CONTINUE, at(60, 1, 61, 1, 62, 1, 63, 1)),
                c("TCPOPTSTRIP non-first fragment: untouched", t4tcp("TCPOPTSTRIP", "--strip-options", "mss"),
                        ipv4(0, TCP, 0x0010, tcp(0x02, 2, 4, 0x05, 0xb4)), CONTINUE, at()),
                cut("TCPOPTSTRIP options cut short drop", t4tcp("TCPOPTSTRIP", "--strip-options", "mss"),
                        ipv4(TCP, tcp(0x02, 2, 4, 0x05, 0xb4)), 43, DROP),
                // CHECKSUM: checksums here are always complete
                c("CHECKSUM fill: nothing partial", t4("CHECKSUM", "--checksum-fill"), ipv4(UDP, UDP8), CONTINUE,
                        at()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rewritesAsTheKernel(String name, ExtensionData d, MemorySegment s, int length, int verdict, int[] changes) {
        byte[] before = copy(s);
        PacketContext pkt = length < 0 ? load(s) : loadTruncated(s, length);
        assertThat(Verdict.toString(d.apply(pkt))).isEqualTo(Verdict.toString(verdict));
        byte[] expected = before.clone();
        for (int i = 0; i < changes.length; i += 2) {
            expected[changes[i]] = (byte) changes[i + 1];
        }
        byte[] after = copy(s);
        // checksum fields are checked against a recomputation instead of a literal
        for (int field : checksumFields(s)) {
            expected[field] = after[field];
            expected[field + 1] = after[field + 1];
        }
        assertThat(after).isEqualTo(expected);
        if (length < 0) {
            assertChecksumsRecomputed(s);
        }
        if (changes.length == 0) {
            assertThat(after).as("untouched packet").isEqualTo(before);
        }
    }

    static int[] checksumFields(MemorySegment s) {
        int version = Byte.toUnsignedInt(s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0)) >>> 4;
        boolean tcp = Byte.toUnsignedInt(s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, version == 4 ? 9 : 6)) == TCP;
        if (version == 4) {
            return tcp ? new int[] {10, 36} : new int[] {10};
        }
        return tcp ? new int[] {56} : new int[0];
    }

    /** Every TTL, every TOS/DSCP/ECN rewrite over random headers: the incremental fix equals a recomputation. */
    @Test
    void incrementalIpv4FixesEqualRecomputationOverRandomHeaders() {
        SplittableRandom random = new SplittableRandom(20261130L);
        String[][] targets = {
            {"TTL", "--ttl-set", "0"}, {"TTL", "--ttl-set", "255"}, {"TTL", "--ttl-dec", "1"},
            {"TTL", "--ttl-dec", "255"}, {"TTL", "--ttl-inc", "1"}, {"TTL", "--ttl-inc", "128"},
            {"TOS", "--set-tos", "0x00/0xff"}, {"TOS", "--set-tos", "0xff/0xff"}, {"TOS", "--xor-tos", "0x5a"},
            {"DSCP", "--set-dscp", "0"}, {"DSCP", "--set-dscp", "63"}, {"ECN", "--ecn-ip-ect", "3"},
            {"ECN", "--ecn-ip-ect", "0"},
        };
        for (int n = 0; n < 2000; n++) {
            byte[] udp = new byte[8 + random.nextInt(16)];
            random.nextBytes(udp);
            MemorySegment s = ipv4(random.nextInt(256), UDP, random.nextInt(2) * 0x4000, udp);
            Ipv4Header ip = new Ipv4Header().wrap(s, 0).ttl(random.nextInt(256)).identification(random.nextInt(65536))
                    .source(random.nextInt()).destination(random.nextInt());
            ip.updateChecksum();
            String[] t = targets[random.nextInt(targets.length)];
            ExtensionData d = target(V4, -1, t[0], t[1], t[2]);
            assertThat(d.apply(load(s))).isEqualTo(Verdict.CONTINUE);
            assertThat(ip.checksum()).as("%s %s %s", t[0], t[1], t[2]).isEqualTo(Checksums.ipv4Header(s, 0));
        }
    }

    /** TCPOPTSTRIP and ECN over random option bytes and payloads: the TCP checksum equals a recomputation. */
    @Test
    void incrementalTcpFixesEqualRecomputationOverRandomSegments() {
        SplittableRandom random = new SplittableRandom(3L);
        for (int n = 0; n < 2000; n++) {
            int[] options = new int[4 * random.nextInt(11)];
            for (int i = 0; i < options.length; i++) {
                options[i] = random.nextInt(4) == 0 ? random.nextInt(256) : random.nextInt(10);
            }
            byte[] payload = new byte[random.nextInt(9)];
            random.nextBytes(payload);
            MemorySegment s = ipv4(TCP, tcp(random.nextInt(65536), random.nextInt(65536), random.nextInt(256), options,
                    payload));
            ExtensionData d = random.nextBoolean()
                    ? target(V4, TCP, "TCPOPTSTRIP", "--strip-options", Integer.toString(2 + random.nextInt(8)))
                    : target(V4, TCP, "ECN", "--ecn-tcp-ece", Integer.toString(random.nextInt(2)), "--ecn-tcp-cwr",
                            Integer.toString(random.nextInt(2)));
            assertThat(d.apply(load(s))).isEqualTo(Verdict.CONTINUE);
            assertChecksumsRecomputed(s);
        }
    }

    /**
     * xt_TCPMSS fixes the checksum with inet_proto_csum_replace2 on the MSS value as if it were an
     * aligned 16-bit word. At an odd offset (here after NOP and SACK-permitted) that is not the
     * difference the bytes make, so the kernel leaves a checksum a recomputation does not give; this
     * reproduces the kernel, not the recomputation.
     */
    @Test
    void mssAtAnOddOffsetGetsTheKernelsAlignedChecksumUpdate() {
        MemorySegment s = ipv4(TCP, tcp(0x02, 1, 4, 2, 2, 4, 0x05, 0xb4, 1));
        TcpHeader th = new TcpHeader().wrap(s, 20);
        int before = th.checksum();
        assertThat(target(V4, TCP, "TCPMSS", "--set-mss", "536").apply(load(s))).isEqualTo(Verdict.CONTINUE);
        assertThat(copy(s)[45] & 0xFF).isEqualTo(0x02);
        assertThat(copy(s)[46] & 0xFF).isEqualTo(0x18);
        assertThat(th.checksum()).isEqualTo(Checksums.update16(before, 1460, 536))
                .isNotEqualTo(Checksums.tcpV4(s, 20, 28, SRC4, DST4));
    }

    @Test
    void clampToPathMtuLowersTheMssToTheRouteMtuLessTheHeaders() {
        ExtensionData d = target(V4, TCP, "TCPMSS", "--clamp-mss-to-pmtu");
        MemorySegment s = ipv4(TCP, tcp(0x02, 2, 4, 0x05, 0xb4));
        // no route back to the source (no datapath): no limit from it, as tcpmss_reverse_mtu's ~0U
        assertThat(d.apply(load(s).routeMtu(1400))).isEqualTo(Verdict.CONTINUE);
        assertThat(Short.toUnsignedInt(s.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED
                .withOrder(java.nio.ByteOrder.BIG_ENDIAN), 42))).isEqualTo(1360);
        assertChecksumsRecomputed(s);
    }

    @Test
    void clampWithoutAUsablePathMtuDrops() {
        ExtensionData d = target(V4, TCP, "TCPMSS", "--clamp-mss-to-pmtu");
        // Linux: "unknown or invalid path-MTU": min_mtu <= 40
        assertThat(d.apply(load(ipv4(TCP, tcp(0x02, 2, 4, 0x05, 0xb4))).routeMtu(40))).isEqualTo(Verdict.DROP);
        assertThat(d.apply(load(ipv4(TCP, tcp(0x02, 2, 4, 0x05, 0xb4))))).isEqualTo(Verdict.DROP);
    }

    @Test
    void aMissingMssOptionIsInsertedAtTheDefaultAndThePacketGrows() {
        ExtensionData d = target(V4, TCP, "TCPMSS", "--set-mss", "1400");
        MemorySegment packet = ipv4(TCP, tcp(0x02, 1, 1, 1, 1));
        MemorySegment buffer = MemorySegment.ofArray(new byte[(int) packet.byteSize() + 16]);
        MemorySegment.copy(packet, 0, buffer, 0, packet.byteSize());
        PacketContext pkt = new PacketContext().ipv4(buffer, 0);
        assertThat(d.apply(pkt)).isEqualTo(Verdict.CONTINUE);
        assertThat(pkt.length()).isEqualTo(packet.byteSize() + 4);
        MemorySegment grown = buffer.asSlice(0, pkt.length());
        TcpHeader th = new TcpHeader().wrap(grown, 20);
        assertThat(th.dataOffset()).isEqualTo(7);
        // RFC 1122's default 536 (0x0218) right after the fixed header, the NOPs moved behind it
        assertThat(java.util.Arrays.copyOfRange(copy(grown), 40, 48))
                .containsExactly(2, 4, 0x02, 0x18, 1, 1, 1, 1);
        assertChecksumsRecomputed(grown);
    }

    @Test
    void aMissingMssOptionWithoutRoomInTheBufferDrops() {
        ExtensionData d = target(V4, TCP, "TCPMSS", "--set-mss", "1400");
        assertThat(d.apply(load(ipv4(TCP, tcp(0x02))))).isEqualTo(Verdict.DROP);
    }

    @Test
    void aFullTcpHeaderWithoutMssIsLeftAlone() {
        int[] forty = new int[40];
        java.util.Arrays.fill(forty, 1);
        MemorySegment s = ipv4(TCP, tcp(0x02, forty));
        byte[] before = copy(s);
        assertThat(target(V4, TCP, "TCPMSS", "--set-mss", "1400").apply(load(s))).isEqualTo(Verdict.CONTINUE);
        assertThat(copy(s)).isEqualTo(before);
    }

    @Test
    void withoutAnEthernetHeaderMacAndEui64DoNotMatch() {
        MemorySegment udp4 = ipv4(UDP, UDP8);
        assertThat(match(V4, -1, "mac", "--mac-source", "00:11:22:33:44:55").matches(load(udp4))).isFalse();
        assertThat(match(V6, -1, "eui64").matches(load(ipv6(UDP, UDP8)))).isFalse();
    }

    @Test
    void ecnTargetLeavesNonTcpAloneForTcpOperations() {
        MemorySegment s = ipv4(0xB8, UDP, 0, UDP8);
        byte[] before = copy(s);
        assertThat(target(V4, TCP, "ECN", "--ecn-tcp-remove").apply(load(s))).isEqualTo(Verdict.CONTINUE);
        assertThat(copy(s)).isEqualTo(before);
    }

    @Test
    void truncatedLoadsReadNothingPastTheirLength() {
        assertThat(loadTruncated(ipv4(UDP, UDP8), 20).length()).isEqualTo(20);
    }
}
