package org.jnetfilter.core.nat;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.conntrack.Packets;
import org.jnetfilter.core.conntrack.Rules;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;
import org.junit.jupiter.api.Test;

/**
 * Seeded random flows through SNAT and DNAT against a simple reference: after translation every checksum
 * equals a full recomputation (incremental updates are exact), the translated tuple is the one conntrack
 * lists as the reply's inverse, each mapping is unique, and the reply translated back is the original flow.
 */
class NatPropertyTest {
    @Test
    void translatedPacketsKeepExactChecksumsUniqueTuplesAndTranslateBack() {
        SplittableRandom rnd = new SplittableRandom(20261130);
        for (int round = 0; round < 40; round++) {
            boolean v6 = rnd.nextBoolean();
            int proto = new int[] {6, 17, v6 ? 58 : 1}[rnd.nextInt(3)];
            Family f = v6 ? Family.IPV6 : Family.IPV4;
            IpSpec spec = IpSpec.any(f).withProtocol(proto);
            boolean snat = rnd.nextBoolean();
            String to = v6 ? (snat ? "2001:db8:ff::1" : "2001:db8:ee::5") : (snat ? "203.0.113.1" : "10.9.9.9");
            boolean ports = proto != 58 && proto != 1 && rnd.nextBoolean();
            if (ports) {
                to = (v6 ? "[" + to + "]" : to) + ":2000-2100";
            }
            Rule r = Rules.rule(spec, snat ? "SNAT" : "DNAT", snat ? "--to-source" : "--to-destination", to);
            Table nat = snat ? Rules.nat(f, List.of(), List.of(), List.of(), List.of(r))
                    : Rules.nat(f, List.of(r), List.of(), List.of(), List.of());
            NatPath path = new NatPath(new Host(), nat);
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (int flow = 0; flow < 30; flow++) {
                int client = rnd.nextInt(4);
                int sport = 1000 + rnd.nextInt(3);
                int dport = 53 + rnd.nextInt(2);
                MemorySegment out = packet(v6, proto, client, 100, sport, dport, rnd.nextInt(40), false);
                byte[] original = out.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                PacketContext p = path.forward(out, flow * 0.001, "in0", "out0");
                if (p.conntrack() == null || path.lastVerdict != org.jnetfilter.core.netfilter.Verdict.ACCEPT) {
                    // a repeated flow of an echo id or port pair already mapped: the kernel's answer too
                    continue;
                }
                assertThat(Packets.checksumsValid(p)).as("round %d flow %d", round, flow).isTrue();
                var reply = p.conntrack().reply();
                String mapped = p.sourceHi() + "/" + p.sourceLo() + ">" + p.destinationHi() + "/" + p.destinationLo()
                        + ":" + p.transportU16(0) + ">" + p.transportU16(2);
                if (p.ctInfo() == CtInfo.NEW) {
                    assertThat(seen.add(mapped)).as("unique mapping %s", mapped).isTrue();
                }
                // the packet left with the inverse of the reply tuple
                assertThat(p.sourceLo()).isEqualTo(reply.destinationLo());
                assertThat(p.destinationLo()).isEqualTo(reply.sourceLo());
                // the answer, built from the translated packet, comes back as the original flow reversed
                MemorySegment answer = answerTo(p, proto, v6);
                PacketContext back = path.forward(answer, flow * 0.001 + 0.0005, "out0", "in0");
                assertThat(back.ctInfo()).isEqualTo(CtInfo.ESTABLISHED_REPLY);
                assertThat(Packets.checksumsValid(back)).isTrue();
                PacketContext orig = Packets.load(MemorySegment.ofArray(original));
                assertThat(back.sourceLo()).isEqualTo(orig.destinationLo());
                assertThat(back.destinationLo()).isEqualTo(orig.sourceLo());
                assertThat(back.sourceHi()).isEqualTo(orig.destinationHi());
                assertThat(back.destinationHi()).isEqualTo(orig.sourceHi());
                if (proto == 6 || proto == 17) {
                    assertThat(back.transportU16(0)).isEqualTo(orig.transportU16(2));
                    assertThat(back.transportU16(2)).isEqualTo(orig.transportU16(0));
                } else {
                    assertThat(back.transportU16(4)).isEqualTo(orig.transportU16(4));
                }
            }
        }
    }

    private static MemorySegment packet(boolean v6, int proto, int client, int server, int sport, int dport,
            int payload, boolean reply) {
        byte[] l4 = switch (proto) {
            case 6 -> Packets.tcp(sport, dport, 1000, 0, Packets.SYN, 0);
            case 17 -> Packets.udp(sport, dport, payload);
            default -> Packets.icmpEcho(v6 ? 128 : 8, sport, 1);
        };
        if (v6) {
            return Packets.ipv6(0x20010db800010000L, 10 + client, 0x20010db800020000L, server, proto, l4);
        }
        return Packets.ipv4(0x0A000000 | (10 + client), 0xC6336400 | server, proto, l4);
    }

    private static MemorySegment answerTo(PacketContext p, int proto, boolean v6) {
        byte[] l4 = switch (proto) {
            case 6 -> Packets.tcp(p.transportU16(2), p.transportU16(0), 5000, 1001, Packets.SYN | Packets.ACK, 0);
            case 17 -> Packets.udp(p.transportU16(2), p.transportU16(0), 3);
            default -> Packets.icmpEcho(v6 ? 129 : 0, p.transportU16(4), 1);
        };
        if (v6) {
            return Packets.ipv6(p.destinationHi(), p.destinationLo(), p.sourceHi(), p.sourceLo(), proto, l4);
        }
        return Packets.ipv4((int) p.destinationLo(), (int) p.sourceLo(), proto, l4);
    }
}
