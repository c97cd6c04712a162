package org.jnetfilter.bench;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.ConntrackHooks;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.Netfilter;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.core.rules.Target;
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

/**
 * Conntrack and NAT per packet, without the rest of the datapath: a TCP ACK of an established connection
 * SNATed on the way out (conntrack_in at PREROUTING, the NAT hooks at PREROUTING and POSTROUTING, confirm),
 * with {@code connections} - 1 other connections in the table; and the first packet of a new
 * connection (entry, nat table walk, SNAT binding with port choice, confirm), the entry removed again.
 *
 * <pre>
 * mvn -o -B -q package -pl bench -am -DskipTests
 * java -cp "bench/target/jnetfilter-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" org.openjdk.jmh.Main ConntrackBench
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ConntrackBench {
    @Param({"1", "100000"})
    public int connections;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private Conntrack conntrack;
    private Netfilter netfilter;
    private PacketContext pkt;
    private MemorySegment ack;
    private MemorySegment syn;
    private MemorySegment work;
    private long now = 1_700_000_000_000_000_000L;
    private int nextPort = 1;

    static MemorySegment tcp(int src, int dst, int sport, int dport, int seq, int ackSeq, int flags) {
        ByteBuffer b = ByteBuffer.allocate(40);
        b.put((byte) 0x45).put((byte) 0).putShort((short) 40).putShort((short) 1).putShort((short) 0x4000)
                .put((byte) 64).put((byte) 6).putShort((short) 0).putInt(src).putInt(dst);
        b.putShort((short) sport).putShort((short) dport).putInt(seq).putInt(ackSeq).put((byte) 0x50)
                .put((byte) flags).putShort((short) 64240).putInt(0);
        MemorySegment s = MemorySegment.ofArray(b.array());
        s.set(U16, 10, (short) Checksums.ipv4Header(s, 0));
        s.set(U16, 36, (short) Checksums.tcpV4(s, 20, 20, src, dst));
        return s;
    }

    private int run(MemorySegment packet) {
        MemorySegment.copy(packet, 0, work, 0, 40);
        now += 1000;
        pkt.ipv4(work, 0).nowNanos(now).inInterface("eth1").outInterface("eth0");
        int v = 0;
        for (Hook h : new Hook[] {Hook.PREROUTING, Hook.POSTROUTING}) {
            for (Netfilter.Registration r : netfilter.entries(Family.IPV4, h)) {
                pkt.hook(h);
                v += r.function().apply(pkt);
            }
        }
        return v;
    }

    @Setup
    public void setUp() {
        Host host = new Host();
        // the new-connection packets change their port without fixing the checksum
        host.sysctl("net.netfilter.nf_conntrack_checksum", "0");
        conntrack = new Conntrack(host);
        netfilter = new Netfilter();
        IpSpec tcp = IpSpec.any(Family.IPV4).withProtocol(6);
        var snat = Extensions.standard().target("SNAT", Family.IPV4);
        var data = snat.newParser(ctx(tcp, "203.0.113.1"));
        data.parse(snat.options().get(0), false, "203.0.113.1", ctx(tcp, "203.0.113.1"));
        Rule rule = new Rule(new RuleSpec(tcp, List.of(), new Target.Extension(snat, data.finish(ctx(tcp, "")))),
                Counters.zero());
        List<Chain> chains = new java.util.ArrayList<>();
        for (String c : new String[] {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}) {
            chains.add(Chain.builtin(c).withPolicy("ACCEPT", Counters.zero())
                    .withRules(RuleList.of(c.equals("POSTROUTING") ? List.of(rule) : List.of())));
        }
        Table nat = Table.of(TableKind.NAT, Family.IPV4, chains, List.of());
        ConntrackHooks.register(netfilter, Family.IPV4, conntrack, () -> nat);
        pkt = new PacketContext().host(host);
        work = MemorySegment.ofArray(new byte[40]);
        int client = 0xC0A80000;
        int server = 0x08080808;
        // other connections to other servers: their translations keep their ports, none clashes
        for (int i = 1; i < connections; i++) {
            run(tcp(client | (i & 0xFF), 0x09000000 | i, 1024 + (i >>> 8), 443, 1000, 0, 0x02));
        }
        run(tcp(client, server, 1024, 443, 1000, 0, 0x02));
        run(tcp(server, 0xCB007101, 443, 1024, 5000, 1001, 0x12));
        ack = tcp(client, server, 1024, 443, 1001, 5001, 0x10);
        run(ack);
        if (run(ack) != 4 * Verdict.ACCEPT || pkt.conntrack() == null) {
            throw new IllegalStateException("the measured connection is not tracked");
        }
        syn = tcp(0x0A000001, server, 0, 443, 1000, 0, 0x02);
    }

    private static ParseContext ctx(IpSpec ip, String unused) {
        return new ParseContext() {
            public Family family() {
                return Family.IPV4;
            }

            public String table() {
                return "nat";
            }

            public IpSpec ip() {
                return ip;
            }

            public String nextWord() {
                return null;
            }

            public String peekWord() {
                return null;
            }
        };
    }

    /** A packet of an established connection, translated. */
    @Benchmark
    public int establishedConnection() {
        return run(ack);
    }

    /** The first packet of a connection: a new entry, the nat table walk and a SNAT binding; removed again. */
    @Benchmark
    public int newConnection() {
        syn.set(U16, 20, (short) (nextPort = nextPort % 60000 + 1));
        int v = run(syn);
        conntrack.kill(pkt.conntrack());
        return v + Verdict.ACCEPT;
    }
}
