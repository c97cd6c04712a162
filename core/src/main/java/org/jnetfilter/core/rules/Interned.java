package org.jnetfilter.core.rules;

/**
 * One shared instance per equal immutable value that rules repeat: fixed parts without addresses or
 * interfaces, port and mark matches, lists of such matches, verdicts. A Kubernetes node's 160k rules
 * carry a few hundred distinct such values, a ClassBench set's 10k rules a few hundred ports.
 *
 * <p>A direct-mapped cache of 4,096 slots: a value goes to the slot of its hash, replacing what was
 * there. Lookups cost a hash and an equals, with no lock and no reference objects, so the parsing
 * threads of a restore barely notice it (a weakly held map cost a 160k-rule restore a quarter more
 * CPU); the cache keeps at most 4,096 small values alive. Reads and writes of the slots race
 * harmlessly: the values are immutable (final fields), and a lost write only loses a share.
 * Parse and update paths only; never per packet.
 */
final class Interned {
    private Interned() {
    }

    private static final int SLOTS = 1 << 12;
    private static final Object[] BY_HASH = new Object[SLOTS];

    /** A shared instance equal to {@code value}: one met before, else {@code value} itself. */
    @SuppressWarnings("unchecked")
    static <T> T of(T value) {
        int h = value.hashCode();
        int slot = (h ^ (h >>> 16)) & (SLOTS - 1);
        Object had = BY_HASH[slot];
        if (had != null && had.getClass() == value.getClass() && had.equals(value)) {
            return (T) had;
        }
        BY_HASH[slot] = value;
        return value;
    }
}
