package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.iptables.TcpSegment.ACK;
import static org.jnetfilter.iptables.TcpSegment.PSH;
import static org.jnetfilter.iptables.TcpSegment.SYN;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.jnetfilter.core.AllocationMeter;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.ConntrackModule;
import org.jnetfilter.core.conntrack.SynproxyModule;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.PacketSink;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;

/**
 * The SYNPROXY hook on a spliced connection is on every packet's path (timestamps moved by tsoff, sequence numbers by
 * seqadj at the confirm hook): forwarding such a packet allocates nothing.
 */
class SynproxyAllocationTest {
    int sent;
    TcpSegment lastToClient;

    @Test
    void forwardingOnASplicedConnectionAllocatesNothing() throws Exception {
        Host host = HostFile.parseRunning("dut", SynproxyDatapathTest.HOST);
        boolean[] record = {true};
        Datapath dp = new Datapath(host, new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
                sent++;
                if (record[0] && ifname.equals("d0")) {
                    lastToClient = TcpSegment.parse(frame.toArray(ValueLayout.JAVA_BYTE));
                }
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment ipPacket) {
            }
        });
        dp.random(new SplittableRandom(3));
        dp.module(new ConntrackModule(new Conntrack(host)));
        dp.module(new SynproxyModule());
        dp.rules(Family.IPV4, SaveFiles.read(Family.IPV4, SynproxyDatapathTest.rules("FORWARD",
                SynproxyDatapathTest.DEFAULT_TARGET)));
        long[] now = {1_000_000_000L};
        java.util.function.BiConsumer<String, TcpSegment> in = (dev, t) -> {
            now[0] += 1_000_000L;
            long mac = dev.equals("d0") ? SynproxyDatapathTest.DC_MAC : SynproxyDatapathTest.DS_MAC;
            long peer = dev.equals("d0") ? SynproxyDatapathTest.C_MAC : SynproxyDatapathTest.S_MAC;
            dp.receive(dev, MemorySegment.ofArray(t.frame(mac, peer)), true, now[0], Trace.NONE);
        };
        in.accept("d0", SynproxyDatapathTest.client(false, 1000000, 0, SYN, 64240, SynproxyDatapathTest.CLIENT_OPTIONS));
        int cookie = lastToClient.seq();
        int its = lastToClient.timestamps()[0];
        in.accept("d0", SynproxyDatapathTest.client(false, 1000001, cookie + 1, ACK, 502,
                SynproxyDatapathTest.ts(5001, its)));
        in.accept("d1", SynproxyDatapathTest.server(false, 0x55667788, 1000001, SYN | ACK, 65160,
                "020405b4 0402080a4000000000001389 0103030a"));
        record[0] = false;
        MemorySegment data = MemorySegment.ofArray(SynproxyDatapathTest.client(false, 1000001, cookie + 1,
                ACK | PSH, 502, SynproxyDatapathTest.ts(5002, its)).withPayload("hello").frame(
                        SynproxyDatapathTest.DC_MAC, SynproxyDatapathTest.C_MAC));
        int before = sent;
        Runnable one = () -> dp.receive("d0", data, true, now[0], Trace.NONE);
        long allocated = AllocationMeter.leastOfThreeRounds(one, 20_000, 100_000);
        assertThat(sent - before).as("every packet forwarded").isEqualTo(20_000 + 3 * 100_000);
        assertThat(allocated).isZero();
    }
}
