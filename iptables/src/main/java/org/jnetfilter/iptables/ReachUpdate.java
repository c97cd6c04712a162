package org.jnetfilter.iptables;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.HookReach;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;
import org.jnetfilter.core.rules.Table;

/**
 * The kernel's table checks (mark_source_chains, then each rule's match and target checks against the hooks
 * its chain is reached from) for a table that differs from a checked one by a few chains, at the cost of the
 * change: the jump edges that appeared or went are found from the chains' jump counts, the hook reach of
 * the previous generation ({@link HookReach}, with the number of edges carrying each hook into each chain)
 * is updated edge by edge, and only the rules that are new, or whose chain gained hooks, are checked.
 *
 * <pre>
 * for each edge that went,  with the hooks H of its source:  support[target][h]-- for h in H; the hooks whose
 *                                                             count reaches 0 are lost, and passed on down the
 *                                                             target's own edges (all hooks in one walk)
 * for each edge that came,  with the hooks H of its source:  support[target][h]++; the hooks new to the
 *                                                             target are passed on the same way
 * loops: depth-first from the target of each new edge whose source is reached (a loop the change made
 *        reachable runs through what such an edge reaches; the previous generation had none)
 * </pre>
 *
 * <p>Edges are removed first over the old graph (which has no loop among reached chains, so a count at zero
 * means the hook is gone), then added. The full check ({@link TableChecks#reachableHooks}) is the reference
 * (see IncrementalUpdatePropertyTest and HookMaskTest).
 *
 * <p>Loss of reach costs no rule checks. Linux: translate_table checks every rule, reached or not, with its
 * comefrom bits as the hook mask (0 for a chain no hook reaches: iptables-legacy in a namespace accepts
 * {@code -A X -j MASQUERADE} in an unreached nat chain and refuses DNAT in an unreached filter chain), and
 * every hook condition of xt_check_match/xt_check_target and of the extensions' checkentry is "some hook of
 * the mask is not allowed" ({@code hook_mask & ~allowed}). A rule that passed with a mask passes with any
 * mask it contains (HookChecksTest), so a chain that only lost hooks keeps passing; a chain that gained one
 * has its walked rules checked again, O(its size).
 */
final class ReachUpdate {
    /** Past this many changed chains (a large restore) the full check is cheaper. */
    static final int MAX_CHANGED_CHAINS = 512;
    private static final Hook[] HOOKS = Hook.values();

    /** One changed chain: its versions and its edge changes applied so far. */
    private static final class Delta {
        final String name;
        final Chain before;
        final Chain after;
        final Set<String> removedSoFar = new HashSet<>();
        final Set<String> addedSoFar = new java.util.LinkedHashSet<>();
        final List<String> removed = new ArrayList<>();
        final List<String> added = new ArrayList<>();

        Delta(String name, Chain before, Chain after) {
            this.name = name;
            this.before = before;
            this.after = after;
        }
    }

    private final Table table;
    private final Table previous;
    private final HookReach.Editor ed;
    private final Map<String, Delta> deltaByChain = new LinkedHashMap<>();
    private final Set<String> maskChanged = new HashSet<>();
    private final Map<String, Chain> chainByName = new HashMap<>();
    private final Map<String, Boolean> hadByName = new HashMap<>();
    private static final Chain NO_CHAIN = Chain.user("");

    private ReachUpdate(Table table, Table previous, HookReach base) {
        this.table = table;
        this.previous = previous;
        this.ed = base.edit();
    }

    /**
     * Checks {@code table} against {@code previous} (a generation that passed) and remembers its reach; false
     * when the change is not one this class follows (a large restore, a table of a state file without its reach):
     * then nothing was checked and the caller checks the usual way.
     */
    static boolean check(Table table, Table previous) {
        List<Chain[]> changes = new ArrayList<>();
        table.forEachChange(previous, (pc, c) -> {
            if (changes.size() <= MAX_CHANGED_CHAINS) {
                changes.add(new Chain[] {pc, c});
            }
        });
        if (changes.size() > MAX_CHANGED_CHAINS) {
            return false;
        }
        if (previous.knownReach() == null && !allRead(previous)) {
            // a table loaded from a state file for one command: its reach would be computed from every chain
            // for this one change and forgotten with the table; the masks the state file keeps serve instead
            return false;
        }
        ReachUpdate u = new ReachUpdate(table, previous, reachOf(previous));
        for (Chain[] ch : changes) {
            String name = (ch[1] != null ? ch[1] : ch[0]).name();
            u.deltaByChain.put(name, new Delta(name, ch[0], ch[1]));
            // a changed chain's versions are known: the new chains a delta jumps to need no lookup
            u.chainByName.put(name, ch[1] != null ? ch[1] : NO_CHAIN);
            u.hadByName.put(name, ch[0] != null);
            if (ch[0] == null) {
                u.ed.madeChain(name);
            }
        }
        u.run();
        return true;
    }

    /** Whether every chain's rules are in memory (stops at the first that is not). */
    private static boolean allRead(Table t) {
        for (Chain c : t.chains()) {
            if (!c.rules().isRead()) {
                return false;
            }
        }
        return true;
    }

    /** The reach of a checked table: remembered, or computed from its chains (once per generation). */
    static HookReach reachOf(Table t) {
        HookReach r = t.knownReach();
        if (r != null) {
            return r;
        }
        List<Chain> chains = t.chains();
        Map<String, Integer> masks = TableChecks.reachableHooks(t, chains);
        Map<String, int[]> support = supports(chains, masks);
        List<String> names = new ArrayList<>();
        for (Chain c : chains) {
            names.add(c.name());
        }
        names.sort(null);
        r = HookReach.of(names, masks, support);
        t.knowReach(r);
        return r;
    }

    /**
     * The jump edges carrying each hook into each chain ({@link HookReach}'s counts), from the chains' masks; the
     * map may also hold jump targets that are not chains of the table, which the callers never look up.
     */
    static Map<String, int[]> supports(List<Chain> chains, Map<String, Integer> masks) {
        Map<String, int[]> support = new HashMap<>();
        for (Chain c : chains) {
            int m = masks.getOrDefault(c.name(), 0);
            if (m == 0) {
                continue;
            }
            // a target that is no chain of the table (a jump to a missing chain is refused at the table's
            // check; one named like a target resolves to it) gets an entry nobody asks for: no lookup of it
            // here, a snapshot of a 60k-chain table walks 100k jumps
            for (String target : c.rules().jumpTargets()) {
                int[] s = support.get(target);
                if (s == null) {
                    s = new int[HOOKS.length];
                    support.put(target, s);
                }
                // Hook.bit() is 1 << ordinal: each hook of the mask, lowest first
                for (int bits = m; bits != 0; bits &= bits - 1) {
                    s[Integer.numberOfTrailingZeros(bits)]++;
                }
            }
        }
        return support;
    }

    private void run() {
        for (Delta d : deltaByChain.values()) {
            if (d.before == null || d.after == null) {
                // a chain made or deleted: all its edges came or went (its jump targets, no counts needed)
                for (String target : (d.after != null ? d.after : d.before).rules().jumpTargets()) {
                    if (d.after != null ? chainOf(target) != null : hadChain(target)) {
                        (d.after != null ? d.added : d.removed).add(target);
                    }
                }
                continue;
            }
            RuleList before = d.before.rules();
            RuleList after = d.after.rules();
            if (!before.isRead() || !after.isRead()) {
                // a chain of a state file not read for this command (an append to it): its jump targets are
                // known from the directory and the appended rules, and the edges are the targets that differ
                Set<String> was = Set.of(before.jumpTargets());
                Set<String> now = Set.of(after.jumpTargets());
                for (String t : now) {
                    if (!was.contains(t) && chainOf(t) != null) {
                        d.added.add(t);
                    }
                }
                for (String t : was) {
                    if (!now.contains(t) && hadChain(t)) {
                        d.removed.add(t);
                    }
                }
                continue;
            }
            after.forEachJumpChange(before, (target, jumpedTo) -> {
                if (jumpedTo) {
                    if (chainOf(target) != null) {
                        d.added.add(target);
                    }
                } else if (hadChain(target)) {
                    d.removed.add(target);
                }
            });
        }
        // edges that went first, over the old graph; then those that came
        for (Delta d : deltaByChain.values()) {
            for (String t : d.removed) {
                d.removedSoFar.add(t);
                carry(d.name, t, false);
            }
        }
        for (Delta d : deltaByChain.values()) {
            for (String t : d.added) {
                d.addedSoFar.add(t);
                carry(d.name, t, true);
            }
            if (d.after == null) {
                ed.remove(d.name);
            }
        }
        findLoops();
        checkRules();
        table.knowReach(ed.done());
    }

    /** The hooks of {@code from} through its edge to {@code to}, which came ({@code came}) or went. */
    private void carry(String from, String to, boolean came) {
        int m = ed.mask(from);
        if (m == 0) {
            return;
        }
        if (came) {
            gain(to, m);
        } else {
            lose(to, m);
        }
    }

    /** One edge carrying each hook of {@code bits} into {@code chain} went. */
    private void lose(String chain, int bits) {
        int zero = ed.addSupport(chain, bits, -1);
        int mask = ed.mask(chain);
        int lost = zero & mask & ~builtinBits(chain);
        if (lost != 0) {
            ed.setMask(chain, mask & ~lost);
            maskChanged.add(chain);
            forEachEdge(chain, next -> lose(next, lost));
        }
    }

    /** One edge carrying each hook of {@code bits} into {@code chain} came. */
    private void gain(String chain, int bits) {
        ed.addSupport(chain, bits, 1);
        int mask = ed.mask(chain);
        int gained = bits & ~mask;
        if (gained != 0) {
            ed.setMask(chain, mask | gained);
            maskChanged.add(chain);
            forEachEdge(chain, next -> gain(next, gained));
        }
    }

    /** The hook of {@code chain} when it is a built-in chain of this table (which never loses it), else 0. */
    private int builtinBits(String chain) {
        for (Hook h : table.kind().hooks()) {
            if (h.name().equals(chain)) {
                return h.bit();
            }
        }
        return 0;
    }

    /** {@code table.chain(name)}, each name looked up once per update (a change walks the same few chains often). */
    private Chain chainOf(String name) {
        Chain c = chainByName.get(name);
        if (c == null) {
            c = table.chain(name);
            chainByName.put(name, c == null ? NO_CHAIN : c);
        }
        return c == NO_CHAIN ? null : c;
    }

    /** Whether {@code previous} has the chain, each name looked up once per update (as {@link #chainOf}). */
    private boolean hadChain(String name) {
        Boolean had = hadByName.get(name);
        if (had == null) {
            had = previous.hasChain(name);
            hadByName.put(name, had);
        }
        return had;
    }

    /** The edges out of {@code chain} as the update has them now (old ones not yet removed, new ones added). */
    private void forEachEdge(String chain, Consumer<String> action) {
        Delta d = deltaByChain.get(chain);
        if (d == null) {
            Chain c = chainOf(chain);
            if (c != null) {
                for (String t : c.rules().jumpTargets()) {
                    if (chainOf(t) != null) {
                        action.accept(t);
                    }
                }
            }
            return;
        }
        if (d.before != null) {
            // the update changes neither the lists nor the sets walked here while it walks them
            Consumer<String> old = t -> {
                if (!d.removedSoFar.contains(t) && hadChain(t)) {
                    action.accept(t);
                }
            };
            if (d.before.rules().isRead()) {
                d.before.rules().forEachJumpTarget(old);
            } else {
                for (String t : d.before.rules().jumpTargets()) {
                    old.accept(t);
                }
            }
        }
        for (String t : d.addedSoFar) {
            action.accept(t);
        }
    }

    /** mark_source_chains' ELOOP for a loop the change made reachable from a hook. */
    private void findLoops() {
        Set<String> done = new HashSet<>();
        for (Delta d : deltaByChain.values()) {
            if (d.added.isEmpty() || ed.mask(d.name) == 0) {
                continue;
            }
            Set<String> onPath = new HashSet<>();
            onPath.add(d.name);
            for (String t : d.added) {
                visit(t, onPath, done);
            }
        }
    }

    private void visit(String chain, Set<String> onPath, Set<String> done) {
        if (onPath.contains(chain)) {
            throw XtablesException.kernel("Too many levels of symbolic links");
        }
        if (!done.add(chain)) {
            return;
        }
        onPath.add(chain);
        forEachEdge(chain, next -> visit(next, onPath, done));
        onPath.remove(chain);
    }

    /**
     * xt_check_match / xt_check_target for the rules that are new, and for every walked rule of a chain that
     * gained a hook; a chain that kept or lost hooks has its old rules pass as before (see the class comment).
     */
    private void checkRules() {
        for (Delta d : deltaByChain.values()) {
            if (d.after == null) {
                continue;
            }
            int m = ed.mask(d.name);
            if (d.before == null || (m & ~ed.maskBefore(d.name)) != 0) {
                checkAll(d.after, m);
                continue;
            }
            RuleList before = d.before.rules();
            RuleList after = d.after.rules();
            if (!before.isRead() || !after.isRead()) {
                checkUnread(d.after, before, after, m);
                continue;
            }
            checkChanged(before, after, m);
        }
        for (String name : maskChanged) {
            if (deltaByChain.containsKey(name)) {
                continue;
            }
            int m = ed.mask(name);
            if ((m & ~ed.maskBefore(name)) != 0) {
                Chain c = chainOf(name);
                if (c != null) {
                    checkAll(c, m);
                }
            }
        }
    }

    /** Every rule of {@code c}; after the first unconditional verdict the kernel's walk never comes, so mask 0. */
    private void checkAll(Chain c, int mask) {
        for (Rule r : c.rules()) {
            TableChecks.checkRule(table, r, mask);
            if (mask != 0 && TableChecks.endsWalk(r)) {
                mask = 0;
            }
        }
    }

    /**
     * A chain of a state file that the command did not read: rules appended to it are checked alone (after the
     * chain's unconditional verdict with mask 0, as the kernel's walk never comes); any other change reads it.
     */
    private void checkUnread(Chain c, RuleList before, RuleList after, int mask) {
        List<Rule> appended = after.appendedTo(before);
        if (appended == null) {
            checkAll(c, mask);
            return;
        }
        int tail = before.endsInVerdict() ? 0 : mask;
        for (Rule r : appended) {
            TableChecks.checkRule(table, r, tail);
            if (tail != 0 && TableChecks.endsWalk(r)) {
                tail = 0;
            }
        }
    }

    /** The rules {@code after} has that {@code before} had not, and those the end of the walk moved over. */
    private void checkChanged(RuleList before, RuleList after, int mask) {
        List<RuleList.Edit> edits = after.editsSince(before);
        if (edits == null) {
            checkByIdentity(before, after, mask);
            return;
        }
        List<Rule> rules = new ArrayList<>();
        List<Integer> at = new ArrayList<>();
        for (RuleList.Edit e : edits) {
            int i = e.index();
            for (int k = rules.size() - 1; k >= 0; k--) {
                int p = at.get(k);
                if (p == i && e.removed() != null) {
                    rules.remove(k);
                    at.remove(k);
                } else if (p > i && e.removed() != null && e.added() == null) {
                    at.set(k, p - 1);
                } else if (p >= i && e.removed() == null) {
                    at.set(k, p + 1);
                }
            }
            if (e.added() != null) {
                rules.add(e.added());
                at.add(i);
            }
        }
        int cut = after.cutIndex();
        for (int k = 0; k < rules.size(); k++) {
            TableChecks.checkRule(table, rules.get(k), cut < 0 || at.get(k) <= cut ? mask : 0);
        }
        int cutBefore = before.cutIndex();
        if (cut != cutBefore) {
            // rules between the two ends of the walk changed hooks: check them with their new ones
            int lo = Math.min(cutBefore < 0 ? before.size() : cutBefore, cut < 0 ? after.size() : cut);
            int hi = Math.max(cutBefore < 0 ? before.size() : cutBefore, cut < 0 ? after.size() : cut);
            lo = Math.max(0, lo - edits.size());
            hi = Math.min(after.size() - 1, hi + edits.size());
            for (int i = lo; i <= hi; i++) {
                TableChecks.checkRule(table, after.get(i), cut < 0 || i <= cut ? mask : 0);
            }
        }
    }

    /** When the lineage is lost: the rules not in {@code before} with the same hooks, by identity. */
    private void checkByIdentity(RuleList before, RuleList after, int mask) {
        Map<Rule, Integer> had = new java.util.IdentityHashMap<>(before.size() * 2);
        int cur = mask;
        for (Rule r : before) {
            had.put(r, cur);
            if (cur != 0 && TableChecks.endsWalk(r)) {
                cur = 0;
            }
        }
        cur = mask;
        for (Rule r : after) {
            Integer was = had.get(r);
            if (was == null || was != cur) {
                TableChecks.checkRule(table, r, cur);
            }
            if (cur != 0 && TableChecks.endsWalk(r)) {
                cur = 0;
            }
        }
    }
}
