package org.jnetfilter.core.classify;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Protocols;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.Target;
import org.junit.jupiter.api.Test;

class ChainClassifierTest {
    static final IpSpec UDP = IpSpec.any(Family.IPV4).withProtocol(Protocols.UDP);

    /** -d 10.x.y.z/32 -p udp --dport 80 -j DROP */
    static Rule hostRule(int i) {
        IpSpec ip = UDP.withDst(IpNet.ipv4(0x0A000000 + i, 32));
        Match udp = ClassifyFixtures.match(ip, "udp", "--dport", "80");
        return new Rule(new RuleSpec(ip, List.of(udp), Target.verdictOrNull("DROP")), Counters.zero());
    }

    static RuleList hostRules(int n) {
        List<Rule> rules = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rules.add(hostRule(i));
        }
        return RuleList.of(rules);
    }

    @Test
    void hostRulesOfOneShapeShareOneTableAndAreExact() {
        ChainClassifier c = ChainClassifier.compile(hostRules(5000), Family.IPV4);
        assertThat(c.tableCount()).isEqualTo(1);
        assertThat(RuleShape.entries(hostRule(1), 1)[0].exact).isTrue();
    }

    @Test
    void changingOneRuleOfALargeChainSharesEveryUntouchedTableAndBucket() {
        RuleList rules = hostRules(20000);
        // a second shape, in a table of its own
        IpSpec tcp = IpSpec.any(Family.IPV4).withProtocol(Protocols.TCP).withSrc(IpNet.ipv4(0xC0A80000, 16));
        rules = rules.inserting(10, new Rule(new RuleSpec(tcp, List.of(), Target.verdictOrNull("ACCEPT")),
                Counters.zero()));
        ChainClassifier before = ChainClassifier.compile(rules, Family.IPV4);
        assertThat(before.tableCount()).isEqualTo(2);

        ChainClassifier after = before.derive(rules.replacing(15000, hostRule(99999)));

        assertThat(after.tableCount()).isEqualTo(2);
        TupleTable untouchedBefore = table(before, false);
        TupleTable untouchedAfter = table(after, false);
        assertThat(untouchedAfter).isSameAs(untouchedBefore);
        assertThat(after.rule(15000)).isNotSameAs(before.rule(15000));
        assertThat(after.key(15000)).isEqualTo(before.key(15000));
    }

    @Test
    void insertionsTakeKeysBetweenTheirNeighboursAndAUsedUpGapRespreadsOnlyTheRulesAroundIt() {
        RuleList rules = hostRules(100);
        ChainClassifier c = ChainClassifier.compile(rules, Family.IPV4);
        for (int i = 0; i < 19; i++) {
            rules = rules.inserting(50, hostRule(1000 + i));
            ChainClassifier next = c.derive(rules);
            assertThat(next.key(50)).isGreaterThan(next.key(49)).isLessThan(next.key(51));
            assertThat(next.key(0)).isEqualTo(c.key(0));
            c = next;
        }
        for (int i = 0; i < 40; i++) {
            rules = rules.inserting(50, hostRule(2000 + i));
            c = c.derive(rules);
        }
        for (int i = 1; i < c.size(); i++) {
            assertThat(c.key(i)).isGreaterThan(c.key(i - 1));
            assertThat(c.rule(i)).isSameAs(rules.get(i));
        }
        // no compile (which would number every rule (i + 1) * GAP): the rules far from the spot kept their keys
        assertThat(c.key(0)).isEqualTo(ChainClassifier.GAP);
        assertThat(c.key(c.size() - 1)).isEqualTo(100 * ChainClassifier.GAP);
        assertThat(c.key(30)).isEqualTo(31 * ChainClassifier.GAP);
    }

    @Test
    void matchesAfterAStatefulMatchAreNotIndexed() {
        IpSpec tcp = IpSpec.any(Family.IPV4).withProtocol(Protocols.TCP);
        Match limit = ClassifyFixtures.match(tcp, "limit", "--limit", "1/sec");
        Match port = ClassifyFixtures.match(tcp, "tcp", "--dport", "22");
        Match mark = ClassifyFixtures.match(tcp, "mark", "--mark", "0x1");
        Rule before = new Rule(new RuleSpec(tcp, List.of(port, mark, limit), Target.verdictOrNull("ACCEPT")),
                Counters.zero());
        Rule after = new Rule(new RuleSpec(tcp, List.of(limit, port, mark), Target.verdictOrNull("ACCEPT")),
                Counters.zero());

        Entry indexed = RuleShape.entries(before, 1)[0];
        Entry notIndexed = RuleShape.entries(after, 1)[0];

        assertThat(indexed.dportLo).isEqualTo(22);
        assertThat(indexed.markMask).isEqualTo(0xFFFFFFFF);
        assertThat(indexed.exact).isFalse();
        assertThat(notIndexed.dportLo).isEqualTo(Integer.MIN_VALUE);
        assertThat(notIndexed.markMask).isZero();
        assertThat((int) notIndexed.protocol).isEqualTo(Protocols.TCP);
    }

    @Test
    void aMultiportListGivesOneEntryPerElement() {
        IpSpec tcp = IpSpec.any(Family.IPV4).withProtocol(Protocols.TCP);
        Match ports = ClassifyFixtures.match(tcp, "multiport", "--dports", "22,80,1000:2000");
        Rule rule = new Rule(new RuleSpec(tcp, List.of(ports), Target.verdictOrNull("ACCEPT")), Counters.zero());

        Entry[] entries = RuleShape.entries(rule, 7);

        assertThat(entries).hasSize(3);
        assertThat(entries).allMatch(e -> e.exact && e.key == 7);
        assertThat(entries[2].dportLo).isEqualTo(1000);
        assertThat(entries[2].dportHi).isEqualTo(2000);
    }

    @Test
    void ctstateIsIndexedAndExactWhenItIsTheConntrackMatchsOnlyTest() {
        IpSpec any = IpSpec.any(Family.IPV4);
        Rule state = new Rule(new RuleSpec(any, List.of(ClassifyFixtures.match(any, "conntrack", "--ctstate",
                "ESTABLISHED,RELATED")), Target.verdictOrNull("ACCEPT")), Counters.zero());
        Rule more = new Rule(new RuleSpec(any, List.of(ClassifyFixtures.match(any, "conntrack", "--ctstate", "NEW",
                "--ctdir", "ORIGINAL")), Target.verdictOrNull("ACCEPT")), Counters.zero());
        Rule negated = new Rule(new RuleSpec(any, List.of(ClassifyFixtures.match(any, "conntrack", "!", "--ctstate",
                "NEW")), Target.verdictOrNull("ACCEPT")), Counters.zero());

        Entry e = RuleShape.entries(state, 1)[0];
        Entry m = RuleShape.entries(more, 1)[0];
        Entry n = RuleShape.entries(negated, 1)[0];

        // Linux: XT_STATE_BIT(IP_CT_ESTABLISHED) = 1 << 1, XT_STATE_BIT(IP_CT_RELATED) = 1 << 2, NEW 1 << 3
        assertThat(e.ctStates).isEqualTo(0b110);
        assertThat(e.exact).isTrue();
        assertThat(m.ctStates).isEqualTo(0b1000);
        assertThat(m.exact).isFalse();
        assertThat(n.ctStates).isZero();
        assertThat(n.exact).isFalse();
    }

    private static TupleTable table(ChainClassifier c, boolean ofHostRules) {
        for (TupleTable t : c.tables) {
            if ((t.tuple.dstLen() == 32) == ofHostRules) {
                return t;
            }
        }
        throw new AssertionError("no such table");
    }
}
