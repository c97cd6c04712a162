package org.jnetfilter.core.rules;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which hooks each chain of a table is reached from (mark_source_chains' comefrom bits), with the number of
 * jump edges that carry each hook into the chain: persistent, so the next generation's reach is this one
 * plus the change, whatever the size of the table.
 *
 * <p>Why the counts: when a jump goes, its target keeps a hook as long as another chain reached from that
 * hook still jumps to it. The jump graph of a table the kernel accepted has no loop among reached chains,
 * so a count that drops to zero means the hook is lost, and the loss is passed down the target's own jumps.
 * Chains reached from no hook are absent.
 */
public final class HookReach {
    private static final HookReach EMPTY = new HookReach(NameMap.empty());
    private static final int HOOKS = Hook.values().length;

    /** A chain's hook bits and, per hook, the jump edges from chains reached from it. */
    private record ChainReach(int mask, int[] support) {
    }

    private final NameMap<ChainReach> byChain;
    private volatile Map<String, Integer> masks;

    private HookReach(NameMap<ChainReach> byChain) {
        this.byChain = byChain;
    }

    public static HookReach empty() {
        return EMPTY;
    }

    /** The hook bits of {@code chain} ({@link Hook#bit()}), 0 when no hook reaches it. */
    public int mask(String chain) {
        ChainReach e = byChain.get(chain);
        return e == null ? 0 : e.mask;
    }

    /** Jump edges into {@code chain} from chains reached from {@code hook}. */
    public int support(String chain, Hook hook) {
        ChainReach e = byChain.get(chain);
        return e == null ? 0 : e.support[hook.ordinal()];
    }

    /** The masks as a read-only map of the reached chains (lookups O(log n)). */
    public Map<String, Integer> masks() {
        Map<String, Integer> m = masks;
        if (m == null) {
            masks = m = new MaskView(byChain);
        }
        return m;
    }

    /** Calls {@code action(chain, before, after)} for each chain whose mask differs from {@code earlier}'s. */
    public void forEachMaskChange(HookReach earlier, MaskChange action) {
        byChain.forEachChange(earlier.byChain, (name, before, after) -> {
            int b = before == null ? 0 : before.mask;
            int a = after == null ? 0 : after.mask;
            if (a != b) {
                action.changed(name, b, a);
            }
        });
    }

    public interface MaskChange {
        void changed(String chain, int before, int after);
    }

    /** An editor starting from this reach; {@link Editor#done} makes the new one, sharing what was not edited. */
    public Editor edit() {
        return new Editor(this);
    }

    /** Changes to a reach, kept aside until {@link #done}. Not thread-safe. */
    public static final class Editor {
        private final HookReach base;
        private final Map<String, ChainReach> changed = new HashMap<>();

        private Editor(HookReach base) {
            this.base = base;
        }

        private ChainReach entry(String chain) {
            ChainReach e = changed.get(chain);
            if (e == null && !changed.containsKey(chain)) {
                e = base.byChain.get(chain);
            }
            return e;
        }

        public int mask(String chain) {
            ChainReach e = entry(chain);
            return e == null ? 0 : e.mask;
        }

        public int support(String chain, int hookIndex) {
            ChainReach e = entry(chain);
            return e == null ? 0 : e.support[hookIndex];
        }

        /** Adds {@code delta} to the edges carrying hook {@code hookIndex} into {@code chain}; returns the new count. */
        public int addSupport(String chain, int hookIndex, int delta) {
            ChainReach e = entry(chain);
            int[] s = e == null ? new int[HOOKS] : e.support.clone();
            s[hookIndex] += delta;
            if (s[hookIndex] < 0) {
                throw new IllegalStateException("negative hook support of " + chain);
            }
            put(chain, e == null ? 0 : e.mask, s);
            return s[hookIndex];
        }

        public void setMask(String chain, int mask) {
            ChainReach e = entry(chain);
            put(chain, mask, e == null ? new int[HOOKS] : e.support);
        }

        public void remove(String chain) {
            changed.put(chain, null);
        }

        private void put(String chain, int mask, int[] support) {
            boolean none = mask == 0;
            for (int v : support) {
                none &= v == 0;
            }
            changed.put(chain, none ? null : new ChainReach(mask, support));
        }

        /** The chains edited so far. */
        public Set<String> edited() {
            return changed.keySet();
        }

        public HookReach done() {
            NameMap<ChainReach> m = base.byChain;
            for (Map.Entry<String, ChainReach> e : changed.entrySet()) {
                m = e.getValue() == null ? m.remove(e.getKey()) : m.put(e.getKey(), e.getValue());
            }
            return m == base.byChain ? base : new HookReach(m);
        }
    }

    /** A reach from full masks and supports (a table checked from scratch); lists in name order. */
    public static HookReach of(List<String> sortedChains, Map<String, Integer> maskByChain,
                               Map<String, int[]> supportByChain) {
        java.util.ArrayList<String> names = new java.util.ArrayList<>();
        for (String n : sortedChains) {
            if (maskByChain.getOrDefault(n, 0) != 0 || supportByChain.containsKey(n)) {
                names.add(n);
            }
        }
        return new HookReach(NameMap.fromSorted(names.size(), names::get, i -> {
            int[] s = supportByChain.get(names.get(i));
            return new ChainReach(maskByChain.getOrDefault(names.get(i), 0), s == null ? new int[HOOKS] : s);
        }));
    }

    private static final class MaskView extends AbstractMap<String, Integer> {
        private final NameMap<ChainReach> byChain;

        MaskView(NameMap<ChainReach> byChain) {
            this.byChain = byChain;
        }

        @Override
        public Integer get(Object key) {
            if (!(key instanceof String s)) {
                return null;
            }
            ChainReach e = byChain.get(s);
            return e == null || e.mask == 0 ? null : e.mask;
        }

        @Override
        public boolean containsKey(Object key) {
            return get(key) != null;
        }

        @Override
        public Set<Map.Entry<String, Integer>> entrySet() {
            return new AbstractSet<>() {
                @Override
                public Iterator<Map.Entry<String, Integer>> iterator() {
                    java.util.ArrayList<Map.Entry<String, Integer>> all = new java.util.ArrayList<>();
                    byChain.forEach((name, e) -> {
                        if (e.mask != 0) {
                            all.add(Map.entry(name, e.mask));
                        }
                    });
                    return java.util.Collections.unmodifiableList(all).iterator();
                }

                @Override
                public int size() {
                    int[] n = {0};
                    byChain.forEach((name, e) -> n[0] += e.mask != 0 ? 1 : 0);
                    return n[0];
                }
            };
        }
    }
}
