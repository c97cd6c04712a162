package org.jnetfilter.core.ipset;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.random.RandomGenerator;

/**
 * The sets of one network namespace (the kernel's {@code ip_set_list} of a netns): create, destroy, flush,
 * rename and swap with the kernel's checks and messages, and lookup by name for the set match and the SET
 * target (a lock-free map read; allocation-free).
 *
 * <p>Control-plane operations are serialised on this object. {@link #current()} is the namespace the
 * {@code set} match and {@code SET} target of this JVM resolve names in (one JVM, one namespace, as the
 * recent match's lists); a command-line program installs the namespace it loaded from its state.
 */
public final class Ipsets {
    // ipset: IPSET_MAXNAMELEN - 1
    public static final int MAX_NAME = 31;

    private static volatile Ipsets current;
    private static volatile java.util.function.Supplier<Ipsets> loader = Ipsets::new;
    private static volatile boolean loaded;

    private final ConcurrentHashMap<String, IpSet> byName = new ConcurrentHashMap<>();
    private long changes;

    /** How many changes the namespace's control plane made: a command compares it to know whether to store. */
    public synchronized long changes() {
        return changes;
    }

    /** Set names by the kernel's set index; null for a free index, which the next create takes. */
    private final CopyOnWriteArrayList<String> order = new CopyOnWriteArrayList<>();

    private java.util.function.ToIntFunction<String> ruleReferences = name -> 0;

    /** The namespace of this JVM; the first call loads it with the installed loader (empty by default). */
    public static Ipsets current() {
        Ipsets c = current;
        if (c == null) {
            synchronized (Ipsets.class) {
                c = current;
                if (c == null) {
                    c = loader.get();
                    current = c;
                    loaded = true;
                }
            }
        }
        return c;
    }

    /** Makes {@code sets} the namespace of this JVM. */
    public static synchronized void install(Ipsets sets) {
        current = sets;
        loaded = false;
    }

    /** The stored sets changed: a namespace the loader gave is loaded again when next needed. */
    public static synchronized void storedSetsChanged() {
        if (loaded) {
            current = null;
        }
    }

    /**
     * Makes the namespace of this JVM the one {@code load} gives, loaded when a rule first names a set (a
     * command-line program installs the sets of its state directory).
     */
    public static synchronized void installLoader(java.util.function.Supplier<Ipsets> load) {
        loader = load;
        current = null;
        loaded = false;
    }

    /**
     * Where the references of iptables rules to sets come from (the rules hold them as the kernel's
     * xt_set holds a set's reference count): consulted by destroy, rename and listings.
     */
    public void ruleReferences(java.util.function.ToIntFunction<String> count) {
        ruleReferences = count;
    }

    /** References to the set named {@code name}: list:set members and iptables rules (ipset's "References"). */
    public int references(String name) {
        IpSet s = require(name);
        return s.references() + ruleReferences.applyAsInt(name);
    }

    /** The set named {@code name}, or null. Packet thread safe; allocates nothing. */
    public IpSet get(String name) {
        return byName.get(name);
    }

    /** The set named {@code name}, or the kernel's "does not exist" error. */
    public IpSet require(String name) {
        IpSet s = byName.get(name);
        if (s == null) {
            throw IpsetException.error("The set with the given name does not exist");
        }
        return s;
    }

    /** Set names by index, null for a free index: what a stored state keeps to restore the indices. */
    public List<String> slots() {
        return new ArrayList<>(order);
    }

    /**
     * Puts the sets at the indices {@code slots} gives (null: a free index), as a stored state recorded them
     * with {@link #slots()}. The names must be the sets' names.
     */
    public synchronized void arrange(List<String> slots) {
        if (!new java.util.HashSet<>(names()).equals(new java.util.HashSet<>(
                slots.stream().filter(java.util.Objects::nonNull).toList()))) {
            throw new IllegalArgumentException("slots " + slots + " do not name the sets " + names());
        }
        order.clear();
        order.addAll(slots);
    }

    /** Set names in index order. */
    public List<String> names() {
        return order.stream().filter(java.util.Objects::nonNull).toList();
    }

    /**
     * Sets in the order the kernel dumps them: every set but the list:set ones first, then those (so a
     * restore of a save creates member sets before the lists holding them).
     */
    public List<IpSet> dumpOrder() {
        List<IpSet> out = new ArrayList<>();
        List<IpSet> lists = new ArrayList<>();
        for (String n : names()) {
            IpSet s = byName.get(n);
            (s.type() == SetType.LIST_SET ? lists : out).add(s);
        }
        out.addAll(lists);
        return out;
    }

    /**
     * Creates a set (Linux: ip_set_create). With {@code exist}, a set of the same name, type and options is
     * no error; the random initval of {@code options} (0: draw one) is then ignored.
     */
    public synchronized IpSet create(String name, SetType type, CreateOptions options, boolean exist,
            RandomGenerator random) {
        IpSet old = byName.get(name);
        if (old != null) {
            boolean same = old.type() == type && options.withInitval(0).equals(old.options().withInitval(0));
            if (exist && same) {
                return old;
            }
            throw IpsetException.error("Set cannot be created: set with the same name already exists");
        }
        CreateOptions o = type.kind() == SetType.Kind.HASH && options.initval() == 0
                ? options.withInitval(random.nextLong() & 0xFFFFFFFFL) : options;
        IpSet s = new IpSet(name, type, o);
        changes++;
        byName.put(name, s);
        // Linux: ip_set_create takes the first free index
        int free = order.indexOf(null);
        if (free < 0) {
            order.add(name);
        } else {
            order.set(free, name);
        }
        return s;
    }

    /** Destroys one set, or every set when {@code name} is null (all or none: any referenced set refuses). */
    public synchronized void destroy(String name) {
        if (name == null) {
            for (String n : names()) {
                if (references(n) > 0) {
                    throw IpsetException.error("Set cannot be destroyed: it is in use by a kernel component");
                }
            }
            for (IpSet s : byName.values()) {
                unreferenceMembers(s);
            }
            byName.clear();
            order.clear();
        changes++;
            return;
        }
        IpSet s = require(name);
        if (references(name) > 0) {
            throw IpsetException.error("Set cannot be destroyed: it is in use by a kernel component");
        }
        unreferenceMembers(s);
        byName.remove(name);
        order.set(order.indexOf(name), null);
        changes++;
    }

    private void unreferenceMembers(IpSet s) {
        if (s.type() == SetType.LIST_SET) {
            for (String m : s.memberNames()) {
                IpSet member = byName.get(m);
                if (member != null) {
                    member.reference(-1);
                }
            }
        }
    }

    /** Flushes one set, or every set when {@code name} is null. */
    public synchronized void flush(String name) {
        for (IpSet s : name == null ? dumpOrder() : List.of(require(name))) {
            unreferenceMembers(s);
            s.flush();
        changes++;
        }
    }

    /** Renames (Linux: ip_set_rename): a referenced set cannot be renamed. */
    public synchronized void rename(String from, String to) {
        IpSet s = require(from);
        if (references(from) > 0) {
            throw IpsetException.error("Set cannot be renamed: it is in use by another system");
        }
        if (byName.containsKey(to)) {
            throw IpsetException.error("Set cannot be renamed: a set with the new name already exists");
        }
        IpSet r = s.renamed(to);
        byName.put(to, r);
        byName.remove(from);
        order.set(order.indexOf(from), to);
        changes++;
    }

    /**
     * Swaps two sets' contents and names (Linux: ip_set_swap): same type and family required; references
     * stay with the names, as the kernel keeps them with the set index.
     */
    public synchronized void swap(String a, String b) {
        IpSet x = require(a);
        IpSet y = byName.get(b);
        if (y == null) {
            throw IpsetException.error("Sets cannot be swapped: the second set does not exist");
        }
        if (x.type() != y.type() || x.family() != y.family()) {
            throw IpsetException.error("The sets cannot be swapped: their type does not match");
        }
        IpSet nx = y.renamed(a);
        IpSet ny = x.renamed(b);
        int rx = x.references();
        int ry = y.references();
        nx.reference(rx - nx.references());
        ny.reference(ry - ny.references());
        byName.put(a, nx);
        byName.put(b, ny);
        changes++;
    }

    /** Adds to a set; for list:set members the checks and references of list_set_uadt. */
    public synchronized void add(IpSet set, Element e, IpSet.AddParams p, boolean exist, long now,
            RandomGenerator random, int where, String ref) {
        if (set.type() == SetType.LIST_SET) {
            IpSet member = memberOf(e);
            if (where != 0 && !byName.containsKey(ref)) {
                throw IpsetException.error(
                        "The set to which you referred with 'before' or 'after' does not exist.");
            }
            boolean present = set.memberNames().contains(e.name);
            set.add(e, p, exist, now, random, where, ref);
            changes++;
            if (!present) {
                member.reference(+1);
            }
            return;
        }
        set.add(e, p, exist, now, random);
        changes++;
    }

    /** Deletes from a set, dropping a list:set member's reference. */
    public synchronized void del(IpSet set, Element e, boolean exist, long now) {
        if (set.type() == SetType.LIST_SET) {
            IpSet member = memberOf(e);
            boolean present = set.memberNames().contains(e.name);
            set.del(e, exist, now);
            changes++;
            if (present) {
                member.reference(-1);
            }
            return;
        }
        set.del(e, exist, now);
        changes++;
    }

    private IpSet memberOf(Element e) {
        IpSet member = byName.get(e.name);
        if (member == null) {
            throw IpsetException.error("Set to be added/deleted/tested as element does not exist.");
        }
        if (member.type() == SetType.LIST_SET) {
            throw IpsetException.error("Sets with list:set type cannot be added to the set.");
        }
        return member;
    }
}
