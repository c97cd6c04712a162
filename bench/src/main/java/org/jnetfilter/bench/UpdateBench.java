package org.jnetfilter.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.jnetfilter.core.netfilter.TableWalker;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.iptables.SaveFiles;
import org.jnetfilter.iptables.Transactions;
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
 * Issue 5's update target in-process: one change to a Kubernetes-shaped ruleset of {@code services} services
 * ({@code kubegen.py}: 1,000 = 8k rules, 20,000 = 160k rules) as a pure transaction ({@link Transactions}), each
 * on the same restored generation: {@code -A}, {@code -D} by rule-spec, {@code -I} and {@code -R} in the middle
 * of KUBE-SERVICES, a one-service {@code restore --noflush} delta, and "publish": an {@code -A} plus the next
 * generation's classifiers ({@link TableWalker#prepare}). Sample time, so JMH prints the median (p0.50).
 *
 * <pre>
 * mvn -o -B -q package -pl bench -am -DskipTests
 * java -cp "bench/target/jnetfilter-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" org.openjdk.jmh.Main UpdateBench \
 *     -jvmArgs -Djnf.kubegen=../shared/bench/kubegen.py
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx3g", "-XX:+UseParallelGC"})
public class UpdateBench {
    @Param({"1000", "20000"})
    public int services;

    private Ruleset base;
    private Ruleset appended;
    private Table nat;
    private String delta;
    private int middle;
    private int k;

    @Setup
    public void setUp() throws Exception {
        base = SaveFiles.read(Family.IPV4, kubegen(Integer.toString(services)));
        delta = kubegen(Integer.toString(services + 1), "--only-service", Integer.toString(services));
        nat = base.table(TableKind.NAT);
        TableWalker.CLASSIFIED.prepare(null, nat);
        middle = nat.chain("KUBE-SERVICES").rules().size() / 2;
        appended = Transactions.command(base, rule("-A", 200, 0));
    }

    static String kubegen(String... args) throws IOException, InterruptedException {
        String script = System.getProperty("jnf.kubegen", "../shared/bench/kubegen.py");
        String[] cmd = new String[args.length + 2];
        cmd[0] = "python3";
        cmd[1] = Path.of(script).toString();
        System.arraycopy(args, 0, cmd, 2, args.length);
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("kubegen failed: " + String.join(" ", cmd));
        }
        return out;
    }

    private static String[] rule(String op, int net, int k) {
        return new String[] {"-t", "nat", op, "KUBE-SERVICES", "-d", "10." + net + "." + (k / 250) + "." + (k % 250) + "/32",
            "-p", "tcp", "-m", "comment", "--comment", "bench", "-m", "tcp", "--dport", "80", "-j", "KUBE-MARK-MASQ"};
    }

    private String[] next(String op, int net) {
        k = (k + 1) % 60000;
        return rule(op, net, k);
    }

    private String[] at(String[] r) {
        String[] out = new String[r.length + 1];
        System.arraycopy(r, 0, out, 0, 4);
        out[4] = Integer.toString(middle);
        System.arraycopy(r, 4, out, 5, r.length - 4);
        return out;
    }

    @Benchmark
    public Ruleset append() {
        return Transactions.command(base, next("-A", 210));
    }

    @Benchmark
    public Ruleset deleteByRuleSpec() {
        return Transactions.command(appended, rule("-D", 200, 0));
    }

    @Benchmark
    public Ruleset insertInTheMiddle() {
        return Transactions.command(base, at(next("-I", 211)));
    }

    @Benchmark
    public Ruleset replaceInTheMiddle() {
        return Transactions.command(base, at(next("-R", 212)));
    }

    @Benchmark
    public Ruleset oneServiceDelta() throws SaveFiles.Invalid {
        return Transactions.restore(base, delta, true);
    }

    @Benchmark
    public Ruleset publish() {
        Ruleset next = Transactions.command(base, next("-A", 213));
        TableWalker.CLASSIFIED.prepare(nat, next.table(TableKind.NAT));
        return next;
    }
}
