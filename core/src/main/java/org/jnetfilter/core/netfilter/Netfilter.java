package org.jnetfilter.core.netfilter;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Objects;
import org.jnetfilter.core.ext.targets.NfqueueTarget;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;

/**
 * The hook registry of one network namespace ({@code net->nf.hooks_ipv4/ipv6}) and the loop that runs a hook,
 * {@code nf_hook_slow} (net/netfilter/core.c): functions registered at (family, hook, priority) run in priority
 * order for every packet crossing the hook.
 *
 * <pre>
 * for each function of the hook, lowest priority first:
 *   ACCEPT           -> the next function (none left: the packet goes on, okfn)
 *   DROP             -> freed; nothing further
 *   STOLEN           -> the function took the packet; nothing further here
 *   QUEUE(n)         -> to the queue handler (nf_queue); it answers, nf_reinject goes on:
 *                         ACCEPT -> the function after the queuing one (OUTPUT: re-route first if the
 *                                   packet's addresses, mark or TOS changed, nf_reroute)
 *                         REPEAT -> the queuing function runs again, its verdict handled as here
 *                         STOP   -> okfn at once, the remaining functions skipped
 *                         QUEUE  -> queued again; DROP / STOLEN as above
 *                      no handler, or nothing bound to queue n (-ESRCH): dropped, unless the verdict carries
 *                      NF_VERDICT_FLAG_QUEUE_BYPASS (NFQUEUE --queue-bypass): then the next function
 *   REPEAT           -> the same function again (as kernels before 4.x did; no table returns it)
 *   STOP             -> okfn at once, as nf_reinject treats it
 * </pre>
 *
 * <p>Registration is copy-on-write: the entries of all hooks are immutable arrays published through one
 * volatile field, so a packet thread reads them once per hook traversal without a lock, and registering never
 * blocks or disturbs packets in flight (the kernel's RCU-protected {@code nf_hook_entries}). Functions of equal
 * priority run in registration order (the kernel inserts a new entry after those of equal priority).
 *
 * <p>Hot path ({@link #run}): the packet thread; allocates nothing unless a packet is queued (saving the route
 * keys of an OUTPUT packet). Trace events go to {@link PacketContext#trace()}.
 */
public final class Netfilter {

    /** One registered function ({@code struct nf_hook_ops}). */
    public record Registration(Family family, Hook hook, int priority, String name, HookFunction function) {
        public Registration {
            Objects.requireNonNull(family, "family");
            Objects.requireNonNull(hook, "hook");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(function, "function");
        }
    }

    private static final Registration[] NONE = new Registration[0];
    private static final Comparator<Registration> BY_PRIORITY = Comparator.comparingInt(Registration::priority);
    // Linux: NF_VERDICT_FLAG_QUEUE_BYPASS, as xt_NFQUEUE sets it
    private static final int QUEUE_BYPASS = NfqueueTarget.VERDICT_FLAG_QUEUE_BYPASS;

    /** [family][hook]: replaced as a whole on every change. */
    private volatile Registration[][][] entries;
    private volatile QueueHandler queueHandler;

    public Netfilter() {
        Registration[][][] e = new Registration[Family.values().length][Hook.values().length][];
        for (Registration[][] byHook : e) {
            Arrays.fill(byHook, NONE);
        }
        entries = e;
    }

    /** nf_register_net_hook: adds {@code function} at {@code priority}; returns what {@link #unregister} takes. */
    public synchronized Registration register(Family family, Hook hook, int priority, String name,
            HookFunction function) {
        Registration r = new Registration(family, hook, priority, name, function);
        Registration[] old = entries[family.ordinal()][hook.ordinal()];
        Registration[] next = Arrays.copyOf(old, old.length + 1);
        next[old.length] = r;
        // stable: equal priorities keep registration order
        Arrays.sort(next, BY_PRIORITY);
        publish(family, hook, next);
        return r;
    }

    /** nf_unregister_net_hook; false when {@code r} was not registered. */
    public synchronized boolean unregister(Registration r) {
        Registration[] old = entries[r.family().ordinal()][r.hook().ordinal()];
        for (int i = 0; i < old.length; i++) {
            if (old[i] == r) {
                Registration[] next = new Registration[old.length - 1];
                System.arraycopy(old, 0, next, 0, i);
                System.arraycopy(old, i + 1, next, i, old.length - i - 1);
                publish(r.family(), r.hook(), next);
                return true;
            }
        }
        return false;
    }

    private void publish(Family family, Hook hook, Registration[] next) {
        Registration[][][] copy = entries.clone();
        copy[family.ordinal()] = copy[family.ordinal()].clone();
        copy[family.ordinal()][hook.ordinal()] = next;
        entries = copy;
    }

    /** The functions at one hook in the order they run: an immutable snapshot, safe to read from any thread. */
    public Registration[] entries(Family family, Hook hook) {
        return entries[family.ordinal()][hook.ordinal()].clone();
    }

    /** Whether any function is registered at the hook (the kernel skips nf_hook_slow when none is). */
    public boolean hasEntries(Family family, Hook hook) {
        return entries[family.ordinal()][hook.ordinal()].length != 0;
    }

    /** The in-process userspace queue (nfnetlink_queue with its listeners); null: none, queued packets drop. */
    public void queueHandler(QueueHandler handler) {
        queueHandler = handler;
    }

    public QueueHandler queueHandler() {
        return queueHandler;
    }

    /**
     * nf_hook_slow: runs every function of {@code hook} on the packet loaded in {@code pkt} (its family decides
     * the hook list) and returns what happens to it: {@link Verdict#ACCEPT} (go on: the okfn), {@link Verdict#DROP}
     * or {@link Verdict#STOLEN}. Sets {@link PacketContext#hook()}.
     */
    public int run(Hook hook, PacketContext pkt) {
        Registration[] e = entries[pkt.family().ordinal()][hook.ordinal()];
        if (e.length == 0) {
            return Verdict.ACCEPT;
        }
        return iterate(e, 0, hook, pkt);
    }

    private int iterate(Registration[] e, int from, Hook hook, PacketContext pkt) {
        Trace trace = pkt.trace();
        for (int s = from; s < e.length; s++) {
            Registration r = e[s];
            pkt.hook(hook);
            trace.hookEntered(r);
            int verdict = r.function().apply(pkt);
            trace.hookVerdict(r, verdict);
            switch (Verdict.kind(verdict)) {
                case Verdict.ACCEPT -> {
                }
                case Verdict.DROP -> {
                    return Verdict.DROP;
                }
                case Verdict.STOLEN -> {
                    return Verdict.STOLEN;
                }
                case Verdict.QUEUE -> {
                    int after = queue(e, s, hook, pkt, verdict);
                    if (after != Verdict.CONTINUE) {
                        return after;
                    }
                }
                case Verdict.REPEAT -> s--;
                case Verdict.STOP -> {
                    return Verdict.ACCEPT;
                }
                default -> throw new IllegalStateException("hook function " + r.name() + " at " + r.family() + " "
                        + hook + " returned verdict 0x" + Integer.toHexString(verdict));
            }
        }
        return Verdict.ACCEPT;
    }

    /**
     * nf_queue and nf_reinject for the packet that function {@code s} queued: the final verdict, or
     * {@link Verdict#CONTINUE} to go on with function {@code s + 1}.
     */
    private int queue(Registration[] e, int s, Hook hook, PacketContext pkt, int verdict) {
        Trace trace = pkt.trace();
        while (true) {
            QueueHandler h = queueHandler;
            int queueNumber = Verdict.queueNumber(verdict);
            RouteKeys keys = hook == Hook.OUTPUT ? RouteKeys.of(pkt) : null;
            int answer = h == null ? QueueHandler.NOT_BOUND : h.verdict(queueNumber, pkt);
            trace.queued(queueNumber, answer);
            if (answer == QueueHandler.NOT_BOUND) {
                // Linux: __nf_queue returns -ESRCH; nf_queue lets the packet continue only with the bypass flag
                return (verdict & QUEUE_BYPASS) != 0 ? Verdict.CONTINUE : Verdict.DROP;
            }
            pkt.reparse();
            if (answer == Verdict.REPEAT) {
                Registration r = e[s];
                pkt.hook(hook);
                trace.hookEntered(r);
                answer = r.function().apply(pkt);
                trace.hookVerdict(r, answer);
            }
            if (Verdict.kind(answer) == Verdict.ACCEPT && keys != null && keys.changed(pkt) && !pkt.reroute()) {
                // Linux: nf_reroute -> nf_ip_reroute / nf_ip6_reroute fails: the packet is dropped
                return Verdict.DROP;
            }
            switch (Verdict.kind(answer)) {
                case Verdict.ACCEPT -> {
                    return Verdict.CONTINUE;
                }
                case Verdict.STOP -> {
                    return Verdict.ACCEPT;
                }
                case Verdict.QUEUE -> verdict = answer;
                case Verdict.STOLEN -> {
                    return Verdict.STOLEN;
                }
                default -> {
                    return Verdict.DROP;
                }
            }
        }
    }

    /** What nf_queue saves of an OUTPUT packet to see at reinjection whether it must be re-routed. */
    private record RouteKeys(long srcHi, long srcLo, long dstHi, long dstLo, long mark, int tos) {
        static RouteKeys of(PacketContext pkt) {
            return new RouteKeys(pkt.sourceHi(), pkt.sourceLo(), pkt.destinationHi(), pkt.destinationLo(), pkt.mark(),
                    pkt.routingTos());
        }

        boolean changed(PacketContext pkt) {
            return !equals(of(pkt));
        }
    }
}
