package org.jnetfilter.core.nat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.conntrack.Protocol;
import org.jnetfilter.core.conntrack.Tuple;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;

/**
 * Network address translation as nf_nat_core.c and nf_nat_proto.c: a binding chosen once per connection and
 * manip type ({@link #setupInfo}, what SNAT, DNAT, MASQUERADE, REDIRECT and NETMAP call, and the null
 * binding when no rule chose one), then applied to every packet of the connection in both directions
 * ({@link #packet}), and to the packet quoted by an ICMP error about it ({@link #icmpReplyTranslation}).
 *
 * <p>A binding is the connection's reply tuple: {@code setupInfo} turns the current reply into the one a
 * unique mapping gives (get_unique_tuple) and sets SRC_NAT or DST_NAT when it changed, SRC_NAT_DONE or
 * DST_NAT_DONE in any case. A packet is then rewritten toward the inverse of the other direction's tuple.
 *
 * <p>Design note, get_unique_tuple: (1) for a source manip, keep the original source when it is in the range
 * and unused, else reuse the mapping of another connection from the same source (the by-source index) if in
 * range and unused; (2) choose the address by jhash2 of the source (and, unless --persistent, the
 * destination) over the range, as find_best_ips_proto; (3) keep the port when in range and unused (or the
 * range is a single port), else nf_nat_l4proto_unique_tuple: from a random offset (an offset from the base
 * for shifted maps, 0 for a destination manip without --random), up to 128 ports tried, then halving rounds
 * from new random offsets. Randomness is {@link PacketContext#random()}; a tuple is used when the table holds
 * its inverse (nf_conntrack_tuple_taken).
 *
 * <p>Rewriting: transport first (ports, ICMP echo ids, GRE v1 call ids, with incremental checksum updates
 * including the pseudo-header; a UDP checksum of 0 stays 0 and a result of 0 becomes 0xFFFF; SCTP's CRC32c
 * recomputed), then the address (IPv4 header checksum updated). Only the first 8 bytes of a transport header
 * quoted in an ICMP error may be present: then only the ports change, as the kernel does.
 *
 * <p>Hot path: {@link #packet} allocates nothing; {@link #setupInfo} (first packet of a connection)
 * allocates its scratch tuples.
 */
public final class Nat {
    // Linux: NF_NAT_RANGE_* (include/uapi/linux/netfilter/nf_nat.h)
    public static final int MAP_IPS = 1;
    public static final int PROTO_SPECIFIED = 2;
    public static final int PROTO_RANDOM = 4;
    public static final int PERSISTENT = 8;
    public static final int PROTO_RANDOM_FULLY = 16;
    public static final int PROTO_OFFSET = 32;
    public static final int NETMAP = 64;
    public static final int PROTO_RANDOM_ALL = PROTO_RANDOM | PROTO_RANDOM_FULLY;

    // Linux: enum nf_nat_manip_type
    public static final int MANIP_SRC = 0;
    public static final int MANIP_DST = 1;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Nat() {
    }

    /** HOOK2MANIP: source NAT at POSTROUTING and INPUT, destination NAT at PREROUTING and OUTPUT. */
    public static int manipOf(Hook hook) {
        return hook == Hook.POSTROUTING || hook == Hook.INPUT ? MANIP_SRC : MANIP_DST;
    }

    /** nf_nat_initialized. */
    public static boolean initialized(Connection ct, int manip) {
        return ct.hasStatus(manip == MANIP_SRC ? Connection.SRC_NAT_DONE : Connection.DST_NAT_DONE);
    }

    // ---- the binding ----

    /**
     * nf_nat_setup_info: binds {@code ct} for {@code manip} to a unique tuple within the range (addresses
     * {@code min..max} as IpNet keeps them, when {@link #MAP_IPS}; ports {@code minPort..maxPort} when
     * {@link #PROTO_SPECIFIED}; {@code basePort} for {@link #PROTO_OFFSET}). Returns ACCEPT; a confirmed
     * connection is left as it is.
     */
    public static int setupInfo(PacketContext pkt, Connection ct, int manip, int flags, long minHi, long minLo,
            long maxHi, long maxLo, int minPort, int maxPort, int basePort) {
        if (ct.isConfirmed() || initialized(ct, manip)) {
            return Verdict.ACCEPT;
        }
        Conntrack table = ct.table();
        Tuple curr = new Tuple();
        curr.invertOf(ct.reply());
        Tuple chosen = new Tuple();
        Range range = new Range(flags, minHi, minLo, maxHi, maxLo, minPort, maxPort, basePort);
        uniqueTuple(pkt, table, chosen, curr, range, ct, manip);
        if (!chosen.sameAs(curr)) {
            Tuple reply = new Tuple();
            reply.invertOf(chosen);
            ct.alterReply(reply);
            ct.addStatus(manip == MANIP_SRC ? Connection.SRC_NAT : Connection.DST_NAT);
        }
        if (manip == MANIP_SRC && table != null) {
            table.indexBySource(ct);
        }
        ct.addStatus(manip == MANIP_DST ? Connection.DST_NAT_DONE : Connection.SRC_NAT_DONE);
        return Verdict.ACCEPT;
    }

    /**
     * __nf_nat_alloc_null_binding: a binding to the address the connection already has (the reply's
     * destination for a source manip, its source for a destination manip), the port left to the protocol:
     * a source port clashing with another mapping is still changed.
     */
    public static int nullBinding(PacketContext pkt, Connection ct, Hook hook) {
        int manip = manipOf(hook);
        Tuple r = ct.reply();
        long hi = manip == MANIP_SRC ? r.destinationHi() : r.sourceHi();
        long lo = manip == MANIP_SRC ? r.destinationLo() : r.sourceLo();
        return setupInfo(pkt, ct, manip, MAP_IPS, hi, lo, hi, lo, 0, 0, 0);
    }

    /** An nf_nat_range2. */
    record Range(int flags, long minHi, long minLo, long maxHi, long maxLo, int minPort, int maxPort, int basePort) {
        boolean has(int f) {
            return (flags & f) != 0;
        }
    }

    /** get_unique_tuple. */
    static void uniqueTuple(PacketContext pkt, Conntrack table, Tuple tuple, Tuple orig, Range range,
            Connection ct, int manip) {
        long now = pkt.nowNanos();
        if (manip == MANIP_SRC && !range.has(PROTO_RANDOM_ALL)) {
            if (inRange(orig, range)) {
                if (!usedTuple(table, orig, ct, now)) {
                    tuple.copyFrom(orig);
                    return;
                }
            } else if (table != null && appropriateSource(table, orig, tuple, range, now)) {
                if (!usedTuple(table, tuple, ct, now)) {
                    return;
                }
            }
        }
        tuple.copyFrom(orig);
        bestAddress(tuple, range, manip);
        if (!range.has(PROTO_RANDOM_ALL)) {
            if (range.has(PROTO_SPECIFIED)) {
                if (!range.has(PROTO_OFFSET) && l4InRange(tuple, manip, range.minPort, range.maxPort)
                        && (range.minPort == range.maxPort || !usedTuple(table, tuple, ct, now))) {
                    return;
                }
            } else if (!usedTuple(table, tuple, ct, now)) {
                return;
            }
        }
        l4UniqueTuple(pkt, table, tuple, range, manip, ct);
    }

    /** nf_nat_used_tuple: whether the reply this tuple would give belongs to another connection. */
    static boolean usedTuple(Conntrack table, Tuple tuple, Connection ignored, long now) {
        if (table == null) {
            return false;
        }
        Tuple reply = new Tuple();
        reply.invertOf(tuple);
        return table.tupleTaken(reply, ignored, now);
    }

    /** nf_in_range: the source address and (if specified) the source id within the range. */
    static boolean inRange(Tuple t, Range r) {
        if (r.has(MAP_IPS)) {
            if (compare(t.sourceHi(), t.sourceLo(), r.minHi, r.minLo) < 0
                    || compare(t.sourceHi(), t.sourceLo(), r.maxHi, r.maxLo) > 0) {
                return false;
            }
        }
        return !r.has(PROTO_SPECIFIED) || l4InRange(t, MANIP_SRC, r.minPort, r.maxPort);
    }

    private static int compare(long aHi, long aLo, long bHi, long bLo) {
        int c = Long.compareUnsigned(aHi, bHi);
        return c != 0 ? c : Long.compareUnsigned(aLo, bLo);
    }

    /** l4proto_in_range. */
    static boolean l4InRange(Tuple t, int manip, int min, int max) {
        int id;
        switch (t.protocol()) {
            case Protocol.ICMP, Protocol.ICMPV6 -> id = t.sourceId();
            case Protocol.GRE, Protocol.TCP, Protocol.UDP, Protocol.UDPLITE, Protocol.SCTP ->
                    id = manip == MANIP_SRC ? t.sourceId() : t.destinationId();
            default -> {
                return true;
            }
        }
        return id >= min && id <= max;
    }

    /** find_appropriate_src: another connection's mapping of the same source, if in range. */
    private static boolean appropriateSource(Conntrack table, Tuple orig, Tuple result, Range range, long now) {
        for (Connection other : table.sameSource(orig, now)) {
            result.invertOf(other.reply());
            result.destination(orig.destinationHi(), orig.destinationLo(), orig.destinationId());
            if (inRange(result, range)) {
                return true;
            }
        }
        return false;
    }

    /** find_best_ips_proto: the address from the range by jhash2 of the source (and destination). */
    static void bestAddress(Tuple tuple, Range range, int manip) {
        if (!range.has(MAP_IPS)) {
            return;
        }
        if (range.minHi == range.maxHi && range.minLo == range.maxLo) {
            setAddress(tuple, manip, range.minHi, range.minLo);
            return;
        }
        boolean v4 = tuple.family() == Family.IPV4;
        int[] src = words(v4, tuple.sourceHi(), tuple.sourceLo());
        int[] dst = words(v4, tuple.destinationHi(), tuple.destinationLo());
        int[] min = words(v4, range.minHi, range.minLo);
        int[] max = words(v4, range.maxHi, range.maxLo);
        int last = v4 ? 0 : 3;
        // Linux hashes the in-memory words of the address: on x86 the bytes of each big-endian word reversed
        int[] key = new int[4];
        for (int i = 0; i < 4; i++) {
            key[i] = Integer.reverseBytes(src[i]);
        }
        int j = Jhash.jhash2(key, 4, range.has(PERSISTENT) ? 0 : Integer.reverseBytes(dst[last]));
        int[] out = new int[4];
        boolean fullRange = false;
        for (int i = 0; i <= last; i++) {
            long minip;
            long dist;
            if (!fullRange) {
                minip = Integer.toUnsignedLong(min[i]);
                dist = (Integer.toUnsignedLong(max[i]) - minip + 1) & 0xFFFFFFFFL;
            } else {
                minip = 0;
                dist = 0xFFFFFFFFL;
            }
            out[i] = (int) (minip + reciprocalScale(j, dist));
            if (out[i] != max[i]) {
                fullRange = true;
            }
            if (!range.has(PERSISTENT)) {
                j ^= Integer.reverseBytes(dst[i]);
            }
        }
        if (v4) {
            setAddress(tuple, manip, 0, Integer.toUnsignedLong(out[0]));
        } else {
            setAddress(tuple, manip, Integer.toUnsignedLong(out[0]) << 32 | Integer.toUnsignedLong(out[1]),
                    Integer.toUnsignedLong(out[2]) << 32 | Integer.toUnsignedLong(out[3]));
        }
    }

    /** reciprocal_scale: {@code (u32)(((u64) val * ep_ro) >> 32)}. */
    static long reciprocalScale(int val, long epRo) {
        return (Integer.toUnsignedLong(val) * epRo) >>> 32;
    }

    private static int[] words(boolean v4, long hi, long lo) {
        if (v4) {
            return new int[] {(int) lo, 0, 0, 0};
        }
        return new int[] {(int) (hi >>> 32), (int) hi, (int) (lo >>> 32), (int) lo};
    }

    private static void setAddress(Tuple t, int manip, long hi, long lo) {
        if (manip == MANIP_SRC) {
            t.source(hi, lo, t.sourceId());
        } else {
            t.destination(hi, lo, t.destinationId());
        }
    }

    private static int getId(Tuple t, int which) {
        return which == MANIP_SRC ? t.sourceId() : t.destinationId();
    }

    private static void setId(Tuple t, int which, int id) {
        if (which == MANIP_SRC) {
            t.source(t.sourceHi(), t.sourceLo(), id);
        } else {
            t.destination(t.destinationHi(), t.destinationLo(), id);
        }
    }

    /** nf_nat_l4proto_unique_tuple. */
    static void l4UniqueTuple(PacketContext pkt, Conntrack table, Tuple tuple, Range range, int manip,
            Connection ct) {
        long now = pkt.nowNanos();
        int which;
        int min;
        int rangeSize;
        switch (tuple.protocol()) {
            case Protocol.ICMP, Protocol.ICMPV6 -> {
                // the echo id is the same in both directions
                which = MANIP_SRC;
                if (!range.has(PROTO_SPECIFIED)) {
                    min = 0;
                    rangeSize = 65536;
                } else {
                    min = range.minPort;
                    rangeSize = range.maxPort - range.minPort + 1;
                }
            }
            case Protocol.UDP, Protocol.UDPLITE, Protocol.TCP, Protocol.SCTP -> {
                which = manip;
                if (!range.has(PROTO_SPECIFIED)) {
                    if (manip == MANIP_DST) {
                        // a destination rewrite cannot change the port
                        return;
                    }
                    int port = getId(tuple, which);
                    if (port < 1024) {
                        // Linux: loose convention, ports below 512 are credential passing
                        if (port < 512) {
                            min = 1;
                            rangeSize = 511 - min + 1;
                        } else {
                            min = 600;
                            rangeSize = 1023 - min + 1;
                        }
                    } else {
                        min = 1024;
                        rangeSize = 65535 - 1024 + 1;
                    }
                } else {
                    int lo = Math.min(range.minPort, range.maxPort);
                    int hi = Math.max(range.minPort, range.maxPort);
                    min = lo;
                    rangeSize = hi - lo + 1;
                }
            }
            case Protocol.GRE -> {
                // Linux: a GRE flow without a master is not PPTP's: its keys stay
                if (ct == null || ct.master() == null) {
                    return;
                }
                which = manip;
                if (!range.has(PROTO_SPECIFIED)) {
                    min = 1;
                    rangeSize = 65535;
                } else {
                    min = range.minPort;
                    rangeSize = range.maxPort - range.minPort + 1;
                }
            }
            default -> {
                // protocols without ids: nothing to choose
                return;
            }
        }
        int off;
        if (range.has(PROTO_OFFSET)) {
            off = (getId(tuple, which) - range.basePort) & 0xFFFF;
        } else if (range.has(PROTO_RANDOM_ALL) || manip != MANIP_DST) {
            off = pkt.random().nextInt(65536);
        } else {
            off = 0;
        }
        // Linux: max_attempts = 128, then rounds of half as many from a new random offset, down to 16
        int attempts = Math.min(rangeSize, 128);
        while (true) {
            for (int i = 0; i < attempts; i++, off = (off + 1) & 0xFFFF) {
                setId(tuple, which, min + Integer.remainderUnsigned(off, rangeSize));
                if (!usedTuple(table, tuple, ct, now)) {
                    return;
                }
            }
            if (attempts >= rangeSize || attempts < 16) {
                return;
            }
            attempts /= 2;
            off = pkt.random().nextInt(65536);
        }
    }

    // ---- applying the binding ----

    /**
     * nf_nat_packet: rewrites the packet for {@code hook}'s manip type when the connection is translated in
     * that direction; DROP when the packet is too short to rewrite.
     */
    public static int packet(PacketContext pkt, Connection ct, int ctinfo, Hook hook) {
        int manip = manipOf(hook);
        int dir = CtInfo.direction(ctinfo);
        int statusBit = manip == MANIP_SRC ? Connection.SRC_NAT : Connection.DST_NAT;
        if (dir == 1) {
            statusBit ^= Connection.NAT_MASK;
        }
        if (!ct.hasStatus(statusBit)) {
            return Verdict.ACCEPT;
        }
        Tuple other = ct.tuple(1 - dir);
        boolean ok = manipPacket(pkt, 0, other, true, manip, other.protocol());
        pkt.addressesChanged();
        return ok ? Verdict.ACCEPT : Verdict.DROP;
    }

    /**
     * Rewrites the IP packet at network offset {@code ip} (0: the packet, else a quoted packet) toward
     * {@code t} (inverted first when {@code invert}, as nf_nat_manip_pkt does), for {@code manip}: the
     * transport of protocol {@code proto}, then the address.
     */
    static boolean manipPacket(PacketContext pkt, int ip, Tuple t, boolean invert, int manip, int proto) {
        // the target: the inverse of t, without allocating
        long sHi;
        long sLo;
        long dHi;
        long dLo;
        int sId;
        int dId;
        if (invert) {
            sHi = t.destinationHi();
            sLo = t.destinationLo();
            dHi = t.sourceHi();
            dLo = t.sourceLo();
            if (t.protocol() == Protocol.ICMP || t.protocol() == Protocol.ICMPV6) {
                sId = t.sourceId();
                dId = t.destinationId();
            } else {
                sId = t.destinationId();
                dId = t.sourceId();
            }
        } else {
            sHi = t.sourceHi();
            sLo = t.sourceLo();
            dHi = t.destinationHi();
            dLo = t.destinationLo();
            sId = t.sourceId();
            dId = t.destinationId();
        }
        MemorySegment s = pkt.segment();
        long base = pkt.networkOffset();
        int len = pkt.length();
        boolean v4 = pkt.family() == Family.IPV4;
        int hdroff;
        boolean transport = true;
        if (v4) {
            if (ip + 20 > len) {
                return false;
            }
            hdroff = ip + ((u8(s, base + ip) & 0x0F) << 2);
        } else {
            if (ip + 40 > len) {
                return false;
            }
            long skip = skipIpv6(s, base, ip + 40, u8(s, base + ip + 6), len);
            if (skip < 0) {
                hdroff = -1;
                transport = false;
            } else {
                hdroff = (int) (skip >>> 8);
                transport = (skip & 0x100_0000_0000L) == 0;
            }
        }
        long oldHi;
        long oldLo;
        long newHi = manip == MANIP_SRC ? sHi : dHi;
        long newLo = manip == MANIP_SRC ? sLo : dLo;
        int addrAt = manip == MANIP_SRC ? (v4 ? 12 : 8) : (v4 ? 16 : 24);
        if (v4) {
            oldHi = 0;
            oldLo = s.get(U32, base + ip + addrAt) & 0xFFFFFFFFL;
        } else {
            oldHi = s.get(U64, base + ip + addrAt);
            oldLo = s.get(U64, base + ip + addrAt + 8);
        }
        if (transport && !manipTransport(s, base, len, v4, hdroff, proto, manip, sId, dId, oldHi, oldLo, newHi,
                newLo)) {
            return false;
        }
        if (v4) {
            int check = Short.toUnsignedInt(s.get(U16, base + ip + 10));
            s.set(U16, base + ip + 10, (short) Checksums.update32(check, (int) oldLo, (int) newLo));
            s.set(U32, base + ip + addrAt, (int) newLo);
        } else {
            s.set(U64, base + ip + addrAt, newHi);
            s.set(U64, base + ip + addrAt + 8, newLo);
        }
        return true;
    }

    /** The l4proto manip_pkt functions; {@code hdroff} is the transport header's network offset. */
    private static boolean manipTransport(MemorySegment s, long base, int len, boolean v4, int hdroff, int proto,
            int manip, int sId, int dId, long oldHi, long oldLo, long newHi, long newLo) {
        long h = base + hdroff;
        int newPort = manip == MANIP_SRC ? sId : dId;
        int portAt = manip == MANIP_SRC ? 0 : 2;
        switch (proto) {
            case Protocol.TCP -> {
                if (hdroff + 8 > len) {
                    return false;
                }
                int oldPort = Short.toUnsignedInt(s.get(U16, h + portAt));
                s.set(U16, h + portAt, (short) newPort);
                if (hdroff + 20 > len) {
                    return true;
                }
                int check = Short.toUnsignedInt(s.get(U16, h + 16));
                check = pseudo(check, v4, oldHi, oldLo, newHi, newLo);
                s.set(U16, h + 16, (short) Checksums.update16(check, oldPort, newPort));
                return true;
            }
            case Protocol.UDP, Protocol.UDPLITE -> {
                if (hdroff + 8 > len) {
                    return false;
                }
                int oldPort = Short.toUnsignedInt(s.get(U16, h + portAt));
                int check = Short.toUnsignedInt(s.get(U16, h + 6));
                if (proto == Protocol.UDPLITE || check != 0) {
                    check = pseudo(check, v4, oldHi, oldLo, newHi, newLo);
                    check = Checksums.update16(check, oldPort, newPort);
                    // Linux: CSUM_MANGLED_0, a computed 0 is sent as 0xFFFF
                    s.set(U16, h + 6, (short) (check == 0 ? 0xFFFF : check));
                }
                s.set(U16, h + portAt, (short) newPort);
                return true;
            }
            case Protocol.SCTP -> {
                if (hdroff + 8 > len) {
                    return false;
                }
                s.set(U16, h + portAt, (short) newPort);
                if (hdroff + 12 > len) {
                    return true;
                }
                s.set(U32_LE, h + 8, (int) Checksums.sctp(s, h, len - hdroff));
                return true;
            }
            case Protocol.ICMP -> {
                if (hdroff + 8 > len) {
                    return false;
                }
                int type = u8(s, h);
                if (type == 0 || type == 8 || (type >= 13 && type <= 18)) {
                    int oldId = Short.toUnsignedInt(s.get(U16, h + 4));
                    int check = Short.toUnsignedInt(s.get(U16, h + 2));
                    s.set(U16, h + 2, (short) Checksums.update16(check, oldId, sId));
                    s.set(U16, h + 4, (short) sId);
                }
                return true;
            }
            case Protocol.ICMPV6 -> {
                if (hdroff + 8 > len) {
                    return false;
                }
                int check = Short.toUnsignedInt(s.get(U16, h + 2));
                check = pseudo(check, false, oldHi, oldLo, newHi, newLo);
                int type = u8(s, h);
                if (type == 128 || type == 129) {
                    int oldId = Short.toUnsignedInt(s.get(U16, h + 4));
                    check = Checksums.update16(check, oldId, sId);
                    s.set(U16, h + 4, (short) sId);
                }
                s.set(U16, h + 2, (short) check);
                return true;
            }
            case Protocol.GRE -> {
                if (hdroff + 8 > len) {
                    return false;
                }
                // Linux: GRE version 0 is never translated; version 1 (PPTP) gets the call id on DNAT
                if (manip == MANIP_DST && (u8(s, h + 1) & 7) == 1) {
                    s.set(U16, h + 6, (short) dId);
                }
                return true;
            }
            default -> {
                return true;
            }
        }
    }

    /** The pseudo-header part of a transport checksum update (inet_proto_csum_replace4/16). */
    private static int pseudo(int check, boolean v4, long oldHi, long oldLo, long newHi, long newLo) {
        return v4 ? Checksums.update32(check, (int) oldLo, (int) newLo)
                : Checksums.update128(check, oldHi, oldLo, newHi, newLo);
    }

    private static int u8(MemorySegment s, long at) {
        return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at));
    }

    /**
     * ipv6_skip_exthdr from network offset {@code at}: {@code offset << 8 | protocol}, with bit 40 set when
     * the header found is in a non-first fragment (no transport to rewrite); -1 when none is found.
     */
    private static long skipIpv6(MemorySegment s, long base, int at, int next, int len) {
        boolean fragment = false;
        while (next == 0 || next == 43 || next == 44 || next == 51 || next == 60) {
            if (at + 8 > len) {
                return -1;
            }
            int following = u8(s, base + at);
            int hdrlen;
            if (next == 44) {
                if ((Short.toUnsignedInt(s.get(U16, base + at + 2)) & ~0x7) != 0) {
                    fragment = true;
                }
                hdrlen = 8;
            } else if (next == 51) {
                hdrlen = (u8(s, base + at + 1) + 2) << 2;
            } else {
                hdrlen = (u8(s, base + at + 1) + 1) << 3;
            }
            next = following;
            at += hdrlen;
            if (fragment) {
                break;
            }
        }
        if (next == 59) {
            return -1;
        }
        return (long) at << 8 | next | (fragment ? 0x100_0000_0000L : 0);
    }

    // ---- ICMP errors about translated connections ----

    /**
     * nf_nat_icmp_reply_translation / nf_nat_icmpv6_reply_translation: an ICMP error RELATED to a translated
     * connection gets its quoted packet translated back (toward the other direction's tuple, the opposite
     * manip) and its outer header translated as a reply; the ICMP checksum is recomputed. False: drop (bad
     * checksum, too short, or a redirect about a translated connection).
     */
    public static boolean icmpReplyTranslation(PacketContext pkt, Connection ct, int ctinfo, Hook hook) {
        int dir = CtInfo.direction(ctinfo);
        int manip = manipOf(hook);
        boolean v4 = pkt.family() == Family.IPV4;
        int hdrlen = pkt.transportOffset();
        int len = pkt.length();
        MemorySegment s = pkt.segment();
        long base = pkt.networkOffset();
        int innerMin = v4 ? 8 + 20 : 8 + 40;
        if (hdrlen + innerMin > len) {
            return false;
        }
        long icmp = base + hdrlen;
        // Linux: nf_ip_checksum / nf_ip6_checksum sum a packet not summed yet (CHECKSUM_NONE: a locally generated
        // error) and leave it CHECKSUM_COMPLETE; one summed before (conntrack on receipt, this hook in OUTPUT) is
        // summed again only in PREROUTING and INPUT, so a rule that broke its checksum since (SNPT of an address
        // outside --src-pfx) is not noticed in POSTROUTING (Linux 6.18, difftest seed 9 rulesets 28 and 52)
        boolean summed = pkt.checksumVerified() && hook != Hook.PREROUTING && hook != Hook.INPUT;
        if (!summed) {
            boolean valid = v4 ? Checksums.icmpValid(s, icmp, len - hdrlen)
                    : Checksums.icmpv6Valid(s, base, icmp, len - hdrlen);
            if (!valid) {
                return false;
            }
            pkt.checksumVerified(true);
        }
        int type = u8(s, icmp);
        // Linux: ICMP_REDIRECT 5, NDISC_REDIRECT 137: redirects about translated connections are dropped
        if ((v4 && type == 5) || (!v4 && type == 137)) {
            if ((ct.status() & Connection.NAT_DONE_MASK) != Connection.NAT_DONE_MASK) {
                return false;
            }
            if ((ct.status() & Connection.NAT_MASK) != 0) {
                return false;
            }
        }
        int statusBit = manip == MANIP_SRC ? Connection.SRC_NAT : Connection.DST_NAT;
        if (dir == 1) {
            statusBit ^= Connection.NAT_MASK;
        }
        if (!ct.hasStatus(statusBit)) {
            return true;
        }
        Tuple other = ct.tuple(1 - dir);
        if (!manipPacket(pkt, hdrlen + 8, other, false, 1 - manip, other.protocol())) {
            return false;
        }
        // the outer header as the reply to an incoming packet: toward the inverse of the other direction
        long sHi = other.destinationHi();
        long sLo = other.destinationLo();
        long dHi = other.sourceHi();
        long dLo = other.sourceLo();
        long newHi = manip == MANIP_SRC ? sHi : dHi;
        long newLo = manip == MANIP_SRC ? sLo : dLo;
        int addrAt = manip == MANIP_SRC ? (v4 ? 12 : 8) : (v4 ? 16 : 24);
        if (v4) {
            s.set(U16, icmp + 2, (short) 0);
            s.set(U16, icmp + 2, (short) Checksums.icmp(s, icmp, len - hdrlen));
            long oldLo = s.get(U32, base + addrAt) & 0xFFFFFFFFL;
            int check = Short.toUnsignedInt(s.get(U16, base + 10));
            s.set(U16, base + 10, (short) Checksums.update32(check, (int) oldLo, (int) newLo));
            s.set(U32, base + addrAt, (int) newLo);
        } else {
            s.set(U64, base + addrAt, newHi);
            s.set(U64, base + addrAt + 8, newLo);
            s.set(U16, icmp + 2, (short) 0);
            s.set(U16, icmp + 2, (short) Checksums.icmpv6(s, base, icmp, len - hdrlen));
        }
        pkt.addressesChanged();
        return true;
    }
}
