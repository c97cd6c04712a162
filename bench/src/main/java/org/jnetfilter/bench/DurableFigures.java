package org.jnetfilter.bench;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.iptables.Iptables;
import org.jnetfilter.iptables.StateStore;

/**
 * The durable command path in one JVM, each command as a CLI process runs it but without the JVM start: a
 * store of its own on the state directory (the snapshot mapped, the chains the command reaches made, the journal
 * replayed, the record forced to disk). Restores {@code FULL} into {@code STATE_DIR}, warms up on other rules,
 * then times {@code REPS} rounds of {@code -A}, {@code -C}, {@code -D} (by rule-spec) of one KUBE-SERVICES rule,
 * {@code -L -n} and {@code -S} of a service chain and of KUBE-SERVICES. Prints medians in microseconds, wall
 * and the thread's CPU time: {@code durable A=... C=... D=... Lsvc=... Ssvc=... Lservices=... Sservices=...}.
 *
 * <p>Usage: {@code DurableFigures STATE_DIR FULL.save REPS}
 */
public final class DurableFigures {
    private DurableFigures() {
    }

    private static final String[] OPS = {"A", "C", "D", "Lsvc", "Ssvc", "Lservices", "Sservices"};

    public static void main(String[] args) throws Exception {
        Path state = Path.of(args[0]);
        Path full = Path.of(args[1]);
        int reps = Integer.parseInt(args[2]);
        PrintStream sink = new PrintStream(OutputStream.nullOutputStream());
        UpdateFigures.check(iptables(state).run("iptables-restore", new String[0], Files.newInputStream(full), sink, System.err), "restore");
        String svc = null;
        for (String line : Files.readAllLines(full)) {
            if (line.startsWith(":KUBE-SVC-")) {
                svc = line.substring(1, line.indexOf(' '));
                break;
            }
        }
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        long[][] wall = new long[OPS.length][reps];
        long[][] cpuTime = new long[OPS.length][reps];
        for (int round = -1; round < 1; round++) {
            int n = round < 0 ? Math.max(3, reps) : reps;
            for (int k = 0; k < n; k++) {
                int net = round < 0 ? 240 : 200;
                String[] a = rule("-A", net, k);
                String[][] commands = {a, rule("-C", net, k), rule("-D", net, k),
                    {"-t", "nat", "-L", svc, "-n"}, {"-t", "nat", "-S", svc},
                    {"-t", "nat", "-L", "KUBE-SERVICES", "-n"}, {"-t", "nat", "-S", "KUBE-SERVICES"}};
                for (int op = 0; op < OPS.length; op++) {
                    long c0 = cpu.getCurrentThreadCpuTime();
                    long t0 = System.nanoTime();
                    UpdateFigures.check(iptables(state).run("iptables", commands[op], InputStream.nullInputStream(), sink, System.err), OPS[op]);
                    long t1 = System.nanoTime();
                    long c1 = cpu.getCurrentThreadCpuTime();
                    if (round == 0) {
                        wall[op][k] = t1 - t0;
                        cpuTime[op][k] = c1 - c0;
                    }
                }
            }
        }
        StringBuilder sb = new StringBuilder("durable");
        for (int op = 0; op < OPS.length; op++) {
            sb.append(' ').append(OPS[op]).append('=').append(UpdateFigures.median(wall[op]) / 1000);
        }
        sb.append("\ncpu");
        for (int op = 0; op < OPS.length; op++) {
            sb.append(' ').append(OPS[op]).append('=').append(UpdateFigures.median(cpuTime[op]) / 1000);
        }
        System.out.println(sb);
    }

    private static Iptables iptables(Path state) {
        return new Iptables(new StateStore(state, Extensions.standard()), Extensions.standard(), ZonedDateTime::now);
    }

    private static String[] rule(String op, int net, int k) {
        return new String[] {"-t", "nat", op, "KUBE-SERVICES", "-d", "10." + net + "." + (k / 250) + "." + (k % 250) + "/32",
            "-p", "tcp", "-m", "comment", "--comment", "bench", "-m", "tcp", "--dport", "80", "-j", "KUBE-MARK-MASQ"};
    }
}
