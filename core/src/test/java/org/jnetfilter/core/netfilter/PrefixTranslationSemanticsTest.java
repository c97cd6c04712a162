package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ipv6;
import static org.jnetfilter.core.netfilter.SemanticsPackets.load;
import static org.jnetfilter.core.netfilter.SemanticsPackets.target;
import static org.jnetfilter.core.netfilter.SemanticsPackets.tcp;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.Ipv6Header;
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Protocols;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** SNPT and DNPT (ip6t_NPT.c): RFC 6296 prefix translation that leaves every checksum over the address valid. */
class PrefixTranslationSemanticsTest {
    static PacketContext tcpTo(long dstHi, long dstLo) {
        MemorySegment s = ipv6(Protocols.TCP, tcp(0x02));
        new Ipv6Header().wrap(s, 0).destination(dstHi, dstLo);
        fixTcpChecksum(s);
        return load(s);
    }

    static void fixTcpChecksum(MemorySegment s) {
        s.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 56, (short) 0);
        int sum = Checksums.tcpV6(s, 0, 40, (int) s.byteSize() - 40);
        s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 56, (byte) (sum >>> 8));
        s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 57, (byte) sum);
    }

    static String destination(PacketContext pkt) {
        return AddressText.ipv6(pkt.destinationHi(), pkt.destinationLo());
    }

    static boolean tcpChecksumValid(PacketContext pkt) {
        return Checksums.tcpV6Valid(pkt.segment(), 0, 40, pkt.length() - 40);
    }

    static ExtensionData dnpt(String src, String dst) {
        return target(Family.IPV6, -1, "DNPT", "--src-pfx", src, "--dst-pfx", dst);
    }

    static Stream<Arguments> translations() {
        return Stream.of(
                // RFC 6296 appendix B: FD01:0203:0405:0001::1234 inside is 2001:0DB8:0001:D550::1234 outside
                Arguments.of("fd01:203:405::/48", "2001:db8:1::/48", 0xfd01_0203_0405_0001L, 0x1234L,
                        "2001:db8:1:d550::1234"),
                Arguments.of("2001:db8:1::/48", "fd01:203:405::/48", 0x2001_0db8_0001_d550L, 0x1234L,
                        "fd01:203:405:1::1234"),
                // a /64: the first of words 4-7 that is not 0xffff takes the change
                Arguments.of("fd77::/64", "2001:db8:abcd:ef00::/64", 0xfd77_0000_0000_0000L, 0xffff_0000_0000_0001L,
                        null),
                // the longer of the two prefixes counts: a /56 written over the 64 bits of the /64
                Arguments.of("fd77::/64", "2001:db8:abcd:ef00::/56", 0xfd77_0000_0000_0000L, 0x1L,
                        "2001:db8:abcd:ef00:34f0::1"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("translations")
    void translatesThePrefixChecksumNeutrally(String from, String to, long hi, long lo, String expected) {
        PacketContext pkt = tcpTo(hi, lo);
        assertThat(dnpt(from, to).apply(pkt)).isEqualTo(Verdict.CONTINUE);
        if (expected != null) {
            assertThat(destination(pkt)).isEqualTo(expected);
        }
        assertThat(tcpChecksumValid(pkt)).isTrue();
        long[] prefix = org.jnetfilter.core.ext.Addresses.parseIpv6(to.substring(0, to.indexOf('/')));
        int len = Math.max(Integer.parseInt(from.substring(from.indexOf('/') + 1)),
                Integer.parseInt(to.substring(to.indexOf('/') + 1)));
        assertThat(pkt.destinationHi() & (-1L << (64 - len))).isEqualTo(prefix[0]);
    }

    /** Neutral when the address is inside the source prefix (its bits up to the longer prefix those of the source). */
    @Test
    void everyTranslatedAddressKeepsTheTransportChecksumValid() {
        SplittableRandom r = new SplittableRandom(6296);
        for (int i = 0; i < 500; i++) {
            int fromLen = 1 + r.nextInt(64);
            int toLen = 1 + r.nextInt(64);
            long from = r.nextLong() & (-1L << (64 - fromLen));
            long to = r.nextLong() & (-1L << (64 - toLen));
            long host = r.nextLong() & ~(-1L << (64 - Math.max(fromLen, toLen)));
            PacketContext pkt = tcpTo(from | host, r.nextLong() & 0x0000_FFFF_FFFF_FFFFL);
            ExtensionData t = dnpt(AddressText.ipv6(from, 0) + "/" + fromLen, AddressText.ipv6(to, 0) + "/" + toLen);
            assertThat(t.apply(pkt)).isEqualTo(Verdict.CONTINUE);
            assertThat(tcpChecksumValid(pkt)).as("case %d", i).isTrue();
        }
    }

    @Test
    void snptRewritesTheSource() {
        PacketContext pkt = tcpTo(0xfd77_0000_0000_0000L, 1);
        long before = pkt.destinationLo();
        ExtensionData snpt = target(Family.IPV6, -1, "SNPT", "--src-pfx", "2001:db8::/32", "--dst-pfx",
                "fd00:1::/32");
        assertThat(snpt.apply(pkt)).isEqualTo(Verdict.CONTINUE);
        assertThat(pkt.sourceHi() >>> 32).isEqualTo(0xfd00_0001L);
        assertThat(pkt.destinationLo()).isEqualTo(before);
        assertThat(tcpChecksumValid(pkt)).isTrue();
    }

    @Test
    void anAddressWhoseLowWordsAreAllOnesIsDroppedWithAParameterProblem() {
        PacketContext pkt = tcpTo(0xfd77_0000_0000_0000L, -1L);
        assertThat(dnpt("fd77::/64", "2001:db8::/64").apply(pkt)).isEqualTo(Verdict.DROP);
        assertThat(pkt.dropIcmpType()).isEqualTo(4);
        assertThat(pkt.dropIcmpCode()).isZero();
        assertThat(pkt.dropIcmpInfo()).isEqualTo(24);
        // the prefix is written before the target gives up, as in the kernel
        assertThat(destination(pkt)).isEqualTo("2001:db8::ffff:ffff:ffff:ffff");
        // a /48 always uses word 3
        PacketContext short48 = tcpTo(0xfd77_0000_0000_0000L, -1L);
        assertThat(dnpt("fd77::/48", "2001:db8::/48").apply(short48)).isEqualTo(Verdict.CONTINUE);
        assertThat(short48.dropIcmpType()).isEqualTo(-1);
    }

    /**
     * An ICMPv6 message of {@code type} from 2001:db8:2::1 to 2001:db8:2::3 (both inside the prefix translated, so
     * the translation stays checksum-neutral) whose body quotes a UDP datagram {@code quotedSrc} ->
     * {@code quotedDst}, cut to {@code quoteBytes} bytes, with a valid ICMPv6 checksum.
     */
    static PacketContext icmpv6Quoting(int type, String quotedSrc, String quotedDst, int quoteBytes) {
        byte[] quote = new byte[48];
        MemorySegment q = MemorySegment.ofArray(quote);
        long[] qs = org.jnetfilter.core.ext.Addresses.parseIpv6(quotedSrc);
        long[] qd = org.jnetfilter.core.ext.Addresses.parseIpv6(quotedDst);
        new Ipv6Header().wrap(q, 0).version(6).payloadLength(8).nextHeader(Protocols.UDP).hopLimit(64)
                .source(qs[0], qs[1]).destination(qd[0], qd[1]);
        byte[] body = new byte[8 + quoteBytes];
        body[0] = (byte) type;
        System.arraycopy(quote, 0, body, 8, quoteBytes);
        MemorySegment s = ipv6(Protocols.ICMPV6, body);
        long[] from = org.jnetfilter.core.ext.Addresses.parseIpv6("2001:db8:2::1");
        long[] to = org.jnetfilter.core.ext.Addresses.parseIpv6("2001:db8:2::3");
        new Ipv6Header().wrap(s, 0).source(from[0], from[1]).destination(to[0], to[1]);
        int sum = Checksums.icmpv6(s, 0, 40, body.length);
        s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 42, (byte) (sum >>> 8));
        s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 43, (byte) sum);
        return load(s);
    }

    static String quoted(PacketContext pkt, int at) {
        MemorySegment s = pkt.segment();
        var u64 = java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
        return AddressText.ipv6(s.get(u64, 48 + at), s.get(u64, 48 + at + 8));
    }

    static Stream<Arguments> bouncedDatagrams() {
        String snpt = "SNPT";
        String dnpt = "DNPT";
        return Stream.of(
                // Linux 6.18 (difftest seed 3, ruleset 37): dut's port unreachable to 2001:db8:2::3 left with both its
                // source and the quoted destination 2001:db8:2::1 as 2001:db8:3:0:fffe::1
                Arguments.of(snpt, 1, "2001:db8:2::3", "2001:db8:2::1", 48, "2001:db8:2::3", "2001:db8:3:0:fffe::1"),
                Arguments.of(snpt, 3, "2001:db8:2::3", "2001:db8:2::1", 48, "2001:db8:2::3", "2001:db8:3:0:fffe::1"),
                Arguments.of(snpt, 4, "2001:db8:2::3", "2001:db8:2::1", 48, "2001:db8:2::3", "2001:db8:3:0:fffe::1"),
                // a quoted destination outside --src-pfx stays
                Arguments.of(snpt, 1, "2001:db8:2::3", "2001:db8:9::1", 48, "2001:db8:2::3", "2001:db8:9::1"),
                // an informational message (echo request) quotes nothing, whatever its body looks like
                Arguments.of(snpt, 128, "2001:db8:2::3", "2001:db8:2::1", 48, "2001:db8:2::3", "2001:db8:2::1"),
                // a quoted header cut short is not there to rewrite (skb_header_pointer fails)
                Arguments.of(snpt, 1, "2001:db8:2::3", "2001:db8:2::1", 39, null, null),
                // DNPT rewrites the quoted source when it lies in --src-pfx
                Arguments.of(dnpt, 1, "2001:db8:2::1", "2001:db8:2::3", 48, "2001:db8:3:0:fffe::1", "2001:db8:2::3"),
                Arguments.of(dnpt, 1, "2001:db8:7::1", "2001:db8:2::3", 48, "2001:db8:7::1", "2001:db8:2::3"));
    }

    @ParameterizedTest(name = "{0} on ICMPv6 type {1} quoting {2} -> {3} ({4} bytes)")
    @MethodSource("bouncedDatagrams")
    void translatesTheQuotedAddressOfAnIcmpv6ErrorInsideTheSourcePrefix(String target, int type, String quotedSrc,
            String quotedDst, int quoteBytes, String expectedSrc, String expectedDst) {
        PacketContext pkt = icmpv6Quoting(type, quotedSrc, quotedDst, quoteBytes);
        byte[] before = pkt.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        ExtensionData npt = target(Family.IPV6, -1, target, "--src-pfx", "2001:db8:2::/48", "--dst-pfx",
                "2001:db8:3::/56");
        assertThat(npt.apply(pkt)).isEqualTo(Verdict.CONTINUE);
        if (expectedSrc != null) {
            assertThat(quoted(pkt, 8)).isEqualTo(expectedSrc);
            assertThat(quoted(pkt, 24)).isEqualTo(expectedDst);
        } else {
            byte[] after = pkt.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            assertThat(java.util.Arrays.copyOfRange(after, 48, after.length))
                    .isEqualTo(java.util.Arrays.copyOfRange(before, 48, before.length));
        }
        // the outer address moved too, and the ICMPv6 checksum needed no update
        if (target.equals("SNPT")) {
            assertThat(AddressText.ipv6(pkt.sourceHi(), pkt.sourceLo())).isEqualTo("2001:db8:3:0:fffe::1");
        }
        assertThat(Checksums.icmpv6Valid(pkt.segment(), 0, 40, pkt.length() - 40)).isTrue();
    }
}
