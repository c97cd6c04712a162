package org.jnetfilter.core.rules;

import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.RandomAccess;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The rules of one chain, immutable: every change returns a new list and leaves this one as it was, so a
 * published generation never changes under a packet thread.
 *
 * <p>Persistent and chunked, so that one change costs the change, not the chain: the rules sit in chunks of
 * up to {@link #CHUNK}, listed by a spine (the chunks and where each ends). {@code -I}, {@code -R} and
 * {@code -D} copy one chunk and the spine (a 20k-rule chain: 64 rules and 313 references, not 20k); an
 * append claims the next free slot of the last chunk in place, as a Go slice with spare capacity does.
 * Lists never read past their own size, so a slot written for a newer list is invisible to older ones.
 *
 * <p>Each list made by one change remembers the list it was made from and the change ({@link #editsSince}),
 * for up to {@link #MAX_LINEAGE} changes: the table checks, the classifier and the journal follow the change
 * instead of comparing whole chains. Derived data (the jump counts, the text filters of the chunks) is
 * made on first use and carried from a list to the next through the change.
 *
 * <p>Threads: any number of readers; writers (the control plane) may race to append to the same list,
 * one wins the slot and the other copies.
 */
public final class RuleList extends AbstractList<Rule> implements RandomAccess {
    /** Rules per chunk. */
    static final int CHUNK = 64;
    private static final int CHUNK_SHIFT = 6;
    /**
     * Slots of a chunk that appends start. Chunks are as long as their rules, except those appends grow
     * (doubling up to CHUNK): most chains of a node have a handful of rules and never change.
     */
    private static final int MIN_SLOTS = 4;
    /** How many changes back a list remembers its lineage (each retains a chunk and a spine). */
    static final int MAX_LINEAGE = 32;
    private static final String[] NO_JUMPS = new String[0];
    private static final RuleList EMPTY = new RuleList(Body.NONE, 0, null, null);

    /** Up to CHUNK rule slots shared by lists; {@code used} claims the next slot for an append in place. */
    private static final class Chunk {
        final Rule[] slots;
        final AtomicInteger used;
        /**
         * Stays the same when the chunk is copied for a change of one of its rules: the text index of a
         * list names chunks by key, so a copy needs no index change for the rules it kept.
         */
        final Object key;
        /** Text filter over the first {@code filter.covered} slots, made on first search. */
        volatile TextFilter filter;

        Chunk(Rule[] slots, int used) {
            this.slots = slots;
            this.used = new AtomicInteger(used);
            this.key = this;
        }

        /** A copy of the chunk with key {@code key}, holding {@code slots}. */
        Chunk(Rule[] slots, int used, Object key) {
            this.slots = slots;
            this.used = new AtomicInteger(used);
            this.key = key;
        }

        /**
         * Whether a rule with this text hash may be among the first {@code len} rules (no false
         * negatives). Slots past a list's length only add bits: false positives, never a miss.
         */
        boolean mayHold(int hash, int len) {
            TextFilter f = filter;
            if (f == null || f.covered < len) {
                f = extend(len);
            }
            return f.mayHold(hash);
        }

        private synchronized TextFilter extend(int len) {
            TextFilter f = filter;
            if (f != null && f.covered >= len) {
                return f;
            }
            long[] bits = f == null ? new long[TextFilter.WORDS] : f.bits.clone();
            for (int i = f == null ? 0 : f.covered; i < len; i++) {
                TextFilter.add(bits, slots[i].text().hashCode());
            }
            f = new TextFilter(bits, len);
            filter = f;
            return f;
        }
    }

    /** A Bloom filter of 1,024 bits and two probes over rule texts: about 1% false positives at 64 rules. */
    private record TextFilter(long[] bits, int covered) {
        static final int WORDS = 16;

        static void add(long[] bits, int hash) {
            int a = hash & 1023;
            int b = (hash * 0x9E3779B9) >>> 22;
            bits[a >>> 6] |= 1L << a;
            bits[b >>> 6] |= 1L << b;
        }

        boolean mayHold(int hash) {
            int a = hash & 1023;
            int b = (hash * 0x9E3779B9) >>> 22;
            return (bits[a >>> 6] & (1L << a)) != 0 && (bits[b >>> 6] & (1L << b)) != 0;
        }
    }

    /** Chunks and where each ends, shared by lists; {@code used} claims the next chunk slot. */
    private static final class Spine {
        final Chunk[] chunks;
        /** ends[k]: position after chunk k's last rule; the last chunk of a list ends at the list's size. */
        final int[] ends;
        /** keys[k]: chunks[k].key, side by side so a key is found without touching the chunks. */
        final Object[] keys;
        final AtomicInteger used;

        Spine(Chunk[] chunks, int[] ends, int used) {
            this(chunks, ends, keysOf(chunks, used), used);
        }

        /** A spine whose {@code keys} the caller filled (copied from the spine it replaces). */
        Spine(Chunk[] chunks, int[] ends, Object[] keys, int used) {
            this.chunks = chunks;
            this.ends = ends;
            this.keys = keys;
            this.used = new AtomicInteger(used);
        }

        private static Object[] keysOf(Chunk[] chunks, int used) {
            Object[] keys = new Object[chunks.length];
            for (int k = 0; k < used; k++) {
                keys[k] = chunks[k].key;
            }
            return keys;
        }
    }

    /**
     * What a list sees of a spine: its first {@code count} chunks; {@code uniform} when all but the last
     * are full, so a position finds its chunk by a shift.
     */
    private record Body(Spine spine, int count, boolean uniform) {
        static final Body NONE = new Body(new Spine(new Chunk[0], new int[0], 0), 0, true);
    }

    /** One change: {@code removed} null for an insertion, {@code added} null for a deletion, both for -R. */
    public record Edit(int index, Rule removed, Rule added) {
    }

    /**
     * Rules not read yet: a state file's chain that no command has looked into. {@code jumps} are the
     * chains its rules jump to (before the first unconditional verdict), known without reading them.
     */
    public interface Unread {
        Rule[] read();

        String[] jumps();

        /** Whether an unconditional verdict ends the walk through these rules (see {@link #jumpTargets}). */
        boolean cut();

        /** The rules as the state file has them (UTF-8), to copy into the next snapshot as they are. */
        java.nio.ByteBuffer raw();
    }

    private volatile Body body;
    private final int size;
    private final Unread unread;
    /** The list this one was made from by {@link #edit}, or null. */
    private final RuleList parent;
    private final Edit edit;
    private final int lineage;
    /** Made from rules read from a state file (by this list or one it was made from): searched without an index. */
    private final boolean stateBacked;
    /** jumpTargets() and whether an unconditional verdict cut the walk, once known. */
    private volatile String[] jumps;
    private volatile boolean cut;
    /** Jump counts, once known. */
    private volatile Jumps jumpCounts;
    /**
     * Rule text to the key of the chunk holding it (an Object[] of keys when several do), once made; made
     * from the parent's through {@link #indexKeys} (the chunks the change touched; {@link #indexSimple}: the
     * change is the edit's one rule in one chunk), or from the rules when the chunks were repacked.
     */
    private volatile NameMap<Object> textIndex;
    private Object[] indexKeys;
    private boolean indexSimple;
    private boolean indexRepacked;

    private RuleList(Body body, int size, RuleList parent, Edit edit) {
        this.body = body;
        this.size = size;
        this.unread = null;
        this.stateBacked = parent != null && parent.stateBacked;
        this.parent = parent != null && parent.lineage < MAX_LINEAGE ? parent : null;
        this.edit = this.parent == null ? null : edit;
        this.lineage = this.parent == null ? 0 : parent.lineage + 1;
    }

    private RuleList(Unread unread, int size, RuleList parent, Edit edit) {
        this.size = size;
        this.unread = unread;
        this.stateBacked = true;
        this.parent = parent != null && parent.lineage < MAX_LINEAGE ? parent : null;
        this.edit = this.parent == null ? null : edit;
        this.lineage = this.parent == null ? 0 : parent.lineage + 1;
    }

    /** {@code size} rules that {@code unread} reads on first use. */
    public static RuleList unread(int size, Unread unread) {
        return size == 0 ? EMPTY : new RuleList(unread, size, null, null);
    }

    /**
     * Rules not read yet with rules appended after them: one command appends to a chain of 20k rules
     * without reading them. Not a range of a state file, so {@link #raw()} is null.
     */
    private static final class AppendedUnread implements Unread {
        private final Unread base;
        private final int baseSize;
        private final Rule[] tail;

        private AppendedUnread(Unread base, int baseSize, Rule[] tail) {
            this.base = base;
            this.baseSize = baseSize;
            this.tail = tail;
        }

        static AppendedUnread of(Unread list, int size, Rule rule) {
            if (list instanceof AppendedUnread a) {
                Rule[] t = Arrays.copyOf(a.tail, a.tail.length + 1);
                t[a.tail.length] = rule;
                return new AppendedUnread(a.base, a.baseSize, t);
            }
            return new AppendedUnread(list, size, new Rule[] {rule});
        }

        @Override
        public Rule[] read() {
            Rule[] b = base.read();
            Rule[] all = Arrays.copyOf(b, b.length + tail.length);
            System.arraycopy(tail, 0, all, b.length, tail.length);
            return all;
        }

        @Override
        public String[] jumps() {
            if (base.cut()) {
                return base.jumps();
            }
            java.util.LinkedHashSet<String> j = new java.util.LinkedHashSet<>(Arrays.asList(base.jumps()));
            for (Rule r : tail) {
                if (r.isUnconditionalVerdict()) {
                    break;
                }
                String t = r.jumpChain();
                if (t != null) {
                    j.add(t);
                }
            }
            return j.toArray(new String[0]);
        }

        @Override
        public boolean cut() {
            if (base.cut()) {
                return true;
            }
            for (Rule r : tail) {
                if (r.isUnconditionalVerdict()) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public java.nio.ByteBuffer raw() {
            return null;
        }
    }

    /**
     * The rules appended to {@code earlier} to make this list, when this list is {@code earlier} plus
     * appends; else null (the caller compares rule by rule).
     */
    public List<Rule> appendedTo(RuleList earlier) {
        List<Edit> edits = editsSince(earlier);
        if (edits != null) {
            List<Rule> added = new ArrayList<>(edits.size());
            int n = earlier.size;
            for (Edit e : edits) {
                if (e.removed != null || e.index != n) {
                    return null;
                }
                added.add(e.added);
                n++;
            }
            return added;
        }
        if (!(unread instanceof AppendedUnread a) || body != null) {
            return null;
        }
        if (earlier.unread == a.base && earlier.size == a.baseSize) {
            return Arrays.asList(a.tail);
        }
        if (earlier.unread instanceof AppendedUnread e && e.base == a.base && e.baseSize == a.baseSize
                && earlier.size == e.baseSize + e.tail.length && e.tail.length <= a.tail.length) {
            for (int i = 0; i < e.tail.length; i++) {
                if (e.tail[i] != a.tail[i]) {
                    return null;
                }
            }
            return Arrays.asList(a.tail).subList(e.tail.length, a.tail.length);
        }
        return null;
    }

    /**
     * The changes that made this list from {@code earlier}, oldest first (empty when it is {@code earlier}),
     * or null when this list does not descend from it within the lineage remembered.
     */
    public List<Edit> editsSince(RuleList earlier) {
        if (earlier == this) {
            return List.of();
        }
        ArrayList<Edit> out = null;
        for (RuleList l = this; l.parent != null; l = l.parent) {
            if (out == null) {
                out = new ArrayList<>(4);
            }
            out.add(l.edit);
            if (l.parent == earlier) {
                java.util.Collections.reverse(out);
                return out;
            }
        }
        return null;
    }

    /** Where these rules were read from, unchanged, if they came from a state file (read or not). */
    public Unread unreadSource() {
        return unread;
    }

    /** Whether the rules are in memory (not a state file's range waiting to be read). */
    public boolean isRead() {
        return body != null;
    }

    private Body body() {
        Body b = body;
        if (b == null) {
            synchronized (this) {
                b = body;
                if (b == null) {
                    Rule[] rules = unread.read();
                    if (rules.length != size) {
                        throw new IllegalStateException("state chain has " + rules.length + " rules, expected " + size);
                    }
                    b = build(rules, rules.length);
                    body = b;
                }
            }
        }
        return b;
    }

    /** Slots for a chunk of {@code len} rules about to take one more by appends. */
    private static int grown(int len) {
        return Math.min(CHUNK, Math.max(MIN_SLOTS, len * 2));
    }

    /** Full chunks of {@code rules[0..n)}, the last one partly filled (and only as long as its rules). */
    private static Body build(Rule[] rules, int n) {
        int count = (n + CHUNK - 1) >>> CHUNK_SHIFT;
        Chunk[] chunks = new Chunk[count + (count >> 3) + 1];
        int[] ends = new int[chunks.length];
        for (int k = 0; k < count; k++) {
            int from = k << CHUNK_SHIFT;
            int len = Math.min(CHUNK, n - from);
            Rule[] slots = new Rule[len];
            System.arraycopy(rules, from, slots, 0, len);
            chunks[k] = new Chunk(slots, len);
            ends[k] = from + len;
        }
        return new Body(new Spine(chunks, ends, count), count, true);
    }

    public static RuleList empty() {
        return EMPTY;
    }

    public static RuleList of(List<Rule> rules) {
        if (rules.isEmpty()) {
            return EMPTY;
        }
        Rule[] a = rules.toArray(new Rule[0]);
        return new RuleList(build(a, a.length), a.length, null, null);
    }

    private static int start(Body b, int k) {
        return k == 0 ? 0 : b.uniform ? k << CHUNK_SHIFT : b.spine.ends[k - 1];
    }

    private int end(Body b, int k) {
        return k == b.count - 1 ? size : b.spine.ends[k];
    }

    /** The chunk holding position {@code index} (< size). */
    private static int chunkOf(Body b, int index) {
        if (b.uniform) {
            return index >>> CHUNK_SHIFT;
        }
        int lo = 0;
        int hi = b.count - 1;
        int[] ends = b.spine.ends;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (ends[mid] > index) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    @Override
    public Rule get(int index) {
        java.util.Objects.checkIndex(index, size);
        Body b = body();
        if (b.uniform) {
            return b.spine.chunks[index >>> CHUNK_SHIFT].slots[index & (CHUNK - 1)];
        }
        int k = chunkOf(b, index);
        return b.spine.chunks[k].slots[index - start(b, k)];
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public void forEach(Consumer<? super Rule> action) {
        if (size == 0) {
            return;
        }
        Body b = body();
        for (int k = 0; k < b.count; k++) {
            Rule[] slots = b.spine.chunks[k].slots;
            int len = end(b, k) - start(b, k);
            for (int i = 0; i < len; i++) {
                action.accept(slots[i]);
            }
        }
    }

    @Override
    public Object[] toArray() {
        return toArray(new Rule[0]);
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T[] toArray(T[] a) {
        T[] out = a.length >= size ? a : (T[]) java.lang.reflect.Array.newInstance(a.getClass().getComponentType(), size);
        if (size > 0) {
            Body b = body();
            for (int k = 0; k < b.count; k++) {
                int s = start(b, k);
                System.arraycopy(b.spine.chunks[k].slots, 0, out, s, end(b, k) - s);
            }
        }
        if (out.length > size) {
            out[size] = null;
        }
        return out;
    }

    /** A list with the chunks {@code replacement} in place of chunks [from, to), shifting later ends by {@code delta}. */
    private RuleList respine(Body b, int from, int to, Chunk[] replacement, int[] replacementLens, int delta,
                             boolean uniform, int newSize, Edit e) {
        int count = b.count - (to - from) + replacement.length;
        if (count == 0) {
            return new RuleList(Body.NONE, 0, this, e);
        }
        // Three flat arrays copied in bulk, the chunks' keys included: a 20k-rule chain has 313 chunks, and
        // reading each one's key from the chunk itself would be a cache miss per chunk on a large ruleset.
        Spine old = b.spine;
        Chunk[] chunks = new Chunk[count + (count >> 3) + 1];
        int[] ends = new int[chunks.length];
        Object[] keys = new Object[chunks.length];
        System.arraycopy(old.chunks, 0, chunks, 0, from);
        System.arraycopy(old.keys, 0, keys, 0, from);
        if (from > 0) {
            // all but the list's last chunk end where the spine says; the last ends at the list's size
            System.arraycopy(old.ends, 0, ends, 0, from - 1);
            ends[from - 1] = end(b, from - 1);
        }
        int at = from == 0 ? 0 : ends[from - 1];
        for (int k = 0; k < replacement.length; k++) {
            chunks[from + k] = replacement[k];
            keys[from + k] = replacement[k].key;
            at += replacementLens[k];
            ends[from + k] = at;
        }
        int j = from + replacement.length;
        int tail = b.count - to;
        System.arraycopy(old.chunks, to, chunks, j, tail);
        System.arraycopy(old.keys, to, keys, j, tail);
        for (int k = to; k < b.count; k++, j++) {
            ends[j] = end(b, k) + delta;
        }
        RuleList next = new RuleList(new Body(new Spine(chunks, ends, keys, count), count, uniform), newSize, this, e);
        if (count > 4 && newSize < count * (CHUNK / 4)) {
            // removals left the chunks a quarter full on average: repack (amortised over those removals)
            RuleList packed = new RuleList(build(next.toArray(new Rule[0]), newSize), newSize, this, e);
            packed.indexRepacked = true;
            return packed;
        }
        return next;
    }

    /** Where position {@code index} is: its chunk, that chunk's length and the offset in it. */
    private record At(Body body, int chunk, int len, int local) {
    }

    private At at(int index) {
        java.util.Objects.checkIndex(index, size);
        Body b = body();
        int k = chunkOf(b, index);
        int s = start(b, k);
        return new At(b, k, end(b, k) - s, index - s);
    }

    /** A new list with {@code rule} inserted before position {@code index} (0-based; size() appends). */
    public RuleList inserting(int index, Rule rule) {
        if (index == size) {
            return appending(rule);
        }
        At at = at(index);
        Body b = at.body;
        int k = at.chunk;
        int len = at.len;
        int local = at.local;
        Rule[] old = b.spine.chunks[k].slots;
        Edit e = new Edit(index, null, rule);
        if (len < CHUNK) {
            Rule[] slots = new Rule[len + 1];
            System.arraycopy(old, 0, slots, 0, local);
            slots[local] = rule;
            System.arraycopy(old, local, slots, local + 1, len - local);
            return indexed(respine(b, k, k + 1, new Chunk[] {new Chunk(slots, len + 1, b.spine.keys[k])},
                    new int[] {len + 1}, 1, b.uniform && k == b.count - 1, size + 1, e), true, b.spine.keys[k]);
        }
        // a full chunk splits in two halves
        Rule[] all = new Rule[CHUNK + 1];
        System.arraycopy(old, 0, all, 0, local);
        all[local] = rule;
        System.arraycopy(old, local, all, local + 1, len - local);
        int half = all.length / 2;
        Rule[] first = new Rule[half];
        Rule[] second = new Rule[all.length - half];
        System.arraycopy(all, 0, first, 0, half);
        System.arraycopy(all, half, second, 0, all.length - half);
        Chunk kept = new Chunk(first, half, b.spine.keys[k]);
        Chunk split = new Chunk(second, all.length - half);
        return indexed(respine(b, k, k + 1, new Chunk[] {kept, split}, new int[] {half, all.length - half}, 1, false,
                size + 1, e), false, kept.key, split.key);
    }

    public RuleList appending(Rule rule) {
        Edit e = new Edit(size, null, rule);
        if (body == null && unread != null) {
            return new RuleList(AppendedUnread.of(unread, size, rule), size + 1, this, e);
        }
        Body b = body();
        RuleList next;
        if (b.count == 0) {
            Rule[] slots = new Rule[MIN_SLOTS];
            slots[0] = rule;
            Chunk[] chunks = new Chunk[4];
            chunks[0] = new Chunk(slots, 1);
            next = indexed(new RuleList(new Body(new Spine(chunks, new int[4], 1), 1, true), 1, this, e), true,
                    chunks[0].key);
        } else {
            int last = b.count - 1;
            int lastLen = size - start(b, last);
            Chunk c = b.spine.chunks[last];
            if (lastLen < c.slots.length && c.used.compareAndSet(lastLen, lastLen + 1)) {
                c.slots[lastLen] = rule;
                next = indexed(new RuleList(b, size + 1, this, e), true, c.key);
            } else if (lastLen < CHUNK) {
                Rule[] slots = new Rule[grown(lastLen)];
                System.arraycopy(c.slots, 0, slots, 0, lastLen);
                slots[lastLen] = rule;
                next = indexed(respine(b, last, last + 1, new Chunk[] {new Chunk(slots, lastLen + 1, c.key)},
                        new int[] {lastLen + 1}, 0, b.uniform, size + 1, e), true, c.key);
            } else {
                Rule[] slots = new Rule[MIN_SLOTS];
                slots[0] = rule;
                Chunk fresh = new Chunk(slots, 1);
                Spine sp = b.spine;
                if (b.count < sp.chunks.length && sp.used.compareAndSet(b.count, b.count + 1)) {
                    sp.chunks[b.count] = fresh;
                    sp.keys[b.count] = fresh.key;
                    sp.ends[last] = size;
                    next = indexed(new RuleList(new Body(sp, b.count + 1, b.uniform), size + 1, this, e), true,
                            fresh.key);
                } else {
                    next = indexed(respine(b, b.count, b.count, new Chunk[] {fresh}, new int[] {1}, 0, b.uniform,
                            size + 1, e), true, fresh.key);
                }
            }
        }
        // Carried forward for one append to a list read from a state file (a command); a run of appends
        // (a restore) would copy the summary each time, so there it is left to be computed once at the end.
        String[] known = unread == null ? (jumps != null && jumps.length < 64 ? jumps : null) : jumpTargets();
        if (known != null) {
            // the jump summary of a list one rule longer, without walking the list again
            boolean wasCut = cut;
            String t = wasCut ? null : rule.jumpChain();
            String[] j = known;
            if (t != null && !java.util.Arrays.asList(known).contains(t)) {
                j = java.util.Arrays.copyOf(known, known.length + 1);
                j[known.length] = t;
            }
            next.cut = wasCut || rule.isUnconditionalVerdict();
            next.jumps = j;
        }
        return next;
    }

    public RuleList removing(int index) {
        At at = at(index);
        Body b = at.body;
        int k = at.chunk;
        Rule[] old = b.spine.chunks[k].slots;
        Edit e = new Edit(index, old[at.local], null);
        boolean uniform = b.uniform && k == b.count - 1;
        Object key = b.spine.keys[k];
        if (at.len == 1) {
            return indexed(respine(b, k, k + 1, new Chunk[0], new int[0], -1, uniform, size - 1, e), true, key);
        }
        Rule[] slots = new Rule[at.len - 1];
        System.arraycopy(old, 0, slots, 0, at.local);
        System.arraycopy(old, at.local + 1, slots, at.local, at.len - at.local - 1);
        return indexed(respine(b, k, k + 1, new Chunk[] {new Chunk(slots, at.len - 1, key)}, new int[] {at.len - 1}, -1,
                uniform, size - 1, e), true, key);
    }

    public RuleList replacing(int index, Rule rule) {
        At at = at(index);
        Body b = at.body;
        int k = at.chunk;
        int len = at.len;
        Rule[] slots = new Rule[len];
        System.arraycopy(b.spine.chunks[k].slots, 0, slots, 0, len);
        Edit e = new Edit(index, slots[at.local], rule);
        slots[at.local] = rule;
        Object key = b.spine.keys[k];
        return indexed(respine(b, k, k + 1, new Chunk[] {new Chunk(slots, len, key)}, new int[] {len}, 0, b.uniform,
                size, e), true, key);
    }

    /**
     * The chains these rules jump or go to, each once, up to the first unconditional verdict (the jump
     * graph the kernel walks); known without reading unread rules.
     */
    public String[] jumpTargets() {
        String[] j = jumps;
        if (j != null) {
            return j;
        }
        Unread u = unreadSource();
        if (u != null) {
            cut = u.cut();
            jumps = u.jumps();
            return jumps;
        }
        DistinctTargets d = new DistinctTargets();
        cut = forEachWalkedJump(d) >= 0;
        jumps = d.count == d.found.length ? d.found : Arrays.copyOf(d.found, d.count);
        return jumps;
    }

    /**
     * Distinct targets in first-seen order; chains jump to few chains, so a linear scan beats a set until
     * there are many (a restore computes this for every chain of a Kubernetes node).
     */
    private static final class DistinctTargets implements Consumer<String> {
        String[] found = NO_JUMPS;
        int count;
        java.util.Set<String> many;

        @Override
        public void accept(String t) {
            if (many != null) {
                if (!many.add(t)) {
                    return;
                }
            } else {
                for (int k = 0; k < count; k++) {
                    if (found[k].equals(t)) {
                        return;
                    }
                }
                if (count == 32) {
                    many = new java.util.HashSet<>(Arrays.asList(found).subList(0, count));
                    many.add(t);
                }
            }
            if (count == found.length) {
                found = Arrays.copyOf(found, Math.max(4, count * 2));
            }
            found[count++] = t;
        }
    }

    /**
     * Calls {@code action} with the jump or goto target of each rule before the first unconditional verdict
     * (the rules the kernel walks); returns that verdict's position, or -1.
     */
    private int forEachWalkedJump(Consumer<String> action) {
        for (int i = 0; i < size; i++) {
            Rule r = get(i);
            if (r.isUnconditionalVerdict()) {
                return i;
            }
            String t = r.jumpChain();
            if (t != null) {
                action.accept(t);
            }
        }
        return -1;
    }

    /** Whether an unconditional verdict among these rules ends the kernel's walk through them. */
    public boolean endsInVerdict() {
        jumpTargets();
        return cut;
    }

    /** Chains of this many rules are searched through a text index; shorter ones through the chunks' filters. */
    static final int INDEXED_FROM = 2048;

    /**
     * The position of the first rule whose save text equals {@code text}, or -1. A long chain held in memory
     * keeps an index from rule text to the chunks holding it, carried from list to list through each change
     * (O(log n) a change); chains read from a state file for a command are searched chunk by chunk, each
     * chunk's filter of text hashes skipping the chunks that cannot hold the text.
     */
    public int indexOfText(String text) {
        if (size == 0) {
            return -1;
        }
        Body b = body();
        if (size >= INDEXED_FROM && (!stateBacked || textIndex != null || ancestorIndexed())) {
            return indexOfTextByIndex(b, text);
        }
        int hash = text.hashCode();
        for (int k = 0; k < b.count; k++) {
            Chunk c = b.spine.chunks[k];
            int s = start(b, k);
            int len = end(b, k) - s;
            if (!c.mayHold(hash, len)) {
                continue;
            }
            for (int i = 0; i < len; i++) {
                String t = c.slots[i].text();
                if (t.hashCode() == hash && t.equals(text)) {
                    return s + i;
                }
            }
        }
        return -1;
    }

    private boolean ancestorIndexed() {
        for (RuleList l = parent; l != null; l = l.parent) {
            if (l.textIndex != null) {
                return true;
            }
        }
        return false;
    }

    private int indexOfTextByIndex(Body b, String text) {
        Object v = textIndex().get(text);
        if (v == null) {
            return -1;
        }
        int best = -1;
        for (Object key : v instanceof Object[] keys ? keys : new Object[] {v}) {
            int k = chunkByKey(b, key);
            if (k < 0) {
                throw new IllegalStateException("text index names a chunk the list does not have");
            }
            int s = start(b, k);
            int len = end(b, k) - s;
            Rule[] slots = b.spine.chunks[k].slots;
            for (int i = 0; i < len; i++) {
                if (slots[i].text().equals(text)) {
                    if (best < 0 || s + i < best) {
                        best = s + i;
                    }
                    break;
                }
            }
        }
        return best;
    }

    private static int chunkByKey(Body b, Object key) {
        Object[] keys = b.spine.keys;
        for (int k = 0; k < b.count; k++) {
            if (keys[k] == key) {
                return k;
            }
        }
        return -1;
    }

    /** Notes which chunks a change touched, for the text index; returns {@code next}. */
    private static RuleList indexed(RuleList next, boolean simple, Object... keys) {
        if (!next.indexRepacked) {
            next.indexSimple = simple;
            next.indexKeys = keys;
        }
        return next;
    }

    private NameMap<Object> textIndex() {
        NameMap<Object> x = textIndex;
        if (x == null) {
            x = parent != null && indexKeys != null && !indexRepacked ? deriveIndex(parent.textIndex()) : buildIndex();
            textIndex = x;
        }
        return x;
    }

    private NameMap<Object> buildIndex() {
        java.util.HashMap<String, Object> m = new java.util.HashMap<>();
        Body b = body();
        for (int k = 0; k < b.count; k++) {
            Object key = b.spine.keys[k];
            Rule[] slots = b.spine.chunks[k].slots;
            int len = end(b, k) - start(b, k);
            for (int i = 0; i < len; i++) {
                m.merge(slots[i].text(), key, (had, add) -> withKey(had, key));
            }
        }
        List<String> texts = new ArrayList<>(m.keySet());
        java.util.Collections.sort(texts);
        return NameMap.fromSorted(texts.size(), texts::get, i -> m.get(texts.get(i)));
    }

    /** This list's index from its parent's: the one rule the edit moved, or the touched chunks compared. */
    private NameMap<Object> deriveIndex(NameMap<Object> idx) {
        Body b = body();
        if (indexSimple) {
            Object key = indexKeys[0];
            if (edit.removed != null) {
                String t = edit.removed.text();
                if (!chunkHolds(b, key, t)) {
                    idx = withoutKey(idx, t, key);
                }
            }
            if (edit.added != null) {
                idx = withKey(idx, edit.added.text(), key);
            }
            return idx;
        }
        Body pb = parent.body();
        for (Object key : indexKeys) {
            java.util.Set<String> before = texts(pb, parent.size, key);
            java.util.Set<String> after = texts(b, size, key);
            for (String t : before) {
                if (!after.contains(t)) {
                    idx = withoutKey(idx, t, key);
                }
            }
            for (String t : after) {
                if (!before.contains(t)) {
                    idx = withKey(idx, t, key);
                }
            }
        }
        return idx;
    }

    /** The texts in the chunk with {@code key} of the list of {@code listSize} rules whose body is {@code b}. */
    private static java.util.Set<String> texts(Body b, int listSize, Object key) {
        java.util.Set<String> out = new java.util.HashSet<>();
        int k = chunkByKey(b, key);
        if (k >= 0) {
            int len = (k == b.count - 1 ? listSize : b.spine.ends[k]) - start(b, k);
            for (int i = 0; i < len; i++) {
                out.add(b.spine.chunks[k].slots[i].text());
            }
        }
        return out;
    }

    private boolean chunkHolds(Body b, Object key, String text) {
        int k = chunkByKey(b, key);
        if (k < 0) {
            return false;
        }
        int len = end(b, k) - start(b, k);
        Rule[] slots = b.spine.chunks[k].slots;
        for (int i = 0; i < len; i++) {
            if (slots[i].text().equals(text)) {
                return true;
            }
        }
        return false;
    }

    private static Object withKey(Object had, Object key) {
        if (had == null || had == key) {
            return key;
        }
        if (had instanceof Object[] keys) {
            for (Object o : keys) {
                if (o == key) {
                    return had;
                }
            }
            Object[] more = Arrays.copyOf(keys, keys.length + 1);
            more[keys.length] = key;
            return more;
        }
        return new Object[] {had, key};
    }

    private static NameMap<Object> withKey(NameMap<Object> idx, String text, Object key) {
        Object had = idx.get(text);
        Object now = withKey(had, key);
        return now == had ? idx : idx.put(text, now);
    }

    private static NameMap<Object> withoutKey(NameMap<Object> idx, String text, Object key) {
        Object had = idx.get(text);
        if (had == key) {
            return idx.remove(text);
        }
        if (had instanceof Object[] keys && Arrays.asList(keys).contains(key)) {
            Object[] fewer = new Object[keys.length - 1];
            int n = 0;
            for (Object o : keys) {
                if (o != key) {
                    fewer[n++] = o;
                }
            }
            return idx.put(text, fewer.length == 1 ? fewer[0] : fewer);
        }
        return idx;
    }

    /**
     * Rules per chain jumped or gone to, up to the first unconditional verdict ({@code cut}: its position,
     * -1 when none): the jump graph the kernel walks, with multiplicities so a change can tell when an edge
     * appears or goes.
     */
    private record Jumps(int cut, NameMap<Integer> counts) {
    }

    private Jumps jumpCounts() {
        Jumps j = jumpCounts;
        if (j == null) {
            j = parent != null ? derive(parent.jumpCounts(), edit, parent.size) : null;
            if (j == null) {
                j = countJumps();
            }
            jumpCounts = j;
        }
        return j;
    }

    private Jumps countJumps() {
        java.util.HashMap<String, Integer> m = new java.util.HashMap<>();
        int cutAt = forEachWalkedJump(t -> m.merge(t, 1, Integer::sum));
        List<String> names = new ArrayList<>(m.keySet());
        java.util.Collections.sort(names);
        return new Jumps(cutAt, NameMap.fromSorted(names.size(), names::get, k -> m.get(names.get(k))));
    }

    /**
     * This list's jump counts from its parent's and the change; null when the change moves the cut over
     * rules (the caller counts again).
     */
    private static Jumps derive(Jumps p, Edit e, int parentSize) {
        int cutAt = p.cut;
        boolean walked = cutAt < 0 || e.index <= cutAt;
        if (!walked) {
            return p;
        }
        boolean removedCuts = e.removed != null && e.removed.isUnconditionalVerdict();
        boolean addedCuts = e.added != null && e.added.isUnconditionalVerdict();
        if (addedCuts && e.removed == null && e.index == (cutAt < 0 ? parentSize : cutAt)) {
            // a verdict put just before the old end of the walk: nothing leaves the walk
            return new Jumps(e.index, p.counts);
        }
        if (removedCuts || addedCuts) {
            return null;
        }
        if (e.index == cutAt && e.removed != null) {
            return null;
        }
        NameMap<Integer> counts = p.counts;
        if (e.removed != null) {
            counts = add(counts, e.removed.jumpChain(), -1);
        }
        if (e.added != null) {
            counts = add(counts, e.added.jumpChain(), 1);
        }
        int shift = (e.added != null ? 1 : 0) - (e.removed != null ? 1 : 0);
        return new Jumps(cutAt < 0 ? -1 : cutAt + shift, counts);
    }

    private static NameMap<Integer> add(NameMap<Integer> counts, String target, int delta) {
        if (target == null) {
            return counts;
        }
        Integer have = counts.get(target);
        int n = (have == null ? 0 : have) + delta;
        return n == 0 ? counts.remove(target) : counts.put(target, n);
    }

    /** What {@link #forEachJumpChange} reports: a chain that became a jump target, or stopped being one. */
    public interface JumpChange {
        void changed(String chain, boolean jumpedTo);
    }

    /**
     * Calls {@code action} for each chain that {@code earlier} jumps to and this list does not, or the other
     * way round (up to the first unconditional verdict, as {@link #jumpTargets}). When this list was made
     * from {@code earlier} by a few changes, this costs those changes, not the chains' lengths.
     */
    public void forEachJumpChange(RuleList earlier, JumpChange action) {
        jumpCounts().counts.forEachChange(earlier.jumpCounts().counts, (name, before, after) -> {
            if (before == null || after == null) {
                action.changed(name, after != null);
            }
        });
    }

    /** Calls {@code action} for each chain these rules jump to before the first unconditional verdict, in name order. */
    public void forEachJumpTarget(Consumer<String> action) {
        jumpCounts().counts.forEach((name, n) -> action.accept(name));
    }

    /** The position of the first unconditional verdict (the end of the kernel's walk), or -1. */
    public int cutIndex() {
        return jumpCounts().cut;
    }
}
