package org.jnetfilter.core.classify;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.rules.Family;

/**
 * One hash table of a tuple-space classifier: entries hashed on the fields of a tuple (the first
 * {@code srcLen} bits of the source, {@code dstLen} of the destination, and, when set, protocol,
 * source port, destination port, input and output device), each bucket holding the entries of
 * one masked key sorted by order key. As in TupleMerge (Daly, Bruschi, Linguaglossa, Pontarelli,
 * Rossi, Tollet, Torng, Yourtchenko, "TupleMerge: Fast Software Packet Processing for Online
 * Packet Classification", IEEE/ACM ToN 2019) an entry may sit in a table whose tuple is less
 * specific than its own, so few tables serve many tuples; a bucket then holds entries that share
 * only the hashed part, and each entry's own test sorts them out. Different keys that hash to the
 * same 64-bit value share a bucket the same way.
 *
 * <p>{@link #minKey} and {@link #maxKey} bound the order keys inside (loosely after removals), so
 * a search for the first match can stop before a table that cannot improve on what it found.
 *
 * <p>Immutable. {@link Editor} makes a changed copy that shares every bucket it does not touch
 * (copy-on-write): the slot arrays are copied, the buckets are not.
 *
 * <p>Hot path: {@link #first} allocates nothing.
 */
final class TupleTable {
    private static final long P1 = 0x9E3779B97F4A7C15L;
    private static final long P2 = 0xC2B2AE3D27D4EB4FL;
    private static final long P3 = 0x165667B19E3779F9L;
    private static final long P4 = 0xD6E8FEB86659FD93L;
    private static final long P5 = 0xFF51AFD7ED558CCDL;
    private static final long P6 = 0xC4CEB9FE1A85EC53L;
    private static final Entry[] EMPTY = new Entry[0];

    final Tuple tuple;
    private final long srcMaskHi;
    private final long srcMaskLo;
    private final long dstMaskHi;
    private final long dstMaskLo;
    private final int protocolMask;
    private final int sportMask;
    private final int dportMask;
    private final int inMask;
    private final int outMask;

    /**
     * Open addressing over slots in chunks of up to {@link #CHUNK} (so a change copies the chunk it
     * touches, not the table): slot i is {@code hashes[i >>> chunkBits][i & chunkMask]}. A hash of 0
     * marks an empty slot; else the slot holds the bucket of that 64-bit hash of a masked key.
     */
    private final long[][] hashes;
    private final Entry[][][] buckets;
    private final int chunkBits;
    private final int capacity;
    private final int used;
    final int entries;
    final long minKey;
    final long maxKey;

    /** The hashed part of a table: prefix lengths and which exact fields. */
    record Tuple(Family family, int srcLen, int dstLen, boolean protocol, boolean sport, boolean dport, boolean in,
                 boolean out) {

        static Tuple of(Entry e, Family family) {
            return new Tuple(family, e.srcLen(), e.dstLen(), e.protocol != Entry.ANY_PROTOCOL, e.sportExact(),
                    e.dportExact(), e.inExact(), e.outExact());
        }

        /** Whether {@code e} can be hashed on this tuple: it is at least as specific in every field. */
        boolean fits(Entry e) {
            return srcLen <= e.srcLen() && dstLen <= e.dstLen() && (!protocol || e.protocol != Entry.ANY_PROTOCOL)
                    && (!sport || e.sportExact()) && (!dport || e.dportExact()) && (!in || e.inExact())
                    && (!out || e.outExact());
        }

        /**
         * The tuple a new table gets for an entry: prefix lengths rounded down (IPv4 to 0/16/32, IPv6 to
         * multiples of 32) and the source port not hashed (an exact source port is rare beside an exact
         * destination port), so that many tuples share a table. Entries that crowd a bucket of it past
         * the collision limit get a table of their exact tuple instead.
         */
        Tuple relaxed() {
            return new Tuple(family, relax(srcLen), relax(dstLen), protocol, false, dport, in, out);
        }

        private int relax(int len) {
            if (len == family.addressBits()) {
                return len;
            }
            return family == Family.IPV4 ? len & ~15 : len & ~31;
        }
    }

    private TupleTable(Tuple tuple, long[][] hashes, Entry[][][] buckets, int chunkBits, int used, int entries,
                       long minKey, long maxKey) {
        this.tuple = tuple;
        this.hashes = hashes;
        this.buckets = buckets;
        this.chunkBits = chunkBits;
        this.capacity = hashes.length << chunkBits;
        this.used = used;
        this.entries = entries;
        this.minKey = minKey;
        this.maxKey = maxKey;
        long[] s = mask(tuple.family(), tuple.srcLen());
        long[] d = mask(tuple.family(), tuple.dstLen());
        srcMaskHi = s[0];
        srcMaskLo = s[1];
        dstMaskHi = d[0];
        dstMaskLo = d[1];
        protocolMask = tuple.protocol() ? 0xFF : 0;
        sportMask = tuple.sport() ? 0xFFFF : 0;
        dportMask = tuple.dport() ? 0xFFFF : 0;
        inMask = tuple.in() ? -1 : 0;
        outMask = tuple.out() ? -1 : 0;
    }

    /**
     * Slots per chunk at most: 2 KiB of hashes, 1 KiB of references. A change copies the chunks it touches and
     * the spine of chunks: at 20k entries (65,536 slots) 256 chunks of 256, about 3 KiB of chunk and 2 KiB of
     * spine, where chunks of 1,024 copied 12 KiB of mostly uncached chunk per change.
     */
    static final int CHUNK_BITS = 8;

    static TupleTable empty(Tuple tuple) {
        return new TupleTable(tuple, new long[][] {new long[8]}, new Entry[][][] {new Entry[8][]}, 3, 0, 0,
                Long.MAX_VALUE, Long.MIN_VALUE);
    }

    /** {hi, lo} of a prefix of {@code len} bits, addresses kept as IpNet keeps them. */
    static long[] mask(Family family, int len) {
        if (family == Family.IPV4) {
            return new long[] {0, len == 0 ? 0 : (0xFFFFFFFFL << (32 - len)) & 0xFFFFFFFFL};
        }
        long hi = len == 0 ? 0 : len >= 64 ? -1L : -1L << (64 - len);
        long lo = len <= 64 ? 0 : len == 128 ? -1L : -1L << (128 - len);
        return new long[] {hi, lo};
    }

    /**
     * The hash of a masked key: the masked addresses in one product (IPv4; IPv6 adds its high halves),
     * protocol and ports in a second, devices in a third, folded. Two different keys may hash alike:
     * they then share a bucket, and the entries' own tests tell them apart.
     */
    private long hash(long sHi, long sLo, long dHi, long dLo, int protocol, int sport, int dport, int inHash,
                      int outHash) {
        long h = ((sLo & srcMaskLo) * P1) ^ Long.rotateLeft((dLo & dstMaskLo) * P2, 32);
        h ^= ((sHi & srcMaskHi) * P3) ^ ((dHi & dstMaskHi) * P4);
        h ^= (((long) (protocol & protocolMask) << 32) | ((long) (sport & sportMask) << 16) | (dport & dportMask)) * P5;
        h ^= (((long) (inHash & inMask) << 32) ^ (outHash & outMask)) * P6;
        h ^= h >>> 31;
        return h == 0 ? 1 : h;
    }

    long hashOf(Entry e) {
        return hash(e.srcHi(), e.srcLo, e.dstHi(), e.dstLo, e.protocol, e.sportLo, e.dportLo,
                e.in == null ? 0 : e.in.hashCode(), e.out == null ? 0 : e.out.hashCode());
    }

    private static int slot(long h, int mask) {
        return (int) (h ^ (h >>> 32)) & mask;
    }

    /**
     * The entry with the least order key above {@code after} and below {@code bound} that matches
     * the packet, or null.
     */
    Entry first(PacketKey k, long mark, long after, long bound) {
        long h = hash(k.srcHi, k.srcLo, k.dstHi, k.dstLo, k.protocol, k.sport, k.dport, k.inHash, k.outHash);
        int cb = chunkBits;
        int cm = (1 << cb) - 1;
        int mask = capacity - 1;
        long[][] hs = hashes;
        int i = slot(h, mask);
        while (true) {
            long s = hs[i >>> cb][i & cm];
            if (s == h) {
                break;
            }
            if (s == 0) {
                return null;
            }
            i = (i + 1) & mask;
        }
        Entry[] b = buckets[i >>> cb][i & cm];
        int n = b.length;
        int j = 0;
        if (n > 0 && b[0].key <= after) {
            j = firstAbove(b, after);
        }
        for (; j < n; j++) {
            Entry e = b[j];
            if (e.key >= bound) {
                return null;
            }
            if (e.matches(k, mark)) {
                return e;
            }
        }
        return null;
    }

    private static int firstAbove(Entry[] b, long after) {
        int lo = 0;
        int hi = b.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (b[mid].key <= after) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private Entry[] bucket(long h) {
        int i = find(h);
        return i < 0 ? EMPTY : buckets[i >>> chunkBits][i & ((1 << chunkBits) - 1)];
    }

    /** Entries in the bucket of hash {@code h}. */
    int bucketSize(long h) {
        return bucket(h).length;
    }

    /** Whether the bucket of hash {@code h} holds an entry of order key {@code key}. */
    boolean holds(long h, long key) {
        for (Entry x : bucket(h)) {
            if (x.key == key) {
                return true;
            }
        }
        return false;
    }

    /** The slot holding hash {@code h}, or -1. */
    private int find(long h) {
        int mask = capacity - 1;
        int cm = (1 << chunkBits) - 1;
        for (int i = slot(h, mask); ; i = (i + 1) & mask) {
            long s = hashes[i >>> chunkBits][i & cm];
            if (s == h) {
                return i;
            }
            if (s == 0) {
                return -1;
            }
        }
    }

    /** Slots and references the table holds (for memory figures), entries not included. */
    long footprintBytes() {
        long b = 96 + hashes.length * 40L + capacity * 12L;
        for (Entry[][] chunk : buckets) {
            for (Entry[] bucket : chunk) {
                if (bucket != null) {
                    b += 16 + bucket.length * 4L;
                }
            }
        }
        return b;
    }

    void forEachEntry(java.util.function.Consumer<Entry> action) {
        for (Entry[][] chunk : buckets) {
            for (Entry[] bucket : chunk) {
                if (bucket != null) {
                    for (Entry e : bucket) {
                        action.accept(e);
                    }
                }
            }
        }
    }

    Editor edit() {
        return new Editor(this);
    }

    /**
     * Changes to a table, made into a new table by {@link #done}: touched buckets are rebuilt, the
     * others shared with the table edited.
     */
    static final class Editor {
        final TupleTable base;
        /** The buckets touched, by hash, sorted by order key. */
        private final Map<Long, List<Entry>> touched = new HashMap<>();
        private int entries;
        private long minKey;
        private long maxKey;

        Editor(TupleTable base) {
            this.base = base;
            this.entries = base.entries;
            this.minKey = base.minKey;
            this.maxKey = base.maxKey;
        }

        Tuple tuple() {
            return base.tuple;
        }

        long hashOf(Entry e) {
            return base.hashOf(e);
        }

        int bucketSize(long h) {
            List<Entry> t = touched.get(h);
            return t != null ? t.size() : base.bucket(h).length;
        }

        private List<Entry> touch(long h) {
            return touched.computeIfAbsent(h, x -> new ArrayList<>(Arrays.asList(base.bucket(x))));
        }

        void add(Entry e) {
            List<Entry> b = touch(hashOf(e));
            int at = b.size();
            while (at > 0 && b.get(at - 1).key > e.key) {
                at--;
            }
            b.add(at, e);
            entries++;
            minKey = Math.min(minKey, e.key);
            maxKey = Math.max(maxKey, e.key);
        }

        /** Removes the entries of order key {@code key} from the bucket {@code e} hashes to; how many. */
        int remove(Entry e, long key) {
            long h = hashOf(e);
            if (!touched.containsKey(h) && !base.holds(h, key)) {
                return 0;
            }
            List<Entry> b = touch(h);
            int before = b.size();
            b.removeIf(x -> x.key == key);
            int removed = before - b.size();
            entries -= removed;
            return removed;
        }

        boolean changed() {
            return !touched.isEmpty();
        }

        TupleTable done() {
            if (touched.isEmpty()) {
                return base;
            }
            int newSlots = 0;
            for (Long h : touched.keySet()) {
                if (base.find(h) < 0) {
                    newSlots++;
                }
            }
            Slots slots;
            if ((base.used + newSlots) * 2L > base.capacity) {
                // grow: every live bucket into a table twice the size needed
                slots = new Slots(Integer.highestOneBit(Math.max(8, (base.used + newSlots) * 4 - 1)));
                for (int c = 0; c < base.hashes.length; c++) {
                    for (int j = 0; j < base.hashes[c].length; j++) {
                        long h = base.hashes[c][j];
                        Entry[] b = base.buckets[c][j];
                        if (h != 0 && b.length > 0 && !touched.containsKey(h)) {
                            slots.put(h, b);
                        }
                    }
                }
            } else {
                slots = new Slots(base);
            }
            for (Map.Entry<Long, List<Entry>> t : touched.entrySet()) {
                // a bucket emptied keeps its slot (a probe finds nothing there) until the table grows
                slots.put(t.getKey(), t.getValue().toArray(EMPTY));
            }
            return new TupleTable(base.tuple, slots.hashes, slots.buckets, slots.chunkBits, slots.used, entries,
                    entries == 0 ? Long.MAX_VALUE : minKey, entries == 0 ? Long.MIN_VALUE : maxKey);
        }
    }

    /** Chunked slot arrays being filled: fresh, or a copy of a table's that copies a chunk on its first change. */
    private static final class Slots {
        final long[][] hashes;
        final Entry[][][] buckets;
        final int chunkBits;
        final int capacity;
        final boolean[] own;
        int used;

        Slots(int capacity) {
            this.capacity = capacity;
            chunkBits = Math.min(CHUNK_BITS, Integer.numberOfTrailingZeros(capacity));
            int chunks = capacity >>> chunkBits;
            hashes = new long[chunks][1 << chunkBits];
            buckets = new Entry[chunks][1 << chunkBits][];
            own = new boolean[chunks];
            Arrays.fill(own, true);
        }

        Slots(TupleTable t) {
            capacity = t.capacity;
            chunkBits = t.chunkBits;
            hashes = t.hashes.clone();
            buckets = t.buckets.clone();
            own = new boolean[hashes.length];
            used = t.used;
        }

        void put(long h, Entry[] b) {
            int mask = capacity - 1;
            int cm = (1 << chunkBits) - 1;
            for (int i = slot(h, mask); ; i = (i + 1) & mask) {
                int c = i >>> chunkBits;
                long s = hashes[c][i & cm];
                if (s == h || s == 0) {
                    if (!own[c]) {
                        hashes[c] = hashes[c].clone();
                        buckets[c] = buckets[c].clone();
                        own[c] = true;
                    }
                    if (s == 0) {
                        hashes[c][i & cm] = h;
                        used++;
                    }
                    buckets[c][i & cm] = b;
                    return;
                }
            }
        }
    }
}
