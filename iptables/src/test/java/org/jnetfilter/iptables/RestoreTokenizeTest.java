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
        String alphabet = "ab- \t\"\\\n!/x";
        for (int round = 0; round < 20_000; round++) {
            StringBuilder line = new StringBuilder();
            for (int k = rnd.nextInt(30); k > 0; k--) {
                line.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
            }
            String s = line.toString();
            assertThat(Restore.tokenize(s, 1)).as("line [%s]", s).isEqualTo(reference(s));
        }
    }

    @Test
    void keepsQuotedWordsWholeAndEscapesInsideQuotes() {
        assertThat(Restore.tokenize("-A INPUT -m comment --comment \"a \\\"b\\\" c\" -j ACCEPT", 1))
                .containsExactly("-A", "INPUT", "-m", "comment", "--comment", "a \"b\" c", "-j", "ACCEPT");
        assertThat(Restore.tokenize("--comment \"\" x", 1)).containsExactly("--comment", "", "x");
    }
}
