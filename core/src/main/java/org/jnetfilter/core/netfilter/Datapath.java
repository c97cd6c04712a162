package org.jnetfilter.core.netfilter;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.jnetfilter.core.bridge.Bridge;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.InterfaceAddress;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.Link;
import org.jnetfilter.core.host.RouteResult;
import org.jnetfilter.core.host.RouteType;
import org.jnetfilter.core.defrag.Defrag;
import org.jnetfilter.core.defrag.Fragmenter;
import org.jnetfilter.core.ext.targets.TproxyTarget;
import org.jnetfilter.core.packet.EthernetHeader;
import org.jnetfilter.core.packet.IcmpHeader;
import org.jnetfilter.core.packet.IpReceive;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.packet.Ipv6Header;
import org.jnetfilter.core.packet.ReceiveResult;
import org.jnetfilter.core.reply.RejectReplies;
import org.jnetfilter.core.reply.Reply;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleCount;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.core.rules.Target;

/**
 * A host's IP datapath: packets received on an interface or sent by the host go through the five netfilter hooks,
 * the route decisions and the forwarding rules of Linux 6.x, and leave as Ethernet frames or are delivered locally.
 *
 * <pre>
 * receive(if, frame) ─ eth_type_trans (pkt_type) ─ ip_rcv checks ─ PREROUTING ─ input route ─┬─ local: INPUT ─ deliverLocal
 *                                                                                         ├─ forward: ip_forward ─ FORWARD ─┐
 *                                                                                         └─ error: ip_error (ICMP) / drop  │
 * sendLocal(datagram) ─ output route ─ OUTPUT ─ (re-route) ───────────────────────────────────────────────── POSTROUTING ─ ip_finish_output
 *                                                                    (fragment, neighbour, Ethernet) ─ transmit(if, frame)
 *                                                                    lo: back in as a reception on lo (PREROUTING, INPUT)
 * </pre>
 *
 * <p>Facts reproduced (net/ipv4/ip_input.c, route.c ip_route_input_slow and ip_error, ip_forward.c, ip_output.c,
 * net/ipv6/ip6_input.c, ip6_output.c ip6_forward, route.c ip6_pkt_discard):
 * <ul>
 * <li>The destination MAC gives {@code pkt_type} as eth_type_trans: HOST (the interface's MAC), BROADCAST,
 *   MULTICAST, else OTHERHOST, which ip_rcv / ipv6_rcv drop. ARP is not answered (the neighbour table is
 *   configured); IPv6 neighbour discovery is ICMPv6 and is delivered locally like any ICMPv6, unanswered.
 *   802.1Q-tagged frames are dropped (no VLAN devices).</li>
 * <li>IPv4 input route: local and broadcast destinations are delivered (INPUT); 224.0.0.1 is joined on every
 *   interface, other groups are not (dropped); martian sources/destinations and sources refused by rp_filter are
 *   dropped silently; without forwarding on the input interface, packets for others are dropped silently
 *   (InAddrErrors); with forwarding, no route sends ICMP net unreachable, an unreachable route host unreachable, a
 *   prohibit route "communication administratively prohibited" (code 13), a blackhole nothing; ip_error limits these
 *   errors per source (a burst of 5, then one a second) before icmp_send's own limits.</li>
 * <li>IPv6 input route: local, anycast and multicast destinations are delivered; no route, an unreachable route:
 *   ICMPv6 no route; prohibit: administratively prohibited; blackhole: nothing. Forwarding off: ip6_forward drops
 *   silently.</li>
 * <li>ip_forward: only PACKET_HOST; TTL ≤ 1 sends time exceeded (TTL exceeded in transit); DF and longer than the
 *   egress MTU sends fragmentation needed with the MTU; TTL decremented with an incremental checksum fix; a redirect
 *   (host) when the packet leaves by the interface it arrived on, send_redirects is on and the source is on-link
 *   there (shared_media defaults to 1); skb->priority from the TOS (ip_fwd_update_priority). ip6_forward: hop limit
 *   ≤ 1 time exceeded; leaving by the interface it came in on, a redirect (ndisc_send_redirect, see
 *   {@link Replies#redirect6}), else a link-local source is answered "beyond scope" and dropped; longer than
 *   max(MTU, 1280) packet too big; hop limit decremented. Redirects of both families go before FORWARD, through
 *   OUTPUT and POSTROUTING.</li>
 * <li>ip_local_out: the output route with source address selection (a zero IPv4 source is filled in, the total
 *   length, a zero IP ID and the checksum set, as raw_send_hdrinc does; a zero IPv6 source is filled in too), OUTPUT,
 *   POSTROUTING. The mangle table re-routes in OUTPUT when it changed the addresses, mark or TOS
 *   (ip_route_me_harder), so do queue verdicts (nf_reroute); others may call {@link PacketContext#reroute()}.</li>
 * <li>Local destinations of local packets leave by lo and come back as a reception on lo: PREROUTING (pkt_type
 *   HOST, in lo), INPUT, delivered. The route, mark, priority, secmark, TRACE bit and conntrack entry are kept
 *   ({@link KeptPacketState}), as loopback_xmit hands the skb itself to netif_rx. As
 *   netif_rx queues them on the backlog ({@link Backlog}), a packet looped back while a received packet is handled
 *   (a TEE copy rerouted to this host, a REJECT reply or ICMP error to a local sender, a local stack's answer to a
 *   local address) is received after that packet's whole path, in queue order; one looped back by a process's send
 *   is received at once (at the end of the TEE copy for a copy), nested in the send.</li>
 * <li>Fragments: IPv4 ones for this host are reassembled before INPUT (ip_local_deliver); with a module that asks
 *   for it (conntrack) both families are reassembled at -400 in PREROUTING and OUTPUT (nf_defrag_ipv4/ipv6), judged
 *   by their largest fragment against the MTU and sent out as they came (ip_fragment's frag_max_size); a queue
 *   that times out sends fragment reassembly time exceeded.</li>
 * <li>ip_finish_output: a non-DF IPv4 packet longer than the MTU is fragmented as ip_do_fragment (8-byte aligned
 *   payloads, options not to be copied replaced by NOPs after the first fragment, MF and offsets set), a DF one
 *   sends fragmentation needed (to this host) and is dropped; a local IPv6 packet longer than the MTU is
 *   fragmented as ip6_fragment. Then the neighbour: the next hop's MAC from the host's
 *   neighbour table (a made-up one when absent, see {@link Host#neighbourMac}), broadcast and multicast MACs for
 *   such destinations, and the Ethernet header.</li>
 * <li>Bridges (net/bridge, {@link Bridge}): a frame received on a bridge port is bridged (learning, the FDB,
 *   flooding, hairpin) and what is for the host goes up through the bridge device. With br_netfilter's
 *   bridge-nf-call-iptables / -ip6tables on (or the bridge's own nf_call_iptables / nf_call_ip6tables), bridged
 *   IPv4 / IPv6 frames meet PREROUTING, FORWARD and POSTROUTING with
 *   IN / OUT = the bridge and the ports recorded ({@link PacketContext#physInInterface()}: physdev, LOG's PHYSIN=),
 *   one FORWARD and POSTROUTING per flooded copy; a DNAT in PREROUTING keeps the frame bridged when the new
 *   destination is reached through the bridge, else sends it up to be routed (br_nf_pre_routing_finish); frames up
 *   to the host skip a second PREROUTING (ip_sabotage_in). The host's own packets through a bridge leave by the
 *   FDB's port or every port, after POSTROUTING on the bridge device only (no physdev-out for them). A singly
 *   802.1Q-tagged IPv4/IPv6 frame meets the hooks only with bridge-nf-filter-vlan-tagged: untagged in the buffer,
 *   its tag put back on each copy that leaves by a port.</li>
 * <li>A hook verdict DROP with {@link PacketContext#rejectWith()} set sends the REJECT reply; ICMP errors of the
 *   path are built by {@link Replies} and sent through ip_local_out like the kernel's icmp_send.</li>
 * </ul>
 * IPv4 options of received datagrams are checked and recorded (record route, timestamp) as ip_rcv_options and
 * ip_forward_options do ({@link Ipv4Options}): bad ones send ICMP parameter problem; source routes are refused
 * unless accept_source_route is on (all and the interface), then followed as ip_options_rcv_srr and
 * ip_forward_options do: FORWARD sees the destination the datagram came with, POSTROUTING the next hop.
 * IPv6 routing headers of datagrams for this host are handled after INPUT as ipv6_rthdr_rcv does ({@code
 * routingHeaders6}), their destination options as ip6_parse_tlv does; hop-by-hop options asking for a parameter
 * problem are answered at receive, before PREROUTING ({@code hopByHopParameterProblem}). Not modelled: router alert
 * sockets, other IPv6
 * extension headers beyond the receive checks, multicast routing (ipmr), GSO, IPv6 reassembly in the local stack (IPv6 fragments reach INPUT and the sink one by one unless conntrack
 * reassembled them). A broadcast the host sends is also looped back to it as ip_mc_output does ({@code
 * loopBroadcast}); the limited broadcast 255.255.255.255 needs a route as in Linux.
 *
 * <p>Rules: {@link #rules} publishes a generation per family atomically; table hook functions read it once per
 * packet and hook, so packets never wait for an update. Tables register their hook functions when they first
 * appear in a published ruleset (raw -300 PREROUTING/OUTPUT, mangle -150 all five, filter 0, security 50), as the
 * kernel instantiates a table per network namespace on first use. The nat table's functions and conntrack come
 * from a {@link HookModule}.
 *
 * <p>Threads: one packet thread at a time calls {@link #receive} and {@link #sendLocal} (they share buffers and a
 * route cache); {@link #rules} and {@link #netfilter()} registrations may come from any thread at any time. The host
 * must not be reconfigured while packets flow. Hot path: no allocation for a packet that hits the route cache and
 * whose hook functions do not allocate (the sink gets slices of the datapath's buffers: one small view object per
 * transmitted or delivered packet of a size not seen recently).
 */
public final class Datapath {
    /** Room before the IP header for the Ethernet header. */
    static final int HEADROOM = 64;
    /** The largest datagram handled: the IPv4 maximum and an IPv6 packet without jumbo payload. */
    static final int MAX_DATAGRAM = 65535;
    /**
     * Generated packets nest (a REJECT reply, an ICMP error about it is never sent), and so does the backlog a locally
     * sent packet drains when it loops back: a small fixed depth.
     */
    private static final int MAX_DEPTH = 6;
    // direct-mapped: large enough that a few thousand flows rarely evict each other (a miss is a host lookup)
    private static final int ROUTE_CACHE_SIZE = 1 << 16;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);

    // Linux: ICMP types and codes the path sends (include/uapi/linux/icmp.h, icmpv6.h)
    static final int ICMP_DEST_UNREACH = 3;
    static final int ICMP_NET_UNREACH = 0;
    static final int ICMP_HOST_UNREACH = 1;
    static final int ICMP_FRAG_NEEDED = 4;
    static final int ICMP_SR_FAILED = 5;
    static final int ICMP_PKT_FILTERED = 13;
    static final int ICMP_REDIRECT = 5;
    static final int ICMP_REDIR_HOST = 1;
    static final int ICMP_TIME_EXCEEDED = 11;
    static final int ICMP_PARAMETERPROB = 12;
    static final int ICMP_EXC_TTL = 0;
    static final int ICMP_EXC_FRAGTIME = 1;
    static final int ICMPV6_EXC_FRAGTIME = 1;
    static final int ICMPV6_DEST_UNREACH = 1;
    static final int ICMPV6_NOROUTE = 0;
    static final int ICMPV6_ADM_PROHIBITED = 1;
    // Linux: ICMPV6_NOT_NEIGHBOUR (beyond scope of source address)
    static final int ICMPV6_NOT_NEIGHBOUR = 2;
    // Linux: ICMPV6_PARAMPROB, ICMPV6_HDR_FIELD, IPV6_SRCRT_TYPE_4 (segment routing), IPPROTO_IPIP
    static final int ICMPV6_PARAMPROB = 4;
    static final int ICMPV6_HDR_FIELD = 0;
    static final int IPV6_SRCRT_TYPE_4 = 4;
    static final int IPPROTO_IPIP = 4;
    static final int ICMPV6_PKT_TOOBIG = 2;
    static final int ICMPV6_TIME_EXCEED = 3;
    static final int ICMPV6_EXC_HOPLIMIT = 0;
    // Linux: IPV6_MIN_MTU
    static final int IPV6_MIN_MTU = 1280;
    // Linux: ip_tos2prio (net/ipv4/route.c), indexed by IPTOS_TOS(tos) >> 1: TC_PRIO_BESTEFFORT 0, BULK 2,
    // INTERACTIVE_BULK 4, INTERACTIVE 6
    private static final int[] TOS_TO_PRIORITY = {0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4};
    // Linux: the all-hosts group every IPv4 interface joins (ip_mc_up: IGMP_ALL_HOSTS)
    private static final long ALL_HOSTS = 0xE0000001L;

    private final Host host;
    private final PacketSink sink;
    private final Netfilter netfilter = new Netfilter();
    private final Slot[] slots = new Slot[MAX_DEPTH];
    private final IpReceive ipReceive = new IpReceive(this::maxHopByHopOptions, this::maxHopByHopLength);
    private final EthernetHeader ethernet = new EthernetHeader();
    private final MemorySegment fragmentBuffer = MemorySegment.ofArray(new byte[HEADROOM + MAX_DATAGRAM + 1]);
    private final Views fragmentViews = new Views(fragmentBuffer);
    private final RouteCacheEntry[] routeCache = new RouteCacheEntry[ROUTE_CACHE_SIZE];

    private volatile Ruleset rules4 = Ruleset.empty(Family.IPV4);
    private volatile Ruleset rules6 = Ruleset.empty(Family.IPV6);
    private final Map<Family, Map<TableKind, List<Netfilter.Registration>>> tableRegistrations = new EnumMap<>(
            Family.class);
    private final Map<HookModule, Map<Family, List<Netfilter.Registration>>> modules = new LinkedHashMap<>();
    private final Map<Family, List<Netfilter.Registration>> defragRegistrations = new EnumMap<>(Family.class);

    private Replies replies;
    private volatile TableWalker walker = TableWalker.LINEAR;
    /** The namespace's connection table, from the module that keeps one (HookModule#conntrack), or null. */
    private volatile org.jnetfilter.core.conntrack.Conntrack conntrackTable;
    // Linux: ip_local_deliver reassembles (IP_DEFRAG_LOCAL_DELIVER); nf_defrag_ipv4/ipv6 before conntrack
    private final Defrag localDefrag = new Defrag(Family.IPV4);
    private final Map<Family, Defrag> conntrackDefrag = new EnumMap<>(Family.class);
    // whether a reassembly may hold queues or expired ones not yet reported: only then is it asked to expire them
    // (the common packet is no fragment, and asking allocates)
    private boolean localFragments;
    private boolean conntrackFragments;
    private LogSink logSink = LogSink.NONE;
    private NflogSink nflogSink = NflogSink.NONE;
    private RandomGenerator random = new SplittableRandom(0);
    private int depth = -1;
    // Linux: nf_skb_duplicated, per CPU: a clone TEE sends does not clone itself again (one packet thread here)
    private boolean duplicating;
    // Linux: the per-CPU backlog loopback_xmit feeds (netif_rx); see Backlog
    private final Backlog backlog = new Backlog();
    private long backlogOverflows;
    // whether the path runs in the NET_RX softirq (a received packet, what it causes, the backlog), where a
    // looped-back packet waits for the current one to be done; false for a packet sent from a process
    private boolean inSoftirq;
    // whether the backlog is being drained after a packet (the sink's packetDone may send meanwhile)
    private boolean draining;

    private long viewVersion = -1;
    private Map<String, Interface> interfaceByName = Map.of();
    /** The bridges' forwarding state, rebuilt with the interfaces (learned entries kept). */
    private Map<String, Bridge> bridgeByName = Map.of();
    /** A bridged packet's bytes and state after PREROUTING, for each of its copies (br_flood's clones). */
    private final BridgedCopy bridgedCopy = new BridgedCopy();

    public Datapath(Host host, PacketSink sink) {
        this.host = Objects.requireNonNull(host, "host");
        this.sink = Objects.requireNonNull(sink, "sink");
        this.replies = Replies.kernel(host, 0);
        for (Family f : Family.values()) {
            tableRegistrations.put(f, new EnumMap<>(TableKind.class));
        }
    }

    // ---- configuration ----

    private long maxHopByHopOptions() {
        return host.sysctlLong("net.ipv6.max_hbh_opts_number");
    }

    private long maxHopByHopLength() {
        return host.sysctlLong("net.ipv6.max_hbh_length");
    }

    public Host host() {
        return host;
    }

    /** The hook registry: embedders register their own functions beside the tables. */
    public Netfilter netfilter() {
        return netfilter;
    }

    /**
     * Publishes {@code rules} as the current generation of its family (one atomic swap: packets never wait) and
     * registers the hook functions of tables that appear in it and of the modules it needs.
     */
    public synchronized void rules(Family family, Ruleset rules) {
        Objects.requireNonNull(rules, "rules");
        if (rules.family() != family) {
            throw new IllegalArgumentException(rules.family() + " rules published as " + family);
        }
        Ruleset previous = rules(family);
        TableWalker w = walker;
        for (org.jnetfilter.core.rules.Table t : rules.tables()) {
            // the nat table too: the NAT hook walks it with the packet's walker (PacketContext.walker)
            w.prepare(previous.table(t.kind()), t);
        }
        if (family == Family.IPV4) {
            rules4 = rules;
        } else {
            rules6 = rules;
        }
        Map<TableKind, List<Netfilter.Registration>> registered = tableRegistrations.get(family);
        for (TableKind kind : TableKind.values()) {
            if (kind == TableKind.NAT || registered.containsKey(kind) || rules.table(kind) == null) {
                continue;
            }
            List<Netfilter.Registration> l = new ArrayList<>();
            for (Hook hook : kind.hooks()) {
                l.add(netfilter.register(family, hook, priority(kind), kind.tableName(),
                        new TableHook(this, family, kind, hook)));
            }
            registered.put(kind, List.copyOf(l));
        }
        for (Map.Entry<HookModule, Map<Family, List<Netfilter.Registration>>> e : modules.entrySet()) {
            syncModule(e.getKey(), e.getValue(), family, rules);
        }
        syncDefrag(family);
    }

    /**
     * nf_defrag_ipv4_enable / nf_defrag_ipv6_enable: the defragmentation functions at
     * {@link Priorities#CONNTRACK_DEFRAG} in PREROUTING and OUTPUT while a registered module asks for them, or a rule
     * of the family uses an extension whose checkentry enables them without conntrack (TPROXY, socket).
     */
    private void syncDefrag(Family family) {
        boolean needed = rulesEnableDefrag(rules(family));
        for (Map.Entry<HookModule, Map<Family, List<Netfilter.Registration>>> e : modules.entrySet()) {
            needed |= e.getKey().defragments() && e.getValue().containsKey(family);
        }
        List<Netfilter.Registration> current = defragRegistrations.get(family);
        if (needed && current == null) {
            Defrag d = conntrackDefrag.computeIfAbsent(family, Defrag::new);
            String name = family == Family.IPV4 ? "nf_defrag_ipv4" : "nf_defrag_ipv6";
            defragRegistrations.put(family, List.of(
                    netfilter.register(family, Hook.PREROUTING, Priorities.CONNTRACK_DEFRAG, name,
                            p -> conntrackDefrag(d, p)),
                    netfilter.register(family, Hook.OUTPUT, Priorities.CONNTRACK_DEFRAG, name,
                            p -> conntrackDefrag(d, p))));
        } else if (!needed && current != null) {
            current.forEach(netfilter::unregister);
            defragRegistrations.remove(family);
        }
    }

    /** Whether a rule uses {@link TproxyTarget#DEFRAG_EXTENSIONS}. */
    private boolean rulesEnableDefrag(Ruleset rules) {
        return defragRules.anyIn(rules);
    }

    /**
     * Rules using TPROXY or socket, counted through each publication's change (not over the ruleset): this
     * datapath's own count, following its own generations (another datapath's publications do not reset it).
     */
    private final RuleCount defragRules = new RuleCount(Datapath::usesDefragExtension);

    private static boolean usesDefragExtension(Rule r) {
        if (r.spec().target() instanceof Target.Extension e
                && TproxyTarget.DEFRAG_EXTENSIONS.contains(e.extension().name())) {
            return true;
        }
        for (Match m : r.spec().matches()) {
            if (TproxyTarget.DEFRAG_EXTENSIONS.contains(m.extension().name())) {
                return true;
            }
        }
        return false;
    }

    // Linux: enum ip_defrag_users / ip6_defrag_users, zone 0
    static final int IP_DEFRAG_LOCAL_DELIVER = 0;
    static final int IP_DEFRAG_CONNTRACK_IN = 2;
    static final int IP_DEFRAG_CONNTRACK_OUT = IP_DEFRAG_CONNTRACK_IN + 0xFFFF + 1;
    static final int IP6_DEFRAG_CONNTRACK_IN = 1;
    static final int IP6_DEFRAG_CONNTRACK_OUT = IP6_DEFRAG_CONNTRACK_IN + 0xFFFF + 1;

    /**
     * ipv4_conntrack_defrag / ipv6_defrag: a packet already tracked (looped back) passes; a fragment is queued
     * (STOLEN) until the datagram is whole, which then replaces it and goes on with its largest fragment's size
     * remembered for refragmentation. IPv4 failures are STOLEN too (ip_defrag freed the fragment), IPv6 ones DROP.
     */
    private int conntrackDefrag(Defrag defrag, PacketContext pkt) {
        if (pkt.conntrack() != null) {
            return Verdict.ACCEPT;
        }
        boolean ipv4 = pkt.family() == Family.IPV4;
        boolean fragment = ipv4 ? (pkt.networkU16(6) & 0x3FFF) != 0 : hasFragmentHeader(pkt);
        if (!fragment) {
            return Verdict.ACCEPT;
        }
        int user = pkt.hook() == Hook.PREROUTING ? (ipv4 ? IP_DEFRAG_CONNTRACK_IN : IP6_DEFRAG_CONNTRACK_IN)
                : ipv4 ? IP_DEFRAG_CONNTRACK_OUT : IP6_DEFRAG_CONNTRACK_OUT;
        conntrackFragments = true;
        Defrag.Result r = defrag.add(pkt.segment(), pkt.networkOffset(), pkt.length(), pkt.nowNanos(), user,
                pkt.inInterface().isEmpty() ? null : pkt.inInterface());
        return switch (r.outcome()) {
            case NOT_FRAGMENT, PASS -> Verdict.ACCEPT;
            case QUEUED -> Verdict.STOLEN;
            case DROPPED -> ipv4 ? Verdict.STOLEN : Verdict.DROP;
            case REASSEMBLED -> {
                pkt.replace(r.datagram());
                // Linux: the fragments stay separate buffers, the first as the head, the rest on its frag_list
                int[] payloads = r.fragmentPayloads();
                pkt.fragmentList(pkt.length() - sum(payloads, 1), java.util.Arrays.copyOfRange(payloads, 1,
                        payloads.length));
                current().reassembled = r;
                pkt.trace().rewritten("reassembled");
                yield Verdict.ACCEPT;
            }
        };
    }

    private static int sum(int[] values, int from) {
        int n = 0;
        for (int i = from; i < values.length; i++) {
            n += values[i];
        }
        return n;
    }

    /** Whether an IPv6 packet carries a Fragment header before its upper-layer header. */
    private static boolean hasFragmentHeader(PacketContext pkt) {
        int next = pkt.networkU8(6);
        int at = Ipv6Header.LENGTH;
        while (at + 2 <= pkt.length()) {
            if (next == Ipv6Header.NEXTHDR_FRAGMENT) {
                return true;
            }
            if (next != Ipv6Header.NEXTHDR_HOP && next != Ipv6Header.NEXTHDR_ROUTING
                    && next != Ipv6Header.NEXTHDR_DEST) {
                return false;
            }
            int following = pkt.networkU8(at);
            at += (pkt.networkU8(at + 1) + 1) << 3;
            next = following;
        }
        return false;
    }

    private Slot current() {
        return slots[depth];
    }

    /**
     * How tables are walked: {@link TableWalker#LINEAR} (the default, the reference) or
     * {@link TableWalker#CLASSIFIED}. Set it before publishing rules (a walker prepares them at publication).
     */
    public synchronized Datapath walker(TableWalker w) {
        walker = Objects.requireNonNull(w, "walker");
        for (Family f : Family.values()) {
            for (org.jnetfilter.core.rules.Table t : rules(f).tables()) {
                if (t.kind() != TableKind.NAT) {
                    w.prepare(null, t);
                }
            }
        }
        return this;
    }

    TableWalker walker() {
        return walker;
    }

    /** The current generation of {@code family}'s rules. */
    public Ruleset rules(Family family) {
        return family == Family.IPV4 ? rules4 : rules6;
    }

    /** Adds a module (conntrack, NAT, ...): registered for each family whose current rules need it. */
    public synchronized void module(HookModule module) {
        Map<Family, List<Netfilter.Registration>> byFamily = new EnumMap<>(Family.class);
        modules.put(module, byFamily);
        if (module.conntrack() != null) {
            conntrackTable = module.conntrack();
        }
        for (Family f : Family.values()) {
            syncModule(module, byFamily, f, rules(f));
            syncDefrag(f);
        }
    }

    private void syncModule(HookModule module, Map<Family, List<Netfilter.Registration>> byFamily, Family family,
            Ruleset rules) {
        boolean needed = module.needed(family, rules);
        List<Netfilter.Registration> current = byFamily.get(family);
        if (needed && current == null) {
            byFamily.put(family, List.copyOf(module.register(netfilter, family, () -> rules(family))));
        } else if (!needed && current != null) {
            current.forEach(netfilter::unregister);
            byFamily.remove(family);
        }
    }

    static int priority(TableKind kind) {
        return switch (kind) {
            case RAW -> Priorities.RAW;
            case MANGLE -> Priorities.MANGLE;
            case FILTER -> Priorities.FILTER;
            case SECURITY -> Priorities.SECURITY;
            case NAT -> throw new IllegalArgumentException("the nat table's functions come from a HookModule");
        };
    }

    /** The userspace queue; null: queued packets drop (or pass with --queue-bypass). */
    public Datapath queueHandler(QueueHandler handler) {
        netfilter.queueHandler(handler);
        return this;
    }

    /** Where LOG lines go. */
    public synchronized Datapath logSink(LogSink sink) {
        logSink = Objects.requireNonNull(sink, "sink");
        return this;
    }

    /** Where NFLOG's packets go ({@link NfnetlinkLog} delivers them as the kernel does); NONE: nobody listens. */
    public synchronized Datapath nflogSink(NflogSink sink) {
        nflogSink = Objects.requireNonNull(sink, "sink");
        return this;
    }

    /**
     * The builders of REJECT replies and ICMP errors: {@link Replies#kernel} on this host unless set
     * ({@link Replies#NONE} generates nothing).
     */
    public synchronized Datapath replies(Replies r) {
        replies = Objects.requireNonNull(r, "replies");
        return this;
    }

    /** The random source of the packet path (statistic, NFQUEUE balancing, IP IDs); seed 0 unless set. */
    public synchronized Datapath random(RandomGenerator r) {
        random = Objects.requireNonNull(r, "random");
        return this;
    }

    // ---- the entry points ----

    /**
     * A frame ({@code ethernet}) or a bare IP datagram arrived on interface {@code ifname} at {@code nowNanos}.
     * Everything that follows happens before this returns: transmissions, local delivery, generated packets, then
     * the packets it looped back through lo, in the order they were queued, each after the one before is done
     * (the NET_RX softirq's backlog), the sink told {@link PacketSink#packetDone} after each.
     *
     * @throws IllegalArgumentException when the host has no such interface
     */
    public void receive(String ifname, MemorySegment frame, boolean ethernet, long nowNanos, Trace trace) {
        Interface in = interfaces().get(ifname);
        if (in == null) {
            throw new IllegalArgumentException("no interface " + ifname + " on the host");
        }
        boolean outermost = !draining;
        Slot s = enter(nowNanos, trace);
        inSoftirq = true;
        try {
            expireFragments(s);
            if (in.master != null) {
                s.bridgeReceive(in, frame, ethernet);
            } else {
                s.receive(in, frame, ethernet);
            }
        } finally {
            leave();
        }
        if (outermost) {
            runBacklog();
        }
    }

    /**
     * A datagram the host itself sends (a raw socket with IP_HDRINCL; {@code jnf replay}'s {@code @local}): the
     * output route, OUTPUT, POSTROUTING, out by an interface or back in by lo. Sent from a process: a packet it loops
     * back is received at once, as bottom halves are enabled again after lo's transmit; sent from
     * {@link PacketSink#packetDone} (a socket answering in the softirq), it waits in the backlog.
     *
     * @throws IllegalArgumentException when it is not an IPv4 or IPv6 datagram of at least a header's length
     */
    public void sendLocal(MemorySegment ipPacket, long nowNanos, Trace trace) {
        sendLocal(ipPacket, nowNanos, trace, -1, -1);
    }

    /**
     * {@link #sendLocal(MemorySegment, long, Trace)} from a socket of a local process with these credentials
     * (fsuid, fsgid): what xt_owner matches, LOG --log-uid prints and NFLOG sends as UID/GID. -1, -1: no
     * socket (the kernel's own packets, as the three-argument form).
     */
    public void sendLocal(MemorySegment ipPacket, long nowNanos, Trace trace, long uid, long gid) {
        sendLocal(ipPacket, nowNanos, trace, uid, gid, 0);
    }

    /**
     * {@link #sendLocal(MemorySegment, long, Trace, long, long)} of an IPv4 datagram whose header carries options the
     * local stack built ({@code ipv4Options}: {@link Ipv4Options#built}, what ip_options_build leaves in IPCB(skb)->opt;
     * 0 for none): an ICMP error about it (REJECT in OUTPUT) echoes them, as Linux's does.
     */
    public void sendLocal(MemorySegment ipPacket, long nowNanos, Trace trace, long uid, long gid, int ipv4Options) {
        sendLocal(ipPacket, nowNanos, trace, uid, gid, ipv4Options, false);
    }

    /**
     * {@link #sendLocal(MemorySegment, long, Trace, long, long, int)} of a TCP or UDP datagram whose transport
     * checksum a socket left to the device ({@code checksumOffloaded}: CHECKSUM_PARTIAL, as Linux's UDP and TCP
     * sockets leave it on a device with checksum offload, veth among them). The datagram is given with its checksum
     * complete, as the device will write it; what Linux does to the partial sum on the way shows: an ICMP error
     * quoting the datagram quotes the pseudo-header's sum, and nf_nat_snmp_basic's rewrite leaves the checksum of
     * the message before it ({@link org.jnetfilter.core.nat.HelperNat#snmp}).
     */
    public void sendLocal(MemorySegment ipPacket, long nowNanos, Trace trace, long uid, long gid, int ipv4Options,
            boolean checksumOffloaded) {
        long n = ipPacket.byteSize();
        int version = n == 0 ? 0 : Byte.toUnsignedInt(ipPacket.get(ValueLayout.JAVA_BYTE, 0)) >>> 4;
        if (version == 4 ? n < Ipv4Header.MIN_LENGTH : version != 6 || n < Ipv6Header.LENGTH) {
            throw new IllegalArgumentException("not an IPv4 or IPv6 datagram (" + n + " bytes, version " + version + ")");
        }
        if (n > MAX_DATAGRAM) {
            throw new IllegalArgumentException("datagram of " + n + " bytes: more than " + MAX_DATAGRAM);
        }
        boolean outermost = !draining;
        Slot s = enter(nowNanos, trace);
        inSoftirq = !outermost;
        try {
            expireFragments(s);
            trace.sentLocally(ipPacket);
            s.ownerUid = uid;
            s.ownerGid = gid;
            s.localOptions = version == 4 ? ipv4Options : 0;
            s.checksumPartial = checksumOffloaded;
            s.sendLocal(ipPacket, version == 4 ? Family.IPV4 : Family.IPV6);
        } finally {
            leave();
        }
        if (outermost) {
            runBacklog();
        }
    }

    /** The looped-back packets one received or sent packet may cause before the rest are dropped (traced). */
    public static final int MAX_LOOPED_BACK = Backlog.MAX_BACKLOG;

    /**
     * How many times a packet's looped-back packets ran past {@link #MAX_LOOPED_BACK} (a copy that keeps coming back
     * to its TEE: Linux would go on for ever), since this datapath was made.
     */
    public long backlogOverflows() {
        return backlogOverflows;
    }

    /**
     * net_rx_action after the packet of an outermost {@link #receive} or {@link #sendLocal}: the sink's packetDone,
     * then each looped-back packet in turn, as a reception on lo, and packetDone after it. Linux would go on for ever
     * with a TEE copy that comes back to the TEE (a gateway of this host's in PREROUTING): a call stops after
     * {@link Backlog#MAX_BACKLOG} such packets and drops the rest (traced), where Linux goes on.
     */
    private void runBacklog() {
        draining = true;
        inSoftirq = true;
        try {
            sink.packetDone();
            int budget = Backlog.MAX_BACKLOG;
            Backlog.Entry e;
            while ((e = backlog.poll()) != null) {
                if (budget-- == 0) {
                    backlogOverflows++;
                    e.trace.dropped(DropReason.CPU_BACKLOG);
                    backlog.recycle(e);
                    backlog.clear();
                    break;
                }
                Slot s = enter(e.nowNanos, e.trace);
                try {
                    s.fromBacklog(e);
                } finally {
                    leave();
                    backlog.recycle(e);
                }
                sink.packetDone();
            }
        } finally {
            backlog.clear();
            draining = false;
            inSoftirq = false;
        }
    }

    /**
     * process_backlog run where bottom halves are enabled again in a process's send: the looped-back packets, nested
     * in the send on the next buffer, in the softirq (what they loop back waits its turn in the same run).
     */
    private void runBacklogNested() {
        if (depth + 1 >= MAX_DEPTH) {
            return;
        }
        inSoftirq = true;
        try {
            Backlog.Entry e;
            while ((e = backlog.poll()) != null) {
                depth++;
                try {
                    Slot s = slot(depth);
                    s.prepare(e.nowNanos, e.trace);
                    s.fromBacklog(e);
                } finally {
                    depth--;
                    backlog.recycle(e);
                }
            }
        } finally {
            inSoftirq = false;
        }
    }

    /**
     * ip_expire / ip6frag_expire_frag_queue for the queues whose time ran out: ICMP time exceeded (fragment
     * reassembly) from the first fragment when it had arrived; IPv4 conntrack reassembly only for datagrams to a
     * local address (frag_expire_skip_icmp). Uses slot 0 before the next packet is copied into it.
     */
    private void expireFragments(Slot s) {
        long now = s.pkt.nowNanos();
        if (localFragments) {
            for (Defrag.Expired e : localDefrag.expire(now)) {
                s.fragmentExpired(e, true);
            }
            localFragments = localDefrag.queues() > 0;
        }
        if (conntrackFragments) {
            boolean queued = false;
            for (Map.Entry<Family, Defrag> d : conntrackDefrag.entrySet()) {
                for (Defrag.Expired e : d.getValue().expire(now)) {
                    s.fragmentExpired(e, d.getKey() == Family.IPV6);
                }
                queued |= d.getValue().queues() > 0;
            }
            conntrackFragments = queued;
        }
    }

    private Slot enter(long nowNanos, Trace trace) {
        if (depth >= 0) {
            throw new IllegalStateException("receive/sendLocal called from inside the datapath (one packet thread)");
        }
        if (!draining) {
            // what a failure left queued
            backlog.clear();
        }
        depth = 0;
        Slot s = slot(0);
        s.prepare(nowNanos, trace);
        return s;
    }

    private void leave() {
        depth = -1;
    }

    private Slot slot(int d) {
        Slot s = slots[d];
        if (s == null) {
            s = new Slot();
            slots[d] = s;
        }
        return s;
    }

    /**
     * Sends a generated packet through ip_local_out on the next buffer, with the reply's mark and, as nf_ct_attach
     * does, attached to the original's connection as related (RELATED_REPLY when the original went in the
     * original direction).
     */
    private void sendGenerated(Slot from, String kind, Reply reply) {
        if (reply == null) {
            return;
        }
        MemorySegment datagram = reply.datagram();
        int relatedInfo = CtInfo.direction(from.pkt.ctInfo()) == 0 ? CtInfo.RELATED_REPLY : CtInfo.RELATED;
        // Linux: nf_send_reset leaves the IPv4 reset's checksum to be completed on the way out (CHECKSUM_PARTIAL);
        // nf_send_reset6 computes the IPv6 one whole
        boolean partial = kind.equals("REJECT") && reply.family() == Family.IPV4
                && datagram.get(ValueLayout.JAVA_BYTE, 9) == 6;
        sendGenerated(from.pkt, kind, datagram, reply.family(), reply.mark(), reply.relatedTo(), relatedInfo, partial);
    }

    /** ip_local_out of a generated datagram on the next buffer, attached to {@code ct} as {@code ctinfo} (or none). */
    private void sendGenerated(PacketContext from, String kind, MemorySegment datagram, Family family, long mark,
            Connection ct, int ctinfo, boolean checksumPartial) {
        if (depth + 1 >= MAX_DEPTH || datagram.byteSize() > MAX_DATAGRAM || datagram.byteSize() < Ipv4Header.MIN_LENGTH) {
            return;
        }
        Trace trace = from.trace();
        trace.generated(kind, datagram);
        depth++;
        try {
            Slot s = slot(depth);
            s.prepare(from.nowNanos(), trace);
            s.checksumPartial = checksumPartial;
            // Linux: icmp_send / icmpv6_send send from the namespace's ICMP control socket (a socket without a file,
            // as xt_owner sees it); nf_send_reset / nf_send_reset6 and SYNPROXY build their segments with no socket
            boolean icmp = datagram.get(ValueLayout.JAVA_BYTE, family == Family.IPV4 ? 9 : 6)
                    == (family == Family.IPV4 ? 1 : 58);
            s.ownerUid = icmp ? PacketContext.KERNEL_SOCKET : -1;
            s.ownerGid = s.ownerUid;
            s.localOut(datagram, family, false, mark, ct, ctinfo);
        } finally {
            depth--;
        }
    }

    // ---- the host as the path sees it ----

    /** An interface as the path needs it, snapshot of a {@link Link} and its sysctls. */
    static final class Interface {
        final String name;
        final int index;
        final long mac;
        final int mtu;
        final boolean up;
        final boolean loopback;
        final boolean forwarding;
        final boolean sendRedirects;
        final boolean sharedMedia;
        final IpNet[] subnets4;
        /** The bridge this interface is a port of, or null. */
        final String master;
        final boolean bridge;
        /** net.ipv6.conf.IF.ioam6_enabled, ioam6_id and ioam6_id_wide (see Ioam6Trace). */
        final boolean ioam6Enabled;
        final int ioam6Id;
        final long ioam6IdWide;

        Interface(Host host, Link l) {
            name = l.name();
            master = l.master();
            bridge = l.bridge();
            index = l.index();
            mac = l.mac();
            mtu = l.mtu();
            up = l.up();
            loopback = l.isLoopback();
            forwarding = host.sysctlLong("net.ipv4.conf." + l.name() + ".forwarding") != 0;
            sendRedirects = host.sendRedirects(l.name());
            // Linux: IN_DEV_SHARED_MEDIA, conf.all or the interface's (both 1 by default)
            sharedMedia = host.sysctlLong("net.ipv4.conf.all.shared_media") != 0
                    || host.sysctlLong("net.ipv4.conf." + l.name() + ".shared_media") != 0;
            subnets4 = l.addresses(Family.IPV4).stream().map(InterfaceAddress::network).toArray(IpNet[]::new);
            ioam6Enabled = host.sysctlLong("net.ipv6.conf." + l.name() + ".ioam6_enabled") != 0;
            ioam6Id = (int) host.sysctlLong("net.ipv6.conf." + l.name() + ".ioam6_id");
            ioam6IdWide = host.sysctlLong("net.ipv6.conf." + l.name() + ".ioam6_id_wide");
        }

        boolean onLink(long address) {
            for (IpNet n : subnets4) {
                if (n.contains(0, address)) {
                    return true;
                }
            }
            return false;
        }

        /** inet_addr_onlink: one subnet of the interface holds both {@code a} and {@code b} (b 0: a alone). */
        boolean onLinkTogether(long a, long b) {
            for (IpNet n : subnets4) {
                if (n.contains(0, a) && (b == 0 || n.contains(0, b))) {
                    return true;
                }
            }
            return false;
        }
    }

    private Map<String, Interface> interfaces() {
        long v = host.version();
        if (v != viewVersion) {
            Map<String, Interface> m = new HashMap<>();
            Map<String, Bridge> bridges = new HashMap<>();
            for (Link l : host.links()) {
                m.put(l.name(), new Interface(host, l));
                if (l.bridge()) {
                    bridges.put(l.name(), new Bridge(host, l, bridgeByName.get(l.name())));
                }
            }
            interfaceByName = m;
            bridgeByName = bridges;
            viewVersion = v;
        }
        return interfaceByName;
    }

    private static final class RouteCacheEntry {
        final long version;
        final Family family;
        final long dstHi;
        final long dstLo;
        final long srcHi;
        final long srcLo;
        final long mark;
        final int iif;
        final RouteDecision decision;

        RouteCacheEntry(long version, Family family, long dstHi, long dstLo, long srcHi, long srcLo, long mark, int iif,
                RouteDecision decision) {
            this.version = version;
            this.family = family;
            this.dstHi = dstHi;
            this.dstLo = dstLo;
            this.srcHi = srcHi;
            this.srcLo = srcLo;
            this.mark = mark;
            this.iif = iif;
            this.decision = decision;
        }
    }

    private static int cacheIndex(Family f, long dstHi, long dstLo, long srcHi, long srcLo, long mark, int iif) {
        long h = dstLo * 0x9E3779B97F4A7C15L + dstHi;
        h = (h ^ (h >>> 29)) * 0xBF58476D1CE4E5B9L + srcLo;
        h = (h ^ (h >>> 31)) * 0x94D049BB133111EBL + srcHi + mark * 31 + iif * 131 + f.ordinal();
        h ^= h >>> 32;
        return (int) h & (ROUTE_CACHE_SIZE - 1);
    }

    /**
     * The route decision for a packet: input from {@code in} (null: output, a locally sent packet), cached per
     * (family, addresses, mark, input interface) while the host is unchanged.
     */
    RouteDecision route(Family f, long dstHi, long dstLo, long srcHi, long srcLo, long mark, Interface in) {
        interfaces();
        int iif = in == null ? 0 : in.index;
        int i = cacheIndex(f, dstHi, dstLo, srcHi, srcLo, mark, iif);
        RouteCacheEntry e = routeCache[i];
        if (e != null && e.version == viewVersion && e.family == f && e.dstLo == dstLo && e.dstHi == dstHi
                && e.srcLo == srcLo && e.srcHi == srcHi && e.mark == mark && e.iif == iif) {
            return e.decision;
        }
        RouteDecision d = in == null ? lookupOutput(f, dstHi, dstLo, srcHi, srcLo, mark)
                : lookupInput(f, dstHi, dstLo, srcHi, srcLo, mark, in);
        routeCache[i] = new RouteCacheEntry(viewVersion, f, dstHi, dstLo, srcHi, srcLo, mark, iif, d);
        return d;
    }

    private static IpAddress address(Family f, long hi, long lo) {
        return new IpAddress(f, hi, lo);
    }

    private RouteDecision lookupInput(Family f, long dstHi, long dstLo, long srcHi, long srcLo, long mark, Interface in) {
        IpAddress dst = address(f, dstHi, dstLo);
        IpAddress src = address(f, srcHi, srcLo);
        if (f == Family.IPV4 && dst.isMulticast()) {
            // Linux: ip_route_input_noref: a group this interface joined is delivered, others need multicast routing
            if (dstLo == ALL_HOSTS && !src.isMulticast() && !src.isLimitedBroadcast()) {
                return new RouteDecision(RouteDecision.Kind.MULTICAST, null, 0, null, null, 0, false);
            }
            return new RouteDecision(RouteDecision.Kind.ERROR, null, RouteResult.EINVAL, null, null, 0, false);
        }
        if (f == Family.IPV6 && dst.isMulticast()) {
            return new RouteDecision(RouteDecision.Kind.MULTICAST, null, 0, null, null, 0, false);
        }
        RouteResult r = host.lookup(f, dst, src, mark, in.name, null);
        if (r.isError()) {
            return new RouteDecision(RouteDecision.Kind.ERROR, r, r.errno(), null, null, 0, false);
        }
        switch (r.type()) {
            case LOCAL, ANYCAST -> {
                return new RouteDecision(RouteDecision.Kind.LOCAL, r, 0, null, null, 0, false);
            }
            case BROADCAST -> {
                return new RouteDecision(RouteDecision.Kind.BROADCAST, r, 0, null, null, 0, false);
            }
            case MULTICAST -> {
                return new RouteDecision(RouteDecision.Kind.MULTICAST, r, 0, null, null, 0, false);
            }
            case UNICAST -> {
                Interface out = interfaceByName.get(r.dev());
                IpAddress nextHop = r.gateway() != null ? r.gateway() : dst;
                boolean redirect = redirects(f, in, out, srcLo, r.gateway());
                return new RouteDecision(RouteDecision.Kind.FORWARD, r, 0, out, nextHop, host.neighbourMac(nextHop),
                        redirect);
            }
            default -> {
                return new RouteDecision(RouteDecision.Kind.ERROR, r, RouteResult.EINVAL, null, null, 0, false);
            }
        }
    }

    /**
     * Whether a packet forwarded from {@code in} to {@code out} earns a redirect. IPv4: __mkroute_input sets
     * IPSKB_DOREDIRECT when it goes back out where it came from, the interface sends redirects, the source is
     * on-link (fib_validate_source returned 1) and either the medium is shared (shared_media, 1 by default) or one
     * subnet of the interface holds both the source and the gateway (inet_addr_onlink). IPv6: ip6_forward only asks
     * that it leave by the interface it came in on (the rest is ndisc_send_redirect's, {@link Replies#redirect6}).
     */
    private static boolean redirects(Family f, Interface in, Interface out, long srcLo, IpAddress gateway) {
        if (out.index != in.index) {
            return false;
        }
        if (f == Family.IPV6) {
            return true;
        }
        return in.sendRedirects && in.onLink(srcLo)
                && (in.sharedMedia || in.onLinkTogether(srcLo, gateway == null ? 0 : gateway.lo()));
    }

    private RouteDecision lookupOutput(Family f, long dstHi, long dstLo, long srcHi, long srcLo, long mark) {
        IpAddress dst = address(f, dstHi, dstLo);
        IpAddress src = srcHi == 0 && srcLo == 0 ? null : address(f, srcHi, srcLo);
        RouteResult r = host.lookup(f, dst, src, mark, null, null);
        if (r.isError()) {
            return new RouteDecision(RouteDecision.Kind.ERROR, r, r.errno(), null, null, 0, false);
        }
        Interface out = interfaceByName.get(r.dev());
        if (r.type() == RouteType.LOCAL || r.type() == RouteType.ANYCAST && out != null && out.loopback) {
            return new RouteDecision(RouteDecision.Kind.LOCAL, r, 0, interfaceByName.get("lo"), null, 0, false);
        }
        if (dst.isMulticast()) {
            return new RouteDecision(RouteDecision.Kind.MULTICAST, r, 0, out, dst, multicastMac(dst), false);
        }
        if (r.type() == RouteType.BROADCAST) {
            return new RouteDecision(RouteDecision.Kind.BROADCAST, r, 0, out, dst, EthernetHeader.BROADCAST, false);
        }
        IpAddress nextHop = r.gateway() != null ? r.gateway() : dst;
        return new RouteDecision(RouteDecision.Kind.OUTPUT, r, 0, out, nextHop, host.neighbourMac(nextHop), false);
    }

    /** Linux: ip_eth_mc_map (01:00:5e + low 23 bits) and ipv6_eth_mc_map (33:33 + low 32 bits). */
    static long multicastMac(IpAddress group) {
        if (group.family() == Family.IPV4) {
            return 0x01005E000000L | (group.lo() & 0x7FFFFF);
        }
        return 0x333300000000L | (group.lo() & 0xFFFFFFFFL);
    }

    /**
     * Slices of one buffer handed to the sink and the trace, remembered by (offset, length) in a small direct-mapped
     * table: a steady stream of packets of a few sizes gets them without allocating.
     */
    static final class Views {
        private final MemorySegment buffer;
        private final MemorySegment[] viewByKey = new MemorySegment[1024];

        Views(MemorySegment buffer) {
            this.buffer = buffer;
        }

        MemorySegment of(long offset, int length) {
            int i = (int) ((length * 31 + offset) & (viewByKey.length - 1));
            MemorySegment v = viewByKey[i];
            if (v == null || v.byteSize() != length || v.address() != buffer.address() + offset) {
                v = buffer.asSlice(offset, length);
                viewByKey[i] = v;
            }
            return v;
        }
    }

    // ---- one packet buffer and what the path knows of its packet ----

    /**
     * A buffer with its packet: the bytes at {@link #HEADROOM} (the Ethernet header goes before), the packet's
     * context, its input interface and route. Slot 0 holds received and locally sent packets; the next ones hold
     * packets generated while handling them.
     */
    final class Slot implements Rerouting {
        final MemorySegment buffer = MemorySegment.ofArray(new byte[HEADROOM + MAX_DATAGRAM + 1]);
        final Views views = new Views(buffer);
        final PacketContext pkt = new PacketContext();
        /** What a packet made from another slot's carries over from it (the broadcast clone's skb_clone). */
        final KeptPacketState kept = new KeptPacketState();
        final Ipv4Header ip4 = new Ipv4Header();
        final Ipv6Header ip6 = new Ipv6Header();
        Interface in;
        RouteDecision route;
        /** The reassembly that made the packet (frag_max_size, the fragments' sizes), or null. */
        Defrag.Result reassembled;
        /** The packet is a TEE copy sharing {@link #reassembled}'s fragments with the original (pskb_copy). */
        boolean fragmentsShared;
        /** The received datagram's IPv4 options (valid while {@link #hasOptions}). */
        final Ipv4Options options = new Ipv4Options();
        boolean hasOptions;
        /** The credentials of the socket sending the next localOut datagram, -1 for none. */
        long ownerUid = -1;
        /** The options state of the datagram sendLocal was given (IPCB(skb)->opt as ip_options_build left it), or 0. */
        int localOptions;
        /** The next localOut's packet has a partial transport checksum (PacketContext#transportChecksumPartial). */
        boolean checksumPartial;
        long ownerGid = -1;

        Slot() {
            ip4.wrap(buffer, HEADROOM);
            ip6.wrap(buffer, HEADROOM);
            pkt.rerouting(this);
        }

        void prepare(long nowNanos, Trace trace) {
            pkt.nowNanos(nowNanos).trace(trace).logSink(logSink).nflogSink(nflogSink).random(random).host(host).walker(walker)
                    .conntrackTable(conntrackTable);
            in = null;
            route = null;
            reassembled = null;
            fragmentsShared = false;
        }

        MemorySegment datagram() {
            return views.of(HEADROOM, pkt.length());
        }

        // ---- receive ----

        void receive(Interface in, MemorySegment frame, boolean isEthernet) {
            Trace trace = pkt.trace();
            long n = frame.byteSize();
            long ipAt = 0;
            int type = PacketContext.PACKET_HOST;
            long macSource = -1;
            Family family;
            if (isEthernet) {
                if (n < EthernetHeader.LENGTH) {
                    trace.received(in.name, frame, type);
                    trace.dropped(DropReason.PKT_TOO_SMALL);
                    return;
                }
                ethernet.wrap(frame, 0);
                long dst = ethernet.destination();
                // Linux: eth_type_trans
                if (EthernetHeader.isMulticast(dst)) {
                    type = dst == EthernetHeader.BROADCAST ? PacketContext.PACKET_BROADCAST
                            : PacketContext.PACKET_MULTICAST;
                } else if (dst != in.mac) {
                    type = PacketContext.PACKET_OTHERHOST;
                }
                macSource = ethernet.source();
                int etherType = ethernet.etherType();
                trace.received(in.name, frame, type);
                if (etherType == EthernetHeader.ETH_P_ARP) {
                    trace.dropped(DropReason.ARP_NOT_ANSWERED);
                    return;
                }
                if (etherType == EthernetHeader.ETH_P_IP) {
                    family = Family.IPV4;
                } else if (etherType == EthernetHeader.ETH_P_IPV6) {
                    family = Family.IPV6;
                } else {
                    trace.dropped(DropReason.UNHANDLED_PROTO);
                    return;
                }
                ipAt = EthernetHeader.LENGTH;
            } else {
                trace.received(in.name, frame, type);
                int version = n == 0 ? 0 : Byte.toUnsignedInt(frame.get(ValueLayout.JAVA_BYTE, 0)) >>> 4;
                if (version == 4) {
                    family = Family.IPV4;
                } else if (version == 6) {
                    family = Family.IPV6;
                } else {
                    trace.dropped(n == 0 ? DropReason.PKT_TOO_SMALL : DropReason.UNHANDLED_PROTO);
                    return;
                }
            }
            if (!in.up) {
                trace.dropped(DropReason.DEV_READY);
                return;
            }
            long ipLength = n - ipAt;
            if (ipLength > MAX_DATAGRAM + 1) {
                trace.dropped(DropReason.TOO_BIG_FOR_BUFFER);
                return;
            }
            // the link-layer header stays in front of the IP header, as skb_mac_header: LOG prints MAC= from it
            MemorySegment.copy(frame, 0, buffer, HEADROOM - ipAt, ipLength + ipAt);
            ipReceive(in, family, type, macSource, ipLength);
        }

        /** ip_rcv / ipv6_rcv on the bytes at HEADROOM. */
        void ipReceive(Interface in, Family family, int type, long macSource, long bufferLength) {
            Trace trace = pkt.trace();
            if (type == PacketContext.PACKET_OTHERHOST) {
                trace.dropped(DropReason.OTHERHOST);
                return;
            }
            ReceiveResult r = family == Family.IPV4 ? ipReceive.ipv4(buffer, HEADROOM, bufferLength)
                    : ipReceive.ioamEnabled(in.ioam6Enabled).ipv6(buffer, HEADROOM, bufferLength, in.loopback);
            if (!r.accepted()) {
                if (family == Family.IPV6 && ipReceive.problemPointer() >= 0) {
                    hopByHopParameterProblem(in, type, macSource, bufferLength);
                }
                trace.dropped(DropReason.of(r));
                return;
            }
            if (ipReceive.length() > MAX_DATAGRAM) {
                trace.dropped(DropReason.TOO_BIG_FOR_BUFFER);
                return;
            }
            int length = (int) ipReceive.length();
            if (family == Family.IPV4) {
                pkt.ipv4(buffer, HEADROOM, length);
            } else {
                pkt.ipv6(buffer, HEADROOM, length);
            }
            pkt.inInterface(in.name).packetType(type).macSource(macSource);
            this.in = in;
            this.route = null;
            if (family == Family.IPV6 && ipReceive.ioamTraces() > 0) {
                ioamTraces();
            }
            preRouting();
        }

        /**
         * ipv6_hop_ioam for the pre-allocated traces IpReceive found (ioam6_enabled on the input interface): each one
         * of a namespace this host knows gets this node's data ({@link Ioam6Trace}); the input route is taken first
         * (ip6_route_input) and kept, as the skb keeps its dst through PREROUTING (a NAT that changes the destination
         * drops it).
         */
        private void ioamTraces() {
            org.jnetfilter.core.host.Ioam6 ioam = host.ioam6();
            MemorySegment s = pkt.segment();
            long ip = pkt.networkOffset();
            for (int i = 0; i < ipReceive.ioamTraces(); i++) {
                long trace = ip + ipReceive.ioamTraceAt(i);
                org.jnetfilter.core.host.Ioam6.Namespace ns = ioam.namespace(Ioam6Trace.namespaceId(s, trace));
                if (ns == null) {
                    continue;
                }
                if (route == null) {
                    route = route(Family.IPV6, pkt.destinationHi(), pkt.destinationLo(), pkt.sourceHi(),
                            pkt.sourceLo(), pkt.mark(), in);
                }
                Interface out = route.kind() == RouteDecision.Kind.FORWARD ? interfaces().get(route.egress()) : null;
                Ioam6Trace.fill(s, trace, ip + pkt.length(), ns, in, out, pkt.networkU8(7),
                        host.sysctlLong("net.ipv6.ioam6_id"), host.sysctlLong("net.ipv6.ioam6_id_wide"),
                        pkt.nowNanos());
            }
        }

        /**
         * ip6_rcv_core's hop-by-hop options asked for a parameter problem (ip6_tlvopt_unknown for an unknown option
         * whose high bits are 10, or 11 to a unicast address; ipv6_hop_jumbo for a jumbo value): icmpv6_param_prob
         * sends it before PREROUTING, as a locally generated packet through OUTPUT and POSTROUTING, rate-limited as
         * the other ICMPv6 errors (IcmpErrors also lets one about an unrecognised 10 option answer a multicast).
         */
        private void hopByHopParameterProblem(Interface in, int type, long macSource, long bufferLength) {
            // Linux: the error quotes the datagram as it arrived (Payload Length trimmed when it fits)
            int payloadLength = buffer.get(ValueLayout.JAVA_BYTE, HEADROOM + 4) << 8 & 0xFF00
                    | buffer.get(ValueLayout.JAVA_BYTE, HEADROOM + 5) & 0xFF;
            long n = payloadLength != 0 && Ipv6Header.LENGTH + payloadLength <= bufferLength
                    ? Ipv6Header.LENGTH + payloadLength : bufferLength;
            pkt.ipv6(buffer, HEADROOM, (int) Math.min(n, MAX_DATAGRAM));
            pkt.inInterface(in.name).packetType(type).macSource(macSource);
            this.in = in;
            this.route = null;
            icmpError("ICMPv6 parameter problem", ICMPV6_PARAMPROB, ipReceive.problemCode(),
                    ipReceive.problemPointer());
        }

        void preRouting() {
            long dstHi = pkt.destinationHi();
            long dstLo = pkt.destinationLo();
            if (!preRoutingAccepted()) {
                return;
            }
            RouteDecision d = route;
            if (d == null || dstHi != pkt.destinationHi() || dstLo != pkt.destinationLo()) {
                // the input route; a looped-back packet keeps its output route unless PREROUTING changed its
                // destination (NAT drops the dst then)
                d = route(pkt.family(), pkt.destinationHi(), pkt.destinationLo(), pkt.sourceHi(), pkt.sourceLo(),
                        pkt.mark(), in);
            }
            routeReceived(d);
        }

        /** NF_INET_PRE_ROUTING on the packet: false when a hook ended it (dropped, stolen), else it is reparsed. */
        private boolean preRoutingAccepted() {
            pkt.outInterface("").routeMtu(0);
            hasOptions = false;
            int v = netfilter.run(Hook.PREROUTING, pkt);
            if (v != Verdict.ACCEPT) {
                finish(v);
                return false;
            }
            pkt.reparse();
            return true;
        }

        /** ip_rcv_finish after PREROUTING: the input route {@code d} taken, the options, then where it goes. */
        void routeReceived(RouteDecision d) {
            pkt.trace().routed(Hook.PREROUTING, d);
            route = d;
            // Linux: ip_rcv_finish_core: the options after a route was found (a martian has none: dropped first)
            if (pkt.family() == Family.IPV4 && ip4.headerLength() > Ipv4Header.MIN_LENGTH
                    && !(d.kind() == RouteDecision.Kind.ERROR && d.errno() == RouteResult.EINVAL)) {
                d = receiveOptions(d);
                if (d == null) {
                    return;
                }
                route = d;
            }
            switch (d.kind()) {
                case LOCAL, BROADCAST, MULTICAST -> localDeliver();
                case FORWARD -> {
                    if (pkt.family() == Family.IPV4) {
                        forward4(d);
                    } else {
                        forward6(d);
                    }
                }
                case ERROR -> inputRouteError(d);
                case OUTPUT -> throw new IllegalStateException("output route on input: " + d);
            }
        }

        /**
         * ip_rcv_options ({@link Ipv4Options}): the route the datagram goes on with (a followed source route's), null
         * when it was dropped (a parameter problem sent for bad options; a refused source route).
         */
        private RouteDecision receiveOptions(RouteDecision d) {
            hasOptions = true;
            int pointer = options.compile(pkt.segment(), pkt.networkOffset(), ip4.headerLength(), () -> specDst(d),
                    pkt.nowNanos(), host);
            pkt.ipv4Options(options.state);
            if (pointer != Ipv4Options.OK) {
                icmpError("ICMP parameter problem", ICMP_PARAMETERPROB, 0, pointer << 24);
                pkt.trace().dropped(DropReason.IP_INHDR);
                return null;
            }
            if (options.sourceRoute != 0) {
                // Linux: IN_DEV_SOURCE_ROUTE, both net.ipv4.conf.all and the interface's (all is 0 by default)
                if (host.sysctlLong("net.ipv4.conf.all.accept_source_route") == 0
                        || host.sysctlLong("net.ipv4.conf." + in.name + ".accept_source_route") == 0) {
                    pkt.trace().dropped(DropReason.SOURCE_ROUTE);
                    return null;
                }
                return followSourceRoute(d);
            }
            return d;
        }

        /**
         * ip_options_rcv_srr for an accepted source route. A datagram not for this host goes on by its route when the
         * route is loose, and is answered parameter problem (pointing at the destination address, 16) when strict.
         * One for this host takes the addresses from the option's pointer on: each is routed as an input from the
         * same interface; a local one becomes the destination at once and the next is taken ("superfast loopback
         * forward", the pointer left for ip_forward_options), the first that is not local is the next hop, its route
         * the datagram's; a route that is neither local nor unicast drops the datagram silently, an entry cut short
         * sends parameter problem at the option's pointer byte. A route used up (pointer past the option) leaves the
         * datagram to local delivery. Anything but PACKET_HOST, or a route neither local nor forwarding, is dropped.
         */
        private RouteDecision followSourceRoute(RouteDecision d) {
            Trace trace = pkt.trace();
            int at = options.sourceRoute;
            if (pkt.packetType() != PacketContext.PACKET_HOST) {
                trace.dropped(DropReason.SOURCE_ROUTE_FAILED);
                return null;
            }
            if (d.kind() == RouteDecision.Kind.FORWARD) {
                if (pkt.networkU8(at) != Ipv4Options.IPOPT_SSRR) {
                    return d;
                }
                // Linux: a strict route's hop must be this host: the destination address is the problem
                icmpError("ICMP parameter problem", ICMP_PARAMETERPROB, 0, Ipv4Header.DESTINATION << 24);
                trace.dropped(DropReason.SOURCE_ROUTE_FAILED);
                return null;
            }
            if (d.kind() != RouteDecision.Kind.LOCAL) {
                trace.dropped(DropReason.SOURCE_ROUTE_FAILED);
                return null;
            }
            int length = pkt.networkU8(at + 1);
            int ptr = pkt.networkU8(at + 2);
            RouteDecision next = d;
            int hop = 0;
            for (; ptr <= length; ptr += 4) {
                if (ptr + 3 > length) {
                    icmpError("ICMP parameter problem", ICMP_PARAMETERPROB, 0, (at + 2) << 24);
                    trace.dropped(DropReason.SOURCE_ROUTE_FAILED);
                    return null;
                }
                hop = (pkt.networkU16(at + ptr - 1) << 16) | pkt.networkU16(at + ptr + 1);
                next = route(Family.IPV4, 0, Integer.toUnsignedLong(hop), pkt.sourceHi(), pkt.sourceLo(), pkt.mark(),
                        in);
                if (next.kind() != RouteDecision.Kind.FORWARD && next.kind() != RouteDecision.Kind.LOCAL) {
                    trace.dropped(DropReason.SOURCE_ROUTE_FAILED);
                    return null;
                }
                if (next.kind() != RouteDecision.Kind.LOCAL) {
                    break;
                }
                ip4.destination(hop);
                options.changed = true;
            }
            if (ptr <= length) {
                options.sourceRouteHit = true;
                options.nextHop = hop;
                options.changed = true;
            }
            pkt.reparse();
            trace.routed(Hook.PREROUTING, next);
            return next;
        }

        /** ip_rt_get_source: the preferred source of the route out toward the current destination. */
        private int egressSource(RouteDecision d) {
            RouteResult out = host.lookup(Family.IPV4, IpAddress.ipv4((int) pkt.destinationLo()), null, pkt.mark(),
                    null, d.egress());
            return out.isError() || out.source() == null ? 0 : (int) out.source().lo();
        }

        /** fib_compute_spec_dst: a local datagram's destination, else the preferred source toward its sender. */
        private int specDst(RouteDecision d) {
            if (d.kind() == RouteDecision.Kind.LOCAL || d.kind() == RouteDecision.Kind.BROADCAST
                    || d.kind() == RouteDecision.Kind.MULTICAST) {
                return (int) pkt.destinationLo();
            }
            RouteResult back = host.lookup(Family.IPV4, IpAddress.ipv4((int) pkt.sourceLo()), null, 0, null, null);
            if (!back.isError() && back.source() != null) {
                return (int) back.source().lo();
            }
            // Linux: inet_select_addr(dev, saddr, RT_SCOPE_LINK); the interface's first address here
            for (var a : host.link(in.name).addresses(Family.IPV4)) {
                return (int) a.address().lo();
            }
            return 0;
        }

        /**
         * ip_forward_options: after FORWARD, the record route entry, a followed source route (the destination becomes
         * the next hop, which POSTROUTING sees) and the checksum of a changed header.
         */
        private void forwardOptions(RouteDecision d) {
            if (options.recordRoute >= 0) {
                options.forward(egressSource(d));
            }
            if (options.sourceRouteHit) {
                int destination = ip4.destination();
                ip4.destination(options.nextHop);
                if (options.forwardSourceRoute(egressSource(d)) != 0) {
                    pkt.reparse();
                    pkt.trace().rewritten("source route followed");
                } else {
                    ip4.destination(destination);
                }
            }
            if (options.changed) {
                options.changed = false;
                ip4.updateChecksum();
                pkt.trace().rewritten("IP options recorded");
            }
        }

        /** ip_error (IPv4) and ip6_pkt_discard / ip6_pkt_prohibit / dst_discard (IPv6). */
        void inputRouteError(RouteDecision d) {
            Trace trace = pkt.trace();
            RouteType type = d.type();
            if (pkt.family() == Family.IPV6) {
                if (type == RouteType.BLACKHOLE) {
                    trace.dropped(DropReason.BLACKHOLE);
                    return;
                }
                boolean prohibit = type == RouteType.PROHIBIT;
                icmpError(prohibit ? "ICMPv6 administratively prohibited" : "ICMPv6 no route", ICMPV6_DEST_UNREACH,
                        prohibit ? ICMPV6_ADM_PROHIBITED : ICMPV6_NOROUTE, 0);
                trace.dropped(prohibit ? DropReason.PROHIBITED : DropReason.IP_INNOROUTES);
                return;
            }
            if (d.errno() == RouteResult.EINVAL) {
                trace.dropped(type == RouteType.BLACKHOLE ? DropReason.BLACKHOLE
                        : d.result() == null ? (IpAddress.ipv4((int) pkt.destinationLo()).isMulticast()
                                ? DropReason.NOT_MULTICAST_MEMBER : DropReason.IP_INVALID_SOURCE)
                        : martian() ? DropReason.IP_INVALID_SOURCE : DropReason.IP_RPFILTER);
                return;
            }
            if (!in.forwarding) {
                // Linux: ip_error on an interface without forwarding counts and drops, no ICMP
                trace.dropped(d.errno() == RouteResult.ENETUNREACH ? DropReason.IP_INNOROUTES
                        : DropReason.IP_INADDRERRORS);
                return;
            }
            int code = switch (d.errno()) {
                case RouteResult.EHOSTUNREACH -> ICMP_HOST_UNREACH;
                case RouteResult.ENETUNREACH -> ICMP_NET_UNREACH;
                case RouteResult.EACCES -> ICMP_PKT_FILTERED;
                default -> -1;
            };
            // Linux: ip_error's limit is its source's inet_peer, which the ICMP errors sent to that address share
            if (code >= 0 && !replies.ipErrorAllowed(pkt)) {
                trace.dropped(code == ICMP_NET_UNREACH ? DropReason.IP_INNOROUTES
                        : code == ICMP_PKT_FILTERED ? DropReason.PROHIBITED : DropReason.IP_INADDRERRORS);
                return;
            }
            switch (d.errno()) {
                case RouteResult.EHOSTUNREACH -> {
                    icmpError("ICMP host unreachable", ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0);
                    trace.dropped(DropReason.IP_INADDRERRORS);
                }
                case RouteResult.ENETUNREACH -> {
                    icmpError("ICMP net unreachable", ICMP_DEST_UNREACH, ICMP_NET_UNREACH, 0);
                    trace.dropped(DropReason.IP_INNOROUTES);
                }
                case RouteResult.EACCES -> {
                    icmpError("ICMP communication administratively prohibited", ICMP_DEST_UNREACH,
                            ICMP_PKT_FILTERED, 0);
                    trace.dropped(DropReason.PROHIBITED);
                }
                default -> trace.dropped(DropReason.IP_INADDRERRORS);
            }
        }

        /** The martian checks of ip_route_input_slow (before fib_validate_source). */
        private boolean martian() {
            IpAddress src = IpAddress.ipv4((int) pkt.sourceLo());
            IpAddress dst = IpAddress.ipv4((int) pkt.destinationLo());
            return src.isMulticast() || src.isLimitedBroadcast() || src.isAny() || dst.isAny() || src.isLoopback()
                    || dst.isLoopback();
        }

        /** ip_local_deliver / ip6_input: INPUT, then the local stack. */
        void localDeliver() {
            pkt.outInterface("").routeMtu(0);
            if (pkt.family() == Family.IPV4 && (pkt.networkU16(6) & 0x3FFF) != 0) {
                // Linux: ip_local_deliver reassembles before INPUT (already done when conntrack defragments)
                localFragments = true;
                Defrag.Result r = localDefrag.add(buffer, HEADROOM, pkt.length(), pkt.nowNanos(),
                        IP_DEFRAG_LOCAL_DELIVER, in.name);
                switch (r.outcome()) {
                    case QUEUED -> {
                        pkt.trace().stolen();
                        return;
                    }
                    case DROPPED -> {
                        pkt.trace().dropped(DropReason.FRAGMENT_DROPPED);
                        return;
                    }
                    case REASSEMBLED -> {
                        pkt.replace(r.datagram());
                        pkt.trace().rewritten("reassembled");
                    }
                    default -> {
                    }
                }
            }
            int v = netfilter.run(Hook.INPUT, pkt);
            if (v != Verdict.ACCEPT) {
                finish(v);
                return;
            }
            if (pkt.family() == Family.IPV6 && !routingHeaders6()) {
                return;
            }
            MemorySegment d = datagram();
            pkt.trace().deliveredLocally(in.name, d);
            // Linux: IPCB(skb)->opt goes up with the datagram: the local stack's answers echo it
            sink.deliverLocal(in.name, d, pkt.family() == Family.IPV4 ? pkt.ipv4Options() : 0);
        }

        /**
         * ip6_input_finish after INPUT, as far as destination options and routing headers go: each header in turn
         * ({@link #destinationOptions6}, ipv6_rthdr_rcv), and true means the datagram goes on to the local stack. A routing header cut short is dropped (InHdrErrors), so is one of a
         * datagram to a multicast address or not PACKET_HOST. Type 4 (segment routing) is the SRH's
         * ({@link #segmentRouting6}); any other type (0 is deprecated, 2 needs Mobile IPv6 which this kernel lacks, 3
         * RPL likewise) passes with no segments left and otherwise is answered parameter problem pointing at its type
         * (checked on Linux 6.18).
         */
        private boolean routingHeaders6() {
            int next = pkt.networkU8(6);
            int at = Ipv6Header.LENGTH;
            if (next == Ipv6Header.NEXTHDR_HOP) {
                if (at + 2 > pkt.length()) {
                    return true;
                }
                next = pkt.networkU8(at);
                at += (pkt.networkU8(at + 1) + 1) << 3;
            }
            while (at + 2 <= pkt.length()) {
                if (next == Ipv6Header.NEXTHDR_DEST) {
                    if (!destinationOptions6(at)) {
                        return false;
                    }
                    next = pkt.networkU8(at);
                    at += (pkt.networkU8(at + 1) + 1) << 3;
                    continue;
                }
                if (next != Ipv6Header.NEXTHDR_ROUTING) {
                    return true;
                }
                int length = (pkt.networkU8(at + 1) + 1) << 3;
                if (at + 8 > pkt.length() || at + length > pkt.length()) {
                    pkt.trace().dropped(DropReason.IP_INHDR);
                    return false;
                }
                if (address(Family.IPV6, pkt.destinationHi(), pkt.destinationLo()).isMulticast()
                        || pkt.packetType() != PacketContext.PACKET_HOST) {
                    pkt.trace().dropped(DropReason.IP_INADDRERRORS);
                    return false;
                }
                int type = pkt.networkU8(at + 2);
                if (type == IPV6_SRCRT_TYPE_4) {
                    if (!segmentRouting6(at)) {
                        return false;
                    }
                } else if (pkt.networkU8(at + 3) != 0) {
                    icmpError("ICMPv6 parameter problem", ICMPV6_PARAMPROB, ICMPV6_HDR_FIELD, at + 2);
                    pkt.trace().dropped(DropReason.IP_INHDR);
                    return false;
                }
                next = pkt.networkU8(at);
                at += length;
            }
            return true;
        }

        /**
         * ipv6_destopt_rcv / ip6_parse_tlv for the destination options header at {@code at}: false when the datagram
         * was dropped. The option walk is the hop-by-hop one ({@link IpReceive#options}) with at most
         * max_dst_opts_number (8) options in a header of at most max_dst_opts_length bytes and no option known (the home address one needs Mobile IPv6): unknown
         * options by their two high bits, parameter problem for 10 and (unless multicast) 11. Checked on Linux 6.18. A
         * header cut short or malformed: dropped (InHdrErrors).
         */
        private boolean destinationOptions6(int at) {
            ReceiveResult r = ipReceive.options(pkt.segment(), pkt.networkOffset(), at, pkt.length(), false,
                    host.sysctlLong("net.ipv6.max_dst_opts_number"), host.sysctlLong("net.ipv6.max_dst_opts_length"),
                    0);
            if (r == ReceiveResult.OK) {
                return true;
            }
            if (ipReceive.problemPointer() >= 0) {
                icmpError("ICMPv6 parameter problem", ICMPV6_PARAMPROB, ipReceive.problemCode(),
                        ipReceive.problemPointer());
            }
            pkt.trace().dropped(DropReason.of(r));
            return false;
        }

        /**
         * ipv6_srh_rcv for the segment routing header at {@code at}: true when no segments are left (the datagram goes
         * on). Unless seg6_enabled is on for all and the input interface (off by default) it is dropped silently;
         * segments left beyond the list: parameter problem at the segments-left field; else segments left goes down by
         * one, that segment becomes the destination and is routed as an input: a local one is taken at once (hop limit
         * 1: time exceeded, else one less), any other goes by its route (ip6_forward, FORWARD, POSTROUTING: checked on
         * Linux 6.18, after INPUT saw it), an error route as ip6_pkt_discard answers. With no segments left and an
         * inner IPv6 or IPv4 packet, it is decapsulated ({@link #decapsulate}: both on Linux 6.18, the IPv4 one's
         * mark kept too); any other next header goes on to the local stack. Not modelled: the HMAC TLV (seg6_require_hmac).
         */
        private boolean segmentRouting6(int at) {
            Trace trace = pkt.trace();
            if (host.sysctlLong("net.ipv6.conf.all.seg6_enabled") == 0
                    || host.sysctlLong("net.ipv6.conf." + in.name + ".seg6_enabled") == 0) {
                trace.dropped(DropReason.SEG6_DISABLED);
                return false;
            }
            while (true) {
                int segmentsLeft = pkt.networkU8(at + 3);
                if (segmentsLeft == 0) {
                    int inner = pkt.networkU8(at);
                    if (inner == Ipv6Header.NEXTHDR_IPV6 || inner == IPPROTO_IPIP) {
                        decapsulate(at + ((pkt.networkU8(at + 1) + 1) << 3),
                                inner == IPPROTO_IPIP ? Family.IPV4 : Family.IPV6);
                        return false;
                    }
                    return true;
                }
                if (segmentsLeft >= pkt.networkU8(at + 1) >> 1) {
                    icmpError("ICMPv6 parameter problem", ICMPV6_PARAMPROB, ICMPV6_HDR_FIELD, at + 3);
                    trace.dropped(DropReason.IP_INHDR);
                    return false;
                }
                segmentsLeft--;
                int segment = at + 8 + 16 * segmentsLeft;
                MemorySegment seg = pkt.segment();
                long hi = seg.get(U64, pkt.networkOffset() + segment);
                long lo = seg.get(U64, pkt.networkOffset() + segment + 8);
                seg.set(ValueLayout.JAVA_BYTE, pkt.networkOffset() + at + 3, (byte) segmentsLeft);
                seg.set(U64, pkt.networkOffset() + Ipv6Header.DESTINATION, hi);
                seg.set(U64, pkt.networkOffset() + Ipv6Header.DESTINATION + 8, lo);
                pkt.reparse();
                trace.rewritten("segment routing: next segment");
                RouteDecision d = route(Family.IPV6, hi, lo, pkt.sourceHi(), pkt.sourceLo(), pkt.mark(), in);
                trace.routed(Hook.INPUT, d);
                route = d;
                switch (d.kind()) {
                    case LOCAL -> {
                        if (pkt.networkU8(7) <= 1) {
                            icmpError("ICMPv6 time exceeded", ICMPV6_TIME_EXCEED, ICMPV6_EXC_HOPLIMIT, 0);
                            trace.dropped(DropReason.TTL_EXPIRED);
                            return false;
                        }
                        seg.set(ValueLayout.JAVA_BYTE, pkt.networkOffset() + 7, (byte) (pkt.networkU8(7) - 1));
                    }
                    case FORWARD -> {
                        forward6(d);
                        return false;
                    }
                    case ERROR -> {
                        inputRouteError(d);
                        return false;
                    }
                    default -> {
                        localDeliver();
                        return false;
                    }
                }
            }
        }

        /**
         * ipv6_srh_rcv's decapsulation at the last segment: the inner IPv6 or IPv4 packet at {@code innerAt} (the
         * outer header and its extension headers pulled) goes back to netif_rx on the device the outer one came in by,
         * after __skb_tunnel_rx scrubbed it (skb_scrub_packet within the namespace: conntrack entry and nftrace bit
         * dropped, PACKET_HOST; the mark, priority and secmark stay). It is queued on the backlog, so it meets
         * ipv6_rcv's checks and PREROUTING on that device once the outer packet is done; the outer one ends here.
         */
        private void decapsulate(int innerAt, Family family) {
            Trace trace = pkt.trace();
            trace.rewritten("segment routing: decapsulated (last segment)");
            Backlog.Entry e = backlog.offer(views.of(HEADROOM + innerAt, pkt.length() - innerAt), family, in.name,
                    pkt.nowNanos(), trace);
            if (e == null) {
                trace.dropped(DropReason.CPU_BACKLOG);
                return;
            }
            e.state.keep(pkt).scrubbed();
            e.route = null;
        }

        // ---- forwarding ----

        /** ip_forward. */
        void forward4(RouteDecision d) {
            Trace trace = pkt.trace();
            if (pkt.packetType() != PacketContext.PACKET_HOST) {
                trace.dropped(DropReason.NOT_PACKET_HOST);
                return;
            }
            if (ip4.ttl() <= 1) {
                icmpError("ICMP time exceeded", ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0);
                trace.dropped(DropReason.TTL_EXPIRED);
                return;
            }
            if (hasOptions && options.sourceRoute != 0 && pkt.networkU8(options.sourceRoute) == Ipv4Options.IPOPT_SSRR
                    && d.result().gateway() != null) {
                // Linux: ip_forward, a strict source route permits no gateway
                icmpError("ICMP source route failed", ICMP_DEST_UNREACH, ICMP_SR_FAILED, 0);
                trace.dropped(DropReason.SOURCE_ROUTE_FAILED);
                return;
            }
            // Linux: ip_exceeds_mtu: longer than the MTU with DF set (a reassembled packet is judged by its
            // largest fragment, frag_max_size, which is not kept here)
            if (pkt.length() > d.mtu() && ip4.dontFragment()
                    && (reassembled == null || reassembled.fragMaxSize() > d.mtu())) {
                icmpError("ICMP fragmentation needed", ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, d.mtu());
                trace.dropped(DropReason.PKT_TOO_BIG);
                return;
            }
            ip4.decrementTtl();
            trace.rewritten("ttl decremented");
            // Linux: no redirect for a source routed datagram (!opt->srr)
            if (d.redirects() && !(hasOptions && options.sourceRoute != 0)) {
                IpAddress gw = d.nextHop();
                icmpError("ICMP redirect", ICMP_REDIRECT, ICMP_REDIR_HOST, (int) gw.lo());
            }
            // Linux: net.ipv4.ip_forward_update_priority = 1
            pkt.priority(TOS_TO_PRIORITY[(ip4.tos() & 0x1E) >>> 1]);
            forwardHook(d);
        }

        /** ip6_forward. */
        void forward6(RouteDecision d) {
            Trace trace = pkt.trace();
            if (!host.ipv6Forwarding()) {
                trace.dropped(DropReason.IPV6_FORWARDING_DISABLED);
                return;
            }
            if (pkt.packetType() != PacketContext.PACKET_HOST) {
                trace.dropped(DropReason.NOT_PACKET_HOST);
                return;
            }
            if (ip6.hopLimit() <= 1) {
                icmpError("ICMPv6 time exceeded", ICMPV6_TIME_EXCEED, ICMPV6_EXC_HOPLIMIT, 0);
                trace.dropped(DropReason.TTL_EXPIRED);
                return;
            }
            if (!redirectOrCheckSource6(d)) {
                return;
            }
            int mtu = Math.max(d.mtu(), IPV6_MIN_MTU);
            // Linux: ip6_pkt_too_big: a reassembled packet (ignore_df) is judged by its largest fragment
            if (pkt.length() > mtu && (reassembled == null || reassembled.fragMaxSize() > mtu)) {
                icmpError("ICMPv6 packet too big", ICMPV6_PKT_TOOBIG, 0, mtu);
                trace.dropped(DropReason.PKT_TOO_BIG);
                return;
            }
            ip6.hopLimit(ip6.hopLimit() - 1);
            trace.rewritten("hop limit decremented");
            forwardHook(d);
        }

        /**
         * ip6_forward before the MTU check: a packet leaving by the interface it came in on gets a redirect (to the
         * route's gateway, or to the destination when on-link) and goes on; any other is refused when its source is
         * unspecified, multicast or loopback, and answered with destination unreachable "beyond scope of source
         * address" when its source is link-local. False when the packet was dropped.
         */
        private boolean redirectOrCheckSource6(RouteDecision d) {
            if (d.redirects()) {
                IpAddress target = d.result().gateway() != null ? d.result().gateway()
                        : address(Family.IPV6, pkt.destinationHi(), pkt.destinationLo());
                sendGenerated(this, "ICMPv6 redirect", replies.redirect6(pkt, target));
                return true;
            }
            // the source's address type (ipv6_addr_type), read without making an address
            long hi = pkt.sourceHi();
            long lo = pkt.sourceLo();
            if (hi == 0 && (lo == 0 || lo == 1) || hi >>> 56 == 0xFF) {
                pkt.trace().dropped(DropReason.IP_INADDRERRORS);
                return false;
            }
            if (hi >>> 54 == 0xFE80L >>> 6) {
                icmpError("ICMPv6 beyond scope of source address", ICMPV6_DEST_UNREACH, ICMPV6_NOT_NEIGHBOUR, 0);
                pkt.trace().dropped(DropReason.IP_INADDRERRORS);
                return false;
            }
            return true;
        }

        private void forwardHook(RouteDecision d) {
            pkt.outInterface(d.egress()).routeMtu(d.mtu());
            int v = netfilter.run(Hook.FORWARD, pkt);
            if (v != Verdict.ACCEPT) {
                finish(v);
                return;
            }
            if (hasOptions && pkt.family() == Family.IPV4) {
                forwardOptions(d);
            }
            postRouting();
        }

        // ---- local output ----

        void sendLocal(MemorySegment datagram, Family family) {
            localOut(datagram, family, true, 0, null, 0);
        }

        /** ip_local_out for a datagram not yet in the buffer; {@code raw}: as raw_send_hdrinc fixes the header. */
        void localOut(MemorySegment datagram, Family family, boolean raw, long mark, Connection related,
                int relatedInfo) {
            Trace trace = pkt.trace();
            int n = (int) datagram.byteSize();
            MemorySegment.copy(datagram, 0, buffer, HEADROOM, n);
            in = null;
            route = null;
            if (family == Family.IPV4) {
                if (raw) {
                    // Linux: raw_send_hdrinc sets the total length and the checksum, and a zero ID by ip_select_ident
                    // without a socket: left 0 when DF is set, else drawn (dut's own TCP resets carry ID 0)
                    ip4.totalLength(n);
                    if (ip4.identification() == 0 && !ip4.dontFragment()) {
                        ip4.identification(random.nextInt(1 << 16));
                    }
                }
                pkt.ipv4(buffer, HEADROOM, Math.min(n, Math.max(ip4.totalLength(), ip4.headerLength())));
            } else {
                if (raw) {
                    ip6.payloadLength(n - Ipv6Header.LENGTH);
                }
                pkt.ipv6(buffer, HEADROOM, n);
            }
            pkt.mark(mark);
            // only the datagram sendLocal was given has the socket; what the path generates has none
            pkt.socket(ownerUid, ownerGid);
            if (family == Family.IPV4) {
                pkt.ipv4Options(localOptions);
            }
            localOptions = 0;
            pkt.transportChecksumPartial(checksumPartial);
            checksumPartial = false;
            ownerUid = -1;
            ownerGid = -1;
            if (related != null) {
                pkt.conntrack(related, relatedInfo);
            }
            RouteDecision d = route(family, pkt.destinationHi(), pkt.destinationLo(), pkt.sourceHi(), pkt.sourceLo(),
                    pkt.mark(), null);
            trace.routed(Hook.OUTPUT, d);
            if (d.kind() == RouteDecision.Kind.ERROR) {
                trace.dropped(DropReason.IP_OUTNOROUTES);
                return;
            }
            boolean fixChecksum = raw;
            if (pkt.sourceHi() == 0 && pkt.sourceLo() == 0 && d.result().source() != null) {
                IpAddress src = d.result().source();
                if (family == Family.IPV4) {
                    ip4.source((int) src.lo());
                    fixChecksum = true;
                } else {
                    ip6.source(src.hi(), src.lo());
                }
                trace.rewritten("source address selected");
            }
            if (family == Family.IPV4 && fixChecksum) {
                ip4.updateChecksum();
            }
            pkt.reparse();
            output(d);
        }

        /** __ip_local_out / __ip6_local_out on route {@code d}: OUTPUT, then ip_output (POSTROUTING). */
        void output(RouteDecision d) {
            route = d;
            pkt.inInterface("").outInterface(d.egress()).routeMtu(d.mtu());
            int v = netfilter.run(Hook.OUTPUT, pkt);
            if (v != Verdict.ACCEPT) {
                finish(v);
                return;
            }
            postRouting();
        }

        @Override
        public RouteDecision heldRoute(PacketContext p) {
            return route;
        }

        @Override
        public boolean reroute(PacketContext p) {
            p.reparse();
            RouteDecision d = route(p.family(), p.destinationHi(), p.destinationLo(), p.sourceHi(), p.sourceLo(),
                    p.mark(), null);
            p.trace().routed(Hook.POSTROUTING, d);
            if (d.kind() == RouteDecision.Kind.ERROR) {
                return false;
            }
            route = d;
            return true;
        }

        @Override
        public void duplicate(PacketContext p, long gwHi, long gwLo, String oif) {
            if (duplicating || depth + 1 >= MAX_DEPTH) {
                return;
            }
            MemorySegment copy = datagram();
            Trace trace = p.trace();
            trace.generated("TEE", copy);
            duplicating = true;
            depth++;
            try {
                Slot s = slot(depth);
                s.prepare(p.nowNanos(), trace);
                s.duplicateOut(copy, p.family(), p.mark(), p.packetType(), p.hook(), gwHi, gwLo, oif, reassembled);
            } finally {
                depth--;
                duplicating = false;
            }
            // Linux: nf_dup_ipv4 / nf_dup_ipv6 enable bottom halves again after nf_skb_duplicated is cleared: in a
            // process's send a copy looped back is received there (and may be copied again); in the softirq it waits
            if (!inSoftirq) {
                runBacklogNested();
            }
        }

        /**
         * nf_dup_ipv4 / nf_dup_ipv6 for the copy in {@code datagram} (refragmented as the original was when netfilter
         * reassembled it): untracked; IPv4 gets DF, and in PREROUTING and
         * INPUT the TTL (hop limit) goes down by one; routed to the gateway as a known next hop (FLOWI_FLAG_KNOWN_NH:
         * the frame goes to the gateway, or to the route's own gateway when it is not on-link), then ip_local_out:
         * OUTPUT, POSTROUTING, the neighbour. No route: the copy is freed.
         */
        void duplicateOut(MemorySegment datagram, Family family, long mark, int packetType, Hook hook, long gwHi,
                long gwLo, String oif, Defrag.Result reassembledOriginal) {
            Trace trace = pkt.trace();
            int n = (int) datagram.byteSize();
            MemorySegment.copy(datagram, 0, buffer, HEADROOM, n);
            in = null;
            route = null;
            // Linux: pskb_copy keeps the reassembled original's IPCB frag_max_size and shares its fragment list
            // (skb_clone_fraglist), so the copy is refragmented on the slow path (see refragment; DF as nf_dup_ipv4
            // set it is not kept)
            reassembled = reassembledOriginal;
            fragmentsShared = reassembledOriginal != null;
            boolean early = hook == Hook.PREROUTING || hook == Hook.INPUT;
            if (family == Family.IPV4) {
                ip4.dontFragment(true);
                if (early) {
                    ip4.ttl((ip4.ttl() - 1) & 0xFF);
                }
                // Linux: ip_local_out recomputes the header checksum
                ip4.updateChecksum();
                pkt.ipv4(buffer, HEADROOM, n);
            } else {
                if (early) {
                    ip6.hopLimit((ip6.hopLimit() - 1) & 0xFF);
                }
                pkt.ipv6(buffer, HEADROOM, n);
            }
            // Linux: pskb_copy keeps pkt_type: a copy of a broadcast is a broadcast to pkttype in OUTPUT and POSTROUTING
            pkt.mark(mark).packetType(packetType).untracked(true);
            Interface via = oif.isEmpty() ? null : interfaces().get(oif);
            RouteDecision d = via == null ? route(family, gwHi, gwLo, 0, 0, mark, null)
                    : duplicateRoute(family, gwHi, gwLo, mark, via);
            if (d == null) {
                trace.dropped(DropReason.IP_OUTNOROUTES);
                return;
            }
            trace.routed(Hook.OUTPUT, d);
            if (d.kind() == RouteDecision.Kind.ERROR) {
                trace.dropped(DropReason.IP_OUTNOROUTES);
                return;
            }
            output(d);
        }

        /** SYNPROXY's synproxy_send_tcp: mark 0, the checksum left partial (CHECKSUM_PARTIAL). */
        @Override
        public void localOut(PacketContext p, MemorySegment datagram, Connection ct, int ctinfo) {
            sendGenerated(p, "SYNPROXY", datagram, p.family(), 0, ct, ctinfo, true);
        }

        /**
         * The copy's route with TEE's --oif (flowi oif, FLOWI_FLAG_KNOWN_NH), as Linux 6.18 routes it (checked in
         * namespaces): a device that is down gives no route (ENETUNREACH: no copy). IPv4: lo makes the copy local
         * (out by lo, back in, delivered whatever its destination); a route to the gateway through the device is
         * taken as without --oif; without one, ip_route_output takes the gateway as on-link through the device,
         * a route without a next hop of its own, so the neighbour is the copy's own destination (Linux resolves
         * that address on the device, not the gateway's). IPv6: only a route through the device (RT6_LOOKUP_F_IFACE);
         * none gives no copy. Null: no route. An absent device is not asked for: xt_TEE leaves the oif unset (-1)
         * until a device of that name registers.
         */
        private RouteDecision duplicateRoute(Family family, long gwHi, long gwLo, long mark, Interface via) {
            if (!via.up) {
                return null;
            }
            IpAddress gw = address(family, gwHi, gwLo);
            RouteResult r = host.lookup(family, gw, null, mark, null, via.name);
            if (r.isError()) {
                return null;
            }
            if (family == Family.IPV4 && via.loopback) {
                return new RouteDecision(RouteDecision.Kind.LOCAL, r, 0, via, null, 0, false);
            }
            Interface out = interfaces().get(r.dev());
            if (out == null || r.type() != RouteType.UNICAST) {
                return null;
            }
            IpAddress nextHop = r.gateway() != null ? r.gateway()
                    : r.route() == null ? address(family, pkt.destinationHi(), pkt.destinationLo()) : gw;
            return new RouteDecision(RouteDecision.Kind.OUTPUT, r, 0, out, nextHop, host.neighbourMac(nextHop), false);
        }

        @Override
        public int reverseMtu(PacketContext p) {
            RouteDecision d = route(p.family(), p.sourceHi(), p.sourceLo(), 0, 0, 0, null);
            return d.kind() == RouteDecision.Kind.ERROR ? 0 : d.out == null ? 0 : d.out.mtu;
        }

        // ---- leaving ----

        /** ip_output / ip6_output: POSTROUTING by the route's device, then ip_finish_output. */
        void postRouting() {
            RouteDecision d = route;
            // Linux: ip_mc_output loops back whatever leaves by a broadcast route (RTCF_BROADCAST), whoever sent it: a
            // TEE copy is routed to its gateway (ip_output, no loopback) but one whose mark, TOS or address mangle
            // OUTPUT changed is routed again by its destination (ip_route_me_harder), a broadcast one to a broadcast
            // route, and is looped back too (Linux 6.18, difftest seed 11 case 11000199)
            if (in == null && d.kind() == RouteDecision.Kind.BROADCAST && pkt.family() == Family.IPV4
                    && d.out != null && !d.out.loopback) {
                loopBroadcast(d);
            }
            pkt.outInterface(d.egress()).routeMtu(d.mtu());
            int v = netfilter.run(Hook.POSTROUTING, pkt);
            if (v != Verdict.ACCEPT) {
                finish(v);
                return;
            }
            finishOutput();
        }

        /**
         * ip_mc_output for a packet this host sends to a broadcast address by a device other than lo: a clone of it
         * goes through POSTROUTING by that device first ({@link #broadcastCopy}), then the original goes on. The
         * clone comes back in by netif_rx; sent from a process (bottom halves enabled again in netif_rx), it is
         * received at once, before the original reaches POSTROUTING; in the softirq it waits in the backlog.
         */
        private void loopBroadcast(RouteDecision d) {
            if (depth + 1 >= MAX_DEPTH) {
                return;
            }
            MemorySegment copy = datagram();
            PacketContext original = pkt;
            depth++;
            try {
                Slot s = slot(depth);
                s.prepare(original.nowNanos(), original.trace());
                s.broadcastCopy(copy, original, d);
            } finally {
                depth--;
            }
            if (!inSoftirq && !duplicating) {
                runBacklogNested();
            }
        }

        /**
         * The clone ip_mc_output makes of a broadcast ({@code datagram}, the state of {@code original} kept, no socket:
         * skb_clone leaves the owner out): POSTROUTING with OUT = the route's device, then ip_mc_finish_output's
         * dev_loopback_xmit: netif_rx on that device with pkt_type PACKET_LOOPBACK (a broadcast to pkttype) and the
         * checksum taken as verified, the output route kept (it delivers locally: PREROUTING and INPUT with IN = that
         * device, then the local stack). Checked on Linux 6.18: POSTROUTING counts the clone and the original, the
         * mark and the conntrack entry come along.
         */
        void broadcastCopy(MemorySegment datagram, PacketContext original, RouteDecision d) {
            Trace trace = pkt.trace();
            int n = (int) datagram.byteSize();
            MemorySegment.copy(datagram, 0, buffer, HEADROOM, n);
            kept.keep(original);
            pkt.ipv4(buffer, HEADROOM, n);
            kept.applyTo(pkt);
            in = null;
            route = d;
            reassembled = null;
            trace.generated("broadcast looped back", datagram());
            pkt.inInterface("").outInterface(d.egress()).routeMtu(d.mtu());
            int v = netfilter.run(Hook.POSTROUTING, pkt);
            if (v != Verdict.ACCEPT) {
                finish(v);
                return;
            }
            trace.loopedBack(datagram());
            Backlog.Entry e = backlog.offer(datagram(), Family.IPV4, d.egress(), pkt.nowNanos(), trace);
            if (e == null) {
                trace.dropped(DropReason.CPU_BACKLOG);
                return;
            }
            e.state.keep(pkt).receivedOnLoopback();
            // Linux: dev_loopback_xmit: PACKET_LOOPBACK, CHECKSUM_UNNECESSARY
            e.state.packetType = PacketContext.PACKET_LOOPBACK;
            e.state.checksumVerified = true;
            e.route = d;
        }

        /** ip_finish_output / ip6_finish_output: lo, fragmentation, the neighbour. */
        void finishOutput() {
            RouteDecision d = route;
            Trace trace = pkt.trace();
            if (d.kind() == RouteDecision.Kind.LOCAL) {
                loopback();
                return;
            }
            int mtu = d.mtu();
            if (reassembled != null) {
                refragment(d);
                return;
            }
            if (pkt.length() > mtu) {
                if (pkt.family() == Family.IPV6) {
                    if (in == null) {
                        // Linux: ip6_fragment of a local socket's packet (ignore_df): a Fragment header per piece
                        // of at most the MTU (the Fragmenter's slow path with the MTU as the largest piece)
                        int pieces = Math.max(mtu, IPV6_MIN_MTU);
                        Fragmenter.Output o = Fragmenter.ipv6(MemorySegment.ofArray(datagram().toArray(
                                ValueLayout.JAVA_BYTE)), pieces, pieces, null, random.nextInt());
                        if (o.tooBig()) {
                            trace.dropped(DropReason.PKT_TOO_BIG);
                            return;
                        }
                        trace.rewritten("fragmented");
                        for (MemorySegment f : o.fragments()) {
                            MemorySegment.copy(f, 0, fragmentBuffer, HEADROOM, f.byteSize());
                            transmit(d, fragmentBuffer, HEADROOM, (int) f.byteSize());
                        }
                    } else {
                        // a forwarded packet POSTROUTING made longer: ip6_fragment refuses it
                        icmpError("ICMPv6 packet too big", ICMPV6_PKT_TOOBIG, 0, Math.max(mtu, IPV6_MIN_MTU));
                        trace.dropped(DropReason.PKT_TOO_BIG);
                    }
                    return;
                }
                if (ip4.dontFragment()) {
                    // Linux: ip_fragment with DF: fragmentation needed to the sender (this host for its own packets)
                    icmpError("ICMP fragmentation needed", ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu);
                    trace.dropped(DropReason.PKT_TOO_BIG);
                    return;
                }
                fragment(d);
                return;
            }
            transmit(d, buffer, HEADROOM, pkt.length());
        }

        private void transmit(RouteDecision d, MemorySegment buf, long ipAt, int length) {
            long frameAt = ipAt - EthernetHeader.LENGTH;
            ethernet.wrap(buf, frameAt);
            ethernet.destination(d.nextHopMac).source(frameSource >= 0 ? frameSource : d.out.mac)
                    .etherType(pkt.family() == Family.IPV4 ? EthernetHeader.ETH_P_IP : EthernetHeader.ETH_P_IPV6);
            MemorySegment frame = (buf == buffer ? views : fragmentViews).of(frameAt, length + EthernetHeader.LENGTH);
            if (d.out.bridge) {
                bridgeTransmit(d.out, d.nextHopMac, frame);
                return;
            }
            if (frameSource >= 0 && vlanTag >= 0) {
                // Linux: a bridged copy leaves with the tag it came with (the skb's vlan_tci, br_nf_push_frag_xmit's
                // too): the addresses move down before it
                MemorySegment.copy(buf, frameAt, buf, frameAt - VLAN_HLEN, 12);
                buf.set(U32, frameAt + 12 - VLAN_HLEN, (int) vlanTag);
                frame = (buf == buffer ? views : fragmentViews).of(frameAt - VLAN_HLEN,
                        length + EthernetHeader.LENGTH + VLAN_HLEN);
            }
            pkt.trace().transmitted(d.egress(), frame);
            sink.transmit(d.egress(), frame);
        }

        /**
         * ip_do_fragment's slow path: each fragment carries the header (options that are not to be copied replaced by
         * NOPs after the first, ip_options_fragment) and up to (MTU - header) rounded down to 8 bytes of payload.
         */
        private void fragment(RouteDecision d) {
            Trace trace = pkt.trace();
            int hlen = ip4.headerLength();
            int total = pkt.length();
            int maxPayload = (d.mtu() - hlen) & ~7;
            if (maxPayload <= 0) {
                trace.dropped(DropReason.PKT_TOO_BIG);
                return;
            }
            trace.rewritten("fragmented");
            int word = ip4.flagsAndFragmentOffset();
            int baseOffset = (word & Ipv4Header.OFFSET_MASK) << 3;
            boolean moreAfter = (word & Ipv4Header.FLAG_MF) != 0;
            Ipv4Header f = new Ipv4Header().wrap(fragmentBuffer, HEADROOM);
            for (int at = hlen; at < total; at += maxPayload) {
                int payload = Math.min(maxPayload, total - at);
                MemorySegment.copy(buffer, HEADROOM, fragmentBuffer, HEADROOM, hlen);
                MemorySegment.copy(buffer, HEADROOM + at, fragmentBuffer, HEADROOM + hlen, payload);
                if (at > hlen) {
                    noCopyOptions(fragmentBuffer, HEADROOM, hlen);
                }
                boolean last = at + payload >= total;
                int offset = (baseOffset + at - hlen) >>> 3;
                f.totalLength(hlen + payload)
                        .flagsAndFragmentOffset((word & Ipv4Header.FLAG_RESERVED)
                                | (!last || moreAfter ? Ipv4Header.FLAG_MF : 0) | offset)
                        .updateChecksum();
                transmit(d, fragmentBuffer, HEADROOM, hlen + payload);
            }
        }

        /**
         * ip_fragment / ip6_fragment of a datagram netfilter reassembled: it leaves as the fragments it came in
         * (the fast path) unless a rule changed its payload (the kernel linearised it) or it is a TEE copy (its
         * fragments are shared): then the slow path at the largest fragment's size; fragmentation needed / packet
         * too big when its largest fragment exceeds the MTU with DF.
         */
        private void refragment(RouteDecision d) {
            Trace trace = pkt.trace();
            boolean ipv4 = pkt.family() == Family.IPV4;
            MemorySegment now = datagram();
            MemorySegment before = reassembled.datagram();
            int header = ipv4 ? ip4.headerLength() : Ipv6Header.LENGTH;
            // The kernel keeps the received fragments (the skb's frag_list) unless a rule wrote beyond the first
            // one: NAT rewrites ports and checksums in the head (the first fragment's data), which leaves the
            // fast path open (checked on Linux 6.18: SNAT of a fragmented datagram leaves as the fragments it came in)
            int[] geometry = reassembled.fragmentPayloads();
            int untouched = header + (geometry != null && geometry.length > 0 ? geometry[0] : 0);
            // Linux: a TEE copy's fragment list is the original's (skb_shared): ip_do_fragment / ip6_fragment leave
            // the fast path for the slow one, at the largest fragment's size (IPv6: at least IPV6_MIN_MTU, so a
            // small datagram's copy leaves whole, as one fragment of offset 0; Linux 6.18, difftest seed 42)
            boolean payloadKept = !fragmentsShared && before.byteSize() == now.byteSize() && untouched <= now.byteSize()
                    && MemorySegment.mismatch(before, untouched, before.byteSize(), now, untouched, now.byteSize()) < 0;
            Defrag.Result r = new Defrag.Result(Defrag.Outcome.REASSEMBLED, MemorySegment.ofArray(now.toArray(
                    ValueLayout.JAVA_BYTE)), reassembled.fragMaxSize(), reassembled.dontFragment(),
                    payloadKept ? reassembled.fragmentPayloads() : null);
            Fragmenter.Output o = Fragmenter.refragment(r, d.mtu(), ipv4, random.nextInt());
            if (o.tooBig()) {
                if (ipv4) {
                    icmpError("ICMP fragmentation needed", ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, o.tooBigMtu());
                } else {
                    icmpError("ICMPv6 packet too big", ICMPV6_PKT_TOOBIG, 0, o.tooBigMtu());
                }
                trace.dropped(DropReason.PKT_TOO_BIG);
                return;
            }
            if (o.fragments().size() > 1) {
                trace.rewritten("fragmented");
            }
            for (MemorySegment f : o.fragments()) {
                MemorySegment.copy(f, 0, fragmentBuffer, HEADROOM, f.byteSize());
                transmit(d, fragmentBuffer, HEADROOM, (int) f.byteSize());
            }
        }

        /** ip_expire: the error from the first fragment of a queue that timed out. */
        void fragmentExpired(Defrag.Expired e, boolean sendAlways) {
            MemorySegment first = e.first();
            if (first == null || first.byteSize() > MAX_DATAGRAM) {
                return;
            }
            MemorySegment.copy(first, 0, buffer, HEADROOM, first.byteSize());
            boolean ipv4 = e.family() == Family.IPV4;
            if (ipv4) {
                pkt.ipv4(buffer, HEADROOM, (int) first.byteSize());
            } else {
                pkt.ipv6(buffer, HEADROOM, (int) first.byteSize());
            }
            pkt.inInterface(e.inDevice()).packetType(PacketContext.PACKET_HOST);
            // Linux: ip_expire routes the head again by its addresses (ip_route_input_noref): no route of another
            // packet's is held here, so the error's source follows the head's destination
            route = null;
            if (!sendAlways && !host.isLocalAddress(new IpAddress(e.family(), pkt.destinationHi(),
                    pkt.destinationLo()))) {
                return;
            }
            if (ipv4) {
                icmpError("ICMP fragment reassembly time exceeded", ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0);
            } else {
                icmpError("ICMPv6 fragment reassembly time exceeded", ICMPV6_TIME_EXCEED, ICMPV6_EXC_FRAGTIME, 0);
            }
        }

        /** ip_options_fragment: options without the copied flag (0x80) become NOPs. */
        private static void noCopyOptions(MemorySegment s, long ip, int hlen) {
            int at = Ipv4Header.MIN_LENGTH;
            while (at < hlen) {
                int type = Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, ip + at));
                if (type == Ipv4Header.OPT_END) {
                    return;
                }
                if (type == Ipv4Header.OPT_NOOP) {
                    at++;
                    continue;
                }
                int len = at + 1 < hlen ? Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, ip + at + 1)) : 0;
                if (len < 2 || at + len > hlen) {
                    return;
                }
                if ((type & 0x80) == 0) {
                    for (int i = 0; i < len; i++) {
                        s.set(ValueLayout.JAVA_BYTE, ip + at + i, (byte) Ipv4Header.OPT_NOOP);
                    }
                }
                at += len;
            }
        }

        /**
         * Out by lo: loopback_xmit, then netif_rx queues it on the backlog with its mark, route and conntrack entry,
         * to be received on lo after the current packet ({@link Backlog}); sent from a process outside a TEE copy,
         * bottom halves enabled again after the transmit receive it at once.
         */
        private void loopback() {
            Trace trace = pkt.trace();
            MemorySegment datagram = datagram();
            trace.loopedBack(datagram);
            Backlog.Entry e = backlog.offer(datagram, pkt.family(), "lo", pkt.nowNanos(), trace);
            if (e == null) {
                trace.dropped(DropReason.CPU_BACKLOG);
                return;
            }
            // Linux: loopback_xmit hands the skb itself to netif_rx: every field goes with it (no skb_scrub_packet)
            e.state.keep(pkt).receivedOnLoopback();
            e.route = route;
            if (!inSoftirq && !duplicating) {
                runBacklogNested();
            }
        }

        /**
         * ip_rcv / ipv6_rcv for a packet of the backlog on the device netif_rx was given (lo for a looped-back one),
         * what the skb kept put back before PREROUTING.
         */
        void fromBacklog(Backlog.Entry e) {
            Interface dev = interfaces().get(e.device);
            e.copyTo(buffer, HEADROOM);
            pkt.trace().received(dev.name, views.of(HEADROOM, e.length), e.state.packetType);
            ReceiveResult r = e.family == Family.IPV4 ? ipReceive.ipv4(buffer, HEADROOM, e.length)
                    : ipReceive.ioamEnabled(dev.ioam6Enabled).ipv6(buffer, HEADROOM, e.length, dev.loopback);
            if (!r.accepted()) {
                pkt.trace().dropped(DropReason.of(r));
                return;
            }
            int n = (int) ipReceive.length();
            if (e.family == Family.IPV4) {
                pkt.ipv4(buffer, HEADROOM, n);
            } else {
                pkt.ipv6(buffer, HEADROOM, n);
            }
            pkt.inInterface(dev.name);
            e.state.applyTo(pkt);
            in = dev;
            route = e.route;
            if (e.family == Family.IPV6 && ipReceive.ioamTraces() > 0) {
                ioamTraces();
            }
            preRouting();
        }

        // ---- bridges: net/bridge br_input.c, br_forward.c, br_device.c, br_netfilter_hooks.c ----

        /** Linux: VLAN_HLEN, the 802.1Q tag is_skb_forwardable allows beyond the MTU. */
        private static final int VLAN_HLEN = 4;

        /**
         * The 802.1Q/802.1ad tag (TPID and TCI) of the bridged frame the hooks see untagged, put back on each copy
         * that leaves by a port; -1 for none.
         */
        private long vlanTag = -1;

        /** Whether {@code frame} carries one VLAN tag over IPv4/IPv6 that br_netfilter passes to the hooks. */
        private boolean taggedIpForHooks(Bridge br, MemorySegment frame) {
            ethernet.wrap(frame, 0);
            if (!ethernet.vlanTagged()) {
                return false;
            }
            // Linux: one tag only is taken off: a second one leaves the frame no IP (vlan_proto)
            int inner = (frame.get(U32, 14) & 0xFFFF);
            Family f = inner == EthernetHeader.ETH_P_IP ? Family.IPV4
                    : inner == EthernetHeader.ETH_P_IPV6 ? Family.IPV6 : null;
            return f != null && br.callsHooksTagged(f);
        }

        /** The Ethernet source a frame leaves with when it is not the egress device's own (a bridged frame's). */
        private long frameSource = -1;

        /**
         * A frame received on a port of a bridge (the port's rx_handler, br_handle_frame). The bridge admits it, then
         * br_netfilter (for IPv4 with bridge-nf-call-iptables or the bridge's nf_call_iptables, IPv6 likewise) checks it as ip_rcv does and
         * passes it to PREROUTING with IN = the bridge and the port recorded (physdev); a DNAT there re-routes it
         * (br_nf_pre_routing_finish): a new destination reached through the bridge keeps it on the bridge with the
         * new next hop's MAC, any other makes it go up to the host (the bridge's MAC, PACKET_HOST) and be routed.
         * Then the bridge learns its source and forwards it by its destination: to a port (FORWARD with IN and OUT
         * = the bridge, POSTROUTING with OUT = the bridge, both with the ports recorded), flooded (each port a copy
         * of the packet as PREROUTING left it), up to the host (INPUT or routed on; PREROUTING is not run again, as
         * ip_sabotage_in sees to), or several of these. Without br_netfilter (or for other protocols) the frame is
         * bridged as it came, and what goes up meets the hooks on the bridge device as any received packet.
         */
        void bridgeReceive(Interface port, MemorySegment frame, boolean isEthernet) {
            Trace trace = pkt.trace();
            Interface dev = interfaceByName.get(port.master);
            Bridge br = bridgeByName.get(port.master);
            long frameAt = HEADROOM - EthernetHeader.LENGTH;
            long n = frame.byteSize();
            if (isEthernet) {
                if (n < EthernetHeader.LENGTH || n - EthernetHeader.LENGTH > MAX_DATAGRAM + 1) {
                    trace.received(port.name, frame, PacketContext.PACKET_HOST);
                    trace.dropped(n < EthernetHeader.LENGTH ? DropReason.PKT_TOO_SMALL : DropReason.TOO_BIG_FOR_BUFFER);
                    return;
                }
                vlanTag = -1;
                if (br != null && n >= EthernetHeader.LENGTH + VLAN_HLEN && taggedIpForHooks(br, frame)) {
                    // Linux: __netif_receive_skb_core untags the frame (skb_vlan_untag keeps the tag beside the packet)
                    // and br_netfilter takes the IPv4/IPv6 inside with bridge-nf-filter-vlan-tagged (is_vlan_ip):
                    // the addresses move up over the tag, the datagram stays where the path expects it
                    MemorySegment.copy(frame, 0, buffer, frameAt - VLAN_HLEN, n);
                    vlanTag = Integer.toUnsignedLong(buffer.get(U32, frameAt + 12 - VLAN_HLEN));
                    MemorySegment.copy(buffer, frameAt - VLAN_HLEN, buffer, frameAt, 12);
                    n -= VLAN_HLEN;
                } else {
                    MemorySegment.copy(frame, 0, buffer, frameAt, n);
                }
            } else {
                vlanTag = -1;
                if (!frameDatagram(port, dev, frame)) {
                    return;
                }
                n += EthernetHeader.LENGTH;
            }
            ethernet.wrap(buffer, frameAt);
            long dst = ethernet.destination();
            long src = ethernet.source();
            int etherType = ethernet.etherType();
            // Linux: eth_type_trans on the port
            int type = EthernetHeader.isMulticast(dst) ? (dst == EthernetHeader.BROADCAST
                    ? PacketContext.PACKET_BROADCAST : PacketContext.PACKET_MULTICAST)
                    : dst == port.mac ? PacketContext.PACKET_HOST : PacketContext.PACKET_OTHERHOST;
            trace.received(port.name, isEthernet ? frame : views.of(frameAt, (int) n), type);
            if (!port.up || dev == null || !dev.up) {
                // Linux: the ports of a bridge that is down are disabled (br_handle_frame: BR_STATE_DISABLED)
                trace.dropped(DropReason.DEV_READY);
                return;
            }
            long now = pkt.nowNanos();
            Bridge.Port ingress = br.port(port.index);
            int admitted = br.admit(ingress, src, dst, now);
            if (admitted != 0) {
                trace.dropped(admitted == Bridge.DROP ? DropReason.BRIDGE_INVALID_FRAME
                        : admitted == Bridge.NOT_FORWARDING ? DropReason.BRIDGE_PORT_NOT_FORWARDING
                        : DropReason.BRIDGE_LINK_LOCAL);
                return;
            }
            if (dst == dev.mac) {
                // Linux: br_handle_frame: a frame to the bridge's own address is PACKET_HOST
                type = PacketContext.PACKET_HOST;
            }
            Family family = etherType == EthernetHeader.ETH_P_IP ? Family.IPV4
                    : etherType == EthernetHeader.ETH_P_IPV6 ? Family.IPV6 : null;
            boolean hooks = family != null && br.callsHooks(family);
            long ipLength = n - EthernetHeader.LENGTH;
            RouteDecision routed = null;
            if (hooks) {
                // Linux: br_nf_pre_routing: br_validate_ipv4 / br_validate_ipv6 (ip_rcv_core's checks, trimmed to the
                // datagram), setup_pre_routing (PACKET_OTHERHOST passed as PACKET_HOST), PREROUTING
                ReceiveResult r = family == Family.IPV4 ? ipReceive.ipv4(buffer, HEADROOM, ipLength)
                        : ipReceive.ipv6(buffer, HEADROOM, ipLength, false);
                if (!r.accepted() || ipReceive.length() > MAX_DATAGRAM) {
                    trace.dropped(r.accepted() ? DropReason.TOO_BIG_FOR_BUFFER : DropReason.of(r));
                    return;
                }
                if (family == Family.IPV4) {
                    pkt.ipv4(buffer, HEADROOM, (int) ipReceive.length());
                } else {
                    pkt.ipv6(buffer, HEADROOM, (int) ipReceive.length());
                }
                boolean otherhost = type == PacketContext.PACKET_OTHERHOST;
                pkt.inInterface(dev.name).physdev(port.name, "")
                        .packetType(otherhost ? PacketContext.PACKET_HOST : type).macSource(src);
                in = dev;
                route = null;
                long dstHi = pkt.destinationHi();
                long dstLo = pkt.destinationLo();
                if (!preRoutingAccepted()) {
                    return;
                }
                if (otherhost) {
                    pkt.packetType(PacketContext.PACKET_OTHERHOST);
                }
                if (dstHi != pkt.destinationHi() || dstLo != pkt.destinationLo()) {
                    RouteDecision d = bridgedDnatRoute(family, dev);
                    ethernet.wrap(buffer, frameAt);
                    if (d.kind() == RouteDecision.Kind.ERROR) {
                        trace.routed(Hook.PREROUTING, d);
                        trace.dropped(DropReason.IP_INNOROUTES);
                        return;
                    }
                    if (d.out == dev) {
                        // Linux: bridged DNAT: br_nf_pre_routing_finish_bridge gives the frame the neighbour's MAC
                        dst = d.nextHopMac;
                        ethernet.destination(dst);
                        trace.rewritten("destination MAC: the DNAT destination's, still bridged");
                    } else {
                        dst = dev.mac;
                        ethernet.destination(dst);
                        pkt.packetType(PacketContext.PACKET_HOST);
                        trace.rewritten("destination MAC: the bridge's, routed after DNAT");
                        routed = d;
                    }
                }
            }
            int decision = br.decide(ingress, src, dst, now);
            if (decision == Bridge.LEARNING) {
                trace.dropped(DropReason.BRIDGE_PORT_LEARNING);
                return;
            }
            boolean up = decision == Bridge.UP || decision == Bridge.FLOOD_AND_UP;
            if (decision > 0) {
                Bridge.Port to = br.port(decision);
                trace.bridged(dev.name, port.name, to.name(), 1, false);
                if (!Bridge.shouldDeliver(to, port.index)) {
                    trace.dropped(DropReason.BRIDGE_NOT_DELIVERED);
                    return;
                }
                bridgeForward(dev, port, to, hooks, n);
                return;
            }
            boolean flood = decision != Bridge.UP;
            int targets = 0;
            if (flood) {
                for (Bridge.Port to : br.ports()) {
                    targets += Bridge.shouldDeliver(to, port.index) ? 1 : 0;
                }
            }
            trace.bridged(dev.name, port.name, flood ? null : "", targets, up);
            int copies = 0;
            if (flood) {
                if (hooks && targets + (up ? 1 : 0) > 1) {
                    saveBridged();
                }
                for (Bridge.Port to : br.ports()) {
                    if (Bridge.shouldDeliver(to, port.index)) {
                        if (hooks && copies > 0) {
                            restoreBridged();
                        }
                        copies++;
                        bridgeForward(dev, port, to, hooks, n);
                    }
                }
            }
            if (up) {
                if (hooks && copies > 0) {
                    restoreBridged();
                }
                bridgeUp(dev, port, family, type, hooks, routed, src, ipLength);
            } else if (copies == 0) {
                trace.dropped(DropReason.BRIDGE_NOT_DELIVERED);
            }
        }

        /**
         * br_nf_pre_routing_finish's route after a DNAT: the input route from the bridge; for IPv4 a destination
         * refused only because the bridge does not forward (EHOSTUNREACH) is looked up as output, and kept when it
         * leaves by the bridge ("bridged-and-DNAT'ed traffic doesn't require ip_forwarding").
         */
        private RouteDecision bridgedDnatRoute(Family family, Interface dev) {
            RouteDecision d = route(family, pkt.destinationHi(), pkt.destinationLo(), pkt.sourceHi(), pkt.sourceLo(),
                    pkt.mark(), dev);
            if (d.kind() == RouteDecision.Kind.ERROR && family == Family.IPV4 && d.errno() == RouteResult.EHOSTUNREACH
                    && !dev.forwarding) {
                RouteDecision o = route(family, pkt.destinationHi(), pkt.destinationLo(), 0, 0, 0, null);
                if (o.kind() == RouteDecision.Kind.OUTPUT && o.out == dev) {
                    return o;
                }
            }
            return d;
        }

        /**
         * One copy of a bridged frame leaving by port {@code to} (br_forward, __br_forward). With br_netfilter:
         * FORWARD (br_nf_forward_ip: IN and OUT the bridge, the ports recorded, PACKET_OTHERHOST passed as
         * PACKET_HOST), POSTROUTING (br_nf_post_routing: no IN, OUT the bridge), then br_nf_dev_queue_xmit: out as
         * it came when it fits the port's MTU, else the fragments it came in (a reassembled datagram), an IPv4 one
         * without DF fragmented, others dropped. Without: out as received when it fits the MTU and a VLAN tag
         * (is_skb_forwardable).
         */
        private void bridgeForward(Interface dev, Interface inPort, Bridge.Port to, boolean hooks, long frameLength) {
            Trace trace = pkt.trace();
            Interface out = interfaceByName.get(to.name());
            long frameAt = HEADROOM - EthernetHeader.LENGTH;
            if (!hooks) {
                // Linux: br_dev_queue_push_xmit's is_skb_forwardable allows the MTU and a VLAN tag (VLAN_HLEN, 4); an
                // outer tag the frame came with is not counted (skb_vlan_untag keeps it beside the packet)
                ethernet.wrap(buffer, frameAt);
                long counted = frameLength - EthernetHeader.LENGTH - (ethernet.vlanTagged() ? VLAN_HLEN : 0);
                if (counted > out.mtu + VLAN_HLEN) {
                    trace.dropped(DropReason.PKT_TOO_BIG);
                    return;
                }
                MemorySegment f = views.of(frameAt, (int) frameLength);
                trace.transmitted(to.name(), f);
                sink.transmit(to.name(), f);
                return;
            }
            int type = pkt.packetType();
            pkt.inInterface(dev.name).outInterface(dev.name).routeMtu(dev.mtu).physdev(inPort.name, to.name())
                    .packetType(type == PacketContext.PACKET_OTHERHOST ? PacketContext.PACKET_HOST : type);
            int v = netfilter.run(Hook.FORWARD, pkt);
            if (v != Verdict.ACCEPT) {
                finish(v);
                return;
            }
            pkt.inInterface("");
            v = netfilter.run(Hook.POSTROUTING, pkt);
            if (v != Verdict.ACCEPT) {
                finish(v);
                return;
            }
            pkt.packetType(type);
            ethernet.wrap(buffer, frameAt);
            RouteDecision d = bridgedRoute(out, ethernet.destination());
            frameSource = ethernet.source();
            try {
                if (reassembled != null) {
                    refragment(d);
                } else if (pkt.length() <= out.mtu) {
                    transmit(d, buffer, HEADROOM, pkt.length());
                } else if (pkt.family() == Family.IPV4 && !ip4.dontFragment()) {
                    fragment(d);
                } else {
                    // Linux: br_nf_ip_fragment refuses DF (no ICMP error: the bridge is not the sender's router)
                    trace.dropped(DropReason.PKT_TOO_BIG);
                }
            } finally {
                frameSource = -1;
            }
        }

        /** The decision a bridged copy leaves by {@code out} with (to {@code mac}), kept per port and MAC. */
        private RouteDecision bridgedRoute(Interface out, long mac) {
            int i = (int) ((out.index * 31L + mac * 0x9E3779B97F4A7C15L) >>> 58);
            RouteDecision d = bridgedRoutes[i];
            if (d == null || d.out != out || d.nextHopMac != mac) {
                d = new RouteDecision(RouteDecision.Kind.OUTPUT, null, 0, out, null, mac, false);
                bridgedRoutes[i] = d;
            }
            return d;
        }

        /** Direct-mapped: what {@link #bridgedRoute} made for recent (port, MAC) pairs (the port's snapshot included). */
        private final RouteDecision[] bridgedRoutes = new RouteDecision[64];

        /**
         * br_pass_frame_up: the frame goes up through the bridge device. With br_netfilter it has been through
         * PREROUTING on the bridge already (ip_sabotage_in skips it), so it is routed (or keeps the route a DNAT gave
         * it) with IN = the bridge and the port still recorded; without, ip_rcv on the bridge device.
         */
        private void bridgeUp(Interface dev, Interface port, Family family, int type, boolean hooks,
                RouteDecision routed, long macSource, long ipLength) {
            Trace trace = pkt.trace();
            if (family == null) {
                trace.dropped(ethernet.etherType() == EthernetHeader.ETH_P_ARP ? DropReason.ARP_NOT_ANSWERED
                        : DropReason.UNHANDLED_PROTO);
                return;
            }
            if (vlanTag >= 0 && (vlanTag & 0xFFF) != 0) {
                // Linux: no VLAN device takes it on the bridge (vlan_do_receive): PACKET_OTHERHOST, dropped by ip_rcv
                trace.dropped(DropReason.OTHERHOST);
                return;
            }
            if (!hooks) {
                ipReceive(dev, family, type, macSource, ipLength);
                return;
            }
            pkt.inInterface(dev.name).outInterface("").routeMtu(0).physdev(port.name, "");
            in = dev;
            RouteDecision d = routed != null ? routed : route(family, pkt.destinationHi(), pkt.destinationLo(),
                    pkt.sourceHi(), pkt.sourceLo(), pkt.mark(), dev);
            routeReceived(d);
        }

        /**
         * br_dev_xmit: a frame the host sends by the bridge goes to the port its destination was learned on, or to
         * every forwarding port (broadcast, multicast, unknown). It meets no hooks again: it has no br_netfilter
         * information (br_nf_post_routing passes it), so physdev never sees a locally sent packet's port.
         */
        private void bridgeTransmit(Interface dev, long destination, MemorySegment frame) {
            Trace trace = pkt.trace();
            Bridge br = bridgeByName.get(dev.name);
            int to = br.transmit(destination, pkt.nowNanos());
            if (to > 0) {
                Bridge.Port p = br.port(to);
                trace.bridged(dev.name, "", p.name(), 1, false);
                if (!Bridge.shouldDeliver(p, 0)) {
                    trace.dropped(DropReason.BRIDGE_NOT_DELIVERED);
                    return;
                }
                trace.transmitted(p.name(), frame);
                sink.transmit(p.name(), frame);
                return;
            }
            int copies = 0;
            for (Bridge.Port p : br.ports()) {
                copies += to == Bridge.FLOOD && Bridge.shouldDeliver(p, 0) ? 1 : 0;
            }
            trace.bridged(dev.name, "", to == Bridge.FLOOD ? null : "", copies, false);
            if (copies == 0) {
                trace.dropped(DropReason.BRIDGE_NOT_DELIVERED);
                return;
            }
            for (Bridge.Port p : br.ports()) {
                if (Bridge.shouldDeliver(p, 0)) {
                    trace.transmitted(p.name(), frame);
                    sink.transmit(p.name(), frame);
                }
            }
        }

        /**
         * A bare datagram received on a bridge port (a capture without link layer, {@code jnf trace}): framed as a
         * host on the segment sends it: from the neighbour MAC of its source, to the bridge's MAC when its
         * destination is the host's or off the bridge's subnets (routed by this host), to the group MAC of a
         * broadcast or multicast destination, else to the destination's neighbour MAC. False: not IP (dropped).
         */
        private boolean frameDatagram(Interface port, Interface dev, MemorySegment datagram) {
            Trace trace = pkt.trace();
            long n = datagram.byteSize();
            int version = n == 0 ? 0 : Byte.toUnsignedInt(datagram.get(ValueLayout.JAVA_BYTE, 0)) >>> 4;
            long minimum = version == 4 ? Ipv4Header.MIN_LENGTH : Ipv6Header.LENGTH;
            if (version != 4 && version != 6 || n < minimum || n > MAX_DATAGRAM + 1) {
                trace.received(port.name, datagram, PacketContext.PACKET_HOST);
                trace.dropped(version != 4 && version != 6 ? DropReason.UNHANDLED_PROTO
                        : n < minimum ? DropReason.PKT_TOO_SMALL : DropReason.TOO_BIG_FOR_BUFFER);
                return false;
            }
            MemorySegment.copy(datagram, 0, buffer, HEADROOM, n);
            Family f = version == 4 ? Family.IPV4 : Family.IPV6;
            IpAddress src;
            IpAddress dst;
            if (f == Family.IPV4) {
                src = IpAddress.ipv4(ip4.source());
                dst = IpAddress.ipv4(ip4.destination());
            } else {
                src = address(f, ip6.sourceHigh(), ip6.sourceLow());
                dst = address(f, ip6.destinationHigh(), ip6.destinationLow());
            }
            long dstMac;
            Link bridgeLink = host.link(dev == null ? port.master : dev.name);
            if (dst.isLimitedBroadcast() || f == Family.IPV4 && host.addressType(dst, bridgeLink.name()) == RouteType.BROADCAST) {
                dstMac = EthernetHeader.BROADCAST;
            } else if (dst.isMulticast()) {
                dstMac = multicastMac(dst);
            } else if (host.isLocalAddress(dst) || !onLink(bridgeLink, dst)) {
                dstMac = bridgeLink.mac();
            } else {
                dstMac = host.neighbourMac(dst);
            }
            ethernet.wrap(buffer, HEADROOM - EthernetHeader.LENGTH);
            ethernet.destination(dstMac).source(host.neighbourMac(src))
                    .etherType(f == Family.IPV4 ? EthernetHeader.ETH_P_IP : EthernetHeader.ETH_P_IPV6);
            return true;
        }

        private boolean onLink(Link l, IpAddress a) {
            if (a.isLinkLocal()) {
                return true;
            }
            for (InterfaceAddress x : l.addresses(a.family())) {
                if (a.in(x.network())) {
                    return true;
                }
            }
            return false;
        }

        /** Keeps the packet as PREROUTING left it, for the next copy br_flood makes. */
        private void saveBridged() {
            BridgedCopy c = bridgedCopy;
            int n = pkt.length() + EthernetHeader.LENGTH;
            MemorySegment.copy(buffer, HEADROOM - EthernetHeader.LENGTH, c.bytes, 0, n);
            c.length = pkt.length();
            c.state.keep(pkt);
            c.reassembled = reassembled;
        }

        /** The packet as {@link #saveBridged} kept it (skb_clone shares the data: each copy starts from it). */
        private void restoreBridged() {
            BridgedCopy c = bridgedCopy;
            MemorySegment.copy(c.bytes, 0, buffer, HEADROOM - EthernetHeader.LENGTH, c.length + EthernetHeader.LENGTH);
            if (ip4.version() == 4) {
                pkt.ipv4(buffer, HEADROOM, c.length);
            } else {
                pkt.ipv6(buffer, HEADROOM, c.length);
            }
            c.state.applyTo(pkt);
            reassembled = c.reassembled;
        }

        // ---- verdicts and generated packets ----

        /** A hook ended the packet: STOLEN, or DROP (with the REJECT reply when a REJECT dropped it). */
        void finish(int verdict) {
            Trace trace = pkt.trace();
            if (verdict == Verdict.STOLEN) {
                trace.stolen();
                return;
            }
            if (pkt.rejectWith() >= 0) {
                Reply reset = replies.reject(pkt, pkt.rejectWith());
                Connection original = reset == null ? null : reset.relatedTo();
                if (original != null && original.table() != null && isTcpReset(pkt.family(), pkt.rejectWith())) {
                    // Linux: nf_send_reset / nf_send_reset6 set the original's entry closing before ip_local_out
                    original.table().setClosing(original, pkt.nowNanos());
                }
                sendGenerated(this, "REJECT", reset);
            } else if (pkt.dropIcmpType() >= 0) {
                sendGenerated(this, "ICMP error", replies.icmpError(pkt, pkt.dropIcmpType(), pkt.dropIcmpCode(),
                        pkt.dropIcmpInfo()));
            }
            trace.dropped(DropReason.NETFILTER_DROP);
        }

        private static boolean isTcpReset(Family family, int rejectWith) {
            return rejectWith == (family == Family.IPV4 ? RejectReplies.IPT_TCP_RESET : RejectReplies.IP6T_TCP_RESET);
        }

        void icmpError(String kind, int type, int code, int info) {
            sendGenerated(this, kind, replies.icmpError(pkt, type, code, info));
        }
    }

    /** A bridged packet's bytes (Ethernet header first) and state as PREROUTING left them (see Slot#saveBridged). */
    private static final class BridgedCopy {
        final MemorySegment bytes = MemorySegment.ofArray(new byte[EthernetHeader.LENGTH + MAX_DATAGRAM + 1]);
        int length;
        final KeptPacketState state = new KeptPacketState();
        Defrag.Result reassembled;
    }
}
