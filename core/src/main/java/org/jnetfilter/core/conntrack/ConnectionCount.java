package org.jnetfilter.core.conntrack;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;

/**
 * nf_conncount as xt_connlimit uses it: per rule, per masked address (and zone), the tuples of the
 * connections counted. Counting a packet garbage-collects the list (at most once per jiffy): a counted
 * connection no longer in the table, or a TCP one in TIME_WAIT or CLOSE, is dropped; then the packet's own
 * connection is added unless it is there already or confirmed and ASSURED (see {@link #count}); the answer is
 * the list's length. The table looked in is the packet's namespace's ({@link PacketContext#conntrackTable()}), or,
 * for a packet handed in without one, the table of the last tracked packet counted.
 *
 * <p>Design note. The kernel keeps an rbtree of lists and spares entries added within two jiffies on another
 * CPU (they may be about to be confirmed); with one packet thread per entry here, the same-CPU rule applies:
 * an entry whose connection is not in the table is dropped, which is what drops the entry of a connection
 * whose first packet the rule itself rejected. A packet without an entry counts by its own tuple, which is
 * never found in the table. Thread-safe (one lock per rule, as the kernel's per-tree locks). Counting
 * allocates the lookup key and, for a new connection, its entry.
 */
public final class ConnectionCount {
    private record Key(long hi, long lo, int zone) {
    }

    private static final class Entry {
        final Tuple tuple = new Tuple();
    }

    private static final class CountList {
        final List<Entry> entries = new ArrayList<>();
        long lastGc = Long.MIN_VALUE;
    }

    private final Map<Key, CountList> listByKey = new HashMap<>();
    private Conntrack table;

    /**
     * Counts the packet's connection under the masked address {@code hi}/{@code lo}; returns the count, or 0
     * when the packet's tuple cannot be read (the kernel's hotdrop).
     *
     * <p>Linux 6.18 as the kernel answers (nf_conncount_count_skb): the connection is the packet's entry (its original
     * tuple is counted), or the table's entry for the packet's tuple (the packet's own tuple is counted: for a reply
     * in raw PREROUTING the entry's reply tuple, which is found again when the list is walked). Without a list for the address
     * yet, a list holding that connection is made (insert_tree: whatever its state), count 1. With one, even one
     * its collections emptied (count_tree defers an empty node to insert_tree, which finds the node by its key and
     * adds to it as to any other; the node is freed only by another key's tree walk or the gc worker, not
     * modelled):
     * <ul>
     * <li>a confirmed and ASSURED connection is not added (-EEXIST): the list is garbage-collected
     * (nf_conncount_gc_list, at most once a jiffy) and its length is the answer: 0, a hotdrop, once the list is
     * empty, until a connection not assured is added;
     * <li>a confirmed connection not yet ASSURED (a reply or an ICMP error of a connection not assured yet, the
     * SYN-ACK of a handshake) is looked for in the list, collecting it on the way, and added when absent;
     * <li>an unconfirmed one is added, after the same walk unless the list was collected in this jiffy.
     * </ul>
     * The kernel (6.18.44, checked in a netns) keeps the entry of a packet without a connection (an invalid
     * SYN-ACK) when an ICMP error or a reply of a connection not assured comes next, which a collection alone
     * would have dropped: that packet's connection is added instead.
     */
    public synchronized long count(PacketContext pkt, long hi, long lo) {
        if (pkt.conntrackTable() != null) {
            // Linux: the packet's netns table, also for a packet conntrack has not seen yet (raw PREROUTING, OUTPUT)
            table = pkt.conntrackTable();
        }
        Connection ct = pkt.conntrack();
        Tuple tuple;
        int zone = 0;
        if (ct != null && !ct.isTemplate()) {
            tuple = ct.original;
            zone = ct.zone;
            if (ct.owner != null) {
                table = ct.owner;
            }
        } else {
            tuple = packetTuple(pkt);
            if (tuple == null) {
                return 0;
            }
            // Linux: get_ct_or_tuple_from_skb looks the tuple up in the table (nf_conntrack_find_get); the entry found
            // decides confirmed/ASSURED, but the tuple counted stays the packet's own (a reply's is the entry's
            // reply tuple: found in the table again when the list is walked)
            ct = table == null ? null : table.lookup(tuple, pkt.nowNanos());
        }
        long now = Conntrack.jiffies(pkt.nowNanos());
        Key key = new Key(hi, lo, zone);
        CountList list = listByKey.get(key);
        if (list == null) {
            // Linux: insert_tree (no node for the address yet)
            list = new CountList();
            listByKey.put(key, list);
            Entry e = new Entry();
            e.tuple.copyFrom(tuple);
            list.entries.add(e);
            list.lastGc = now;
            return 1;
        }
        boolean confirmed = ct != null && ct.isConfirmed();
        if (confirmed && ct.hasStatus(Connection.ASSURED)) {
            // Linux: -EEXIST, then count_tree's nf_conncount_gc_list ("just did GC" once a jiffy)
            if (now != list.lastGc) {
                collect(list, pkt, null);
                list.lastGc = now;
            }
            return list.entries.size();
        }
        // Linux: an unconfirmed connection skips the walk in the jiffy of the last collection; a confirmed one
        // not assured always walks (check_connections)
        if ((confirmed || now != list.lastGc) && collect(list, pkt, tuple)) {
            // already counted
            return list.entries.size();
        }
        Entry e = new Entry();
        e.tuple.copyFrom(tuple);
        list.entries.add(e);
        list.lastGc = now;
        return list.entries.size();
    }

    /**
     * Drops the entries whose connection is gone or a TCP one in TIME_WAIT or CLOSE; true when {@code own} (not
     * null) is found among the live ones first (then the walk stops, as __nf_conncount_add returns).
     */
    private boolean collect(CountList list, PacketContext pkt, Tuple own) {
        for (int i = 0; i < list.entries.size(); i++) {
            Entry e = list.entries.get(i);
            Connection found = table == null ? null : table.lookup(e.tuple, pkt.nowNanos());
            if (found == null) {
                list.entries.remove(i--);
                continue;
            }
            if (own != null && e.tuple.sameAs(own)) {
                return true;
            }
            if (found.protocol() == Protocol.TCP && (found.tcpState == Connection.TCP_TIME_WAIT
                    || found.tcpState == Connection.TCP_CLOSE)) {
                list.entries.remove(i--);
            }
        }
        return false;
    }

    private static Tuple packetTuple(PacketContext pkt) {
        int proto = pkt.protocol();
        if (proto < 0) {
            return null;
        }
        int sId = 0;
        int dId = 0;
        if (Protocol.hasPorts(proto)) {
            if (!pkt.transportAvailable(4)) {
                return null;
            }
            sId = pkt.transportU16(0);
            dId = pkt.transportU16(2);
        } else if (proto == Protocol.ICMP || proto == Protocol.ICMPV6) {
            if (!pkt.transportAvailable(8)) {
                return null;
            }
            sId = pkt.transportU16(4);
            dId = pkt.transportU16(0);
        }
        Family f = pkt.family();
        return new Tuple().set(f, proto, pkt.sourceHi(), pkt.sourceLo(), pkt.destinationHi(), pkt.destinationLo(),
                sId, dId, 0);
    }
}
