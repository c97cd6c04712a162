package org.jnetfilter.core.defrag;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jnetfilter.core.rules.Family;

/**
 * Reassembly of IPv4 and IPv6 fragments as netfilter's defragmentation does it before conntrack:
 * IPv4 {@code ip_defrag} (net/ipv4/ip_fragment.c, inet_fragment.c) called by nf_defrag_ipv4, IPv6
 * {@code nf_ct_frag6_gather} (net/ipv6/netfilter/nf_conntrack_reasm.c). Feed each datagram with the clock
 * ({@link #add}); a fragment gives {@link Outcome#QUEUED} until the datagram is whole, then
 * {@link Outcome#REASSEMBLED} with the new datagram.
 *
 * <p>Queues are keyed as the kernel keys them: IPv4 (source, destination, ID, protocol, user), IPv6
 * (source, destination, ID, user, and the input device for link-local or multicast destinations). The
 * {@code user} separates callers (the kernel's IP_DEFRAG_CONNTRACK_IN + zone, _OUT + zone, LOCAL_DELIVER...).
 *
 * <p>Rules of current kernels (RFC 5722 and its erratum, applied to IPv4 too since Linux 4.19):
 * <ul>
 *   <li>a fragment that overlaps queued data partly kills the queue (all its fragments are dropped); one
 *       that lies wholly inside a run of queued data is a duplicate, dropped alone ({@code IPFRAG_DUP});
 *       runs are the kernel's: consecutive fragments appended at the tail, others stand alone;
 *   <li>a last fragment ending before data already queued, or a second last fragment with another end,
 *       or data beyond a known end: IPv4 kills the queue, IPv6 drops the fragment;
 *   <li>a non-last fragment not a multiple of 8 long: IPv4 trims it to a multiple of 8; IPv6 kills the
 *       queue and lets the fragment pass unreassembled ({@link Outcome#PASS}, nf_ct_frag6_queue's -EPROTO);
 *   <li>a zero-length fragment: IPv4 kills the queue, IPv6 drops it;
 *   <li>a datagram longer than 65535 bytes (IPv4) or a payload above 65535 (IPv6) is dropped;
 *   <li>ECN: the fragments' codepoints combine as ip_frag_ecn_table (CE with ECT gives CE, Not-ECT mixed
 *       with ECT or CE drops the datagram);
 *   <li>a queue lives {@code ipfrag_time} (30 s; IPv6 conntrack: {@code nf_conntrack_frag6_timeout}, 60 s)
 *       from its first fragment; later fragments do not extend it;
 *   <li>memory: each queued fragment counts its length plus the kernel's sk_buff overhead
 *       ({@link #SKB_OVERHEAD}, an approximation of truesize); above {@code high_thresh} (4 MiB) every
 *       fragment is dropped until queues expire (no eviction since Linux 4.17).
 * </ul>
 *
 * <p>The reassembled IPv4 datagram is the first fragment's header (options included) with Total Length
 * set, MF and offset cleared, DF set only when the largest fragments all had DF (IPSKB_FRAG_PMTU), the ECN
 * bits combined and the checksum recomputed. The IPv6 datagram is the first fragment's unfragmentable part
 * with the Fragment header removed, the Next Header before it taken from it, Payload Length set and ECN
 * combined. Both carry {@code frag_max_size} (IPv4: the largest fragment; IPv6: 40 + the largest payload
 * length) and the fragments' payload lengths in offset order, for the {@link Fragmenter}.
 *
 * <p>Expired queues ({@link #expire}): Linux kills them and, if the first fragment had arrived, sends ICMP
 * Time Exceeded / Fragment Reassembly Time Exceeded from it (ip_expire, ip6frag_expire_frag_queue). For
 * IPv4 under conntrack (users IP_DEFRAG_CONNTRACK_*), the error is sent only when the datagram was for a
 * local address (frag_expire_skip_icmp); IPv6 conntrack reassembly sends it like local reassembly. The
 * pipeline decides with {@link Expired#first()} (through {@code IcmpErrors}, ICMP_TIME_EXCEEDED / ICMP_EXC_FRAGTIME).
 *
 * <p>Not modelled: ipfrag_max_dist (reinitialising a queue when 64 other fragments from the same source
 * came between, IPv4 only). Not thread-safe: one instance per packet thread or under a lock. Fragments
 * allocate (the kernel keeps them too); datagrams that are not fragments pass without allocation.
 */
public final class Defrag {
    public enum Outcome {
        /** Not a fragment: the datagram goes on unchanged. */
        NOT_FRAGMENT,
        /** Queued: the kernel keeps it (NF_STOLEN) until the datagram is whole. */
        QUEUED,
        /** The last missing piece: {@link Result#datagram()} is the whole datagram, which goes on. */
        REASSEMBLED,
        /** Dropped (with or without its queue). */
        DROPPED,
        /** IPv6 only: let through unreassembled (a non-last fragment whose length is not a multiple of 8). */
        PASS
    }

    /**
     * What {@link #add} did. For {@link Outcome#REASSEMBLED}: the datagram, {@code frag_max_size}, whether
     * IPv4 DF was kept (IPSKB_FRAG_PMTU), and the payload length of each fragment in offset order.
     */
    public record Result(Outcome outcome, MemorySegment datagram, int fragMaxSize, boolean dontFragment,
            int[] fragmentPayloads) {
        static final Result NOT_FRAGMENT = new Result(Outcome.NOT_FRAGMENT, null, 0, false, null);
        static final Result QUEUED = new Result(Outcome.QUEUED, null, 0, false, null);
        static final Result DROPPED = new Result(Outcome.DROPPED, null, 0, false, null);
        static final Result PASS = new Result(Outcome.PASS, null, 0, false, null);
    }

    /**
     * A queue that timed out: its key parts and the fragment at offset 0 if it had arrived (null otherwise),
     * from which the kernel sends the Time Exceeded error.
     */
    public record Expired(Family family, long deadlineNanos, MemorySegment first, String inDevice) {
        /**
         * Whether Linux sends ICMP Time Exceeded (fragment reassembly) for this queue: only if its first
         * fragment arrived; for IPv4 reassembled by conntrack ({@code conntrackUser}) only when the datagram
         * was for a local address (ip_expire, frag_expire_skip_icmp); IPv6 always (recorded:
         * tools/replies/record-defrag.sh, probes v4-expire-* and v6-expire-*).
         */
        public boolean sendsTimeExceeded(boolean conntrackUser, boolean localDestination) {
            if (first == null) {
                return false;
            }
            return family == Family.IPV6 || !conntrackUser || localDestination;
        }
    }

    // Linux: ipfrag_time 30 s (IP_FRAG_TIME), nf_conntrack_frag6_timeout 60 s
    public static final long IPV4_TIMEOUT_NANOS = 30_000_000_000L;
    public static final long IPV6_TIMEOUT_NANOS = 60_000_000_000L;
    // Linux: ipfrag_high_thresh, nf_conntrack_frag6_high_thresh: 4 MiB
    public static final long HIGH_THRESH = 4L * 1024 * 1024;
    /** Added to each fragment's length in the memory count: SKB_TRUESIZE overhead of an sk_buff on x86-64. */
    public static final int SKB_OVERHEAD = 576;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int IP_CE = 0x8000;
    private static final int IP_DF = 0x4000;
    private static final int IP_MF = 0x2000;
    private static final int IP_OFFSET = 0x1FFF;
    private static final int NEXTHDR_FRAGMENT = 44;

    private final Family family;
    private long timeoutNanos;
    private long highThresh = HIGH_THRESH;
    private long memory;
    // creation order = deadline order, as every queue gets the same timeout
    private final Map<Key, Queue> queueByKey = new LinkedHashMap<>();
    private final List<Expired> expired = new ArrayList<>();

    public Defrag(Family family) {
        this.family = family;
        this.timeoutNanos = family == Family.IPV4 ? IPV4_TIMEOUT_NANOS : IPV6_TIMEOUT_NANOS;
    }

    /** ipfrag_time / nf_conntrack_frag6_timeout. */
    public Defrag timeoutNanos(long nanos) {
        timeoutNanos = nanos;
        return this;
    }

    /** ipfrag_high_thresh / nf_conntrack_frag6_high_thresh, bytes. */
    public Defrag highThresh(long bytes) {
        highThresh = bytes;
        return this;
    }

    public int queues() {
        return queueByKey.size();
    }

    /** The memory the queues hold, as the kernel counts it (see {@link #SKB_OVERHEAD}). */
    public long memory() {
        return memory;
    }

    private record Key(long srcHi, long srcLo, long dstHi, long dstLo, int id, int protocol, int user, String dev) {
    }

    /** One fragment's data, at its offset in the datagram's fragmentable part. */
    private record Piece(int offset, byte[] data, int charge) {
    }

    private static final class Queue {
        final long deadline;
        // run head offset -> run end, and every piece by offset
        final TreeMap<Integer, Integer> runEndByStart = new TreeMap<>();
        final TreeMap<Integer, Piece> pieceByOffset = new TreeMap<>();
        int lastRunStart = -1;
        int len;
        boolean firstIn;
        boolean lastIn;
        int meat;
        int ecn;
        int maxSize;
        int maxDfSize;
        byte[] head;        // IPv4: the first fragment's IP header; IPv6: everything before its Fragment header
        int nextHeaderAt;   // IPv6: where the Next Header that named the Fragment header is, in head
        int fragmentNext;   // IPv6: the Fragment header's Next Header
        MemorySegment firstFragment;
        String inDevice;

        Queue(long deadline) {
            this.deadline = deadline;
        }
    }

    // ---- the kernel's run insert, shared by both families (inet_frag_queue_insert) ----

    private static final int INSERT_OK = 0;
    private static final int INSERT_DUP = 1;
    private static final int INSERT_OVERLAP = 2;

    private static int insert(Queue q, int offset, int end) {
        if (q.lastRunStart < 0) {
            q.runEndByStart.put(offset, end);
            q.lastRunStart = offset;
            return INSERT_OK;
        }
        int lastEnd = q.runEndByStart.get(q.lastRunStart);
        if (lastEnd < end) {
            if (offset < lastEnd) {
                return INSERT_OVERLAP;
            }
            if (offset == lastEnd) {
                q.runEndByStart.put(q.lastRunStart, end);
            } else {
                q.runEndByStart.put(offset, end);
                q.lastRunStart = offset;
            }
            return INSERT_OK;
        }
        // a search among the runs: inside one is a duplicate, touching one partly an overlap
        for (Map.Entry<Integer, Integer> run : q.runEndByStart.entrySet()) {
            int start = run.getKey();
            int runEnd = run.getValue();
            if (end <= start || offset >= runEnd) {
                continue;
            }
            return offset >= start && end <= runEnd ? INSERT_DUP : INSERT_OVERLAP;
        }
        q.runEndByStart.put(offset, end);
        return INSERT_OK;
    }

    // ---- feeding ----

    /**
     * Feeds the datagram of {@code length} bytes at {@code offset} in {@code s}, arrived at {@code nowNanos}
     * through {@code inDevice} (may be null), for reassembly user {@code user}.
     */
    public Result add(MemorySegment s, long offset, int length, long nowNanos, int user, String inDevice) {
        expireQueues(nowNanos);
        return family == Family.IPV4 ? add4(s, offset, length, nowNanos, user, inDevice)
                : add6(s, offset, length, nowNanos, user, inDevice);
    }

    private Queue find(Key key, long now) {
        Queue q = queueByKey.get(key);
        if (q == null) {
            if (memory > highThresh || highThresh == 0) {
                return null;
            }
            q = new Queue(now + timeoutNanos);
            queueByKey.put(key, q);
        } else if (memory > highThresh || highThresh == 0) {
            // Linux: inet_frag_find refuses every fragment above the high threshold
            return null;
        }
        return q;
    }

    private void kill(Key key, Queue q) {
        if (queueByKey.remove(key) != null) {
            for (Piece p : q.pieceByOffset.values()) {
                memory -= p.charge();
            }
        }
    }

    private Result add4(MemorySegment s, long at, int length, long now, int user, String dev) {
        if (length < 20) {
            return Result.NOT_FRAGMENT;
        }
        int fragOff = Short.toUnsignedInt(s.get(U16, at + 6));
        if ((fragOff & (IP_MF | IP_OFFSET)) == 0) {
            return Result.NOT_FRAGMENT;
        }
        int ihl = (s.get(ValueLayout.JAVA_BYTE, at) & 0x0F) << 2;
        if (ihl < 20 || ihl > length) {
            // ip_rcv drops such a header before any hook; a caller that skipped its checks gets the same
            return Result.DROPPED;
        }
        Key key = new Key(0, Integer.toUnsignedLong(s.get(U32, at + 12)), 0, Integer.toUnsignedLong(s.get(U32, at + 16)),
                Short.toUnsignedInt(s.get(U16, at + 4)), Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at + 9)),
                user, null);
        Queue q = find(key, now);
        if (q == null) {
            return Result.DROPPED;
        }
        int off = (fragOff & IP_OFFSET) << 3;
        int end = off + length - ihl;
        if ((fragOff & IP_MF) == 0) {
            if (end < q.len || (q.lastIn && end != q.len)) {
                kill(key, q);
                return Result.DROPPED;
            }
            q.lastIn = true;
            q.len = end;
        } else {
            end &= ~7;
            if (end > q.len) {
                if (q.lastIn) {
                    kill(key, q);
                    return Result.DROPPED;
                }
                q.len = end;
            }
        }
        if (end == off) {
            kill(key, q);
            return Result.DROPPED;
        }
        int verdict = insert(q, off, end);
        if (verdict == INSERT_DUP) {
            return Result.DROPPED;
        }
        if (verdict == INSERT_OVERLAP) {
            kill(key, q);
            return Result.DROPPED;
        }
        byte[] data = new byte[end - off];
        MemorySegment.copy(s, ValueLayout.JAVA_BYTE, at + ihl, data, 0, data.length);
        int charge = length + SKB_OVERHEAD;
        q.pieceByOffset.put(off, new Piece(off, data, charge));
        memory += charge;
        if (dev != null) {
            q.inDevice = dev;
        }
        q.meat += data.length;
        q.ecn |= 1 << (s.get(ValueLayout.JAVA_BYTE, at + 1) & 3);
        if (off == 0) {
            q.firstIn = true;
            q.head = new byte[ihl];
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, at, q.head, 0, ihl);
            q.firstFragment = copy(s, at, length);
        }
        int fragSize = data.length + ihl;
        q.maxSize = Math.max(q.maxSize, fragSize);
        if ((fragOff & IP_DF) != 0 && fragSize > q.maxDfSize) {
            q.maxDfSize = fragSize;
        }
        if (!(q.firstIn && q.lastIn && q.meat == q.len)) {
            return Result.QUEUED;
        }
        kill(key, q);
        return reassemble4(q);
    }

    private static Result reassemble4(Queue q) {
        int ecn = ecnOf(q.ecn);
        int total = q.head.length + q.len;
        if (ecn < 0 || total > 65535) {
            return Result.DROPPED;
        }
        byte[] out = new byte[total];
        System.arraycopy(q.head, 0, out, 0, q.head.length);
        int[] payloads = new int[q.pieceByOffset.size()];
        int i = 0;
        for (Piece p : q.pieceByOffset.values()) {
            System.arraycopy(p.data(), 0, out, q.head.length + p.offset(), p.data().length);
            payloads[i++] = p.data().length;
        }
        MemorySegment d = MemorySegment.ofArray(out);
        d.set(U16, 2, (short) total);
        boolean pmtu = q.maxDfSize == q.maxSize;
        d.set(U16, 6, (short) (pmtu ? IP_DF : 0));
        d.set(ValueLayout.JAVA_BYTE, 1, (byte) (out[1] | ecn));
        d.set(U16, 10, (short) 0);
        d.set(U16, 10, (short) headerChecksum(d, q.head.length));
        return new Result(Outcome.REASSEMBLED, d, Math.max(q.maxDfSize, q.maxSize), pmtu, payloads);
    }

    /** ip_frag_ecn_table: the ECN bits to OR in, or -1 to drop; {@code seen} has bit 1 << codepoint. */
    static int ecnOf(int seen) {
        final int notEct = 1;
        final int ce = 8;
        if ((seen & notEct) != 0 && seen != notEct) {
            return -1;
        }
        return (seen & ce) != 0 && seen != ce ? 3 : 0;
    }

    private static int headerChecksum(MemorySegment d, int ihl) {
        long sum = 0;
        for (int i = 0; i < ihl; i += 2) {
            sum += Short.toUnsignedInt(d.get(U16, i));
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) (~sum & 0xFFFF);
    }

    // ---- IPv6 ----

    /**
     * find_prev_fhdr: where the Fragment header starts and where the Next Header naming it is, walking
     * Hop-by-Hop, Routing, Destination Options and AH; null if there is no Fragment header to reach.
     */
    private static int[] findFragmentHeader(MemorySegment s, long at, int length) {
        int nextAt = 6;
        int next = Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at + 6));
        int ptr = 40;
        while (next != NEXTHDR_FRAGMENT) {
            if (!(next == 0 || next == 43 || next == 60 || next == 51) || ptr + 2 > length) {
                return null;
            }
            int hdrlen = next == 51 ? (Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at + ptr + 1)) + 2) << 2
                    : (Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at + ptr + 1)) + 1) << 3;
            nextAt = ptr;
            next = Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at + ptr));
            ptr += hdrlen;
        }
        return new int[] {ptr, nextAt};
    }

    private Result add6(MemorySegment s, long at, int length, long now, int user, String dev) {
        if (length < 40) {
            return Result.NOT_FRAGMENT;
        }
        int[] f = findFragmentHeader(s, at, length);
        if (f == null) {
            return Result.NOT_FRAGMENT;
        }
        int fhoff = f[0];
        if (fhoff + 8 > length) {
            return Result.DROPPED;
        }
        long dstHi = s.get(U64, at + 24);
        long dstLo = s.get(U64, at + 32);
        boolean scoped = (dstHi >>> 56) == 0xFF || (dstHi >>> 54) == (0xFE80L >>> 6);
        Key key = new Key(s.get(U64, at + 8), s.get(U64, at + 16), dstHi, dstLo, s.get(U32, at + fhoff + 4), 0, user,
                scoped ? dev : null);
        Queue q = find(key, now);
        if (q == null) {
            return Result.DROPPED;
        }
        int payloadLen = Short.toUnsignedInt(s.get(U16, at + 4));
        int fragOff = Short.toUnsignedInt(s.get(U16, at + fhoff + 2));
        int off = fragOff & ~7;
        int end = off + (payloadLen - (fhoff + 8 - 40));
        if (end > 65535) {
            return Result.DROPPED;
        }
        if ((fragOff & 1) == 0) {
            if (end < q.len || (q.lastIn && end != q.len)) {
                return Result.DROPPED;
            }
            q.lastIn = true;
            q.len = end;
        } else {
            if ((end & 7) != 0) {
                // Linux: nf_ct_frag6_queue kills the queue and returns -EPROTO: the fragment passes as it is
                kill(key, q);
                return Result.PASS;
            }
            if (end > q.len) {
                if (q.lastIn) {
                    return Result.DROPPED;
                }
                q.len = end;
            }
        }
        if (end == off || fhoff + 8 + (end - off) > length) {
            return Result.DROPPED;
        }
        int verdict = insert(q, off, end);
        if (verdict == INSERT_DUP) {
            return Result.DROPPED;
        }
        if (verdict == INSERT_OVERLAP) {
            kill(key, q);
            return Result.DROPPED;
        }
        byte[] data = new byte[end - off];
        MemorySegment.copy(s, ValueLayout.JAVA_BYTE, at + fhoff + 8, data, 0, data.length);
        int charge = length + SKB_OVERHEAD;
        q.pieceByOffset.put(off, new Piece(off, data, charge));
        memory += charge;
        if (dev != null) {
            q.inDevice = dev;
        }
        q.meat += data.length;
        q.ecn |= 1 << ((Short.toUnsignedInt(s.get(U16, at)) >>> 4) & 3);
        q.maxSize = Math.max(q.maxSize, payloadLen);
        if (off == 0) {
            q.firstIn = true;
            q.head = new byte[fhoff];
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, at, q.head, 0, fhoff);
            q.nextHeaderAt = f[1];
            q.fragmentNext = Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at + fhoff));
            q.firstFragment = copy(s, at, length);
        }
        if (!(q.firstIn && q.lastIn && q.meat == q.len)) {
            return Result.QUEUED;
        }
        kill(key, q);
        return reassemble6(q);
    }

    private static Result reassemble6(Queue q) {
        int ecn = ecnOf(q.ecn);
        int payload = q.head.length - 40 + q.len;
        if (ecn < 0 || payload > 65535) {
            return Result.DROPPED;
        }
        byte[] out = new byte[40 + payload];
        System.arraycopy(q.head, 0, out, 0, q.head.length);
        out[q.nextHeaderAt] = (byte) q.fragmentNext;
        int[] payloads = new int[q.pieceByOffset.size()];
        int i = 0;
        for (Piece p : q.pieceByOffset.values()) {
            System.arraycopy(p.data(), 0, out, q.head.length + p.offset(), p.data().length);
            payloads[i++] = p.data().length;
        }
        MemorySegment d = MemorySegment.ofArray(out);
        d.set(U16, 4, (short) payload);
        // Linux: ipv6_change_dsfield(hdr, 0xff, ecn): the ECN bits ORed into the traffic class
        d.set(U16, 0, (short) (Short.toUnsignedInt(d.get(U16, 0)) | (ecn << 4)));
        return new Result(Outcome.REASSEMBLED, d, 40 + q.maxSize, false, payloads);
    }

    private static MemorySegment copy(MemorySegment s, long at, int length) {
        byte[] b = new byte[length];
        MemorySegment.copy(s, ValueLayout.JAVA_BYTE, at, b, 0, length);
        return MemorySegment.ofArray(b);
    }

    // ---- time ----

    /**
     * The queues whose time ran out by {@code nowNanos}, killed; each with its first fragment when that had
     * arrived. Includes queues found expired by earlier {@link #add} calls.
     */
    public List<Expired> expire(long nowNanos) {
        expireQueues(nowNanos);
        List<Expired> out = List.copyOf(expired);
        expired.clear();
        return out;
    }

    private void expireQueues(long now) {
        Iterator<Map.Entry<Key, Queue>> it = queueByKey.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Key, Queue> e = it.next();
            Queue q = e.getValue();
            if (q.deadline > now) {
                break;
            }
            it.remove();
            for (Piece p : q.pieceByOffset.values()) {
                memory -= p.charge();
            }
            expired.add(new Expired(family, q.deadline, q.firstIn ? q.firstFragment : null, q.inDevice));
        }
    }
}
