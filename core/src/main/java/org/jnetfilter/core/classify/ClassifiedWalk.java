package org.jnetfilter.core.classify;

import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.TableWalk;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.Target;

/**
 * The rule walk of {@link TableWalk} (ipt_do_table) with each chain's rules found by its classifier
 * ({@link ChainClassifier}) instead of tried one by one: same verdict, same counters, same trace
 * events, same side effects of stateful matches and targets, in the same order.
 *
 * <pre>
 * chain = hook's built-in chain, p = before the first rule
 * loop:
 *   r = chain's classifier: first rule after p whose indexed fields match      (the rules skipped
 *   none: end of chain (policy, or return to the rule after the jump)            are rules whose
 *   r not exact: evaluate r in full (fixed part, then every match in order);     indexed fields fail:
 *     no match: p = r, again (hotdrop: DROP)                                    the linear walk
 *   count r; its target as TableWalk: verdict, RETURN, -j (push chain and r),     stops on them with
 *     -g, extension (CONTINUE: p = r)                                            no side effect)
 * </pre>
 *
 * <p>Design notes. Only regular packets are classified ({@link PacketKey}); a non-first fragment,
 * an IPv6 packet whose upper-layer header is not found, or a transport header too short for the
 * port matches is walked by {@link TableWalk} itself, as those are the packets on which a rule the
 * lookup would skip could have dropped the packet at once (hotdrop). Jumps call the target chain's
 * classifier (chains are not flattened, so a chain shared by many jumps is compiled once); the
 * classifier found is cached in the jumping rule's entry. The jump stack is this class's own, with
 * the kernel's size (one frame per user chain, plus one) and TableWalk's behaviour when full. The
 * mark is read at every lookup, as targets change it; the ports and the conntrack state are read
 * again after a target.
 *
 * <p>Hot path: the packet thread; allocates nothing once the chains are compiled (a chain met for
 * the first time is compiled on the spot, see {@link #prepare}). The table is an immutable
 * generation; only counters and the stateful matches' own state change.
 */
public final class ClassifiedWalk {
    private ClassifiedWalk() {
    }

    /** Per-thread walk state: the packet's key, the jump stack, the lookup probe. */
    private static final class WalkState {
        final PacketKey key = new PacketKey();
        final CompiledChains.Probe probe = new CompiledChains.Probe();
        Chain[] stackChain = new Chain[8];
        ChainClassifier[] stackClassifier = new ChainClassifier[8];
        long[] stackKey = new long[8];
        /** The last built-in chain's rules and classifier: most walks start where the previous one did. */
        RuleList lastRules;
        ChainClassifier lastClassifier;

        void ensure(int size) {
            if (stackChain.length < size) {
                int n = Math.max(size, stackChain.length * 2);
                stackChain = new Chain[n];
                stackClassifier = new ChainClassifier[n];
                stackKey = new long[n];
            }
        }
    }

    /**
     * The walk states of a thread, one per walk under way: a TEE copy is walked from inside the original's walk
     * (nf_dup_ipv4 sends it at once), so the inner walk must not write the outer one's key and jump stack (Linux
     * gives the copy its own jump stack: ipt_do_table offsets it by nf_skb_duplicated).
     */
    private static final class WalkStates {
        WalkState[] byLevel = {new WalkState()};
        int level;

        WalkState enter() {
            if (level == byLevel.length) {
                byLevel = java.util.Arrays.copyOf(byLevel, level * 2);
            }
            if (byLevel[level] == null) {
                byLevel[level] = new WalkState();
            }
            return byLevel[level++];
        }
    }

    private static final ThreadLocal<WalkStates> STATE = ThreadLocal.withInitial(WalkStates::new);

    /** Compiles every chain of {@code table} now (the control plane, when it publishes a generation). */
    public static void prepare(Table table) {
        CompiledChains.Probe probe = new CompiledChains.Probe();
        for (Chain c : table.chains()) {
            CompiledChains.of(c, table.family(), table.name(), probe);
        }
    }

    /**
     * Derives the classifiers of the chains that changed from {@code previous} to {@code next} (two
     * generations of one table) from those of their previous versions: the cost of an update follows
     * the number of rules changed, not the size of the chain.
     */
    public static void prepare(Table previous, Table next) {
        next.forEachChange(previous, (before, after) -> {
            if (after != null) {
                CompiledChains.changed(before, after, next.family(), next.name());
            }
        });
    }

    /** Walks {@code table} from {@code hook}'s built-in chain: exactly what {@link TableWalk#run} does. */
    public static int run(Table table, Hook hook, PacketContext pkt, Trace trace) {
        WalkStates states = STATE.get();
        WalkState st = states.enter();
        try {
            return walk(st, table, hook, pkt, trace);
        } finally {
            states.level--;
        }
    }

    private static int walk(WalkState st, Table table, Hook hook, PacketContext pkt, Trace trace) {
        if (!table.kind().hasHook(hook)) {
            throw new IllegalArgumentException("table " + table.name() + " has no " + hook + " chain");
        }
        if (table.family() != pkt.family()) {
            throw new IllegalArgumentException(table.family() + " table " + table.name() + " walked with an "
                    + pkt.family() + " packet");
        }
        PacketKey key = st.key;
        if (!key.load(pkt)) {
            return TableWalk.run(table, hook, pkt, trace);
        }
        pkt.hook(hook);
        pkt.hotdrop(false);
        boolean tracing = trace != Trace.NONE;
        Chain builtin = table.chain(hook.name());
        int stackSize = table.userChainCount() + 1;
        st.ensure(stackSize);
        int depth = 0;
        int highWater = 0;
        Chain chain = builtin;
        ChainClassifier cc;
        // the thread's first walk finds no classifier remembered yet, whatever the chain's rules
        if (builtin.rules() == st.lastRules && st.lastClassifier != null) {
            cc = st.lastClassifier;
        } else {
            cc = CompiledChains.of(builtin, table.family(), table.name(), st.probe);
            st.lastRules = builtin.rules();
            st.lastClassifier = cc;
        }
        long after = Long.MIN_VALUE;
        try {
            while (true) {
                Entry e = cc.next(key, pkt.mark(), after);
                if (e == null) {
                    // the chain's tail entry: the built-in chain's policy, a user chain's RETURN
                    if (chain == builtin) {
                        return TableWalk.policy(table, builtin, pkt, trace);
                    }
                    int tail = cc.size() + 1;
                    if (depth == 0) {
                        trace.returned(table, chain, tail, null, 0);
                        return TableWalk.policy(table, builtin, pkt, trace);
                    }
                    depth--;
                    Chain back = st.stackChain[depth];
                    ChainClassifier backClassifier = st.stackClassifier[depth];
                    long at = st.stackKey[depth];
                    if (tracing) {
                        trace.returned(table, chain, tail, back, backClassifier.number(at));
                    }
                    chain = back;
                    cc = backClassifier;
                    after = at;
                    continue;
                }
                Rule rule = e.rule;
                RuleSpec spec = rule.spec();
                if (!e.exact && (!TableWalk.ipMatches(spec.ip(), pkt) || !TableWalk.extensionsMatch(spec.matches(), pkt))) {
                    if (pkt.hotdrop()) {
                        trace.hotdrop(table, chain, tracing ? cc.number(e.key) : 0);
                        return Verdict.DROP;
                    }
                    after = e.key;
                    continue;
                }
                rule.counters().add(1, pkt.length());
                int number = tracing ? cc.number(e.key) : 0;
                trace.rule(table, chain, number, rule);
                switch (spec.target()) {
                    case Target.None none -> after = e.key;
                    case Target.Verdict v -> {
                        if (v.kind() != Target.Verdict.Kind.RETURN) {
                            int verdict = TableWalk.standard(v.kind());
                            trace.verdict(table, chain, number, verdict);
                            return verdict;
                        }
                        if (depth == 0) {
                            trace.returned(table, chain, number, null, 0);
                            return TableWalk.policy(table, builtin, pkt, trace);
                        }
                        depth--;
                        Chain back = st.stackChain[depth];
                        ChainClassifier backClassifier = st.stackClassifier[depth];
                        long at = st.stackKey[depth];
                        if (tracing) {
                            trace.returned(table, chain, number, back, backClassifier.number(at));
                        }
                        chain = back;
                        cc = backClassifier;
                        after = at;
                    }
                    case Target.Jump j -> {
                        // the jump's target in this generation, from the rule's site when it was here before
                        Entry.JumpSite site = e.site;
                        if (site == null || site.table().get() != table) {
                            site = jumpSite(e, j, table, chain, cc, st);
                        }
                        Chain to = site.chain();
                        if (!j.isGoto()) {
                            if (depth >= stackSize) {
                                trace.stackExhausted(table, chain, number);
                                return Verdict.DROP;
                            }
                            st.stackChain[depth] = chain;
                            st.stackClassifier[depth] = cc;
                            st.stackKey[depth] = e.key;
                            depth++;
                            highWater = Math.max(highWater, depth);
                        }
                        trace.jump(table, chain, number, to, j.isGoto());
                        chain = to;
                        cc = site.classifier();
                        after = Long.MIN_VALUE;
                    }
                    case Target.Extension x -> {
                        int verdict = x.data().apply(pkt);
                        trace.verdict(table, chain, number, verdict);
                        if (verdict != Verdict.CONTINUE) {
                            return verdict;
                        }
                        if (pkt.hotdrop()) {
                            trace.hotdrop(table, chain, number);
                            return Verdict.DROP;
                        }
                        key.reloadAddresses(pkt);
                        key.reloadPorts(pkt);
                        key.loadState(pkt);
                        after = e.key;
                    }
                }
            }
        } finally {
            for (int i = 0; i < highWater; i++) {
                st.stackChain[i] = null;
                st.stackClassifier[i] = null;
            }
        }
    }

    /** Resolves a jump's target chain by name in {@code table} and remembers it, with its classifier, in the entry. */
    private static Entry.JumpSite jumpSite(Entry e, Target.Jump j, Table table, Chain chain, ChainClassifier cc,
                                           WalkState st) {
        Chain to = table.chain(j.chain());
        if (to == null) {
            throw new IllegalStateException("rule " + cc.number(e.key) + " of " + table.name() + "/"
                    + chain.name() + " jumps to missing chain " + j.chain());
        }
        Entry.JumpSite old = e.site;
        ChainClassifier c = old != null && old.chain() == to ? old.classifier()
                : CompiledChains.of(to, table.family(), table.name(), st.probe);
        Entry.JumpSite site = new Entry.JumpSite(new java.lang.ref.WeakReference<>(table), to, c);
        e.site = site;
        return site;
    }
}
