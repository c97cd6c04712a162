package org.jnetfilter.core.rules;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Packet and byte counters of one rule or one policy. The rule identity owns them: a new generation
 * that keeps a rule keeps its counters object, so counting survives updates of other rules.
 * Thread-safe; packet threads add, commands read and zero.
 */
public final class Counters {
    private final AtomicLong packets;
    private final AtomicLong bytes;

    public Counters(long packets, long bytes) {
        this.packets = new AtomicLong(packets);
        this.bytes = new AtomicLong(bytes);
    }

    public static Counters zero() {
        return new Counters(0, 0);
    }

    public long packets() {
        return packets.get();
    }

    public long bytes() {
        return bytes.get();
    }

    public void add(long packetCount, long byteCount) {
        packets.addAndGet(packetCount);
        bytes.addAndGet(byteCount);
    }

    public void set(long packetCount, long byteCount) {
        packets.set(packetCount);
        bytes.set(byteCount);
    }

    public void reset() {
        set(0, 0);
    }

    public Counters copy() {
        return new Counters(packets(), bytes());
    }

    @Override
    public String toString() {
        return "[" + packets() + ":" + bytes() + "]";
    }
}
