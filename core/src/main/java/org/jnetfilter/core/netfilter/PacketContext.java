package org.jnetfilter.core.netfilter;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;

/**
 * What the kernel knows about one packet while a table is walked: the {@code sk_buff} fields the
 * matches read ({@code len}, {@code mark}, {@code pkt_type}, the network header) and the
 * {@code xt_action_param} of ipt_do_table / ip6t_do_table ({@code thoff}, {@code fragoff},
 * {@code hotdrop}, the hook, the in and out devices), plus the walk's jump stack.
 *
 * <p>Loading a packet ({@link #ipv4}, {@link #ipv6}) parses what the fixed part of every rule needs
 * once: the transport protocol, where its header starts and the fragment offset. IPv4 takes the
 * header's protocol and IHL (the kernel's {@code ip_hdrlen}); IPv6 walks the extension headers as
 * {@code ipv6_find_hdr(skb, &thoff, -1, &fragoff, NULL)} does, so a packet on which that fails has
 * {@link #protocol()} {@link #NO_PROTOCOL}.
 *
 * <p>Offsets are relative to the network header. {@link #length()} is {@code skb->len} at the IP
 * hooks: the datagram from its IP header on (what rule counters count). Bytes are read only below
 * it, as {@code skb_header_pointer} reads; a match asking for bytes beyond it gets
 * {@code transportAvailable(n) == false}, and the kernel's matches then "hotdrop".
 *
 * <p>Hot path: one instance per packet thread, reloaded for every packet; loading, the walk and
 * every accessor allocate nothing (the jump stack grows only when a table has more chains than any
 * walked before). Not thread-safe. Assumes the caller checked the IP header as ip_rcv / ipv6_rcv do
 * ({@link org.jnetfilter.core.packet.IpReceive}).
 *
 * <p>Time and chance are injected (house rule 5): {@link #nowNanos()} is the packet's clock (what the
 * kernel reads as {@code jiffies}, {@code ktime_get_real} or {@code skb->tstamp}), set by the caller
 * per packet ({@code jnf replay} sets the capture's timestamps) and kept across loads; {@link #random()}
 * is the source of {@code get_random_u32}, seeded by the caller ({@code jnf replay --seed N}). Matches
 * keep their state across packets with the rule, never here.
 */
public final class PacketContext {
    // Linux: include/uapi/linux/if_packet.h
    public static final int PACKET_HOST = 0;
    public static final int PACKET_BROADCAST = 1;
    public static final int PACKET_MULTICAST = 2;
    public static final int PACKET_OTHERHOST = 3;
    public static final int PACKET_OUTGOING = 4;
    public static final int PACKET_LOOPBACK = 5;

    /** {@link #protocol()} of an IPv6 packet whose upper-layer header ipv6_find_hdr cannot find. */
    public static final int NO_PROTOCOL = -1;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    // Linux: IPv6 next-header values that ipv6_ext_hdr() counts as extension headers
    private static final int NEXTHDR_HOP = 0;
    private static final int NEXTHDR_ROUTING = 43;
    private static final int NEXTHDR_FRAGMENT = 44;
    private static final int NEXTHDR_AUTH = 51;
    private static final int NEXTHDR_NONE = 59;
    private static final int NEXTHDR_DEST = 60;
    private static final int IPV6_HEADER = 40;

    private MemorySegment segment;
    private long network;
    private int length;
    private Family family;
    private int protocol;
    private int transportOffset;
    private int fragmentOffset;
    private long srcHi;
    private long srcLo;
    private long dstHi;
    private long dstLo;

    private String inInterface = "";
    private String outInterface = "";
    private long mark;
    private int packetType;
    private Hook hook;
    private boolean hotdrop;
    private int rejectWith = -1;
    private boolean checksumVerified;
    // the sk_buff's data blocks as skb_seq_read walks them: null while linear; else the linear head's length and
    // the lengths of the frag_list buffers after it
    private int headLength;
    private int[] tailBlocks;
    private boolean checksumPartial;

    // not reset by a load: a clock and a random source outlive packets
    private long nowNanos;
    private RandomGenerator random = new SplittableRandom(0);

    // the walk's jump stack: the chain and rule index of each jump not yet returned from
    private Chain[] stackChain = new Chain[8];
    private int[] stackRule = new int[8];

    /**
     * Loads the IPv4 packet at {@code offset}; its length is the header's Total Length. Resets the
     * per-packet state (interfaces, mark, packet type, hook, hotdrop, reject).
     */
    public PacketContext ipv4(MemorySegment s, long offset) {
        return ipv4(s, offset, Short.toUnsignedInt(s.get(U16, offset + 2)));
    }

    /** Loads the IPv4 packet of {@code length} bytes (the trimmed datagram) at {@code offset}. */
    public PacketContext ipv4(MemorySegment s, long offset, int length) {
        load(s, offset, length, Family.IPV4);
        protocol = u8(9);
        transportOffset = (u8(0) & 0x0F) << 2;
        // Linux: ipt_do_table's fragoff = ntohs(iph->frag_off) & IP_OFFSET, in 8-byte units
        fragmentOffset = u16(6) & 0x1FFF;
        srcLo = s.get(U32, offset + 12) & 0xFFFFFFFFL;
        dstLo = s.get(U32, offset + 16) & 0xFFFFFFFFL;
        return this;
    }

    /** Loads the IPv6 packet at {@code offset}; its length is 40 + Payload Length. */
    public PacketContext ipv6(MemorySegment s, long offset) {
        return ipv6(s, offset, IPV6_HEADER + Short.toUnsignedInt(s.get(U16, offset + 4)));
    }

    /** Loads the IPv6 packet of {@code length} bytes (the trimmed datagram) at {@code offset}. */
    public PacketContext ipv6(MemorySegment s, long offset, int length) {
        load(s, offset, length, Family.IPV6);
        srcHi = s.get(U64, offset + 8);
        srcLo = s.get(U64, offset + 16);
        dstHi = s.get(U64, offset + 24);
        dstLo = s.get(U64, offset + 32);
        findTransport();
        return this;
    }

    /**
     * Reads the source and destination addresses from the header again after a hook function rewrote them
     * in place (NAT), so that later matches see the new ones. Allocates nothing.
     */
    public PacketContext addressesChanged() {
        if (family == Family.IPV4) {
            srcLo = segment.get(U32, network + 12) & 0xFFFFFFFFL;
            dstLo = segment.get(U32, network + 16) & 0xFFFFFFFFL;
        } else {
            srcHi = segment.get(U64, network + 8);
            srcLo = segment.get(U64, network + 16);
            dstHi = segment.get(U64, network + 24);
            dstLo = segment.get(U64, network + 32);
        }
        return this;
    }

    private void load(MemorySegment s, long offset, int len, Family f) {
        segment = s;
        network = offset;
        length = len;
        family = f;
        srcHi = 0;
        dstHi = 0;
        inInterface = "";
        outInterface = "";
        bridged = false;
        physIn = "";
        physOut = "";
        mark = 0;
        packetType = PACKET_HOST;
        hook = null;
        hotdrop = false;
        rejectWith = -1;
        checksumVerified = false;
        dropIcmpType = -1;
        macSource = -1;
        socketUid = -1;
        socketGid = -1;
        secmark = 0;
        ipv4Options = 0;
        priority = 0;
        traced = false;
        untracked = false;
        conntrack = null;
        ctInfo = CtInfo.UNTRACKED;
        tailBlocks = null;
        checksumPartial = false;
    }

    /**
     * skb->ip_summed == CHECKSUM_PARTIAL for the transport checksum: Linux fills only the pseudo-header's sum
     * into the field and completes it when the packet leaves (skb_checksum_help or the NIC). REJECT's IPv4
     * TCP reset is such a packet (nf_reject_ip_tcphdr_put). The bytes here keep the complete checksum; what
     * shows the field before Linux completes it (an ICMP error quoting the packet) shows the partial value.
     */
    public boolean transportChecksumPartial() {
        return checksumPartial;
    }

    public PacketContext transportChecksumPartial(boolean partial) {
        checksumPartial = partial;
        return this;
    }

    /**
     * Makes the packet non-linear as a datagram netfilter's defragmentation reassembled is: the first fragment's
     * buffer as the linear head ({@code headLength} bytes from the network header), then one frag_list buffer per
     * further fragment, {@code tailLengths} bytes each in offset order (inet_frag_reasm_finish without coalescing,
     * as ip_defrag for conntrack and nf_ct_frag6_reasm call it). Matches that search block by block see it
     * ({@link #blockEnd}). Keeps the array; allocates nothing.
     */
    public PacketContext fragmentList(int headLength, int[] tailLengths) {
        this.headLength = headLength;
        this.tailBlocks = tailLengths;
        return this;
    }

    /** skb_ensure_writable(skb, skb->len): the whole packet pulled into the linear area (TCPMSS does this). */
    public PacketContext linearize() {
        tailBlocks = null;
        return this;
    }

    /**
     * The end (offset from the network header, exclusive) of the data block holding byte {@code offset}, as
     * skb_seq_read hands the blocks to a text search: {@link #length()} while the packet is linear.
     */
    public int blockEnd(int offset) {
        int[] tail = tailBlocks;
        if (tail == null) {
            return length;
        }
        int end = headLength;
        for (int i = 0; offset >= end && i < tail.length; i++) {
            end += tail[i];
        }
        return Math.min(Math.max(end, offset + 1), length);
    }

    /**
     * ipv6_find_hdr with target -1: skip extension headers (reading only their first two bytes, as
     * the kernel does) to the first header that is not one; No Next Header ends the walk as a
     * protocol. In a non-first fragment the walk ends at the fragment header: the protocol is the
     * fragment's Next Header if that is not an extension header, else nothing is found. Nothing is
     * found either when a header to read lies past the end; the fragment offset then stays 0.
     */
    private void findTransport() {
        int next = u8(6);
        int at = IPV6_HEADER;
        protocol = NO_PROTOCOL;
        transportOffset = 0;
        fragmentOffset = 0;
        while (isExtension(next) && next != NEXTHDR_NONE) {
            if (at + 2 > length) {
                return;
            }
            int following = u8(at);
            int headerLength;
            if (next == NEXTHDR_FRAGMENT) {
                if (at + 4 > length) {
                    return;
                }
                int offset = u16(at + 2) >>> 3;
                if (offset != 0) {
                    if (!isExtension(following) || following == NEXTHDR_NONE) {
                        fragmentOffset = offset;
                        protocol = following;
                        transportOffset = at + 8;
                    }
                    return;
                }
                headerLength = 8;
            } else if (next == NEXTHDR_AUTH) {
                headerLength = (u8(at + 1) + 2) << 2;
            } else {
                headerLength = (u8(at + 1) + 1) << 3;
            }
            next = following;
            at += headerLength;
        }
        protocol = next;
        transportOffset = at;
    }

    /** Linux: ipv6_ext_hdr. */
    private static boolean isExtension(int nextHeader) {
        return nextHeader == NEXTHDR_HOP || nextHeader == NEXTHDR_ROUTING || nextHeader == NEXTHDR_FRAGMENT
                || nextHeader == NEXTHDR_AUTH || nextHeader == NEXTHDR_NONE || nextHeader == NEXTHDR_DEST;
    }

    // ---- the packet ----

    public Family family() {
        return family;
    }

    public MemorySegment segment() {
        return segment;
    }

    /** Where the IP header starts in {@link #segment()}. */
    public long networkOffset() {
        return network;
    }

    /** {@code skb->len}: the IP datagram's length, header included. */
    public int length() {
        return length;
    }

    /** The transport protocol (IPv4: the header's; IPv6: after extension headers), or {@link #NO_PROTOCOL}. */
    public int protocol() {
        return protocol;
    }

    /** Where the transport header starts, from the network header ({@code thoff}). */
    public int transportOffset() {
        return transportOffset;
    }

    /** The fragment offset in 8-byte units; non-zero means a non-first fragment ({@code fragoff}). */
    public int fragmentOffset() {
        return fragmentOffset;
    }

    /** Source address as {@link org.jnetfilter.core.rules.IpNet} keeps addresses: IPv4 in the low 32 bits of lo. */
    public long sourceHi() {
        return srcHi;
    }

    public long sourceLo() {
        return srcLo;
    }

    public long destinationHi() {
        return dstHi;
    }

    public long destinationLo() {
        return dstLo;
    }

    /** A byte of the network header, {@code at} bytes into it. */
    public int networkU8(int at) {
        return u8(at);
    }

    /** A big-endian 16-bit field of the network header. */
    public int networkU16(int at) {
        return u16(at);
    }

    /** Whether {@code n} bytes of transport header lie inside the packet (skb_header_pointer succeeds). */
    public boolean transportAvailable(int n) {
        return protocol >= 0 && transportOffset + (long) n <= length;
    }

    /** A byte of the transport header; check {@link #transportAvailable} first. */
    public int transportU8(int at) {
        return u8(transportOffset + at);
    }

    /** A big-endian 16-bit field of the transport header; check {@link #transportAvailable} first. */
    public int transportU16(int at) {
        return u16(transportOffset + at);
    }

    private int u8(int at) {
        return Byte.toUnsignedInt(segment.get(ValueLayout.JAVA_BYTE, network + at));
    }

    private int u16(int at) {
        return Short.toUnsignedInt(segment.get(U16, network + at));
    }

    // ---- what the kernel keeps beside the bytes ----

    /** The input device's name, "" for none (the kernel's nulldevname: OUTPUT, POSTROUTING of local packets). */
    public String inInterface() {
        return inInterface;
    }

    public PacketContext inInterface(String name) {
        inInterface = name == null ? "" : name;
        return this;
    }

    /** The output device's name, "" for none (PREROUTING, INPUT). */
    public String outInterface() {
        return outInterface;
    }

    public PacketContext outInterface(String name) {
        outInterface = name == null ? "" : name;
        return this;
    }

    /**
     * Whether br_netfilter attached its bridge information to the packet ({@code nf_bridge_info_exists}): it entered
     * the hooks from a bridge port ({@link #physInInterface()} names the port). Such a packet keeps it on its
     * way up to the host and when it is routed on; locally generated packets never have it.
     */
    public boolean bridged() {
        return bridged;
    }

    /** The bridge port the packet came in by ({@code nf_bridge->physindev}), "" for none. */
    public String physInInterface() {
        return physIn;
    }

    /** The bridge port a bridged packet leaves by ({@code nf_bridge->physoutdev}: FORWARD, POSTROUTING), "" for none. */
    public String physOutInterface() {
        return physOut;
    }

    /** Attaches br_netfilter's information: the ports in and out ({@code ""}: none yet). */
    public PacketContext physdev(String in, String out) {
        bridged = true;
        physIn = in == null ? "" : in;
        physOut = out == null ? "" : out;
        return this;
    }

    private boolean bridged;
    private String physIn = "";
    private String physOut = "";

    /** {@code skb->mark}, unsigned 32 bits. */
    public long mark() {
        return mark;
    }

    public PacketContext mark(long v) {
        mark = v & 0xFFFFFFFFL;
        return this;
    }

    /** {@code skb->pkt_type}: {@link #PACKET_HOST} ... {@link #PACKET_LOOPBACK}. */
    public int packetType() {
        return packetType;
    }

    public PacketContext packetType(int v) {
        packetType = v;
        return this;
    }

    /** The hook being walked; set by {@link TableWalk#run}. */
    public Hook hook() {
        return hook;
    }

    public PacketContext hook(Hook h) {
        hook = h;
        return this;
    }

    /** A match asked to drop the packet at once (xt_action_param.hotdrop): it could not examine it. */
    public boolean hotdrop() {
        return hotdrop;
    }

    public PacketContext hotdrop(boolean v) {
        hotdrop = v;
        return this;
    }

    /** The reject_with code of the REJECT that dropped this packet, or -1: the reply to build. */
    /**
     * skb_csum_unnecessary after conntrack's nf_checksum: the transport checksum was verified on receipt (skb->csum_valid),
     * so REJECT does not sum the packet again; false until a tracker verifies it.
     */
    public boolean checksumVerified() {
        return checksumVerified;
    }

    public PacketContext checksumVerified(boolean verified) {
        checksumVerified = verified;
        return this;
    }

    public int rejectWith() {
        return rejectWith;
    }

    public PacketContext rejectWith(int with) {
        rejectWith = with;
        return this;
    }

    /**
     * A target drops the packet and asks for an ICMP or ICMPv6 error about it (SNPT/DNPT's parameter problem), sent
     * as icmp_send / icmpv6_send sends it from inside the target: about the packet as the target left it.
     */
    public PacketContext dropWithIcmpError(int type, int code, int info) {
        dropIcmpType = type;
        dropIcmpCode = code;
        dropIcmpInfo = info;
        return this;
    }

    /** The type of the ICMP error a target asked for when it dropped the packet, or -1. */
    public int dropIcmpType() {
        return dropIcmpType;
    }

    public int dropIcmpCode() {
        return dropIcmpCode;
    }

    public int dropIcmpInfo() {
        return dropIcmpInfo;
    }

    private int dropIcmpType = -1;
    private int dropIcmpCode;
    private int dropIcmpInfo;

    // ---- time and chance (house rule 5) ----

    /**
     * The clock, in nanoseconds since the Unix epoch: the packet's arrival time. Jiffy-based matches
     * (limit, hashlimit, recent) derive their jiffies from it, time from it as from {@code skb->tstamp}.
     * A load keeps it; the caller moves it forward, never back.
     */
    public long nowNanos() {
        return nowNanos;
    }

    public PacketContext nowNanos(long nanos) {
        nowNanos = nanos;
        return this;
    }

    /**
     * {@link #socketUid()} of a packet a kernel control socket sent: Linux answers ICMP (icmp_send, icmpv6_send,
     * echo replies) and closed ports (tcp_v4_send_reset, tcp_v6_send_reset) from the namespace's control sockets,
     * sockets without a file: xt_owner finds a socket there, but no owner.
     */
    public static final long KERNEL_SOCKET = -2;

    /**
     * The fsuid of the local socket that sent the packet (the credentials of skb->sk's file, what xt_owner,
     * LOG --log-uid and nfnetlink_log read), {@link #KERNEL_SOCKET} for a kernel control socket's (ICMP errors,
     * REJECT's ICMP answers), or -1 when the packet has no socket: forwarded and received packets, REJECT's
     * TCP resets. Reset by a load.
     */
    public long socketUid() {
        return socketUid;
    }

    /** The fsgid of the sending socket, or -1 (see {@link #socketUid()}). */
    public long socketGid() {
        return socketGid;
    }

    /** Marks the packet as sent by a local socket of this uid and gid; -1, -1: no socket. */
    public PacketContext socket(long uid, long gid) {
        socketUid = uid;
        socketGid = gid;
        return this;
    }

    /**
     * The IPv4 options the receive path compiled ({@link Ipv4Options} decodes it): what icmp_send echoes into an
     * ICMP error about this packet. 0 until compiled (locally generated packets are never). Reset by a load.
     */
    public int ipv4Options() {
        return ipv4Options;
    }

    public PacketContext ipv4Options(int state) {
        ipv4Options = state;
        return this;
    }

    /** skb->secmark: the security id SECMARK set (or CONNSECMARK restored); 0 for none. Reset by a load. */
    public long secmark() {
        return secmark;
    }

    public PacketContext secmark(long secid) {
        secmark = secid;
        return this;
    }

    /** The Ethernet source address as 48 bits, or -1 when the packet has no Ethernet header. */
    public long macSource() {
        return macSource;
    }

    public PacketContext macSource(long mac) {
        macSource = mac;
        return this;
    }

    /** skb->priority (the tc class CLASSIFY sets). */
    public long priority() {
        return priority;
    }

    public PacketContext priority(long v) {
        priority = v & 0xFFFFFFFFL;
        return this;
    }

    /** skb->nf_trace, set by the TRACE target. */
    public boolean traced() {
        return traced;
    }

    public PacketContext traced(boolean v) {
        traced = v;
        return this;
    }

    /** Untracked: NOTRACK or CT --notrack gave the packet the untracked conntrack entry. */
    public boolean untracked() {
        return untracked;
    }

    public PacketContext untracked(boolean v) {
        untracked = v;
        return this;
    }

    /**
     * The packet's connection tracking entry ({@code skb->_nfct}), or null: none yet, or untracked
     * (then {@link #ctInfo()} is {@link CtInfo#UNTRACKED} and {@link #untracked()} true).
     */
    public Connection conntrack() {
        return conntrack;
    }

    /** The packet's {@code ip_conntrack_info} toward {@link #conntrack()} ({@link CtInfo}). */
    public int ctInfo() {
        return ctInfo;
    }

    /** Attaches the packet to {@code c} (nf_ct_set): {@code ctinfo} says how it relates to it. */
    public PacketContext conntrack(Connection c, int ctinfo) {
        conntrack = c;
        ctInfo = ctinfo;
        return this;
    }

    /** Where LOG writes its lines; not reset by a load (it belongs to the datapath). */
    public LogSink logSink() {
        return logSink;
    }

    public PacketContext logSink(LogSink sink) {
        logSink = java.util.Objects.requireNonNull(sink, "sink");
        return this;
    }

    /** Where NFLOG hands packets; not reset by a load (it belongs to the datapath). */
    public NflogSink nflogSink() {
        return nflogSink;
    }

    public PacketContext nflogSink(NflogSink sink) {
        nflogSink = java.util.Objects.requireNonNull(sink, "sink");
        return this;
    }

    private LogSink logSink = LogSink.NONE;
    private NflogSink nflogSink = NflogSink.NONE;
    private long secmark;
    private int ipv4Options;
    private long socketUid = -1;
    private long socketGid = -1;
    private Connection conntrack;
    private int ctInfo = CtInfo.UNTRACKED;
    private long macSource = -1;
    private long priority;
    private boolean traced;
    private boolean untracked;

    /**
     * The host the packet is on: its addresses and routes decide the addrtype match. A host with only
     * {@code lo} until the caller sets one.
     */
    public org.jnetfilter.core.host.Host host() {
        org.jnetfilter.core.host.Host h = host;
        if (h == null) {
            h = new org.jnetfilter.core.host.Host();
            host = h;
        }
        return h;
    }

    public PacketContext host(org.jnetfilter.core.host.Host h) {
        host = java.util.Objects.requireNonNull(h, "host");
        return this;
    }

    private org.jnetfilter.core.host.Host host;

    /** The random source of the kernel's {@code get_random_u32} (statistic, NFQUEUE's hash seed); seed 0 unless set. */
    public RandomGenerator random() {
        return random;
    }

    public PacketContext random(RandomGenerator r) {
        random = java.util.Objects.requireNonNull(r, "random");
        return this;
    }

    // ---- what the datapath attaches (not reset by a load) ----

    /** Where hook and rule events of this packet go; {@link Trace#NONE} unless the datapath sets one. */
    public Trace trace() {
        return trace;
    }

    public PacketContext trace(Trace t) {
        trace = java.util.Objects.requireNonNull(t, "trace");
        return this;
    }

    private Trace trace = Trace.NONE;

    /**
     * How tables are walked for this packet: the datapath's {@link TableWalker} (linear reference or compiled
     * classifiers), which hook functions that walk a table themselves (NAT) use too. Not reset by a load.
     */
    public TableWalker walker() {
        return walker;
    }

    public PacketContext walker(TableWalker w) {
        walker = java.util.Objects.requireNonNull(w, "walker");
        return this;
    }

    private TableWalker walker = TableWalker.LINEAR;

    /**
     * The namespace's connection table, where an extension looks a tuple up for a packet without an entry of its
     * own (xt_connlimit before conntrack has run: nf_conntrack_find_get on the packet's netns); null when the
     * datapath has none. Not reset by a load.
     */
    public org.jnetfilter.core.conntrack.Conntrack conntrackTable() {
        return conntrackTable;
    }

    public PacketContext conntrackTable(org.jnetfilter.core.conntrack.Conntrack table) {
        conntrackTable = table;
        return this;
    }

    private org.jnetfilter.core.conntrack.Conntrack conntrackTable;
    private Rerouting rerouting;
    private int routeMtu;

    /** The datapath's re-routing for this packet ({@link #reroute()}); null: none, nothing to re-route. */
    public PacketContext rerouting(Rerouting r) {
        rerouting = r;
        return this;
    }

    /**
     * ip_route_me_harder / ip6_route_me_harder: the packet's addresses, mark or TOS changed in OUTPUT (mangle,
     * NAT, a queue verdict), so look its route up again. False when the new lookup fails: the caller drops the
     * packet (NF_DROP_ERR). True without a datapath.
     */
    public boolean reroute() {
        Rerouting r = rerouting;
        return r == null || r.reroute(this);
    }

    /**
     * The MTU of the packet's route ({@code dst_mtu(skb_dst(skb))}) where it has one (FORWARD, OUTPUT, POSTROUTING),
     * else 0.
     */
    public int routeMtu() {
        return routeMtu;
    }

    public PacketContext routeMtu(int mtu) {
        routeMtu = mtu;
        return this;
    }

    /**
     * The packet's route as the datapath holds it ({@code skb_dst(skb)}, {@link Rerouting#heldRoute}); null before
     * routing (PREROUTING) or without a datapath.
     */
    public RouteDecision route() {
        Rerouting r = rerouting;
        return r == null ? null : r.heldRoute(this);
    }

    /** The TEE target's clone to {@code gwHi/gwLo} ({@link Rerouting#duplicate}); nothing without a datapath. */
    public void duplicate(long gwHi, long gwLo, String oif) {
        Rerouting r = rerouting;
        if (r != null) {
            r.duplicate(this, gwHi, gwLo, oif);
        }
    }

    /**
     * Sends a TCP datagram built in answer to this packet through ip_local_out, attached to {@code ct} as
     * {@code ctinfo} when not null ({@link Rerouting#localOut}); nothing without a datapath.
     */
    public void localOut(MemorySegment datagram, Connection ct, int ctinfo) {
        Rerouting r = rerouting;
        if (r != null) {
            r.localOut(this, datagram, ct, ctinfo);
        }
    }

    /**
     * The MTU of the route back to the packet's source, as xt_TCPMSS's tcpmss_reverse_mtu looks it up; 0 when
     * unknown (no datapath).
     */
    public int reverseRouteMtu() {
        Rerouting r = rerouting;
        return r == null ? 0 : r.reverseMtu(this);
    }

    /**
     * What ipt_mangle_out and nf_queue compare to decide on a re-route besides addresses and mark: the TOS byte of
     * IPv4; of IPv6 the first word (version, traffic class, flow label), ip6t_mangle_out's flow label check.
     */
    public int routingTos() {
        return family == Family.IPV4 ? u8(1) : segment.get(U32, network);
    }

    /**
     * Reads the headers again after bytes changed in place (NAT rewrote an address, a queue verdict replaced the
     * payload): addresses, protocol, transport offset, fragment offset and the length the IP header gives (an IPv6
     * jumbogram keeps its length). Keeps everything else: interfaces, mark, conntrack, hook.
     */
    public PacketContext reparse() {
        if (family == Family.IPV4) {
            length = u16(2);
            protocol = u8(9);
            transportOffset = (u8(0) & 0x0F) << 2;
            fragmentOffset = u16(6) & 0x1FFF;
            srcLo = segment.get(U32, network + 12) & 0xFFFFFFFFL;
            dstLo = segment.get(U32, network + 16) & 0xFFFFFFFFL;
        } else {
            int payload = u16(4);
            if (payload != 0) {
                length = IPV6_HEADER + payload;
            }
            srcHi = segment.get(U64, network + 8);
            srcLo = segment.get(U64, network + 16);
            dstHi = segment.get(U64, network + 24);
            dstLo = segment.get(U64, network + 32);
            findTransport();
        }
        return this;
    }

    /**
     * Puts a whole new datagram of the same family in place of the packet (a queue verdict with a payload),
     * keeping its metadata. The datagram must fit the buffer the packet lives in.
     */
    public PacketContext replace(MemorySegment datagram) {
        tailBlocks = null;
        long room = segment.byteSize() - network;
        if (datagram.byteSize() > room || datagram.byteSize() < (family == Family.IPV4 ? 20 : IPV6_HEADER)) {
            throw new IllegalArgumentException("replacement of " + datagram.byteSize() + " bytes does not fit the "
                    + room + "-byte packet buffer");
        }
        MemorySegment.copy(datagram, 0, segment, network, datagram.byteSize());
        length = (int) datagram.byteSize();
        return reparse();
    }

    /**
     * Sets the datagram's length after the bytes grew or shrank in the packet's buffer (TCPMSS adding an option):
     * the caller has written the bytes and fixed the IP length field. False when the buffer has no room.
     */
    public boolean resize(int newLength) {
        if (network + newLength > segment.byteSize()) {
            return false;
        }
        length = newLength;
        return true;
    }

    /** The bytes the packet's buffer holds from its network header on: how far it may grow. */
    public long capacity() {
        return segment.byteSize() - network;
    }

    // ---- the walk's jump stack (TableWalk) ----

    void startWalk(Hook h, int stackSize) {
        hook = h;
        hotdrop = false;
        if (stackChain.length < stackSize) {
            int n = Math.max(stackSize, stackChain.length * 2);
            stackChain = new Chain[n];
            stackRule = new int[n];
        }
    }

    void push(int depth, Chain chain, int rule) {
        stackChain[depth] = chain;
        stackRule[depth] = rule;
    }

    Chain stackChain(int depth) {
        return stackChain[depth];
    }

    int stackRule(int depth) {
        return stackRule[depth];
    }

    void endWalk(int depth) {
        // keep no chains of an old generation alive through this reused object
        for (int i = 0; i < depth; i++) {
            stackChain[i] = null;
        }
    }
}
