package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.RuleText;
import org.junit.jupiter.api.Test;

/**
 * A restored rule's save text taken from its input line when the line is canonical (no copy made) and rendered
 * otherwise: either way exactly {@link RuleText#save(RuleSpec)}, the text the snapshot and {@code -S} print.
 */
class RuleTextFromSourceTest {

    private static RuleSpec spec(Family family, String table, String words) {
        List<String> argv = new ArrayList<>(List.of(family.program(), "-t", table, "-A", "X"));
        argv.addAll(Restore.tokenize(words, 1));
        Command cmd = new CommandLine(family, Extensions.standard(), argv.toArray(new String[0]), true, null).parse();
        return cmd.rules().get(0);
    }

    private static RuleSpec spec(String[] row) {
        return spec(row[0].equals("4") ? Family.IPV4 : Family.IPV6, row[1], row[2]);
    }

    private static final String[][] LINES = {
        // family, table, line, canonical?
        {"4", "nat", "-d 10.96.19.134/32 -p tcp -m comment --comment \"ns51/svc4998:p80 cluster IP\" -m tcp --dport 80 -j KUBE-SVC-IV2WTUMQU2JDP3WC", "yes"},
        {"4", "nat", "! -s 10.244.0.0/16 -d 10.96.19.134/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ", "yes"},
        {"4", "nat", "-p tcp -m tcp -j DNAT --to-destination 10.244.39.12:8080", "yes"},
        {"4", "filter", "-j ACCEPT", "yes"},
        {"4", "filter", "-d 10.0.0.0/255.0.255.0 -j DROP", "yes"},
        {"6", "filter", "-s 2001:db8::/32 -d ::ffff:1.2.3.4/128 -j DROP", "yes"},
        {"4", "filter", "-p tcp --dport 22 -j ACCEPT", "no"},
        {"4", "filter", "-s 10.0.0.1 -j DROP", "no"},
        {"4", "filter", "-s 10.0.0.7/8 -j DROP", "no"},
        {"4", "filter", "-j ACCEPT ", "no"},
        {"4", "filter", "-m comment --comment \"a b\" -j ACCEPT", "yes"},
        {"4", "filter", "-m comment --comment \"ab\" -j ACCEPT", "no"},
        {"6", "filter", "-s 2001:0db8:0::/32 -j DROP", "no"},
    };

    @Test
    void aCanonicalLineIsTheRulesTextItselfAndAnyOtherIsRendered() {
        for (String[] row : LINES) {
            RuleSpec spec = spec(row);
            String expected = RuleText.save(spec);
            Rule rule = new Rule(spec, Counters.zero(), row[2]);
            assertThat(rule.text()).as(row[2]).isEqualTo(expected);
            if (row[3].equals("yes")) {
                assertThat(expected).as(row[2]).isEqualTo(row[2]);
                assertThat(rule.text()).as("the source itself: %s", row[2]).isSameAs(row[2]);
            } else {
                assertThat(rule.text()).as(row[2]).isNotEqualTo(row[2]);
            }
        }
    }

    @Test
    void aCandidateDifferingByOneCharacterIsNeverTaken() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (String[] row : LINES) {
            RuleSpec spec = spec(row);
            String text = RuleText.save(spec);
            for (int round = 0; round < 200; round++) {
                StringBuilder c = new StringBuilder(text);
                int at = rnd.nextInt(text.length() + 1);
                switch (rnd.nextInt(3)) {
                    case 0 -> c.insert(at, (char) ('!' + rnd.nextInt(90)));
                    case 1 -> { if (at < c.length()) c.deleteCharAt(at); else c.setLength(Math.max(0, c.length() - 1)); }
                    default -> { if (at < c.length()) c.setCharAt(at, (char) (c.charAt(at) ^ (1 + rnd.nextInt(7)))); }
                }
                String candidate = c.toString();
                String got = RuleText.save(spec, candidate);
                assertThat(got).as("candidate [%s]", candidate).isEqualTo(text);
                assertThat(got == candidate).as("taken [%s]", candidate).isEqualTo(candidate.equals(text));
            }
            assertThat(RuleText.save(spec, null)).isEqualTo(text);
        }
    }

    @Test
    void anAddressAppendsAsItsSaveText() {
        SplittableRandom rnd = new SplittableRandom(13);
        for (int round = 0; round < 20_000; round++) {
            boolean v4 = rnd.nextBoolean();
            long maskHi;
            long maskLo;
            if (rnd.nextBoolean()) {
                int prefix = rnd.nextInt(v4 ? 33 : 129);
                maskHi = v4 ? 0 : prefix == 0 ? 0 : prefix >= 64 ? -1L : -1L << (64 - prefix);
                maskLo = v4 ? (prefix == 0 ? 0 : (0xFFFFFFFFL << (32 - prefix)) & 0xFFFFFFFFL)
                        : prefix <= 64 ? 0 : prefix == 128 ? -1L : -1L << (128 - prefix);
            } else {
                maskHi = v4 ? 0 : rnd.nextLong();
                maskLo = v4 ? rnd.nextLong() & 0xFFFFFFFFL : rnd.nextLong();
            }
            long hi = v4 ? 0 : rnd.nextLong() & maskHi;
            long lo = (v4 ? rnd.nextLong() & 0xFFFFFFFFL : rnd.nextLong()) & maskLo;
            IpNet net = IpNet.of(v4 ? Family.IPV4 : Family.IPV6, hi, lo, maskHi, maskLo);
            StringBuilder sb = new StringBuilder("x");
            net.appendSaveText(sb);
            assertThat(sb.toString()).isEqualTo("x" + net.saveText());
        }
    }
}
