package org.jnetfilter.bench;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.ConntrackModule;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.PacketSink;
import org.jnetfilter.core.netfilter.TableWalker;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.iptables.SaveFiles;
import org.jnetfilter.iptables.Transactions;
import org.jnetfilter.iptables.Iptables;
import org.jnetfilter.iptables.StateStore;

/**
 * Issue 5's update latencies through the in-process API: one JVM, the iptables commands as a program embedding
 * jnetfilter runs them ({@link Iptables#run} on a state directory: each one a transaction with its journal
 * record forced to disk). Restores {@code FULL}, then times {@code REPS} one-service deltas
 * ({@code iptables-restore --noflush} of {@code DELTA_DIR/delta-K.save}), one {@code -A} and one {@code -D} by
 * rule-spec each, after an untimed warm-up of the same kinds of operation on other rules for
 * {@code -Djnf.update.warmup} seconds (default 20; the in-memory rows get the same). Prints medians in microseconds:
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
        if (args.length > 4 && args[4].equals("memory")) {
            memory(full, deltas, reps);
            return;
        }
        PrintStream sink = new PrintStream(OutputStream.nullOutputStream());
        Iptables ipt = new Iptables(new StateStore(state, Extensions.standard()), Extensions.standard(), ZonedDateTime::now);
        check(ipt.run("iptables-restore", new String[0], Files.newInputStream(full), sink, System.err), "restore");
        long[] delta = new long[reps];
        long[] append = new long[reps];
        long[] delete = new long[reps];
        // warm-up, as long as the in-memory rows': the same kinds of operation on other rules, and each delta
        // applied and taken back (its rule deleted, its chains flushed and deleted) in one transaction each
        byte[][] undo = new byte[reps][];
        for (int k = 0; k < reps; k++) {
            undo[k] = undo(Files.readString(deltas.resolve("delta-" + k + ".save"))).getBytes();
        }
        long warmUntil = System.nanoTime() + warmupNanos();
        for (int w = 0; w < reps || System.nanoTime() < warmUntil; w++) {
            String[] a = rule("-A", 250 + w % 5, w % 1000);
            check(ipt.run("iptables", a, InputStream.nullInputStream(), sink, System.err), "warm -A");
            a[2] = "-D";
            check(ipt.run("iptables", a, InputStream.nullInputStream(), sink, System.err), "warm -D");
            byte[] d = Files.readAllBytes(deltas.resolve("delta-" + (w % reps) + ".save"));
            check(ipt.run("iptables-restore", new String[] {"--noflush"}, new ByteArrayInputStream(d), sink,
                    System.err), "warm delta");
            check(ipt.run("iptables-restore", new String[] {"--noflush"}, new ByteArrayInputStream(undo[w % reps]),
                    sink, System.err), "warm undo");
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

        memory(full, deltas, reps);
    }

    /**
     * The same changes as pure in-memory transactions ({@link Transactions}: no state directory, no disk), each
     * on the restored generation: a one-service delta, {@code -A}, {@code -D} by rule-spec, {@code -I} and
     * {@code -R} in the middle of KUBE-SERVICES, and "publish": an {@code -A} and the classifiers of the next
     * generation ready ({@link TableWalker#prepare}, what a datapath does before packets see it), and "datapath
     * publish": an {@code -A} published through a {@link Datapath} with conntrack and the classified walker, each
     * sample on the generation the datapath holds (the previous sample's {@code -D} of its rule, also
     * published, untimed): the classifiers and what the datapath asks of each publication (conntrack,
     * accounting, labels, defragmentation).
     */
    static void memory(Path full, Path deltas, int reps) throws Exception {
        Ruleset rs = SaveFiles.read(Family.IPV4, full);
        Table nat = rs.table(TableKind.NAT);
        TableWalker.CLASSIFIED.prepare(null, nat);
        int middle = nat.chain("KUBE-SERVICES").rules().size() / 2;
        int n = Integer.getInteger("jnf.update.samples", Math.max(reps, 1000));
        long[][] t = new long[7][n];
        Host host = new Host();
        Datapath datapath = new Datapath(host, new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment ethernetFrame) {
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment ipPacket) {
            }
        });
        datapath.walker(TableWalker.CLASSIFIED);
        datapath.module(new ConntrackModule(new Conntrack(host)));
        datapath.rules(Family.IPV4, rs);
        Ruleset current = rs;
        long warmUntil = System.nanoTime() + warmupNanos();
        for (int round = -1; round < 1; round++) {
            // round -1 warms up on other rules: every row alike (one of each per pass), for the warm-up time
            for (int i = 0; round < 0 ? i < n || System.nanoTime() < warmUntil : i < n; i++) {
                int k = i % n;
                int net = round < 0 ? 240 : 210;
                String d = Files.readString(deltas.resolve("delta-" + (k % reps) + ".save"));
                long t0 = System.nanoTime();
                Ruleset withDelta = Transactions.restore(rs, d, true);
                long t1 = System.nanoTime();
                String[] a = rule("-A", net, k);
                Ruleset appended = Transactions.command(rs, a);
                long t2 = System.nanoTime();
                a[2] = "-D";
                Ruleset deleted = Transactions.command(appended, a);
                long t3 = System.nanoTime();
                Ruleset inserted = Transactions.command(rs, at(rule("-I", net + 1, k), middle));
                long t4 = System.nanoTime();
                Ruleset replaced = Transactions.command(rs, at(rule("-R", net + 2, k), middle));
                long t5 = System.nanoTime();
                Ruleset published = Transactions.command(rs, rule("-A", net + 3, k));
                TableWalker.CLASSIFIED.prepare(nat, published.table(TableKind.NAT));
                long t6 = System.nanoTime();
                String[] p = rule("-A", net + 4, k);
                long t7 = System.nanoTime();
                current = Transactions.command(current, p);
                datapath.rules(Family.IPV4, current);
                long t8 = System.nanoTime();
                p[2] = "-D";
                current = Transactions.command(current, p);
                datapath.rules(Family.IPV4, current);
                if (withDelta == rs || appended == rs || deleted == appended || inserted == rs || replaced == rs) {
                    throw new IllegalStateException("a change changed nothing");
                }
                long[] step = {t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t8 - t7};
                for (int row = 0; row < step.length; row++) {
                    t[row][k] = step[row];
                }
            }
        }
        System.out.printf("memory delta=%.1f append=%.1f delete=%.1f insert=%.1f replace=%.1f publish=%.1f"
                        + " datapath=%.1f%n", median(t[0]) / 1000.0, median(t[1]) / 1000.0, median(t[2]) / 1000.0,
                median(t[3]) / 1000.0, median(t[4]) / 1000.0, median(t[5]) / 1000.0, median(t[6]) / 1000.0);
    }

    /**
     * How long each run warms up before it is timed ({@code -Djnf.update.warmup=SECONDS}, default 20: about 3 s
     * for each of the 7 in-memory rows, which take turns): the figures are those of a long-lived embedder or
     * daemon, whose update path the JIT has compiled (at 160k rules 10 s left the one-service delta a fifth
     * slower than 20 s on the loaded machine).
     */
    static long warmupNanos() {
        return (long) (Double.parseDouble(System.getProperty("jnf.update.warmup", "20")) * 1e9);
    }

    /**
     * A restore text taking back a kubegen one-service delta: the rules it appended to existing chains
     * deleted, its own chains flushed, then deleted.
     */
    static String undo(String delta) {
        List<String> made = new ArrayList<>();
        List<String> appended = new ArrayList<>();
        for (String line : delta.split("\n")) {
            if (line.startsWith(":")) {
                made.add(line.substring(1, line.indexOf(' ')));
            } else if (line.startsWith("-A ")) {
                appended.add(line);
            }
        }
        StringBuilder out = new StringBuilder("*nat\n");
        for (String line : appended) {
            if (!made.contains(line.split(" ")[1])) {
                out.append("-D").append(line, 2, line.length()).append('\n');
            }
        }
        for (String c : made) {
            out.append("-F ").append(c).append('\n');
        }
        for (String c : made) {
            out.append("-X ").append(c).append('\n');
        }
        return out.append("COMMIT\n").toString();
    }

    /** {@code -I}/{@code -R} KUBE-SERVICES at rule number {@code at}. */
    private static String[] at(String[] r, int at) {
        String[] out = new String[r.length + 1];
        System.arraycopy(r, 0, out, 0, 4);
        out[4] = Integer.toString(at);
        System.arraycopy(r, 4, out, 5, r.length - 4);
        return out;
    }

    private static String[] rule(String op, int net, int k) {
        return new String[] {"-t", "nat", op, "KUBE-SERVICES", "-d", "10." + net + "." + (k / 250) + "." + (k % 250) + "/32", "-p",
            "tcp", "-m", "comment", "--comment", "bench", "-m", "tcp", "--dport", "80", "-j", "KUBE-MARK-MASQ"};
    }

    static void check(int code, String what) {
        if (code != 0) {
            throw new IllegalStateException(what + " failed with exit code " + code);
        }
    }

    static long median(long[] v) {
        long[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }
}
