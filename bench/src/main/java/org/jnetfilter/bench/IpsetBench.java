package org.jnetfilter.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ipset.CreateOptions;
import org.jnetfilter.core.ipset.Element;
import org.jnetfilter.core.ipset.IpSet;
import org.jnetfilter.core.ipset.Ipsets;
import org.jnetfilter.core.ipset.SetType;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
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
 * ipset in-process (the API an embedder or a daemon uses): one element added and deleted again in a set of
 * {@code size} elements, and the set match on a packet (a hit and a miss) against hash:ip and against a
 * hash:net whose elements use {@code prefixes} prefix lengths (the lookup is one probe per prefix length in
 * use, as in the kernel). {@code bench/ipset-bench.sh} prints these beside the real ipset command.
 *
 * <pre>
 * mvn -o -B -q package -pl bench -am -DskipTests
 * java -cp "bench/target/jnetfilter-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" org.openjdk.jmh.Main IpsetBench
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class IpsetBench {
    @Param({"1000", "100000"})
    public int size;

    private final SplittableRandom random = new SplittableRandom(1);
    private IpSet ips;
    private Element fresh;
    private ExtensionData ipMatch;
    private ExtensionData netMatch;
    private PacketContext hit;
    private PacketContext miss;

    private static CreateOptions options(long maxelem) {
        return new CreateOptions(Family.IPV4, 1024, maxelem, 32, -1, false, false, false, false, 12, 1, -1, -1, 8);
    }

    @Setup
    public void setUp() {
        Ipsets sets = new Ipsets();
        Ipsets.install(sets);
        ips = sets.create("ips", SetType.HASH_IP, options(4L * size), false, random);
        IpSet nets = sets.create("nets", SetType.HASH_NET, options(4L * size), false, random);
        for (int i = 0; i < size; i++) {
            int a = 0x0A000000 | i;
            add(ips, ip(a));
            // networks of 4 prefix lengths: /32, /28, /24, /20 spread over 172.16/12
            int cidr = 32 - 4 * (i % 4);
            int n = (0xAC100000 | (i << 4)) & (int) (0xFFFFFFFFL << (32 - cidr));
            add(nets, ip(n) + "/" + cidr);
        }
        fresh = ips.parseElements("192.0.2.1").get(0);
        ipMatch = match("--match-set", "ips", "src");
        netMatch = match("--match-set", "nets", "dst");
        hit = packet(0x0A000000 | (size / 2), 0xAC100000 | (size / 3) << 4);
        miss = packet(0x0B000001, 0x0B000002);
    }

    private void add(IpSet set, String text) {
        for (Element e : set.parseElements(text)) {
            set.add(e, IpSet.AddParams.NONE, true, 0, random);
        }
    }

    private static String ip(int a) {
        return (a >>> 24 & 255) + "." + (a >>> 16 & 255) + "." + (a >>> 8 & 255) + "." + (a & 255);
    }

    private static ExtensionData match(String... words) {
        ExtensionParser p = Extensions.standard().match("set", Family.IPV4).newParser(null);
        java.util.ArrayDeque<String> rest = new java.util.ArrayDeque<>(java.util.List.of(words).subList(2, words.length));
        ParseContext ctx = new ParseContext() {
            public Family family() {
                return Family.IPV4;
            }

            public String table() {
                return "filter";
            }

            public IpSpec ip() {
                return IpSpec.any(Family.IPV4);
            }

            public String nextWord() {
                return rest.poll();
            }

            public String peekWord() {
                return rest.peek();
            }
        };
        var ext = Extensions.standard().match("set", Family.IPV4);
        var spec = ext.options().stream().filter(o -> o.name().equals("match-set")).findFirst().orElseThrow();
        p.parse(spec, false, words[1], ctx);
        return p.finish(ctx);
    }

    private static PacketContext packet(int src, int dst) {
        MemorySegment s = Arena.global().allocate(40);
        var u16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
        var u32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
        s.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x45);
        s.set(u16, 2, (short) 40);
        s.set(ValueLayout.JAVA_BYTE, 8, (byte) 64);
        s.set(ValueLayout.JAVA_BYTE, 9, (byte) 6);
        s.set(u32, 12, src);
        s.set(u32, 16, dst);
        s.set(u16, 20, (short) 40000);
        s.set(u16, 22, (short) 80);
        return new PacketContext().ipv4(s, 0);
    }

    /** One element added to and deleted from a hash:ip of {@code size} elements (the API, no CLI). */
    @Benchmark
    public int addAndDelete() {
        ips.add(fresh, IpSet.AddParams.NONE, false, 0, random);
        ips.del(fresh, false, 0);
        return ips.type().ordinal();
    }

    @Benchmark
    public boolean hashIpHit() {
        return ipMatch.matches(hit);
    }

    @Benchmark
    public boolean hashIpMiss() {
        return ipMatch.matches(miss);
    }

    @Benchmark
    public boolean hashNetHit() {
        return netMatch.matches(hit);
    }

    @Benchmark
    public boolean hashNetMiss() {
        return netMatch.matches(miss);
    }
}
