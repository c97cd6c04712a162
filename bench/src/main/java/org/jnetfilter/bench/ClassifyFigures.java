package org.jnetfilter.bench;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.classify.ClassifiedWalk;
import org.jnetfilter.core.classify.Classifier;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.TableWalk;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.iptables.SaveFiles;

/**
 * The figures of issue 5 beside JMH's: memory per rule (rules, and the classifier beside them, from
 * the heap after full collections; the scenario's packets, measured as a copy of them, not counted), CPU time per packet of both walks (thread CPU time, which a
 * machine shared with other work inflates less than JMH's wall-clock time), compile time of a chain
 * from scratch and of a one-rule change (copy-on-write), and a check that both walks give every
 * packet the same verdict. Prints tab-separated lines {@code name key value} for
 * bench/classify-bench.sh. Run one scenario per JVM: the heap figures assume nothing else in it.
 *
 * <p>Usage: ClassifyFigures SCENARIO... | ClassifyFigures chains | ClassifyFigures save host50k|gen100k (with -Djnf.bench.memoryOnly=true: rules,
 * memory and the verdict check only)
 */
public final class ClassifyFigures {
    private ClassifyFigures() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("save")) {
            System.out.print(Scenario.saveText(args[1]));
            return;
        }
        for (String name : args) {
            if (name.equals("chains")) {
                compileFigures(50_000);
                compileFigures(160_000);
                continue;
            }
            long before = used();
            Scenario s = Scenario.load(name);
            // the linear walk over every packet parses whatever rule is still unparsed
            PacketContext a = new PacketContext().random(new SplittableRandom(3));
            int[] linear = new int[s.packets.length];
            for (int i = 0; i < s.packets.length; i++) {
                s.loadPacket(a, i);
                linear[i] = TableWalk.run(s.table, s.hook, a, Trace.NONE);
            }
            for (Chain c : s.table.chains()) {
                for (Rule r : c.rules()) {
                    r.spec();
                }
            }
            // the packets are no part of the rules: their bytes, measured as those of a copy, come off
            long withPackets = used() - before;
            MemorySegment[] copy = copyOf(s.packets);
            long withTwoCopies = used() - before;
            long rules = withPackets - (withTwoCopies - withPackets);
            histogram(name + " rules");
            ClassifiedWalk.prepare(s.table);
            long classifier = used() - before - withTwoCopies;
            java.lang.ref.Reference.reachabilityFence(copy);
            histogram(name + " rules and classifier");
            PacketContext b = new PacketContext().random(new SplittableRandom(3));
            int mismatches = 0;
            for (int i = 0; i < s.packets.length; i++) {
                s.loadPacket(b, i);
                if (ClassifiedWalk.run(s.table, s.hook, b, Trace.NONE) != linear[i]) {
                    mismatches++;
                }
            }
            Chain largest = null;
            for (Chain c : s.table.chains()) {
                if (largest == null || c.rules().size() > largest.rules().size()) {
                    largest = c;
                }
            }
            System.out.printf("%s\trules\t%d%n", name, s.rules);
            System.out.printf("%s\tnote\t%s%n", name, s.note.isEmpty() ? "-" : s.note);
            System.out.printf("%s\tbytesPerRule\t%d%n", name, rules / s.rules);
            System.out.printf("%s\tclassifierBytesPerRule\t%d%n", name, classifier / s.rules);
            System.out.printf("%s\tmismatches\t%d/%d%n", name, mismatches, s.packets.length);
            if (Boolean.getBoolean("jnf.bench.memoryOnly")) {
                continue;
            }
            Classifier c = Classifier.compile(largest, s.table.family());
            System.out.printf("%s\tlargestChain\t%s (%d rules, %d tables)%n", name, largest.name(),
                    largest.rules().size(), c.tables());
            System.out.printf("%s\tcpuNsLinear\t%d%n", name, cpuPerPacket(s, false));
            System.out.printf("%s\tcpuNsClassified\t%d%n", name, cpuPerPacket(s, true));
        }
    }

    /** Thread CPU time per packet, best of 5 rounds after 3 of warm-up; rounds of at most ~0.5 s CPU. */
    static long cpuPerPacket(Scenario s, boolean classified) {
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        PacketContext pkt = new PacketContext().random(new SplittableRandom(5));
        int n = s.packets.length;
        long t0 = mx.getCurrentThreadCpuTime();
        int probe = 0;
        while (probe < n && mx.getCurrentThreadCpuTime() - t0 < 50_000_000L) {
            walk(s, pkt, probe++, classified);
        }
        long each = Math.max(1, (mx.getCurrentThreadCpuTime() - t0) / probe);
        int round = (int) Math.max(16, Math.min(n * 4L, 500_000_000L / each));
        long best = Long.MAX_VALUE;
        int sink = 0;
        for (int r = 0; r < 8; r++) {
            long start = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < round; i++) {
                sink += walk(s, pkt, i % n, classified);
            }
            long perPacket = (mx.getCurrentThreadCpuTime() - start) / round;
            if (r >= 3) {
                best = Math.min(best, perPacket);
            }
        }
        return sink == Integer.MIN_VALUE ? -1 : best;
    }

    private static int walk(Scenario s, PacketContext pkt, int i, boolean classified) {
        s.loadPacket(pkt, i);
        return classified ? ClassifiedWalk.run(s.table, s.hook, pkt, Trace.NONE)
                : TableWalk.run(s.table, s.hook, pkt, Trace.NONE);
    }

    /** Compile of one chain of n host rules from scratch, and a one-rule replacement in its middle. */
    static void compileFigures(int n) throws Exception {
        Table t = SaveFiles.read(Family.IPV4, Scenario.hostRules(n, "FORWARD")).table(TableKind.FILTER);
        Chain chain = t.chain("FORWARD");
        for (Rule r : chain.rules()) {
            r.spec();
        }
        Table spare = SaveFiles.read(Family.IPV4, Scenario.hostRules(16, "FORWARD")).table(TableKind.FILTER);
        List<Rule> replacements = new ArrayList<>();
        for (Rule r : spare.chain("FORWARD").rules()) {
            r.spec();
            replacements.add(r);
        }
        long[] compile = new long[5];
        Classifier base = null;
        for (int k = 0; k < compile.length; k++) {
            long t0 = System.nanoTime();
            base = Classifier.compile(chain, Family.IPV4);
            compile[k] = System.nanoTime() - t0;
        }
        long[] update = new long[40];
        long[] listUpdate = new long[40];
        SplittableRandom r = new SplittableRandom(n);
        for (int k = 0; k < update.length; k++) {
            int at = r.nextInt(n);
            long t0 = System.nanoTime();
            Chain next = chain.withRules(chain.rules().replacing(at, replacements.get(k % replacements.size())));
            long t1 = System.nanoTime();
            Classifier derived = base.derive(next);
            long t2 = System.nanoTime();
            listUpdate[k] = t1 - t0;
            update[k] = t2 - t1;
            if (derived.size() != n) {
                throw new IllegalStateException("derived classifier of " + derived.size() + " rules");
            }
        }
        System.out.printf("chain%d\tcompileMs\t%.1f%n", n, median(compile) / 1e6);
        System.out.printf("chain%d\tupdateUs\t%.1f%n", n, median(update) / 1e3);
        System.out.printf("chain%d\truleListUpdateUs\t%.1f%n", n, median(listUpdate) / 1e3);
        System.out.printf("chain%d\tclassifierBytesPerRule\t%d%n", n, base.footprintBytes() / n);
    }

    /** A deep copy of the packets: the same objects and bytes as theirs. */
    static MemorySegment[] copyOf(MemorySegment[] packets) {
        MemorySegment[] copy = new MemorySegment[packets.length];
        for (int i = 0; i < packets.length; i++) {
            copy[i] = MemorySegment.ofArray(packets[i].toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
        return copy;
    }

    /** With -Djnf.bench.histogram=N: the N classes of the heap with the most bytes, to standard error. */
    static void histogram(String title) throws Exception {
        int top = Integer.getInteger("jnf.bench.histogram", 0);
        if (top <= 0) {
            return;
        }
        var server = java.lang.management.ManagementFactory.getPlatformMBeanServer();
        String text = (String) server.invoke(new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"),
                "gcClassHistogram", new Object[] {new String[0]}, new String[] {String[].class.getName()});
        String[] lines = text.split("\n");
        System.err.println("---- heap histogram: " + title);
        for (int i = 0; i < Math.min(lines.length, top + 2); i++) {
            System.err.println(lines[i]);
        }
        System.err.println(lines[lines.length - 1]);
    }

    static long median(long[] v) {
        long[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }

    static long used() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(50);
        }
        return rt.totalMemory() - rt.freeMemory();
    }
}
