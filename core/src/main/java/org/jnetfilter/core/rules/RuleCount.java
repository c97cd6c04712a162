package org.jnetfilter.core.rules;

import java.lang.ref.WeakReference;
import java.util.List;
import java.util.function.Predicate;

/**
 * How many rules of a table satisfy a predicate, kept up to date through the table's generations instead
 * of counted again: the count of a table is that of the last table of the same family and kind asked
 * about, plus what the chains that differ between the two ({@link Table#forEachChange}, shared subtrees
 * skipped) gain and lose, each changed chain through its list's edits when the list remembers them
 * ({@link RuleList#editsSince}) and counted whole when not (a restore, another ruleset). A publication
 * then costs its change, not the ruleset: the datapath asks at each one whether any rule needs conntrack,
 * connection accounting, labels or defragmentation, and a Kubernetes node has 160k rules in 60k chains.
 *
 * <p>One per owner of a lineage of generations (a datapath, a hook module of one): the memory is of the last
 * table asked about, so a count shared by two datapaths publishing in turn would count every rule at each
 * publication, each one's last table unrelated to the other's.
 *
 * <p>Threads: any; the memory of the last table is guarded by this object. Not for the packet path.
 */
public final class RuleCount {
    private final Predicate<Rule> predicate;
    /** The last table counted per family and table kind (held weakly) and its count. */
    private final Last[][] last = new Last[Family.values().length][TableKind.values().length];

    private record Last(WeakReference<Table> table, long count) {
    }

    public RuleCount(Predicate<Rule> predicate) {
        this.predicate = predicate;
    }

    /** The number of rules of {@code table}, in every chain, that satisfy the predicate. */
    public synchronized long in(Table table) {
        Last[] byKind = last[table.family().ordinal()];
        Last l = byKind[table.kind().ordinal()];
        Table earlier = l == null ? null : l.table.get();
        if (earlier == table) {
            return l.count;
        }
        long count;
        if (earlier == null) {
            count = 0;
            for (Chain c : table.chains()) {
                count += count(c.rules());
            }
        } else {
            long[] n = {l.count};
            table.forEachChange(earlier, (before, after) -> n[0] += change(before, after));
            count = n[0];
        }
        byKind[table.kind().ordinal()] = new Last(new WeakReference<>(table), count);
        return count;
    }

    /** Whether any rule of any table of {@code rules} satisfies the predicate. */
    public boolean anyIn(Ruleset rules) {
        for (Table t : rules.tables()) {
            if (in(t) > 0) {
                return true;
            }
        }
        return false;
    }

    /** What the count gains from chain {@code before} (null: added) becoming {@code after} (null: removed). */
    private long change(Chain before, Chain after) {
        if (before == null) {
            return count(after.rules());
        }
        if (after == null) {
            return -count(before.rules());
        }
        List<RuleList.Edit> edits = after.rules().editsSince(before.rules());
        if (edits == null) {
            return count(after.rules()) - count(before.rules());
        }
        long n = 0;
        for (RuleList.Edit e : edits) {
            if (e.removed() != null && predicate.test(e.removed())) {
                n--;
            }
            if (e.added() != null && predicate.test(e.added())) {
                n++;
            }
        }
        return n;
    }

    private long count(RuleList rules) {
        long[] n = {0};
        rules.forEach(r -> {
            if (predicate.test(r)) {
                n[0]++;
            }
        });
        return n[0];
    }
}
