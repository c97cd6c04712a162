package org.jnetfilter.core.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** What ip_rcv_core and ip6_rcv_core do with each kind of broken packet, in kernel order. */
class IpReceiveTest {
    private final IpReceive receive = new IpReceive();

    /** A valid 115-byte UDP datagram 192.168.0.1 > 192.168.0.199 in a buffer of {@code buffer} bytes. */
    private static MemorySegment ipv4(int buffer, Consumer<Ipv4Header> edit) {
        MemorySegment s = MemorySegment.ofArray(new byte[buffer]);
        MemorySegment.copy(Bytes.hex("450000730000400040110000c0a80001c0a800c7"), 0, s, 0, Math.min(20, buffer));
        if (buffer >= 20) {
            Ipv4Header ip = new Ipv4Header().wrap(s, 0).updateChecksum();
            edit.accept(ip);
        }
        return s;
    }

    record V4Case(String name, int buffer, Consumer<Ipv4Header> edit, ReceiveResult expected) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<V4Case> ipv4Cases() {
        return List.of(
                new V4Case("valid", 115, ip -> { }, ReceiveResult.OK),
                new V4Case("shorter than a header", 19, ip -> { }, ReceiveResult.IPV4_HEADER_TRUNCATED),
                new V4Case("version 6", 115, ip -> ip.version(6).updateChecksum(), ReceiveResult.IPV4_BAD_VERSION),
                new V4Case("IHL 4", 115, ip -> ip.ihl(4), ReceiveResult.IPV4_BAD_IHL),
                new V4Case("IHL 15 in 40 bytes", 40, ip -> ip.ihl(15).totalLength(40),
                        ReceiveResult.IPV4_OPTIONS_TRUNCATED),
                new V4Case("bad header checksum", 115, ip -> ip.checksum(ip.checksum() ^ 1),
                        ReceiveResult.IPV4_BAD_CHECKSUM),
                new V4Case("total length beyond the buffer", 100, ip -> { }, ReceiveResult.IPV4_TRUNCATED),
                new V4Case("total length below the header", 115, ip -> ip.totalLength(16).updateChecksum(),
                        ReceiveResult.IPV4_BAD_TOTAL_LENGTH),
                new V4Case("checksum is checked before the length", 100, ip -> ip.checksum(0),
                        ReceiveResult.IPV4_BAD_CHECKSUM));
    }

    @ParameterizedTest
    @MethodSource("ipv4Cases")
    void ipv4PacketsAreCheckedAsIpRcvCoreDoes(V4Case c) {
        MemorySegment s = ipv4(c.buffer, c.edit);
        assertThat(receive.ipv4(s, 0, c.buffer)).isEqualTo(c.expected);
    }

    @Test
    void ipv4BadChecksumCountsBothAChecksumAndAHeaderError() {
        assertThat(ReceiveResult.IPV4_BAD_CHECKSUM.counters()).containsExactly("InCsumErrors", "InHdrErrors");
        assertThat(ReceiveResult.IPV4_BAD_CHECKSUM.dropReason()).isEqualTo("IP_CSUM");
        assertThat(ReceiveResult.IPV4_TRUNCATED.counters()).containsExactly("InTruncatedPkts");
        assertThat(ReceiveResult.IPV4_TRUNCATED.dropReason()).isEqualTo("PKT_TOO_SMALL");
        assertThat(ReceiveResult.IPV4_BAD_IHL.counters()).containsExactly("InHdrErrors");
        assertThat(ReceiveResult.OK.counters()).isEmpty();
        assertThat(ReceiveResult.OK.accepted()).isTrue();
    }

    @Test
    void ethernetPaddingIsTrimmedToTheTotalLength() {
        MemorySegment s = ipv4(128, ip -> { });
        assertThat(receive.ipv4(s, 0, 128)).isEqualTo(ReceiveResult.OK);
        assertThat(receive.length()).isEqualTo(115);
    }

    @Test
    void ipv4OptionsThatLieAboutTheirLengthAreLeftForLaterStages() {
        // ip_rcv_core does not look at options; ip_rcv_options runs after PREROUTING.
        MemorySegment s = MemorySegment.ofArray(new byte[24]);
        MemorySegment.copy(Bytes.hex("46000018000000004011000001020304050607080709ff00"), 0, s, 0, 24);
        Ipv4Header ip = new Ipv4Header().wrap(s, 0).updateChecksum();
        assertThat(receive.ipv4(s, 0, 24)).isEqualTo(ReceiveResult.OK);
        assertThat(ip.firstOption()).isEqualTo(Ipv4Header.MALFORMED);
    }

    // ---- IPv6 ----

    private static MemorySegment ipv6(String src, String dst, int next, String payload, int extra) {
        String body = payload.replaceAll("\\s+", "");
        byte[] head = Bytes.hex(String.format("60000000%04x%02x40", body.length() / 2, next) + src + dst + body)
                .toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        byte[] all = new byte[head.length + extra];
        System.arraycopy(head, 0, all, 0, head.length);
        return MemorySegment.ofArray(all);
    }

    private static final String DOC1 = "20010db8000000000000000000000001";
    private static final String DOC2 = "20010db8000000000000000000000002";
    private static final String LOOPBACK = "00000000000000000000000000000001";
    private static final String UDP = "04d20035000800ff";

    private ReceiveResult check(MemorySegment s, boolean onLo) {
        return receive.ipv6(s, 0, s.byteSize(), onLo);
    }

    @Test
    void ipv6ValidPacketIsAcceptedAndTrimmed() {
        MemorySegment s = ipv6(DOC1, DOC2, 17, UDP, 6);
        assertThat(check(s, false)).isEqualTo(ReceiveResult.OK);
        assertThat(receive.length()).isEqualTo(48);
    }

    @Test
    void ipv6TooShortOrWrongVersionIsAHeaderError() {
        assertThat(receive.ipv6(ipv6(DOC1, DOC2, 17, UDP, 0), 0, 39, false))
                .isEqualTo(ReceiveResult.IPV6_HEADER_TRUNCATED);
        MemorySegment s = ipv6(DOC1, DOC2, 17, UDP, 0);
        new Ipv6Header().wrap(s, 0).version(4);
        assertThat(check(s, false)).isEqualTo(ReceiveResult.IPV6_BAD_VERSION);
        assertThat(ReceiveResult.IPV6_BAD_VERSION.counters()).containsExactly("InHdrErrors");
    }

    @Test
    void loopbackAddressesAreOnlyAcceptedOnLo() {
        assertThat(check(ipv6(LOOPBACK, DOC2, 17, UDP, 0), false)).isEqualTo(ReceiveResult.IPV6_LOOPBACK_ADDRESS);
        assertThat(check(ipv6(DOC1, LOOPBACK, 17, UDP, 0), false)).isEqualTo(ReceiveResult.IPV6_LOOPBACK_ADDRESS);
        assertThat(check(ipv6(LOOPBACK, LOOPBACK, 17, UDP, 0), true)).isEqualTo(ReceiveResult.OK);
    }

    @Test
    void multicastScopeRulesOfRfc4291() {
        String ifaceLocal = "ff010000000000000000000000000001";
        String scopeZero = "ff000000000000000000000000000001";
        String linkLocalAllNodes = "ff020000000000000000000000000001";
        assertThat(check(ipv6(DOC1, ifaceLocal, 17, UDP, 0), false))
                .isEqualTo(ReceiveResult.IPV6_INTERFACE_LOCAL_MULTICAST);
        assertThat(check(ipv6(DOC1, ifaceLocal, 17, UDP, 0), true)).isEqualTo(ReceiveResult.OK);
        assertThat(check(ipv6(DOC1, scopeZero, 17, UDP, 0), true)).isEqualTo(ReceiveResult.IPV6_MULTICAST_SCOPE_ZERO);
        assertThat(check(ipv6(DOC1, linkLocalAllNodes, 17, UDP, 0), false)).isEqualTo(ReceiveResult.OK);
        assertThat(check(ipv6(linkLocalAllNodes, DOC2, 17, UDP, 0), false))
                .isEqualTo(ReceiveResult.IPV6_MULTICAST_SOURCE);
    }

    @Test
    void ipv6PayloadBeyondTheBufferIsTruncated() {
        MemorySegment s = ipv6(DOC1, DOC2, 17, UDP, 0);
        new Ipv6Header().wrap(s, 0).payloadLength(9);
        assertThat(check(s, false)).isEqualTo(ReceiveResult.IPV6_TRUNCATED);
        assertThat(ReceiveResult.IPV6_TRUNCATED.counters()).containsExactly("InTruncatedPkts");
    }

    @Test
    void hopByHopOptionsArePassedWhenWellFormed() {
        // Router Alert (MLD) + PadN(0), then UDP.
        MemorySegment s = ipv6(DOC1, DOC2, 0, "1100 05020000 0100" + UDP, 0);
        assertThat(check(s, false)).isEqualTo(ReceiveResult.OK);
        // An unknown option whose action bits are 00 is skipped.
        assertThat(check(ipv6(DOC1, DOC2, 0, "1100 3e020000 0100" + UDP, 0), false)).isEqualTo(ReceiveResult.OK);
    }

    @Test
    void hopByHopOptionsAreRejectedAsIp6ParseTlvDoes() {
        // Header claims 16 bytes, payload holds 8.
        assertThat(check(ipv6(DOC1, DOC2, 0, "1101 05020000 0100", 0), false))
                .isEqualTo(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
        // Router Alert with a value other than 2 bytes (ipv6_hop_ra), IOAM not at 4n (ipv6_hop_ioam), CALIPSO
        // without a NetLabel domain: dropped as malformed, no parameter problem.
        for (String options : List.of("0503000000 00", "31020000 0100", "07080000000000000000 0000 00000000")) {
            int words = (2 + options.replace(" ", "").length() / 2) / 8 - 1;
            assertThat(check(ipv6(DOC1, DOC2, 0, "11" + "%02x".formatted(words) + options + UDP, 0), false))
                    .as("options %s", options).isEqualTo(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
            assertThat(receive.problemPointer()).isEqualTo(-1);
        }
        // IOAM at 4n is skipped (ioam6_enabled off).
        assertThat(check(ipv6(DOC1, DOC2, 0, "1101 0100 31060000 00000000 00000000" + UDP, 0), false))
                .isEqualTo(ReceiveResult.OK);
    }

    @Test
    void unknownHopByHopOptionsGoByTheirTwoHighBits() {
        // Linux: ip6_tlvopt_unknown: 01 discard; 10 discard + parameter problem 2 at the option; 11 the same to unicast
        record Case(String type, String destination, int pointer) { }
        for (Case c : List.of(new Case("7e", DOC2, -1), new Case("be", DOC2, 42), new Case("fe", DOC2, 42),
                new Case("be", "ff020000000000000000000000000001", 42), new Case("fe", "ff020000000000000000000000000001", -1), new Case("7e", "ff020000000000000000000000000001", -1))) {
            assertThat(check(ipv6(DOC1, c.destination(), 0, "1100 " + c.type() + "020000 0100" + UDP, 0), false))
                    .as("option type %s to %s", c.type(), c.destination()).isEqualTo(ReceiveResult.IPV6_UNKNOWN_OPTION);
            assertThat(receive.problemPointer()).as("option type %s to %s", c.type(), c.destination())
                    .isEqualTo(c.pointer());
            if (c.pointer() >= 0) {
                assertThat(receive.problemCode()).isEqualTo(2);
            }
        }
        // The pointer is the option's offset from the IPv6 header, after padding and skipped options.
        assertThat(check(ipv6(DOC1, DOC2, 0, "1100 3e00 fe000100" + UDP, 0), false))
                .isEqualTo(ReceiveResult.IPV6_UNKNOWN_OPTION);
        assertThat(receive.problemPointer()).isEqualTo(44);
        // PadN must carry zeros.
        assertThat(check(ipv6(DOC1, DOC2, 0, "1100 0104 00000001" + UDP, 0), false))
                .isEqualTo(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
        // More than 7 bytes of padding in a row.
        assertThat(check(ipv6(DOC1, DOC2, 0, "1101 00000000 00000000 0104 00000000" + UDP, 0), false))
                .isEqualTo(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
        // An option running past the header.
        assertThat(check(ipv6(DOC1, DOC2, 0, "1100 05080000 0000" + UDP, 0), false))
                .isEqualTo(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
    }

    @Test
    void moreHopByHopOptionsThanMaxHbhOptsNumberAreRejected() {
        String nine = "1104" + "05020000".repeat(9) + "0100";
        assertThat(check(ipv6(DOC1, DOC2, 0, nine + UDP, 0), false)).isEqualTo(ReceiveResult.IPV6_BAD_HOP_BY_HOP);
        IpReceive lenient = new IpReceive(() -> 16, () -> IpReceive.DEFAULT_MAX_OPTIONS_LENGTH);
        MemorySegment s = ipv6(DOC1, DOC2, 0, nine + UDP, 0);
        assertThat(lenient.ipv6(s, 0, s.byteSize(), false)).isEqualTo(ReceiveResult.OK);
    }

    /** Payload Length 0 and a jumbo option of {@code jumbo} bytes, in a buffer with {@code have} payload bytes. */
    private static MemorySegment jumbogram(String hopByHop, int have) {
        byte[] b = new byte[40 + have];
        MemorySegment s = MemorySegment.ofArray(b);
        MemorySegment.copy(ipv6(DOC1, DOC2, 0, hopByHop, 0), 0, s, 0, 40 + hopByHop.replace(" ", "").length() / 2);
        new Ipv6Header().wrap(s, 0).payloadLength(0);
        return s;
    }

    @Test
    void jumbogramsTakeTheirLengthFromTheJumboOption() {
        MemorySegment s = jumbogram("1100 c204 00010010", 0x10010);
        assertThat(check(s, false)).isEqualTo(ReceiveResult.OK);
        assertThat(receive.length()).isEqualTo(40 + 0x10010);
    }

    @Test
    void inconsistentJumbogramsAreRejected() {
        assertThat(check(jumbogram("1100 c204 0000ffff", 0x10000), false))
                .as("jumbo length must exceed 65535").isEqualTo(ReceiveResult.IPV6_BAD_JUMBO);
        assertThat(receive.problemPointer()).as("parameter problem at the value").isEqualTo(44);
        assertThat(receive.problemCode()).isZero();
        assertThat(check(jumbogram("1100 c204 00010010", 0x1000F), false))
                .isEqualTo(ReceiveResult.IPV6_JUMBO_TRUNCATED);
        assertThat(check(jumbogram("1101 0100 c204 00010010 010400000000", 0x10010), false))
                .as("jumbo option must sit at 4n+2").isEqualTo(ReceiveResult.IPV6_BAD_JUMBO);
        MemorySegment withPayloadLength = jumbogram("1100 c204 00010010", 0x10010);
        new Ipv6Header().wrap(withPayloadLength, 0).payloadLength(8);
        assertThat(check(withPayloadLength, false)).as("jumbo needs Payload Length 0")
                .isEqualTo(ReceiveResult.IPV6_BAD_JUMBO);
        assertThat(receive.problemPointer()).as("parameter problem at the option").isEqualTo(42);
    }

    @Test
    void mangledPacketsAreReportedNeverThrown() {
        SplittableRandom rnd = new SplittableRandom(791);
        MemorySegment v4 = ipv4(115, ip -> { });
        MemorySegment v6 = ipv6(DOC1, DOC2, 0, "1100 05020000 0100" + UDP + "00".repeat(40), 0);
        for (int round = 0; round < 20_000; round++) {
            boolean four = rnd.nextBoolean();
            byte[] b = (four ? v4 : v6).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            for (int flips = rnd.nextInt(1, 4); flips > 0; flips--) {
                b[rnd.nextInt(Math.min(b.length, 64))] = (byte) rnd.nextInt(256);
            }
            int length = rnd.nextInt(b.length + 1);
            MemorySegment s = MemorySegment.ofArray(b);
            ReceiveResult r = four ? receive.ipv4(s, 0, length) : receive.ipv6(s, 0, length, rnd.nextBoolean());
            if (r.accepted()) {
                assertThat(receive.length()).isBetween(four ? 20L : 40L, (long) length);
            } else {
                assertThat(r.counters()).isNotEmpty();
            }
        }
    }
}
