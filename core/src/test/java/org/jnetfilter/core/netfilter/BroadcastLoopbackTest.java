package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH0_ADDR;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.api.Test;

/**
 * A broadcast the host sends is also received by the host itself, as Linux 6.18's ip_mc_output loops it back (checked
 * in a namespace with counters in every mangle chain and a socket on the port: a UDP datagram to 10.1.0.255 from a
 * socket with SO_BROADCAST was counted twice in POSTROUTING with -o d0, once in PREROUTING with -i d0 and pkttype
 * broadcast, once in INPUT with -i d0, the mark set in OUTPUT seen in PREROUTING and INPUT, conntrack state NEW in
 * INPUT, and the socket received it; one to a unicast address of another host is not looped back).
 */
class BroadcastLoopbackTest {
    final List<String> events = new ArrayList<>();

    Datapath datapath() throws Exception {
        Datapath d = new Datapath(HostFile.parseRunning("test", DatapathHarness.HOST), new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
                events.add("tx " + ifname);
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment ipPacket) {
                events.add("local " + ifname);
            }
        });
        for (Hook h : Hook.values()) {
            d.netfilter().register(Family.IPV4, h, 0, "seen", pkt -> {
                if (h == Hook.OUTPUT) {
                    pkt.mark(5);
                }
                events.add(h + " in=" + pkt.inInterface() + " out=" + pkt.outInterface() + " type="
                        + pkt.packetType() + " mark=" + pkt.mark());
                return Verdict.ACCEPT;
            });
        }
        return d;
    }

    @Test
    void aBroadcastSentByAProcessIsLoopedBackThroughPostroutingAndReceivedOnTheSendingDevice() throws Exception {
        Datapath d = datapath();
        d.sendLocal(DatapathHarness.tcp(ETH0_ADDR, Fixtures.ip(10, 0, 1, 255)), 1_000_000_000L, Trace.NONE);
        assertThat(events).containsExactly(
                "OUTPUT in= out=eth0 type=0 mark=5",
                // the clone first, received at once (bottom halves enabled again in netif_rx) as PACKET_LOOPBACK
                "POSTROUTING in= out=eth0 type=0 mark=5",
                "PREROUTING in=eth0 out= type=5 mark=5",
                "INPUT in=eth0 out= type=5 mark=5",
                "local eth0",
                // then the original leaves
                "POSTROUTING in= out=eth0 type=0 mark=5",
                "tx eth0");
    }

    @Test
    void aUnicastToAnotherHostIsNotLoopedBack() throws Exception {
        Datapath d = datapath();
        d.sendLocal(DatapathHarness.tcp(ETH0_ADDR, DatapathHarness.CLIENT), 1_000_000_000L, Trace.NONE);
        assertThat(events).containsExactly("OUTPUT in= out=eth0 type=0 mark=5",
                "POSTROUTING in= out=eth0 type=0 mark=5", "tx eth0");
    }
}
