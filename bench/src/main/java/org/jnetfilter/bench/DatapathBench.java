package org.jnetfilter.bench;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.PacketSink;
import org.jnetfilter.core.netfilter.TableWalker;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.iptables.SaveFiles;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The full datapath per packet (issue 3: at most 300 ns at 20 rules): a forwarded TCP segment in an Ethernet frame
 * received on eth0, through the receive checks, PREROUTING (raw, mangle), the input route (cached), ip_forward
 * (TTL, checksum), FORWARD (mangle, filter), POSTROUTING (mangle), the neighbour and the Ethernet header, to the
 * sink. No conntrack. The filter FORWARD chain holds {@code rules} rules that do not match the packet
 * ({@code -s 192.168.x.y/32 -p tcp --dport p -j DROP}, spread over sources and ports) and then one that accepts it,
 * so the linear walk visits every rule; the raw and mangle tables exist with empty chains (as on a Docker host).
 *
 * <pre>
 * mvn -o -B -q package -pl bench -am -DskipTests
 * java -cp "bench/target/jnetfilter-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" org.openjdk.jmh.Main DatapathBench
 * java -cp "bench/target/jnetfilter-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" org.jnetfilter.bench.DatapathBench 20 linear
 * </pre>
 * The second form (no JMH) prints wall-clock and thread CPU time per packet: on a shared, overloaded machine the CPU
 * time is the better estimate of what a quiet core would do (it leaves out the time the thread waited for a CPU).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class DatapathBench {
    @Param({"20", "1000"})
    public int rules;

    @Param({"linear", "classified"})
    public String walker;

    private Datapath datapath;
    private MemorySegment frame;
    private Blackhole blackhole;

    static final String HOST = """
            link add eth0 address 02:00:00:00:00:01
            addr add 10.0.1.1/24 dev eth0
            link add eth1 address 02:00:00:00:00:02
            addr add 10.0.2.1/24 dev eth1
            neigh add 10.0.2.20 lladdr 02:00:00:00:02:14 dev eth1
            route add default via 10.0.2.254
            sysctl net.ipv4.ip_forward=1
            """;

    static String ruleset(int n) {
        StringBuilder sb = new StringBuilder();
        sb.append("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n");
        sb.append("*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
                + ":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n");
        sb.append("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
        for (int i = 0; i < n; i++) {
            sb.append("-A FORWARD -s 192.168.").append(i / 250).append('.').append(i % 250 + 1)
                    .append("/32 -p tcp -m tcp --dport ").append(1000 + i).append(" -j DROP\n");
        }
        sb.append("-A FORWARD -p tcp -j ACCEPT\nCOMMIT\n");
        return sb.toString();
    }

    @Setup
    public void setup(Blackhole bh) throws Exception {
        blackhole = bh;
        Host host = HostFile.parseRunning("bench", HOST);
        datapath = new Datapath(host, new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment ethernetFrame) {
                blackhole.consume(ethernetFrame);
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment ipPacket) {
                blackhole.consume(ipPacket);
            }
        });
        datapath.walker(walker.equals("classified") ? TableWalker.CLASSIFIED : TableWalker.LINEAR);
        Ruleset r = SaveFiles.read(Family.IPV4, ruleset(rules));
        datapath.rules(Family.IPV4, r);
        frame = tcpFrame();
    }

    /** A 60-byte TCP ACK from 10.0.1.10:40000 to 10.0.2.20:80 in an Ethernet frame to eth0. */
    static MemorySegment tcpFrame() {
        ByteBuffer b = ByteBuffer.allocate(14 + 60).order(ByteOrder.BIG_ENDIAN);
        b.putShort((short) 0x0200).putInt(0x00000001).putShort((short) 0x0200).putInt(0x0000010A)
                .putShort((short) 0x0800);
        b.put((byte) 0x45).put((byte) 0).putShort((short) 60).putShort((short) 1).putShort((short) 0x4000)
                .put((byte) 64).put((byte) 6).putShort((short) 0).putInt(0x0A00010A).putInt(0x0A000214);
        b.putShort((short) 40000).putShort((short) 80).putInt(1000).putInt(2000).put((byte) 0x50).put((byte) 0x10)
                .putShort((short) 1024).putShort((short) 0).putShort((short) 0);
        MemorySegment s = MemorySegment.ofArray(b.array());
        new Ipv4Header().wrap(s, 14).updateChecksum();
        int sum = Checksums.tcpV4(s, 34, 40, 0x0A00010A, 0x0A000214);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 34 + 16, (short) sum);
        return s;
    }

    @Benchmark
    public void forwardedTcp() {
        datapath.receive("eth0", frame, true, 1_000_000_000L, Trace.NONE);
    }

    /** {@code DatapathBench RULES linear|classified}: 8 rounds of 2M packets, wall and thread CPU ns per packet. */
    public static void main(String[] args) throws Exception {
        DatapathBench b = new DatapathBench();
        b.rules = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        b.walker = args.length > 1 ? args[1] : "linear";
        long[] bytes = {0};
        Host host = HostFile.parseRunning("bench", HOST);
        b.datapath = new Datapath(host, new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment ethernetFrame) {
                bytes[0] += ethernetFrame.byteSize();
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment ipPacket) {
                bytes[0] += ipPacket.byteSize();
            }
        });
        b.datapath.walker(b.walker.equals("classified") ? TableWalker.CLASSIFIED : TableWalker.LINEAR);
        b.datapath.rules(Family.IPV4, SaveFiles.read(Family.IPV4, ruleset(b.rules)));
        b.frame = tcpFrame();
        var threads = java.lang.management.ManagementFactory.getThreadMXBean();
        int n = 2_000_000;
        for (int round = 0; round < 8; round++) {
            long cpu = threads.getCurrentThreadCpuTime();
            long wall = System.nanoTime();
            for (int i = 0; i < n; i++) {
                b.forwardedTcp();
            }
            wall = System.nanoTime() - wall;
            cpu = threads.getCurrentThreadCpuTime() - cpu;
            System.out.printf("%d rules, %s: %.1f ns/packet wall, %.1f ns/packet thread CPU%n", b.rules, b.walker,
                    wall / (double) n, cpu / (double) n);
        }
        if (bytes[0] != 8L * n * 74) {
            throw new IllegalStateException("not every packet was forwarded: " + bytes[0] + " bytes");
        }
    }
}
