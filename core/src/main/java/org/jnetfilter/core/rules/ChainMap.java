package org.jnetfilter.core.rules;

import java.util.List;
import java.util.function.Consumer;

/**
 * User chains by name, sorted as libiptc keeps them (byte order of the names): a {@link NameMap}, so put and
 * remove copy only a path and share the rest with the old map. A Kubernetes node has tens of thousands of
 * chains; copying a map per change would make a restore quadratic.
 */
final class ChainMap {
    private static final ChainMap EMPTY = new ChainMap(NameMap.empty());

    private final NameMap<Chain> byName;

    private ChainMap(NameMap<Chain> byName) {
        this.byName = byName;
    }

    static ChainMap empty() {
        return EMPTY;
    }

    /** A map of chains already in name order, built balanced in one pass. */
    static ChainMap fromSorted(List<Chain> sorted) {
        return new ChainMap(NameMap.fromSorted(sorted, Chain::name));
    }

    /** A map of {@code n} chains in name order, each made when first reached (see {@link NameMap#lazy}). */
    static ChainMap lazy(int n, java.util.function.IntFunction<String> name, java.util.function.IntFunction<Chain> chain) {
        return new ChainMap(NameMap.lazy(n, name, chain));
    }

    /**
     * Calls {@code action(before, after)} for each chain that differs between {@code earlier} and this
     * map (before null: added; after null: removed); shared subtrees are skipped unvisited.
     */
    void forEachChange(ChainMap earlier, java.util.function.BiConsumer<Chain, Chain> action) {
        byName.forEachChange(earlier.byName, (name, before, after) -> action.accept(before, after));
    }

    int size() {
        return byName.size();
    }

    Chain get(String key) {
        return byName.get(key);
    }

    ChainMap put(String key, Chain value) {
        return new ChainMap(byName.put(key, value));
    }

    ChainMap remove(String key) {
        NameMap<Chain> m = byName.remove(key);
        return m == byName ? this : new ChainMap(m);
    }

    /** Visits the chains in name order. */
    void forEach(Consumer<Chain> action) {
        byName.forEach((name, c) -> action.accept(c));
    }

    List<Chain> values() {
        return byName.values();
    }
}
