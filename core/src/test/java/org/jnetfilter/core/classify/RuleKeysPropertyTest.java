package org.jnetfilter.core.classify;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.Target;
import org.junit.jupiter.api.Test;

/** {@link RuleKeys} against a plain list of (rule, key) pairs, over many versions edited from random earlier ones. */
class RuleKeysPropertyTest {
    private record Pair(Rule rule, long key) {
    }

    private static Rule rule(int i) {
        return new Rule(new RuleSpec(IpSpec.any(Family.IPV4).withProtocol(i % 256), List.of(), new Target.None()),
                Counters.zero());
    }

    @Test
    void everyVersionKeepsItsRulesAndKeysWhileEditorsInsertRemoveAndReplaceInLaterOnes() {
        SplittableRandom rnd = new SplittableRandom(20261130);
        List<RuleKeys> versions = new ArrayList<>();
        List<List<Pair>> expected = new ArrayList<>();
        int n0 = 300;
        Rule[] rules = new Rule[n0];
        long[] keys = new long[n0];
        List<Pair> first = new ArrayList<>();
        for (int i = 0; i < n0; i++) {
            rules[i] = rule(i);
            keys[i] = 1_000L * i;
            first.add(new Pair(rules[i], keys[i]));
        }
        versions.add(RuleKeys.of(rules, keys, n0));
        expected.add(first);
        versions.add(RuleKeys.of(new Rule[0], new long[0], 0));
        expected.add(List.of());
        for (int v = 0; v < 3000; v++) {
            int from = rnd.nextInt(versions.size());
            RuleKeys.Editor ed = versions.get(from).edit();
            List<Pair> ref = new ArrayList<>(expected.get(from));
            int edits = 1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 80 : 4);
            for (int e = 0; e < edits; e++) {
                Rule r = rule(v * 100 + e);
                // appends (at the last chunk, beside the spine) twice as often as each other change
                int op = rnd.nextInt(ref.isEmpty() ? 2 : 6);
                if (op <= 2) {
                    // keys need not grow for the list itself: it keeps what it is given, in position order
                    int at = op <= 1 ? ref.size() : rnd.nextInt(ref.size() + 1);
                    long key = rnd.nextLong(1L << 40);
                    ed.insert(at, r, key);
                    ref.add(at, new Pair(r, key));
                } else if (op <= 4) {
                    int at = rnd.nextInt(ref.size());
                    ed.remove(at);
                    ref.remove(at);
                } else {
                    int at = rnd.nextInt(ref.size());
                    long key = rnd.nextLong(1L << 40);
                    ed.set(at, r, key);
                    ref.set(at, new Pair(r, key));
                }
                assertThat(ed.size()).isEqualTo(ref.size());
                if (!ref.isEmpty()) {
                    int probe = rnd.nextInt(ref.size());
                    assertThat(ed.rule(probe)).isSameAs(ref.get(probe).rule());
                    assertThat(ed.key(probe)).isEqualTo(ref.get(probe).key());
                }
            }
            versions.add(ed.done());
            expected.add(ref);
            // versions made earlier, from this one's base or others, still read as they were made
            for (int probe = 0; probe < 4; probe++) {
                int w = rnd.nextInt(versions.size());
                assertSame(versions.get(w), expected.get(w));
            }
            assertSame(versions.get(from), expected.get(from));
            assertSame(versions.getLast(), ref);
        }
    }

    private static void assertSame(RuleKeys keys, List<Pair> ref) {
        assertThat(keys.size()).isEqualTo(ref.size());
        for (int i = 0; i < ref.size(); i++) {
            assertThat(keys.rule(i)).isSameAs(ref.get(i).rule());
            assertThat(keys.key(i)).isEqualTo(ref.get(i).key());
        }
    }
}
