package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.iptables.IncrementalUpdatePropertyTest.listing;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.HookReach;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The state read in place (each command a fresh store, as a CLI process: the snapshot mapped, chains and hook
 * reach entries made when reached, the journal replayed over them) equals the state read in full (every chain
 * read and rebuilt, masks and reach counted from scratch) and the generations the same commands make in memory
 * ({@link Transactions}), over random command histories on a nat table with jumps: after every command the
 * exit status, the save output with counters (policy counters aside against memory), the -L -n -v -x listing of some chains (with their references) and
 * of the table, -S, and the hook masks and reach entries (each chain's hooks and the jump edges carrying each
 * hook into it). Some histories compact the journal after nearly every command, some never.
 */
class InPlaceStatePropertyTest {
    private static final List<String> BUILTINS = List.of("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING");

    @TempDir
    Path tmp;

    @Test
    void stateReadInPlaceEqualsTheStateReadInFullAfterEveryCommand() throws Exception {
        int compared = 0;
        int withReach = 0;
        int refused = 0;
        for (int seed = 0; seed < 12; seed++) {
            SplittableRandom rnd = new SplittableRandom(seed);
            Path dir = Files.createDirectories(tmp.resolve("s" + seed));
            long compactFrom = switch (seed % 3) {
                case 0 -> 0;
                case 1 -> 4096;
                default -> Long.MAX_VALUE;
            };
            String initial = initialRules(rnd);
            Result restored = run(dir, compactFrom, "iptables-restore", new String[] {"-c"}, initial);
            assertThat(restored.code).as(restored.err).isZero();
            Ruleset memory = Transactions.restore(Ruleset.empty(Family.IPV4), initial, false);
            for (int step = 0; step < 50; step++) {
                Object[] cmd = command(rnd, memory);
                String what = "seed " + seed + " step " + step + ": " + describe(cmd);
                Result r = cmd[0] instanceof String delta
                        ? run(dir, compactFrom, "iptables-restore", new String[] {"--noflush"}, delta)
                        : run(dir, compactFrom, "iptables", (String[]) cmd[1], "");
                Ruleset next;
                try {
                    next = cmd[0] instanceof String delta ? Transactions.restore(memory, delta, true)
                            : Transactions.command(memory, (String[]) cmd[1]);
                } catch (XtablesException | SaveFiles.Invalid e) {
                    next = null;
                }
                assertThat(r.code == 0).as(what + " (" + r.err + ")").isEqualTo(next != null);
                if (next == null) {
                    refused++;
                } else {
                    memory = next;
                }
                Ruleset inPlace = new StateStore(dir, Extensions.standard(), compactFrom).load(Family.IPV4);
                // every chain read and made anew, nothing derived remembered (the masks are counted again below)
                Ruleset full = IncrementalUpdatePropertyTest.rebuilt(
                        new StateStore(dir, Extensions.standard(), compactFrom).load(Family.IPV4));
                assertThat(SaveFiles.write(inPlace)).as(what).isEqualTo(SaveFiles.write(full));
                // (a CLI command restarts the policy counters, as iptables-legacy's does; Transactions keeps them)
                assertThat(withoutPolicyCounters(SaveFiles.write(full))).as(what)
                        .isEqualTo(withoutPolicyCounters(SaveFiles.write(memory)));
                Table lazy = inPlace.table(TableKind.NAT);
                Table whole = full.table(TableKind.NAT);
                List<Chain> chains = whole.chains();
                for (int k = 0; k < 4; k++) {
                    Chain c = chains.get(rnd.nextInt(chains.size()));
                    assertThat(listing(inPlace, "-L", c.name(), "-n", "-v", "-x")).as(what)
                            .isEqualTo(listing(full, "-L", c.name(), "-n", "-v", "-x"));
                }
                assertThat(listing(inPlace, "-S")).as(what).isEqualTo(listing(full, "-S"));
                assertThat(listing(inPlace, "-L", "-n", "-v")).as(what).isEqualTo(listing(full, "-L", "-n", "-v"));
                Table fresh = new StateStore(dir, Extensions.standard(), compactFrom).load(Family.IPV4).table(TableKind.NAT);
                assertHooksAsCounted(fresh, whole, what);
                if (fresh.knownReach() != null) {
                    withReach++;
                }
                compared++;
            }
        }
        assertThat(compared).isEqualTo(12 * 50);
        assertThat(withReach).isGreaterThan(compared * 9 / 10);
        assertThat(refused).isGreaterThan(25);
    }

    private static String withoutPolicyCounters(String save) {
        return save.replaceAll("(?m)^(:\\S+ \\S+) \\[\\d+:\\d+\\]$", "$1");
    }

    /** Loaded masks and reach entries equal those counted from the table read in full. */
    private static void assertHooksAsCounted(Table loaded, Table whole, String what) {
        Map<String, Integer> counted = TableChecks.reachableHooks(whole);
        if (loaded.knownHookMasks() != null) {
            for (Chain c : whole.chains()) {
                assertThat(loaded.knownHookMasks().getOrDefault(c.name(), 0)).as(what + ": mask of " + c.name())
                        .isEqualTo(counted.getOrDefault(c.name(), 0));
            }
        }
        HookReach reach = loaded.knownReach();
        if (reach != null) {
            HookReach reference = ReachUpdate.reachOf(whole);
            for (Chain c : whole.chains()) {
                assertThat(reach.mask(c.name())).as(what + ": reach of " + c.name()).isEqualTo(reference.mask(c.name()));
                for (Hook h : Hook.values()) {
                    assertThat(reach.support(c.name(), h)).as(what + ": edges into " + c.name() + " from " + h)
                            .isEqualTo(reference.support(c.name(), h));
                }
            }
        }
    }

    /** A nat table of user chains reached through jumps, some unreached, with counters. */
    private static String initialRules(SplittableRandom rnd) {
        StringBuilder sb = new StringBuilder("*nat\n:PREROUTING ACCEPT [3:180]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                + ":POSTROUTING ACCEPT [0:0]\n");
        int chains = 20 + rnd.nextInt(40);
        for (int i = 0; i < chains; i++) {
            sb.append(":C").append(i).append(" - [0:0]\n");
        }
        for (int i = 0; i < chains; i++) {
            // a chain jumps only to chains of higher numbers: no loop
            String from = i < 4 ? BUILTINS.get(i) : "C" + rnd.nextInt(i);
            sb.append("[").append(rnd.nextInt(9)).append(":").append(rnd.nextInt(900)).append("] -A ").append(from)
                    .append(" -d 10.9.").append(i).append(".0/24 -j C").append(i).append('\n');
            for (int k = rnd.nextInt(4); k > 0; k--) {
                sb.append("-A C").append(i).append(" -s 10.0.0.").append(rnd.nextInt(4)).append("/32 -j ")
                        .append(rnd.nextBoolean() ? "RETURN" : "ACCEPT").append('\n');
            }
        }
        return sb.append("COMMIT\n").toString();
    }

    /** {@code {null, argv}} for a command, {@code {delta text}} for a --noflush restore. */
    private static Object[] command(SplittableRandom rnd, Ruleset rs) {
        Table t = rs.table(TableKind.NAT);
        List<String> users = new ArrayList<>(t.userChains().keySet());
        String user = users.isEmpty() ? "C0" : users.get(rnd.nextInt(users.size()));
        String chain = rnd.nextInt(4) == 0 ? BUILTINS.get(rnd.nextInt(BUILTINS.size())) : user;
        Chain c = t.chain(chain);
        int size = c == null ? 0 : c.rules().size();
        List<String> targets = new ArrayList<>(users);
        targets.add("NEW" + rnd.nextInt(3));
        List<String> a = new ArrayList<>(List.of("-t", "nat"));
        int op = rnd.nextInt(100);
        if (op >= 94) {
            String v = "SVC" + rnd.nextInt(4);
            StringBuilder text = new StringBuilder("*nat\n:").append(v).append(" - [0:0]\n");
            text.append("-A ").append(chain).append(" -d 10.7.0.").append(rnd.nextInt(9)).append("/32 -j ").append(v).append('\n');
            for (int k = rnd.nextInt(3); k > 0; k--) {
                text.append("-A ").append(v).append(' ').append(String.join(" ", rule(rnd, targets))).append('\n');
            }
            return new Object[] {text.append("COMMIT\n").toString()};
        }
        if (op < 5) {
            a.addAll(List.of("-N", "NEW" + rnd.nextInt(3)));
        } else if (op < 8) {
            a.addAll(List.of("-X", user));
        } else if (op < 10) {
            a.addAll(List.of("-F", chain));
        } else if (op < 12) {
            a.addAll(List.of("-E", user, "NEW" + rnd.nextInt(3)));
        } else if (op < 14) {
            a.addAll(List.of("-Z", chain));
        } else if (op < 15) {
            a.addAll(List.of("-P", BUILTINS.get(rnd.nextInt(BUILTINS.size())), rnd.nextBoolean() ? "ACCEPT" : "DROP"));
        } else if (op < 22) {
            a.addAll(List.of("-D", chain, Integer.toString(1 + rnd.nextInt(size + 2))));
        } else if (op < 34) {
            a.addAll(List.of("-D", chain));
            a.addAll(rule(rnd, targets));
        } else if (op < 40) {
            a.addAll(List.of("-C", chain));
            a.addAll(rule(rnd, targets));
        } else if (op < 52) {
            a.addAll(List.of("-I", chain, Integer.toString(1 + rnd.nextInt(size + 2))));
            a.addAll(rule(rnd, targets));
        } else if (op < 60) {
            a.addAll(List.of("-R", chain, Integer.toString(1 + rnd.nextInt(size + 2))));
            a.addAll(rule(rnd, targets));
        } else {
            a.addAll(List.of("-A", chain));
            a.addAll(rule(rnd, targets));
        }
        return new Object[] {null, a.toArray(new String[0])};
    }

    private static List<String> rule(SplittableRandom rnd, List<String> chains) {
        String target = chains.get(rnd.nextInt(chains.size()));
        String host = "10.0.0." + rnd.nextInt(4) + "/32";
        return switch (rnd.nextInt(9)) {
            case 0, 1, 2 -> List.of("-s", host, "-j", target);
            case 3 -> List.of("-s", host, "-g", target);
            case 4 -> List.of("-j", rnd.nextBoolean() ? "RETURN" : "ACCEPT");
            case 5 -> List.of("-p", "tcp", "-m", "tcp", "--dport", "80", "-j", "DNAT", "--to-destination", "10.1.1.1");
            case 6 -> List.of("-s", host, "-j", "SNAT", "--to-source", "10.2.2.2");
            case 7 -> List.of("-j", "MASQUERADE");
            default -> List.of("-m", "comment", "--comment", "c" + rnd.nextInt(3), "-j", target);
        };
    }

    private static String describe(Object[] cmd) {
        return cmd[0] instanceof String delta ? "--noflush " + delta.replace('\n', '|') : String.join(" ", (String[]) cmd[1]);
    }

    private record Result(int code, String out, String err) {
    }

    /** One command as a CLI process runs it: a store of its own on the directory. */
    private static Result run(Path dir, long compactFrom, String program, String[] args, String stdin) {
        Iptables ipt = new Iptables(new StateStore(dir, Extensions.standard(), compactFrom), Extensions.standard(),
                ZonedDateTime::now);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ipt.run(program, args, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /**
     * A state written by the previous version (snapshot "jnf-state 5": no directory index, masks without their
     * edges; its journal's records) reads as it was saved, refuses a loop through its stored masks, and the
     * next snapshot is version 6 with the table's reach.
     */
    @Test
    void stateOfThePreviousVersionIsReadAndRewrittenWithItsReach() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("v5"));
        for (String f : List.of("ipv4.rules", "ipv4.journal")) {
            try (InputStream in = getClass().getResourceAsStream("/state-v5/" + f)) {
                Files.copy(in, dir.resolve(f));
            }
        }
        String saved = run(dir, Long.MAX_VALUE, "iptables-save", new String[0], "").out;
        assertThat(saved.lines().filter(l -> !l.startsWith("#")).toList()).containsSubsequence(
                ":LOGDROP - [0:0]", "-A INPUT -i lo -j ACCEPT", "-A INPUT -p tcp -m tcp --dport 80 -j WEB",
                "-A WEB -s 192.168.0.0/16 -j LOGDROP", "-A POSTROUTING -o eth0 -j MASQUERADE");
        Result loop = run(dir, Long.MAX_VALUE, "iptables", new String[] {"-I", "LOGDROP", "-j", "WEB"}, "");
        assertThat(loop.code).isEqualTo(1);
        assertThat(loop.err).isEqualTo("iptables: Too many levels of symbolic links.\n");
        assertThat(run(dir, Long.MAX_VALUE, "iptables", new String[] {"-A", "OUTPUT", "-j", "WEB"}, "").code).isZero();
        // a compaction: the next store writes a snapshot
        assertThat(run(dir, 0, "iptables", new String[] {"-A", "FORWARD", "-j", "LOGDROP"}, "").code).isZero();
        // (the snapshot holds a binary index: read as bytes)
        assertThat(new String(Files.readAllBytes(dir.resolve("ipv4.rules")), StandardCharsets.ISO_8859_1).lines().findFirst()
                .orElseThrow()).startsWith("jnf-state 6 ");
        Table filter = new StateStore(dir, Extensions.standard()).load(Family.IPV4).table(TableKind.FILTER);
        assertThat(filter.knownReach()).isNotNull();
        Table whole = IncrementalUpdatePropertyTest.rebuilt(new StateStore(dir, Extensions.standard()).load(Family.IPV4))
                .table(TableKind.FILTER);
        assertHooksAsCounted(filter, whole, "after the rewrite");
        assertThat(filter.knownReach().mask("LOGDROP")).isEqualTo(Hook.INPUT.bit() | Hook.FORWARD.bit() | Hook.OUTPUT.bit());
        assertThat(run(dir, 0, "iptables-save", new String[0], "").out.lines().filter(l -> l.startsWith("-A")).toList())
                .contains("-A OUTPUT -j WEB", "-A FORWARD -j LOGDROP", "-A WEB -s 192.168.0.0/16 -j LOGDROP");
    }
}
