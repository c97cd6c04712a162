package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.iptables.testkit.DockerRules;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A large restore parses its rule lines ahead on all cores and applies chain lines and appends through a
 * table builder; the outcome must be the one of the plain line-by-line restore: the same ruleset (save
 * output with counters, hook masks) or the same error at the same line. Checked on Docker and Kubernetes
 * rulesets and on seeded random corruptions of them.
 */
class RestoreParallelTest {
    private static final ZonedDateTime DATE = ZonedDateTime.of(2026, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC);

    private record Outcome(String save, String error, int line, int status) {
    }

    private static Outcome restore(String text, boolean counters, boolean noflush, Ruleset start, boolean ahead)
            throws IOException {
        Restore r = new Restore(Extensions.standard(), counters, noflush, null, "iptables-restore")
                .preParseFrom(ahead ? 0 : Integer.MAX_VALUE);
        try {
            Ruleset rs = r.apply(start, new BufferedReader(new StringReader(text)));
            StringBuilder masks = new StringBuilder();
            for (org.jnetfilter.core.rules.Table t : rs.tables()) {
                masks.append(t.name()).append(' ').append(new java.util.TreeMap<>(TableChecks.hooksOf(t))).append('\n');
            }
            return new Outcome(SaveFormat.save(rs, null, true, DATE) + masks, null, 0, 0);
        } catch (Restore.Failure f) {
            return new Outcome(null, f.error.getMessage(), f.line, f.error.status());
        }
    }

    private static void assertSameBothWays(String text, String what) throws IOException {
        for (boolean counters : new boolean[] {false, true}) {
            Outcome plain = restore(text, counters, false, Ruleset.empty(Family.IPV4), false);
            Outcome ahead = restore(text, counters, false, Ruleset.empty(Family.IPV4), true);
            assertThat(ahead).as(what + (counters ? " with -c" : "")).isEqualTo(plain);
        }
    }

    static String kubegen(int services) throws Exception {
        Path script = Path.of("../../shared/bench/kubegen.py");
        Assumptions.assumeTrue(Files.exists(script), "SKIPPED: ../shared/bench/kubegen.py not found");
        Process p = new ProcessBuilder("python3", script.toString(), Integer.toString(services))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        Assumptions.assumeTrue(p.waitFor() == 0, "SKIPPED: python3 kubegen.py failed");
        return out;
    }

    @Test
    void aKubernetesNodeRestoresTheSameParsedAheadAsLineByLine() throws Exception {
        String text = kubegen(150);
        assertSameBothWays(text, "kubegen 150");
        corruptions(text, 40, 1);
    }

    /**
     * Over 4096 chains the table checks run on all cores; a rule the kernel refuses for its hooks
     * (MASQUERADE in a chain reached from PREROUTING) fails the restore at the table's COMMIT either way.
     */
    @Test
    void aLargeTableIsCheckedOnAllCoresWithTheSameOutcome() throws Exception {
        String text = kubegen(1400);
        assertThat(restore(text, false, false, Ruleset.empty(Family.IPV4), true).error()).isNull();
        int at = text.indexOf("\n-A KUBE-SVC-") + 1;
        String chain = text.substring(at + 3, text.indexOf(' ', at + 3));
        String bad = text.substring(0, at) + "-A " + chain + " -p tcp -j MASQUERADE\n" + text.substring(at);
        Outcome plain = restore(bad, false, false, Ruleset.empty(Family.IPV4), false);
        assertThat(plain.error()).as("refused by the table checks").contains("line").contains("failed");
        assertThat(restore(bad, false, false, Ruleset.empty(Family.IPV4), true)).isEqualTo(plain);
    }

    /**
     * A chain line naming a target (":MARK") makes later "-j MARK" lines jump to the chain and "--set-mark"
     * an unknown option (libxtables' notargets), whichever thread parses them; the nat table's MARK rules
     * before it (KUBE-MARK-MASQ) still load the target.
     */
    @Test
    void aChainNamedLikeATargetTurnsLaterJumpsToItWhenParsedAhead() throws Exception {
        String text = kubegen(150);
        String declared = text.replace("\n*filter\n", "\n*filter\n:MARK - [0:0]\n");
        int end = declared.lastIndexOf("COMMIT\n");
        String jump = declared.substring(0, end) + "-A INPUT -j MARK\n" + declared.substring(end);
        assertSameBothWays(jump, "jump to the chain MARK");
        String saved = restore(jump, false, false, Ruleset.empty(Family.IPV4), true).save();
        assertThat(saved).contains(":MARK - [0:0]").contains("-A INPUT -j MARK\n")
                .contains("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000");
        String options = declared.substring(0, end) + "-A INPUT -j MARK --set-mark 1\n" + declared.substring(end);
        Outcome refused = restore(options, false, false, Ruleset.empty(Family.IPV4), true);
        assertThat(refused.error()).contains("unknown option \"--set-mark\"");
        assertThat(refused).isEqualTo(restore(options, false, false, Ruleset.empty(Family.IPV4), false));
    }

    @Test
    void aDockerHostRestoresTheSameParsedAheadAsLineByLine() throws Exception {
        String text = DockerRules.generate(20, 200, 3);
        assertSameBothWays(text, "docker");
        corruptions(text, 60, 2);
    }

    @Test
    void noflushOntoAnExistingRulesetGivesTheSameBothWays() throws Exception {
        String base = DockerRules.generate(10, 50, 4);
        Ruleset start = new Restore(Extensions.standard(), false, false, null, "iptables-restore")
                .apply(Ruleset.empty(Family.IPV4), new BufferedReader(new StringReader(base)));
        String more = DockerRules.generate(12, 60, 5);
        for (boolean noflush : new boolean[] {false, true}) {
            assertThat(restore(more, false, noflush, start, true)).as("noflush " + noflush)
                    .isEqualTo(restore(more, false, noflush, start, false));
        }
    }

    /** Seeded edits of single lines: words dropped, swapped or replaced, chains redeclared, counters added. */
    private static void corruptions(String text, int rounds, long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<String> lines = List.of(text.split("\n", -1));
        String[] junk = {"-j", "!", "--dport", "-m", "tcp", "KUBE-MARK-MASQ", "DOCKER", "\"", "-p", "udp", "-A", "-N",
            "-X", "-F", "-D", "[1:2]", ":DOCKER - [0:0]", ":MARK - [0:0]", "MARK", "ACCEPT", "RETURN", "--comment", "999999", "10.0.0.0/33"};
        int failures = 0;
        for (int round = 0; round < rounds; round++) {
            List<String> edited = new ArrayList<>(lines);
            for (int e = 0; e < 1 + rnd.nextInt(3); e++) {
                int at = rnd.nextInt(edited.size());
                String l = edited.get(at);
                List<String> words = new ArrayList<>(List.of(l.split(" ")));
                switch (rnd.nextInt(5)) {
                    case 0 -> words.remove(rnd.nextInt(words.size()));
                    case 1 -> words.set(rnd.nextInt(words.size()), junk[rnd.nextInt(junk.length)]);
                    case 2 -> words.add(rnd.nextInt(words.size() + 1), junk[rnd.nextInt(junk.length)]);
                    case 3 -> words.add(0, "[" + rnd.nextInt(100) + ":" + rnd.nextInt(1000) + "]");
                    default -> {
                        edited.add(at, junk[rnd.nextInt(junk.length)] + " " + l);
                        continue;
                    }
                }
                edited.set(at, String.join(" ", words));
            }
            String t = String.join("\n", edited);
            Outcome plain = restore(t, round % 2 == 0, false, Ruleset.empty(Family.IPV4), false);
            Outcome ahead = restore(t, round % 2 == 0, false, Ruleset.empty(Family.IPV4), true);
            assertThat(ahead).as("corruption round " + round).isEqualTo(plain);
            if (plain.error() != null) {
                failures++;
            }
        }
        assertThat(failures).as("corrupted inputs that failed").isBetween(rounds / 4, rounds);
    }

    /** A file is decoded in one piece as the reader decoded it, malformed UTF-8 included. */
    @Test
    void inputDecodedAtOnceIsWhatTheReaderDecodes() throws IOException {
        SplittableRandom rnd = new SplittableRandom(10);
        byte[] alphabet = {'a', ' ', '\n', '"', (byte) 0xc3, (byte) 0xa9, (byte) 0xe2, (byte) 0x82, (byte) 0xac,
            (byte) 0xf0, (byte) 0x9f, (byte) 0x98, (byte) 0x80, (byte) 0xff, (byte) 0x80, (byte) 0xed, (byte) 0xa0};
        for (int round = 0; round < 5000; round++) {
            byte[] bytes = new byte[rnd.nextInt(40)];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = alphabet[rnd.nextInt(alphabet.length)];
            }
            String read = new BufferedReader(new java.io.InputStreamReader(new java.io.ByteArrayInputStream(bytes),
                    StandardCharsets.UTF_8)).lines().collect(java.util.stream.Collectors.joining("\n"));
            String atOnce = String.join("\n", Restore.lines(new String(bytes, StandardCharsets.UTF_8)));
            assertThat(atOnce).as("%s", java.util.HexFormat.of().formatHex(bytes)).isEqualTo(read);
        }
    }

    /** A large input is split in parts on all cores: its lines are still those readLine returns, in order. */
    @Test
    void aLargeInputSplitInPartsHasTheLinesReadLineReturns() throws IOException {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int round = 0; round < 6; round++) {
            StringBuilder sb = new StringBuilder();
            while (sb.length() < (1 << 20) + rnd.nextInt(1 << 16)) {
                int n = rnd.nextInt(round % 3 == 0 ? 3 : 200);
                for (int i = 0; i < n; i++) {
                    sb.append((char) ('a' + rnd.nextInt(26)));
                }
                sb.append(round % 2 == 0 || rnd.nextInt(50) != 0 ? "\n" : "\n\n");
            }
            if (round == 5) {
                sb.append("no newline at the end");
            }
            String text = sb.toString();
            List<String> expected = new ArrayList<>();
            BufferedReader r = new BufferedReader(new StringReader(text));
            for (String l; (l = r.readLine()) != null; ) {
                expected.add(l);
            }
            assertThat(Restore.lines(text)).as("round %d", round).isEqualTo(expected);
        }
    }

    /** Lines split in blocks are those BufferedReader.readLine returns, for any block size and line ends. */
    @Test
    void inputIsSplitIntoTheLinesReadLineReturns() throws IOException {
        SplittableRandom rnd = new SplittableRandom(9);
        String alphabet = "ab \"\t\r\n\n\r\n";
        for (int round = 0; round < 3000; round++) {
            StringBuilder sb = new StringBuilder();
            int n = rnd.nextInt(40);
            for (int i = 0; i < n; i++) {
                sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
            }
            String text = sb.toString();
            List<String> expected = new ArrayList<>();
            BufferedReader r = new BufferedReader(new StringReader(text));
            for (String l; (l = r.readLine()) != null; ) {
                expected.add(l);
            }
            assertThat(Restore.lines(text)).as("%s at once", text.replace("\r", "\\r").replace("\n", "\\n"))
                    .isEqualTo(expected);
            int block = 1 + rnd.nextInt(8);
            assertThat(Restore.lines(new BufferedReader(new StringReader(text)), block))
                    .as("%s in blocks of %d", text.replace("\r", "\\r").replace("\n", "\\n"), block)
                    .isEqualTo(expected);
        }
    }
}
