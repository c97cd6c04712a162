package org.jnetfilter.core.rules;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * RuleCount against counting every rule: random histories of a table (-I, -A, -D, -R in any chain, chains
 * made and deleted, restores of a chain, bursts of more edits than a list remembers, unrelated tables, a
 * return to an older generation), the count asked after each generation.
 */
class RuleCountPropertyTest {
    private static Rule rule(SplittableRandom r) {
        return new Rule(new RuleSpec(IpSpec.any(Family.IPV4).withProtocol(r.nextInt(4) == 0 ? 6 : 17), List.of(),
                Target.verdictOrNull("ACCEPT")), Counters.zero());
    }

    private static boolean isTcp(Rule rule) {
        return rule.spec().ip().protocol() == 6;
    }

    private static long fullCount(Table t) {
        long n = 0;
        for (Chain c : t.chains()) {
            for (Rule rule : c.rules()) {
                n += isTcp(rule) ? 1 : 0;
            }
        }
        return n;
    }

    private static RuleList randomRules(SplittableRandom r, int max) {
        List<Rule> rules = new ArrayList<>();
        int n = r.nextInt(max);
        for (int i = 0; i < n; i++) {
            rules.add(rule(r));
        }
        return RuleList.of(rules);
    }

    private static Table randomTable(SplittableRandom r) {
        Table t = Table.initial(TableKind.FILTER, Family.IPV4);
        t = t.with(t.chain("INPUT").withRules(randomRules(r, 40)));
        int users = r.nextInt(6);
        for (int c = 0; c < users; c++) {
            t = t.with(Chain.user("C" + c).withRules(randomRules(r, 40)));
        }
        return t;
    }

    private static RuleList edit(RuleList l, SplittableRandom r) {
        int n = l.size();
        return switch (n == 0 ? 0 : r.nextInt(4)) {
            case 0 -> l.inserting(r.nextInt(n + 1), rule(r));
            case 1 -> l.appending(rule(r));
            case 2 -> l.removing(r.nextInt(n));
            default -> l.replacing(r.nextInt(n), rule(r));
        };
    }

    @Test
    void countsFollowingEachChangeEqualCountingEveryRule() {
        SplittableRandom seeds = new SplittableRandom(0xC0047L);
        for (int trial = 0; trial < 60; trial++) {
            long seed = seeds.nextLong();
            SplittableRandom r = new SplittableRandom(seed);
            RuleCount count = new RuleCount(RuleCountPropertyTest::isTcp);
            Table t = randomTable(r);
            List<Table> history = new ArrayList<>();
            for (int step = 0; step < 80; step++) {
                String context = "seed " + Long.toHexString(seed) + " step " + step;
                List<Chain> chains = t.chains();
                Chain c = chains.get(r.nextInt(chains.size()));
                int kind = r.nextInt(20);
                if (kind < 12) {
                    t = t.with(c.withRules(edit(c.rules(), r)));
                } else if (kind == 12) {
                    RuleList l = c.rules();
                    for (int k = 33 + r.nextInt(10); k > 0; k--) {
                        l = edit(l, r);
                    }
                    t = t.with(c.withRules(l));
                } else if (kind == 13) {
                    t = t.with(c.withRules(RuleList.of(new ArrayList<>(c.rules()))));
                } else if (kind == 14) {
                    t = t.with(Chain.user("N" + r.nextInt(4)).withRules(randomRules(r, 30)));
                } else if (kind == 15 && !c.isBuiltin()) {
                    t = t.withoutUserChain(c.name());
                } else if (kind == 16) {
                    t = t.with(c.withPolicy(c.isBuiltin() ? "DROP" : null, Counters.zero()));
                } else if (kind == 17) {
                    t = randomTable(r);
                } else if (!history.isEmpty()) {
                    t = history.get(r.nextInt(history.size()));
                }
                assertThat(count.in(t)).as(context).isEqualTo(fullCount(t));
                // asked twice: the remembered count
                assertThat(count.in(t)).as(context).isEqualTo(fullCount(t));
                history.add(t);
                if (history.size() > 5) {
                    history.removeFirst();
                }
            }
        }
    }

    /**
     * Two owners (two datapaths in one JVM) publishing generations of their own tables in turn: each one's
     * count follows its own lineage, so a publication tests the predicate on the rules it changed, not on the
     * whole table (a count shared by both would count everything at every turn: the memory of one lineage is
     * useless to the other).
     */
    @Test
    void eachOwnersCountFollowsItsOwnGenerations() {
        SplittableRandom r = new SplittableRandom(5);
        long[] tested = {0};
        java.util.function.Predicate<Rule> counted = rule -> {
            tested[0]++;
            return isTcp(rule);
        };
        Table[] tables = new Table[2];
        RuleCount[] counts = {new RuleCount(counted), new RuleCount(counted)};
        for (int owner = 0; owner < 2; owner++) {
            Table t = Table.initial(TableKind.FILTER, Family.IPV4);
            for (int c = 0; c < 50; c++) {
                t = t.with(Chain.user("C" + c).withRules(RuleList.of(java.util.stream.Stream.generate(() -> rule(r))
                        .limit(40).toList())));
            }
            tables[owner] = t;
            counts[owner].in(t);
        }
        tested[0] = 0;
        for (int turn = 0; turn < 100; turn++) {
            int owner = turn % 2;
            Table t = tables[owner];
            Chain c = t.chain("C" + r.nextInt(50));
            t = t.with(c.withRules(edit(c.rules(), r)));
            tables[owner] = t;
            assertThat(counts[owner].in(t)).isEqualTo(fullCount(t));
        }
        long perOwner = tested[0];
        // counted by one RuleCount for both, each turn starts from the other lineage's table
        RuleCount shared = new RuleCount(counted);
        tested[0] = 0;
        for (int turn = 0; turn < 10; turn++) {
            shared.in(tables[turn % 2]);
        }
        assertThat(perOwner).isLessThanOrEqualTo(100 * 2);
        assertThat(tested[0]).isGreaterThanOrEqualTo(10 * 50 * 40);
    }
}
