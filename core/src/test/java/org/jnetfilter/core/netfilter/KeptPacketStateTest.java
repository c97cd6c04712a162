package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH0_ADDR;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH1_ADDR;
import static org.jnetfilter.core.netfilter.DatapathHarness.tcp;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.api.Test;

/**
 * What a packet carries beside its bytes when it is handled again: looped back through lo (loopback_xmit keeps the
 * whole skb: Linux 6.18's TRACE lines go on in raw PREROUTING on lo with no TRACE rule there), decapsulated by an
 * SRv6 endpoint (skb_scrub_packet: the mark stays, the conntrack entry and the nftrace bit go), each of br_flood's
 * copies (skb_clone: all of it).
 */
class KeptPacketStateTest {
    private static final HexFormat HEX = HexFormat.of();

    /** A PREROUTING hook's view of each packet: in interface, mark, secmark, priority, traced, conntrack. */
    final List<String> seen = new ArrayList<>();

    private HookFunction recorder() {
        return pkt -> {
            seen.add("in " + pkt.inInterface() + " mark " + pkt.mark() + " secmark " + pkt.secmark() + " priority "
                    + pkt.priority() + " traced " + pkt.traced() + " conntrack " + (pkt.conntrack() != null));
            return Verdict.ACCEPT;
        };
    }

    @Test
    void aPacketLoopedBackThroughLoKeepsItsTraceBitSecmarkMarkAndPriority() throws Exception {
        Datapath d = new Datapath(HostFile.parseRunning("test", DatapathHarness.HOST), new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment ipPacket) {
            }
        });
        // OUTPUT sets what TRACE, SECMARK, MARK and CLASSIFY would set
        d.netfilter().register(Family.IPV4, Hook.OUTPUT, 0, "set", pkt -> {
            pkt.traced(true).secmark(42).mark(7).priority(0x10002);
            return Verdict.ACCEPT;
        });
        d.netfilter().register(Family.IPV4, Hook.PREROUTING, 0, "seen", recorder());
        d.sendLocal(tcp(ETH0_ADDR, ETH1_ADDR), 1_000_000_000L, Trace.NONE);
        assertThat(seen).containsExactly("in lo mark 7 secmark 42 priority 65538 traced true conntrack false");
    }

    @Test
    void aDecapsulatedPacketIsReceivedOnTheOuterDeviceAfterTheOuterOneWithItsMarkButNoTraceBitOrConntrack()
            throws Exception {
        List<String> events = new ArrayList<>();
        Datapath d = KernelSrv6DifferentialTest.router(new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
                events.add("tx " + ifname);
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment ipPacket) {
                events.add("local " + ifname);
            }

            @Override
            public void packetDone() {
                events.add("done");
            }
        });
        // the outer packet gets what TRACE, SECMARK and a conntrack entry would give it, before mangle marks it
        Connection outer = Connection.template(0, false, null);
        d.netfilter().register(Family.IPV6, Hook.PREROUTING, -300, "set", pkt -> {
            if (pkt.networkU8(6) == 43) {
                pkt.traced(true).secmark(42).priority(3).conntrack(outer, CtInfo.NEW);
            }
            return Verdict.ACCEPT;
        });
        d.netfilter().register(Family.IPV6, Hook.PREROUTING, 0, "seen", recorder());
        d.netfilter().register(Family.IPV4, Hook.PREROUTING, 0, "seen", recorder());
        d.netfilter().register(Family.IPV6, Hook.INPUT, 0, "input", pkt -> {
            events.add("INPUT");
            return Verdict.ACCEPT;
        });
        for (int probe : new int[] {1, 3}) {
            d.receive("vba", MemorySegment.ofArray(HEX.parseHex(KernelSrv6DifferentialTest.frame(probe))), true,
                    1_000_000_000L, Trace.NONE);
        }
        assertThat(seen).containsExactly(
                "in vba mark 7 secmark 42 priority 3 traced true conntrack true",
                "in vba mark 7 secmark 42 priority 3 traced false conntrack false",
                "in vba mark 7 secmark 42 priority 3 traced true conntrack true",
                "in vba mark 7 secmark 42 priority 3 traced false conntrack false");
        // the outer packet's path ends after INPUT; the inner one is the backlog's next packet
        assertThat(events).containsExactly("INPUT", "done", "tx vbc", "done", "INPUT", "done", "tx vbc", "done");
    }

    @Test
    void keptStateComesBackFieldForFieldOnAnotherPacket() {
        // seeded: every field the holder keeps, at random, kept from one packet and applied to a fresh load
        SplittableRandom random = new SplittableRandom(20261130);
        MemorySegment bytes = tcp(ETH0_ADDR, ETH1_ADDR);
        KeptPacketState kept = new KeptPacketState();
        for (int i = 0; i < 500; i++) {
            PacketContext from = new PacketContext().ipv4(bytes, 0);
            Connection c = random.nextBoolean() ? Connection.template(0, false, null) : null;
            from.mark(random.nextLong(1L << 32)).secmark(random.nextLong(1L << 32))
                    .priority(random.nextLong(1L << 32)).traced(random.nextBoolean())
                    .conntrack(c, random.nextInt(8)).untracked(random.nextBoolean())
                    .packetType(random.nextInt(4)).macSource(random.nextLong(1L << 48))
                    .checksumVerified(random.nextBoolean());
            if (random.nextBoolean()) {
                from.physdev("port" + random.nextInt(3), "");
            }
            kept.keep(from);
            PacketContext to = new PacketContext().ipv4(bytes, 0);
            kept.applyTo(to);
            assertThat(describe(to)).isEqualTo(describe(from));
        }
    }

    private static String describe(PacketContext p) {
        return p.mark() + " " + p.secmark() + " " + p.priority() + " " + p.traced() + " " + p.conntrack() + " "
                + p.ctInfo() + " " + p.untracked() + " " + p.packetType() + " " + p.macSource() + " "
                + p.checksumVerified() + " " + p.bridged() + " " + p.physInInterface();
    }
}
