package org.jnetfilter.core.classify;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;

/**
 * One chain compiled for lookup: its rules' entries ({@link RuleShape}) in a few hash tables
 * ({@link TupleTable}), searched for "the first rule after order key p whose indexed fields match
 * the packet". Rules have order keys that grow with their position, with gaps ({@link #GAP}) so a
 * rule inserted later gets a key between its neighbours'.
 *
 * <pre>
 * next(packet, after p):
 *   best = none
 *   for table in tables, by least order key:       (TupleMerge's priority order)
 *     if table.minKey >= best: stop                 (no table left can hold an earlier rule)
 *     if table.maxKey <= p: skip
 *     bucket = table[hash(packet masked by table's tuple)]
 *     best = first entry in bucket with p < key < best that matches the packet
 * </pre>
 *
 * <p>Placement (TupleMerge's online insertion): an entry goes to the first table, in creation
 * order, whose tuple it fits and whose bucket for it holds fewer than {@link #COLLISION_LIMIT}
 * entries; else to a new table with its own tuple relaxed ({@link TupleTable.Tuple#relaxed}), or,
 * if that one exists and is full there, with its exact tuple; past that the bucket grows.
 *
 * <p>Changes ({@link #derive}): the rules that differ from the previous classifier's (by identity,
 * between the common head and tail of the two lists) leave and enter their buckets; every other
 * bucket, and every untouched table, is shared. Only the order-key array (8 bytes a rule) and the
 * slot arrays of the tables touched are copied.
 *
 * <p>Immutable; any number of packet threads may search it. {@link #next} allocates nothing.
 */
final class ChainClassifier {
    /** Order keys of a fresh compile are (i + 1) * GAP: room for about 20 insertions in one gap. */
    static final long GAP = 1L << 20;
    /**
     * TupleMerge's collision limit: entries a bucket takes before a new table is made instead. With 8,
     * ClassBench ipc1 10k needed 86 tables; with 32 (and the relaxation of {@link TupleTable.Tuple#relaxed})
     * 28, and a lookup took half the time.
     */
    static final int COLLISION_LIMIT = 32;
    /**
     * Chains up to this size are no hash tables but their entries in order: a lookup is one scan of
     * them, cheaper than hashing for several tables, and the chain costs its entries and two arrays (a
     * Kubernetes node has tens of thousands of two- and three-rule chains: tables for each were a third
     * of its classifiers' memory). A change compiles them again.
     */
    static final int SMALL_CHAIN = 8;
    /** Changes beyond this many rules, or an eighth of the chain, recompile instead. */
    static final int MAX_DELTA = 4096;
    private static final TupleTable[] NO_TABLES = new TupleTable[0];

    private final Family family;
    /** The rules, in chain order (for diffs against the next generation). */
    final Rule[] rules;
    /** The order key of each rule. */
    final long[] keys;
    final TupleTable[] tables;
    /** A small chain's entries in order of their keys (and no tables); null for a chain in tables. */
    private final Entry[] scan;

    private ChainClassifier(Family family, Rule[] rules, long[] keys, TupleTable[] tables, Entry[] scan) {
        this.family = family;
        this.rules = rules;
        this.keys = keys;
        this.tables = tables;
        this.scan = scan;
    }

    int size() {
        return rules.length;
    }

    /** The rule number (from 1, as -L --line-numbers) of the rule with order key {@code key}. */
    int number(long key) {
        int i = Arrays.binarySearch(keys, key);
        if (i < 0) {
            throw new IllegalStateException("no rule with order key " + key);
        }
        return i + 1;
    }

    /** The matching entry with the least order key above {@code after}, or null. */
    Entry next(PacketKey k, long mark, long after) {
        Entry[] entries = scan;
        if (entries != null) {
            for (Entry e : entries) {
                if (e.key > after && e.matches(k, mark)) {
                    return e;
                }
            }
            return null;
        }
        Entry best = null;
        long bound = Long.MAX_VALUE;
        for (TupleTable t : tables) {
            if (t.minKey >= bound) {
                break;
            }
            if (t.maxKey <= after) {
                continue;
            }
            Entry e = t.first(k, mark, after, bound);
            if (e != null) {
                best = e;
                bound = e.key;
            }
        }
        return best;
    }

    /** Compiles {@code list} from scratch. */
    static ChainClassifier compile(RuleList list, Family family) {
        int n = list.size();
        Rule[] rules = list.toArray(new Rule[0]);
        long[] keys = new long[n];
        if (n <= SMALL_CHAIN) {
            List<Entry> entries = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                keys[i] = (i + 1) * GAP;
                entries.addAll(Arrays.asList(RuleShape.entries(rules[i], keys[i])));
            }
            return new ChainClassifier(family, rules, keys, NO_TABLES, entries.toArray(new Entry[0]));
        }
        Placement p = new Placement(family, List.of());
        for (int i = 0; i < n; i++) {
            keys[i] = (i + 1) * GAP;
            for (Entry e : RuleShape.entries(rules[i], keys[i])) {
                p.place(e);
            }
        }
        return new ChainClassifier(family, rules, keys, p.done(), null);
    }

    /**
     * The classifier of {@code list}, made from this one (the classifier of an earlier version of the
     * chain) by moving only the rules that differ; a compile from scratch when too much changed.
     */
    ChainClassifier derive(RuleList list) {
        int n = list.size();
        int on = rules.length;
        int head = 0;
        while (head < n && head < on && list.get(head) == rules[head]) {
            head++;
        }
        int tail = 0;
        while (tail < n - head && tail < on - head && list.get(n - 1 - tail) == rules[on - 1 - tail]) {
            tail++;
        }
        int removed = on - head - tail;
        int added = n - head - tail;
        if (removed == 0 && added == 0) {
            return this;
        }
        if (scan != null || n <= SMALL_CHAIN || removed + added > Math.max(64, Math.min(MAX_DELTA, n / 8))) {
            return compile(list, family);
        }
        long lo = head > 0 ? keys[head - 1] : 0;
        long hi = tail > 0 ? keys[on - tail] : lo + (added + 1) * GAP;
        long step = (hi - lo) / (added + 1);
        if (added > 0 && step == 0) {
            return compile(list, family);
        }
        Rule[] newRules = new Rule[n];
        long[] newKeys = new long[n];
        System.arraycopy(rules, 0, newRules, 0, head);
        System.arraycopy(keys, 0, newKeys, 0, head);
        System.arraycopy(rules, on - tail, newRules, n - tail, tail);
        System.arraycopy(keys, on - tail, newKeys, n - tail, tail);
        Placement p = new Placement(family, Arrays.asList(tables));
        for (int j = head; j < on - tail; j++) {
            for (Entry e : RuleShape.entries(rules[j], keys[j])) {
                p.remove(e);
            }
        }
        for (int k = 0; k < added; k++) {
            int i = head + k;
            newRules[i] = list.get(i);
            newKeys[i] = lo + step * (k + 1);
            for (Entry e : RuleShape.entries(newRules[i], newKeys[i])) {
                p.place(e);
            }
        }
        return new ChainClassifier(family, newRules, newKeys, p.done(), null);
    }

    /** Bytes held by this classifier: entries, tables, rule and key arrays (not the rules themselves). */
    long footprintBytes() {
        long b = 32 + 16 + rules.length * 4L + 16 + keys.length * 8L + 16 + tables.length * 4L;
        Map<Entry, Boolean> seen = new IdentityHashMap<>();
        for (TupleTable t : tables) {
            b += t.footprintBytes();
        }
        for (TupleTable t : tables) {
            t.forEachEntry(e -> seen.put(e, Boolean.TRUE));
        }
        if (scan != null) {
            b += 16 + scan.length * 4L;
            for (Entry e : scan) {
                seen.put(e, Boolean.TRUE);
            }
        }
        // an Entry: 112 bytes (see its layout note), and its IPv6 high halves when it has them
        for (Entry e : seen.keySet()) {
            b += e.wide == null ? 112 : 112 + 48;
        }
        return b;
    }

    /** Tables in search order, for tests and figures. */
    int tableCount() {
        return tables.length;
    }

    /** Entry placement over a set of tables, editing them copy-on-write. */
    private static final class Placement {
        private final Family family;
        private final List<TupleTable.Editor> editors = new ArrayList<>();

        Placement(Family family, List<TupleTable> tables) {
            this.family = family;
            for (TupleTable t : tables) {
                editors.add(t.edit());
            }
        }

        void place(Entry e) {
            for (TupleTable.Editor ed : editors) {
                if (ed.tuple().fits(e) && ed.bucketSize(ed.hashOf(e)) < COLLISION_LIMIT) {
                    ed.add(e);
                    return;
                }
            }
            TupleTable.Tuple own = TupleTable.Tuple.of(e, family);
            TupleTable.Tuple relaxed = own.relaxed();
            TupleTable.Editor ed = editor(relaxed);
            if (ed == null) {
                ed = newEditor(relaxed);
            } else {
                TupleTable.Editor exact = editor(own);
                ed = exact != null ? exact : newEditor(own);
            }
            ed.add(e);
        }

        void remove(Entry e) {
            for (TupleTable.Editor ed : editors) {
                if (ed.tuple().fits(e)) {
                    ed.remove(e, e.key);
                }
            }
        }

        private TupleTable.Editor editor(TupleTable.Tuple t) {
            for (TupleTable.Editor ed : editors) {
                if (ed.tuple().equals(t)) {
                    return ed;
                }
            }
            return null;
        }

        private TupleTable.Editor newEditor(TupleTable.Tuple t) {
            TupleTable.Editor ed = TupleTable.empty(t).edit();
            editors.add(ed);
            return ed;
        }

        TupleTable[] done() {
            List<TupleTable> out = new ArrayList<>();
            for (TupleTable.Editor ed : editors) {
                TupleTable t = ed.done();
                if (t.entries > 0) {
                    out.add(t);
                }
            }
            out.sort(Comparator.comparingLong(t -> t.minKey));
            return out.toArray(new TupleTable[0]);
        }
    }
}
