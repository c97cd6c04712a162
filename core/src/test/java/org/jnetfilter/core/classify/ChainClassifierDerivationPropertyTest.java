package org.jnetfilter.core.classify;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;
import org.junit.jupiter.api.Test;

/**
 * Incremental derivation ({@link ChainClassifier#derive}) against a fresh compile and the linear reference:
 * random command sequences (-I anywhere and again and again at one spot, -A, -D, -R) applied to one chain a
 * generation at a time, each generation's classifier derived from the previous generation's, and generations
 * whose lineage is lost (more than 32 edits back, a restore of the same or of rebuilt rules, an unrelated
 * list, a classifier several generations old). For every packet, the rules a classifier offers in order
 * (iterating "the first matching entry after the last one") must be exactly the rules whose indexed fields
 * match, tried one by one: the linear walk's candidates. The derived classifier's rules and keys must be the
 * list's rules with strictly growing keys.
 */
class ChainClassifierDerivationPropertyTest {

    /** The positions, in order, of the rules whose entries match: the linear reference. */
    private static List<Integer> linearCandidates(RuleList list, PacketKey k, long mark) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            for (Entry e : RuleShape.entries(list.get(i), 1)) {
                if (e.matches(k, mark)) {
                    out.add(i);
                    break;
                }
            }
        }
        return out;
    }

    /** The positions, in order, of the rules {@code c} offers for the packet. */
    private static List<Integer> offered(ChainClassifier c, RuleList list, PacketKey k, long mark, String context) {
        List<Integer> out = new ArrayList<>();
        long after = Long.MIN_VALUE;
        for (Entry e = c.next(k, mark, after); e != null; e = c.next(k, mark, after)) {
            int i = c.number(e.key) - 1;
            assertThat(e.rule).as(context + " rule at %d", i).isSameAs(list.get(i));
            out.add(i);
            after = e.key;
        }
        return out;
    }

    private static void assertStructure(ChainClassifier c, RuleList list, String context) {
        assertThat(c.size()).as(context).isEqualTo(list.size());
        for (int i = 0; i < list.size(); i++) {
            if (list.size() > ChainClassifier.SMALL_CHAIN) {
                assertThat(c.rule(i)).as(context + " rule %d", i).isSameAs(list.get(i));
            }
            if (i > 0) {
                assertThat(c.key(i)).as(context + " key %d", i).isGreaterThan(c.key(i - 1));
            }
            assertThat(c.number(c.key(i))).as(context).isEqualTo(i + 1);
        }
    }

    private static Rule randomRule(SplittableRandom r, Family family) {
        return ClassifiedWalkPropertyTest.build(ClassifiedWalkPropertyTest.randomRule(r, family, -1, 0));
    }

    /** One random command: -I (often at one hot spot, to use up a gap), -A, -D or -R. */
    private static RuleList command(RuleList list, SplittableRandom r, Family family, int hotSpot) {
        int n = list.size();
        int op = n == 0 ? 0 : r.nextInt(5);
        return switch (op) {
            case 0 -> list.inserting(r.nextInt(n + 1), randomRule(r, family));
            case 1 -> list.inserting(Math.min(hotSpot, n), randomRule(r, family));
            case 2 -> list.appending(randomRule(r, family));
            case 3 -> list.removing(r.nextInt(n));
            default -> list.replacing(r.nextInt(n), randomRule(r, family));
        };
    }

    /** A random command within a few rules of {@code spot}. */
    private static RuleList localCommand(RuleList list, SplittableRandom r, Family family, int spot) {
        int n = list.size();
        int at = Math.min(n, spot + r.nextInt(4));
        int op = at == n ? 0 : r.nextInt(3);
        return switch (op) {
            case 0 -> list.inserting(at, randomRule(r, family));
            case 1 -> list.removing(at);
            default -> list.replacing(at, randomRule(r, family));
        };
    }

    private static RuleList randomList(SplittableRandom r, Family family, int max) {
        List<Rule> rules = new ArrayList<>();
        int n = r.nextInt(max);
        for (int i = 0; i < n; i++) {
            rules.add(randomRule(r, family));
        }
        return RuleList.of(rules);
    }

    private static void compare(ChainClassifier derived, RuleList list, Family family, SplittableRandom r,
                                int packets, String context) {
        ChainClassifier fresh = ChainClassifier.compile(list, family);
        assertStructure(derived, list, context);
        PacketContext pkt = new PacketContext();
        PacketKey key = new PacketKey();
        for (int p = 0; p < packets; p++) {
            ClassifiedWalkPropertyTest.PacketModel m = ClassifiedWalkPropertyTest.randomPacket(r, family);
            ClassifiedWalkPropertyTest.loadPacket(pkt, m, family, 1_000_000_000L);
            if (!key.load(pkt)) {
                continue;
            }
            long mark = m.mark();
            List<Integer> expected = linearCandidates(list, key, mark);
            String at = context + " packet " + p;
            assertThat(offered(derived, list, key, mark, at + " derived")).as(at + " derived").isEqualTo(expected);
            assertThat(offered(fresh, list, key, mark, at + " fresh")).as(at + " fresh").isEqualTo(expected);
        }
    }

    private static void deriveThroughRandomHistories(Family family, long seed0, int trials, int steps, int maxRules) {
        SplittableRandom seeds = new SplittableRandom(seed0);
        for (int trial = 0; trial < trials; trial++) {
            long seed = seeds.nextLong();
            SplittableRandom r = new SplittableRandom(seed);
            RuleList list = randomList(r, family, maxRules);
            ChainClassifier c = ChainClassifier.compile(list, family);
            // generations kept to derive from later (a classifier several generations old)
            List<RuleList> oldLists = new ArrayList<>();
            List<ChainClassifier> oldClassifiers = new ArrayList<>();
            int hotSpot = r.nextInt(Math.max(1, list.size()));
            for (int step = 0; step < steps; step++) {
                String context = family + " seed " + Long.toHexString(seed) + " step " + step;
                int kind = r.nextInt(20);
                ChainClassifier from = c;
                if (kind < 13) {
                    int commands = 1 + r.nextInt(kind < 9 ? 1 : 4);
                    for (int k = 0; k < commands; k++) {
                        list = command(list, r, family, hotSpot);
                    }
                } else if (kind < 15) {
                    // more edits than a list remembers: the lineage is lost, the lists are compared (edits
                    // around one spot, so that the changed run is short enough to move instead of a compile)
                    int commands = 33 + r.nextInt(30);
                    boolean local = r.nextInt(3) != 0;
                    for (int k = 0; k < commands; k++) {
                        list = local ? localCommand(list, r, family, hotSpot) : command(list, r, family, hotSpot);
                    }
                } else if (kind == 15) {
                    // a restore of the same rules: a new list, no lineage, every rule the same object
                    list = RuleList.of(new ArrayList<>(list));
                } else if (kind == 16) {
                    // a restore that rebuilds some rules (same texts, new objects): a few scattered, or a run
                    List<Rule> rules = new ArrayList<>(list);
                    boolean run = r.nextBoolean();
                    int start = r.nextInt(rules.size() + 1);
                    int end = Math.min(rules.size(), start + 1 + r.nextInt(6));
                    for (int i = 0; i < rules.size(); i++) {
                        if (run ? i >= start && i < end : r.nextInt(8) == 0) {
                            rules.set(i, new Rule(rules.get(i).spec(), rules.get(i).counters()));
                        }
                    }
                    int extra = run ? r.nextInt(4) : 0;
                    for (int k = 0; k < extra; k++) {
                        rules.add(Math.min(start, rules.size()), randomRule(r, family));
                    }
                    list = RuleList.of(rules);
                } else if (kind == 17) {
                    list = randomList(r, family, maxRules);
                    hotSpot = r.nextInt(Math.max(1, list.size()));
                } else if (!oldLists.isEmpty()) {
                    // derive the list of a few commands on from an older generation's classifier
                    int back = r.nextInt(oldLists.size());
                    list = oldLists.get(back);
                    from = oldClassifiers.get(back);
                    int commands = 1 + r.nextInt(6);
                    for (int k = 0; k < commands; k++) {
                        list = command(list, r, family, hotSpot);
                    }
                }
                c = from.derive(list);
                compare(c, list, family, r, 12, context);
                oldLists.add(list);
                oldClassifiers.add(c);
                if (oldLists.size() > 4) {
                    oldLists.removeFirst();
                    oldClassifiers.removeFirst();
                }
            }
        }
    }

    @Test
    void derivedClassifiersOfferTheLinearCandidatesOfEveryIpv4Generation() {
        deriveThroughRandomHistories(Family.IPV4, 0xDE51E5L, 40, 60, 160);
    }

    @Test
    void derivedClassifiersOfferTheLinearCandidatesOfEveryIpv6Generation() {
        deriveThroughRandomHistories(Family.IPV6, 0x6DE51E5L, 20, 60, 120);
    }

    @Test
    void derivedClassifiersOfferTheLinearCandidatesOfSmallChainsGrowingIntoTables() {
        // lists around SMALL_CHAIN: small chains compiled, growing into tables, shrinking back
        deriveThroughRandomHistories(Family.IPV4, 0x5A11L, 60, 40, 14);
    }

    @Test
    void insertionsAtOneSpotUntilItsKeysAreRespreadOfferTheLinearCandidates() {
        // -I at one position again and again, derived one by one: gaps used up, keys around the spot spread again
        SplittableRandom seeds = new SplittableRandom(0x5B07L);
        for (int trial = 0; trial < 12; trial++) {
            long seed = seeds.nextLong();
            SplittableRandom r = new SplittableRandom(seed);
            Family family = trial % 3 == 2 ? Family.IPV6 : Family.IPV4;
            RuleList list = randomList(r, family, 120);
            ChainClassifier c = ChainClassifier.compile(list, family);
            int spot = r.nextInt(list.size() + 1);
            for (int k = 0; k < 70; k++) {
                list = list.inserting(Math.min(spot, list.size()), randomRule(r, family));
                if (r.nextInt(10) == 0) {
                    list = list.removing(r.nextInt(list.size()));
                }
                c = c.derive(list);
                compare(c, list, family, r, 6, family + " seed " + Long.toHexString(seed) + " insertion " + k);
            }
        }
    }

    @Test
    void twoChangesCopyTheirChunksOfRulesAndKeysAndKeepEveryOtherRulesKey() {
        RuleList rules = ChainClassifierTest.hostRules(20000);
        ChainClassifier before = ChainClassifier.compile(rules, Family.IPV4);
        RuleList next = rules.appending(ChainClassifierTest.hostRule(77777)).removing(5);

        ChainClassifier after = before.derive(next);

        assertThat(after.size()).isEqualTo(20000);
        assertThat(after.rule(4)).isSameAs(rules.get(4));
        assertThat(after.rule(5)).isSameAs(rules.get(6));
        assertThat(after.rule(19999)).isSameAs(next.get(19999));
        assertThat(after.key(19999)).isEqualTo(20001 * ChainClassifier.GAP);
        assertThat(after.key(100)).isEqualTo(before.key(101));
        // 313 chunks of 64: the one that lost rule 5 and the last one, which took the appended rule, are new
        assertThat(after.chunksSharedWith(before)).isEqualTo(311);
    }
}
