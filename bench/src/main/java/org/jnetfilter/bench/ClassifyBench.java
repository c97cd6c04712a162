package org.jnetfilter.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.jnetfilter.core.classify.ClassifiedWalk;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.TableWalk;
import org.jnetfilter.core.netfilter.Trace;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Per-packet classification: one packet loaded and walked through its table, the linear reference
 * ({@link TableWalk}) beside the classifier ({@link ClassifiedWalk}) on the same table and packets.
 * Counters are updated as on the datapath; the packets rotate through each scenario's set.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ClassifyBench {
    @Param({"host50k", "kube20k", "acl1", "fw1", "ipc1", "gen100k"})
    public String scenario;

    @Param({"linear", "classified"})
    public String walk;

    private Scenario s;
    private PacketContext pkt;
    private boolean classified;
    private int next;
    private int mask;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        s = Scenario.load(scenario);
        pkt = new PacketContext().random(new SplittableRandom(1));
        classified = walk.equals("classified");
        if (classified) {
            ClassifiedWalk.prepare(s.table);
        }
        mask = s.packets.length - 1;
    }

    @Benchmark
    public int packet() {
        int i = next;
        next = (i + 1) & mask;
        s.loadPacket(pkt, i);
        return classified ? ClassifiedWalk.run(s.table, s.hook, pkt, Trace.NONE)
                : TableWalk.run(s.table, s.hook, pkt, Trace.NONE);
    }
}
