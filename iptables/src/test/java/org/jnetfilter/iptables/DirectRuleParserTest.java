package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.RuleText;
import org.jnetfilter.iptables.testkit.DockerRules;
import org.junit.jupiter.api.Test;

/**
 * The direct parser of common rule lines against the reference, CommandLine (getopt and all): for every line it
 * takes, CommandLine must give the same rule (equal spec, equal save text) in the same chain; every line
 * CommandLine refuses it must leave to CommandLine (so errors stay CommandLine's, byte for byte). Checked on every
 * line of iptables' own test files, the rules of the golden transcripts, Kubernetes and Docker rulesets, and
 * seeded random lines, and it must take nearly all lines of the rulesets it exists for.
 */
class DirectRuleParserTest {

    /** What the reference makes of a restore rule line's words: a rule or the error text. */
    private record Reference(String chain, RuleSpec spec, String text, String error) {
    }

    private static Reference reference(Family family, String table, List<String> words) {
        List<String> argv = new ArrayList<>(List.of(family.program() + "-restore", "-t", table));
        argv.addAll(words);
        try {
            Command cmd = new CommandLine(family, Extensions.standard(), argv.toArray(new String[0]), true, null).parse();
            if (cmd.kind() != CommandKind.APPEND || cmd.rules().size() != 1) {
                return new Reference(cmd.chain(), null, null, "not a single append: " + cmd.kind());
            }
            RuleSpec spec = cmd.rules().get(0);
            if (!cmd.warnings().isEmpty()) {
                // warnings are CommandLine's to print: the direct parser must leave such a line to it
                return new Reference(cmd.chain(), spec, RuleText.save(spec), "warns: " + cmd.warnings());
            }
            return new Reference(cmd.chain(), spec, RuleText.save(spec), null);
        } catch (RuntimeException e) {
            return new Reference(null, null, null, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    /** Counts of lines taken directly and of all lines compared. */
    private final int[] taken = new int[2];

    /** Compares both parsers on one line's words; true when the direct parser took it. */
    private boolean compare(Family family, String table, List<String> words, String what) {
        Command direct = DirectRuleParser.append(family, Extensions.standard(), table, words, "words", null, name -> false);
        Reference ref = reference(family, table, words);
        taken[1]++;
        if (direct == null) {
            return false;
        }
        taken[0]++;
        assertThat(ref.error()).as("CommandLine refuses what the direct parser took: %s %s", family, what).isNull();
        assertThat(direct.chain()).as(what).isEqualTo(ref.chain());
        assertThat(direct.table()).as(what).isEqualTo(table);
        assertThat(direct.rules()).as(what).hasSize(1);
        RuleSpec spec = direct.rules().get(0);
        assertThat(RuleText.save(spec)).as("save text of %s", what).isEqualTo(ref.text());
        assertThat(spec).as("spec of %s", what).isEqualTo(ref.spec());
        return true;
    }

    private boolean compareLine(Family family, String table, String line) {
        return compare(family, table, Restore.tokenize(line + "\n", 1), line);
    }

    @Test
    void everyLineOfIptablesOwnTestFilesParsesAsCommandLineParsesIt() throws IOException {
        List<Path> files = ConformanceTest.testFilesOrSkip("direct parser not checked on it");
        for (Path f : files) {
            String name = f.getFileName().toString();
            List<Family> families = name.startsWith("libip6t_") ? List.of(Family.IPV6)
                    : name.startsWith("libxt_") ? List.of(Family.IPV4, Family.IPV6) : List.of(Family.IPV4);
            String table = "filter";
            List<String> chains = List.of("INPUT");
            for (String raw : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                String line = raw.strip();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                if (line.startsWith("*")) {
                    table = line.substring(1);
                    continue;
                }
                if (line.startsWith(":")) {
                    chains = List.of(line.substring(1).split(","));
                    continue;
                }
                String[] f3 = line.split(";", -1);
                List<String> rules = new ArrayList<>(List.of(f3[0]));
                if (f3.length > 1 && !f3[1].isEmpty() && !f3[1].equals("=")) {
                    rules.add(f3[1]);
                }
                for (Family family : families) {
                    for (String chain : chains) {
                        for (String rule : rules) {
                            compareLine(family, table, "-A " + chain + " " + rule);
                        }
                    }
                }
            }
        }
        assertThat(taken[1]).as("lines compared").isGreaterThan(1500);
        assertThat(taken[0]).as("lines the direct parser took").isGreaterThan(taken[1] / 3);
    }

    @Test
    void theRulesOfTheGoldenTranscriptsParseAsCommandLineParsesThem() throws IOException {
        Path dir = Path.of("src/test/resources/golden");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".scn")).sorted().toList();
        }
        for (Path f : files) {
            for (String raw : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                List<String> argv = ShellWords.split(raw.strip());
                if (argv.size() < 3 || !argv.get(0).startsWith("ip")) {
                    continue;
                }
                Family family = argv.get(0).startsWith("ip6tables") ? Family.IPV6 : Family.IPV4;
                String table = "filter";
                int at = -1;
                for (int i = 1; i < argv.size(); i++) {
                    if (argv.get(i).equals("-t") && i + 1 < argv.size() && at < 0) {
                        table = argv.get(i + 1);
                    }
                    if (argv.get(i).equals("-A") && at < 0) {
                        at = i;
                    }
                }
                if (at >= 0) {
                    compare(family, table, argv.subList(at, argv.size()), f.getFileName() + ": " + raw);
                }
            }
        }
        assertThat(taken[0]).as("golden rules the direct parser took").isGreaterThan(50);
    }

    private void everyRuleLine(String text, String what) {
        String table = null;
        int lines = 0;
        int direct = 0;
        for (String line : text.split("\n")) {
            if (line.startsWith("*")) {
                table = line.substring(1);
            } else if (line.startsWith("-A")) {
                lines++;
                if (compareLine(Family.IPV4, table, line)) {
                    direct++;
                }
            }
        }
        assertThat(direct).as("%s: rule lines taken directly of %d", what, lines).isEqualTo(lines);
    }

    @Test
    void aKubernetesNodesRulesAreAllParsedDirectlyAndAsCommandLineParsesThem() throws Exception {
        everyRuleLine(RestoreParallelTest.kubegen(300), "kubegen 300");
    }

    @Test
    void aDockerHostsRulesAreAllParsedDirectlyAndAsCommandLineParsesThem() {
        everyRuleLine(DockerRules.generate(30, 300, 11), "docker");
    }

    private static final String[] WORDS = {
        "!", "!", "-s", "-d", "-p", "-i", "-o", "-m", "-j", "-g", "-f", "-c", "-v", "-t", "-A", "-sX", "--source",
        "--dst", "--dport=80", "--dp", "--", "-", "10.0.0.1", "10.0.0.0/8", "1.2.3.4,5.6.7.8", "::1", "fe80::/64",
        "300.1.1.1", "localhost", "tcp", "udp", "icmp", "all", "TCP", "0", "eth0", "eth+", "", "a/b", "averyveryverylongifname",
        "comment", "--comment", "a b", "\"x\"", "tcp", "udp", "--dport", "--sport", "80", "22:25", "65536", "--syn",
        "--tcp-flags", "SYN,ACK", "SYN", "ACCEPT", "DROP", "RETURN", "QUEUE", "DNAT", "--to-destination", "10.1.1.1:80",
        "SNAT", "--to-source", "MASQUERADE", "--to-ports", "1024-2000", "--random-fully", "MARK", "--set-xmark",
        "0x4000/0x4000", "--set-mark", "KUBE-MARK-MASQ", "CHAIN", "statistic", "--mode", "random", "nth",
        "--probability", "0.50000000000", "--every", "2", "multiport", "--dports", "22,80,443", "conntrack",
        "--ctstate", "NEW,ESTABLISHED", "state", "--state", "INVALID", "mark", "--mark", "0x1/0xff", "addrtype",
        "--dst-type", "LOCAL", "--src-type", "recent", "--name", "--set", "--rcheck", "--seconds", "60", "LOG",
        "--log-prefix", "REJECT", "--reject-with", "tcp-reset", "icmp-port-unreachable", "limit", "--limit", "3/min",
        "icmp", "--icmp-type", "echo-request", "physdev", "--physdev-in", "length", "--length", "64:128", "ttl",
        "--ttl-eq", "5", "TTL", "--ttl-set", "NOTRACK", "CT", "--notrack", "iprange", "--src-range",
        "10.0.0.1-10.0.0.9", "KUBE-SVC-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123", "CLUSTERIP", "ULOG", "echo-reply", "ipv6-route",
        "--physdev-out", "a b", "10.0.0.0/08", "10.1.2.3/0", "10.0.0/8", "1.2.3.4/33", "0.0.0.0/0", "192.168.1.1/32",
        "10.0.0.0/255.0.0.0", "010.1.1.1", "0.5d", "0.5F", "1e-1", " 0.5", "--jump", "--match", "--protocol"};

    private record Outcome(String save, String error, int line, int status) {
    }

    private static Outcome restore(String text, boolean counters, boolean direct) throws java.io.IOException {
        Restore r = new Restore(Extensions.standard(), counters, false, null, "iptables-restore");
        if (!direct) {
            r.withoutDirectParsing();
        }
        try {
            org.jnetfilter.core.rules.Ruleset rs = r.apply(org.jnetfilter.core.rules.Ruleset.empty(Family.IPV4),
                    new java.io.BufferedReader(new java.io.StringReader(text)));
            return new Outcome(SaveFormat.save(rs, null, true,
                    java.time.ZonedDateTime.of(2026, 1, 1, 0, 0, 0, 0, java.time.ZoneOffset.UTC)), null, 0, 0);
        } catch (Restore.Failure f) {
            return new Outcome(null, f.error.getMessage(), f.line, f.error.status());
        }
    }

    /**
     * Whole restores, with and without -c, of rulesets whose rule lines carry "[P:B]" counters (some of them
     * not plain numbers), and seeded corruptions of them: the same rules, counters and errors either way.
     */
    @Test
    void restoresComeOutTheSameWithAndWithoutTheDirectParser() throws Exception {
        SplittableRandom rnd = new SplittableRandom(41);
        String[] odd = {"[1:2]", "[0:0]", "[18446744073709551615:1]", "[12,3:4]", "[-1:5]", "[1:2", "[:]", "[a:b]",
            "[99999999999999999999:0]", "[ 1:2]"};
        StringBuilder counted = new StringBuilder();
        for (String l : DockerRules.generate(15, 150, 8).split("\n")) {
            if (l.startsWith("-A")) {
                counted.append("[" + rnd.nextInt(100000) + ":" + rnd.nextLong(1L << 40) + "] ");
            }
            counted.append(l).append('\n');
        }
        String[] words = {"-j", "!", "--dport", "-m", "tcp", "KUBE-MARK-MASQ", "DOCKER", "\"", "-p", "udp", "-A", "[1:2]",
            "--comment", "999999", "10.0.0.0/33", "-s", "--to-destination", "-c", "2"};
        String[] lines = counted.toString().split("\n");
        int failed = 0;
        for (int round = 0; round < 80; round++) {
            List<String> edited = new ArrayList<>(List.of(lines));
            if (round > 0) {
                for (int e = 0; e < 1 + rnd.nextInt(3); e++) {
                    int at = rnd.nextInt(edited.size());
                    List<String> w = new ArrayList<>(List.of(edited.get(at).split(" ")));
                    switch (rnd.nextInt(4)) {
                        case 0 -> w.remove(rnd.nextInt(w.size()));
                        case 1 -> w.set(rnd.nextInt(w.size()), words[rnd.nextInt(words.length)]);
                        case 2 -> w.set(0, odd[rnd.nextInt(odd.length)]);
                        default -> w.add(rnd.nextInt(w.size() + 1), words[rnd.nextInt(words.length)]);
                    }
                    edited.set(at, String.join(" ", w));
                }
            }
            String text = String.join("\n", edited) + "\n";
            for (boolean counters : new boolean[] {false, true}) {
                Outcome direct = restore(text, counters, true);
                assertThat(direct).as("round %d, -c %s", round, counters).isEqualTo(restore(text, counters, false));
                if (direct.error() != null) {
                    failed++;
                }
            }
        }
        assertThat(failed).as("restores that failed").isBetween(30, 150);
    }

    /** Rule lines of the shapes kube-proxy writes (kubegen.py's). */
    private static final String[] KUBE_LINES = {
        "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
        "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
        "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully",
        "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
        "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS",
        "-A KUBE-SERVICES -d 10.96.19.134/32 -p tcp -m comment --comment \"ns51/svc4998:p80 cluster IP\" -m tcp --dport 80 -j KUBE-SVC-IV2WTUMQU2JDP3WC",
        "-A KUBE-SVC-IV2WTUMQU2JDP3WC ! -s 10.244.0.0/16 -d 10.96.19.134/32 -p tcp -m comment --comment \"ns51/svc4998:p80 cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ",
        "-A KUBE-SVC-IV2WTUMQU2JDP3WC -m comment --comment \"ns51/svc4998:p80 -> 10.244.39.12:8080\" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-3T5FWCVVHNT6UP5Y",
        "-A KUBE-SEP-3T5FWCVVHNT6UP5Y -s 10.244.39.12/32 -m comment --comment \"ns51/svc4998:p80\" -j KUBE-MARK-MASQ",
        "-A KUBE-SEP-3T5FWCVVHNT6UP5Y -p tcp -m comment --comment \"ns51/svc4998:p80\" -m tcp -j DNAT --to-destination 10.244.39.12:8080",
        "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
        "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT",
        "-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment \"block incoming localnet connections\" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
        "-A INPUT -p tcp -m multiport --dports 22,80,443 -m state --state NEW -j ACCEPT",
        "-A INPUT -i eth0 -p udp -m udp --sport 53 -m recent --set --name dns --rsource -j LOG --log-prefix \"dns \"",
    };

    /** Random word sequences after "-A CHAIN", and valid rules with one word changed, in every table. */
    @Test
    void seededRandomLinesParseAsCommandLineParsesThemOrAreLeftToIt() {
        SplittableRandom rnd = new SplittableRandom(20261130);
        String[] tables = {"filter", "nat", "mangle", "raw"};
        List<String> valid = new ArrayList<>(List.of(KUBE_LINES));
        for (String l : DockerRules.generate(3, 10, 5).split("\n")) {
            if (l.startsWith("-A")) {
                valid.add(l);
            }
        }
        for (int round = 0; round < 20000; round++) {
            Family family = rnd.nextInt(5) == 0 ? Family.IPV6 : Family.IPV4;
            String table = tables[rnd.nextInt(tables.length)];
            List<String> words = new ArrayList<>(List.of("-A", rnd.nextInt(4) == 0 ? "OUTPUT" : "KUBE-SERVICES"));
            if (rnd.nextBoolean()) {
                int n = 1 + rnd.nextInt(14);
                for (int i = 0; i < n; i++) {
                    words.add(WORDS[rnd.nextInt(WORDS.length)]);
                }
            } else {
                List<String> v = Restore.tokenize(valid.get(rnd.nextInt(valid.size())) + "\n", 1);
                words.addAll(v.subList(2, v.size()));
                int edits = rnd.nextInt(3);
                for (int e = 0; e < edits && words.size() > 2; e++) {
                    int at = 2 + rnd.nextInt(words.size() - 2);
                    switch (rnd.nextInt(3)) {
                        case 0 -> words.remove(at);
                        case 1 -> words.set(at, WORDS[rnd.nextInt(WORDS.length)]);
                        default -> words.add(at, WORDS[rnd.nextInt(WORDS.length)]);
                    }
                }
            }
            compare(family, table, words, family + " " + table + " " + words);
        }
        assertThat(taken[0]).as("random lines the direct parser took (of %d)", taken[1]).isGreaterThan(3000);
    }
}
