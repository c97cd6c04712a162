package org.jnetfilter.core.rules;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A table being changed by many chain lines and appends in a row (a restore file): chain lookups by hash,
 * new chains and appends in amortised O(1), turned into an immutable {@link Table} once at the end, with
 * the same chains and rules as the same changes made one by one on immutable tables. Single thread (the
 * build of a large table makes its chains' lists on all cores).
 *
 * <p>A chain that is not changed here keeps its identity in the built table (the table checks and the
 * journal diff compare chains by identity).
 */
public final class TableBuilder {
    private final Table base;
    private final Map<String, Slot> slotByName = new HashMap<>();
    private final List<Slot> changed = new ArrayList<>();

    /** One chain: as the base table (or a put) has it, plus what was appended since. */
    private static final class Slot {
        Chain chain;
        Rule[] appended;
        int appendedCount;
        boolean changed;

        Slot(Chain chain) {
            this.chain = chain;
        }
    }

    public TableBuilder(Table base) {
        this.base = base;
    }

    /** The slot of a chain, made on first use from the base table (a delta touches a few of 60k chains); or null. */
    private Slot slot(String name) {
        Slot s = slotByName.get(name);
        if (s == null) {
            Chain c = base.chain(name);
            s = c != null ? new Slot(c) : ABSENT;
            // a miss is remembered too: a delta's new chain is looked up by its chain line, then put
            slotByName.put(name, s);
        }
        return s == ABSENT ? null : s;
    }

    /** The slot of a name the base table has no chain of (a lookup in 60k chains is not free). */
    private static final Slot ABSENT = new Slot(null);

    /**
     * The chain as it stands, without the rules appended here (name, kind, policy and policy counters are
     * current), or null.
     */
    public Chain chain(String name) {
        Slot s = slot(name);
        return s == null ? null : s.chain;
    }

    private void markChanged(Slot s) {
        if (!s.changed) {
            s.changed = true;
            changed.add(s);
        }
    }

    /** Adds a new user chain, or puts {@code chain} (with its rules, dropping appends) in place of the old one. */
    public void put(Chain chain) {
        Slot s = slot(chain.name());
        if (s == null) {
            s = new Slot(chain);
            slotByName.put(chain.name(), s);
        } else {
            s.chain = chain;
            s.appended = null;
            s.appendedCount = 0;
        }
        markChanged(s);
    }

    /** Sets the policy of a built-in chain, keeping its rules and the appends made here. */
    public void policy(String chain, String policy, Counters counters) {
        Slot s = slot(chain);
        s.chain = s.chain.withPolicy(policy, counters);
        markChanged(s);
    }

    public void append(String chain, Rule rule) {
        Slot s = slot(chain);
        if (s.appended == null) {
            s.appended = new Rule[4];
        } else if (s.appendedCount == s.appended.length) {
            s.appended = Arrays.copyOf(s.appended, s.appendedCount * 2);
        }
        s.appended[s.appendedCount++] = rule;
        markChanged(s);
    }

    public boolean isChanged() {
        return !changed.isEmpty();
    }

    /** Changed chains from which their rule lists are made on all cores (a restore's 60k chains). */
    private static final int PARALLEL_FROM = 4096;

    public Table build() {
        Chain[] chains = new Chain[changed.size()];
        java.util.function.IntConsumer make = i -> chains[i] = built(changed.get(i));
        if (chains.length >= PARALLEL_FROM) {
            // each chain's list depends on its own slot only
            java.util.stream.IntStream.range(0, chains.length).parallel().forEach(make);
        } else {
            for (int i = 0; i < chains.length; i++) {
                make.accept(i);
            }
        }
        return base.withAll(Arrays.asList(chains));
    }

    private static Chain built(Slot s) {
        Chain c = s.chain;
        if (s.appendedCount == 0) {
            return c;
        }
        RuleList rules = c.rules();
        if (rules.isEmpty()) {
            rules = RuleList.of(Arrays.asList(s.appended).subList(0, s.appendedCount));
            // the table's check and its snapshot ask every changed chain for its jump summary: made here,
            // while the rules just appended are in cache and the build runs on all cores (a restore's 60k
            // chains), not in a pass of its own
            rules.jumpTargets();
        } else {
            for (int i = 0; i < s.appendedCount; i++) {
                rules = rules.appending(s.appended[i]);
            }
        }
        return c.withRules(rules);
    }
}
