package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ascii;
import static org.jnetfilter.core.netfilter.SemanticsPackets.bytes;
import static org.jnetfilter.core.netfilter.SemanticsPackets.concat;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ext;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ipv4;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ipv6;
import static org.jnetfilter.core.netfilter.SemanticsPackets.match;
import static org.jnetfilter.core.netfilter.SemanticsPackets.target;
import static org.jnetfilter.core.netfilter.SemanticsPackets.tcp;
import static org.jnetfilter.core.netfilter.SemanticsPackets.zeros;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.jnetfilter.core.AllocationMeter;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Protocols;
import org.junit.jupiter.api.Test;

/** The packet-path contract of the header matches and rewriting targets: nothing allocated per packet. */
class HeaderSemanticsAllocationTest {
    @Test
    void headerMatchesAndTargetsAllocateNothingPerPacket() {
        Family v4 = Family.IPV4;
        Family v6 = Family.IPV6;
        int tcpProto = Protocols.TCP;
        MemorySegment syn = ipv4(0xB8, tcpProto, 0, tcp(40000, 80, 0xC2, new int[] {2, 4, 5, 0xb4, 4, 2, 1, 1},
                ascii("GET / HTTP/1.1")));
        MemorySegment chain = ipv6(0, 0, concat(ext(43, bytes(5, 2, 0, 0)), bytes(60, 2, 0, 1, 0, 0, 0, 0),
                zeros(32), ext(tcpProto, bytes(1, 2, 0, 0)), tcp(0x02)));
        MemorySegment sctp = ipv4(Protocols.SCTP, concat(bytes(0x13, 0x88, 0, 80, 1, 2, 3, 4, 0, 0, 0, 0),
                bytes(0, 3, 0, 9), zeros(8), bytes(3, 0, 0, 16), zeros(12)));
        List<ExtensionData> v4Matches = List.of(
                match(v4, -1, "tos", "--tos", "0x10/0x3f"), match(v4, -1, "dscp", "--dscp", "0x2e"),
                match(v4, tcpProto, "ecn", "--ecn-tcp-ece", "--ecn-ip-ect", "0"),
                match(v4, -1, "u32", "--u32", "0>>22&0x3C@12>>26&0x3C@0=0x47455420"),
                match(v4, -1, "string", "--string", "http", "--algo", "bm", "--icase"),
                match(v4, tcpProto, "tcpmss", "--mss", "1000:1500"), match(v4, -1, "realm", "--realm", "0"),
                match(v4, -1, "policy", "--dir", "in", "--pol", "none"));
        List<ExtensionData> v4Targets = List.of(
                target(v4, -1, "TTL", "--ttl-dec", "1"), target(v4, -1, "TOS", "--xor-tos", "0x01"),
                target(v4, -1, "DSCP", "--set-dscp", "0x0a"), target(v4, tcpProto, "ECN", "--ecn-tcp-remove"),
                target(v4, tcpProto, "TCPMSS", "--set-mss", "1400"),
                target(v4, tcpProto, "TCPOPTSTRIP", "--strip-options", "sack-permitted"));
        List<ExtensionData> v6Matches = List.of(
                match(v6, -1, "rt", "--rt-type", "0", "--rt-0-addrs", "::", "--rt-0-not-strict"),
                match(v6, -1, "hbh", "--hbh-opts", "5:2"), match(v6, -1, "dst", "--dst-opts", "1"),
                match(v6, -1, "ipv6header", "--header", "route,dst", "--soft"), match(v6, -1, "frag", "--fragfirst"),
                match(v6, -1, "ah", "--ahspi", "1"));
        ExtensionData sctpAll = match(v4, Protocols.SCTP, "sctp", "--chunk-types", "all", "DATA,SACK");
        PacketContext pkt = new PacketContext();
        long[] sink = {0};
        Runnable one = () -> {
            pkt.ipv4(syn, 0);
            for (int i = 0; i < v4Matches.size(); i++) {
                sink[0] += v4Matches.get(i).matches(pkt) ? 1 : 0;
            }
            for (int i = 0; i < v4Targets.size(); i++) {
                sink[0] += v4Targets.get(i).apply(pkt);
            }
            pkt.ipv6(chain, 0);
            for (int i = 0; i < v6Matches.size(); i++) {
                sink[0] += v6Matches.get(i).matches(pkt) ? 1 : 0;
            }
            pkt.ipv4(sctp, 0);
            sink[0] += sctpAll.matches(pkt) ? 1 : 0;
        };
        // the least of three rounds: a JIT compilation or a profile update may allocate during one of them;
        // anything allocated per packet would be at least 16 bytes x 100k
        long allocated = AllocationMeter.leastOfThreeRounds(one, 20_000, 100_000);
        assertThat(sink[0]).isNotZero();
        assertThat(allocated).as("bytes allocated for 100k rounds").isLessThan(100_000);
    }
}
