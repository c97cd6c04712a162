package org.jnetfilter.difftest;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Predicate;

/**
 * Reduces a failing case to a small one that still fails: first the packets, then the rules of both
 * families, by delta debugging (drop chunks of halving size while the failure stays; then single
 * items). Only {@code -A} lines are dropped (chain declarations stay), so every candidate is a valid
 * ruleset. Bounded: at most {@code maxTries} evaluations of the predicate, each one run of both sides.
 */
public final class Shrinker {
    /** A case: two restore texts and the injected packets. */
    public record Case(String ipv4Rules, String ipv6Rules, List<Injection> packets) {
        /** Java source to paste into a regression test. */
        public String reproducer(String title, List<Comparison.Mismatch> mismatches) {
            StringBuilder s = new StringBuilder("    // ").append(title.replace("\n", "\n    // ")).append('\n');
            for (Comparison.Mismatch m : mismatches) {
                for (String line : m.toString().split("\n")) {
                    s.append("    // ").append(line).append('\n');
                }
            }
            s.append("    static final String IPV4_RULES = \"\"\"\n").append(indent(ipv4Rules)).append("            \"\"\";\n");
            s.append("    static final String IPV6_RULES = \"\"\"\n").append(indent(ipv6Rules)).append("            \"\"\";\n");
            s.append("    static final List<Injection> PACKETS = List.of(\n");
            for (int i = 0; i < packets.size(); i++) {
                Injection p = packets.get(i);
                s.append("            new Injection(\"").append(p.side()).append("\", HexFormat.of().parseHex(\"")
                        .append(HexFormat.of().formatHex(p.frame())).append("\"),\n                    \"")
                        .append(p.label().replace("\"", "\\\"")).append('"')
                        .append(p.pauseMillis() > 0 ? ", " + p.pauseMillis() : "").append(")").append(i + 1 < packets.size() ? "," : "")
                        .append('\n');
            }
            return s.append("    );\n").toString();
        }

        private static String indent(String text) {
            StringBuilder s = new StringBuilder();
            for (String line : text.split("\n")) {
                if (!line.isEmpty()) {
                    s.append("            ").append(line.replace("\\", "\\\\")).append('\n');
                }
            }
            return s.toString();
        }
    }

    private final Predicate<Case> fails;
    private final int maxTries;
    private int tries;

    public Shrinker(Predicate<Case> fails, int maxTries) {
        this.fails = fails;
        this.maxTries = maxTries;
    }

    public int tries() {
        return tries;
    }

    public Case shrink(Case c) {
        List<Injection> packets = minimise(c.packets(), p -> test(new Case(c.ipv4Rules(), c.ipv6Rules(), p)));
        Case current = new Case(c.ipv4Rules(), c.ipv6Rules(), packets);
        final Case afterPackets = current;
        List<String> rules4 = ruleLines(current.ipv4Rules());
        List<String> kept4 = minimise(rules4, r -> test(new Case(withRules(afterPackets.ipv4Rules(), r),
                afterPackets.ipv6Rules(), afterPackets.packets())));
        current = new Case(withRules(current.ipv4Rules(), kept4), current.ipv6Rules(), packets);
        final Case afterV4 = current;
        List<String> rules6 = ruleLines(current.ipv6Rules());
        List<String> kept6 = minimise(rules6, r -> test(new Case(afterV4.ipv4Rules(),
                withRules(afterV4.ipv6Rules(), r), afterV4.packets())));
        return new Case(current.ipv4Rules(), withRules(current.ipv6Rules(), kept6), packets);
    }

    private boolean test(Case c) {
        if (tries >= maxTries) {
            return false;
        }
        tries++;
        return fails.test(c);
    }

    /** ddmin: the smallest sublist (in order) found for which {@code failing} holds. */
    static <T> List<T> minimise(List<T> items, Predicate<List<T>> failing) {
        List<T> current = new ArrayList<>(items);
        int chunk = Math.max(1, current.size() / 2);
        while (!current.isEmpty()) {
            boolean removed = false;
            for (int start = 0; start < current.size(); ) {
                List<T> candidate = new ArrayList<>(current.subList(0, start));
                candidate.addAll(current.subList(Math.min(current.size(), start + chunk), current.size()));
                if (candidate.size() < current.size() && failing.test(candidate)) {
                    current = candidate;
                    removed = true;
                } else {
                    start += chunk;
                }
            }
            if (chunk == 1 && !removed) {
                break;
            }
            if (!removed) {
                chunk = Math.max(1, chunk / 2);
            }
        }
        return current;
    }

    /** The {@code -A} lines of a restore text, each prefixed by its table (for {@link #withRules}). */
    static List<String> ruleLines(String text) {
        List<String> out = new ArrayList<>();
        String table = "";
        for (String line : text.split("\n")) {
            if (line.startsWith("*")) {
                table = line;
            } else if (line.startsWith("-A ")) {
                out.add(table + "\t" + line);
            }
        }
        return out;
    }

    /** {@code text} with only the given rule lines (as {@link #ruleLines} returned them), order kept. */
    static String withRules(String text, List<String> keep) {
        java.util.Map<String, Integer> left = new java.util.HashMap<>();
        for (String k : keep) {
            left.merge(k, 1, Integer::sum);
        }
        StringBuilder s = new StringBuilder();
        String table = "";
        for (String line : text.split("\n")) {
            if (line.startsWith("*")) {
                table = line;
            }
            if (line.startsWith("-A ")) {
                String key = table + "\t" + line;
                Integer n = left.get(key);
                if (n == null || n == 0) {
                    continue;
                }
                left.put(key, n - 1);
            }
            s.append(line).append('\n');
        }
        return s.toString();
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
