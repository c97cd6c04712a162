package org.jnetfilter.core.classify;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.concurrent.ConcurrentHashMap;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.RuleList;

/**
 * The compiled form of every chain in use, made on first use and kept as long as the chain's rule
 * list lives. Chains are immutable and a new generation shares the rule lists it did not change, so
 * a rule list is compiled once whatever the number of generations sharing it (a rename or a policy
 * change keeps the list, and so its classifier).
 *
 * <p>The cache holds rule lists weakly, by identity (a rule list is a value: equal lists of different
 * generations would be different keys anyway). A classifier never refers to its chain, and to its list
 * only weakly (to follow the list's edits later), so an entry goes when its generation is gone.
 *
 * <p>Updates: a list met for the first time is derived ({@link ChainClassifier#derive}) from the
 * classifier last made for a chain of the same family, table and name, when there is one; one
 * changed rule then costs a bucket and a chunk of rules and keys, not a compile. {@link #changed} does the same for a known pair
 * of versions (what {@link org.jnetfilter.core.rules.Table#forEachChange} reports).
 *
 * <p>Threads: lookups are lock-free; compiles are serialised. A packet thread that meets a chain
 * nobody prepared compiles it (a 50k-rule chain takes tens of milliseconds): the control plane
 * should call {@link ClassifiedWalk#prepare} when it publishes a generation.
 */
final class CompiledChains {
    private CompiledChains() {
    }

    private static final ConcurrentHashMap<Object, ChainClassifier> BY_RULES = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<String, WeakReference<ChainClassifier>> LAST_BY_NAME =
            new ConcurrentHashMap<>();
    private static final ReferenceQueue<RuleList> GONE = new ReferenceQueue<>();

    /** A weak key comparing its list by identity. */
    private static final class ListKey extends WeakReference<RuleList> {
        private final int hash;

        ListKey(RuleList list) {
            super(list, GONE);
            hash = System.identityHashCode(list);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            if (o == this) {
                return true;
            }
            if (o instanceof ListKey k) {
                RuleList mine = get();
                return mine != null && mine == k.get();
            }
            return o instanceof Probe p && p.list != null && p.list == get();
        }
    }

    /** A reusable, strong lookup key: one per thread (see {@link ClassifiedWalk}). */
    static final class Probe {
        RuleList list;

        @Override
        public int hashCode() {
            return System.identityHashCode(list);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ListKey k && k.get() == list;
        }
    }

    /** The classifier of {@code chain}, compiled or derived if needed; {@code lineage} names it for derivation. */
    static ChainClassifier of(Chain chain, Family family, String tableName, Probe probe) {
        RuleList list = chain.rules();
        probe.list = list;
        ChainClassifier c = BY_RULES.get(probe);
        probe.list = null;
        if (c != null) {
            return c;
        }
        return compile(list, family, family + "/" + tableName + "/" + chain.name(), null);
    }

    /**
     * Makes the classifier of {@code after} from that of {@code before} (a previous version of the same
     * chain), for a control plane that knows which chains a transaction changed.
     */
    static ChainClassifier changed(Chain before, Chain after, Family family, String tableName) {
        ChainClassifier previous = before == null ? null : cached(before.rules());
        return compile(after.rules(), family, family + "/" + tableName + "/" + after.name(), previous);
    }

    private static ChainClassifier cached(RuleList list) {
        Probe p = new Probe();
        p.list = list;
        return BY_RULES.get(p);
    }

    private static synchronized ChainClassifier compile(RuleList list, Family family, String lineage,
                                                        ChainClassifier previous) {
        ChainClassifier c = cached(list);
        if (c != null) {
            return c;
        }
        expunge();
        if (previous == null) {
            WeakReference<ChainClassifier> last = LAST_BY_NAME.get(lineage);
            previous = last == null ? null : last.get();
        }
        c = previous != null ? previous.derive(list) : ChainClassifier.compile(list, family);
        BY_RULES.put(new ListKey(list), c);
        if (list.size() > ChainClassifier.SMALL_CHAIN) {
            // a small chain is compiled again on change anyway: no lineage to remember (tens of thousands
            // of them on a Kubernetes node)
            LAST_BY_NAME.put(lineage, new WeakReference<>(c));
        }
        return c;
    }

    /** Compiles since the last sweep of {@link #LAST_BY_NAME}; guarded by the class lock. */
    private static int compilesSinceSweep;

    private static void expunge() {
        for (Object k; (k = GONE.poll()) != null; ) {
            BY_RULES.remove(k);
        }
        // a sweep visits every chain name: once per as many compiles as there are names (amortised O(1) a
        // compile; one update of a 60k-chain table must not visit 60k names)
        if (++compilesSinceSweep > LAST_BY_NAME.size() / 2 + 16) {
            compilesSinceSweep = 0;
            LAST_BY_NAME.values().removeIf(r -> r.get() == null);
        }
    }

    /** Forgets everything (tests and benchmarks that measure compiles). */
    static synchronized void clear() {
        BY_RULES.clear();
        LAST_BY_NAME.clear();
    }
}
