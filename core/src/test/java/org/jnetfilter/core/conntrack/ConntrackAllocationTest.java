package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ACK;
import static org.jnetfilter.core.conntrack.Packets.SYN;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.List;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.nat.NatHook;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Table;
import org.junit.jupiter.api.Test;

/**
 * The packet-path contract: a packet of an established connection, tracked and translated (conntrack_in,
 * the NAT hooks, confirm), allocates nothing.
 */
class ConntrackAllocationTest {
    @Test
    void packetsOfAnEstablishedTranslatedConnectionAllocateNothing() {
        Host host = new Host();
        host.sysctl("net.netfilter.nf_conntrack_checksum", "0");
        Conntrack table = new Conntrack(host);
        Table nat = Rules.nat(Family.IPV4, List.of(), List.of(), List.of(), List.of(
                Rules.rule(IpSpec.any(Family.IPV4).withProtocol(6), "SNAT", "--to-source", "203.0.113.1")));
        NatHook natIn = new NatHook(Hook.PREROUTING, () -> nat, Trace.NONE);
        NatHook natOut = new NatHook(Hook.POSTROUTING, () -> nat, Trace.NONE);
        int client = ip("192.168.1.10");
        int server = ip("8.8.8.8");
        int pub = ip("203.0.113.1");
        MemorySegment syn = Packets.ipv4(client, server, 6, Packets.tcp(40000, 443, 1000, 0, SYN, 0));
        MemorySegment synack = Packets.ipv4(server, pub, 6, Packets.tcp(443, 40000, 5000, 1001, SYN | ACK, 0));
        MemorySegment data = Packets.ipv4(client, server, 6, Packets.tcp(40000, 443, 1001, 5001, ACK, 0));
        MemorySegment reply = Packets.ipv4(server, pub, 6, Packets.tcp(443, 40000, 5001, 1001, ACK, 0));
        PacketContext pkt = new PacketContext().host(host);
        MemorySegment buf = MemorySegment.ofArray(new byte[64]);
        long[] clock = {Path.seconds(0)};
        long[] sink = {0};
        java.util.function.Consumer<MemorySegment> forward = bytes -> {
            MemorySegment.copy(bytes, 0, buf, 0, bytes.byteSize());
            clock[0] += 1_000;
            pkt.ipv4(buf, 0).nowNanos(clock[0]).inInterface("eth1").outInterface("eth0");
            int v = table.in(pkt, Hook.PREROUTING);
            v += natIn.apply(pkt);
            v += natOut.apply(pkt);
            v += table.confirm(pkt);
            sink[0] += v;
        };
        forward.accept(syn);
        forward.accept(synack);
        Runnable one = () -> {
            forward.accept(data);
            forward.accept(reply);
        };
        for (int i = 0; i < 20_000; i++) {
            one.run();
        }
        assertThat(table.count()).isEqualTo(1);
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().threadId();
        long allocated = Long.MAX_VALUE;
        for (int round = 0; round < 3; round++) {
            long before = threads.getThreadAllocatedBytes(id);
            for (int i = 0; i < 50_000; i++) {
                one.run();
            }
            allocated = Math.min(allocated, threads.getThreadAllocatedBytes(id) - before);
        }
        assertThat(sink[0]).isEqualTo((2 + 2 * 170_000L) * 4 * Verdict.ACCEPT);
        assertThat(allocated).as("bytes allocated for 100k packets").isLessThan(100_000);
    }
}
