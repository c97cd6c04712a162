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
 *
 * <p>Each chain's entry is one {@code int[]}: {@code [0]} its hook bits, {@code [1 + h]} the edges carrying
 * hook {@code h} into it; an array in a published map is never written again.
 */
public final class HookReach {
    private static final HookReach EMPTY = new HookReach(NameMap.empty());
    private static final int HOOKS = Hook.values().length;

    private final NameMap<int[]> byChain;
    private volatile Map<String, Integer> masks;

    private HookReach(NameMap<int[]> byChain) {
        this.byChain = byChain;
    }

    public static HookReach empty() {
        return EMPTY;
    }

    /** The hook bits of {@code chain} ({@link Hook#bit()}), 0 when no hook reaches it. */
    public int mask(String chain) {
        int[] e = byChain.get(chain);
        return e == null ? 0 : e[0];
    }

    /** Jump edges into {@code chain} from chains reached from {@code hook}. */
    public int support(String chain, Hook hook) {
        int[] e = byChain.get(chain);
        return e == null ? 0 : e[1 + hook.ordinal()];
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
            int b = before == null ? 0 : before[0];
            int a = after == null ? 0 : after[0];
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

    /**
     * Changes to a reach, kept aside until {@link #done}: each chain is looked up in the persistent map once,
     * its entry copied on its first change and changed in place after that. Not thread-safe.
     */
    public static final class Editor {
        private final HookReach base;
        private final Map<String, Slot> slotByChain = new HashMap<>();

        /** A chain's entry as the edit has it: the base's (shared) until {@code owned}. */
        private static final class Slot {
            final int[] was;
            int[] entry;
            boolean owned;

            Slot(int[] was) {
                this.was = was;
                this.entry = was;
            }
        }

        private Editor(HookReach base) {
            this.base = base;
        }

        private Slot slot(String chain) {
            Slot s = slotByChain.get(chain);
            if (s == null) {
                s = new Slot(base.byChain.get(chain));
                slotByChain.put(chain, s);
            }
            return s;
        }

        /**
         * Notes that {@code chain} did not exist in the table of the base reach (the change made it), so the
         * base has no entry for it: its slot starts empty without a lookup. A reach holds only chains of its
         * table (edges are counted into existing chains, a deleted chain's entry is removed).
         */
        public void madeChain(String chain) {
            slotByChain.putIfAbsent(chain, new Slot(null));
        }

        private static int[] owned(Slot s) {
            if (!s.owned) {
                s.entry = s.entry == null ? new int[1 + HOOKS] : s.entry.clone();
                s.owned = true;
            }
            return s.entry;
        }

        public int mask(String chain) {
            int[] e = slot(chain).entry;
            return e == null ? 0 : e[0];
        }

        /** The hook bits of {@code chain} in the reach this editor started from. */
        public int maskBefore(String chain) {
            int[] e = slot(chain).was;
            return e == null ? 0 : e[0];
        }

        public int support(String chain, int hookIndex) {
            int[] e = slot(chain).entry;
            return e == null ? 0 : e[1 + hookIndex];
        }

        /**
         * One more edge ({@code delta} 1) or one fewer (-1) carrying each hook of {@code bits} into
         * {@code chain}; returns the bits whose count is now zero.
         */
        public int addSupport(String chain, int bits, int delta) {
            int[] e = owned(slot(chain));
            int zero = 0;
            for (int h = 0; h < HOOKS; h++) {
                if ((bits & (1 << h)) != 0) {
                    int n = e[1 + h] += delta;
                    if (n < 0) {
                        throw new IllegalStateException("negative hook support of " + chain);
                    }
                    if (n == 0) {
                        zero |= 1 << h;
                    }
                }
            }
            return zero;
        }

        public void setMask(String chain, int mask) {
            owned(slot(chain))[0] = mask;
        }

        public void remove(String chain) {
            Slot s = slot(chain);
            s.entry = null;
            s.owned = true;
        }

        /** The chains looked up or edited so far. */
        public Set<String> edited() {
            return slotByChain.keySet();
        }

        public HookReach done() {
            NameMap<int[]> m = base.byChain;
            for (Map.Entry<String, Slot> e : slotByChain.entrySet()) {
                Slot s = e.getValue();
                if (!s.owned) {
                    continue;
                }
                if (s.entry == null || isZero(s.entry)) {
                    if (s.was != null) {
                        m = m.remove(e.getKey());
                    }
                } else if (s.was == null || !java.util.Arrays.equals(s.was, s.entry)) {
                    m = m.put(e.getKey(), s.entry);
                }
            }
            return m == base.byChain ? base : new HookReach(m);
        }

        private static boolean isZero(int[] entry) {
            for (int v : entry) {
                if (v != 0) {
                    return false;
                }
            }
            return true;
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
            int[] e = new int[1 + HOOKS];
            e[0] = maskByChain.getOrDefault(names.get(i), 0);
            int[] s = supportByChain.get(names.get(i));
            if (s != null) {
                System.arraycopy(s, 0, e, 1, HOOKS);
            }
            return e;
        }));
    }

    /**
     * A reach of {@code n} chains in name order, the i-th entry {@code entry(i)} ({@code [0]} the hook bits,
     * {@code [1 + h]} the edges carrying hook h), each made when first looked up (see NameMap.lazy): the reach a
     * state file keeps, read for the chains a command touches. Entries may be all zero (a chain no hook
     * reaches).
     */
    public static HookReach lazy(int n, java.util.function.IntFunction<String> chain,
                                 java.util.function.IntFunction<int[]> entry) {
        return new HookReach(NameMap.lazy(n, chain, entry));
    }

    /**
     * Calls {@code action(chain, before, after)} for each chain whose entry (hook bits and edge counts) differs
     * from {@code earlier}'s; an absent entry is null. Shared parts of the two reaches are not visited.
     */
    public void forEachEntryChange(HookReach earlier, EntryChange action) {
        byChain.forEachChange(earlier.byChain, (name, before, after) -> {
            if (!java.util.Arrays.equals(before == null ? ZERO : before, after == null ? ZERO : after)) {
                action.changed(name, before, after);
            }
        });
    }

    private static final int[] ZERO = new int[1 + HOOKS];

    public interface EntryChange {
        void changed(String chain, int[] before, int[] after);
    }

    /** The number of hooks an entry counts edges for (its length is one more). */
    public static int hooks() {
        return HOOKS;
    }

    private static final class MaskView extends AbstractMap<String, Integer> {
        private final NameMap<int[]> byChain;

        MaskView(NameMap<int[]> byChain) {
            this.byChain = byChain;
        }

        @Override
        public Integer get(Object key) {
            if (!(key instanceof String s)) {
                return null;
            }
            int[] e = byChain.get(s);
            return e == null || e[0] == 0 ? null : e[0];
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
                        if (e[0] != 0) {
                            all.add(Map.entry(name, e[0]));
                        }
                    });
                    return java.util.Collections.unmodifiableList(all).iterator();
                }

                @Override
                public int size() {
                    int[] n = {0};
                    byChain.forEach((name, e) -> n[0] += e[0] != 0 ? 1 : 0);
                    return n[0];
                }
            };
        }
    }
}
