package org.jnetfilter.core.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class ChecksumsTest {
    private static final int SEED = 1624;

    /** The textbook definition, a byte pair at a time: the reference for the fast sum. */
    private static int referencePartial(byte[] b, int from, int length) {
        long sum = 0;
        for (int i = 0; i < length; i += 2) {
            int hi = b[from + i] & 0xFF;
            int lo = i + 1 < length ? b[from + i + 1] & 0xFF : 0;
            sum += hi << 8 | lo;
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) sum;
    }

    @Test
    void rfc1071WorkedExample() {
        // RFC 1071 section 3: 0001 f203 f4f5 f6f7 sums to ddf2.
        MemorySegment s = Bytes.hex("0001f203f4f5f6f7");
        assertThat(Checksums.partial(s, 0, 8, 0)).isEqualTo(0xddf2);
        assertThat(Checksums.internet(s, 0, 8)).isEqualTo(0x220d);
    }

    @Test
    void fastSumEqualsTheByteAtATimeDefinitionForEveryLengthAndAlignment() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        byte[] b = new byte[300];
        for (int round = 0; round < 2000; round++) {
            rnd.nextBytes(b);
            int from = rnd.nextInt(16);
            int length = rnd.nextInt(b.length - from);
            assertThat(Checksums.partial(MemorySegment.ofArray(b), from, length, 0))
                    .as("from %d length %d", from, length)
                    .isEqualTo(referencePartial(b, from, length));
        }
    }

    @Test
    void ipv4HeaderChecksumOfAKnownHeader() {
        // 192.168.0.1 > 192.168.0.199, UDP, total length 115: the classic b861 example.
        MemorySegment s = Bytes.at(5, "450000730000400040110000c0a80001c0a800c7");
        Ipv4Header ip = new Ipv4Header().wrap(s, 5);
        assertThat(ip.checksumValid()).isFalse();
        assertThat(ip.updateChecksum().checksum()).isEqualTo(0xb861);
        assertThat(ip.checksumValid()).isTrue();
    }

    @Test
    void ipv4HeaderChecksumCoversOptions() {
        MemorySegment s = Bytes.hex("46000020000100004006000001020304050607089404000000000000000000000000");
        Ipv4Header ip = new Ipv4Header().wrap(s, 0);
        ip.updateChecksum();
        assertThat(ip.checksumValid()).isTrue();
        s.set(ValueLayout.JAVA_BYTE, 22, (byte) 1);
        assertThat(ip.checksumValid()).as("an option byte changed").isFalse();
    }

    @Test
    void decrementingTtlKeepsTheHeaderChecksumValid() {
        MemorySegment s = Bytes.hex("450000730000400040110000c0a80001c0a800c7");
        Ipv4Header ip = new Ipv4Header().wrap(s, 0).updateChecksum();
        for (int ttl = 64; ttl > 1; ttl--) {
            ip.decrementTtl();
            assertThat(ip.ttl()).isEqualTo(ttl - 1);
            assertThat(ip.checksumValid()).isTrue();
        }
    }

    @Test
    void crc32cMatchesRfc3720TestVectors() {
        byte[] zeros = new byte[32];
        byte[] ones = new byte[32];
        byte[] up = new byte[32];
        byte[] down = new byte[32];
        for (int i = 0; i < 32; i++) {
            ones[i] = (byte) 0xFF;
            up[i] = (byte) i;
            down[i] = (byte) (31 - i);
        }
        assertThat(Checksums.crc32c(MemorySegment.ofArray(zeros), 0, 32)).isEqualTo(0x8A9136AAL);
        assertThat(Checksums.crc32c(MemorySegment.ofArray(ones), 0, 32)).isEqualTo(0x62A8AB43L);
        assertThat(Checksums.crc32c(MemorySegment.ofArray(up), 0, 32)).isEqualTo(0x46DD794EL);
        assertThat(Checksums.crc32c(MemorySegment.ofArray(down), 0, 32)).isEqualTo(0x113FDB5CL);
    }

    @Test
    void crc32cEqualsTheJdkImplementation() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int round = 0; round < 500; round++) {
            byte[] b = new byte[rnd.nextInt(1, 400)];
            rnd.nextBytes(b);
            CRC32C jdk = new CRC32C();
            jdk.update(b);
            assertThat(Checksums.crc32c(MemorySegment.ofArray(b), 0, b.length)).isEqualTo(jdk.getValue());
        }
    }

    @Test
    void sctpChecksumIsStoredLittleEndianAndCountsTheFieldAsZero() {
        // INIT chunk, ports 5000 > 80, verification tag 0.
        MemorySegment s = Bytes.hex("13880050 00000000 deadbeef 01000014 11223344 00010000 000a000a 01020304");
        SctpHeader sctp = new SctpHeader().wrap(s, 0);
        sctp.updateChecksum(32);
        byte[] zeroed = s.toArray(ValueLayout.JAVA_BYTE);
        for (int i = 8; i < 12; i++) {
            zeroed[i] = 0;
        }
        CRC32C jdk = new CRC32C();
        jdk.update(zeroed);
        assertThat(sctp.checksum()).isEqualTo(jdk.getValue());
        assertThat(Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, 8)))
                .as("least significant byte first").isEqualTo((int) (jdk.getValue() & 0xFF));
        assertThat(sctp.checksumValid(32)).isTrue();
        sctp.verificationTag(1);
        assertThat(sctp.checksumValid(32)).isFalse();
    }

    @Test
    void udpOverIpv4WithChecksumZeroHasNoChecksumAndIsAccepted() {
        MemorySegment s = Bytes.hex("ced00035000e0000 68656c6c6f21");
        assertThat(Checksums.udpV4Valid(s, 0, 14, 1, 2)).isTrue();
    }

    @Test
    void udpOverIpv6WithChecksumZeroIsRejected() {
        MemorySegment s = Bytes.hex("6000000000081140 00000000000000000000000000000001 00000000000000000000000000000001"
                + "ced0003500080000");
        assertThat(Checksums.udpV6Valid(s, 0, 40, 8)).isFalse();
        new UdpHeader().wrap(s, 40).checksum(Checksums.udpV6(s, 0, 40, 8));
        assertThat(Checksums.udpV6Valid(s, 0, 40, 8)).isTrue();
    }

    @Test
    void aComputedZeroUdpChecksumIsSentAsFFFF() {
        MemorySegment s = Bytes.hex("ced00035000c0000 00000000");
        UdpHeader udp = new UdpHeader().wrap(s, 0);
        int src = Bytes.ip(10, 0, 0, 1);
        int dst = Bytes.ip(10, 0, 0, 2);
        int c = Checksums.udpV4(s, 0, 12, src, dst);
        // Put the checksum into the payload: the data now sums to 0xFFFF and the checksum to 0.
        NetworkOrder.u16(s, 8, c);
        assertThat(Checksums.udpV4(s, 0, 12, src, dst)).isEqualTo(Checksums.MANGLED_ZERO);
        udp.checksum(Checksums.MANGLED_ZERO);
        assertThat(Checksums.udpV4Valid(s, 0, 12, src, dst)).isTrue();
    }

    @Test
    void udpLiteCoverageLimitsWhatTheChecksumProtects() {
        int src = Bytes.ip(192, 0, 2, 1);
        int dst = Bytes.ip(198, 51, 100, 7);
        MemorySegment s = Bytes.hex("04d2162e00080000 0102030405060708");
        UdpHeader udp = new UdpHeader().wrap(s, 0);
        assertThat(udp.effectiveCoverage(16)).isEqualTo(8);
        udp.checksum(Checksums.udpLiteV4(s, 0, 16, 8, src, dst));
        assertThat(Checksums.udpLiteV4Valid(s, 0, 16, src, dst)).isTrue();
        NetworkOrder.u8(s, 12, 0xEE);
        assertThat(Checksums.udpLiteV4Valid(s, 0, 16, src, dst)).as("payload is not covered").isTrue();

        udp.checksumCoverage(0);
        assertThat(udp.effectiveCoverage(16)).as("0 covers everything").isEqualTo(16);
        udp.checksum(Checksums.udpLiteV4(s, 0, 16, 16, src, dst));
        assertThat(Checksums.udpLiteV4Valid(s, 0, 16, src, dst)).isTrue();
        NetworkOrder.u8(s, 12, 0xEF);
        assertThat(Checksums.udpLiteV4Valid(s, 0, 16, src, dst)).isFalse();
    }

    @Test
    void udpLiteWithBadCoverageOrZeroChecksumIsDroppedAsLinuxDoes() {
        int src = 1;
        int dst = 2;
        MemorySegment s = Bytes.hex("04d2162e00040000 0102030405060708");
        UdpHeader udp = new UdpHeader().wrap(s, 0);
        assertThat(udp.effectiveCoverage(16)).as("below the header").isEqualTo(-1);
        udp.checksumCoverage(17);
        assertThat(udp.effectiveCoverage(16)).as("beyond the datagram").isEqualTo(-1);
        udp.checksumCoverage(8).checksum(Checksums.udpLiteV4(s, 0, 16, 8, src, dst));
        assertThat(Checksums.udpLiteV4Valid(s, 0, 16, src, dst)).isTrue();
        udp.checksumCoverage(17);
        assertThat(Checksums.udpLiteV4Valid(s, 0, 16, src, dst)).isFalse();
        udp.checksumCoverage(8).checksum(0);
        assertThat(Checksums.udpLiteV4Valid(s, 0, 16, src, dst)).as("zeroed checksum field").isFalse();
    }

    @Test
    void udpLiteOverIpv6UsesItsOwnProtocolNumberInThePseudoHeader() {
        MemorySegment s = Bytes.hex("6000000000108840 20010db8000000000000000000000001 20010db8000000000000000000000002"
                + "04d2162e00000000 0102030405060708");
        int lite = Checksums.udpLiteV6(s, 0, 40, 16, 16);
        assertThat(lite).isNotEqualTo(Checksums.udpV6(s, 0, 40, 16));
        new UdpHeader().wrap(s, 40).checksum(lite);
        assertThat(Checksums.udpLiteV6Valid(s, 0, 40, 16)).isTrue();
    }

    // ---- RFC 1624 incremental update equals a full recomputation ----

    @Test
    void incrementalIpv4HeaderUpdateEqualsFullRecomputation() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int round = 0; round < 5000; round++) {
            int ihl = rnd.nextInt(5, 16);
            byte[] b = new byte[ihl * 4];
            rnd.nextBytes(b);
            MemorySegment s = MemorySegment.ofArray(b);
            Ipv4Header ip = new Ipv4Header().wrap(s, 0).version(4).ihl(ihl).updateChecksum();
            if (rnd.nextBoolean()) {
                int old = ip.destination();
                int neu = rnd.nextInt();
                ip.destination(neu);
                ip.checksum(Checksums.update32(ip.checksum(), old, neu));
            } else {
                int word = 2 + 2 * rnd.nextInt(ihl * 2 - 1);
                if (word == Ipv4Header.CHECKSUM) {
                    continue;
                }
                int old = NetworkOrder.u16(s, word);
                int neu = rnd.nextInt(0x10000);
                NetworkOrder.u16(s, word, neu);
                ip.checksum(Checksums.update16(ip.checksum(), old, neu));
            }
            assertThat(ip.checksum()).isEqualTo(Checksums.ipv4Header(s, 0));
            assertThat(ip.checksumValid()).isTrue();
        }
    }

    @Test
    void incrementalTcpNatRewriteEqualsFullRecomputation() {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        for (int round = 0; round < 5000; round++) {
            int length = rnd.nextInt(20, 120);
            byte[] b = new byte[length];
            rnd.nextBytes(b);
            MemorySegment s = MemorySegment.ofArray(b);
            TcpHeader tcp = new TcpHeader().wrap(s, 0);
            int src = rnd.nextInt();
            int dst = rnd.nextInt();
            tcp.checksum(Checksums.tcpV4(s, 0, length, src, dst));
            // SNAT: new source address (pseudo-header) and port, as nf_nat_ipv4_manip_pkt does.
            int newSrc = rnd.nextInt();
            int newPort = rnd.nextInt(0x10000);
            int c = Checksums.update32(tcp.checksum(), src, newSrc);
            c = Checksums.update16(c, tcp.sourcePort(), newPort);
            tcp.sourcePort(newPort).checksum(c);
            if (rnd.nextBoolean()) {
                long oldSeq = tcp.sequence();
                long newSeq = rnd.nextLong() & 0xFFFF_FFFFL;
                tcp.sequence(newSeq).checksum(Checksums.update32(tcp.checksum(), (int) oldSeq, (int) newSeq));
            }
            assertThat(tcp.checksum()).isEqualTo(Checksums.tcpV4(s, 0, length, newSrc, dst));
            assertThat(Checksums.tcpV4Valid(s, 0, length, newSrc, dst)).isTrue();
        }
    }

    @Test
    void incrementalUdpUpdateKeepsNoChecksumAndEqualsFullRecomputationOtherwise() {
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        for (int round = 0; round < 5000; round++) {
            int length = rnd.nextInt(8, 100);
            byte[] b = new byte[length];
            rnd.nextBytes(b);
            MemorySegment s = MemorySegment.ofArray(b);
            UdpHeader udp = new UdpHeader().wrap(s, 0).length(length);
            int src = rnd.nextInt();
            int dst = rnd.nextInt();
            boolean none = rnd.nextInt(4) == 0;
            udp.checksum(none ? 0 : Checksums.udpV4(s, 0, length, src, dst));
            int newDst = rnd.nextInt();
            int newPort = rnd.nextInt(0x10000);
            int c = Checksums.updateUdp32(udp.checksum(), dst, newDst);
            c = Checksums.updateUdp16(c, udp.destinationPort(), newPort);
            udp.destinationPort(newPort).checksum(c);
            if (none) {
                assertThat(udp.checksum()).as("no checksum stays no checksum").isZero();
            } else {
                assertThat(udp.checksum()).isEqualTo(Checksums.udpV4(s, 0, length, src, newDst));
            }
            assertThat(Checksums.udpV4Valid(s, 0, length, src, newDst)).isTrue();
        }
    }

    @Test
    void incrementalIpv6AddressUpdateEqualsFullRecomputation() {
        SplittableRandom rnd = new SplittableRandom(SEED + 3);
        for (int round = 0; round < 3000; round++) {
            int length = rnd.nextInt(20, 100);
            byte[] b = new byte[40 + length];
            rnd.nextBytes(b);
            MemorySegment s = MemorySegment.ofArray(b);
            Ipv6Header ip6 = new Ipv6Header().wrap(s, 0);
            TcpHeader tcp = new TcpHeader().wrap(s, 40);
            tcp.checksum(Checksums.tcpV6(s, 0, 40, length));
            long hi = rnd.nextLong();
            long lo = rnd.nextLong();
            tcp.checksum(Checksums.update128(tcp.checksum(), ip6.destinationHigh(), ip6.destinationLow(), hi, lo));
            ip6.destination(hi, lo);
            assertThat(tcp.checksum()).isEqualTo(Checksums.tcpV6(s, 0, 40, length));
        }
    }

    @Test
    void incrementalIcmpv6UpdateEqualsFullRecomputation() {
        SplittableRandom rnd = new SplittableRandom(SEED + 4);
        for (int round = 0; round < 2000; round++) {
            int length = rnd.nextInt(8, 64);
            byte[] b = new byte[40 + length];
            rnd.nextBytes(b);
            MemorySegment s = MemorySegment.ofArray(b);
            Icmpv6Header icmp6 = new Icmpv6Header().wrap(s, 40);
            icmp6.checksum(Checksums.icmpv6(s, 0, 40, length));
            int id = rnd.nextInt(0x10000);
            icmp6.checksum(Checksums.update16(icmp6.checksum(), icmp6.identifier(), id)).identifier(id);
            assertThat(icmp6.checksum()).isEqualTo(Checksums.icmpv6(s, 0, 40, length));
            assertThat(Checksums.icmpv6Valid(s, 0, 40, length)).isTrue();
        }
    }
}
