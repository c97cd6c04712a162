package org.jnetfilter.core.netfilter;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import org.jnetfilter.core.rules.Family;

/**
 * The packets sent out by lo that have yet to come back in: Linux's per-CPU backlog ({@code softnet_data
 * .input_pkt_queue}), which loopback_xmit feeds through netif_rx, in arrival order.
 *
 * <p>Design note. A looped-back packet is not received at once: netif_rx queues it, and the NET_RX softirq takes it
 * after the packet being processed is done. When that packet was itself received (the softirq is running), the
 * looped-back one waits until its whole path is over, its socket's answers included; a packet the host sends from a
 * process runs the softirq when bottom halves are enabled again, right after lo's transmit, or at the end of
 * nf_dup_ipv4 / nf_dup_ipv6 for a TEE copy (they disable bottom halves around the copy's ip_local_out). The
 * {@link Datapath} decides when to drain; this class keeps the queue: the datagram's bytes, the device it is received
 * on and what the skb carries ({@link KeptPacketState}: loopback_xmit keeps all of it, and the route). A packet an
 * SRv6 endpoint decapsulates is queued the same way, on the device it came in by, scrubbed.
 *
 * <p>Packet thread only. Entries are recycled: a packet allocates only when the queue is deeper than it has been,
 * or its datagram longer than the entry's buffer.
 */
final class Backlog {
    // Linux: net.core.netdev_max_backlog = 1000; a looped-back packet finding the queue full is dropped
    static final int MAX_BACKLOG = 1000;

    /** One looped-back packet. */
    static final class Entry {
        byte[] bytes = new byte[2048];
        int length;
        Family family;
        /** The device netif_rx receives it on: lo for a looped-back packet, the tunnel's for a decapsulated one. */
        String device;
        /** What the skb carries beside its bytes, as the receive on {@link #device} sees it. */
        final KeptPacketState state = new KeptPacketState();
        /** The route loopback_xmit keeps (skb_dst_force), or null: routed again on receive. */
        RouteDecision route;
        long nowNanos;
        Trace trace;

        /** The datagram's bytes into {@code into} at {@code offset}. */
        void copyTo(MemorySegment into, long offset) {
            MemorySegment.copy(bytes, 0, into, ValueLayout.JAVA_BYTE, offset, length);
        }
    }

    private final ArrayDeque<Entry> queue = new ArrayDeque<>();
    private final ArrayDeque<Entry> free = new ArrayDeque<>();

    /**
     * Queues {@code datagram} with the packet's state; null when the queue is full (the caller drops the packet), else
     * the entry for the caller to fill in beyond the bytes.
     */
    Entry offer(MemorySegment datagram, Family family, String device, long nowNanos, Trace trace) {
        if (queue.size() >= MAX_BACKLOG) {
            return null;
        }
        Entry e = free.poll();
        if (e == null) {
            e = new Entry();
        }
        int n = (int) datagram.byteSize();
        if (e.bytes.length < n) {
            e.bytes = new byte[Math.max(n, e.bytes.length * 2)];
        }
        MemorySegment.copy(datagram, ValueLayout.JAVA_BYTE, 0, e.bytes, 0, n);
        e.length = n;
        e.family = family;
        e.device = device;
        e.nowNanos = nowNanos;
        e.trace = trace;
        queue.add(e);
        return e;
    }

    /** The oldest queued packet, or null. */
    Entry poll() {
        return queue.poll();
    }

    /** Gives a polled entry back for reuse (its references dropped). */
    void recycle(Entry e) {
        e.state.clear();
        e.route = null;
        e.trace = null;
        free.add(e);
    }

    boolean isEmpty() {
        return queue.isEmpty();
    }

    /** Forgets what is queued (after a failure left packets behind). */
    void clear() {
        Entry e;
        while ((e = queue.poll()) != null) {
            recycle(e);
        }
    }
}
