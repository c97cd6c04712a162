package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.api.Test;

/**
 * What lets a chain lose hooks without its rules being checked again (ReachUpdate): every hook condition of
 * the matches' and targets' checks refuses a hook that is not allowed, never asks for one, so a rule that
 * passes the checks with a set of hooks passes them with every subset (the empty one included: the kernel
 * checks the rules of unreached chains with comefrom 0). Checked for every rule of iptables' own extension
 * tests under all 32 hook masks.
 */
class HookChecksTest {
    private static final int ALL = (1 << Hook.values().length) - 1;

    @Test
    void aRuleThatPassesTheChecksFromSomeHooksPassesThemFromFewer() throws IOException {
        int rules = 0;
        int hookBound = 0;
        List<Path> files = ConformanceTest.testFilesOrSkip("hook checks not run");
        for (Path file : files) {
            Family family = file.getFileName().toString().startsWith("libip6t_") ? Family.IPV6 : Family.IPV4;
            TableKind kind = TableKind.FILTER;
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith("*")) {
                    kind = TableKind.byName(line.substring(1).trim()).orElse(TableKind.FILTER);
                    continue;
                }
                if (line.isBlank() || line.startsWith(":") || line.startsWith("#") || !line.contains(";")) {
                    continue;
                }
                List<RuleSpec> specs = parse(family, kind, line.substring(0, line.indexOf(';')));
                Table table = Table.initial(kind, family);
                for (RuleSpec spec : specs) {
                    Rule r = new Rule(spec, Counters.zero());
                    boolean[] passes = new boolean[ALL + 1];
                    for (int mask = 0; mask <= ALL; mask++) {
                        passes[mask] = passes(table, r, mask);
                    }
                    for (int mask = 0; mask <= ALL; mask++) {
                        for (int bit = 1; bit <= ALL && passes[mask]; bit <<= 1) {
                            if ((mask & bit) != 0) {
                                assertThat(passes[mask & ~bit]).as("%s in %s: passes from hooks %s, not from %s",
                                        line, file.getFileName(), mask, mask & ~bit).isTrue();
                            }
                        }
                    }
                    rules++;
                    if (passes[0] && !passes[ALL]) {
                        hookBound++;
                    }
                }
            }
        }
        assertThat(rules).as("rules of the extension tests checked").isGreaterThan(700);
        assertThat(hookBound).as("rules refused from some hooks only").isGreaterThan(100);
    }

    private static boolean passes(Table table, Rule r, int mask) {
        try {
            TableChecks.checkRule(table, r, mask);
            return true;
        } catch (XtablesException e) {
            return false;
        }
    }

    private static List<RuleSpec> parse(Family family, TableKind kind, String spec) {
        List<String> argv = new ArrayList<>(List.of(family.program(), "-t", kind.tableName(), "-A", "X"));
        argv.addAll(ShellWords.split(spec));
        try {
            return new CommandLine(family, Extensions.standard(), argv.toArray(new String[0]), false, null).parse().rules();
        } catch (XtablesException | CommandLine.BadArgument | CommandLine.HelpRequested | IllegalArgumentException e) {
            return List.of();
        }
    }
}
