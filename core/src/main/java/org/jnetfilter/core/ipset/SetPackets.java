package org.jnetfilter.core.ipset;

import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Protocols;

/**
 * The sets seen from packets: what the set match and the SET target ask of them (Linux: ip_set_test,
 * ip_set_add, ip_set_del and the types' kadt functions). A packet gives each dimension of an element from
 * its source or its destination ({@code srcBits}: bit i set, dimension i from the source): addresses,
 * ports as ip_set_get_ip4_port / ip_set_get_ip6_port read them (ICMP type and code as the port, other
 * protocols port 0, non-first fragments nothing), the input or output interface.
 *
 * <p>Hot path: tests and target actions on packet threads allocate nothing (thread-local probes, a
 * lock-free map); adds and deletes from the SET target take the set's lock as the control plane does.
 */
public final class SetPackets {
    // Linux: xt_set / ip_set.h cmdflags
    public static final int FLAG_EXIST = 1 << 0;
    public static final int FLAG_RETURN_NOMATCH = 1 << 7;
    public static final int FLAG_SKIP_COUNTER_UPDATE = 1 << 8;
    public static final int FLAG_SKIP_SUBCOUNTER_UPDATE = 1 << 9;
    // Linux: enum ip_set_counter_op
    public static final int COUNTER_NONE = 0;
    public static final int COUNTER_EQ = 1;
    public static final int COUNTER_NE = 2;
    public static final int COUNTER_LT = 3;
    public static final int COUNTER_GT = 4;

    /** What a set's test answers: matched, not, or a nomatch element found (the kernel's -ENOTEMPTY). */
    static final int NO = 0;
    static final int YES = 1;
    static final int NOMATCH = -1;

    private static final ThreadLocal<Entry[]> LAST = ThreadLocal.withInitial(() -> new Entry[1]);

    private SetPackets() {
    }

    /** The counter comparisons of a set match ({@code --packets-gt 5} ...); NONE when absent. */
    public record CounterMatch(int packetsOp, long packets, int bytesOp, long bytes) {
        public static final CounterMatch NONE = new CounterMatch(COUNTER_NONE, 0, COUNTER_NONE, 0);

        boolean active() {
            return packetsOp != COUNTER_NONE || bytesOp != COUNTER_NONE;
        }
    }

    /**
     * Linux: ip_set_test: whether the packet is in {@code set} (before the match's own inversion). A set of
     * another family, or asked with fewer dimensions than its type has, never matches.
     */
    public static boolean test(Ipsets sets, IpSet set, PacketContext pkt, int dim, int srcBits, int flags,
            CounterMatch cm) {
        int r = kernelTest(sets, set, pkt, dim, srcBits, flags, cm);
        // Linux: --return-nomatch turns a nomatch element into a match and a match into none
        if ((flags & FLAG_RETURN_NOMATCH) != 0 && set.type().hasNomatch() && r != NO) {
            r = -r;
        }
        return r > 0;
    }

    /**
     * SET --map-set: when the packet is in {@code set}, the skbinfo of the element found sets the mark
     * ({@code (mark & ~mask) ^ value}) and the priority, as set_target_v3 does.
     */
    public static void map(Ipsets sets, IpSet set, PacketContext pkt, int dim, int srcBits, boolean mark,
            boolean prio) {
        Entry[] last = LAST.get();
        last[0] = null;
        if (!test(sets, set, pkt, dim, srcBits, 0, CounterMatch.NONE) || last[0] == null) {
            return;
        }
        Entry e = last[0];
        if (mark && e.skbMark >= 0) {
            pkt.mark((pkt.mark() & ~e.skbMarkMask) ^ e.skbMark);
        }
        if (prio && e.skbPrio >= 0) {
            pkt.priority(e.skbPrio);
        }
    }

    private static int kernelTest(Ipsets sets, IpSet set, PacketContext pkt, int dim, int srcBits, int flags,
            CounterMatch cm) {
        if (dim < set.type().dimension() || !applicable(set, pkt)) {
            return NO;
        }
        long now = pkt.nowNanos();
        if (set.type() == SetType.LIST_SET) {
            return listTest(sets, set, pkt, dim, srcBits, flags, cm, now);
        }
        Element key = set.probe();
        if (!fill(set, key, pkt, srcBits, false)) {
            return NO;
        }
        if (set.type().netFirst()) {
            return netsTest(set, key, pkt, flags, cm, now);
        }
        Entry e = set.lookup(key, now);
        return e == null ? NO : dataMatch(set, e, pkt, flags, cm);
    }

    private static boolean applicable(IpSet set, PacketContext pkt) {
        return !set.type().hasFamily() || set.family() == pkt.family();
    }

    /** Linux: mtype_test_cidrs: most specific network first; an element failing its counters lets the next try. */
    private static int netsTest(IpSet set, Element key, PacketContext pkt, int flags, CounterMatch cm, long now) {
        long hi = key.hi;
        long lo = key.lo;
        for (int cidr : set.cidrs()) {
            key.hi = hi;
            key.lo = lo;
            set.mask(key, cidr);
            key.cidr = cidr;
            Entry e = set.exact(key, now);
            if (e != null) {
                int r = dataMatch(set, e, pkt, flags, cm);
                if (r != NO) {
                    return r;
                }
            }
        }
        return NO;
    }

    /** Linux: mtype_data_match with ip_set_match_extensions: counters counted, then compared. */
    private static int dataMatch(IpSet set, Entry e, PacketContext pkt, int flags, CounterMatch cm) {
        if (set.options().counters()) {
            if ((flags & FLAG_SKIP_COUNTER_UPDATE) == 0) {
                e.count(1, pkt.length());
            }
            if (cm.active() && !(counter(e.packets(), cm.packetsOp(), cm.packets())
                    && counter(e.bytes(), cm.bytesOp(), cm.bytes()))) {
                return NO;
            }
        }
        LAST.get()[0] = e;
        return e.nomatch ? NOMATCH : YES;
    }

    /** Linux: ip_set_match_counter. */
    private static boolean counter(long value, int op, long match) {
        return switch (op) {
            case COUNTER_EQ -> value == match;
            case COUNTER_NE -> value != match;
            case COUNTER_LT -> value < match;
            case COUNTER_GT -> value > match;
            default -> true;
        };
    }

    /** Linux: list_set_ktest: the members in order; the first that matches decides. */
    private static int listTest(Ipsets sets, IpSet list, PacketContext pkt, int dim, int srcBits, int flags,
            CounterMatch cm, long now) {
        int memberFlags = flags & ~FLAG_SKIP_COUNTER_UPDATE;
        if ((flags & FLAG_SKIP_SUBCOUNTER_UPDATE) != 0) {
            memberFlags |= FLAG_SKIP_COUNTER_UPDATE;
        }
        for (String name : list.memberArray()) {
            Entry le = list.entryOfMember(name);
            if (le == null || le.expired(now)) {
                continue;
            }
            IpSet member = sets.get(name);
            if (member != null && test(sets, member, pkt, dim, srcBits, memberFlags, CounterMatch.NONE)) {
                int r = dataMatch(list, le, pkt, flags, cm);
                if (r != NO) {
                    return YES;
                }
            }
        }
        return NO;
    }

    /**
     * Linux: ip_set_add from the SET target: the packet's element, with {@code timeoutSeconds} (-1: the set's
     * default) and counters starting at this packet; an existing element is refreshed only with
     * {@link #FLAG_EXIST}. Errors (a full set) are ignored, as the target ignores them.
     */
    public static void add(Ipsets sets, IpSet set, PacketContext pkt, int dim, int srcBits, int flags,
            long timeoutSeconds) {
        if (dim < set.type().dimension() || !applicable(set, pkt)) {
            return;
        }
        if (set.type() == SetType.LIST_SET) {
            for (String name : set.memberArray()) {
                IpSet member = sets.get(name);
                if (member != null && addOne(member, pkt, srcBits, flags, timeoutSeconds)) {
                    return;
                }
            }
            return;
        }
        addOne(set, pkt, srcBits, flags, timeoutSeconds);
    }

    private static boolean addOne(IpSet set, PacketContext pkt, int srcBits, int flags, long timeoutSeconds) {
        if (!applicable(set, pkt)) {
            return false;
        }
        Element key = set.probe();
        if (!fill(set, key, pkt, srcBits, true)) {
            return false;
        }
        try {
            set.checkElement(key, () -> { });
            IpSet.AddParams p = new IpSet.AddParams(timeoutSeconds, -1, set.options().counters() ? 1 : -1,
                    set.options().counters() ? pkt.length() : -1, null, false, -1, 0, -1, -1);
            set.add(key, p, (flags & FLAG_EXIST) != 0, pkt.nowNanos(), pkt.random());
            return true;
        } catch (IpsetException e) {
            return false;
        }
    }

    /** Linux: ip_set_del from the SET target; a missing element is no error. */
    public static void del(Ipsets sets, IpSet set, PacketContext pkt, int dim, int srcBits) {
        if (dim < set.type().dimension() || !applicable(set, pkt)) {
            return;
        }
        if (set.type() == SetType.LIST_SET) {
            for (String name : set.memberArray()) {
                IpSet member = sets.get(name);
                if (member != null && delOne(member, pkt, srcBits)) {
                    return;
                }
            }
            return;
        }
        delOne(set, pkt, srcBits);
    }

    private static boolean delOne(IpSet set, PacketContext pkt, int srcBits) {
        if (!applicable(set, pkt)) {
            return false;
        }
        Element key = set.probe();
        if (!fill(set, key, pkt, srcBits, true)) {
            return false;
        }
        try {
            set.del(key, false, pkt.nowNanos());
            return true;
        } catch (IpsetException e) {
            return false;
        }
    }

    /**
     * The element a packet stands for in {@code set} (the types' kadt). For an add, a net type takes the
     * most specific prefix length in use (the kernel's first {@code h->nets} entry), or a host route when
     * the set is empty; a test leaves the address whole for the per-prefix lookups.
     */
    private static boolean fill(IpSet set, Element key, PacketContext pkt, int srcBits, boolean adding) {
        SetType type = set.type();
        Family family = pkt.family();
        int bits = family.addressBits();
        if (type == SetType.BITMAP_PORT) {
            int port = port(pkt, (srcBits & 1) != 0);
            if (port < 0 || !portProtocol(pkt.protocol())) {
                return false;
            }
            key.port = port;
            return port >= set.options().rangeFrom() && port <= set.options().rangeTo();
        }
        boolean src0 = (srcBits & 1) != 0;
        key.hi = src0 ? pkt.sourceHi() : pkt.destinationHi();
        key.lo = src0 ? pkt.sourceLo() : pkt.destinationLo();
        key.cidr = bits;
        if (type.netFirst() && adding) {
            int[] in = set.cidrs();
            key.cidr = in.length > 0 ? in[0] : bits;
            set.mask(key, key.cidr);
        }
        if (type == SetType.HASH_IP) {
            int mask = set.options().netmask();
            set.mask(key, mask);
            key.cidr = mask;
            // Linux: hash_ip4_kadt refuses the null address
            if (key.hi == 0 && key.lo == 0) {
                return false;
            }
        }
        if (type.hasPort()) {
            int port = port(pkt, (srcBits & 2) != 0);
            if (port < 0) {
                return false;
            }
            key.proto = pkt.protocol();
            key.port = port;
            if (type == SetType.HASH_IP_PORT_IP) {
                boolean src2 = (srcBits & 4) != 0;
                key.hi2 = src2 ? pkt.sourceHi() : pkt.destinationHi();
                key.lo2 = src2 ? pkt.sourceLo() : pkt.destinationLo();
                key.cidr2 = bits;
            }
        }
        if (type == SetType.HASH_NET_IFACE) {
            String iface = (srcBits & 2) != 0 ? pkt.inInterface() : pkt.outInterface();
            if (iface.isEmpty()) {
                return false;
            }
            key.iface = iface;
        }
        return true;
    }

    private static boolean portProtocol(int proto) {
        // Linux: bitmap:port's ip_set_get_ip_port takes TCP and UDP only
        return proto == Protocols.TCP || proto == Protocols.UDP;
    }

    /**
     * Linux: ip_set_get_ip4_port / ip_set_get_ip6_port: the port of the transport header (ICMP: type and
     * code), 0 for protocols without ports, -1 when there is none to read (a non-first fragment, a header cut
     * short).
     */
    private static int port(PacketContext pkt, boolean src) {
        int proto = pkt.protocol();
        if (proto <= 0) {
            return -1;
        }
        boolean hasPort = proto == Protocols.TCP || proto == Protocols.UDP || proto == Protocols.UDPLITE
                || proto == Protocols.SCTP || proto == Protocols.ICMP || proto == Protocols.ICMPV6;
        if (pkt.fragmentOffset() != 0) {
            // Linux: an IPv4 fragment of a protocol without ports still has port 0; IPv6 fragments none
            return pkt.family() == Family.IPV4 && !hasPort ? 0 : -1;
        }
        if (!hasPort) {
            return 0;
        }
        // Linux: the header struct skb_header_pointer must read: tcphdr 20, sctphdr 12, udphdr/icmphdr 8
        int need = proto == Protocols.TCP ? 20 : proto == Protocols.SCTP ? 12 : 8;
        if (!pkt.transportAvailable(need)) {
            return -1;
        }
        if (proto == Protocols.ICMP || proto == Protocols.ICMPV6) {
            return pkt.transportU8(0) << 8 | pkt.transportU8(1);
        }
        return pkt.transportU16(src ? 0 : 2);
    }
}
