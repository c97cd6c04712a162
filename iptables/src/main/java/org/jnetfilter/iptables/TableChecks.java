package org.jnetfilter.iptables;

import java.util.HashMap;
import java.util.Map;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.Target;

/**
 * What the kernel checks when a table is replaced (ip_tables.c translate_table): no loops through jumps
 * (mark_source_chains), and every match and target accepts the table and the hooks its chain is reachable
 * from (xt_check_match / xt_check_target). A failure is EINVAL, or ELOOP for a loop.
 */
final class TableChecks {
    private TableChecks() {
    }

    static void check(Table table) {
        check(table, null);
    }

    /**
     * Checks {@code table} as the kernel checks a replaced table, but only the rules whose result can
     * differ from {@code previous} (a generation that passed): rules that are new, or whose chain is now
     * reached from other hooks. The kernel re-checks every rule on every replace; the outcome is the same
     * and one command on 160k rules stays cheap (rules kept as text are not parsed to be re-checked).
     */
    static void check(Table table, Table previous) {
        Map<String, Integer> hooks = reachableHooks(table);
        Map<String, Integer> previousHooks = previous == null ? Map.of() : reachableHooks(previous);
        for (Chain c : table.chains()) {
            int mask = hooks.getOrDefault(c.name(), 0);
            Chain pc = previous == null ? null : previous.chain(c.name());
            if (pc == c && previousHooks.getOrDefault(c.name(), 0) == mask) {
                continue;
            }
            Map<Rule, Integer> checked = pc == null ? Map.of() : ruleMasks(pc, previousHooks.getOrDefault(c.name(), 0));
            for (Rule r : c.rules()) {
                // Linux: rules after an unconditional verdict are never walked, so their comefrom (the
                // hook mask the checks see) stays 0
                int ruleMask = mask;
                if (mask != 0 && endsWalk(r)) {
                    mask = 0;
                }
                Integer before = checked.get(r);
                if (before == null || before != ruleMask) {
                    checkRule(table, r, ruleMask);
                }
            }
        }
    }

    private static Map<Rule, Integer> ruleMasks(Chain c, int mask) {
        Map<Rule, Integer> m = new java.util.IdentityHashMap<>(c.rules().size() * 2);
        int cur = mask;
        for (Rule r : c.rules()) {
            m.put(r, cur);
            if (cur != 0 && endsWalk(r)) {
                cur = 0;
            }
        }
        return m;
    }

    private static boolean endsWalk(Rule r) {
        return r.isUnconditionalVerdict();
    }

    private static void checkRule(Table table, Rule r, int mask) {
        for (Match m : r.spec().matches()) {
            m.data().check(table.name(), mask, r.ip());
        }
        if (r.target() instanceof Target.Extension e) {
            e.data().check(table.name(), mask, r.ip());
            if (e.data() instanceof org.jnetfilter.core.ext.MatchAwareCheck m) {
                m.checkMatches(r.spec().matches().stream().map(Match::data).toList());
            }
        }
    }

    /**
     * Hooks each chain is reachable from; throws ELOOP's message when a chain reaches itself. One pass
     * over the rules builds the jump graph (a rule's jump target is read from its text, no parsing), then
     * a depth-first walk per hook marks what it reaches, as mark_source_chains does.
     */
    static Map<String, Integer> reachableHooks(Table table) {
        Map<String, Chain> chainByName = new HashMap<>();
        for (Chain c : table.chains()) {
            chainByName.put(c.name(), c);
        }
        Map<String, String[]> jumpsByChain = new HashMap<>();
        Map<String, Integer> hooks = new HashMap<>();
        for (Chain c : table.builtinChains()) {
            visit(chainByName, jumpsByChain, c.name(), Hook.valueOf(c.name()).bit(), hooks, new java.util.HashSet<>());
        }
        return hooks;
    }

    private static void visit(Map<String, Chain> chainByName, Map<String, String[]> jumpsByChain, String chain,
                              int hook, Map<String, Integer> hooks, java.util.Set<String> onPath) {
        if (onPath.contains(chain)) {
            throw XtablesException.kernel("Too many levels of symbolic links");
        }
        int have = hooks.getOrDefault(chain, 0);
        if ((have & hook) != 0) {
            return;
        }
        hooks.put(chain, have | hook);
        onPath.add(chain);
        for (String target : jumpsByChain.computeIfAbsent(chain, n -> jumps(chainByName, chainByName.get(n)))) {
            visit(chainByName, jumpsByChain, target, hook, hooks, onPath);
        }
        onPath.remove(chain);
    }

    /** The chains {@code chain} jumps or goes to that exist, each once, up to its first unconditional verdict. */
    private static String[] jumps(Map<String, Chain> chainByName, Chain chain) {
        String[] all = chain.rules().jumpTargets().clone();
        int n = 0;
        for (String t : all) {
            if (chainByName.containsKey(t)) {
                all[n++] = t;
            }
        }
        return n == all.length ? all : java.util.Arrays.copyOf(all, n);
    }
}
