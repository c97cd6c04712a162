package org.jnetfilter.core.conntrack;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.jnetfilter.core.ext.matches.RuleState;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.nat.HelperNat;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;

/**
 * The connection tracking table of one network namespace and its packet functions: {@link #in}
 * (nf_conntrack_in, at PREROUTING and OUTPUT, priority -200) and {@link #confirm} (nf_confirm, at INPUT
 * and POSTROUTING, last). {@link ConntrackHooks#register} registers them, and NAT's, on a
 * {@link org.jnetfilter.core.netfilter.Netfilter}.
 *
 * <p>What {@link #in} does, as the kernel:
 * <ol>
 * <li>a packet already attached to an entry (looped back through lo) or untracked (NOTRACK, CT --notrack)
 * is left alone; a CT template gives its zone (and helper) and is replaced;</li>
 * <li>non-first fragments and packets whose transport header cannot be read get no entry: INVALID;</li>
 * <li>ICMP and ICMPv6 errors are checked (length, checksum at PREROUTING, type) and attached to the
 * connection of the packet they quote, looked up by its inverted tuple: RELATED (RELATED_REPLY when found
 * as the reply), when the outer destination is that direction's destination; else INVALID. IPv6 neighbour
 * discovery and MLD are UNTRACKED;</li>
 * <li>the tuple is looked up in both directions; a miss creates an unconfirmed entry (NEW), subject to
 * nf_conntrack_max with early drop of unassured entries;</li>
 * <li>the protocol tracker judges the packet (TCP state machine and windows, UDP, ICMP, GRE, generic); an
 * invalid packet is detached (INVALID) and accepted; a SYN reopening a closed TCP connection kills the old
 * entry and is looked up again;</li>
 * <li>the first packet in the reply direction sets SEEN_REPLY.</li>
 * </ol>
 * {@link #confirm} hashes the new entry when its first packet leaves through INPUT or POSTROUTING, turning its
 * relative timeout into an absolute one; a clash with an entry confirmed meanwhile drops the packet, except
 * where the kernel resolves it (UDP, ICMP, GRE, generic: the packet takes the existing entry when NAT made
 * no difference).
 *
 * <p>Time is the packet clock, {@link PacketContext#nowNanos()}, in jiffies of {@link #HZ}; entries expire
 * when {@code timeout - jiffies <= 0} and are removed when met by a lookup, a listing or a table-full check
 * (the kernel's garbage collector runs on its own; only the moment of removal differs).
 *
 * <p>Threading: packet threads call {@link #in} and {@link #confirm} concurrently; the hash table is guarded
 * by this object's monitor (the kernel's per-bucket locks and RCU), per-connection protocol state by the
 * connection's. Known differences: the hash function, and so which unassured entry early drop picks;
 * unconfirmed entries do not count toward nf_conntrack_max; of the helpers ftp, tftp, irc, sane, amanda, netbios-ns, pptp and sip
 * ({@link ConntrackHelper}); expectations live in a list searched only while it is not empty. DCCP is tracked generically (no ports), as by kernels without the DCCP tracker, like this
 * machine's 6.18.
 *
 * <p>Hot path: looking up an existing connection allocates nothing; a new connection allocates its entry.
 */
public final class Conntrack {
    /** Linux: CONFIG_HZ of this kernel (jiffies per second), as RuleState. */
    public static final long HZ = RuleState.HZ;

    // negative results of the trackers: -NF_ACCEPT (invalid, accept) and -NF_REPEAT (look up again)
    static final int INVALID_ACCEPT = -Verdict.ACCEPT;
    static final int REPEAT = -Verdict.REPEAT;
    private static final int CONTINUE = 100;

    // Linux: NF_CT_EVICTION_RANGE = 8 buckets scanned by early_drop
    private static final int EVICTION_RANGE = 8;

    private final Host host;
    private volatile ConntrackSettings settings;
    private volatile boolean accounting;
    private volatile boolean labels;

    private Tuple[] buckets = new Tuple[1024];
    private int count;
    private Connection[] bySource = new Connection[1024];
    private long lastGcJiffies = Long.MIN_VALUE;

    public Conntrack(Host host) {
        this.host = host;
        this.settings = new ConntrackSettings(host);
    }

    public Conntrack() {
        this(new Host());
    }

    public Host host() {
        return host;
    }

    /** Reads the net.netfilter.nf_conntrack_* sysctls of the host again (after {@code sysctl -w}). */
    public void reloadSettings() {
        settings = new ConntrackSettings(host);
    }

    ConntrackSettings settings() {
        return settings;
    }

    /**
     * Whether new connections get counters: net.netfilter.nf_conntrack_acct, or forced on by a connbytes
     * rule (connbytes_mt_check turns the sysctl on for good).
     */
    public void forceAccounting() {
        accounting = true;
    }

    /** Whether new connections get a label area: connlabel rules exist (nf_connlabels_get). */
    public void labelsUsed(boolean used) {
        labels = used;
    }

    /** {@code jiffies} at {@code nanos} of the packet clock. */
    public static long jiffies(long nanos) {
        return RuleState.jiffies(nanos);
    }

    // ---- nf_conntrack_in ----

    /** nf_conntrack_in at {@code hook} (PREROUTING or OUTPUT): attaches the packet to its connection. */
    public int in(PacketContext pkt, Hook hook) {
        if (pkt.untracked()) {
            return Verdict.ACCEPT;
        }
        Connection cur = pkt.conntrack();
        int zone = 0;
        Connection tmpl = null;
        if (cur != null) {
            if (!cur.isTemplate()) {
                // seen before: looped back, keeps its entry
                return Verdict.ACCEPT;
            }
            tmpl = cur;
            // Linux: nf_ct_zone_tmpl; CT --zone mark takes the zone from the packet mark's low 16 bits
            zone = cur.zoneFromMark ? (int) (pkt.mark() & 0xFFFF) : cur.zone;
            pkt.conntrack(null, CtInfo.ESTABLISHED);
        }
        boolean v4 = pkt.family() == Family.IPV4;
        if (hook == Hook.OUTPUT && v4 && (pkt.networkU16(6) & 0x3FFF) != 0) {
            // Linux: ipv4_conntrack_local leaves locally generated fragments (IP_NODEFRAG) alone
            return Verdict.ACCEPT;
        }
        int proto = pkt.protocol();
        if (proto < 0 || pkt.fragmentOffset() != 0 || (!v4 && proto == NO_NEXT_HEADER)) {
            // Linux: get_l4proto finds no upper layer (ipv6_skip_exthdr stops at No Next Header): the
            // packet is counted invalid and accepted without an entry
            return Verdict.ACCEPT;
        }
        ConntrackSettings s = settings;
        long now = jiffies(pkt.nowNanos());
        if (v4 && proto == Protocol.ICMP) {
            int r = icmpError(pkt, hook, zone, s, now);
            if (r != CONTINUE) {
                return r;
            }
        } else if (!v4 && proto == Protocol.ICMPV6) {
            int r = icmpv6Error(pkt, hook, zone, s, now);
            if (r != CONTINUE) {
                return r;
            }
        }
        while (true) {
            // the tuple of the packet
            int sId;
            int dId;
            if (Protocol.hasPorts(proto)) {
                if (!pkt.transportAvailable(4)) {
                    return Verdict.ACCEPT;
                }
                sId = pkt.transportU16(0);
                dId = pkt.transportU16(2);
            } else if (proto == Protocol.ICMP || proto == Protocol.ICMPV6) {
                if (!pkt.transportAvailable(8)) {
                    return Verdict.ACCEPT;
                }
                sId = pkt.transportU16(4);
                dId = pkt.transportU16(0);
            } else if (proto == Protocol.GRE && pkt.transportAvailable(8) && (pkt.transportU8(1) & 7) == 1) {
                // Linux: gre_pkt_to_tuple: an enhanced (version 1) GRE packet carrying PPP is keyed by its call id
                // (the destination key) and the source key the pptp helper's keymap gives (0 without one)
                if (pkt.transportU16(2) != GRE_PROTO_PPP) {
                    // Linux: "Unsupported GRE proto": no tuple, no entry
                    return Verdict.ACCEPT;
                }
                dId = pkt.transportU16(6);
                sId = greKeymapCount == 0 ? 0 : greKeyLookup(pkt.family(), pkt.sourceHi(), pkt.sourceLo(),
                        pkt.destinationHi(), pkt.destinationLo(), dId);
            } else {
                sId = 0;
                dId = 0;
            }
            Family f = pkt.family();
            long sHi = pkt.sourceHi();
            long sLo = pkt.sourceLo();
            long dHi = pkt.destinationHi();
            long dLo = pkt.destinationLo();
            Connection ct;
            int ctinfo;
            Tuple h = find(f, proto, sHi, sLo, dHi, dLo, sId, dId, zone, now);
            if (h == null) {
                ct = newConnection(f, proto, sHi, sLo, dHi, dLo, sId, dId, zone, tmpl, now);
                if (ct == null) {
                    return Verdict.ACCEPT;
                }
                if (ct == TABLE_FULL) {
                    return Verdict.DROP;
                }
                if (tmpl != null && tmpl.synproxy) {
                    // Linux: init_conntrack adds the seqadj and synproxy extensions of the SYNPROXY template
                    ct.synproxy = true;
                }
                Expectation exp = expectCount > 0 ? takeExpectation(ct.original, now) : null;
                if (exp != null) {
                    // Linux: init_conntrack: "Welcome, Mr. Bond. We've been expecting you...": a child of the
                    // master, with its mark and secmark, translated as the master says (nf_nat_follow_master)
                    Connection master = exp.master;
                    ct.status |= Connection.EXPECTED;
                    ct.master = master;
                    ct.mark = master.mark;
                    ct.secmark = master.secmark;
                    if (exp.helper != null) {
                        // Linux: init_conntrack: exp->helper becomes the new connection's helper
                        ct.helper = exp.helper.name();
                        ct.helperFunction = exp.helper;
                    }
                    if (master.helperFunction != null) {
                        master.helperFunction.expectationMet(pkt, ct, exp, now);
                    } else if (exp.natDirection >= 0) {
                        HelperNat.followMaster(pkt, ct, exp);
                    }
                    ctinfo = CtInfo.RELATED;
                } else {
                    if (tmpl != null) {
                        // Linux: __nf_ct_try_assign_helper: the template's helper, found by name and protocol
                        ct.helper = tmpl.helper;
                        ct.helperFunction = ConntrackHelper.find(tmpl.helper, f, proto);
                    }
                    ctinfo = CtInfo.NEW;
                }
            } else {
                ct = h.connection;
                if (h.direction == 1) {
                    ctinfo = CtInfo.ESTABLISHED_REPLY;
                } else if (ct.hasStatus(Connection.SEEN_REPLY)) {
                    ctinfo = CtInfo.ESTABLISHED;
                } else if (ct.hasStatus(Connection.EXPECTED)) {
                    ctinfo = CtInfo.RELATED;
                } else {
                    ctinfo = CtInfo.NEW;
                }
            }
            pkt.conntrack(ct, ctinfo);
            int ret = packet(pkt, ct, ctinfo, hook, s, now);
            if (ret == REPEAT) {
                pkt.conntrack(null, CtInfo.ESTABLISHED);
                continue;
            }
            if (ret < 0 || ret == INVALID_ACCEPT) {
                pkt.conntrack(null, CtInfo.ESTABLISHED);
                return -ret;
            }
            if (ctinfo == CtInfo.ESTABLISHED_REPLY && !ct.hasStatus(Connection.SEEN_REPLY)) {
                ct.addStatus(Connection.SEEN_REPLY);
            }
            return ret;
        }
    }

    /** nf_conntrack_handle_packet: the protocol tracker's verdict, negative for an invalid packet. */
    private int packet(PacketContext pkt, Connection ct, int ctinfo, Hook hook, ConntrackSettings s, long now) {
        int dir = CtInfo.direction(ctinfo);
        switch (ct.protocol()) {
            case Protocol.TCP -> {
                return TcpTracking.packet(pkt, ct, ctinfo, hook, now, s);
            }
            case Protocol.SCTP -> {
                return SctpTracking.packet(pkt, ct, ctinfo, hook, now, s);
            }
            case Protocol.UDP, Protocol.UDPLITE -> {
                if (udpError(pkt, hook, s, ct.protocol() == Protocol.UDPLITE)) {
                    return INVALID_ACCEPT;
                }
                int status = ct.status;
                if ((status & Connection.CONFIRMED) == 0) {
                    // Linux: a flow still active two seconds after its start is a stream
                    ct.streamTs = now + 2 * HZ;
                }
                if ((status & Connection.SEEN_REPLY) != 0) {
                    long extra = s.udpTimeout;
                    boolean stream = false;
                    if (now - ct.streamTs > 0) {
                        extra = s.udpStreamTimeout;
                        stream = (status & Connection.ASSURED) == 0;
                    }
                    ct.refresh(now, extra, dir, pkt.length());
                    if ((status & Connection.NAT_CLASH) == 0 && stream) {
                        ct.addStatus(Connection.ASSURED);
                    }
                } else {
                    ct.refresh(now, s.udpTimeout, dir, pkt.length());
                }
                return Verdict.ACCEPT;
            }
            case Protocol.ICMP -> {
                if (pkt.family() != Family.IPV4 || !Protocol.icmpStartsConnection(ct.original.dstId >>> 8)) {
                    // Linux: cannot create a new ICMP "connection" with this type
                    return INVALID_ACCEPT;
                }
                ct.refresh(now, s.icmpTimeout, dir, pkt.length());
                return Verdict.ACCEPT;
            }
            case Protocol.ICMPV6 -> {
                if (pkt.family() != Family.IPV6
                        || (!ct.isConfirmed() && !Protocol.icmpv6StartsConnection(ct.original.dstId >>> 8))) {
                    return INVALID_ACCEPT;
                }
                ct.refresh(now, s.icmpv6Timeout, dir, pkt.length());
                return Verdict.ACCEPT;
            }
            case Protocol.GRE -> {
                if (pkt.family() != Family.IPV4) {
                    return INVALID_ACCEPT;
                }
                if (!ct.isConfirmed()) {
                    ct.greStreamTimeout = s.greStreamTimeout;
                    ct.greTimeout = s.greTimeout;
                }
                int status = ct.status;
                if ((status & Connection.SEEN_REPLY) != 0) {
                    ct.refresh(now, ct.greStreamTimeout, dir, pkt.length());
                    if ((status & Connection.NAT_CLASH) == 0) {
                        ct.addStatus(Connection.ASSURED);
                    }
                } else {
                    ct.refresh(now, ct.greTimeout, dir, pkt.length());
                }
                return Verdict.ACCEPT;
            }
            default -> {
                ct.refresh(now, s.genericTimeout, dir, pkt.length());
                return Verdict.ACCEPT;
            }
        }
    }

    /** udp_error, udplite_error: truncated, bad coverage, missing (UDP-Lite) or bad checksum. */
    private static boolean udpError(PacketContext pkt, Hook hook, ConntrackSettings s, boolean lite) {
        if (!pkt.transportAvailable(8)) {
            return true;
        }
        int udplen = pkt.length() - pkt.transportOffset();
        int len = pkt.transportU16(4);
        int check = pkt.transportU16(6);
        if (lite) {
            if (len != 0 && (len < 8 || len > udplen)) {
                return true;
            }
            if (check == 0) {
                return true;
            }
        } else {
            if (len > udplen || len < 8) {
                return true;
            }
            if (check == 0) {
                return false;
            }
        }
        return s.checksum && hook == Hook.PREROUTING && !Checksum.verifiedOnReceipt(pkt);
    }

    // ---- ICMP errors ----

    /** icmp_error: CONTINUE for a query or answer, else the verdict (the packet RELATED or INVALID). */
    private int icmpError(PacketContext pkt, Hook hook, int zone, ConntrackSettings s, long now) {
        if (!pkt.transportAvailable(8)) {
            return Verdict.ACCEPT;
        }
        if (s.checksum && hook == Hook.PREROUTING && !Checksum.verifiedOnReceipt(pkt)) {
            return Verdict.ACCEPT;
        }
        int type = pkt.transportU8(0);
        // Linux: NR_ICMP_TYPES = 18
        if (type > 18) {
            return Verdict.ACCEPT;
        }
        if (!Protocol.icmpIsError(type)) {
            return CONTINUE;
        }
        return inetError(pkt, pkt.transportOffset() + 8, zone, now);
    }

    /** icmpv6_error: neighbour discovery and MLD untracked, errors RELATED or INVALID, the rest tracked. */
    private int icmpv6Error(PacketContext pkt, Hook hook, int zone, ConntrackSettings s, long now) {
        if (!pkt.transportAvailable(8)) {
            return Verdict.ACCEPT;
        }
        if (s.checksum && hook == Hook.PREROUTING && !Checksum.verifiedOnReceipt(pkt)) {
            return Verdict.ACCEPT;
        }
        int type = pkt.transportU8(0);
        // Linux: noct_valid_new: MLD query/report/done, router and neighbour solicitation/advertisement, MLDv2
        if ((type >= 130 && type <= 136) || type == 143) {
            pkt.untracked(true);
            pkt.conntrack(null, CtInfo.UNTRACKED);
            return Verdict.ACCEPT;
        }
        if (type >= 128) {
            return CONTINUE;
        }
        return inetError(pkt, pkt.transportOffset() + 8, zone, now);
    }

    /**
     * nf_conntrack_inet_error: the tuple of the quoted packet at {@code inner} (network header offset),
     * inverted and looked up; the packet becomes RELATED to the connection found when the outer destination
     * is that direction's destination.
     */
    private int inetError(PacketContext pkt, int inner, int zone, long now) {
        Family f = pkt.family();
        int len = pkt.length();
        int proto;
        int l4;
        long sHi = 0;
        long sLo;
        long dHi = 0;
        long dLo;
        if (f == Family.IPV4) {
            if (inner + 20 > len) {
                return Verdict.ACCEPT;
            }
            if ((pkt.networkU16(inner + 6) & 0x1FFF) != 0) {
                return Verdict.ACCEPT;
            }
            l4 = inner + ((pkt.networkU8(inner) & 0x0F) << 2);
            proto = pkt.networkU8(inner + 9);
            if (l4 > len) {
                return Verdict.ACCEPT;
            }
            sLo = u32(pkt, inner + 12);
            dLo = u32(pkt, inner + 16);
        } else {
            if (inner + 40 > len) {
                return Verdict.ACCEPT;
            }
            sHi = u64(pkt, inner + 8);
            sLo = u64(pkt, inner + 16);
            dHi = u64(pkt, inner + 24);
            dLo = u64(pkt, inner + 32);
            long skip = skipExtensionHeaders(pkt, inner + 40, pkt.networkU8(inner + 6), len);
            if (skip < 0) {
                return Verdict.ACCEPT;
            }
            l4 = (int) (skip >>> 8);
            proto = (int) (skip & 0xFF);
        }
        int sId;
        int dId;
        if (Protocol.hasPorts(proto)) {
            if (l4 + 4 > len) {
                return Verdict.ACCEPT;
            }
            sId = pkt.networkU16(l4);
            dId = pkt.networkU16(l4 + 2);
        } else if (proto == Protocol.ICMP || proto == Protocol.ICMPV6) {
            if (l4 + 8 > len) {
                return Verdict.ACCEPT;
            }
            sId = pkt.networkU16(l4 + 4);
            dId = pkt.networkU16(l4);
        } else if (proto == Protocol.GRE && l4 + 8 <= len && (pkt.networkU8(l4 + 1) & 7) == 1) {
            // Linux: the quoted enhanced-GRE packet's keys as gre_pkt_to_tuple gives them
            if (pkt.networkU16(l4 + 2) != GRE_PROTO_PPP) {
                return Verdict.ACCEPT;
            }
            dId = pkt.networkU16(l4 + 6);
            sId = greKeymapCount == 0 ? 0 : greKeyLookup(f, sHi, sLo, dHi, dLo, dId);
        } else {
            sId = 0;
            dId = 0;
        }
        // the inverted tuple of the quoted packet: what its connection's other direction looks like
        int iSId = dId;
        int iDId = sId;
        if (proto == Protocol.ICMP || proto == Protocol.ICMPV6) {
            int inverse = proto == Protocol.ICMP ? Protocol.icmpInverse(dId >>> 8) : Protocol.icmpv6Inverse(dId >>> 8);
            if (inverse < 0) {
                return Verdict.ACCEPT;
            }
            iSId = sId;
            iDId = inverse << 8 | (dId & 0xFF);
        }
        Tuple h = find(f, proto, dHi, dLo, sHi, sLo, iSId, iDId, zone, now);
        if (h == null) {
            return Verdict.ACCEPT;
        }
        Connection ct = h.connection;
        Tuple t = ct.tuple(h.direction);
        if (t.dstHi != pkt.destinationHi() || t.dstLo != pkt.destinationLo()) {
            // Linux: ICMP errors must go back to the sender of the packet they quote
            return Verdict.ACCEPT;
        }
        pkt.conntrack(ct, h.direction == 1 ? CtInfo.RELATED_REPLY : CtInfo.RELATED);
        return Verdict.ACCEPT;
    }

    /** IPv6's No Next Header: nothing follows the header chain. */
    private static final int NO_NEXT_HEADER = 59;

    /** ipv6_skip_exthdr from {@code at}: (offset << 8 | protocol) of the upper layer, or -1. */
    static long skipExtensionHeaders(PacketContext pkt, int at, int next, int len) {
        while (next == 0 || next == 43 || next == 44 || next == 51 || next == 60) {
            if (at + 8 > len) {
                return -1;
            }
            int following = pkt.networkU8(at);
            int hdrlen;
            if (next == 44) {
                if ((pkt.networkU16(at + 2) & ~0x7) != 0) {
                    // a non-first fragment: no upper-layer header here
                    return -1;
                }
                hdrlen = 8;
            } else if (next == 51) {
                hdrlen = (pkt.networkU8(at + 1) + 2) << 2;
            } else {
                hdrlen = (pkt.networkU8(at + 1) + 1) << 3;
            }
            next = following;
            at += hdrlen;
        }
        if (next == NO_NEXT_HEADER) {
            return -1;
        }
        return (long) at << 8 | next;
    }

    private static long u32(PacketContext pkt, int at) {
        return ((long) pkt.networkU16(at) << 16 | pkt.networkU16(at + 2)) & 0xFFFFFFFFL;
    }

    private static long u64(PacketContext pkt, int at) {
        return u32(pkt, at) << 32 | u32(pkt, at + 4);
    }

    // ---- the table ----

    private static final Connection TABLE_FULL = new Connection(null);

    /** init_conntrack: a new unconfirmed entry, null when the tuple cannot be inverted, TABLE_FULL. */
    private Connection newConnection(Family f, int proto, long sHi, long sLo, long dHi, long dLo, int sId, int dId,
            int zone, Connection tmpl, long now) {
        Connection ct = new Connection(this);
        ct.original.set(f, proto, sHi, sLo, dHi, dLo, sId, dId, zone);
        if (!ct.reply.invertOf(ct.original)) {
            return null;
        }
        long max = settings.max;
        if (max > 0) {
            synchronized (this) {
                if (count >= max && !earlyDrop(ct.original.hash(), now)) {
                    // Linux: "nf_conntrack: table full, dropping packet"
                    return TABLE_FULL;
                }
            }
        }
        ct.zone = zone;
        ct.hasCounters = accounting || settings.acct;
        ct.hasLabels = labels;
        return ct;
    }

    /** early_drop: frees room by dropping expired entries, then one unassured entry near {@code hash}. */
    private boolean earlyDrop(int hash, long now) {
        gcLocked(now);
        if (count < settings.max) {
            return true;
        }
        int mask = buckets.length - 1;
        for (int i = 0; i < EVICTION_RANGE; i++) {
            for (Tuple t = buckets[(hash + i) & mask]; t != null; t = t.next) {
                Connection c = t.connection;
                if (!c.hasStatus(Connection.ASSURED)) {
                    unhashLocked(c);
                    return true;
                }
            }
        }
        return false;
    }

    /** __nf_conntrack_find_get: the tuple (of a live, confirmed entry) equal to these fields, or null. */
    Tuple find(Family f, int proto, long sHi, long sLo, long dHi, long dLo, int sId, int dId, int zone, long now) {
        int hash = Tuple.hash(f, proto, sHi, sLo, dHi, dLo, sId, dId, zone);
        synchronized (this) {
            Tuple[] b = buckets;
            for (Tuple t = b[hash & (b.length - 1)]; t != null; t = t.next) {
                if (t.matches(f, proto, sHi, sLo, dHi, dLo, sId, dId, zone)) {
                    Connection c = t.connection;
                    if (c.timeout - now <= 0) {
                        unhashLocked(c);
                        return null;
                    }
                    return t;
                }
            }
        }
        return null;
    }

    /** The connection with this tuple in either direction, or null. */
    public Connection lookup(Tuple t, long nowNanos) {
        Tuple h = find(t.family, t.protocol, t.srcHi, t.srcLo, t.dstHi, t.dstLo, t.srcId, t.dstId, t.zone,
                jiffies(nowNanos));
        return h == null ? null : h.connection;
    }

    /**
     * nf_conntrack_tuple_taken: whether a live entry other than {@code ignored} has {@code t} as one of its
     * tuples (NAT asks with the reply a mapping would give).
     */
    public boolean tupleTaken(Tuple t, Connection ignored, long nowNanos) {
        Tuple h = find(t.family, t.protocol, t.srcHi, t.srcLo, t.dstHi, t.dstLo, t.srcId, t.dstId, t.zone,
                jiffies(nowNanos));
        return h != null && h.connection != ignored;
    }

    /**
     * nf_confirm: the connection's helper reads the packet and its sequence numbers are adjusted (both after NAT,
     * not for RELATED_REPLY packets: ICMP errors), then the new connection is hashed when its first packet leaves
     * the stack.
     */
    public int confirm(PacketContext pkt) {
        Connection ct = pkt.conntrack();
        if (ct == null || ct.isTemplate()) {
            return Verdict.ACCEPT;
        }
        int ctinfo = pkt.ctInfo();
        if ((ct.helperFunction != null || (ct.status & Connection.SEQ_ADJUST) != 0)
                && ctinfo != CtInfo.RELATED_REPLY) {
            int v = help(pkt, ct, ctinfo);
            if (v != Verdict.ACCEPT) {
                return v;
            }
        }
        if (ctinfo == CtInfo.RELATED_REPLY || ct.isConfirmed()) {
            return Verdict.ACCEPT;
        }
        if (CtInfo.direction(ctinfo) != 0) {
            return Verdict.ACCEPT;
        }
        long now = jiffies(pkt.nowNanos());
        synchronized (this) {
            if (ct.hasStatus(Connection.DYING)) {
                return Verdict.DROP;
            }
            Tuple clash = findLocked(ct.original, now);
            if (clash == null) {
                clash = findLocked(ct.reply, now);
            }
            if (clash != null) {
                Connection winner = clash.connection;
                if (allowsClash(ct.protocol()) && !winner.hasStatus(Connection.DYING)
                        && ((winner.status & Connection.NAT_DONE_MASK) == 0
                                || (winner.original.sameAs(ct.original) && winner.reply.sameAs(ct.reply)))) {
                    // Linux: __nf_ct_resolve_clash: the packet takes the entry that won the race
                    winner.account(0, pkt.length());
                    pkt.conntrack(winner, ctinfo);
                    return Verdict.ACCEPT;
                }
                return Verdict.DROP;
            }
            ct.timeout += now;
            ct.status |= Connection.CONFIRMED;
            hashLocked(ct);
        }
        return Verdict.ACCEPT;
    }

    /**
     * nf_is_loopback_packet: the packet was received (skb_iif set) and is at a loopback device: one that came
     * back in by lo. A locally generated packet leaving by lo is not one (its skb_iif is 0).
     */
    static boolean loopback(PacketContext pkt) {
        String in = pkt.inInterface();
        if (in.isEmpty()) {
            return false;
        }
        String dev = pkt.hook() == Hook.POSTROUTING || pkt.hook() == Hook.OUTPUT ? pkt.outInterface() : in;
        org.jnetfilter.core.host.Link l = pkt.host().link(dev);
        return l != null && l.isLoopback();
    }

    /**
     * The helper part of nf_confirm: the helper function, then nf_ct_seq_adjust when the connection had its
     * sequence numbers moved before this packet (the packet whose payload the helper just rewrote keeps its own).
     */
    private int help(PacketContext pkt, Connection ct, int ctinfo) {
        if (pkt.protocol() != ct.protocol() || pkt.fragmentOffset() != 0) {
            // Linux: no upper-layer header to read (ipv6_skip_exthdr fails, a non-first fragment): confirm only
            return Verdict.ACCEPT;
        }
        // Linux: not on loopback (nf_is_loopback_packet): a packet looped back was adjusted when it left
        boolean seqAdjustNeeded = (ct.status & Connection.SEQ_ADJUST) != 0 && !loopback(pkt);
        int protoff = pkt.transportOffset();
        ConntrackHelper helper = ct.helperFunction;
        if (helper != null) {
            int v = helper.help(pkt, ct, ctinfo, protoff, jiffies(pkt.nowNanos()));
            if (v != Verdict.ACCEPT) {
                return v;
            }
        }
        if (seqAdjustNeeded && ct.protocol() == Protocol.TCP
                && !SeqAdjust.adjust(pkt, ct, CtInfo.direction(ctinfo), protoff)) {
            return Verdict.DROP;
        }
        return Verdict.ACCEPT;
    }

    // ---- GRE keymaps (nf_conntrack_proto_gre.c) ----

    // Linux: GRE_PROTO_PPP
    private static final int GRE_PROTO_PPP = 0x880B;

    private final List<Tuple> greKeymaps = new ArrayList<>();
    private volatile int greKeymapCount;

    /** gre_keymap_lookup: the source key of the first keymap entry with these addresses and destination key, or 0. */
    private int greKeyLookup(Family f, long sHi, long sLo, long dHi, long dLo, int dstKey) {
        synchronized (this) {
            for (Tuple km : greKeymaps) {
                if (km.family == f && km.srcHi == sHi && km.srcLo == sLo && km.dstHi == dHi && km.dstLo == dLo
                        && km.dstId == dstKey) {
                    return km.srcId;
                }
            }
        }
        return 0;
    }

    /**
     * nf_ct_gre_keymap_add: the keymap entry of {@code master}'s direction {@code dir} for the GRE flow {@code exp}
     * expects; true when added or already there (a retransmitted call set-up), false when the direction has another.
     */
    boolean addGreKeymap(Connection master, int dir, Expectation exp) {
        synchronized (this) {
            Tuple km = master.greKeymap[dir];
            if (km != null) {
                return km.family == exp.family && km.srcHi == exp.srcHi && km.srcLo == exp.srcLo
                        && km.dstHi == exp.dstHi && km.dstLo == exp.dstLo && km.dstId == exp.dstPort;
            }
            km = new Tuple().set(exp.family, Protocol.GRE, exp.srcHi, exp.srcLo, exp.dstHi, exp.dstLo, exp.srcId,
                    exp.dstPort, 0);
            master.greKeymap[dir] = km;
            greKeymaps.add(km);
            greKeymapCount = greKeymaps.size();
            return true;
        }
    }

    /** nf_ct_gre_keymap_destroy. */
    private void destroyGreKeymapLocked(Connection master) {
        for (int dir = 0; dir < 2; dir++) {
            if (master.greKeymap[dir] != null) {
                greKeymaps.remove(master.greKeymap[dir]);
                master.greKeymap[dir] = null;
            }
        }
        greKeymapCount = greKeymaps.size();
    }

    /**
     * pptp_destroy_siblings: the call's GRE flows (PNS to PAC and PAC to PNS, keyed by the call ids) leave the
     * table, or, not there yet, their expectations; the keymap goes.
     */
    void destroyPptpSiblings(Connection master, long now) {
        synchronized (this) {
            destroyGreKeymapLocked(master);
            Tuple o = master.original;
            Tuple r = master.reply;
            destroySiblingOrExpectationLocked(o.family, o.srcHi, o.srcLo, o.dstHi, o.dstLo, master.pptpPnsCallId,
                    master.pptpPacCallId, master.zone, now);
            destroySiblingOrExpectationLocked(r.family, r.srcHi, r.srcLo, r.dstHi, r.dstLo, master.pptpPacCallId,
                    master.pptpPnsCallId, master.zone, now);
        }
    }

    /** destroy_sibling_or_exp: the GRE connection with this tuple is killed, else an expectation of it removed. */
    private void destroySiblingOrExpectationLocked(Family f, long sHi, long sLo, long dHi, long dLo, int sKey,
            int dKey, int zone, long now) {
        Tuple t = new Tuple().set(f, Protocol.GRE, sHi, sLo, dHi, dLo, sKey, dKey, zone);
        Tuple h = findLocked(t, now);
        if (h != null) {
            unhashLocked(h.connection);
            return;
        }
        for (int i = 0; i < expectations.size(); i++) {
            if (expectations.get(i).matches(t)) {
                removeExpectationLocked(i);
                return;
            }
        }
    }

    /**
     * pptp_expectfn without NAT: the expectation the inverse of {@code exp}'s tuple matches (the new flow's reply
     * direction) is removed.
     */
    void unexpectInverse(Expectation exp, long now) {
        unexpectMatching(new Tuple().set(exp.family, exp.protocol, exp.dstHi, exp.dstLo, exp.srcHi, exp.srcLo,
                exp.dstPort, exp.srcId, exp.zone), now);
    }

    /** nf_ct_expect_find_get and nf_ct_unexpect_related: the first expectation {@code t} matches is removed. */
    public void unexpectMatching(Tuple t, long now) {
        Tuple inverse = t;
        synchronized (this) {
            expireExpectationsLocked(now);
            for (int i = 0; i < expectations.size(); i++) {
                if (expectations.get(i).matches(inverse)) {
                    removeExpectationLocked(i);
                    return;
                }
            }
        }
    }

    // ---- expectations (nf_conntrack_expect.c) ----

    // Linux: ERRNO values nf_ct_expect_related returns
    public static final int EBUSY = -16;
    public static final int EMFILE = -24;
    public static final int EALREADY = -114;

    private final List<Expectation> expectations = new ArrayList<>();
    private volatile int expectCount;

    /**
     * nf_ct_expect_related: adds {@code exp}, timed by its master's helper policy. An expectation of the same
     * master with the same tuple is replaced; one with the same tuple of another master clashes (EBUSY); a
     * master at its helper's max_expected loses its oldest; a full table (nf_conntrack_expect_max) refuses
     * (EMFILE). Returns 0 when added.
     */
    public int expectRelated(Expectation exp, long now) {
        return expectRelated(exp, now, false);
    }

    /**
     * nf_ct_expect_related with NF_CT_EXP_F_SKIP_MASTER when {@code skipMaster}: an expectation of the same tuple
     * of another master is then EALREADY (sip's media: the same SDP seen on two connections) rather than a clash.
     */
    public int expectRelated(Expectation exp, long now, boolean skipMaster) {
        ConntrackHelper helper = exp.master.helperFunction;
        int cls = exp.expectClass;
        synchronized (this) {
            expireExpectationsLocked(now);
            for (int i = 0; i < expectations.size(); i++) {
                Expectation e = expectations.get(i);
                if ((skipMaster || e.master == exp.master) && e.sameAs(exp)) {
                    if (e.expectClass != cls || e.master != exp.master) {
                        return EALREADY;
                    }
                    removeExpectationLocked(i);
                    break;
                } else if (e.clashesWith(exp)) {
                    return EBUSY;
                }
            }
            int max = helper == null ? 0 : helper.maxExpected(cls);
            if (max > 0 && expecting(exp.master, cls) >= max) {
                // Linux: evict_oldest_expect (of the same class)
                for (int i = 0; i < expectations.size(); i++) {
                    Expectation e = expectations.get(i);
                    if (e.master == exp.master && e.expectClass == cls) {
                        removeExpectationLocked(i);
                        break;
                    }
                }
                if (expecting(exp.master, cls) >= max) {
                    return EMFILE;
                }
            }
            if (expectations.size() >= settings.expectMax) {
                // Linux: "nf_conntrack: expectation table full"
                return EMFILE;
            }
            exp.timeout = now + (helper == null ? 0 : helper.timeoutSeconds(cls) * HZ);
            expectations.add(exp);
            exp.master.expecting++;
            expectCount = expectations.size();
        }
        return 0;
    }

    /** master_help->expecting[cls]: the master's expectations of that class in the table. */
    private int expecting(Connection master, int cls) {
        if (cls == 0 && master.expecting == 0) {
            return 0;
        }
        int n = 0;
        for (Expectation e : expectations) {
            if (e.master == master && e.expectClass == cls) {
                n++;
            }
        }
        return n;
    }

    /** nf_ct_unexpect_related: takes {@code exp} out of the table again. */
    public void unexpectRelated(Expectation exp) {
        synchronized (this) {
            int i = expectations.indexOf(exp);
            if (i >= 0) {
                removeExpectationLocked(i);
            }
        }
    }

    /**
     * nf_ct_find_expectation with unlink: the live expectation a new connection's original tuple matches, taken
     * out of the table unless PERMANENT; null when none, or when its master is not confirmed yet or dying.
     */
    private Expectation takeExpectation(Tuple t, long now) {
        synchronized (this) {
            expireExpectationsLocked(now);
            for (int i = 0; i < expectations.size(); i++) {
                Expectation e = expectations.get(i);
                if (e.isActive() && e.matches(t)) {
                    if (!e.master.isConfirmed() || e.master.hasStatus(Connection.DYING)) {
                        return null;
                    }
                    if (!e.isPermanent()) {
                        removeExpectationLocked(i);
                    }
                    return e;
                }
            }
        }
        return null;
    }

    /** __nf_ct_expect_find: the first live expectation {@code t} matches (active or not), or null. */
    Expectation findExpectation(Tuple t, long now) {
        synchronized (this) {
            expireExpectationsLocked(now);
            for (Expectation e : expectations) {
                if (e.matches(t)) {
                    return e;
                }
            }
        }
        return null;
    }

    /**
     * sip's flush_expectations: the master's expectations of a class other than {@code signallingClass} (media) or, when
     * {@code media} is false, its first one of that class (signalling), removed.
     */
    void flushExpectations(Connection master, int signallingClass, boolean media, long now) {
        synchronized (this) {
            expireExpectationsLocked(now);
            // Linux: the master's list is newest first
            for (int i = expectations.size() - 1; i >= 0; i--) {
                Expectation e = expectations.get(i);
                if (e.master != master || (e.expectClass != signallingClass) != media) {
                    continue;
                }
                removeExpectationLocked(i);
                if (!media) {
                    break;
                }
            }
        }
    }

    /**
     * sip's refresh_signalling_expectation: the master's expectation of class {@code cls} to that address, protocol
     * and port times out at {@code expiresAt} (jiffies) and is activated; false when there is none.
     */
    boolean refreshExpectation(Connection master, int cls, long hi, long lo, int protocol, int port, long expiresAt,
            long now) {
        synchronized (this) {
            expireExpectationsLocked(now);
            for (int i = expectations.size() - 1; i >= 0; i--) {
                Expectation e = expectations.get(i);
                if (e.master != master || e.expectClass != cls || e.dstHi != hi || e.dstLo != lo
                        || e.protocol != protocol || e.dstPort != port) {
                    continue;
                }
                // Linux: mod_timer_pending, then the flag cleared
                e.timeout = expiresAt;
                e.flags &= ~Expectation.INACTIVE;
                return true;
            }
        }
        return false;
    }

    private void removeExpectationLocked(int i) {
        Expectation e = expectations.remove(i);
        e.master.expecting--;
        expectCount = expectations.size();
    }

    private void expireExpectationsLocked(long now) {
        for (int i = expectations.size() - 1; i >= 0; i--) {
            if (expectations.get(i).timeout - now <= 0) {
                removeExpectationLocked(i);
            }
        }
    }

    /** nf_ct_remove_expectations: a master leaving the table takes its expectations with it. */
    private void removeExpectationsOfLocked(Connection master) {
        if (master.expecting == 0) {
            return;
        }
        for (int i = expectations.size() - 1; i >= 0; i--) {
            if (expectations.get(i).master == master) {
                removeExpectationLocked(i);
            }
        }
    }

    /** nf_ct_remove_expectations of a master (h323's URQ). */
    void removeExpectationsOf(Connection master) {
        synchronized (this) {
            removeExpectationsOfLocked(master);
        }
    }

    /**
     * h323's find_expect and set_expect_timeout: the live expectation of {@code master} that a tuple from the
     * unspecified address, port 0, to {@code dstHi/dstLo}:{@code dport} over TCP matches (under its masks), given
     * a timeout of {@code seconds} from {@code now}; false when there is none.
     */
    boolean retimeExpectation(Connection master, long dstHi, long dstLo, int dport, long now, long seconds) {
        synchronized (this) {
            for (Expectation e : expectations) {
                if (e.master == master && e.protocol == Protocol.TCP && e.dstHi == dstHi && e.dstLo == dstLo
                        && e.dstPort == dport && (e.srcHi & e.srcMaskHi) == 0 && (e.srcLo & e.srcMaskLo) == 0
                        && (e.srcId & e.srcIdMask) == 0 && e.timeout - now > 0) {
                    e.timeout = now + seconds * HZ;
                    return true;
                }
            }
            return false;
        }
    }

    /** The live expectations, oldest first. */
    public List<Expectation> expectations(long nowNanos) {
        synchronized (this) {
            expireExpectationsLocked(jiffies(nowNanos));
            return List.copyOf(expectations);
        }
    }

    /**
     * {@code conntrack -L expect} for one family (both when null): one line per expectation, sorted; the kernel
     * lists them in hash order.
     */
    public String listExpectations(Family family, long nowNanos) {
        long now = jiffies(nowNanos);
        List<String> lines = new ArrayList<>();
        for (Expectation e : expectations(nowNanos)) {
            if (family == null || e.family == family) {
                lines.add(e.listLine(now));
            }
        }
        return sortedLines(lines);
    }

    /** The lines sorted, each ended by a newline. */
    private static String sortedLines(List<String> lines) {
        lines.sort(Comparator.naturalOrder());
        StringBuilder sb = new StringBuilder();
        for (String l : lines) {
            sb.append(l).append('\n');
        }
        return sb.toString();
    }

    /** l4proto->allow_clash: every tracker but TCP and SCTP. */
    private static boolean allowsClash(int proto) {
        return !(proto == Protocol.TCP || proto == Protocol.SCTP);
    }

    private Tuple findLocked(Tuple k, long now) {
        Tuple[] b = buckets;
        for (Tuple t = b[k.hash() & (b.length - 1)]; t != null; t = t.next) {
            if (t.sameAs(k)) {
                if (t.connection.timeout - now <= 0) {
                    unhashLocked(t.connection);
                    return null;
                }
                return t;
            }
        }
        return null;
    }

    private void hashLocked(Connection ct) {
        if (count + 1 > buckets.length) {
            resize(buckets.length * 2);
        }
        insert(ct.original);
        insert(ct.reply);
        count++;
        if (ct.master != null) {
            ct.master.children++;
        }
        if (ct.inBySource) {
            bySourceInsertLocked(ct);
        }
    }

    private void insert(Tuple t) {
        int i = t.hash() & (buckets.length - 1);
        t.next = buckets[i];
        buckets[i] = t;
        t.hashed = true;
    }

    private void resize(int size) {
        Tuple[] old = buckets;
        buckets = new Tuple[size];
        for (Tuple head : old) {
            Tuple t = head;
            while (t != null) {
                Tuple next = t.next;
                insert(t);
                t = next;
            }
        }
        Connection[] oldSrc = bySource;
        bySource = new Connection[size];
        for (Connection head : oldSrc) {
            Connection c = head;
            while (c != null) {
                Connection next = c.bySourceNext;
                int i = sourceHash(c.original) & (bySource.length - 1);
                c.bySourceNext = bySource[i];
                bySource[i] = c;
                c = next;
            }
        }
    }

    private void remove(Tuple t) {
        if (!t.hashed) {
            return;
        }
        int i = t.hash() & (buckets.length - 1);
        Tuple prev = null;
        for (Tuple cur = buckets[i]; cur != null; prev = cur, cur = cur.next) {
            if (cur == t) {
                if (prev == null) {
                    buckets[i] = cur.next;
                } else {
                    prev.next = cur.next;
                }
                t.next = null;
                t.hashed = false;
                return;
            }
        }
    }

    private void unhashLocked(Connection c) {
        c.status |= Connection.DYING;
        removeExpectationsOfLocked(c);
        if (c.original.hashed) {
            remove(c.original);
            remove(c.reply);
            count--;
            Connection m = c.master;
            if (m != null && --m.children == 0 && m.hasStatus(Connection.DYING)) {
                // Linux: the master, held by its children, is destroyed with its last one (helper->destroy)
                destroyedLocked(m);
            }
        }
        if (c.children == 0) {
            destroyedLocked(c);
        }
        bySourceRemoveLocked(c);
    }

    /** nf_ct_destroy's helper part: pptp_destroy_siblings finds no siblings left, it drops the GRE keymap. */
    private void destroyedLocked(Connection c) {
        if (c.greKeymap[0] != null || c.greKeymap[1] != null) {
            destroyGreKeymapLocked(c);
        }
    }

    /**
     * nf_ct_set_closing: REJECT's TCP reset (nf_send_reset / nf_send_reset6 call it on the original's entry once
     * the reset is built, Linux 6.4 on) moves a confirmed TCP entry to CLOSE with the CLOSE timeout, so the
     * connection it answered does not linger in SYN_RECV or ESTABLISHED. Other protocols are left alone.
     */
    public void setClosing(Connection c, long nowNanos) {
        if (c.protocol() == Protocol.TCP) {
            TcpTracking.setClosing(c, jiffies(nowNanos), settings);
        }
    }

    /** nf_ct_kill: the entry leaves the table now (RST answering a SYN, reopened TCP connection). */
    public void kill(Connection c) {
        synchronized (this) {
            unhashLocked(c);
        }
    }

    /** Removes every expired entry (the kernel's gc worker). */
    public void gc(long nowNanos) {
        synchronized (this) {
            gcLocked(jiffies(nowNanos));
        }
    }

    private void gcLocked(long now) {
        if (now == lastGcJiffies) {
            return;
        }
        lastGcJiffies = now;
        for (Tuple head : buckets) {
            Tuple t = head;
            while (t != null) {
                Tuple next = t.next;
                if (t.direction == 0 && t.connection.timeout - now <= 0) {
                    unhashLocked(t.connection);
                }
                t = next;
            }
        }
    }

    /** nf_conntrack_count: confirmed entries, expired ones included until removed. */
    public synchronized int count() {
        return count;
    }

    /** The live (confirmed, unexpired) connections, in no particular order. */
    public List<Connection> connections(long nowNanos) {
        long now = jiffies(nowNanos);
        List<Connection> out = new ArrayList<>();
        synchronized (this) {
            gcLocked(now);
            for (Tuple head : buckets) {
                for (Tuple t = head; t != null; t = t.next) {
                    if (t.direction == 0) {
                        out.add(t.connection);
                    }
                }
            }
        }
        return out;
    }

    /**
     * {@code conntrack -L} (conntrack-tools' default output) for one family, or both when {@code family} is
     * null: one line per entry, sorted by line text, since the kernel's order is that of its hash buckets;
     * compare sorted output. The summary conntrack writes to stderr is {@link #listSummary}.
     */
    public String list(Family family, long nowNanos) {
        List<String> lines = new ArrayList<>();
        for (Connection c : connections(nowNanos)) {
            if (family == null || c.family() == family) {
                lines.add(c.listLine(nowNanos));
            }
        }
        return sortedLines(lines);
    }

    /** conntrack's stderr line after a listing: {@code conntrack v1.4.7 (conntrack-tools): N flow entries have been shown.} */
    public static String listSummary(int entries) {
        return "conntrack v1.4.7 (conntrack-tools): " + entries + " flow entries have been shown.";
    }

    // ---- NAT's by-source index (nf_nat_bysource) ----

    static int sourceHash(Tuple t) {
        long h = t.srcLo * 0x9E3779B97F4A7C15L ^ t.srcHi * 0xC2B2AE3D27D4EB4FL
                ^ ((long) t.srcId << 8 | t.protocol) * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    /**
     * Marks {@code ct} for NAT's by-source index (nf_nat_setup_info with a source manip adds every
     * connection, null bindings too); it enters the index when confirmed.
     */
    public void indexBySource(Connection ct) {
        ct.inBySource = true;
    }

    private void bySourceInsertLocked(Connection ct) {
        int i = sourceHash(ct.original) & (bySource.length - 1);
        ct.bySourceNext = bySource[i];
        bySource[i] = ct;
        ct.bySourceLinked = true;
    }

    private void bySourceRemoveLocked(Connection ct) {
        if (!ct.bySourceLinked) {
            return;
        }
        int i = sourceHash(ct.original) & (bySource.length - 1);
        Connection prev = null;
        for (Connection cur = bySource[i]; cur != null; prev = cur, cur = cur.bySourceNext) {
            if (cur == ct) {
                if (prev == null) {
                    bySource[i] = cur.bySourceNext;
                } else {
                    prev.bySourceNext = cur.bySourceNext;
                }
                break;
            }
        }
        ct.bySourceNext = null;
        ct.bySourceLinked = false;
    }

    /**
     * find_appropriate_src: the live, source-mapped connections whose original source (address, id,
     * protocol, zone) equals {@code t}'s, newest first.
     */
    public List<Connection> sameSource(Tuple t, long nowNanos) {
        long now = jiffies(nowNanos);
        List<Connection> out = new ArrayList<>();
        synchronized (this) {
            for (Connection c = bySource[sourceHash(t) & (bySource.length - 1)]; c != null; c = c.bySourceNext) {
                if (c.original.sameSource(t) && c.zone == t.zone && c.timeout - now > 0) {
                    out.add(c);
                }
            }
        }
        return out;
    }
}
