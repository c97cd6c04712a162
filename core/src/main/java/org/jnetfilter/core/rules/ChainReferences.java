package org.jnetfilter.core.rules;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The rules of a table that jump or go to each chain, by the chain they sit in: libiptc's reference counts
 * (-L's "(N references)", -X's "chain in use") and the chains -E rewrites. Persistent: a table made from
 * another by a change carries these through the change (the rules that came or went), so one command costs
 * the rules it touched, not the table. Counted once from the rules when a table is first asked.
 *
 * <p>Per target: the rule count and the referring chains, a chain's name when one chain holds them all (most
 * chains of a node: a service chain is jumped to from KUBE-SERVICES only), else a map to each one's count.
 */
final class ChainReferences {
    static final ChainReferences NONE = new ChainReferences(NameMap.empty());

    private record Entry(int rules, Object referrers) {
    }

    private final NameMap<Entry> byTarget;

    private ChainReferences(NameMap<Entry> byTarget) {
        this.byTarget = byTarget;
    }

    /** Counted from every rule of {@code table}. */
    static ChainReferences count(Table table) {
        Map<String, Map<String, Integer>> byTarget = new HashMap<>();
        for (Chain c : table.chains()) {
            for (Rule r : c.rules()) {
                String target = r.jumpChain();
                if (target != null) {
                    byTarget.computeIfAbsent(target, k -> new HashMap<>(2)).merge(c.name(), 1, Integer::sum);
                }
            }
        }
        List<String> targets = new ArrayList<>(byTarget.keySet());
        targets.sort(null);
        return new ChainReferences(NameMap.fromSorted(targets.size(), targets::get, i -> {
            Map<String, Integer> by = byTarget.get(targets.get(i));
            int rules = 0;
            for (int n : by.values()) {
                rules += n;
            }
            if (by.size() == 1) {
                return new Entry(rules, by.keySet().iterator().next());
            }
            List<String> names = new ArrayList<>(by.keySet());
            names.sort(null);
            return new Entry(rules, NameMap.fromSorted(names.size(), names::get, k -> by.get(names.get(k))));
        }));
    }

    int count(String target) {
        Entry e = byTarget.get(target);
        return e == null ? 0 : e.rules;
    }

    /** The chains holding rules that jump or go to {@code target}, in name order. */
    @SuppressWarnings("unchecked")
    void forEachReferrer(String target, Consumer<String> action) {
        Entry e = byTarget.get(target);
        if (e == null) {
            return;
        }
        if (e.referrers instanceof String only) {
            action.accept(only);
        } else {
            ((NameMap<Integer>) e.referrers).forEach((name, n) -> action.accept(name));
        }
    }

    /** With {@code delta} more (or, negative, fewer) rules of chain {@code referrer} jumping to {@code target}. */
    @SuppressWarnings("unchecked")
    ChainReferences with(String referrer, String target, int delta) {
        Entry e = byTarget.get(target);
        int rules = (e == null ? 0 : e.rules) + delta;
        if (rules < 0) {
            throw new IllegalStateException("negative references to " + target + " from " + referrer);
        }
        if (rules == 0) {
            return new ChainReferences(byTarget.remove(target));
        }
        Object referrers;
        if (e == null) {
            referrers = referrer;
        } else if (e.referrers instanceof String only) {
            if (only.equals(referrer)) {
                referrers = only;
            } else {
                referrers = NameMap.<Integer>empty().put(only, e.rules).put(referrer, delta);
            }
        } else {
            NameMap<Integer> m = (NameMap<Integer>) e.referrers;
            Integer had = m.get(referrer);
            int n = (had == null ? 0 : had) + delta;
            m = n == 0 ? m.remove(referrer) : m.put(referrer, n);
            referrers = m;
            if (m.size() == 1) {
                String[] only = new String[1];
                m.forEach((name, k) -> only[0] = name);
                referrers = only[0];
            }
        }
        return new ChainReferences(byTarget.put(target, new Entry(rules, referrers)));
    }

    /** With the references of chain {@code name}'s rules {@code before} replaced by those of {@code after}. */
    ChainReferences replacing(String name, RuleList before, RuleList after) {
        ChainReferences r = this;
        if (before == after) {
            return r;
        }
        List<RuleList.Edit> edits = before == null || after == null ? null : after.editsSince(before);
        if (edits != null) {
            for (RuleList.Edit e : edits) {
                if (e.removed() != null && e.removed().jumpChain() != null) {
                    r = r.with(name, e.removed().jumpChain(), -1);
                }
                if (e.added() != null && e.added().jumpChain() != null) {
                    r = r.with(name, e.added().jumpChain(), 1);
                }
            }
            return r;
        }
        // a list replaced whole (a flush, -Z, a restore's chain): counted over both, the size of the change
        Map<String, Integer> delta = new HashMap<>();
        if (before != null) {
            for (Rule rule : before) {
                String t = rule.jumpChain();
                if (t != null) {
                    delta.merge(t, -1, Integer::sum);
                }
            }
        }
        if (after != null) {
            for (Rule rule : after) {
                String t = rule.jumpChain();
                if (t != null) {
                    delta.merge(t, 1, Integer::sum);
                }
            }
        }
        for (Map.Entry<String, Integer> d : delta.entrySet()) {
            if (d.getValue() != 0) {
                r = r.with(name, d.getKey(), d.getValue());
            }
        }
        return r;
    }
}
