package org.jnetfilter.bench;

import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.Arrays;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.iptables.Iptables;
import org.jnetfilter.iptables.StateStore;
import org.jnetfilter.iptables.Transactions;

/**
 * Issue 5's full restore through the in-process API, in one JVM: {@code REPS} times each, after as many untimed
 * runs, a restore of {@code FULL} from an empty ruleset as a pure in-memory transaction
 * ({@link Transactions#restore}) and as a durable one into an empty state directory ({@link Iptables#run} of
 * {@code iptables-restore}: parsed, checked, snapshot written and forced to disk). Prints medians in
 * milliseconds: {@code restore memory=... durable=...}, and the bytes the in-memory restore allocated (all threads).
 *
 * <p>Usage: {@code RestoreFigures WORK_DIR FULL.save REPS}
 */
public final class RestoreFigures {
    private RestoreFigures() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        byte[] full = Files.readAllBytes(Path.of(args[1]));
        String text = new String(full, StandardCharsets.UTF_8);
        int reps = Integer.parseInt(args[2]);
        PrintStream sink = new PrintStream(OutputStream.nullOutputStream());
        long[] memory = new long[reps];
        long[] durable = new long[reps];
        long[] allocated = new long[reps];
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        int rules = 0;
        for (int round = -reps; round < reps; round++) {
            // each restore starts from a collected heap (the previous one's ruleset is garbage by then)
            System.gc();
            long a0 = threads.getTotalThreadAllocatedBytes();
            long t0 = System.nanoTime();
            Ruleset rs = Transactions.restore(Ruleset.empty(Family.IPV4), text, false);
            long t1 = System.nanoTime();
            long a1 = threads.getTotalThreadAllocatedBytes();
            rules = rs.ruleCount();
            rs = null;
            System.gc();
            Path dir = work.resolve("state" + (round + reps));
            Iptables ipt = new Iptables(new StateStore(dir, Extensions.standard()), Extensions.standard(),
                    ZonedDateTime::now);
            long t2 = System.nanoTime();
            int rc = ipt.run("iptables-restore", new String[0], new ByteArrayInputStream(full), sink, System.err);
            long t3 = System.nanoTime();
            if (rc != 0) {
                throw new IllegalStateException("restore failed: exit " + rc);
            }
            if (round >= 0) {
                memory[round] = t1 - t0;
                durable[round] = t3 - t2;
                allocated[round] = a1 - a0;
            }
        }
        System.out.printf("restore rules=%d memory=%d durable=%d allocated-mb=%d%n", rules, median(memory) / 1_000_000,
                median(durable) / 1_000_000, median(allocated) >> 20);
    }

    private static long median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
