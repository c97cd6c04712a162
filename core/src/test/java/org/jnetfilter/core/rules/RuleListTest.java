package org.jnetfilter.core.rules;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RuleListTest {
    private static Rule rule(int i) {
        return new Rule(new RuleSpec(IpSpec.any(Family.IPV4).withProtocol(i % 256), List.of(),
                new Target.None()), Counters.zero());
    }

    @Test
    void everyVersionKeepsItsContentWhileOthersAppendInsertAndRemove() {
        SplittableRandom rnd = new SplittableRandom(11);
        List<RuleList> versions = new ArrayList<>();
        List<List<Rule>> expected = new ArrayList<>();
        versions.add(RuleList.empty());
        expected.add(List.of());
        for (int i = 0; i < 3000; i++) {
            int from = rnd.nextInt(versions.size());
            RuleList base = versions.get(from);
            List<Rule> ref = new ArrayList<>(expected.get(from));
            Rule r = rule(i);
            RuleList next;
            switch (rnd.nextInt(4)) {
                case 0, 1 -> {
                    next = base.appending(r);
                    ref.add(r);
                }
                case 2 -> {
                    int at = rnd.nextInt(ref.size() + 1);
                    next = base.inserting(at, r);
                    ref.add(at, r);
                }
                default -> {
                    if (ref.isEmpty()) {
                        continue;
                    }
                    int at = rnd.nextInt(ref.size());
                    next = base.removing(at);
                    ref.remove(at);
                }
            }
            versions.add(next);
            expected.add(ref);
        }
        for (int v = 0; v < versions.size(); v++) {
            assertThat(versions.get(v)).containsExactlyElementsOf(expected.get(v));
        }
    }

    /**
     * jumpTargets: the distinct chains jumped or gone to, in first-seen order, up to the first unconditional
     * verdict, against a LinkedHashSet reference, for few and for many (over 32) distinct targets.
     */
    @Test
    void jumpTargetsAreTheDistinctChainsInFirstSeenOrderUpToTheFirstUnconditionalVerdict() {
        SplittableRandom rnd = new SplittableRandom(5);
        for (int round = 0; round < 500; round++) {
            int distinct = 1 + rnd.nextInt(rnd.nextBoolean() ? 6 : 80);
            int n = rnd.nextInt(200);
            List<Rule> rules = new ArrayList<>();
            java.util.LinkedHashSet<String> expected = new java.util.LinkedHashSet<>();
            boolean stopped = false;
            for (int i = 0; i < n; i++) {
                int k = rnd.nextInt(100);
                Target t = k == 0 ? Target.verdictOrNull("DROP") : k < 10 ? new Target.None()
                        : new Target.Jump("C" + rnd.nextInt(distinct), k < 20);
                rules.add(new Rule(new RuleSpec(IpSpec.any(Family.IPV4), List.of(), t), Counters.zero()));
                if (k == 0) {
                    stopped = true;
                }
                if (!stopped && t instanceof Target.Jump j) {
                    expected.add(j.chain());
                }
            }
            RuleList l = RuleList.of(rules);
            assertThat(l.jumpTargets()).as("round " + round).containsExactlyElementsOf(expected);
            assertThat(l.endsInVerdict()).isEqualTo(stopped);
        }
    }

    /**
     * indexOfText finds the first rule with the text, as a scan does, in every version of a long chain (the
     * text index carried through inserts, chunk splits, removals, replacements and appends, and rebuilt when
     * chunks are repacked) and of short ones (the chunks' filters), with texts repeated many times.
     */
    @Test
    void indexOfTextFindsTheFirstRuleWithTheTextInEveryVersion() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int start : new int[] {0, 40, RuleList.INDEXED_FROM + 500}) {
            List<Rule> first = new ArrayList<>();
            for (int i = 0; i < start; i++) {
                first.add(rule(rnd.nextInt(300)));
            }
            List<RuleList> versions = new ArrayList<>(List.of(RuleList.of(first)));
            List<List<Rule>> expected = new ArrayList<>();
            expected.add(first);
            for (int step = 0; step < 3000; step++) {
                int from = rnd.nextInt(10) < 8 ? versions.size() - 1 : rnd.nextInt(versions.size());
                RuleList base = versions.get(from);
                List<Rule> ref = new ArrayList<>(expected.get(from));
                Rule r = rule(rnd.nextInt(300));
                RuleList next;
                int op = rnd.nextInt(10);
                if (op < 3 || ref.isEmpty()) {
                    next = base.appending(r);
                    ref.add(r);
                } else if (op < 6) {
                    // inserts bunched in one place split the same chunk again and again
                    int at = rnd.nextBoolean() ? Math.min(ref.size(), 100) : rnd.nextInt(ref.size() + 1);
                    next = base.inserting(at, r);
                    ref.add(at, r);
                } else if (op < 9) {
                    int at = rnd.nextInt(ref.size());
                    next = base.removing(at);
                    ref.remove(at);
                } else {
                    int at = rnd.nextInt(ref.size());
                    next = base.replacing(at, r);
                    ref.set(at, r);
                }
                versions.add(next);
                expected.add(ref);
                int v = rnd.nextInt(versions.size());
                String text = rule(rnd.nextInt(310)).text();
                int want = -1;
                for (int i = 0; i < expected.get(v).size(); i++) {
                    if (expected.get(v).get(i).text().equals(text)) {
                        want = i;
                        break;
                    }
                }
                assertThat(versions.get(v).indexOfText(text)).as("start %d step %d version %d", start, step, v)
                        .isEqualTo(want);
            }
            for (int v = 0; v < versions.size(); v++) {
                assertThat(versions.get(v)).containsExactlyElementsOf(expected.get(v));
            }
        }
    }

    /**
     * The jump counts carried from version to version give the jump targets and the end of the walk that a
     * scan of the version finds, and forEachJumpChange reports exactly the targets gained and lost.
     */
    @Test
    void jumpCountsCarriedThroughChangesEqualAScanOfEachVersion() {
        SplittableRandom rnd = new SplittableRandom(3);
        List<RuleList> versions = new ArrayList<>(List.of(RuleList.empty()));
        int lineageSeen = 0;
        for (int step = 0; step < 4000; step++) {
            int from = rnd.nextInt(10) < 8 ? versions.size() - 1 : rnd.nextInt(versions.size());
            RuleList base = versions.get(from);
            int k = rnd.nextInt(100);
            Target t = k < 3 ? Target.verdictOrNull("ACCEPT") : k < 30 ? new Target.None()
                    : new Target.Jump("C" + rnd.nextInt(12), k < 40);
            Rule r = new Rule(new RuleSpec(IpSpec.any(Family.IPV4), List.of(), t), Counters.zero());
            int op = rnd.nextInt(10);
            RuleList next;
            if (op < 4 || base.isEmpty()) {
                next = base.appending(r);
            } else if (op < 6) {
                next = base.inserting(rnd.nextInt(base.size() + 1), r);
            } else if (op < 9) {
                next = base.removing(rnd.nextInt(base.size()));
            } else {
                next = base.replacing(rnd.nextInt(base.size()), r);
            }
            versions.add(next);
            RuleList fresh = RuleList.of(new ArrayList<>(next));
            java.util.TreeSet<String> targets = new java.util.TreeSet<>(List.of(fresh.jumpTargets()));
            List<String> carried = new ArrayList<>();
            next.forEachJumpTarget(carried::add);
            assertThat(carried).as("step " + step).containsExactlyElementsOf(targets);
            int cut = -1;
            for (int i = 0; i < next.size(); i++) {
                if (next.get(i).isUnconditionalVerdict()) {
                    cut = i;
                    break;
                }
            }
            assertThat(next.cutIndex()).as("step " + step).isEqualTo(cut);
            java.util.TreeSet<String> before = new java.util.TreeSet<>(List.of(RuleList.of(new ArrayList<>(base)).jumpTargets()));
            java.util.TreeSet<String> gained = new java.util.TreeSet<>();
            java.util.TreeSet<String> lost = new java.util.TreeSet<>();
            next.forEachJumpChange(base, (chain, jumpedTo) -> (jumpedTo ? gained : lost).add(chain));
            java.util.TreeSet<String> wantGained = new java.util.TreeSet<>(targets);
            wantGained.removeAll(before);
            java.util.TreeSet<String> wantLost = new java.util.TreeSet<>(before);
            wantLost.removeAll(targets);
            assertThat(gained).as("step " + step).isEqualTo(wantGained);
            assertThat(lost).as("step " + step).isEqualTo(wantLost);
            // the lineage is remembered for MAX_LINEAGE changes, then starts again
            List<RuleList.Edit> edits = next.editsSince(base);
            if (edits != null) {
                assertThat(edits).as("step " + step).hasSize(1);
                lineageSeen++;
            }
        }
        assertThat(lineageSeen).isGreaterThan(3000);
    }
}
