package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The hashing extensions: the cluster match and the HMARK target. The marks and nodes named here were read from
 * Linux 6.18 (KernelExtensionPacketsDifferentialTest compares many more against the running kernel).
 */
class HashExtensionsSemanticsTest {
    static final int CLIENT = ip("10.78.0.3");
    static final int SERVER = ip("10.77.0.1");
    static final IpSpec V4 = IpSpec.any(Family.IPV4);
    static final IpSpec V6 = IpSpec.any(Family.IPV6);

    final Conntrack table = new Conntrack();
    final Path path = new Path(table);

    static MemorySegment udp(int src, int dst, int sport, int dport) {
        return Packets.ipv4(src, dst, 17, Packets.udp(sport, dport, 4));
    }

    static ExtensionData cluster(String... words) {
        return Rules.match("cluster", words);
    }

    static ExtensionData hmark(IpSpec ip, String... words) {
        return Rules.target("mangle", ip, "HMARK", words);
    }

    static long markOf(ExtensionData hmark, PacketContext p) {
        p.mark(0xdead);
        assertThat(hmark.apply(p)).isEqualTo(Verdict.CONTINUE);
        return p.mark();
    }

    // ---- cluster ----

    @Test
    void exactlyOneNodeOfTheClusterTakesEachConnection() {
        SplittableRandom r = new SplittableRandom(3);
        int[] taken = new int[6];
        for (int i = 0; i < 300; i++) {
            PacketContext p = path.forward(udp(r.nextInt(), SERVER, 1 + r.nextInt(60000), 53), i);
            int nodes = 0;
            for (int node = 1; node <= 6; node++) {
                if (cluster("--cluster-local-node", "" + node, "--cluster-total-nodes", "6", "--cluster-hash-seed",
                        "0xdeadbeef").matches(p)) {
                    nodes++;
                    taken[node - 1]++;
                }
            }
            assertThat(nodes).isEqualTo(1);
        }
        assertThat(java.util.Arrays.stream(taken).min().getAsInt()).isGreaterThan(20);
    }

    @Test
    void theNodeDependsOnTheOriginalSourceOnlyInBothDirections() {
        ExtensionData node2 = cluster("--cluster-local-node", "2", "--cluster-total-nodes", "4", "--cluster-hash-seed",
                "0xdeadbeef");
        // Linux 6.18: 10.78.0.3 is node 2 of 4 with seed 0xdeadbeef (kernel differential test, frame ipv4 #0)
        PacketContext there = path.forward(udp(CLIENT, SERVER, 1024, 53), 0);
        assertThat(node2.matches(there)).isTrue();
        PacketContext back = path.forward(udp(SERVER, CLIENT, 53, 1024), 1);
        assertThat(back.ctInfo()).isEqualTo(CtInfo.ESTABLISHED_REPLY);
        assertThat(node2.matches(back)).isTrue();
        assertThat(node2.matches(path.forward(udp(CLIENT, ip("10.77.0.9"), 999, 80), 2))).isTrue();
    }

    @Test
    void nodeMaskInversionAndPacketsWithoutConnectionOrWithATemplate() {
        PacketContext p = path.forward(udp(CLIENT, SERVER, 1024, 53), 0);
        assertThat(cluster("--cluster-local-nodemask", "0xf", "--cluster-total-nodes", "4", "--cluster-hash-seed",
                "7").matches(p)).isTrue();
        assertThat(cluster("!", "--cluster-local-nodemask", "0xf", "--cluster-total-nodes", "4",
                "--cluster-hash-seed", "7").matches(p)).isFalse();
        // no conntrack entry: no match, inverted or not
        PacketContext untracked = Packets.load(udp(CLIENT, SERVER, 1, 2));
        assertThat(cluster("--cluster-local-nodemask", "0xf", "--cluster-total-nodes", "4", "--cluster-hash-seed",
                "7").matches(untracked)).isFalse();
        assertThat(cluster("!", "--cluster-local-nodemask", "0xf", "--cluster-total-nodes", "4",
                "--cluster-hash-seed", "7").matches(untracked)).isFalse();
        // CT --helper's template in raw PREROUTING, before conntrack (Linux 6.18, ten seeds, masks 1-3 and inverted):
        // no match either way
        PacketContext templated = Packets.load(udp(CLIENT, SERVER, 1, 2));
        templated.conntrack(Connection.template(0, false, "ftp"), org.jnetfilter.core.conntrack.CtInfo.NEW);
        for (String mask : new String[] {"0x1", "0x2", "0x3"}) {
            assertThat(cluster("--cluster-local-nodemask", mask, "--cluster-total-nodes", "2", "--cluster-hash-seed",
                    "0xf4d10576").matches(templated)).isFalse();
            assertThat(cluster("!", "--cluster-local-nodemask", mask, "--cluster-total-nodes", "2",
                    "--cluster-hash-seed", "0xf4d10576").matches(templated)).isFalse();
        }
    }

    @Test
    void ipv6NodesHashTheFirstWordOfTheSourceOnly() {
        ExtensionData any = Rules.match(Family.IPV6, V6, "cluster", "--cluster-local-nodemask", "0x1",
                "--cluster-total-nodes", "32", "--cluster-hash-seed", "0xabcdef01");
        Boolean first = null;
        for (int i = 0; i < 40; i++) {
            MemorySegment s = Packets.ipv6(0xfd78_0000_0000_0000L | i, 0x1000L * i + 2, 0xfd77_0000_0000_0000L, 1,
                    17, Packets.udp(1000 + i, 53, 4));
            boolean m = any.matches(path.forward(s, i));
            first = first == null ? m : first;
            assertThat(m).isEqualTo(first);
        }
    }

    @Test
    void clusterMakesAUnicastPacketReceivedAsLinkMulticastAHostPacket() {
        PacketContext p = path.forward(udp(CLIENT, SERVER, 1, 2), 0).packetType(PacketContext.PACKET_MULTICAST);
        cluster("--cluster-local-node", "1", "--cluster-total-nodes", "2", "--cluster-hash-seed", "0").matches(p);
        assertThat(p.packetType()).isEqualTo(PacketContext.PACKET_HOST);
        PacketContext group = path.forward(udp(CLIENT, ip("239.1.1.1"), 1, 2), 1)
                .packetType(PacketContext.PACKET_MULTICAST);
        cluster("--cluster-local-node", "1", "--cluster-total-nodes", "2", "--cluster-hash-seed", "0").matches(group);
        assertThat(group.packetType()).isEqualTo(PacketContext.PACKET_MULTICAST);
    }

    // ---- HMARK ----

    static final String[] FIVE_TUPLE = {"--hmark-tuple", "src,dst,sport,dport,proto", "--hmark-mod", "1000",
            "--hmark-rnd", "0x12345678", "--hmark-offset", "7"};

    @Test
    void theMarkIsTheSameForBothDirectionsAndWithinModAndOffset() {
        ExtensionData h = hmark(V4, FIVE_TUPLE);
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < 200; i++) {
            int a = r.nextInt();
            int b = r.nextInt();
            int pa = r.nextInt(65536);
            int pb = r.nextInt(65536);
            long there = markOf(h, Packets.load(udp(a, b, pa, pb)));
            assertThat(markOf(h, Packets.load(udp(b, a, pb, pa)))).isEqualTo(there);
            assertThat(there).isBetween(7L, 1006L);
        }
    }

    static Stream<Arguments> packetTuples() {
        MemorySegment quoted = udp(SERVER, CLIENT, 5353, 40000);
        return Stream.of(
                // Linux 6.18 (kernel differential test): ipv4 #0, UDP 10.78.0.3:1024 -> 10.77.0.1:53
                Arguments.of("udp", udp(CLIENT, SERVER, 1024, 53), FIVE_TUPLE, 698L),
                // an ICMP error is hashed as the datagram it quotes, which is the reverse direction
                Arguments.of("icmp error = quoted udp", Packets.ipv4(ip("10.78.9.9"), SERVER, 1,
                        Packets.icmpError(3, 3, quoted, 28)), FIVE_TUPLE, -2L),
                // an error cut short inside the quoted IP header leaves the mark alone
                Arguments.of("icmp error cut short", Packets.ipv4(ip("10.78.9.9"), SERVER, 1,
                        Packets.icmpError(11, 0, quoted, 12)), FIVE_TUPLE, 0xdeadL),
                // the prefixes mask the addresses: other hosts of the /16 and /24 hash alike
                Arguments.of("prefixes", udp(ip("10.78.200.200"), ip("10.77.0.99"), 1024, 53),
                        new String[] {"--hmark-src-prefix", "16", "--hmark-dst-prefix", "24", "--hmark-mod", "1000",
                                "--hmark-rnd", "5"}, -3L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("packetTuples")
    void packetTuple(String name, MemorySegment packet, String[] options, long expected) {
        ExtensionData h = hmark(V4, options);
        long mark = markOf(h, Packets.load(packet));
        if (expected == -2) {
            assertThat(mark).isEqualTo(markOf(h, Packets.load(udp(SERVER, CLIENT, 5353, 40000))));
        } else if (expected == -3) {
            assertThat(mark).isEqualTo(markOf(h, Packets.load(udp(ip("10.78.1.2"), ip("10.77.0.1"), 1024, 53))))
                    .isNotEqualTo(markOf(h, Packets.load(udp(ip("10.79.1.2"), ip("10.77.0.1"), 1024, 53))));
        } else {
            assertThat(mark).isEqualTo(expected);
        }
    }

    @Test
    void portMasksAndValuesAndTheSpi() {
        ExtensionData sportHigh = hmark(V4, "--hmark-tuple", "src,dst", "--hmark-sport-mask", "0xff00",
                "--hmark-mod", "1000000", "--hmark-rnd", "1");
        long m = markOf(sportHigh, Packets.load(udp(CLIENT, SERVER, 0x1234, 53)));
        assertThat(markOf(sportHigh, Packets.load(udp(CLIENT, SERVER, 0x12ff, 9999)))).isEqualTo(m);
        assertThat(markOf(sportHigh, Packets.load(udp(CLIENT, SERVER, 0x1334, 53)))).isNotEqualTo(m);

        // ESP: the SPI is the "ports"; the mask takes all of it, a set value is ORed in
        ExtensionData spi = hmark(V4, "--hmark-tuple", "spi", "--hmark-mod", "1000000", "--hmark-rnd", "1");
        MemorySegment esp1 = Packets.ipv4(CLIENT, SERVER, 50, new byte[] {0, 0, 0x10, 0, 0, 0, 0, 1});
        MemorySegment esp2 = Packets.ipv4(ip("1.2.3.4"), ip("5.6.7.8"), 50, new byte[] {0, 0, 0x10, 0, 0, 0, 0, 1});
        MemorySegment esp3 = Packets.ipv4(CLIENT, SERVER, 50, new byte[] {0, 0, 0x10, 1, 0, 0, 0, 1});
        assertThat(markOf(spi, Packets.load(esp1))).isEqualTo(markOf(spi, Packets.load(esp2)))
                .isNotEqualTo(markOf(spi, Packets.load(esp3)));
        ExtensionData spiSet = hmark(V4, "--hmark-tuple", "spi", "--hmark-spi", "0x1", "--hmark-mod", "1000000",
                "--hmark-rnd", "1");
        assertThat(markOf(spiSet, Packets.load(esp1))).isEqualTo(markOf(spiSet, Packets.load(esp3)));
    }

    @Test
    void fragmentsAndIcmpHaveNoPorts() {
        ExtensionData h = hmark(V4, FIVE_TUPLE);
        MemorySegment first = udp(CLIENT, SERVER, 1024, 53);
        first.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 6, (byte) 0x20);
        MemorySegment other = udp(CLIENT, SERVER, 7, 8);
        other.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 6, (byte) 0x20);
        assertThat(markOf(h, Packets.load(first))).isEqualTo(markOf(h, Packets.load(other)));
        long echo = markOf(h, Packets.load(Packets.ipv4(CLIENT, SERVER, 1, Packets.icmpEcho(8, 1, 1))));
        assertThat(markOf(h, Packets.load(Packets.ipv4(CLIENT, SERVER, 1, Packets.icmpEcho(8, 999, 5)))))
                .isEqualTo(echo);
    }

    @Test
    void theConnectionTupleTakesTheReplySourceAsItsDestination() {
        ExtensionData ct = hmark(V4, "--hmark-tuple", "ct,src,dst,sport,dport,proto", "--hmark-mod", "100000",
                "--hmark-rnd", "0x77");
        ExtensionData pkt = hmark(V4, "--hmark-tuple", "src,dst,sport,dport,proto", "--hmark-mod", "100000",
                "--hmark-rnd", "0x77");
        PacketContext p = path.forward(udp(CLIENT, SERVER, 1024, 53), 0);
        // untranslated, the connection's tuple is the packet's
        assertThat(markOf(ct, p)).isEqualTo(markOf(pkt, p));
        PacketContext back = path.forward(udp(SERVER, CLIENT, 53, 1024), 1);
        assertThat(markOf(ct, back)).isEqualTo(markOf(pkt, p));
        // no connection: the mark stays
        assertThat(markOf(ct, Packets.load(udp(CLIENT, SERVER, 1, 2)))).isEqualTo(0xdead);
    }

    @Test
    void ipv6FoldsTheMaskedAddressAndWalksToAh() {
        ExtensionData h = hmark(V6, "--hmark-tuple", "src,dst,spi,proto", "--hmark-mod", "1000000", "--hmark-rnd",
                "3");
        byte[] ah = {59, 4, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        byte[] otherSpi = ah.clone();
        otherSpi[7] = 1;
        long m = markOf(h, Packets.load(Packets.ipv6(1, 2, 3, 4, 51, ah)));
        assertThat(markOf(h, Packets.load(Packets.ipv6(1, 2, 3, 4, 51, otherSpi)))).isNotEqualTo(m);
        // the four words are XORed: moving a bit between words of the source keeps the fold
        long folded = markOf(h, Packets.load(Packets.ipv6(0x1_0000_0000L, 0, 3, 4, 51, ah)));
        assertThat(markOf(h, Packets.load(Packets.ipv6(0, 0x1_0000_0000L, 3, 4, 51, ah)))).isEqualTo(folded);
    }
}
