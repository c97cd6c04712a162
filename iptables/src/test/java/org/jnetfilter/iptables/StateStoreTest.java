package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.jnetfilter.core.ext.Extensions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateStoreTest {
    @TempDir
    Path dir;

    private Iptables iptables() {
        return new Iptables(new StateStore(dir, Extensions.standard()), Extensions.standard(), ZonedDateTime::now);
    }

    private ConformanceTest.Run run(String program, String... args) {
        return ConformanceTest.run(iptables(), program, List.of(args));
    }

    @Test
    void concurrentAppendsWithWaitAllLandInOneOrder() throws Exception {
        int writers = 8;
        int each = 25;
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        List<Future<Integer>> results = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            int id = w;
            results.add(pool.submit(() -> {
                int failures = 0;
                for (int i = 0; i < each; i++) {
                    failures += run("iptables", "-w", "-A", "INPUT", "-s", "10." + id + ".0." + i, "-j", "ACCEPT").code();
                }
                return failures;
            }));
        }
        for (Future<Integer> f : results) {
            assertThat(f.get(60, TimeUnit.SECONDS)).isZero();
        }
        pool.shutdown();
        List<String> rules = run("iptables", "-S", "INPUT").out().lines().filter(l -> l.startsWith("-A")).toList();
        assertThat(rules).hasSize(writers * each).doesNotHaveDuplicates();
    }

    @Test
    void busyLockWithoutWaitFailsWithIptablesMessageAndExitFour() {
        StateStore store = new StateStore(dir, Extensions.standard());
        try (StateStore.Held held = store.lock(-1)) {
            Thread t = Thread.ofPlatform().start(() -> {
                ConformanceTest.Run r = run("iptables", "-A", "INPUT", "-j", "ACCEPT");
                assertThat(r.code()).isEqualTo(4);
                assertThat(r.err()).isEqualTo("Another app is currently holding the xtables lock. "
                        + "Perhaps you want to use the -w option?\n");
            });
            join(t);
        }
        assertThat(run("iptables", "-S", "INPUT").out()).isEqualTo("-P INPUT ACCEPT\n");
    }

    @Test
    void busyLockWithBoundedWaitGivesUpAfterTheTime() {
        StateStore store = new StateStore(dir, Extensions.standard());
        try (StateStore.Held held = store.lock(-1)) {
            Thread t = Thread.ofPlatform().start(() -> {
                ConformanceTest.Run r = run("iptables", "-w", "1", "-A", "INPUT", "-j", "ACCEPT");
                assertThat(r.code()).isEqualTo(4);
                assertThat(r.err()).contains("Stopped waiting after 1s.");
            });
            join(t);
        }
    }

    private static void join(Thread t) {
        try {
            t.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void failedCommandLeavesStateFileUntouched() throws IOException {
        run("iptables", "-A", "INPUT", "-j", "ACCEPT");
        run("iptables", "-A", "INPUT", "-j", "DROP");
        String before = stateFiles();
        assertThat(run("iptables", "-A", "NOSUCH", "-j", "ACCEPT").code()).isEqualTo(1);
        assertThat(run("iptables", "-A", "INPUT", "-p", "tcp", "--dport", "99999").code()).isEqualTo(2);
        assertThat(run("iptables-restore", "-n").code()).isZero();
        assertThat(stateFiles()).isEqualTo(before);
    }

    private String stateFiles() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String f : List.of("ipv4.rules", "ipv4.journal")) {
            Path p = dir.resolve(f);
            sb.append(f).append(":\n").append(Files.exists(p) ? Files.readString(p) : "(none)\n");
        }
        return sb.toString();
    }

    @Test
    void tornJournalRecordFromACrashIsIgnoredAndCutOff() throws IOException {
        run("iptables", "-A", "INPUT", "-j", "DROP");
        run("iptables", "-A", "INPUT", "-j", "ACCEPT");
        Path journal = dir.resolve("ipv4.journal");
        assertThat(journal).exists();
        // a crash in the middle of appending the next record leaves part of it
        Files.writeString(journal, "99\tE\tfilter\tINPUT\t2\t0\n99\t+\t0\t0\t-j REJ", java.nio.file.StandardOpenOption.APPEND);
        assertThat(run("iptables", "-S", "INPUT").out()).isEqualTo("-P INPUT ACCEPT\n-A INPUT -j DROP\n-A INPUT -j ACCEPT\n");
        run("iptables", "-A", "INPUT", "-j", "RETURN");
        assertThat(run("iptables", "-S", "INPUT").out())
                .isEqualTo("-P INPUT ACCEPT\n-A INPUT -j DROP\n-A INPUT -j ACCEPT\n-A INPUT -j RETURN\n");
    }

    @Test
    void manyCommandsCompactTheJournalIntoTheSnapshotWithoutLosingAnything() {
        for (int i = 0; i < 3000; i++) {
            run("iptables", "-A", "INPUT", "-s", "10.0." + (i / 250) + "." + (i % 250), "-m", "comment", "--comment",
                    "rule number " + i, "-j", "ACCEPT");
        }
        run("iptables", "-D", "INPUT", "1");
        run("iptables", "-I", "INPUT", "5", "-j", "DROP");
        List<String> rules = run("iptables", "-S", "INPUT").out().lines().toList();
        assertThat(rules).hasSize(3001);
        assertThat(rules.get(1)).isEqualTo("-A INPUT -s 10.0.0.1/32 -m comment --comment \"rule number 1\" -j ACCEPT");
        assertThat(rules.get(5)).isEqualTo("-A INPUT -j DROP");
        assertThat(dir.resolve("ipv4.journal").toFile().length()).isLessThan(300_000);
    }

    @Test
    void ruleWhoseSaveFormDoesNotReadBackKeepsItsSource() {
        // iptables-save prints an interface name with a space as it is; read back it would be two words
        assertThat(run("iptables", "-A", "INPUT", "-i", "a b", "-j", "ACCEPT").code()).isZero();
        run("iptables", "-A", "INPUT", "-j", "DROP");
        assertThat(run("iptables", "-S", "INPUT").out()).contains("-A INPUT -i a b -j ACCEPT");
        assertThat(run("iptables", "-L", "INPUT", "-n", "-v").out()).contains("a b");
    }

    @Test
    void leftoverTemporaryFileFromACrashIsIgnored() throws IOException {
        run("iptables", "-A", "INPUT", "-j", "DROP");
        // a crash between writing the temporary file and renaming it leaves this behind
        Files.writeString(dir.resolve("ipv4.rules12345.tmp"), "*filter\n-A INPUT -j ACC");
        assertThat(run("iptables", "-S", "INPUT").out()).isEqualTo("-P INPUT ACCEPT\n-A INPUT -j DROP\n");
    }

    /**
     * Journal records of -I, -R and -D in the middle of a chain (one record line per remembered edit of the
     * chain) replay to what the same commands make in memory: each command here loads the state anew (the
     * snapshot and the journal so far), and the save with counters is compared after every one.
     */
    @Test
    void journalOfMidChainEditsReplaysToTheRulesetTheCommandsMakeInMemory() throws Exception {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(11);
        org.jnetfilter.core.rules.Ruleset memory = org.jnetfilter.core.rules.Ruleset.empty(
                org.jnetfilter.core.rules.Family.IPV4);
        for (int step = 0; step < 260; step++) {
            int size = memory.table(org.jnetfilter.core.rules.TableKind.FILTER) == null ? 0
                    : memory.table(org.jnetfilter.core.rules.TableKind.FILTER).chain("INPUT").rules().size();
            List<String> args = new ArrayList<>();
            String rule = "10.1." + rnd.nextInt(4) + "." + rnd.nextInt(250);
            int op = step < 90 ? 0 : rnd.nextInt(5);
            switch (op) {
                case 0 -> args.addAll(List.of("-A", "INPUT", "-s", rule, "-c", "" + step, "" + 60 * step, "-j", "ACCEPT"));
                case 1 -> args.addAll(List.of("-I", "INPUT", "" + (1 + rnd.nextInt(size + 1)), "-s", rule, "-j", "DROP"));
                case 2 -> args.addAll(List.of("-R", "INPUT", "" + (1 + rnd.nextInt(Math.max(1, size))), "-d", rule, "-j", "ACCEPT"));
                case 3 -> args.addAll(List.of("-D", "INPUT", "" + (1 + rnd.nextInt(Math.max(1, size)))));
                default -> args.addAll(List.of("-D", "INPUT", "-s", rule + "/32", "-j", "DROP"));
            }
            ConformanceTest.Run r = run("iptables", args.toArray(new String[0]));
            org.jnetfilter.core.rules.Ruleset next;
            try {
                next = Transactions.command(memory, args.toArray(new String[0]));
            } catch (org.jnetfilter.core.ext.XtablesException e) {
                next = null;
            }
            assertThat(r.code() == 0).as("step " + step + ": " + args).isEqualTo(next != null);
            if (next != null) {
                memory = next;
            }
            assertThat(withoutComments(run("iptables-save", "-c").out())).as("step " + step + ": " + args)
                    .isEqualTo(withoutComments(SaveFiles.write(memory)));
        }
        assertThat(dir.resolve("ipv4.journal")).exists();
    }

    private static String withoutComments(String save) {
        return save.lines().filter(l -> !l.startsWith("#")).collect(java.util.stream.Collectors.joining("\n"));
    }

    @Test
    void countersSurviveAcrossCommands() {
        run("iptables", "-A", "INPUT", "-c", "10", "2000", "-j", "ACCEPT");
        run("iptables", "-A", "INPUT", "-j", "DROP");
        assertThat(run("iptables-save", "-c").out()).contains("[10:2000] -A INPUT -j ACCEPT");
    }
}
