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
}
