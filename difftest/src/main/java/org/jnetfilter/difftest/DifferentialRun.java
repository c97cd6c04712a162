package org.jnetfilter.difftest;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.iptables.SaveFiles;

/**
 * One batch of the differential test: many rulesets through one kernel topology. For each ruleset
 * (random, Docker-shaped or Kubernetes-shaped for IPv4; random for IPv6) and its random packet
 * sequence: the kernel runs the case; jnetfilter must load the same files as the kernel did (refusing
 * none the kernel took) and, read back, print the same ruleset as the kernel's {@code iptables-save};
 * and when an engine is given, its observation must equal the kernel's (see {@link Comparison}). Each
 * mismatching case is shrunk and printed as a reproducer. {@link Figures} are the run's numbers.
 */
public final class DifferentialRun {
    public record Config(long seed, int rulesets, int packetsPerRuleset, int rulesPerChain, int shrinkTries) {
    }

    /** The figures of a run, as the README states them. */
    public record Figures(int rulesets, int randomRulesets, int dockerRulesets, int kubernetesRulesets, int packets,
            int framesFromKernel, int refusedByKernel, int compared, int mismatchedCases, long millis) {
        public String describe() {
            return String.format("%d rulesets (%d random, %d Docker-host, %d Kubernetes-node; IPv4 and IPv6), "
                    + "%d packet cases, %d frames sent by the kernel, %d rulesets refused by the kernel, "
                    + "%d cases compared with jnetfilter, %d mismatching, %.1f s",
                    rulesets, randomRulesets, dockerRulesets, kubernetesRulesets, packets, framesFromKernel,
                    refusedByKernel, compared, mismatchedCases, millis / 1000.0);
        }
    }

    /** A mismatching case: the original and shrunk forms and what differed. */
    public record Failure(String title, Shrinker.Case shrunk, List<Comparison.Mismatch> mismatches) {
        public String reproducer() {
            return shrunk.reproducer(title, mismatches);
        }
    }

    public record Result(Figures figures, List<Failure> failures) {
    }

    private DifferentialRun() {
    }

    private static int salt;
    private static int runs;

    /**
     * The packets as this run of a case sends them ({@link Injection#salted}): a fresh fragment-ID salt and fresh
     * no-route senders, the same for both sides.
     */
    static synchronized List<Injection> salted(List<Injection> packets) {
        salt += 7919;
        runs++;
        List<Injection> out = new ArrayList<>(packets.size());
        for (Injection p : packets) {
            out.add(p.salted(salt, runs));
        }
        return out;
    }

    public static Result run(KernelDut kernel, EngineUnderTest engine, KnownGaps gaps, Config c, PrintStream log) {
        long start = System.nanoTime();
        Path kubegen = RealisticRulesets.kubegen();
        if (kubegen == null) {
            log.println("difftest: ../shared/bench/kubegen.py not found: no Kubernetes-node rulesets in this run");
        }
        RulesetGenerator.Features features = gaps.features();
        if (!kernel.hasSets()) {
            log.println("difftest: ipset is not installed: no rules with set matches or SET targets in this run");
            features = features.without("ipset");
        }
        String jiffies = KernelJiffies.unusableReason();
        boolean onJiffies = jiffies == null;
        if (jiffies != null) {
            log.println("difftest: limit and hashlimit by the second are not drawn (refills not compared): " + jiffies);
            features = features.without("limit-refill");
        }
        // the sets exist before any ruleset naming them is read (jnetfilter finds sets by name when it parses)
        SetCatalogue.install(0L);
        // time matches are drawn around the wall clock of the run's start (see RulesetGenerator#clock)
        long now = System.currentTimeMillis() / 1000;
        if (!features.conntrack() || !features.nat()) {
            log.println("difftest: no Docker-host or Kubernetes-node rulesets in this run: they need conntrack and NAT"
                    + " (known gaps generate.conntrack / generate.nat)");
        }
        int packets = 0;
        int frames = 0;
        int refused = 0;
        int endless = 0;
        int compared = 0;
        int random = 0;
        int docker = 0;
        int kube = 0;
        List<Failure> failures = new ArrayList<>();
        // -Djnf.difftest.only=N: only the run's ruleset number N (0-based), to reproduce one case of a run
        int only = Integer.getInteger("jnf.difftest.only", -1);
        for (int i = 0; i < c.rulesets(); i++) {
            if (only >= 0 && i != only) {
                continue;
            }
            long seed = c.seed() * 1_000_003L + i;
            String v4;
            String kind;
            int shape = i % 10;
            if (shape == 7 && features.conntrack() && features.nat()) {
                v4 = RealisticRulesets.docker(seed);
                kind = "docker";
                docker++;
            } else if (shape == 8 && kubegen != null && features.nat()) {
                v4 = RealisticRulesets.kubernetes(kubegen, 5 + (int) (seed % 40), seed);
                kind = "kubernetes";
                kube++;
            } else {
                v4 = new RulesetGenerator(seed, false, features).clock(now).generate(c.rulesPerChain());
                kind = "random";
                random++;
            }
            String v6 = new RulesetGenerator(seed ^ 0x6666, true, features).clock(now).generate(c.rulesPerChain());
            List<Injection> in = new PacketSequenceGenerator(seed).features(features).targets(RealisticRulesets.targets(v4))
                    .pauses(RulesetGenerator.timeSensitive(v4) || RulesetGenerator.timeSensitive(v6))
                    .refills(RulesetGenerator.refills(v4) || RulesetGenerator.refills(v6))
                    .spacing(RulesetGenerator.jiffySensitive(v4) || RulesetGenerator.jiffySensitive(v6)
                            ? RulesetGenerator.JIFFY_SPACING_MILLIS : 0)
                    .generate(c.packetsPerRuleset());
            String title = "case seed " + seed + " (" + kind + " ruleset, " + in.size() + " packets)";
            Observation k;
            List<Injection> first = salted(in);
            try {
                k = kernel.run(v4, v6, first);
            } catch (KernelDut.RulesetRefused e) {
                // a generator bug: counted and printed, never silent; jnetfilter must refuse it too
                refused++;
                log.println("difftest: " + title + ": " + e.getMessage());
                String accepted = acceptedByJnetfilter(e.family(), e.family() == Family.IPV4 ? v4 : v6);
                if (accepted != null) {
                    failures.add(new Failure(title + ": jnetfilter loads a ruleset the kernel refuses",
                            new Shrinker.Case(v4, v6, List.of()), List.of(new Comparison.Mismatch(
                                    Comparison.Kind.RULESET, -1, e.getMessage() + "\n--- jnetfilter read\n" + accepted))));
                    log.println(failures.getLast().reproducer());
                }
                continue;
            }
            packets += in.size();
            frames += k.frameCount();
            List<Comparison.Mismatch> loadDiffs = loadAlike(v4, v6, k, kernel);
            if (!loadDiffs.isEmpty()) {
                failures.add(new Failure(title + ": jnetfilter loads the ruleset differently",
                        new Shrinker.Case(v4, v6, List.of()), loadDiffs));
                log.println(failures.getLast().reproducer());
                continue;
            }
            if (engine == null) {
                continue;
            }
            boolean randomNat = Comparison.randomNat(v4, v6);
            Observation j = engine.run(v4, v6, first, KernelJiffies.onKernelJiffies(k.sentAtNanos(), onJiffies));
            if (j.endlessLoop()) {
                // Linux copies such a copy for ever (netif_rx, then the TEE again): its counters tell only how long
                // the loop ran until the next case's rules stopped it, nothing two sides could agree on
                endless++;
                log.println("difftest: " + title + ": not compared: a TEE copy comes back to its TEE without end"
                        + " (jnetfilter stopped after " + org.jnetfilter.core.netfilter.Datapath.MAX_LOOPED_BACK
                        + " looped-back packets; Linux goes on for ever)");
                kernel.quiesce();
                continue;
            }
            compared += in.size();
            List<Comparison.Mismatch> diffs = Comparison.compare(first, k, j, gaps, randomNat);
            if (!diffs.isEmpty()) {
                // said at once (shrinking takes a while: a case with a pause sleeps in each of its runs)
                log.println("difftest: " + title + " mismatches, shrinking: " + diffs.get(0).toString().replace("\n", "\n  "));
                // shrink towards the same kind of difference, so the reproducer does not drift to another one
                Comparison.Kind kind0 = diffs.get(0).kind();
                Shrinker shrinker = new Shrinker(cs -> {
                    try {
                        List<Injection> p = salted(cs.packets());
                        Observation kk = kernel.run(cs.ipv4Rules(), cs.ipv6Rules(), p);
                        return Comparison.compare(p, kk, engine.run(cs.ipv4Rules(), cs.ipv6Rules(), p,
                                KernelJiffies.onKernelJiffies(kk.sentAtNanos(), onJiffies)), gaps,
                                Comparison.randomNat(cs.ipv4Rules(), cs.ipv6Rules()))
                                .stream().anyMatch(m -> m.kind() == kind0);
                    } catch (KernelDut.RulesetRefused e) {
                        return false;
                    }
                }, c.shrinkTries());
                Shrinker.Case small = shrinker.shrink(new Shrinker.Case(v4, v6, in));
                List<Injection> sp = salted(small.packets());
                Observation smallKernel = kernel.run(small.ipv4Rules(), small.ipv6Rules(), sp);
                List<Comparison.Mismatch> smallDiffs = Comparison.compare(sp, smallKernel,
                        engine.run(small.ipv4Rules(), small.ipv6Rules(), sp,
                                KernelJiffies.onKernelJiffies(smallKernel.sentAtNanos(), onJiffies)), gaps,
                        Comparison.randomNat(small.ipv4Rules(), small.ipv6Rules()));
                // the original differences lead, so a shrink that drifted to another difference of the same kind
                // (or a case that fails only after others) still shows what failed in the run
                StringBuilder inRun = new StringBuilder(title + ", shrunk in " + shrinker.tries() + " runs; in the run:");
                for (Comparison.Mismatch m : diffs) {
                    inRun.append("\n  ").append(m.toString().replace("\n", "\n  "));
                }
                Failure failure = smallDiffs.isEmpty()
                        ? new Failure(title + " (the shrunk case did not fail again: the original is shown)",
                                new Shrinker.Case(v4, v6, in), diffs)
                        : new Failure(inRun + "\nthe shrunk case", small, smallDiffs);
                failures.add(failure);
                // printed as soon as it is known: a long run shows its reproducers while it goes on
                log.println(failure.reproducer());
            }
        }
        if (endless > 0) {
            log.println("difftest: " + endless + " rulesets not compared: a TEE copy came back to its TEE without end");
        }
        Figures f = new Figures(c.rulesets(), random, docker, kube, packets, frames, refused, compared, failures.size(),
                (System.nanoTime() - start) / 1_000_000L);
        return new Result(f, failures);
    }

    /**
     * jnetfilter's reading of the files the kernel took: it must take them too, and print them as the
     * kernel's iptables-save does (counters aside: the kernel's have run).
     */
    static List<Comparison.Mismatch> loadAlike(String v4, String v6, Observation k, KernelDut kernel) {
        List<Comparison.Mismatch> out = new ArrayList<>();
        String[][] cases = {{"ipv4", v4}, {"ipv6", v6}};
        for (String[] one : cases) {
            Family family = one[0].equals("ipv4") ? Family.IPV4 : Family.IPV6;
            String mine;
            try {
                mine = SaveFiles.write(SaveFiles.read(family, Rulesets.withAllTables(one[1])));
            } catch (SaveFiles.Invalid e) {
                out.add(new Comparison.Mismatch(Comparison.Kind.RULESET, -1, one[0]
                        + " ruleset the kernel loaded is refused by jnetfilter: " + e.getMessage()));
                continue;
            }
            String kernels = family == Family.IPV4 ? kernel.lastSave4() : kernel.lastSave6();
            String a = withoutCounters(kernels);
            String b = withoutCounters(mine);
            if (!a.equals(b)) {
                out.add(new Comparison.Mismatch(Comparison.Kind.RULESET, -1, one[0]
                        + " iptables-save differs:\n--- kernel\n" + a + "--- jnetfilter\n" + b));
            }
        }
        return out;
    }

    /** jnetfilter's save of {@code text}, or null when it refuses it as the kernel did. */
    static String acceptedByJnetfilter(Family family, String text) {
        try {
            return SaveFiles.write(SaveFiles.read(family, Rulesets.withAllTables(text)));
        } catch (SaveFiles.Invalid e) {
            return null;
        }
    }

    /**
     * A save text without comments, with every counter zeroed and the tables sorted by name: the kernel
     * prints tables in the order they were first used in the namespace, which is history, not ruleset.
     */
    static String withoutCounters(String save) {
        java.util.TreeMap<String, StringBuilder> tables = new java.util.TreeMap<>();
        StringBuilder current = new StringBuilder();
        for (String line : save.split("\n")) {
            if (line.startsWith("#") || line.isBlank()) {
                continue;
            }
            if (line.startsWith("*")) {
                current = tables.computeIfAbsent(line, t -> new StringBuilder());
            }
            current.append(line.replaceAll("\\[\\d+:\\d+\\]", "[0:0]")).append('\n');
        }
        StringBuilder s = new StringBuilder();
        tables.values().forEach(s::append);
        return s.toString();
    }

    /** Manual runs: {@code DifferentialRun SEED RULESETS PACKETS} prints the figures and any reproducers. */
    public static void main(String[] args) {
        long seed = args.length > 0 ? Long.parseLong(args[0]) : 1;
        int rulesets = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        int packets = args.length > 2 ? Integer.parseInt(args[2]) : 50;
        String why = Topology.unavailableReason();
        if (why != null) {
            System.err.println("difftest: cannot run: " + why);
            System.exit(2);
        }
        KnownGaps gaps = KnownGaps.load("/packet-known-gaps.txt");
        try (KernelDut kernel = KernelDut.start(seed)) {
            Result r = run(kernel, Engines.jnetfilter(gaps), gaps, new Config(seed, rulesets, packets, 3,
                    Integer.getInteger("jnf.difftest.shrink", 300)),
                    System.out);
            System.out.println("difftest: " + r.figures().describe());
            System.out.print(gaps.describe());
        }
    }
}
