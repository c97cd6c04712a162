package org.jnetfilter.core.ipset;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.random.RandomGenerator;
import org.jnetfilter.core.rules.Family;

/**
 * One set: its type, create options and elements, with the kernel's add / del / test semantics
 * (ip_set_hash_gen.h, ip_set_bitmap_port.c, ip_set_list_set.c).
 *
 * <p>Design note. Every type keeps its elements in one {@link ConcurrentHashMap} from {@link Element} to
 * {@link Entry}: lookups are O(1), lock-free and allocation-free (the probe is a thread-local element filled
 * in place), and run concurrently with the control plane, which serialises itself on the set. The net types
 * keep beside it a count of elements per prefix length and the array of prefix lengths in use, most
 * specific first, and look an address up once per prefix length in use, as the kernel's
 * {@code mtype_test_cidrs} walks {@code h->nets}: the first (most specific) element found decides, a nomatch
 * element deciding "no". list:set keeps the member names in order besides; a match tries them in order.
 * Expired elements stay until the next change of the set or a listing (the kernel's garbage collector runs
 * periodically) and are invisible to every lookup meanwhile.
 *
 * <p>Element order in listings: the kernel lists hash buckets in hash order (which depends on a random
 * initval); here elements are listed in insertion order, bitmap:port in port order, list:set in list order.
 */
public final class IpSet {
    private final String name;
    private final SetType type;
    private final CreateOptions options;
    private final ConcurrentHashMap<Element, Entry> entries = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<String> members = new CopyOnWriteArrayList<>();
    private volatile String[] memberArray = new String[0];
    private final int[] elementsPerCidr = new int[129];
    private volatile int[] cidrsInUse = new int[0];
    private long nextSeq;
    private int references;
    private final ThreadLocal<Element> probe = ThreadLocal.withInitial(Element::new);

    IpSet(String name, SetType type, CreateOptions options) {
        this.name = name;
        this.type = type;
        this.options = options;
    }

    /** A copy under another name (what swap and rename need: sets are named in the namespace). */
    IpSet renamed(String newName) {
        IpSet s = new IpSet(newName, type, options);
        synchronized (this) {
            s.entries.putAll(entries);
            s.members.addAll(members);
            s.memberArray = memberArray;
            System.arraycopy(elementsPerCidr, 0, s.elementsPerCidr, 0, elementsPerCidr.length);
            s.cidrsInUse = cidrsInUse;
            s.nextSeq = nextSeq;
            s.references = references;
        }
        return s;
    }

    public String name() {
        return name;
    }

    public SetType type() {
        return type;
    }

    public CreateOptions options() {
        return options;
    }

    public Family family() {
        return options.family();
    }

    /** How many list:set sets and rules refer to this set (the kernel's ref count). */
    public synchronized int references() {
        return references;
    }

    synchronized void reference(int delta) {
        references += delta;
    }

    // ---- control plane ----

    /** What an add command carries besides the element: the extensions of ip_set_ext. */
    public record AddParams(long timeoutSeconds, long expiresAt, long packets, long bytes, String comment,
            boolean nomatch, long skbMark, long skbMarkMask, long skbPrio, int skbQueue) {
        /**
         * timeoutSeconds -1: the set's default; expiresAt: an absolute expiry (a stored element) instead, -1
         * none; packets/bytes -1: not given; skb fields -1: not given.
         */
        public static final AddParams NONE = new AddParams(-1, -1, -1, -1, null, false, -1, 0, -1, -1);

        public AddParams withTimeout(long seconds) {
            return new AddParams(seconds, -1, packets, bytes, comment, nomatch, skbMark, skbMarkMask, skbPrio,
                    skbQueue);
        }
    }

    /** The elements an element argument of a command stands for (ranges expanded). */
    public List<Element> parseElements(String text) {
        return ElementSyntax.parse(this, text);
    }

    /**
     * The keys whose entries decide an add, del or test of {@code e}: {@code e} itself and, for the net
     * types, its address under every prefix length ({@link #test} looks an address up in every network of
     * the set). A command that holds only these entries of a stored set answers as with every element.
     */
    public List<Element> decidingKeys(Element e) {
        if (!type.netFirst()) {
            return List.of(e);
        }
        List<Element> keys = new ArrayList<>();
        keys.add(e);
        for (int c = 0; c <= options.family().addressBits(); c++) {
            Element k = e.copy();
            applyMask(k, c);
            k.cidr = c;
            if (!k.equals(e)) {
                keys.add(k);
            }
        }
        return keys;
    }

    /** The element as ipset prints it. */
    public String format(Element e) {
        StringBuilder sb = new StringBuilder();
        ElementSyntax.print(sb, this, e);
        return sb.toString();
    }

    /**
     * Adds {@code e} (Linux: mtype_add / bitmap_port add / list_set_uadd). An element already present is an
     * error unless {@code exist}, which updates its extensions and nomatch flag instead. {@code before}:
     * list:set only, 0 plain append, +1 before / -1 after the member {@code ref}.
     */
    public synchronized void add(Element e, AddParams p, boolean exist, long now, RandomGenerator random) {
        add(e, p, exist, now, random, 0, null);
    }

    synchronized void add(Element e, AddParams p, boolean exist, long now, RandomGenerator random, int where,
            String ref) {
        checkElement(e, p);
        Entry old = entries.get(e);
        if (old != null && old.expired(now)) {
            remove(e);
            old = null;
        }
        if (old != null) {
            if (!exist) {
                throw IpsetException.error("Element cannot be added to the set: it's already added");
            }
            init(old, p, now, false);
            return;
        }
        if (type == SetType.LIST_SET) {
            expireMembers(now);
            if (members.size() >= options.size()) {
                throw IpsetException.error("The set is full, more elements cannot be added");
            }
        } else if (type.kind() == SetType.Kind.HASH && entries.size() >= options.maxelem()) {
            expire(now);
            if (entries.size() >= options.maxelem()) {
                if (!options.forceadd() || entries.isEmpty()) {
                    throw IpsetException.error("Hash is full, cannot add more elements");
                }
                // Linux: forceadd evicts an element of the bucket; here one chosen at random
                List<Element> keys = new ArrayList<>(entries.keySet());
                remove(keys.get(random.nextInt(keys.size())));
            }
        }
        Entry n = new Entry();
        init(n, p, now, true);
        n.seq = nextSeq++;
        Element key = e.copy();
        if (type == SetType.LIST_SET) {
            int at = members.size();
            if (where != 0) {
                int i = members.indexOf(ref);
                if (i < 0) {
                    throw IpsetException.error("Reference set does not exist.");
                }
                at = where > 0 ? i : i + 1;
            }
            members.add(at, key.name);
            memberArray = members.toArray(String[]::new);
        }
        entries.put(key, n);
        if (type.netFirst()) {
            countCidr(key.cidr, +1);
        }
    }

    /**
     * The kernel's uadt checks of an element before it is added or deleted, in the kernel's order with the
     * check of the set's extensions ({@code extensions}, which throws when the command uses one the set lacks).
     */
    public void checkElement(Element e, Runnable extensions) {
        if (type == SetType.BITMAP_PORT) {
            if (e.port < options.rangeFrom() || e.port > options.rangeTo()) {
                throw IpsetException.error("Element is out of the range of the set");
            }
            extensions.run();
            return;
        }
        extensions.run();
        if (type.netFirst() && e.cidr == 0) {
            throw IpsetException.error("The value of the CIDR parameter of the IP address is invalid");
        }
        if (type == SetType.HASH_IP && e.hi == 0 && e.lo == 0) {
            throw IpsetException.error("Null-valued element, cannot be stored in a hash type of set");
        }
    }

    private void checkElement(Element e, AddParams p) {
        if (p.nomatch && !type.hasNomatch()) {
            throw IpsetException.syntax("Argument `nomatch' is not supported in the kernel module of the set type "
                    + type.text());
        }
        if (type == SetType.BITMAP_PORT && (e.port < options.rangeFrom() || e.port > options.rangeTo())) {
            throw IpsetException.error("Element is out of the range of the set");
        }
    }

    private void init(Entry n, AddParams p, long now, boolean fresh) {
        if (options.hasTimeout()) {
            if (p.expiresAt() >= 0) {
                n.expiresAt = p.expiresAt();
            } else {
                long t = p.timeoutSeconds() >= 0 ? p.timeoutSeconds() : options.timeout();
                n.expiresAt = t == 0 ? Long.MAX_VALUE : now + t * 1_000_000_000L;
            }
        }
        if (options.counters()) {
            // Linux: ip_set_init_counter sets only the counters the command gives
            if (fresh) {
                n.setCounters(Math.max(0, p.packets()), Math.max(0, p.bytes()));
            } else {
                n.setCounters(p.packets() >= 0 ? p.packets() : n.packets(), p.bytes() >= 0 ? p.bytes() : n.bytes());
            }
        }
        if (options.comment()) {
            n.comment = p.comment();
        }
        if (options.skbinfo()) {
            n.skbMark = p.skbMark();
            n.skbMarkMask = p.skbMarkMask();
            n.skbPrio = p.skbPrio();
            n.skbQueue = p.skbQueue();
        }
        n.nomatch = p.nomatch();
    }

    /** Deletes {@code e}; absent (or expired) is an error unless {@code exist}. */
    public synchronized void del(Element e, boolean exist, long now) {
        Entry old = entries.get(e);
        if (type == SetType.BITMAP_PORT && (e.port < options.rangeFrom() || e.port > options.rangeTo())) {
            throw IpsetException.error("Element is out of the range of the set");
        }
        if (old == null || old.expired(now)) {
            if (old != null) {
                remove(e);
            }
            if (!exist) {
                throw IpsetException.error("Element cannot be deleted from the set: it's not added");
            }
            return;
        }
        remove(e);
    }

    private void remove(Element e) {
        Entry old = entries.remove(e);
        if (old == null) {
            return;
        }
        if (type == SetType.LIST_SET) {
            members.remove(e.name);
            memberArray = members.toArray(String[]::new);
        }
        if (type.netFirst()) {
            countCidr(e.cidr, -1);
        }
    }

    private void countCidr(int cidr, int delta) {
        int before = elementsPerCidr[cidr];
        elementsPerCidr[cidr] += delta;
        if ((before == 0) != (elementsPerCidr[cidr] == 0)) {
            int[] in = new int[129];
            int n = 0;
            for (int c = 128; c >= 0; c--) {
                if (elementsPerCidr[c] > 0) {
                    in[n++] = c;
                }
            }
            cidrsInUse = java.util.Arrays.copyOf(in, n);
        }
    }

    /** Removes every element (the kernel's flush). */
    public synchronized void flush() {
        entries.clear();
        members.clear();
        memberArray = new String[0];
        java.util.Arrays.fill(elementsPerCidr, 0);
        cidrsInUse = new int[0];
    }

    /** Drops expired elements (the kernel's periodic garbage collection). */
    public synchronized void expire(long now) {
        List<Element> gone = new ArrayList<>();
        for (Map.Entry<Element, Entry> me : entries.entrySet()) {
            if (me.getValue().expired(now)) {
                gone.add(me.getKey());
            }
        }
        gone.forEach(this::remove);
    }

    private void expireMembers(long now) {
        expire(now);
    }

    /**
     * The userspace test command (ip_set_utest): an address without a prefix in a net type is looked up
     * in every network of the set, most specific first; a nomatch element answers false.
     */
    public boolean test(Element e, long now) {
        Entry hit;
        if (type.netFirst() && e.cidr == options.family().addressBits()) {
            hit = lookupNets(e, now);
        } else {
            hit = entries.get(e);
            if (hit != null && hit.expired(now)) {
                hit = null;
            }
        }
        return hit != null && !hit.nomatch;
    }

    /** The number of live elements. */
    public int size(long now) {
        int n = 0;
        for (Entry en : entries.values()) {
            if (!en.expired(now)) {
                n++;
            }
        }
        return n;
    }

    /** The live entry of {@code e} (its extensions as they are now), or null when absent or expired. */
    public synchronized Entry entry(Element e, long now) {
        Entry en = entries.get(e);
        return en == null || en.expired(now) ? null : en;
    }

    /** Live elements in listing order. */
    public synchronized List<Map.Entry<Element, Entry>> elements(long now) {
        List<Map.Entry<Element, Entry>> out = new ArrayList<>();
        for (Map.Entry<Element, Entry> me : entries.entrySet()) {
            if (!me.getValue().expired(now)) {
                out.add(Map.entry(me.getKey(), me.getValue()));
            }
        }
        if (type == SetType.BITMAP_PORT) {
            out.sort(Comparator.comparingInt(me -> me.getKey().port));
        } else if (type == SetType.LIST_SET) {
            out.sort(Comparator.comparingInt(me -> members.indexOf(me.getKey().name)));
        } else if (out.size() < 1 << 24 && nextSeq < 1L << 39) {
            // insertion order by sorting seq and position packed in one long: a primitive sort, fast even
            // before the JIT has compiled anything (a command-line process sorting 100k elements)
            long[] keys = new long[out.size()];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = out.get(i).getValue().seq << 24 | i;
            }
            java.util.Arrays.sort(keys);
            List<Map.Entry<Element, Entry>> sorted = new ArrayList<>(keys.length);
            for (long k : keys) {
                sorted.add(out.get((int) (k & 0xFFFFFF)));
            }
            return sorted;
        } else {
            out.sort(Comparator.comparingLong(me -> me.getValue().seq));
        }
        return out;
    }

    /** Member set names of a list:set, in order. */
    List<String> memberNames() {
        return members;
    }

    // ---- packet plane ----

    /** The thread's probe element, cleared: fill it and pass it to {@link #lookup}. */
    Element probe() {
        Element p = probe.get();
        p.clear();
        return p;
    }

    /**
     * The entry a packet's key finds, or null: exact for the IP types, per prefix length in use for the net
     * types (the key's address unmasked). Expired elements are skipped; the caller checks nomatch.
     * Packet thread; allocates nothing.
     */
    Entry lookup(Element key, long now) {
        if (type.netFirst()) {
            return lookupNets(key, now);
        }
        if (type == SetType.HASH_IP) {
            int mask = options.netmask();
            if (mask != options.family().addressBits()) {
                applyMask(key, mask);
            }
            key.cidr = mask;
        }
        Entry e = entries.get(key);
        return e == null || e.expired(now) ? null : e;
    }

    private Entry lookupNets(Element key, long now) {
        long hi = key.hi;
        long lo = key.lo;
        for (int cidr : cidrsInUse) {
            key.hi = hi;
            key.lo = lo;
            applyMask(key, cidr);
            key.cidr = cidr;
            Entry e = entries.get(key);
            if (e != null && !e.expired(now)) {
                key.hi = hi;
                key.lo = lo;
                return e;
            }
        }
        key.hi = hi;
        key.lo = lo;
        return null;
    }

    /** Prefix lengths in use, most specific first (net types). Packet thread; the array is not to be changed. */
    int[] cidrs() {
        return cidrsInUse;
    }

    /** The live entry of exactly {@code key}, or null. Packet thread; allocates nothing. */
    Entry exact(Element key, long now) {
        Entry e = entries.get(key);
        return e == null || e.expired(now) ? null : e;
    }

    /** list:set: the entry of member {@code name}, or null. */
    Entry entryOfMember(String name) {
        Element p = probe();
        p.name = name;
        return entries.get(p);
    }

    /** list:set: the member names in order, as an array that is replaced, never changed. Packet thread. */
    String[] memberArray() {
        return memberArray;
    }

    void mask(Element key, int cidr) {
        applyMask(key, cidr);
    }

    private void applyMask(Element key, int cidr) {
        if (options.family() == Family.IPV4) {
            key.lo &= ElementSyntax.cidrMask4(cidr);
        } else {
            long mhi = cidr == 0 ? 0 : cidr >= 64 ? -1L : -1L << (64 - cidr);
            long mlo = cidr <= 64 ? 0 : cidr == 128 ? -1L : -1L << (128 - cidr);
            key.hi &= mhi;
            key.lo &= mlo;
        }
    }

    /** An estimate of the memory the set takes, for "Size in memory" (the kernel's figure differs). */
    public long memorySize() {
        return switch (type.kind()) {
            case HASH -> 200L + 16L * Integer.highestOneBit(Math.max(1, options.hashsize()))
                    / 64 + entries.size() * 48L;
            case BITMAP -> 128L + (options.rangeTo() - options.rangeFrom() + 1) / 8 + entries.size() * 32L;
            case LIST -> 128L + entries.size() * 32L;
        };
    }
}
