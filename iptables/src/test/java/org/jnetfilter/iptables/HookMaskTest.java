package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hook masks kept with the state (computed incrementally per command, carried through the journal
 * and the snapshot) are always those a full walk of the jump graph finds, and loops are refused as a full
 * check refuses them.
 */
class HookMaskTest {
    @TempDir
    Path dir;

    @Test
    void incrementalHookMasksEqualAFullWalkAfterEveryCommand() {
        SplittableRandom rnd = new SplittableRandom(42);
        StateStore store = new StateStore(dir, Extensions.standard());
        Iptables ipt = new Iptables(store, Extensions.standard(), ZonedDateTime::now);
        List<String> chains = new ArrayList<>(List.of("INPUT", "FORWARD", "OUTPUT"));
        int compared = 0;
        for (int i = 0; i < 400; i++) {
            List<String> args = new ArrayList<>();
            int op = rnd.nextInt(10);
            String chain = chains.get(rnd.nextInt(chains.size()));
            String target = chains.get(rnd.nextInt(chains.size()));
            switch (op) {
                case 0 -> {
                    String name = "C" + rnd.nextInt(30);
                    args.addAll(List.of("-N", name));
                    if (!chains.contains(name)) {
                        chains.add(name);
                    }
                }
                case 1 -> args.addAll(List.of("-D", chain, "1"));
                case 2 -> args.addAll(List.of("-F", chain));
                case 3 -> args.addAll(List.of("-I", chain, "1", "-j", target));
                case 4 -> args.addAll(List.of("-A", chain, "-j", "ACCEPT"));
                case 5 -> args.addAll(List.of("-X", chain));
                default -> args.addAll(List.of("-A", chain, "-p", "tcp", rnd.nextBoolean() ? "-j" : "-g", target));
            }
            ConformanceTest.run(ipt, "iptables", args);
            // a fresh store reads what was persisted: snapshot plus journal
            StateStore fresh = new StateStore(dir, Extensions.standard());
            try (StateStore.Held held = fresh.lock(Integer.MAX_VALUE)) {
                Ruleset rs = fresh.load(Family.IPV4);
                for (Table t : rs.tables()) {
                    if (t.knownHookMasks() != null) {
                        compared++;
                        assertThat(t.knownHookMasks()).as("after iptables " + String.join(" ", args))
                                .isEqualTo(TableChecks.reachableHooks(t));
                    }
                }
            }
        }
        assertThat(compared).as("generations whose persisted masks were compared").isGreaterThan(300);
    }

    /**
     * The hook masks of the numbered, stack-based walk equal those of the recursive walk over maps, and
     * both refuse the same tables (a loop reachable from a hook), on random jump graphs with gotos,
     * unconditional verdicts that cut a chain's walk, jumps to missing chains and unreachable loops.
     */
    @Test
    void chainNameIndexFindsEveryChainAtItsPositionAndNoOtherName() {
        SplittableRandom rnd = new SplittableRandom(11);
        // "Aa" and "BB" hash alike, and so does every word made of them: names that share a slot
        String[] colliding = {"Aa", "BB", "AaAa", "AaBB", "BBAa", "BBBB"};
        for (int round = 0; round < 300; round++) {
            int n = round < 6 ? round : rnd.nextInt(round < 100 ? 40 : 3000);
            java.util.Set<String> names = new java.util.LinkedHashSet<>();
            while (names.size() < n) {
                names.add(rnd.nextInt(4) == 0 ? colliding[rnd.nextInt(colliding.length)] + names.size()
                        : rnd.nextInt(8) == 0 ? colliding[rnd.nextInt(colliding.length)]
                        : "KUBE-SEP-" + Long.toString(rnd.nextLong() >>> 24, 36));
            }
            List<org.jnetfilter.core.rules.Chain> chains = new ArrayList<>();
            java.util.Map<String, Integer> reference = new java.util.HashMap<>();
            for (String name : names) {
                reference.put(name, chains.size());
                chains.add(org.jnetfilter.core.rules.Chain.user(name));
            }
            TableChecks.NameIndex index = new TableChecks.NameIndex(chains);
            for (String name : names) {
                assertThat(index.get(name)).as(name).isEqualTo(reference.get(name));
            }
            for (int k = 0; k < 50; k++) {
                String other = k < colliding.length ? colliding[k] : "KUBE-SVC-" + Long.toString(rnd.nextLong() >>> 24, 36);
                assertThat(index.get(other)).as(other).isEqualTo(reference.getOrDefault(other, -1));
            }
        }
    }

    @Test
    void numberedWalkFindsTheSameHookMasksAndLoopsAsTheRecursiveWalk() {
        SplittableRandom rnd = new SplittableRandom(7);
        int loops = 0;
        for (int round = 0; round < 2000; round++) {
            Table t = randomTable(rnd);
            Object expected;
            try {
                expected = TableChecks.reachableHooksByRecursion(t);
            } catch (org.jnetfilter.core.ext.XtablesException e) {
                expected = e.getMessage();
                loops++;
            }
            Object actual;
            try {
                actual = TableChecks.reachableHooks(t);
            } catch (org.jnetfilter.core.ext.XtablesException e) {
                actual = e.getMessage();
            }
            assertThat(actual).as("round " + round).isEqualTo(expected);
        }
        assertThat(loops).as("tables refused for a loop").isBetween(100, 1900);
    }

    /**
     * The masks and edge counts a full walk hands over by chain position (what a restore's snapshot writes)
     * equal the masks it returns and the edges counted by name from them ({@link ReachUpdate#supports}), on
     * random jump graphs; they are handed over once.
     */
    @Test
    void fullWalkHandsOverTheMasksAndEdgeCountsThatCountingByNameFinds() {
        SplittableRandom rnd = new SplittableRandom(11);
        int withEdges = 0;
        for (int round = 0; round < 2000; round++) {
            Table t = randomTable(rnd);
            java.util.Map<String, Integer> masks;
            try {
                masks = TableChecks.reachableHooks(t);
            } catch (org.jnetfilter.core.ext.XtablesException e) {
                assertThat(t.takeReachByPosition()).as("round " + round + ": a refused table hands nothing over").isNull();
                continue;
            }
            List<org.jnetfilter.core.rules.Chain> chains = t.chains();
            java.util.Map<String, int[]> byName = ReachUpdate.supports(chains, masks);
            int[] byPosition = t.takeReachByPosition();
            assertThat(byPosition).as("round " + round).hasSize(chains.size() * Table.REACH_STRIDE);
            for (int i = 0; i < chains.size(); i++) {
                String name = chains.get(i).name();
                int[] expected = new int[Table.REACH_STRIDE];
                expected[0] = masks.getOrDefault(name, 0);
                int[] edges = byName.get(name);
                if (edges != null) {
                    System.arraycopy(edges, 0, expected, 1, edges.length);
                    withEdges++;
                }
                assertThat(java.util.Arrays.copyOfRange(byPosition, i * Table.REACH_STRIDE, (i + 1) * Table.REACH_STRIDE))
                        .as("round " + round + ", chain " + name).containsExactly(expected);
            }
            assertThat(t.takeReachByPosition()).as("taken once").isNull();
        }
        assertThat(withEdges).as("chains with counted edges compared").isGreaterThan(1000);
    }

    /**
     * A filter or nat table of up to 11 user chains whose rules jump or go to random chains (and to a missing
     * one), some cut by an unconditional verdict.
     */
    private static Table randomTable(SplittableRandom rnd) {
        org.jnetfilter.core.rules.TableKind kind = rnd.nextBoolean()
                ? org.jnetfilter.core.rules.TableKind.FILTER : org.jnetfilter.core.rules.TableKind.NAT;
        int users = rnd.nextInt(12);
        List<String> names = new ArrayList<>();
        for (org.jnetfilter.core.rules.Hook h : kind.hooks()) {
            names.add(h.name());
        }
        List<String> userNames = new ArrayList<>();
        for (int i = 0; i < users; i++) {
            userNames.add("C" + i);
        }
        List<String> targets = new ArrayList<>(userNames);
        targets.add("MISSING");
        List<org.jnetfilter.core.rules.Chain> builtins = new ArrayList<>();
        List<org.jnetfilter.core.rules.Chain> userChains = new ArrayList<>();
        java.util.Collections.sort(userNames);
        for (String name : names) {
            builtins.add(org.jnetfilter.core.rules.Chain.builtin(name).withRules(randomRules(rnd, targets, users == 0 ? 0 : 3)));
        }
        for (String name : userNames) {
            userChains.add(org.jnetfilter.core.rules.Chain.user(name).withRules(randomRules(rnd, targets, 2)));
        }
        return Table.of(kind, Family.IPV4, builtins, userChains);
    }

    private static org.jnetfilter.core.rules.RuleList randomRules(SplittableRandom rnd, List<String> targets, int jumps) {
        List<org.jnetfilter.core.rules.Rule> rules = new ArrayList<>();
        int n = rnd.nextInt(jumps + 2);
        for (int i = 0; i < n; i++) {
            org.jnetfilter.core.rules.Target target;
            int k = rnd.nextInt(10);
            if (k == 0) {
                target = org.jnetfilter.core.rules.Target.verdictOrNull("ACCEPT");
            } else if (k == 1 || targets.isEmpty()) {
                target = new org.jnetfilter.core.rules.Target.None();
            } else {
                target = new org.jnetfilter.core.rules.Target.Jump(targets.get(rnd.nextInt(targets.size())), k == 2);
            }
            rules.add(new org.jnetfilter.core.rules.Rule(new org.jnetfilter.core.rules.RuleSpec(
                    org.jnetfilter.core.rules.IpSpec.any(Family.IPV4), List.of(), target),
                    org.jnetfilter.core.rules.Counters.zero()));
        }
        return org.jnetfilter.core.rules.RuleList.of(rules);
    }
}
