package org.jnetfilter.core.classify;

import org.jnetfilter.core.rules.Rule;

/**
 * A classifier's rules and their order keys, in chain order: persistent and chunked like
 * {@link org.jnetfilter.core.rules.RuleList}, so that the classifier of a changed chain copies the chunk
 * of the change and the spine (a 20k-rule chain: 64 rules and keys, and about 313 references), not
 * every rule and key. The last chunk stands beside the spine, as the tail of a persistent vector does, so a
 * change at the end of the chain (an append, the commonest) copies that chunk and shares the whole spine.
 *
 * <pre>
 * spine:  chunks[0]            chunks[1]       ...  chunks[count-2]    last
 *         rules[0..len) keys[0..len)                                   ends[k] = position after chunk k's
 *         keys grow across the whole list (chain order)                last rule; last ends at size
 * </pre>
 *
 * <p>The spine arrays may be longer than {@code count - 1} (shared with the list they were made from, which
 * had more chunks or another last chunk): entries from {@code count - 1} on are never read.
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

    /** Chunks 0 to count - 2 (further entries are not this list's). */
    private final Chunk[] chunks;
    /** ends[k]: the position after chunk k's last rule, for k < count - 1. */
    private final int[] ends;
    private final int count;
    /** Chunk count - 1, ending at size; null when the list is empty. */
    private final Chunk last;
    private final int size;

    private RuleKeys(Chunk[] chunks, int[] ends, int count, Chunk last, int size) {
        this.chunks = chunks;
        this.ends = ends;
        this.count = count;
        this.last = last;
        this.size = size;
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
        return new RuleKeys(chunks, ends, count, count == 0 ? null : chunks[count - 1], n);
    }

    int size() {
        return size;
    }

    private static Chunk chunk(Chunk[] chunks, int count, Chunk last, int k) {
        return k == count - 1 ? last : chunks[k];
    }

    private static int start(int[] ends, int k) {
        return k == 0 ? 0 : ends[k - 1];
    }

    private static int end(int[] ends, int count, int size, int k) {
        return k == count - 1 ? size : ends[k];
    }

    /** The chunk holding position {@code index} (0 <= index < size). */
    private static int chunkOf(int[] ends, int count, int size, int index) {
        // a list built in one go (a compile, a repack) has full chunks but the last, and keeps most of them
        // through changes at its end: try where the position is then (one read of the spine, where a 20k-rule
        // chain's binary search reads nine of its cache lines)
        int guess = index / CHUNK;
        if (guess < count && end(ends, count, size, guess) > index && (guess == 0 || ends[guess - 1] <= index)) {
            return guess;
        }
        // ends grow strictly (no chunk is empty): the chunk is the first whose end is past index; the spine's
        // ends stop before the last chunk, which holds what lies past them
        int at = java.util.Arrays.binarySearch(ends, 0, count - 1, index);
        return at >= 0 ? at + 1 : -at - 1;
    }

    Rule rule(int index) {
        int k = chunkOf(ends, count, size, checked(index));
        return chunk(chunks, count, last, k).rules[index - start(ends, k)];
    }

    long key(int index) {
        int k = chunkOf(ends, count, size, checked(index));
        return chunk(chunks, count, last, k).keys[index - start(ends, k)];
    }

    private int checked(int index) {
        return java.util.Objects.checkIndex(index, size);
    }

    /** The position of the rule with order key {@code key}, or -1. */
    int indexOfKey(long key) {
        if (count == 0) {
            return -1;
        }
        int lo = 0;
        int hi = count - 1;
        // the last chunk whose first key is at most key
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (chunk(chunks, count, last, mid).keys[0] <= key) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        int i = java.util.Arrays.binarySearch(chunk(chunks, count, last, lo).keys, key);
        return i < 0 ? -1 : start(ends, lo) + i;
    }

    /** How many of this list's chunks {@code other} shares (the same objects), for tests. */
    int chunksSharedWith(RuleKeys other) {
        java.util.Set<Chunk> theirs = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (int k = 0; k < other.count; k++) {
            theirs.add(chunk(other.chunks, other.count, other.last, k));
        }
        int n = 0;
        for (int k = 0; k < count; k++) {
            n += theirs.contains(chunk(chunks, count, last, k)) ? 1 : 0;
        }
        return n;
    }

    /** Bytes held: spine and chunks (not the rules). */
    long footprintBytes() {
        long b = 40 + 16 + chunks.length * 4L + 16 + ends.length * 4L;
        for (int k = 0; k < count; k++) {
            int len = chunk(chunks, count, last, k).length();
            b += 16 + 16 + len * 4L + 16 + len * 8L;
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
         * The spine being edited: the base's own arrays until a change to a chunk other than the last, then
         * copies this editor owns (of the first count - 1 entries), which {@link #done} hands over without
         * copying them again. Changes to the last chunk leave the spine shared.
         */
        private Chunk[] chunks;
        private int[] ends;
        private int count;
        private Chunk last;
        private int size;
        private boolean own;

        private Editor(RuleKeys base) {
            chunks = base.chunks;
            ends = base.ends;
            count = base.count;
            last = base.last;
            size = base.size;
        }

        int size() {
            return size;
        }

        Rule rule(int index) {
            int k = chunkOf(ends, count, size, java.util.Objects.checkIndex(index, size));
            return chunk(chunks, count, last, k).rules[index - start(ends, k)];
        }

        long key(int index) {
            int k = chunkOf(ends, count, size, java.util.Objects.checkIndex(index, size));
            return chunk(chunks, count, last, k).keys[index - start(ends, k)];
        }

        /** Puts {@code c} as chunk {@code k} of the same length as the one it replaces. */
        private void replace(int k, Chunk c) {
            if (k == count - 1) {
                last = c;
                return;
            }
            if (!own) {
                chunks = java.util.Arrays.copyOf(chunks, count - 1);
                ends = java.util.Arrays.copyOf(ends, count - 1);
                own = true;
            }
            chunks[k] = c;
        }

        /** Makes the spine anew from a full list of {@code n} chunks and their ends. */
        private void respine(Chunk[] all, int[] allEnds, int n) {
            count = n;
            last = n == 0 ? null : all[n - 1];
            size = n == 0 ? 0 : allEnds[n - 1];
            chunks = all;
            ends = allEnds;
            own = true;
        }

        /** Puts {@code rule} at {@code key} before position {@code index} (size() appends). */
        void insert(int index, Rule rule, long key) {
            java.util.Objects.checkIndex(index, size + 1);
            if (count == 0) {
                respine(new Chunk[] {new Chunk(new Rule[] {rule}, new long[] {key})}, new int[] {1}, 1);
                return;
            }
            int k = index == size ? count - 1 : chunkOf(ends, count, size, index);
            int local = index - start(ends, k);
            Chunk c = chunk(chunks, count, last, k);
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
                replace(k, new Chunk(r, o));
                shift(k, 1);
                return;
            }
            int half = (len + 1) / 2;
            Chunk first = new Chunk(java.util.Arrays.copyOfRange(r, 0, half), java.util.Arrays.copyOfRange(o, 0, half));
            Chunk second = new Chunk(java.util.Arrays.copyOfRange(r, half, len + 1),
                    java.util.Arrays.copyOfRange(o, half, len + 1));
            Chunk[] c2 = new Chunk[count + 1];
            int[] e = new int[count + 1];
            for (int j = 0; j < k; j++) {
                c2[j] = chunks[j];
                e[j] = ends[j];
            }
            c2[k] = first;
            c2[k + 1] = second;
            e[k] = start(ends, k) + half;
            for (int j = k + 1; j < count; j++) {
                c2[j + 1] = chunk(chunks, count, last, j);
            }
            for (int j = k + 1; j <= count; j++) {
                e[j] = end(ends, count, size, j - 1) + 1;
            }
            respine(c2, e, count + 1);
        }

        /** Removes the rule at {@code index}. */
        void remove(int index) {
            int k = chunkOf(ends, count, size, java.util.Objects.checkIndex(index, size));
            int local = index - start(ends, k);
            Chunk c = chunk(chunks, count, last, k);
            int len = c.length();
            if (len == 1) {
                Chunk[] c2 = new Chunk[count - 1];
                int[] e = new int[count - 1];
                for (int j = 0; j < k; j++) {
                    c2[j] = chunks[j];
                    e[j] = ends[j];
                }
                for (int j = k + 1; j < count; j++) {
                    c2[j - 1] = chunk(chunks, count, last, j);
                    e[j - 1] = end(ends, count, size, j) - 1;
                }
                respine(c2, e, count - 1);
                return;
            }
            Rule[] r = new Rule[len - 1];
            long[] o = new long[len - 1];
            System.arraycopy(c.rules, 0, r, 0, local);
            System.arraycopy(c.keys, 0, o, 0, local);
            System.arraycopy(c.rules, local + 1, r, local, len - local - 1);
            System.arraycopy(c.keys, local + 1, o, local, len - local - 1);
            replace(k, new Chunk(r, o));
            shift(k, -1);
        }

        /** Puts {@code rule} at {@code key} in place of the rule at {@code index}. */
        void set(int index, Rule rule, long key) {
            int k = chunkOf(ends, count, size, java.util.Objects.checkIndex(index, size));
            int local = index - start(ends, k);
            Chunk c = chunk(chunks, count, last, k);
            Rule[] r = c.rules.clone();
            long[] o = c.keys.clone();
            r[local] = rule;
            o[local] = key;
            replace(k, new Chunk(r, o));
        }

        /** Moves the ends of chunk {@code from} and those after it by {@code delta} (the spine's, then the size). */
        private void shift(int from, int delta) {
            if (from < count - 1) {
                if (!own) {
                    chunks = java.util.Arrays.copyOf(chunks, count - 1);
                    ends = java.util.Arrays.copyOf(ends, count - 1);
                    own = true;
                }
                for (int j = from; j < count - 1; j++) {
                    ends[j] += delta;
                }
            }
            size += delta;
        }

        RuleKeys done() {
            if (count > 4 && size < count * (CHUNK / 4)) {
                // removals left the chunks a quarter full on average: repack (amortised over those removals)
                Rule[] r = new Rule[size];
                long[] o = new long[size];
                int at = 0;
                for (int k = 0; k < count; k++) {
                    Chunk c = chunk(chunks, count, last, k);
                    System.arraycopy(c.rules, 0, r, at, c.length());
                    System.arraycopy(c.keys, 0, o, at, c.length());
                    at += c.length();
                }
                return of(r, o, size);
            }
            // the arrays are the base's (entries from count - 1 on unread) or this editor's: shared from here
            // on, and no editor writes them again
            own = false;
            return new RuleKeys(chunks, ends, count, last, size);
        }
    }
}
