package org.jnetfilter.iptables;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.Target;

/**
 * What the kernel checks when a table is replaced (ip_tables.c translate_table): no loops through jumps
 * (mark_source_chains), and every match and target accepts the table and the hooks its chain is reachable
 * from (xt_check_match / xt_check_target). A failure is EINVAL, or ELOOP for a loop.
 */
final class TableChecks {
    private TableChecks() {
    }

    static void check(Table table) {
        check(table, null);
    }

    /**
     * Checks {@code table} as the kernel checks a replaced table, but only the rules whose result can
     * differ from {@code previous} (a generation that passed): rules that are new, or whose chain is now
     * reached from other hooks. The kernel re-checks every rule on every replace; the outcome is the same
     * and one command on 160k rules stays cheap (rules kept as text are not parsed to be re-checked).
     */
    /** Tables with this many chains have their jump summaries made in parallel. */
    private static final int PARALLEL_FROM = 4096;

    static void check(Table table, Table previous) {
        if (previous != null && ReachUpdate.check(table, previous)) {
            return;
        }
        Map<String, Integer> previousHooks = previous == null ? Map.of() : hooksOf(previous);
        java.util.Set<String> recheck = new java.util.HashSet<>();
        Map<String, Integer> hooks = previous == null ? null : incrementalHooks(table, previous, previousHooks, recheck);
        Iterable<Chain> chains;
        if (hooks == null) {
            // the chains' jump summaries are made on all cores where the chains are numbered (a built
            // table's new chains have theirs already)
            List<Chain> all = table.chains();
            hooks = reachableHooks(table, all);
            chains = all;
        } else {
            List<Chain> l = new ArrayList<>();
            for (String name : recheck) {
                Chain c = table.chain(name);
                if (c != null) {
                    l.add(c);
                }
            }
            chains = l;
        }
        table.knowHookMasks(hooks);
        Map<String, Integer> masks = hooks;
        if (chains instanceof List<Chain> list && list.size() >= PARALLEL_FROM) {
            // chains are checked independently: on all cores first; when that fails, again in order, so
            // the error reported is the first one, as before
            try {
                list.parallelStream().forEach(c -> checkChain(table, previous, previousHooks, masks, c));
                return;
            } catch (RuntimeException e) {
                // fall through to the ordered pass
            }
        }
        for (Chain c : chains) {
            checkChain(table, previous, previousHooks, masks, c);
        }
    }

    private static void checkChain(Table table, Table previous, Map<String, Integer> previousHooks,
                                   Map<String, Integer> hooks, Chain c) {
        int mask = hooks.getOrDefault(c.name(), 0);
        Chain pc = previous == null ? null : previous.chain(c.name());
        if (pc == c && previousHooks.getOrDefault(c.name(), 0) == mask) {
            return;
        }
        List<Rule> appended = pc == null || previousHooks.getOrDefault(c.name(), 0) != mask ? null
                : c.rules().appendedTo(pc.rules());
        if (appended != null) {
            // only the appended rules are new; after an unconditional verdict they are never walked
            int tailMask = pc.rules().endsInVerdict() ? 0 : mask;
            for (Rule r : appended) {
                checkRule(table, r, tailMask);
                if (tailMask != 0 && endsWalk(r)) {
                    tailMask = 0;
                }
            }
            return;
        }
        Map<Rule, Integer> checked = pc == null ? Map.of() : ruleMasks(pc, previousHooks.getOrDefault(c.name(), 0));
        for (Rule r : c.rules()) {
            // Linux: rules after an unconditional verdict are never walked, so their comefrom (the
            // hook mask the checks see) stays 0
            int ruleMask = mask;
            if (mask != 0 && endsWalk(r)) {
                mask = 0;
            }
            Integer before = checked.get(r);
            if (before == null || before != ruleMask) {
                checkRule(table, r, ruleMask);
            }
        }
    }

    /** The table's hook masks: known (read or computed before) or computed now and remembered. */
    static Map<String, Integer> hooksOf(Table table) {
        Map<String, Integer> known = table.knownHookMasks();
        if (known == null) {
            known = reachableHooks(table);
            table.knowHookMasks(known);
        }
        return known;
    }

    /**
     * The hook masks of {@code table} from those of {@code previous} when the change only adds jumps (or
     * leaves them): each new jump C -> X carries C's hooks into X and what X reaches, and is a loop when X
     * reaches C. Collects in {@code recheck} the chains whose rules may need the kernel's checks again.
     * Null when the change removes a jump or a chain: then everything is recomputed.
     */
    private static Map<String, Integer> incrementalHooks(Table table, Table previous, Map<String, Integer> previousHooks,
                                                         java.util.Set<String> recheck) {
        Map<String, Integer> hooks = new HashMap<>(previousHooks);
        List<String[]> added = new ArrayList<>();
        boolean[] removal = {false};
        table.forEachChange(previous, (pc, c) -> {
            if (c == null) {
                // a chain no built-in chain reached takes no hooks with it
                if (previousHooks.getOrDefault(pc.name(), 0) != 0) {
                    removal[0] = true;
                }
                return;
            }
            recheck.add(c.name());
            String[] now = c.rules().jumpTargets();
            String[] was = pc == null ? new String[0] : pc.rules().jumpTargets();
            if (was.length == 0 && now.length == 0) {
                return;
            }
            java.util.Set<String> before = new java.util.HashSet<>(java.util.Arrays.asList(was));
            java.util.Set<String> nowSet = new java.util.HashSet<>(java.util.Arrays.asList(now));
            boolean reached = previousHooks.getOrDefault(c.name(), 0) != 0;
            for (String b : before) {
                if (!nowSet.contains(b) && previous.hasChain(b) && reached) {
                    removal[0] = true;
                    return;
                }
            }
            for (String t : now) {
                if (!before.contains(t) && table.hasChain(t)) {
                    added.add(new String[] {c.name(), t});
                }
            }
        });
        if (removal[0]) {
            return null;
        }
        for (String[] edge : added) {
            int from = hooks.getOrDefault(edge[0], 0);
            if (from == 0) {
                continue;
            }
            // any loop the kernel would now find runs through what this jump reaches (a new jump, or
            // old chains reached for the first time)
            cycleFrom(table, edge[1], new java.util.HashSet<>(), new java.util.HashSet<>());
            spread(table, edge[1], from, hooks, recheck);
        }
        return hooks;
    }

    private static void cycleFrom(Table table, String chain, java.util.Set<String> onPath, java.util.Set<String> done) {
        if (onPath.contains(chain)) {
            throw XtablesException.kernel("Too many levels of symbolic links");
        }
        if (!done.add(chain)) {
            return;
        }
        Chain c = table.chain(chain);
        if (c == null) {
            return;
        }
        onPath.add(chain);
        for (String next : c.rules().jumpTargets()) {
            cycleFrom(table, next, onPath, done);
        }
        onPath.remove(chain);
    }

    private static void spread(Table table, String chain, int bits, Map<String, Integer> hooks, java.util.Set<String> recheck) {
        int have = hooks.getOrDefault(chain, 0);
        if ((have | bits) == have) {
            return;
        }
        hooks.put(chain, have | bits);
        recheck.add(chain);
        Chain c = table.chain(chain);
        if (c == null) {
            return;
        }
        for (String next : c.rules().jumpTargets()) {
            spread(table, next, have | bits, hooks, recheck);
        }
    }

    private static Map<Rule, Integer> ruleMasks(Chain c, int mask) {
        Map<Rule, Integer> m = new java.util.IdentityHashMap<>(c.rules().size() * 2);
        int cur = mask;
        for (Rule r : c.rules()) {
            m.put(r, cur);
            if (cur != 0 && endsWalk(r)) {
                cur = 0;
            }
        }
        return m;
    }

    static boolean endsWalk(Rule r) {
        return r.isUnconditionalVerdict();
    }

    static void checkRule(Table table, Rule r, int mask) {
        for (Match m : r.spec().matches()) {
            m.data().check(table.name(), mask, r.ip());
        }
        if (r.target() instanceof Target.Extension e) {
            e.data().check(table.name(), mask, r.ip());
            if (e.data() instanceof org.jnetfilter.core.ext.MatchAwareCheck m) {
                m.checkMatches(r.spec().matches().stream().map(Match::data).toList());
            }
        }
    }

    /**
     * Hooks each chain is reachable from; throws ELOOP's message when a chain reaches itself, as
     * mark_source_chains does. Chains are numbered once and walked depth first per hook with an explicit
     * stack over int arrays (a Kubernetes node has 60k chains; the jump graph of a chain is read from its
     * rules' targets, no parsing). {@link #reachableHooksByRecursion} is the plain walk it must equal.
     * The jump edges carrying each hook into each chain are counted from the same numbered jumps and handed
     * to the table's snapshot ({@link Table#knowReachByPosition}): no second pass over the chains by name.
     */
    static Map<String, Integer> reachableHooks(Table table) {
        return reachableHooks(table, table.chains());
    }

    /** {@link #reachableHooks(Table)} over {@code chains}, the table's {@link Table#chains()} (a list made once). */
    static Map<String, Integer> reachableHooks(Table table, List<Chain> chains) {
        int n = chains.size();
        NameIndex indexByName = new NameIndex(chains);
        int[][] jumps = new int[n][];
        if (n >= PARALLEL_FROM) {
            // each chain's jumps depend on its rules and the names only: numbered on all cores before the walk
            java.util.stream.IntStream.range(0, n).parallel()
                    .forEach(i -> jumps[i] = jumpIndexes(chains.get(i), indexByName));
        }
        int[] masks = new int[n];
        boolean[] onPath = new boolean[n];
        int[] stack = new int[n];
        int[] next = new int[n];
        for (Chain builtin : table.builtinChains()) {
            int bit = Hook.valueOf(builtin.name()).bit();
            int root = indexByName.get(builtin.name());
            if ((masks[root] & bit) != 0) {
                continue;
            }
            masks[root] |= bit;
            onPath[root] = true;
            int depth = 0;
            stack[0] = root;
            next[0] = 0;
            while (depth >= 0) {
                int at = stack[depth];
                int[] out = jumps[at];
                if (out == null) {
                    out = jumps[at] = jumpIndexes(chains.get(at), indexByName);
                }
                if (next[depth] < out.length) {
                    int to = out[next[depth]++];
                    if (onPath[to]) {
                        throw XtablesException.kernel("Too many levels of symbolic links");
                    }
                    if ((masks[to] & bit) == 0) {
                        masks[to] |= bit;
                        onPath[to] = true;
                        depth++;
                        stack[depth] = to;
                        next[depth] = 0;
                    }
                } else {
                    onPath[at] = false;
                    depth--;
                }
            }
        }
        table.knowReachByPosition(reachByPosition(masks, jumps));
        // sized for every chain at once (60k on a Kubernetes node): no rehashing as it fills
        Map<String, Integer> hooks = new HashMap<>(n * 2);
        for (int i = 0; i < n; i++) {
            if (masks[i] != 0) {
                hooks.put(chains.get(i).name(), masks[i]);
            }
        }
        return hooks;
    }

    /**
     * Per chain, in the order numbered: its hook mask, then for each hook the jump edges from chains it
     * reaches that carry it in (as {@link ReachUpdate#supports} counts them by name). A chain no hook
     * reaches adds no edges; its jumps may not be numbered.
     */
    private static int[] reachByPosition(int[] masks, int[][] jumps) {
        int stride = Table.REACH_STRIDE;
        int[] out = new int[masks.length * stride];
        for (int i = 0; i < masks.length; i++) {
            int m = masks[i];
            out[i * stride] |= m;
            if (m == 0) {
                continue;
            }
            for (int to : jumps[i]) {
                // Hook.bit() is 1 << ordinal: each hook of the mask, lowest first
                for (int bits = m; bits != 0; bits &= bits - 1) {
                    out[to * stride + 1 + Integer.numberOfTrailingZeros(bits)]++;
                }
            }
        }
        return out;
    }

    /** The numbers of the existing chains {@code chain} jumps or goes to, each once. */
    private static int[] jumpIndexes(Chain chain, NameIndex indexByName) {
        String[] targets = chain.rules().jumpTargets();
        int[] out = new int[targets.length];
        int k = 0;
        for (String t : targets) {
            int i = indexByName.get(t);
            if (i >= 0) {
                out[k++] = i;
            }
        }
        return k == out.length ? out : java.util.Arrays.copyOf(out, k);
    }

    /**
     * A table's chain names to their positions in its chain list, by open addressing over the names' own
     * (cached) hashes: no entry object or boxed position per chain. A restore of a Kubernetes node numbers
     * 60k chains with it before the walk; built on one thread, then only read (on all cores).
     */
    static final class NameIndex {
        private final List<Chain> chains;
        /** Position + 1 of the chain whose name hashes here, 0 for an empty slot; a power of two, at most half full. */
        private final int[] slots;
        private final int shift;

        NameIndex(List<Chain> chains) {
            this.chains = chains;
            int bits = Math.max(2, 33 - Integer.numberOfLeadingZeros(Math.max(1, chains.size())));
            slots = new int[1 << bits];
            shift = 32 - bits;
            int mask = slots.length - 1;
            for (int i = 0; i < chains.size(); i++) {
                int at = slot(chains.get(i).name());
                while (slots[at] != 0) {
                    at = (at + 1) & mask;
                }
                slots[at] = i + 1;
            }
        }

        private int slot(String name) {
            // Fibonacci hashing: the high bits of the product spread names that differ in their low hash bits
            return (name.hashCode() * 0x9E3779B9) >>> shift;
        }

        /** The position of the chain named {@code name}, or -1 when the table has none. */
        int get(String name) {
            int mask = slots.length - 1;
            for (int at = slot(name); ; at = (at + 1) & mask) {
                int s = slots[at];
                if (s == 0) {
                    return -1;
                }
                if (chains.get(s - 1).name().equals(name)) {
                    return s - 1;
                }
            }
        }
    }

    /** The reference walk: recursive, over maps by name, as mark_source_chains reads. */
    static Map<String, Integer> reachableHooksByRecursion(Table table) {
        Map<String, Chain> chainByName = new HashMap<>();
        for (Chain c : table.chains()) {
            chainByName.put(c.name(), c);
        }
        Map<String, String[]> jumpsByChain = new HashMap<>();
        Map<String, Integer> hooks = new HashMap<>();
        for (Chain c : table.builtinChains()) {
            visit(chainByName, jumpsByChain, c.name(), Hook.valueOf(c.name()).bit(), hooks, new java.util.HashSet<>());
        }
        return hooks;
    }

    private static void visit(Map<String, Chain> chainByName, Map<String, String[]> jumpsByChain, String chain,
                              int hook, Map<String, Integer> hooks, java.util.Set<String> onPath) {
        if (onPath.contains(chain)) {
            throw XtablesException.kernel("Too many levels of symbolic links");
        }
        int have = hooks.getOrDefault(chain, 0);
        if ((have & hook) != 0) {
            return;
        }
        hooks.put(chain, have | hook);
        onPath.add(chain);
        for (String target : jumpsByChain.computeIfAbsent(chain, n -> jumps(chainByName, chainByName.get(n)))) {
            visit(chainByName, jumpsByChain, target, hook, hooks, onPath);
        }
        onPath.remove(chain);
    }

    /** The chains {@code chain} jumps or goes to that exist, each once, up to its first unconditional verdict. */
    private static String[] jumps(Map<String, Chain> chainByName, Chain chain) {
        String[] all = chain.rules().jumpTargets().clone();
        int n = 0;
        for (String t : all) {
            if (chainByName.containsKey(t)) {
                all[n++] = t;
            }
        }
        return n == all.length ? all : java.util.Arrays.copyOf(all, n);
    }
}
