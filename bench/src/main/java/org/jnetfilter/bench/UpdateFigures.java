package org.jnetfilter.bench;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.iptables.Iptables;
import org.jnetfilter.iptables.StateStore;

/**
 * Issue 5's update latencies through the in-process API: one JVM, the iptables commands as a program embedding
 * jnetfilter runs them ({@link Iptables#run} on a state directory: each one a transaction with its journal
 * record forced to disk). Restores {@code FULL}, then times {@code REPS} one-service deltas
 * ({@code iptables-restore --noflush} of {@code DELTA_DIR/delta-K.save}), one {@code -A} and one {@code -D} by
 * rule-spec each, after as many untimed warm-up operations. Prints medians in microseconds:
 * {@code api delta=... append=... delete=...}.
 *
 * <p>Usage: {@code UpdateFigures STATE_DIR FULL.save DELTA_DIR REPS}
 */
public final class UpdateFigures {
    private UpdateFigures() {
    }

    public static void main(String[] args) throws Exception {
        Path state = Path.of(args[0]);
        Path full = Path.of(args[1]);
        Path deltas = Path.of(args[2]);
        int reps = Integer.parseInt(args[3]);
        PrintStream sink = new PrintStream(OutputStream.nullOutputStream());
        Iptables ipt = new Iptables(new StateStore(state, Extensions.standard()), Extensions.standard(), ZonedDateTime::now);
        check(ipt.run("iptables-restore", new String[0], Files.newInputStream(full), sink, System.err), "restore");
        long[] delta = new long[reps];
        long[] append = new long[reps];
        long[] delete = new long[reps];
        // warm-up: the same kinds of operation on other rules
        for (int w = 0; w < reps; w++) {
            String[] a = rule("-A", 250 + w % 5, w);
            check(ipt.run("iptables", a, InputStream.nullInputStream(), sink, System.err), "warm -A");
            a[2] = "-D";
            check(ipt.run("iptables", a, InputStream.nullInputStream(), sink, System.err), "warm -D");
        }
        for (int k = 0; k < reps; k++) {
            byte[] d = Files.readAllBytes(deltas.resolve("delta-" + k + ".save"));
            long t0 = System.nanoTime();
            check(ipt.run("iptables-restore", new String[] {"--noflush"}, new ByteArrayInputStream(d), sink, System.err),
                    "delta");
            long t1 = System.nanoTime();
            String[] a = rule("-A", 200, k);
            check(ipt.run("iptables", a, InputStream.nullInputStream(), sink, System.err), "-A");
            long t2 = System.nanoTime();
            a[2] = "-D";
            check(ipt.run("iptables", a, InputStream.nullInputStream(), sink, System.err), "-D");
            long t3 = System.nanoTime();
            delta[k] = t1 - t0;
            append[k] = t2 - t1;
            delete[k] = t3 - t2;
        }
        System.out.printf("api delta=%d append=%d delete=%d%n", median(delta) / 1000, median(append) / 1000,
                median(delete) / 1000);

        // the same changes as pure in-memory transactions (Transactions: no state directory, no disk)
        org.jnetfilter.core.rules.Ruleset rs = org.jnetfilter.iptables.SaveFiles.read(org.jnetfilter.core.rules.Family.IPV4, full);
        int n = Math.max(reps, 50);
        long[] mDelta = new long[n];
        long[] mAppend = new long[n];
        long[] mDelete = new long[n];
        for (int w = 0; w < 200; w++) {
            String[] a = rule("-A", 240 + w % 5, w).clone();
            org.jnetfilter.core.rules.Ruleset next = org.jnetfilter.iptables.Transactions.command(rs, a);
            a[2] = "-D";
            org.jnetfilter.iptables.Transactions.command(next, a);
        }
        for (int k = 0; k < n; k++) {
            String d = Files.readString(deltas.resolve("delta-" + (k % reps) + ".save"));
            long t0 = System.nanoTime();
            org.jnetfilter.core.rules.Ruleset withDelta = org.jnetfilter.iptables.Transactions.restore(rs, d, true);
            long t1 = System.nanoTime();
            String[] a = rule("-A", 210, k);
            org.jnetfilter.core.rules.Ruleset appended = org.jnetfilter.iptables.Transactions.command(rs, a);
            long t2 = System.nanoTime();
            a[2] = "-D";
            org.jnetfilter.iptables.Transactions.command(appended, a);
            long t3 = System.nanoTime();
            if (withDelta == rs || appended == rs) {
                throw new IllegalStateException("a change changed nothing");
            }
            mDelta[k] = t1 - t0;
            mAppend[k] = t2 - t1;
            mDelete[k] = t3 - t2;
        }
        System.out.printf("memory delta=%d append=%d delete=%d%n", median(mDelta) / 1000, median(mAppend) / 1000,
                median(mDelete) / 1000);
    }

    private static String[] rule(String op, int net, int k) {
        return new String[] {"-t", "nat", op, "KUBE-SERVICES", "-d", "10." + net + "." + (k / 250) + "." + (k % 250) + "/32", "-p",
            "tcp", "-m", "comment", "--comment", "bench", "-m", "tcp", "--dport", "80", "-j", "KUBE-MARK-MASQ"};
    }

    private static void check(int code, String what) {
        if (code != 0) {
            throw new IllegalStateException(what + " failed with exit code " + code);
        }
    }

    private static long median(long[] v) {
        long[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }
}
