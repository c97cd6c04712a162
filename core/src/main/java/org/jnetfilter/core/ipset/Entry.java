package org.jnetfilter.core.ipset;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What a set keeps beside one element: the extensions of ip_set_ext (timeout, counters, comment, skbinfo)
 * and the nomatch flag of the hash types that have it. Counters are added to by packet threads without a
 * lock (atomic adds, as the kernel's atomic64 counters); everything else is written only by the control
 * plane under the set's lock, before the entry is published, or as whole-field updates.
 */
public final class Entry {
    private static final VarHandle PACKETS;
    private static final VarHandle BYTES;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            PACKETS = l.findVarHandle(Entry.class, "packets", long.class);
            BYTES = l.findVarHandle(Entry.class, "bytes", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Expiry on the injected clock (nanoseconds), or {@link Long#MAX_VALUE} for a permanent element. */
    volatile long expiresAt = Long.MAX_VALUE;
    volatile boolean nomatch;
    volatile String comment;
    volatile long skbMark = -1;
    volatile long skbMarkMask;
    volatile long skbPrio = -1;
    volatile int skbQueue = -1;
    /** Order of insertion, for listing. */
    long seq;
    @SuppressWarnings("unused")
    private volatile long packets;
    @SuppressWarnings("unused")
    private volatile long bytes;

    public long packets() {
        return packets;
    }

    public long bytes() {
        return bytes;
    }

    void count(long p, long b) {
        PACKETS.getAndAdd(this, p);
        BYTES.getAndAdd(this, b);
    }

    void setCounters(long p, long b) {
        packets = p;
        bytes = b;
    }

    public boolean nomatch() {
        return nomatch;
    }

    public String comment() {
        return comment;
    }

    public long skbMark() {
        return skbMark;
    }

    public long skbMarkMask() {
        return skbMarkMask;
    }

    public long skbPrio() {
        return skbPrio;
    }

    public int skbQueue() {
        return skbQueue;
    }

    public long expiresAt() {
        return expiresAt;
    }

    /** Linux: ip_set_timeout_expired: an element is gone once its time has come. */
    boolean expired(long now) {
        return expiresAt != Long.MAX_VALUE && now >= expiresAt;
    }

    /** The skbinfo extension as ipset prints it (only what is set). */
    public void appendSkbinfo(StringBuilder out) {
        if (skbMark >= 0 && (skbMark != 0 || skbMarkMask != 0)) {
            out.append(" skbmark 0x").append(Long.toHexString(skbMark));
            if (skbMarkMask != 0xFFFFFFFFL) {
                out.append("/0x").append(Long.toHexString(skbMarkMask));
            }
        }
        if (skbPrio > 0) {
            out.append(" skbprio ").append(Long.toHexString(skbPrio >>> 16)).append(':')
                    .append(Long.toHexString(skbPrio & 0xFFFF));
        }
        if (skbQueue > 0) {
            out.append(" skbqueue ").append(skbQueue);
        }
    }
}
