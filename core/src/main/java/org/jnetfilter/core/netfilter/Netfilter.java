package org.jnetfilter.core.netfilter;

import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;

/**
 * The hook registry of one network namespace ({@code net->nf.hooks_ipv4/ipv6}): functions registered at
 * (family, hook, priority) and run in priority order for every packet crossing the hook, as
 * {@code nf_hook_slow} runs them.
 *
 * <p>Registration is copy-on-write: each hook keeps an immutable array of entries that a packet thread
 * reads once per hook traversal, so registering never blocks or disturbs packets in flight. Functions of
 * equal priority run in registration order (the kernel inserts a new entry after those of equal
 * priority).
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

    private final Map<Family, Registration[][]> entriesByFamily = new EnumMap<>(Family.class);

    public Netfilter() {
        for (Family f : Family.values()) {
            Registration[][] byHook = new Registration[Hook.values().length][];
            Arrays.fill(byHook, NONE);
            entriesByFamily.put(f, byHook);
        }
    }

    /** nf_register_net_hook: adds {@code function} at {@code priority}; returns what {@link #unregister} takes. */
    public synchronized Registration register(Family family, Hook hook, int priority, String name,
            HookFunction function) {
        Registration r = new Registration(family, hook, priority, name, function);
        Registration[][] byHook = entriesByFamily.get(family);
        Registration[] old = byHook[hook.ordinal()];
        Registration[] next = Arrays.copyOf(old, old.length + 1);
        next[old.length] = r;
        // stable: equal priorities keep registration order
        Arrays.sort(next, BY_PRIORITY);
        byHook[hook.ordinal()] = next;
        return r;
    }

    /** nf_unregister_net_hook; false when {@code r} was not registered. */
    public synchronized boolean unregister(Registration r) {
        Registration[][] byHook = entriesByFamily.get(r.family());
        Registration[] old = byHook[r.hook().ordinal()];
        for (int i = 0; i < old.length; i++) {
            if (old[i] == r) {
                Registration[] next = new Registration[old.length - 1];
                System.arraycopy(old, 0, next, 0, i);
                System.arraycopy(old, i + 1, next, i, old.length - i - 1);
                byHook[r.hook().ordinal()] = next;
                return true;
            }
        }
        return false;
    }

    /** The functions at one hook in the order they run: an immutable snapshot, safe to read from any thread. */
    public Registration[] entries(Family family, Hook hook) {
        synchronized (this) {
            return entriesByFamily.get(family)[hook.ordinal()];
        }
    }
}
