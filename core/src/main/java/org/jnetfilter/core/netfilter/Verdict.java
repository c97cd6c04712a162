package org.jnetfilter.core.netfilter;

/**
 * Verdicts as the kernel encodes them in one {@code unsigned int}: the low byte is the verdict
 * ({@code NF_DROP} ... {@code NF_STOP}), the high 16 bits carry the queue number of {@code NF_QUEUE}
 * (include/uapi/linux/netfilter.h: NF_VERDICT_MASK, NF_VERDICT_QBITS). Targets may also answer
 * {@link #CONTINUE} (x_tables.h XT_CONTINUE), which only the rule walk sees.
 *
 * <p>Plain {@code int}s so that a verdict costs no allocation on the packet path.
 */
public final class Verdict {
    // Linux: NF_DROP 0, NF_ACCEPT 1, NF_STOLEN 2, NF_QUEUE 3, NF_REPEAT 4, NF_STOP 5
    public static final int DROP = 0;
    public static final int ACCEPT = 1;
    public static final int STOLEN = 2;
    public static final int QUEUE = 3;
    public static final int REPEAT = 4;
    public static final int STOP = 5;
    /** Linux: XT_CONTINUE = 0xFFFFFFFF, "go on with the next rule". */
    public static final int CONTINUE = 0xFFFFFFFF;

    // Linux: NF_VERDICT_MASK 0x000000ff, NF_VERDICT_QBITS 16
    static final int MASK = 0xFF;
    static final int QUEUE_SHIFT = 16;

    private Verdict() {
    }

    /** NF_QUEUE_NR(num): queue the packet to userspace queue {@code num}. */
    public static int queue(int num) {
        return (num << QUEUE_SHIFT) | QUEUE;
    }

    /** The verdict without its queue number: one of DROP ... STOP (or CONTINUE's low byte). */
    public static int kind(int verdict) {
        return verdict & MASK;
    }

    /** The queue number of a QUEUE verdict. */
    public static int queueNumber(int verdict) {
        return verdict >>> QUEUE_SHIFT;
    }

    /** "ACCEPT", "DROP", "QUEUE" or "QUEUE(num)", "STOLEN", "REPEAT", "STOP", "CONTINUE". */
    public static String toString(int verdict) {
        if (verdict == CONTINUE) {
            return "CONTINUE";
        }
        return switch (kind(verdict)) {
            case DROP -> "DROP";
            case ACCEPT -> "ACCEPT";
            case STOLEN -> "STOLEN";
            case QUEUE -> queueNumber(verdict) == 0 ? "QUEUE" : "QUEUE(" + queueNumber(verdict) + ")";
            case REPEAT -> "REPEAT";
            case STOP -> "STOP";
            default -> "verdict 0x" + Integer.toHexString(verdict);
        };
    }
}
