package org.jnetfilter.core.classify;

import org.jnetfilter.core.rules.Rule;

/**
 * A classifier's rules and their order keys, in chain order: persistent and chunked like
 * {@link org.jnetfilter.core.rules.RuleList}, so that the classifier of a changed chain copies the chunk
 * of the change and the spine (a 20k-rule chain: 64 rules and keys, and about 313 references), not
 * every rule and key.
 *
 * <pre>
 * spine:  chunks[0]            chunks[1]       ...     ends[k] = position after chunk k's last rule
 *         rules[0..len) keys[0..len)            keys grow across the whole list (chain order)
 * </pre>
 *
 * <p>Immutable; an {@link Editor} makes a changed copy that shares every chunk it did not touch. Not on
 * the packet path: lookups use the tables; this serves changes and rule numbers (traces).
 */
final class RuleKeys {
    /** Rules per chunk at most; a chunk that would grow past it splits in two halves. */
    static final int CHUNK = 64;

    /** One chunk: rules and their keys, both exactly as long as the chunk. */
    private record Chunk(Rule[] rules, long[] keys) {
        int length() {
            return rules.length;
        }
    }

    private final Chunk[] chunks;
    /** ends[k]: the position after chunk k's last rule. */
    private final int[] ends;

    private RuleKeys(Chunk[] chunks, int[] ends) {
        this.chunks = chunks;
        this.ends = ends;
    }

    /** {@code rules[i]} at {@code keys[i]}, for i in [0, n): keys increasing. */
    static RuleKeys of(Rule[] rules, long[] keys, int n) {
        int count = (n + CHUNK - 1) / CHUNK;
        Chunk[] chunks = new Chunk[count];
        int[] ends = new int[count];
        for (int k = 0; k < count; k++) {
            int from = k * CHUNK;
            int len = Math.min(CHUNK, n - from);
            Rule[] r = new Rule[len];
            long[] o = new long[len];
            System.arraycopy(rules, from, r, 0, len);
            System.arraycopy(keys, from, o, 0, len);
            chunks[k] = new Chunk(r, o);
            ends[k] = from + len;
        }
        return new RuleKeys(chunks, ends);
    }

    int size() {
        return ends.length == 0 ? 0 : ends[ends.length - 1];
    }

    /** The chunk holding position {@code index} (0 <= index < size). */
    private static int chunkOf(int[] ends, int count, int index) {
        // ends grow strictly (no chunk is empty): the chunk is the first whose end is past index
        int at = java.util.Arrays.binarySearch(ends, 0, count, index);
        return at >= 0 ? at + 1 : -at - 1;
    }

    Rule rule(int index) {
        int k = chunkOf(ends, chunks.length, checked(index));
        return chunks[k].rules[index - start(ends, k)];
    }

    long key(int index) {
        int k = chunkOf(ends, chunks.length, checked(index));
        return chunks[k].keys[index - start(ends, k)];
    }

    private int checked(int index) {
        return java.util.Objects.checkIndex(index, size());
    }

    private static int start(int[] ends, int k) {
        return k == 0 ? 0 : ends[k - 1];
    }

    /** The position of the rule with order key {@code key}, or -1. */
    int indexOfKey(long key) {
        int lo = 0;
        int hi = chunks.length - 1;
        // the last chunk whose first key is at most key
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (chunks[mid].keys[0] <= key) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        if (chunks.length == 0) {
            return -1;
        }
        int i = java.util.Arrays.binarySearch(chunks[lo].keys, key);
        return i < 0 ? -1 : start(ends, lo) + i;
    }

    /** How many of this list's chunks {@code other} shares (the same objects), for tests. */
    int chunksSharedWith(RuleKeys other) {
        java.util.Set<Chunk> theirs = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        theirs.addAll(java.util.Arrays.asList(other.chunks));
        int n = 0;
        for (Chunk c : chunks) {
            n += theirs.contains(c) ? 1 : 0;
        }
        return n;
    }

    /** Bytes held: spine and chunks (not the rules). */
    long footprintBytes() {
        long b = 24 + 16 + chunks.length * 4L + 16 + ends.length * 4L;
        for (Chunk c : chunks) {
            b += 16 + 16 + c.length() * 4L + 16 + c.length() * 8L;
        }
        return b;
    }

    Editor edit() {
        return new Editor(this);
    }

    /**
     * Changes in order, each at a position of the list as the changes before it left it. Every change
     * makes a new chunk (at most {@link #CHUNK} rules and keys copied); untouched chunks are shared.
     */
    static final class Editor {
        /**
         * The spine being edited: the base's own arrays until the first change, then copies this editor
         * owns, sized exactly, so {@link #done} hands them over without copying them again (a 20k-rule chain's
         * spine is 313 entries: one copy of it per change, not two).
         */
        private Chunk[] chunks;
        private int[] ends;
        private int count;
        private boolean own;

        private Editor(RuleKeys base) {
            chunks = base.chunks;
            ends = base.ends;
            count = base.chunks.length;
        }

        int size() {
            return count == 0 ? 0 : ends[count - 1];
        }

        Rule rule(int index) {
            int k = chunkOf(ends, count, java.util.Objects.checkIndex(index, size()));
            return chunks[k].rules[index - start(ends, k)];
        }

        long key(int index) {
            int k = chunkOf(ends, count, java.util.Objects.checkIndex(index, size()));
            return chunks[k].keys[index - start(ends, k)];
        }

        /** Makes the spine this editor's own before its first change. */
        private void own() {
            if (!own) {
                chunks = chunks.clone();
                ends = ends.clone();
                own = true;
            }
        }

        /** Puts {@code rule} at {@code key} before position {@code index} (size() appends). */
        void insert(int index, Rule rule, long key) {
            java.util.Objects.checkIndex(index, size() + 1);
            if (count == 0) {
                chunks = new Chunk[] {new Chunk(new Rule[] {rule}, new long[] {key})};
                ends = new int[] {1};
                count = 1;
                own = true;
                return;
            }
            int k = index == size() ? count - 1 : chunkOf(ends, count, index);
            int local = index - start(ends, k);
            Chunk c = chunks[k];
            int len = c.length();
            Rule[] r = new Rule[len + 1];
            long[] o = new long[len + 1];
            System.arraycopy(c.rules, 0, r, 0, local);
            System.arraycopy(c.keys, 0, o, 0, local);
            r[local] = rule;
            o[local] = key;
            System.arraycopy(c.rules, local, r, local + 1, len - local);
            System.arraycopy(c.keys, local, o, local + 1, len - local);
            if (len + 1 <= CHUNK) {
                own();
                chunks[k] = new Chunk(r, o);
                shift(k, 1);
                return;
            }
            int half = (len + 1) / 2;
            Chunk first = new Chunk(java.util.Arrays.copyOfRange(r, 0, half), java.util.Arrays.copyOfRange(o, 0, half));
            Chunk second = new Chunk(java.util.Arrays.copyOfRange(r, half, len + 1),
                    java.util.Arrays.copyOfRange(o, half, len + 1));
            Chunk[] c2 = new Chunk[count + 1];
            int[] e = new int[count + 1];
            System.arraycopy(chunks, 0, c2, 0, k);
            System.arraycopy(ends, 0, e, 0, k);
            c2[k] = first;
            c2[k + 1] = second;
            e[k] = start(ends, k) + half;
            System.arraycopy(chunks, k + 1, c2, k + 2, count - k - 1);
            for (int j = k + 1; j < e.length; j++) {
                e[j] = ends[j - 1] + 1;
            }
            chunks = c2;
            ends = e;
            count++;
            own = true;
        }

        /** Removes the rule at {@code index}. */
        void remove(int index) {
            int k = chunkOf(ends, count, java.util.Objects.checkIndex(index, size()));
            int local = index - start(ends, k);
            Chunk c = chunks[k];
            int len = c.length();
            if (len == 1) {
                Chunk[] c2 = new Chunk[count - 1];
                int[] e = new int[count - 1];
                System.arraycopy(chunks, 0, c2, 0, k);
                System.arraycopy(ends, 0, e, 0, k);
                System.arraycopy(chunks, k + 1, c2, k, count - k - 1);
                for (int j = k; j < e.length; j++) {
                    e[j] = ends[j + 1] - 1;
                }
                chunks = c2;
                ends = e;
                count--;
                own = true;
                return;
            }
            Rule[] r = new Rule[len - 1];
            long[] o = new long[len - 1];
            System.arraycopy(c.rules, 0, r, 0, local);
            System.arraycopy(c.keys, 0, o, 0, local);
            System.arraycopy(c.rules, local + 1, r, local, len - local - 1);
            System.arraycopy(c.keys, local + 1, o, local, len - local - 1);
            own();
            chunks[k] = new Chunk(r, o);
            shift(k, -1);
        }

        /** Puts {@code rule} at {@code key} in place of the rule at {@code index}. */
        void set(int index, Rule rule, long key) {
            int k = chunkOf(ends, count, java.util.Objects.checkIndex(index, size()));
            int local = index - start(ends, k);
            Chunk c = chunks[k];
            Rule[] r = c.rules.clone();
            long[] o = c.keys.clone();
            r[local] = rule;
            o[local] = key;
            own();
            chunks[k] = new Chunk(r, o);
        }

        private void shift(int from, int delta) {
            for (int j = from; j < count; j++) {
                ends[j] += delta;
            }
        }

        RuleKeys done() {
            int n = size();
            if (count > 4 && n < count * (CHUNK / 4)) {
                // removals left the chunks a quarter full on average: repack (amortised over those removals)
                Rule[] r = new Rule[n];
                long[] o = new long[n];
                int at = 0;
                for (int k = 0; k < count; k++) {
                    Chunk c = chunks[k];
                    System.arraycopy(c.rules, 0, r, at, c.length());
                    System.arraycopy(c.keys, 0, o, at, c.length());
                    at += c.length();
                }
                return of(r, o, n);
            }
            // the arrays are exactly count long (the base's, or this editor's copies): shared from here on,
            // and no editor writes them again
            own = false;
            return new RuleKeys(chunks, ends);
        }
    }
}
