package org.jnetfilter.core.rules;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * One table of one family: its built-in chains (in hook order) and its user chains (sorted by name, as
 * libiptc keeps them). Immutable; changes return a new table sharing the unchanged chains.
 */
public final class Table {
    private final TableKind kind;
    private final Family family;
    private final Map<String, Chain> builtinByName;
    private final ChainMap userByName;

    private Table(TableKind kind, Family family, Map<String, Chain> builtinByName, ChainMap userByName) {
        this.kind = kind;
        this.family = family;
        this.builtinByName = builtinByName;
        this.userByName = userByName;
    }

    /** A table as the kernel creates it: built-in chains empty with policy ACCEPT. */
    public static Table initial(TableKind kind, Family family) {
        Map<String, Chain> builtins = new LinkedHashMap<>();
        for (Hook h : kind.hooks()) {
            builtins.put(h.name(), Chain.builtin(h.name()));
        }
        return new Table(kind, family, Collections.unmodifiableMap(builtins), ChainMap.empty());
    }

    /**
     * A table from its chains: the built-in ones (in any order; missing ones are created empty) and the
     * user chains sorted by name.
     */
    public static Table of(TableKind kind, Family family, List<Chain> builtins, List<Chain> sortedUserChains) {
        Map<String, Chain> b = new LinkedHashMap<>();
        for (Hook h : kind.hooks()) {
            b.put(h.name(), Chain.builtin(h.name()));
        }
        for (Chain c : builtins) {
            b.put(c.name(), c);
        }
        for (int i = 1; i < sortedUserChains.size(); i++) {
            if (sortedUserChains.get(i - 1).name().compareTo(sortedUserChains.get(i).name()) >= 0) {
                throw new IllegalArgumentException("user chains not sorted at " + sortedUserChains.get(i).name());
            }
        }
        return new Table(kind, family, Collections.unmodifiableMap(b), ChainMap.fromSorted(sortedUserChains));
    }

    /**
     * A table whose {@code userCount} user chains, in name order, are made when a command first reaches them
     * (a state file's chain directory: one command on a 60k-chain table makes the chains it looks up or
     * changes); {@code name(i)} and {@code chain(i)} are asked once per chain, possibly from another thread.
     */
    public static Table ofLazy(TableKind kind, Family family, List<Chain> builtins, int userCount,
                               java.util.function.IntFunction<String> name, java.util.function.IntFunction<Chain> chain) {
        Map<String, Chain> b = new LinkedHashMap<>();
        for (Hook h : kind.hooks()) {
            b.put(h.name(), Chain.builtin(h.name()));
        }
        for (Chain c : builtins) {
            b.put(c.name(), c);
        }
        return new Table(kind, family, Collections.unmodifiableMap(b), ChainMap.lazy(userCount, name, chain));
    }

    public TableKind kind() {
        return kind;
    }

    public String name() {
        return kind.tableName();
    }

    public Family family() {
        return family;
    }

    public Chain chain(String name) {
        Chain c = builtinByName.get(name);
        return c != null ? c : userByName.get(name);
    }

    public boolean hasChain(String name) {
        return chain(name) != null;
    }

    public List<Chain> builtinChains() {
        return List.copyOf(builtinByName.values());
    }

    /** User chains by name, in name order; a copy. */
    public NavigableMap<String, Chain> userChains() {
        TreeMap<String, Chain> m = new TreeMap<>();
        userByName.forEach(c -> m.put(c.name(), c));
        return m;
    }

    public int userChainCount() {
        return userByName.size();
    }

    /** Built-in chains in hook order, then user chains by name: the order of -L, -S and iptables-save. */
    public List<Chain> chains() {
        List<Chain> all = new ArrayList<>(builtinByName.size() + userByName.size());
        all.addAll(builtinByName.values());
        userByName.forEach(all::add);
        return all;
    }

    public int ruleCount() {
        int n = 0;
        for (Chain c : builtinByName.values()) {
            n += c.rules().size();
        }
        int[] users = {0};
        userByName.forEach(c -> users[0] += c.rules().size());
        n += users[0];
        return n;
    }

    /** A table with {@code chain} put in place of the chain of the same name (added if user and new). */
    public Table with(Chain chain) {
        if (builtinByName.containsKey(chain.name())) {
            Map<String, Chain> b = new LinkedHashMap<>(builtinByName);
            Chain old = b.put(chain.name(), chain);
            Table t = new Table(kind, family, Collections.unmodifiableMap(b), userByName);
            t.references = carried(old, chain);
            return t;
        }
        Table t = new Table(kind, family, builtinByName, userByName.put(chain.name(), chain));
        if (references != null) {
            t.references = carried(userByName.get(chain.name()), chain);
        }
        return t;
    }

    /** This table's references, when known, with {@code before}'s rules replaced by {@code after}'s; else null. */
    private ChainReferences carried(Chain before, Chain after) {
        ChainReferences r = references;
        if (r == null) {
            return null;
        }
        String name = after != null ? after.name() : before.name();
        return r.replacing(name, before == null ? null : before.rules(), after == null ? null : after.rules());
    }

    /**
     * A table with each of {@code chains} put in place of the chain of the same name (user chains added
     * when new), as a run of {@link #with} would make it; many user chains at once are merged into the
     * sorted map in one pass instead of one path copy each.
     */
    public Table withAll(java.util.Collection<Chain> chains) {
        Table t = this;
        List<Chain> users = new ArrayList<>();
        for (Chain c : chains) {
            if (builtinByName.containsKey(c.name())) {
                t = t.with(c);
            } else {
                users.add(c);
            }
        }
        if (users.size() < 64 || users.size() < userByName.size() / 8) {
            for (Chain c : users) {
                t = t.with(c);
            }
            return t;
        }
        // a restore adds chains in file order (60k on a Kubernetes node): sorted on all cores
        Chain[] byName = users.toArray(new Chain[0]);
        java.util.Arrays.parallelSort(byName, BY_NAME);
        users = java.util.Arrays.asList(byName);
        List<Chain> merged = new ArrayList<>(users.size() + userByName.size());
        List<Chain> old = userByName.values();
        int i = 0;
        int j = 0;
        while (i < old.size() || j < users.size()) {
            if (j >= users.size()) {
                merged.add(old.get(i++));
            } else if (i >= old.size()) {
                merged.add(users.get(j++));
            } else {
                int c = old.get(i).name().compareTo(users.get(j).name());
                if (c < 0) {
                    merged.add(old.get(i++));
                } else if (c > 0) {
                    merged.add(users.get(j++));
                } else {
                    i++;
                }
            }
        }
        return new Table(kind, family, t.builtinByName, ChainMap.fromSorted(merged));
    }

    /** By name; a plain lambda rather than Comparator.comparing, whose key extractor costs a call per side. */
    private static final java.util.Comparator<Chain> BY_NAME = (a, b) -> a.name().compareTo(b.name());

    /** The table without its user chains (a restore that flushes the table). */
    public Table withoutUserChains() {
        return new Table(kind, family, builtinByName, ChainMap.empty());
    }

    public Table withoutUserChain(String name) {
        Table t = new Table(kind, family, builtinByName, userByName.remove(name));
        if (references != null) {
            Chain old = userByName.get(name);
            t.references = old == null ? references : carried(old, null);
        }
        return t;
    }

    /**
     * The hooks each chain is reached from (bits of {@link Hook#bit()}; absent = none), when known: derived
     * data, set by whoever computed it (the table checks) or read it (a state file), never changed after.
     */
    private volatile Map<String, Integer> hookMasks;

    /** Remembers the hook masks; the caller hands over {@code masks} and does not change it afterwards. */
    public void knowHookMasks(Map<String, Integer> masks) {
        hookMasks = Collections.unmodifiableMap(masks);
    }

    /** The hook reach with its jump counts (see {@link HookReach}), when computed for this generation. */
    private volatile HookReach reach;

    /** Remembers the reach, and the masks it holds. */
    public void knowReach(HookReach r) {
        reach = r;
        hookMasks = r.masks();
    }

    /** The reach, or null when not computed for this generation. */
    public HookReach knownReach() {
        return reach;
    }

    /** Ints per chain in {@link #knowReachByPosition}: the hook mask, then one edge count per hook. */
    public static final int REACH_STRIDE = 1 + Hook.values().length;

    /** Masks and edge counts by chain position, from a full walk, until the snapshot takes them. */
    private volatile int[] reachByPosition;

    /**
     * Hands over the hook masks and jump-edge counts of a full walk, per chain in {@link #chains()} order
     * ({@link #REACH_STRIDE} ints each), for {@link #takeReachByPosition} (a restore's snapshot writes them
     * without counting the edges again). A table no snapshot takes them from keeps them (24 bytes a chain).
     */
    public void knowReachByPosition(int[] entries) {
        reachByPosition = entries;
    }

    /** The entries of {@link #knowReachByPosition}, once (then null), or null when none were handed over. */
    public int[] takeReachByPosition() {
        int[] e = reachByPosition;
        reachByPosition = null;
        return e;
    }

    /** The hook masks, or null when not computed for this generation. */
    public Map<String, Integer> knownHookMasks() {
        return hookMasks;
    }

    /**
     * Calls {@code action(before, after)} for every chain that differs between {@code previous} and this
     * table (before null: added; after null: removed). Chains and subtrees of the user-chain map that the
     * two generations share are skipped unvisited: the cost follows the change, not the table.
     */
    public void forEachChange(Table previous, java.util.function.BiConsumer<Chain, Chain> action) {
        for (Chain c : builtinByName.values()) {
            Chain p = previous == null ? null : previous.builtinByName.get(c.name());
            if (p != c) {
                action.accept(p, c);
            }
        }
        userByName.forEachChange(previous == null ? ChainMap.empty() : previous.userByName, action);
    }

    /**
     * Which rules jump or go to which chain ({@link ChainReferences}): counted from the rules the first time a
     * table is asked, then carried by {@link #with} and {@link #withoutUserChain} through each change at the
     * cost of the rules it touched. Null until known.
     */
    private volatile ChainReferences references;

    private ChainReferences references() {
        ChainReferences r = references;
        if (r == null) {
            references = r = ChainReferences.count(this);
        }
        return r;
    }

    /** Number of rules in this table that jump or go to {@code chainName}: -L's "(N references)". */
    public int references(String chainName) {
        return references().count(chainName);
    }

    /** The chains holding rules that jump or go to {@code chainName}, in name order. */
    public List<String> referrers(String chainName) {
        List<String> out = new ArrayList<>(2);
        references().forEachReferrer(chainName, out::add);
        return out;
    }
}
