package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** iptables-restore's word splitting (add_param_to_argv) against a character-at-a-time reference. */
class RestoreTokenizeTest {

    /** The reference: one character at a time, exactly as add_param_to_argv walks the line. */
    private static List<String> reference(String s) {
        List<String> out = new ArrayList<>();
        StringBuilder param = new StringBuilder();
        boolean quoteOpen = false;
        boolean escaped = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quoteOpen) {
                if (escaped) {
                    param.append(c);
                    escaped = false;
                    continue;
                } else if (c == '\\') {
                    escaped = true;
                    continue;
                } else if (c == '"') {
                    quoteOpen = false;
                } else {
                    param.append(c);
                    continue;
                }
            } else if (c == '"') {
                quoteOpen = true;
                continue;
            }
            if (c != '"') {
                if (c == ' ' || c == '\t' || c == '\n') {
                    if (param.isEmpty()) {
                        continue;
                    }
                } else {
                    param.append(c);
                    continue;
                }
            }
            out.add(param.toString());
            param.setLength(0);
        }
        if (!param.isEmpty() || quoteOpen) {
            out.add(param.toString());
        }
        return out;
    }

    @Test
    void splitsWordsAsIptablesRestoreDoesOnRandomLines() {
        SplittableRandom rnd = new SplittableRandom(3);
        String alphabet = "ab- \t\"\"\\\n!/x";
        for (int round = 0; round < 20_000; round++) {
            StringBuilder line = new StringBuilder();
            for (int k = rnd.nextInt(30); k > 0; k--) {
                line.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
            }
            String s = line.toString();
            assertThat(Restore.tokenize(s, 1)).as("line [%s]", s).isEqualTo(reference(s));
            assertThat(Restore.tokenizeLine(s)).as("line [%s] with its newline", s).isEqualTo(reference(s + "\n"));
            assertThat(Restore.tokenizeLine(s, false)).as("line [%s] of a small restore", s)
                    .isEqualTo(reference(s + "\n"));
        }
    }

    /** The reference of a rule line's plain words: strip, "-A", a blank, the chain, the rest stripped, quotes paired. */
    private static String plainWordsReference(String line) {
        String l = line.strip();
        if (!l.startsWith("-A") || l.length() < 3 || !(l.charAt(2) == ' ' || l.charAt(2) == '\t')) {
            return null;
        }
        int i = 2;
        while (i < l.length() && (l.charAt(i) == ' ' || l.charAt(i) == '\t')) {
            i++;
        }
        while (i < l.length() && l.charAt(i) != ' ' && l.charAt(i) != '\t') {
            if (l.charAt(i) == '"') {
                return null;
            }
            i++;
        }
        String words = l.substring(i).strip();
        return words.chars().filter(c -> c == '"').count() % 2 == 0 ? words : null;
    }

    @Test
    void aRuleLinesPlainWordsAreTheWordsAfterItsChain() {
        SplittableRandom rnd = new SplittableRandom(5);
        String[] parts = {"-A", "-A", "X", " ", " ", "\t", "\u2003", "\u00a0", "\u000b", "\"", "a", "-j", "\"b c\"", "\n"};
        for (int round = 0; round < 20_000; round++) {
            StringBuilder line = new StringBuilder();
            for (int k = rnd.nextInt(9); k > 0; k--) {
                line.append(parts[rnd.nextInt(parts.length)]);
            }
            String s = line.toString();
            assertThat(Restore.plainRuleWords(s)).as("line [%s]", s).isEqualTo(plainWordsReference(s));
        }
    }

    @Test
    void keepsQuotedWordsWholeAndEscapesInsideQuotes() {
        assertThat(Restore.tokenize("-A INPUT -m comment --comment \"a \\\"b\\\" c\" -j ACCEPT", 1))
                .containsExactly("-A", "INPUT", "-m", "comment", "--comment", "a \"b\" c", "-j", "ACCEPT");
        assertThat(Restore.tokenize("--comment \"\" x", 1)).containsExactly("--comment", "", "x");
    }

    /**
     * Words are shared from a per-thread table of the words split before: many words of one length from two
     * letters meet in its slots, and each line must still split into exactly its own words.
     */
    @Test
    void wordsSeenBeforeComeBackOnlyWhenEqual() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int round = 0; round < 20_000; round++) {
            StringBuilder line = new StringBuilder();
            for (int k = 1 + rnd.nextInt(12); k > 0; k--) {
                if (rnd.nextInt(4) == 0) {
                    line.append('"');
                }
                for (int c = 6; c > 0; c--) {
                    line.append(rnd.nextBoolean() ? 'a' : 'b');
                }
                if (rnd.nextInt(4) == 0) {
                    line.append('"');
                }
                line.append(' ');
            }
            String s = line.toString();
            assertThat(Restore.tokenizeLine(s)).as("line [%s]", s).isEqualTo(reference(s + "\n"));
        }
    }
}
