package org.jnetfilter.core.netfilter;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.reply.NflogMessage;

/**
 * nfnetlink_log: the kernel side of NFLOG's listeners. A listener binds groups (as {@code tcpdump -i nflog:N} or
 * ulogd does); packets logged to a group nobody binds are dropped, as the kernel drops them. Each bound group is
 * an instance with the kernel's defaults for a listener that configures nothing but the copy mode: copy range
 * NFULNL_COPY_RANGE_MAX, queue threshold 100, flush timeout 1 s, buffer NLMSG_GOODSIZE.
 *
 * <p>Delivery follows nfulnl_log_packet: the payload is {@code min(copy range, --nflog-size when given, packet
 * length)} bytes; messages queue in the instance's buffer and reach the listener together when the queue holds
 * the threshold (the instance's, or the rule's --nflog-threshold when that is smaller and not 0), when the next
 * message would not fit the buffer (then the queue goes first), or when the flush timer, armed by the first
 * message that did not flush, expires one flush timeout later. Time is the packets' ({@link PacketContext#nowNanos}):
 * a timer fires when a later packet is logged, at {@link #advance}, or at {@link #close}, and its batch is
 * delivered with the timer's expiry as time.
 *
 * <p>Buffer room is the kernel's: each message is counted at nfulnl_log_packet's pessimistic size estimate against
 * the tailroom of an skb of {@code max(NLMSG_GOODSIZE, estimate)} bytes rounded up as kmalloc rounds (powers of
 * two, x86-64's 320-byte skb_shared_info), and takes its aligned length. Single thread (the datapath's).
 */
public final class NfnetlinkLog implements NflogSink, AutoCloseable {
    /** Receives each message as a {@code tcpdump -i nflog:N} capture record (see {@link NflogMessage}). */
    public interface Listener {
        void deliver(int group, long nowNanos, byte[] message);
    }

    // Linux: NFULNL_COPY_RANGE_MAX = 0xFFFF - NLA_HDRLEN
    static final int COPY_RANGE_MAX = 0xFFFF - 4;
    // Linux: NFULNL_QTHRESH_DEFAULT = 100 packets
    static final int QTHRESH_DEFAULT = 100;
    // Linux: NFULNL_TIMEOUT_DEFAULT = 100 (hundredths of a second)
    static final long FLUSH_TIMEOUT_NANOS = 1_000_000_000L;
    // Linux: sizeof(struct skb_shared_info) aligned to the cache line on x86-64; NLMSG_GOODSIZE = 4096 - that
    static final int SKB_SHARED_INFO = 320;
    static final int NLMSG_GOODSIZE = 4096 - SKB_SHARED_INFO;

    private final Listener listener;
    private final boolean allGroups;
    private final Map<Integer, Instance> instanceByGroup = new HashMap<>();
    private long earliestTimer = Long.MAX_VALUE;

    private static final class Instance {
        final int group;
        final List<byte[]> queue = new ArrayList<>();
        int capacity;
        int used;
        long timer = -1;

        Instance(int group) {
            this.group = group;
        }
    }

    private NfnetlinkLog(Listener listener, boolean allGroups) {
        this.listener = listener;
        this.allGroups = allGroups;
    }

    /** A listener bound to every group (what {@code jnf replay --nflog} records). */
    public static NfnetlinkLog allGroups(Listener listener) {
        return new NfnetlinkLog(listener, true);
    }

    /** A listener bound to these groups only. */
    public static NfnetlinkLog groups(Listener listener, int... groups) {
        NfnetlinkLog log = new NfnetlinkLog(listener, false);
        for (int g : groups) {
            log.instanceByGroup.put(g, new Instance(g));
        }
        return log;
    }

    @Override
    public void log(PacketContext pkt, int group, String prefix, long copyLength, int threshold) {
        Instance inst = instanceByGroup.get(group);
        if (inst == null) {
            if (!allGroups) {
                return;
            }
            inst = new Instance(group);
            instanceByGroup.put(group, inst);
        }
        long now = pkt.nowNanos();
        advance(now);
        int dataLength = COPY_RANGE_MAX;
        if (copyLength >= 0 && copyLength < dataLength) {
            dataLength = (int) copyLength;
        }
        dataLength = Math.min(dataLength, pkt.length());
        int size = estimate(pkt, prefix, dataLength);
        if (!inst.queue.isEmpty() && size > inst.capacity - inst.used) {
            flush(inst, now);
        }
        if (inst.queue.isEmpty()) {
            inst.capacity = skbTailroom(Math.max(NLMSG_GOODSIZE, size));
            inst.used = 0;
        }
        byte[] message = NflogMessage.build(pkt, group, prefix, dataLength);
        inst.queue.add(message);
        inst.used += NflogMessage.NLMSG_HDRLEN + message.length;
        int qthreshold = QTHRESH_DEFAULT;
        // Linux: a rule's threshold overrides the instance's only when it is smaller
        if (threshold != 0 && qthreshold > threshold) {
            qthreshold = threshold;
        }
        if (inst.queue.size() >= qthreshold) {
            flush(inst, now);
        } else if (inst.timer < 0) {
            inst.timer = now + FLUSH_TIMEOUT_NANOS;
            earliestTimer = Math.min(earliestTimer, inst.timer);
        }
    }

    /** Fires the flush timers that expire at or before {@code nowNanos}. */
    public void advance(long nowNanos) {
        if (nowNanos < earliestTimer) {
            return;
        }
        fireTimers(nowNanos);
    }

    /** Fires every pending timer (the listener stays until the end of time): what is queued is delivered. */
    @Override
    public void close() {
        fireTimers(Long.MAX_VALUE);
    }

    private void fireTimers(long nowNanos) {
        long next = Long.MAX_VALUE;
        List<Instance> due = new ArrayList<>();
        for (Instance inst : instanceByGroup.values()) {
            if (inst.timer >= 0 && inst.timer <= nowNanos) {
                due.add(inst);
            } else if (inst.timer >= 0) {
                next = Math.min(next, inst.timer);
            }
        }
        due.sort((a, b) -> Long.compare(a.timer, b.timer));
        for (Instance inst : due) {
            flush(inst, inst.timer);
        }
        earliestTimer = next;
    }

    private void flush(Instance inst, long nowNanos) {
        inst.timer = -1;
        for (byte[] m : inst.queue) {
            listener.deliver(inst.group, nowNanos, m);
        }
        inst.queue.clear();
        inst.used = 0;
    }

    /** nfulnl_log_packet's size: every attribute it might add, whether this packet has it or not. */
    static int estimate(PacketContext pkt, String prefix, int dataLength) {
        int plen = prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 1;
        // Linux: nlmsg_total_size(sizeof(struct nfgenmsg)), twice (the message and NLMSG_DONE)
        int nlmsg = (NflogMessage.NLMSG_HDRLEN + 4 + 3) & ~3;
        int size = 2 * nlmsg + NflogMessage.attributeSize(4) // packet header
                + 4 * NflogMessage.attributeSize(4) // in, out, physin, physout (CONFIG_BRIDGE_NETFILTER)
                + 3 * NflogMessage.attributeSize(4) // mark, uid, gid
                + NflogMessage.attributeSize(plen) + NflogMessage.attributeSize(12) // prefix, hwaddr
                + NflogMessage.attributeSize(16); // timestamp
        if (NflogMessage.hasLinkHeader(pkt)) {
            size += NflogMessage.attributeSize(14) + 2 * NflogMessage.attributeSize(2);
        }
        return size + NflogMessage.attributeSize(dataLength);
    }

    /** The tailroom alloc_skb(n) leaves: data aligned to 64 bytes plus shared info, rounded to a power of two. */
    static int skbTailroom(int n) {
        int total = ((n + 63) & ~63) + SKB_SHARED_INFO;
        return Integer.highestOneBit(total - 1) * 2 - SKB_SHARED_INFO;
    }
}
