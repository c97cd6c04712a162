package org.jnetfilter.core.classify;

import java.lang.ref.WeakReference;
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
 * rule inserted later gets a key between its neighbours' (when insertions at one spot used a gap up,
 * the keys of a few rules around it are spread again: {@link #respread}).
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
 * <p>Changes ({@link #derive}): the rule list records the edits that made it from the list the
 * classifier was made for ({@link RuleList#editsSince}, up to 32 back); each edit's rules leave and enter
 * their buckets, at the position the edit names, so a change costs the change, not the chain. Rules and
 * order keys sit in a persistent chunked list ({@link RuleKeys}) and buckets in chunked tables: a change
 * copies the chunks it touches and the spines, every other chunk, bucket and table is shared. When the
 * lineage is lost (more than 32 edits back, a restore, another list) the common head and tail of the two
 * lists are found by comparing rule identities, once, and the rules between them move.
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
     * them, cheaper than hashing for several tables, and the chain costs its entries and one array (a
     * Kubernetes node has tens of thousands of two- and three-rule chains: tables for each were a third
     * of its classifiers' memory). A change compiles them again, so their keys are always (i + 1) * GAP
     * and they keep neither their rules nor their keys.
     */
    static final int SMALL_CHAIN = 8;
    /** Changes beyond this many rules, or an eighth of the chain, recompile instead. */
    static final int MAX_DELTA = 4096;
    private static final TupleTable[] NO_TABLES = new TupleTable[0];

    private final Family family;
    private final int size;
    /** The rules and their order keys in chain order; null for a small chain. */
    private final RuleKeys ruleKeys;
    /**
     * The list this classifier was made for, to find the edits to a later one; held weakly (the cache
     * holds lists weakly and its classifiers strongly). Null for a small chain.
     */
    private final WeakReference<RuleList> source;
    final TupleTable[] tables;
    /** A small chain's entries in order of their keys (and no tables); null for a chain in tables. */
    private final Entry[] scan;

    private ChainClassifier(Family family, int size, RuleKeys ruleKeys, RuleList source, TupleTable[] tables,
                            Entry[] scan) {
        this.family = family;
        this.size = size;
        this.ruleKeys = ruleKeys;
        this.source = source == null ? null : new WeakReference<>(source);
        this.tables = tables;
        this.scan = scan;
    }

    int size() {
        return size;
    }

    /** The rule at position {@code index} (from 0), for tests. */
    Rule rule(int index) {
        return ruleKeys.rule(index);
    }

    /** How many chunks of rules and keys this classifier shares with {@code other}, for tests. */
    int chunksSharedWith(ChainClassifier other) {
        return ruleKeys.chunksSharedWith(other.ruleKeys);
    }

    /** The order key of the rule at position {@code index} (from 0). */
    long key(int index) {
        if (ruleKeys == null) {
            java.util.Objects.checkIndex(index, size);
            return (index + 1) * GAP;
        }
        return ruleKeys.key(index);
    }

    /** The rule number (from 1, as -L --line-numbers) of the rule with order key {@code key}. */
    int number(long key) {
        int i = ruleKeys == null ? (key % GAP == 0 && key > 0 && key / GAP <= size ? (int) (key / GAP) - 1 : -1)
                : ruleKeys.indexOfKey(key);
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
        if (n <= SMALL_CHAIN) {
            List<Entry> entries = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                entries.addAll(Arrays.asList(RuleShape.entries(rules[i], (i + 1) * GAP)));
            }
            return new ChainClassifier(family, n, null, null, NO_TABLES, entries.toArray(new Entry[0]));
        }
        long[] keys = new long[n];
        Placement p = new Placement(family, NO_TABLES);
        for (int i = 0; i < n; i++) {
            keys[i] = (i + 1) * GAP;
            for (Entry e : RuleShape.entries(rules[i], keys[i])) {
                p.place(e);
            }
        }
        return new ChainClassifier(family, n, RuleKeys.of(rules, keys, n), list, p.done(), null);
    }

    /**
     * The classifier of {@code list}, made from this one (the classifier of an earlier version of the
     * chain) by moving only the rules that differ; a compile from scratch when too much changed, or for
     * a small chain.
     */
    ChainClassifier derive(RuleList list) {
        int n = list.size();
        if (scan != null || n <= SMALL_CHAIN) {
            return compile(list, family);
        }
        RuleList from = source.get();
        if (from == list) {
            return this;
        }
        int limit = Math.max(64, Math.min(MAX_DELTA, n / 8));
        List<RuleList.Edit> edits = from == null ? null : list.editsSince(from);
        ChainClassifier c;
        if (edits != null) {
            c = edits.size() > limit ? null : applying(edits, list, limit);
        } else {
            c = rediffing(list, limit);
        }
        return c != null ? c : compile(list, family);
    }

    /** Applies {@code edits} (as {@link RuleList#editsSince} gives them); null when a compile is needed. */
    private ChainClassifier applying(List<RuleList.Edit> edits, RuleList list, int limit) {
        RuleKeys.Editor rk = ruleKeys.edit();
        Placement p = new Placement(family, tables);
        for (RuleList.Edit e : edits) {
            int i = e.index();
            if (e.removed() != null) {
                if (i >= rk.size() || rk.rule(i) != e.removed()) {
                    // the lineage does not describe these rules: never expected, but a compile is always right
                    return null;
                }
                long key = rk.key(i);
                p.removeAll(e.removed(), key);
                if (e.added() != null) {
                    // -R: the new rule takes the old one's place and key
                    p.placeAll(e.added(), key);
                    rk.set(i, e.added(), key);
                } else {
                    rk.remove(i);
                }
                continue;
            }
            long lo = i > 0 ? rk.key(i - 1) : 0;
            long key;
            if (i < rk.size()) {
                long hi = rk.key(i);
                key = hi - lo >= 2 ? lo + (hi - lo) / 2 : respread(rk, p, i, limit);
                if (key < 0) {
                    return null;
                }
            } else {
                if (lo > Long.MAX_VALUE - GAP) {
                    return null;
                }
                key = lo + GAP;
            }
            p.placeAll(e.added(), key);
            rk.insert(i, e.added(), key);
        }
        if (rk.size() != list.size()) {
            throw new IllegalStateException("edits of " + list.size() + " rules left the classifier " + rk.size());
        }
        return new ChainClassifier(family, rk.size(), rk.done(), list, p.done(), null);
    }

    /** Keys a respread leaves between neighbours at least: room for about 14 more insertions in one gap. */
    static final long ROOM = GAP >> 6;

    /**
     * Room for an insertion before position {@code i} whose neighbours' keys are adjacent (about 20
     * insertions at one spot halved their gap away): the rules of a window around {@code i} get keys
     * spread evenly between the keys that bound the window, leaving one free at {@code i}, and their
     * entries move to them; the window doubles until the keys are at least {@link #ROOM} apart. Returns
     * the key for the insertion, or -1 when the window would grow past {@code limit} rules (a compile).
     */
    private static long respread(RuleKeys.Editor rk, Placement p, int i, int limit) {
        int n = rk.size();
        for (int w = 8; w <= limit; w *= 2) {
            int a = Math.max(0, i - w);
            int b = Math.min(n, i + w);
            int m = b - a + 1;
            long lo = a > 0 ? rk.key(a - 1) : 0;
            if (b == n && lo > Long.MAX_VALUE - (m + 1) * GAP) {
                return -1;
            }
            // a window reaching the end of the chain has no key above it to stay under
            long hi = b < n ? rk.key(b) : lo + (m + 1) * GAP;
            long step = (hi - lo) / (m + 1);
            if (step < ROOM) {
                continue;
            }
            // every rule of the window leaves before any takes its new key (a new key may be another's old one)
            Rule[] moved = new Rule[b - a];
            for (int j = a; j < b; j++) {
                moved[j - a] = rk.rule(j);
                p.removeAll(moved[j - a], rk.key(j));
            }
            for (int j = a; j < b; j++) {
                long key = lo + step * (j - a + (j >= i ? 2 : 1));
                p.placeAll(moved[j - a], key);
                rk.set(j, moved[j - a], key);
            }
            return lo + step * (i - a + 1);
        }
        return -1;
    }

    /**
     * The lineage is lost: the rules between the common head and tail of the two lists (by identity) move,
     * the new ones spread evenly over the keys between their neighbours'; null when a compile is needed.
     */
    private ChainClassifier rediffing(RuleList list, int limit) {
        int n = list.size();
        int on = size;
        int head = 0;
        while (head < n && head < on && list.get(head) == ruleKeys.rule(head)) {
            head++;
        }
        int tail = 0;
        while (tail < n - head && tail < on - head && list.get(n - 1 - tail) == ruleKeys.rule(on - 1 - tail)) {
            tail++;
        }
        int removed = on - head - tail;
        int added = n - head - tail;
        if (removed == 0 && added == 0) {
            return new ChainClassifier(family, size, ruleKeys, list, tables, null);
        }
        if (removed + added > limit) {
            return null;
        }
        long lo = head > 0 ? ruleKeys.key(head - 1) : 0;
        long hi = tail > 0 ? ruleKeys.key(on - tail) : lo + (added + 1) * GAP;
        long step = (hi - lo) / (added + 1);
        if (added > 0 && step == 0) {
            return null;
        }
        RuleKeys.Editor rk = ruleKeys.edit();
        Placement p = new Placement(family, tables);
        for (int j = 0; j < removed; j++) {
            p.removeAll(rk.rule(head), rk.key(head));
            rk.remove(head);
        }
        for (int k = 0; k < added; k++) {
            Rule r = list.get(head + k);
            long key = lo + step * (k + 1);
            p.placeAll(r, key);
            rk.insert(head + k, r, key);
        }
        return new ChainClassifier(family, n, rk.done(), list, p.done(), null);
    }

    /** Bytes held by this classifier: entries, tables, rule and key arrays (not the rules themselves). */
    long footprintBytes() {
        long b = 40 + (tables.length == 0 ? 0 : 16 + tables.length * 4L);
        if (ruleKeys != null) {
            // the rules, keys and the weak reference to the source list
            b += ruleKeys.footprintBytes() + 32;
        }
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

    /**
     * Entry placement over a set of tables, editing them copy-on-write: a table gets an editor when an
     * entry enters or leaves it, so a change costs the tables it touches (a chain may have dozens).
     */
    private static final class Placement {
        private final Family family;
        private final TupleTable[] base;
        /** Editors of base tables, by index; null while untouched. */
        private final TupleTable.Editor[] editors;
        /** Editors of the tables made by this placement. */
        private final List<TupleTable.Editor> added = new ArrayList<>();

        Placement(Family family, TupleTable[] tables) {
            this.family = family;
            this.base = tables;
            this.editors = new TupleTable.Editor[tables.length];
        }

        void placeAll(Rule rule, long key) {
            for (Entry e : RuleShape.entries(rule, key)) {
                place(e);
            }
        }

        void removeAll(Rule rule, long key) {
            for (Entry e : RuleShape.entries(rule, key)) {
                remove(e);
            }
        }

        void place(Entry e) {
            for (int j = 0; j < base.length; j++) {
                TupleTable t = base[j];
                if (t.tuple.fits(e)) {
                    long h = t.hashOf(e);
                    TupleTable.Editor ed = editors[j];
                    if ((ed != null ? ed.bucketSize(h) : t.bucketSize(h)) < COLLISION_LIMIT) {
                        editor(j).add(e);
                        return;
                    }
                }
            }
            for (TupleTable.Editor ed : added) {
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
            for (int j = 0; j < base.length; j++) {
                TupleTable t = base[j];
                if (t.tuple.fits(e) && (editors[j] != null || t.holds(t.hashOf(e), e.key))) {
                    editor(j).remove(e, e.key);
                }
            }
            for (TupleTable.Editor ed : added) {
                if (ed.tuple().fits(e)) {
                    ed.remove(e, e.key);
                }
            }
        }

        private TupleTable.Editor editor(int j) {
            TupleTable.Editor ed = editors[j];
            if (ed == null) {
                ed = base[j].edit();
                editors[j] = ed;
            }
            return ed;
        }

        /** The editor of the table of tuple {@code t}, made on demand for a base table; null when none. */
        private TupleTable.Editor editor(TupleTable.Tuple t) {
            for (int j = 0; j < base.length; j++) {
                if (base[j].tuple.equals(t)) {
                    return editor(j);
                }
            }
            for (TupleTable.Editor ed : added) {
                if (ed.tuple().equals(t)) {
                    return ed;
                }
            }
            return null;
        }

        private TupleTable.Editor newEditor(TupleTable.Tuple t) {
            TupleTable.Editor ed = TupleTable.empty(t).edit();
            added.add(ed);
            return ed;
        }

        /** The tables in search order (least order key first), empty ones dropped. */
        TupleTable[] done() {
            List<TupleTable> out = new ArrayList<>(base.length + added.size());
            boolean changed = !added.isEmpty();
            for (int j = 0; j < base.length; j++) {
                TupleTable t = editors[j] == null ? base[j] : editors[j].done();
                changed |= t != base[j];
                if (t.entries > 0) {
                    out.add(t);
                }
            }
            if (!changed) {
                return base;
            }
            for (TupleTable.Editor ed : added) {
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
