package org.jnetfilter.core.rules;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A table being changed by many appends in a row (a restore file): chain lookups by hash and appends
 * in amortised O(1), turned into an immutable {@link Table} once at the end. Single thread.
 */
public final class TableBuilder {
    private final Table base;
    private final Map<String, Chain> chainByName = new HashMap<>();
    private final Map<String, RuleList> changed = new LinkedHashMap<>();

    public TableBuilder(Table base) {
        this.base = base;
        for (Chain c : base.chains()) {
            chainByName.put(c.name(), c);
        }
    }

    /** The chain as the base table has it (appends made here are not in it), or null. */
    public Chain chain(String name) {
        return chainByName.get(name);
    }

    public void append(String chain, Rule rule) {
        RuleList l = changed.get(chain);
        if (l == null) {
            l = chainByName.get(chain).rules();
        }
        changed.put(chain, l.appending(rule));
    }

    public boolean isChanged() {
        return !changed.isEmpty();
    }

    public Table build() {
        Table t = base;
        for (Map.Entry<String, RuleList> e : changed.entrySet()) {
            t = t.with(chainByName.get(e.getKey()).withRules(e.getValue()));
        }
        return t;
    }
}
