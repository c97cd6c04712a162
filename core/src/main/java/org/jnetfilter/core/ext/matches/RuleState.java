package org.jnetfilter.core.ext.matches;

import java.lang.ref.WeakReference;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The mutable state a match or target keeps across packets (a token bucket, a quota left, an nth
 * counter), held by its immutable options record as a component and left out of the record's equality.
 *
 * <p>Design note. The kernel allocates such state in checkentry, per rule instance ({@code r->master},
 * {@code info->master}), and frees it when the rule goes. Here the options record is the rule instance:
 * a generation that keeps a rule keeps its record, so the state survives; a rule parsed anew (another
 * {@code -A} of the same text) gets new state, as in the kernel. The record holds one {@code RuleState}
 * whose {@link #equals} is always true and whose hash is constant, so that {@code -C} and {@code -D}
 * still compare the options only; an identity map keyed by the record would do the same but would have
 * to be weak and global. The state is created on the first packet (records are built by parsers that do
 * not know the clock); for every extension here that is equivalent to creating it at checkentry: a bucket
 * starts full and only fills up with time, a counter starts at its initial value.
 *
 * <p>State objects are thread-safe (they lock themselves, as the kernel takes a spinlock).
 */
public final class RuleState<T> {
    // Linux, this kernel: HZ = 250; jiffies are the clock in 4 ms steps
    public static final long HZ = 250;
    private static final long NANOS_PER_JIFFY = 1_000_000_000L / HZ;

    private volatile T value;

    /** The state, or null before the first packet. */
    public T get() {
        return value;
    }

    /** Installs {@code fresh} unless another packet thread was first; answers the state in place. */
    public synchronized T setIfAbsent(T fresh) {
        if (value == null) {
            value = fresh;
        }
        return value;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RuleState;
    }

    @Override
    public int hashCode() {
        return 0;
    }

    @Override
    public String toString() {
        return "state";
    }

    /** {@code jiffies} at {@code nanos} on the injected clock. */
    public static long jiffies(long nanos) {
        return Math.floorDiv(nanos, NANOS_PER_JIFFY);
    }

    /** Linux: msecs_to_jiffies when HZ divides 1000: rounded up. */
    public static long msecsToJiffies(long ms) {
        long per = 1000 / HZ;
        return (ms + per - 1) / per;
    }

    /**
     * Objects the kernel keeps per network namespace by name and shares between the rules naming them
     * (recent lists, hashlimit tables, rate estimators), refcounted by those rules. Here the rules' state
     * holds them strongly and this registry weakly, so a table lives while a rule of a live generation
     * names it, and goes with the last such rule, as the kernel's refcount does. One registry per JVM:
     * one network namespace.
     */
    public static final class Registry<K, V> {
        private final Map<K, WeakReference<V>> byName = new HashMap<>();

        /** The object named {@code key}, created by {@code create} when none lives. */
        public synchronized V get(K key, Function<K, V> create) {
            WeakReference<V> ref = byName.get(key);
            V v = ref == null ? null : ref.get();
            if (v == null) {
                v = create.apply(key);
                byName.put(key, new WeakReference<>(v));
                byName.values().removeIf(r -> r.get() == null);
            }
            return v;
        }

        /** The object named {@code key} if one lives, else null. */
        public synchronized V find(K key) {
            WeakReference<V> ref = byName.get(key);
            return ref == null ? null : ref.get();
        }
    }
}
