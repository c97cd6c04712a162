package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.api.Test;

/**
 * Random command sequences applied incrementally ({@link Transactions}: persistent rule lists, jump counts
 * carried through each change, the hook reach updated edge by edge, only new rules checked) give what the
 * simple full rebuild gives: every command applied to a deep copy of the ruleset built from scratch (fresh
 * lists, fresh counters objects with the same values, no remembered reach) and checked as a whole table
 * (TableChecks from nothing). Compared after every command: the save output with counters (so counters
 * survive updates of other rules), the -L -n -v -x listing (with "(N references)"), the -S listing, the hook
 * masks (also after kubegen-shaped --noflush deltas: a chain line, a jump to it, its rules), the references per chain (rules and the chains holding them, carried through each change by the
 * incremental side, counted by the reference; -E rewrites exactly those chains), and the refusal (loops,
 * jumps to missing chains, chain in use on -X, targets used from the wrong hooks) with its message and exit
 * status.
 */
class IncrementalUpdatePropertyTest {
    private static final List<String> BUILTINS = List.of("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING");
    private static final List<String> USERS = List.of("U0", "U1", "U2", "U3", "U4", "U5");

    @Test
    void incrementalCommandsEqualTheFullRebuildAfterEveryCommand() throws Exception {
        int compared = 0;
        int refused = 0;
        for (int seed = 0; seed < 80; seed++) {
            SplittableRandom rnd = new SplittableRandom(seed);
            Ruleset inc = SaveFiles.read(org.jnetfilter.core.rules.Family.IPV4, "*nat\n:PREROUTING ACCEPT [0:0]\n"
                    + ":INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:U0 - [0:0]\nCOMMIT\n");
            for (int step = 0; step < 120; step++) {
                String[] args = command(rnd, inc);
                String what = "seed " + seed + " step " + step + ": " + String.join(" ", args);
                Ruleset ref = rebuilt(inc);
                Ruleset incNext;
                String incError = null;
                try {
                    incNext = args[0].equals(DELTA) ? Transactions.restore(inc, args[1], true) : Transactions.command(inc, args);
                } catch (XtablesException e) {
                    incNext = null;
                    incError = e.status() + " " + e.getMessage();
                } catch (SaveFiles.Invalid e) {
                    incNext = null;
                    incError = "refused";
                }
                Ruleset refNext;
                String refError = null;
                try {
                    refNext = args[0].equals(DELTA) ? fullRebuildDelta(ref, args[1]) : fullRebuildCommand(ref, args);
                } catch (XtablesException e) {
                    refNext = null;
                    refError = args[0].equals(DELTA) ? "refused" : e.status() + " " + e.getMessage();
                }
                assertThat(incError).as(what).isEqualTo(refError);
                if (incError != null) {
                    refused++;
                    continue;
                }
                assertReferencesEqualACount(incNext.table(TableKind.NAT), refNext.table(TableKind.NAT), what);
                assertThat(SaveFiles.write(incNext)).as(what).isEqualTo(SaveFiles.write(refNext));
                assertThat(listing(incNext, "-L", "-n", "-v", "-x")).as(what).isEqualTo(listing(refNext, "-L", "-n", "-v", "-x"));
                assertThat(listing(incNext, "-S")).as(what).isEqualTo(listing(refNext, "-S"));
                Table t = incNext.table(TableKind.NAT);
                if (t.knownHookMasks() != null) {
                    assertThat(Map.copyOf(t.knownHookMasks())).as(what).isEqualTo(TableChecks.reachableHooks(t));
                }
                inc = incNext;
                countSomePackets(rnd, inc);
                compared++;
            }
        }
        assertThat(compared).isGreaterThan(3000);
        assertThat(refused).isGreaterThan(1000);
    }

    /** A command on the nat table: chain commands, rules with jumps, gotos, verdicts and hook-bound targets. */
    private static String[] command(SplittableRandom rnd, Ruleset rs) {
        List<String> a = new ArrayList<>(List.of("-t", "nat"));
        List<String> existing = new ArrayList<>(rs.table(TableKind.NAT).userChains().keySet());
        // mostly chains that exist, so that most commands get through to the checks
        String user = !existing.isEmpty() && rnd.nextInt(4) != 0 ? existing.get(rnd.nextInt(existing.size()))
                : USERS.get(rnd.nextInt(USERS.size()));
        List<String> all = new ArrayList<>(BUILTINS);
        all.addAll(USERS);
        all.addAll(existing);
        String chain = rnd.nextInt(3) == 0 ? BUILTINS.get(rnd.nextInt(BUILTINS.size())) : user;
        Chain c = rs.table(TableKind.NAT).chain(chain);
        int size = c == null ? 0 : c.rules().size();
        int op = rnd.nextInt(100);
        if (op >= 92) {
            // a kubegen-shaped --noflush delta: a chain line (new chain, or an old one flushed), a jump to it, its rules
            String v = USERS.get(rnd.nextInt(USERS.size()));
            List<String> withV = new ArrayList<>(all);
            withV.add(v);
            StringBuilder text = new StringBuilder("*nat\n:").append(v).append(" - [0:0]\n");
            String from = rnd.nextInt(3) == 0 ? BUILTINS.get(rnd.nextInt(BUILTINS.size())) : user;
            text.append("-A ").append(from).append(rnd.nextBoolean() ? " -s 10.0.0.9/32" : "").append(" -j ").append(v).append('\n');
            for (int k = rnd.nextInt(4); k > 0; k--) {
                text.append("-A ").append(v).append(' ').append(String.join(" ", rule(rnd, withV))).append('\n');
            }
            return new String[] {DELTA, text.append("COMMIT\n").toString()};
        }
        if (op < 6) {
            a.addAll(List.of("-N", USERS.get(rnd.nextInt(USERS.size()))));
        } else if (op < 9) {
            a.addAll(List.of("-X", user));
        } else if (op < 10) {
            a.add("-X");
        } else if (op < 12) {
            a.addAll(List.of("-F", chain));
        } else if (op < 14) {
            a.addAll(List.of("-E", user, USERS.get(rnd.nextInt(USERS.size()))));
        } else if (op < 15) {
            a.addAll(List.of("-Z", chain));
        } else if (op < 16) {
            a.addAll(List.of("-P", BUILTINS.get(rnd.nextInt(BUILTINS.size())), rnd.nextBoolean() ? "ACCEPT" : "DROP"));
        } else if (op < 22) {
            a.addAll(List.of("-D", chain, Integer.toString(1 + rnd.nextInt(size + 2))));
        } else if (op < 35) {
            a.addAll(List.of("-D", chain));
            a.addAll(rule(rnd, all));
        } else if (op < 50) {
            a.addAll(List.of("-I", chain, Integer.toString(1 + rnd.nextInt(size + 2))));
            a.addAll(rule(rnd, all));
        } else if (op < 58) {
            a.addAll(List.of("-R", chain, Integer.toString(1 + rnd.nextInt(size + 2))));
            a.addAll(rule(rnd, all));
        } else {
            a.addAll(List.of("-A", chain));
            a.addAll(rule(rnd, all));
        }
        return a.toArray(new String[0]);
    }

    private static List<String> rule(SplittableRandom rnd, List<String> chains) {
        String target = chains.get(rnd.nextInt(chains.size()));
        String host = "10.0.0." + rnd.nextInt(4) + "/32";
        return switch (rnd.nextInt(11)) {
            case 0, 1, 2 -> List.of("-j", target);
            case 3 -> List.of("-s", host, "-g", target);
            case 4 -> List.of("-j", rnd.nextBoolean() ? "RETURN" : "ACCEPT");
            case 5 -> List.of("-s", host, "-j", "ACCEPT");
            case 6 -> List.of("-p", "tcp", "-m", "tcp", "--dport", "80", "-j", "DNAT", "--to-destination", "10.1.1.1");
            case 7 -> List.of("-s", host, "-j", "SNAT", "--to-source", "10.2.2.2");
            case 8 -> List.of("-j", "MASQUERADE");
            case 9 -> List.of("-m", "comment", "--comment", "c" + rnd.nextInt(3), "-j", target);
            default -> List.of("-d", host, "-j", "RETURN");
        };
    }

    /**
     * The references the incremental table carried through the change (counted once, on an earlier generation)
     * equal a count of the rebuilt table's rules: per chain, the rules jumping or going to it and the chains
     * holding them.
     */
    private static void assertReferencesEqualACount(Table inc, Table ref, String what) {
        java.util.Map<String, java.util.TreeMap<String, Integer>> counted = new java.util.HashMap<>();
        for (Chain c : ref.chains()) {
            for (Rule r : c.rules()) {
                if (r.jumpChain() != null) {
                    counted.computeIfAbsent(r.jumpChain(), k -> new java.util.TreeMap<>()).merge(c.name(), 1, Integer::sum);
                }
            }
        }
        List<String> names = new ArrayList<>(BUILTINS);
        names.addAll(USERS);
        for (String name : names) {
            java.util.TreeMap<String, Integer> by = counted.getOrDefault(name, new java.util.TreeMap<>());
            int rules = by.values().stream().mapToInt(Integer::intValue).sum();
            assertThat(inc.references(name)).as(what + ": references to " + name).isEqualTo(rules);
            assertThat(inc.referrers(name)).as(what + ": chains jumping to " + name).isEqualTo(List.copyOf(by.keySet()));
        }
    }

    private static final String DELTA = "--noflush-delta";

    /**
     * The reference of a --noflush delta: its lines as the commands they stand for (a chain line flushes an
     * existing chain or makes a new one), applied unchecked, then the table checked whole; a refusal is
     * compared as a refusal (the restore reports its line).
     */
    private static Ruleset fullRebuildDelta(Ruleset rs, String text) {
        Ruleset out = rs;
        for (String line : text.split("\n")) {
            List<String> argv = new ArrayList<>(List.of("iptables", "-t", "nat"));
            if (line.startsWith(":")) {
                String chain = line.substring(1, line.indexOf(' '));
                argv.addAll(List.of(out.table(TableKind.NAT).hasChain(chain) ? "-F" : "-N", chain));
            } else if (line.startsWith("-A")) {
                argv.addAll(ShellWords.split(line));
            } else {
                continue;
            }
            try {
                Command cmd = new CommandLine(out.family(), Extensions.standard(), argv.toArray(new String[0]), false, null).parse();
                out = Executor.execute(cmd, out, false).ruleset();
            } catch (CommandLine.BadArgument | CommandLine.HelpRequested e) {
                throw new IllegalStateException(e);
            }
        }
        if (out.table(TableKind.NAT) != rs.table(TableKind.NAT)) {
            TableChecks.check(rebuilt(out.table(TableKind.NAT)));
        }
        return out;
    }

    /** The reference: the command on a table built from scratch, checked whole. */
    private static Ruleset fullRebuildCommand(Ruleset rs, String[] args) {
        String[] argv = new String[args.length + 1];
        argv[0] = "iptables";
        System.arraycopy(args, 0, argv, 1, args.length);
        Command cmd;
        try {
            cmd = new CommandLine(rs.family(), Extensions.standard(), argv, false, null).parse();
        } catch (CommandLine.BadArgument | CommandLine.HelpRequested e) {
            throw new IllegalStateException(e);
        }
        Executor.Result r = Executor.execute(cmd, rs, false);
        if (r.changed()) {
            Table before = rs.table(TableKind.NAT);
            Table after = r.ruleset().table(TableKind.NAT);
            if (after != before) {
                TableChecks.check(rebuilt(after));
            }
        }
        return r.ruleset();
    }

    /** The same ruleset with every list and counter made anew, nothing derived remembered. */
    static Ruleset rebuilt(Ruleset rs) {
        Ruleset out = Ruleset.empty(rs.family());
        for (Table t : rs.tables().reversed()) {
            out = out.with(rebuilt(t));
        }
        return out.withGeneration(rs.generation());
    }

    private static Table rebuilt(Table t) {
        List<Chain> builtins = new ArrayList<>();
        for (Chain c : t.builtinChains()) {
            builtins.add(new Chain(c.name(), c.policy(), c.policyCounters().copy(), copy(c.rules())));
        }
        List<Chain> users = new ArrayList<>();
        for (Chain c : t.userChains().values()) {
            users.add(Chain.user(c.name()).withRules(copy(c.rules())));
        }
        return Table.of(t.kind(), t.family(), builtins, users);
    }

    private static RuleList copy(RuleList l) {
        List<Rule> rules = new ArrayList<>(l.size());
        for (Rule r : l) {
            rules.add(r.withCounters(r.counters().copy()));
        }
        return RuleList.of(rules);
    }

    static String listing(Ruleset rs, String... args) {
        String[] argv = new String[args.length + 3];
        argv[0] = "iptables";
        argv[1] = "-t";
        argv[2] = "nat";
        System.arraycopy(args, 0, argv, 3, args.length);
        try {
            Command cmd = new CommandLine(rs.family(), Extensions.standard(), argv, false, null).parse();
            return Executor.execute(cmd, rs, true).stdout();
        } catch (CommandLine.BadArgument | CommandLine.HelpRequested e) {
            throw new IllegalStateException(e);
        }
    }

    /** Packets counted by some rules and policies of the incremental side only: the next command must keep them. */
    private static void countSomePackets(SplittableRandom rnd, Ruleset rs) {
        for (Chain c : rs.table(TableKind.NAT).chains()) {
            if (c.isBuiltin() && rnd.nextInt(4) == 0) {
                c.policyCounters().add(1, 60);
            }
            for (Rule r : c.rules()) {
                if (rnd.nextInt(5) == 0) {
                    r.counters().add(1 + rnd.nextInt(3), 100);
                }
            }
        }
    }
}
