package org.jnetfilter.difftest;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Restore-file text handling: completing a file to name every table, and reading the counters of a save. */
public final class Rulesets {
    /** The tables iptables-legacy knows in a namespace, in the order iptables-save prints them. */
    public static final List<String> TABLES = List.of("raw", "mangle", "nat", "filter");
    private static final Pattern POLICY = Pattern.compile("^:(\\S+) (\\S+) \\[(\\d+):(\\d+)\\]$");
    private static final Pattern RULE = Pattern.compile("^\\[(\\d+):(\\d+)\\] -A (\\S+) ?(.*)$");

    private Rulesets() {
    }

    /** {@code text} plus an empty section for each table it does not name, so a restore replaces all. */
    public static String withAllTables(String text) {
        StringBuilder s = new StringBuilder(text == null ? "" : text);
        if (s.length() > 0 && s.charAt(s.length() - 1) != '\n') {
            s.append('\n');
        }
        for (String table : TABLES) {
            if (text == null || !Pattern.compile("(?m)^\\*" + table + "\\s*$").matcher(text).find()) {
                s.append('*').append(table).append("\nCOMMIT\n");
            }
        }
        return s.toString();
    }

    /**
     * The counters of an {@code iptables-save -c} text: "table chain policy" and "table chain #n rule"
     * (n from 1 in each chain) to "packets bytes", in file order. Built-in chains' policies and every rule
     * are listed, zero or not, so a rule that one side lacks shows as a difference.
     */
    public static Map<String, String> counters(String save) {
        Map<String, String> out = new LinkedHashMap<>();
        String table = "?";
        Map<String, Integer> position = new LinkedHashMap<>();
        for (String line : save.split("\n")) {
            if (line.startsWith("*")) {
                table = line.substring(1).strip();
                position.clear();
                continue;
            }
            Matcher p = POLICY.matcher(line);
            if (p.matches()) {
                if (!p.group(2).equals("-")) {
                    out.put(table + " " + p.group(1) + " policy " + p.group(2), p.group(3) + " " + p.group(4));
                }
                continue;
            }
            Matcher r = RULE.matcher(line);
            if (r.matches()) {
                int n = position.merge(r.group(3), 1, Integer::sum);
                out.put(table + " " + r.group(3) + " #" + n + " " + r.group(4), r.group(1) + " " + r.group(2));
            }
        }
        return out;
    }
}
