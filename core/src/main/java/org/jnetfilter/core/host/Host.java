package org.jnetfilter.core.host;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;

/**
 * The host a packet path runs on: interfaces, addresses, neighbours, routing tables, policy rules and the
 * sysctls that change the path, behaving as Linux 6.x does.
 *
 * <p>Routes come in two kinds, as in the kernel. Routes the kernel derives from interface addresses (proto
 * kernel: local, broadcast, anycast, multicast and connected-subnet routes) are recomputed from the
 * interfaces after every change, so they can never disagree with them; routes added by the user are stored
 * per family and table. Linux deletes routes through an interface when it goes down (fib_sync_down_dev,
 * rt6_sync_down_dev); so does {@link #setUp}.
 *
 * <p>Contract: configure first, then look up. Lookups do not modify the host and may run from several
 * threads; they allocate small records, so they are not for a zero-allocation hot path. Configuration
 * methods are not thread-safe and must not run concurrently with lookups. Lookups scan a table linearly: a
 * host has tens of routes, not the 100k rules the classifier is built for.
 *
 * <p>Not modelled: multipath routes, TOS and scope selectors, VRF/l3mdev, route caching and PMTU,
 * src_valid_mark, route_localnet, bc_forwarding, multicast input routing.
 */
public final class Host {

    public static final int LOOPBACK_INDEX = 1;
    /** Linux RT_TABLE_* (include/uapi/linux/rtnetlink.h). */
    public static final int TABLE_DEFAULT = 253;
    public static final int TABLE_MAIN = 254;
    public static final int TABLE_LOCAL = 255;

    /** Linux: route metric of connected IPv6 prefix and multicast routes (IP6_RT_PRIO_ADDRCONF). */
    static final int IP6_RT_PRIO_ADDRCONF = 256;
    /** Linux: default metric of IPv6 routes added by the user (IP6_RT_PRIO_USER). */
    public static final int IP6_RT_PRIO_USER = 1024;

    private static final IpNet IPV6_MULTICAST = new IpAddress(Family.IPV6, 0xFF00L << 48, 0).net(8);
    private static final IpNet IPV6_LINK_LOCAL = new IpAddress(Family.IPV6, 0xFE80L << 48, 0).net(64);

    private final Map<String, Link> linkByName = new LinkedHashMap<>();
    private int nextIndex = LOOPBACK_INDEX;
    private final Map<IpAddress, Long> macByNeighbour = new LinkedHashMap<>();
    private final Map<Family, List<Route>> userRoutes = Map.of(Family.IPV4, new ArrayList<>(), Family.IPV6,
            new ArrayList<>());
    private final Map<Family, List<PolicyRule>> rules = Map.of(Family.IPV4, new ArrayList<>(), Family.IPV6,
            new ArrayList<>());
    private final Map<String, String> sysctlByName = new TreeMap<>();
    private volatile Map<TableKey, List<Route>> tablesSnapshot;
    private volatile OsfFingerprints osfFingerprints = OsfFingerprints.EMPTY;
    private volatile long version;

    /** A host as Linux boots it: {@code lo} up with 127.0.0.1/8 and ::1/128, the default rules, default sysctls. */
    public Host() {
        Sysctls.defaults(sysctlByName);
        addLink("lo", 0, 65536);
        setUp("lo", true);
        addAddress("lo", IpAddress.parse("127.0.0.1"), 8);
        addAddress("lo", IpAddress.parse("::1"), 128);
        // Linux fib4_rules_init / fib6_rules_net_init: 0 local, 32766 main, and for IPv4 32767 default.
        rules.get(Family.IPV4).add(PolicyRule.lookup(Family.IPV4, 0, TABLE_LOCAL));
        rules.get(Family.IPV4).add(PolicyRule.lookup(Family.IPV4, 32766, TABLE_MAIN));
        rules.get(Family.IPV4).add(PolicyRule.lookup(Family.IPV4, 32767, TABLE_DEFAULT));
        rules.get(Family.IPV6).add(PolicyRule.lookup(Family.IPV6, 0, TABLE_LOCAL));
        rules.get(Family.IPV6).add(PolicyRule.lookup(Family.IPV6, 32766, TABLE_MAIN));
    }

    /**
     * Counts configuration changes: a cache of lookups (the datapath's route cache) is valid while the version it
     * was filled at is current.
     */
    public long version() {
        return version;
    }

    private void changed() {
        tablesSnapshot = null;
        version++;
    }

    // ---- interfaces ----

    /** {@code ip link add NAME address MAC mtu N}: a new interface, down, with the next free ifindex. */
    public Link addLink(String name, long mac, int mtu) {
        if (linkByName.containsKey(name)) {
            throw new IllegalArgumentException("RTNETLINK answers: File exists (link " + name + ")");
        }
        Link link = new Link(name, nextIndex++, mac, mtu, false, List.of());
        linkByName.put(name, link);
        changed();
        Sysctls.newInterface(sysctlByName, name);
        return link;
    }

    public Link link(String name) {
        return linkByName.get(name);
    }

    public Link linkByIndex(int index) {
        return linkByName.values().stream().filter(l -> l.index() == index).findFirst().orElse(null);
    }

    public List<Link> links() {
        return List.copyOf(linkByName.values());
    }

    private Link existing(String name) {
        Link l = linkByName.get(name);
        if (l == null) {
            throw new IllegalArgumentException("Cannot find device \"" + name + "\"");
        }
        return l;
    }

    // ---- bridges ----

    /** Linux: BR_DEFAULT_AGEING_TIME, 300 s, as netlink gives it (centiseconds, clock_t). */
    public static final long DEFAULT_AGEING_CENTISECONDS = 30000;

    private final Map<String, Long> ageingByBridge = new LinkedHashMap<>();
    private final java.util.Set<String> bridgesWithAddressSet = new java.util.HashSet<>();
    /** Bridges whose MTU the user set after creating them: it no longer follows their ports. */
    private final java.util.Set<String> bridgesWithMtuSet = new java.util.HashSet<>();
    private final List<StaticFdbEntry> staticFdb = new ArrayList<>();
    /**
     * Per port, how often it was disabled (it or its bridge went down) or changed bridges: br_stp_disable_port and
     * br_del_if forget what the FDB learned on it (br_fdb_delete_by_port), so a bridge keeps a port's learned entries
     * only while this count stays.
     */
    private final Map<String, Integer> flushesByPort = new java.util.HashMap<>();
    /** group_fwd_mask per bridge (absent: 0, no link-local group forwarded). */
    private final Map<String, Integer> groupFwdMaskByBridge = new LinkedHashMap<>();

    /**
     * Linux: BR_GROUPFWD_RESTRICTED: the STP group, pause frames and 802.3ad slow protocols (01:80:c2:00:00:00-02)
     * may never be forwarded by group_fwd_mask.
     */
    public static final int GROUP_FWD_RESTRICTED = 0x0007;

    /**
     * {@code bridge fdb add MAC dev PORT [static|permanent]}: an entry that never ages. {@code local}: permanent
     * (iproute2's default), the bridge's own address, whose frames go up to the host; else static, forwarded to the
     * port (learning may move it, as br_fdb_update moves any entry that is neither local nor sticky).
     */
    public record StaticFdbEntry(long mac, String port, boolean local) {
    }

    /**
     * {@code ip link add NAME [address MAC] type bridge [ageing_time CS]}: a bridge device, down, with STP off. Its MAC
     * is {@code mac} when given (-1: none); otherwise, as br_stp_recalculate_bridge_id, the lowest MAC of its ports
     * once it has one (until then a made-up one from the ifindex, where Linux draws a random one).
     */
    public Link addBridge(String name, long mac, int mtu, long ageingCentiseconds) {
        if (ageingCentiseconds < 0) {
            throw new IllegalArgumentException("invalid ageing_time " + ageingCentiseconds);
        }
        Link l = addLink(name, mac >= 0 ? mac : 0x020000000000L | nextIndex, mtu).withBridge(true);
        linkByName.put(name, l);
        ageingByBridge.put(name, ageingCentiseconds);
        if (mac >= 0) {
            bridgesWithAddressSet.add(name);
        }
        changed();
        return l;
    }

    /** The bridge's FDB ageing time in nanoseconds (Linux: ageing_time, 300 s unless set). */
    public long bridgeAgeingNanos(String bridge) {
        Long cs = ageingByBridge.get(bridge);
        return (cs == null ? DEFAULT_AGEING_CENTISECONDS : cs) * 10_000_000L;
    }

    /**
     * {@code ip link set PORT master BRIDGE} ({@code bridge} null: {@code nomaster}). The bridge's MAC follows its
     * ports unless it was given one (br_stp_recalculate_bridge_id); a port's static FDB entries go with it.
     */
    public void setMaster(String port, String bridge) {
        Link p = existing(port);
        if (bridge != null) {
            Link b = existing(bridge);
            if (!b.bridge()) {
                throw new IllegalArgumentException("Error: Device " + bridge + " is not a bridge.");
            }
            if (p.isLoopback()) {
                throw new IllegalArgumentException("Error: Can not enslave loopback device.");
            }
            if (p.bridge() || p.name().equals(bridge)) {
                throw new IllegalArgumentException("Error: Can not enslave a bridge to a bridge.");
            }
            if (p.master() != null && !p.master().equals(bridge)) {
                throw new IllegalArgumentException("Error: Device " + port + " is already in use.");
            }
        }
        String old = p.master();
        if (!java.util.Objects.equals(p.master(), bridge)) {
            flushPort(port);
        }
        linkByName.put(port, p.withMaster(bridge));
        if (bridge == null) {
            staticFdb.removeIf(e -> e.port().equals(port));
        }
        recalculateBridgeMac(old);
        recalculateBridgeMac(bridge);
        if (!java.util.Objects.equals(old, bridge)) {
            adjustBridgeMtu(old);
            adjustBridgeMtu(bridge);
        }
        changed();
    }

    /**
     * {@code ip link add|set BRIDGE type bridge group_fwd_mask N}: the 01:80:c2:00:00:0X link-local groups whose bit X
     * is set are forwarded like multicast instead of going to the port's stack. br_changelink refuses the restricted
     * bits ({@link #GROUP_FWD_RESTRICTED}) with EINVAL.
     */
    public void setGroupFwdMask(String bridge, int mask) {
        Link b = existing(bridge);
        if (!b.bridge()) {
            throw new IllegalArgumentException("RTNETLINK answers: Operation not supported");
        }
        if ((mask & ~0xFFFF) != 0 || (mask & GROUP_FWD_RESTRICTED) != 0) {
            throw new IllegalArgumentException("RTNETLINK answers: Invalid argument");
        }
        groupFwdMaskByBridge.put(bridge, mask);
        changed();
    }

    /** See {@link #flushesByPort}: changes each time the port's learned FDB entries are forgotten. */
    public int portFlushes(String port) {
        return flushesByPort.getOrDefault(port, 0);
    }

    private void flushPort(String port) {
        flushesByPort.merge(port, 1, Integer::sum);
    }

    /** The bridge's group_fwd_mask (0 unless set). */
    public int groupFwdMask(String bridge) {
        return groupFwdMaskByBridge.getOrDefault(bridge, 0);
    }

    /**
     * {@code bridge link set dev PORT state N}: the port's STP state as br_set_port_state sets it with STP off:
     * refused on a device that is not a port (EOPNOTSUPP), beyond blocking (EINVAL), on a port that is down
     * (ENETDOWN). br_port_state_selection then makes a blocking port forward at once (with STP off every port is
     * designated); the state holds until the port or its bridge goes down or up again (forwarding then).
     */
    public void setPortState(String port, int state) {
        Link p = existing(port);
        if (p.master() == null) {
            throw new IllegalArgumentException("RTNETLINK answers: Operation not supported");
        }
        if (state < 0 || state > Link.PORT_BLOCKING) {
            throw new IllegalArgumentException("RTNETLINK answers: Invalid argument");
        }
        if (!p.up()) {
            throw new IllegalArgumentException("RTNETLINK answers: Network is down");
        }
        linkByName.put(port, p.withPortState(state == Link.PORT_BLOCKING ? Link.PORT_FORWARDING : state));
        changed();
    }

    /** Hairpin mode of a port ({@code bridge link set dev PORT hairpin on}): frames may leave by the port they came in. */
    public void setHairpin(String port, boolean on) {
        Link p = existing(port);
        if (p.master() == null) {
            throw new IllegalArgumentException("Error: " + port + " is not a bridge port.");
        }
        linkByName.put(port, p.withHairpin(on));
        changed();
    }

    /** {@code bridge fdb add MAC dev PORT [master] [static|permanent]}, see {@link StaticFdbEntry}. */
    public void addFdbEntry(long mac, String port, boolean local) {
        Link p = existing(port);
        if (p.master() == null) {
            throw new IllegalArgumentException("Error: " + port + " is not a bridge port.");
        }
        staticFdb.removeIf(e -> e.mac() == mac && linkByName.get(e.port()).master().equals(p.master()));
        staticFdb.add(new StaticFdbEntry(mac, port, local));
        changed();
    }

    public List<StaticFdbEntry> staticFdb() {
        return List.copyOf(staticFdb);
    }

    /** The ports of a bridge, in the order they joined. */
    public List<Link> ports(String bridge) {
        return linkByName.values().stream().filter(l -> bridge.equals(l.master())).toList();
    }

    private void recalculateBridgeMac(String bridge) {
        if (bridge == null || bridgesWithAddressSet.contains(bridge)) {
            return;
        }
        long lowest = -1;
        for (Link l : linkByName.values()) {
            if (bridge.equals(l.master()) && (lowest < 0 || l.mac() < lowest)) {
                lowest = l.mac();
            }
        }
        if (lowest >= 0) {
            linkByName.put(bridge, linkByName.get(bridge).withMac(lowest));
        }
    }

    /**
     * {@code ip link set NAME up|down}. Going down, Linux deletes the routes through the interface and, unless
     * keep_addr_on_down, its IPv6 addresses (addrconf_ifdown); IPv4 addresses stay.
     */
    public void setUp(String name, boolean up) {
        Link l = existing(name);
        if (!up && l.up() && !l.isLoopback() && sysctlLong("net.ipv6.conf.all.keep_addr_on_down") <= 0
                && sysctlLong("net.ipv6.conf." + name + ".keep_addr_on_down") <= 0) {
            l = l.withAddresses(l.addresses(Family.IPV4));
        }
        // Linux: a port going down is disabled, coming up it is enabled and, STP off, forwards (br_stp_enable_port)
        linkByName.put(name, l.up() != up ? l.withUp(up).withPortState(Link.PORT_FORWARDING) : l.withUp(up));
        if (l.bridge() && l.up() != up) {
            // Linux: br_stp_enable_bridge / br_stp_disable_bridge: the ports are enabled (forwarding, STP off) or
            // disabled with the bridge, whatever state they were given
            for (Link port : ports(name)) {
                linkByName.put(port.name(), port.withPortState(Link.PORT_FORWARDING));
                if (!up) {
                    flushPort(port.name());
                }
            }
        }
        if (!up && l.up() && l.master() != null) {
            flushPort(name);
        }
        if (!up) {
            for (List<Route> routes : userRoutes.values()) {
                routes.removeIf(r -> name.equals(r.dev()));
            }
        }
        changed();
    }

    /**
     * {@code ip link set NAME mtu N}. On a bridge a new value fixes its MTU from then on (br_change_mtu sets
     * BROPT_MTU_SET_BY_USER; dev_set_mtu leaves an unchanged value alone, so setting the current MTU fixes nothing);
     * on a port the bridge's MTU follows its smallest port again unless fixed (br_mtu_auto_adjust on
     * NETDEV_CHANGEMTU).
     */
    public void setMtu(String name, int mtu) {
        Link l = existing(name);
        if (l.bridge() && l.mtu() != mtu) {
            bridgesWithMtuSet.add(name);
        }
        linkByName.put(name, l.withMtu(mtu));
        adjustBridgeMtu(l.master());
        changed();
    }

    /**
     * br_mtu_auto_adjust: a bridge's MTU is its smallest port's, or ETH_DATA_LEN (1500) without ports, unless the
     * user set it ({@code link add ... mtu N type bridge} does not count: it is the MTU before any port joins).
     */
    private void adjustBridgeMtu(String bridge) {
        if (bridge == null || bridgesWithMtuSet.contains(bridge)) {
            return;
        }
        int smallest = 0;
        for (Link l : linkByName.values()) {
            if (bridge.equals(l.master()) && (smallest == 0 || l.mtu() < smallest)) {
                smallest = l.mtu();
            }
        }
        // Linux: br_mtu_min: ETH_DATA_LEN for a bridge without ports
        linkByName.put(bridge, linkByName.get(bridge).withMtu(smallest == 0 ? 1500 : smallest));
    }

    public void setMac(String name, long mac) {
        Link l = existing(name);
        linkByName.put(name, l.withMac(mac));
        if (l.bridge()) {
            bridgesWithAddressSet.add(name);
        }
        recalculateBridgeMac(l.master());
        changed();
    }

    /** {@code ip addr add A/P dev D}. */
    public void addAddress(String dev, IpAddress address, int prefix) {
        addAddress(dev, address, prefix, null);
    }

    /** {@code ip addr add ADDRESS/PREFIX brd BROADCAST dev DEV}: with the IPv4 broadcast address (null: none). */
    public void addAddress(String dev, IpAddress address, int prefix, IpAddress broadcast) {
        Link l = existing(dev);
        if (prefix < 0 || prefix > address.family().addressBits()) {
            throw new IllegalArgumentException("invalid prefix length " + prefix);
        }
        for (InterfaceAddress a : l.addresses()) {
            if (a.address().equals(address)) {
                throw new IllegalArgumentException("RTNETLINK answers: File exists");
            }
        }
        List<InterfaceAddress> list = new ArrayList<>(l.addresses());
        list.add(new InterfaceAddress(address, prefix, broadcast));
        linkByName.put(dev, l.withAddresses(list));
        changed();
    }

    /**
     * The netmask (IPv4, low 32 bits) of the primary address of {@code dev} whose broadcast address
     * (ifa_broadcast) is {@code broadcast}, or 0 when none: what nf_conntrack_broadcast_help looks for. An
     * address is secondary when an earlier one of the interface has the same subnet.
     */
    public long ipv4BroadcastMask(String dev, long broadcast) {
        Link l = linkByName.get(dev);
        if (l == null) {
            return 0;
        }
        List<IpNet> primaries = new ArrayList<>();
        for (InterfaceAddress a : l.addresses(Family.IPV4)) {
            IpNet net = a.network();
            if (primaries.contains(net)) {
                continue;
            }
            primaries.add(net);
            if (a.broadcast() != null && a.broadcast().lo() == broadcast) {
                return net.maskLo() & 0xFFFFFFFFL;
            }
        }
        return 0;
    }

    /** Whether an address is configured on some interface (the host's own address). */
    public boolean isLocalAddress(IpAddress address) {
        return addressType(address, null) == RouteType.LOCAL;
    }

    /**
     * Every address of an interface, including what the kernel configures itself: the IPv6 link-local
     * address (addr_gen_mode 0, eui64, added when the interface comes up; not on lo; none with addr_gen_mode 1,
     * which an interface takes from conf.default when it is created).
     */
    public List<InterfaceAddress> effectiveAddresses(Link l, Family family) {
        List<InterfaceAddress> out = new ArrayList<>(l.addresses(family));
        String mode = family == Family.IPV6 ? sysctl("net.ipv6.conf." + l.name() + ".addr_gen_mode") : null;
        if (family == Family.IPV6 && l.up() && !l.isLoopback() && !"1".equals(mode)) {
            out.add(new InterfaceAddress(linkLocal(l.mac()), 64));
        }
        return out;
    }

    /** The EUI-64 link-local address of a MAC: fe80::(mac[0]^2)mac[1]:mac[2]ff:fe mac[3]:mac[4]mac[5]. */
    public static IpAddress linkLocal(long mac) {
        long upper = (mac >>> 24) & 0xFFFFFF;
        long lower = mac & 0xFFFFFF;
        long iid = (upper << 40) | (0xFFFEL << 24) | lower;
        iid ^= 0x0200000000000000L;
        return new IpAddress(Family.IPV6, 0xFE80L << 48, iid);
    }

    // ---- neighbours ----

    /** {@code ip neigh add A lladdr MAC dev D}. */
    public void addNeighbour(IpAddress address, long mac, String dev) {
        existing(dev);
        macByNeighbour.put(address, mac);
        changed();
    }

    /**
     * The MAC of a next hop. A next hop without a neighbour entry is treated as reachable with a made-up,
     * locally administered MAC derived from its address (02:6a:6e followed by its last three bytes), so a
     * replay never waits on ARP/ND.
     */
    public long neighbourMac(IpAddress address) {
        Long mac = macByNeighbour.get(address);
        if (mac != null) {
            return mac;
        }
        return 0x026A6E000000L | (address.lo() & 0xFFFFFF);
    }

    public boolean hasNeighbour(IpAddress address) {
        return macByNeighbour.containsKey(address);
    }

    // ---- per-namespace state of modules ----

    private final java.util.concurrent.ConcurrentHashMap<Class<?>, Object> pernetByType =
            new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * net_generic: the state a module keeps for this host's network namespace (SYNPROXY's counters and cookie
     * secrets), made by {@code init} on first use. Any thread.
     */
    public <T> T pernet(Class<T> type, java.util.function.Supplier<T> init) {
        Object v = pernetByType.get(type);
        if (v == null) {
            v = pernetByType.computeIfAbsent(type, k -> init.get());
        }
        return type.cast(v);
    }

    // ---- IOAM ----

    private final Ioam6 ioam6 = new Ioam6();

    /** The IOAM namespaces and schemas ({@code ip ioam}); see {@link Ioam6}. */
    public Ioam6 ioam6() {
        return ioam6;
    }

    // ---- OS fingerprints ----

    /** The fingerprints the osf match compares SYNs with (nfnetlink_osf's list): empty until loaded. */
    public OsfFingerprints osfFingerprints() {
        return osfFingerprints;
    }

    /**
     * {@code nfnl_osf -f FILE} with the file's {@code text} ({@code remove}: {@code nfnl_osf -f FILE -d}).
     *
     * @throws IllegalArgumentException for a line nfnl_osf refuses (nothing is loaded then)
     */
    public void loadOsfFingerprints(String text, boolean remove) {
        osfFingerprints = osfFingerprints.load(text, remove);
        changed();
    }

    // ---- sysctls ----

    /** {@code sysctl -w name=value}; names use dots. Unknown names are refused, as sysctl refuses them. */
    public void sysctl(String name, String value) {
        String key = name.replace('/', '.');
        if (!sysctlByName.containsKey(key)) {
            throw new IllegalArgumentException("sysctl: cannot stat /proc/sys/" + key.replace('.', '/')
                    + ": No such file or directory");
        }
        sysctlByName.put(key, Sysctls.validate(key, value));
        bridgeNetfilterSysctlSet |= key.startsWith("net.bridge.");
        Sysctls.propagate(sysctlByName, key, linkByName.keySet());
        if (key.equals("net.bridge.bridge-nf-call-arptables") && !"0".equals(sysctlByName.get(key))) {
            notice("net.bridge.bridge-nf-call-arptables: arptables is not modelled; bridged ARP is not filtered");
        }
        changed();
    }

    public String sysctl(String name) {
        return sysctlByName.get(name.replace('/', '.'));
    }

    public long sysctlLong(String name) {
        return Long.parseLong(sysctl(name));
    }

    public Map<String, String> sysctls() {
        return Map.copyOf(sysctlByName);
    }

    /** net.ipv4.ip_forward (which sets every conf.*.forwarding in Linux). */
    public boolean ipv4Forwarding() {
        return sysctlLong("net.ipv4.ip_forward") != 0;
    }

    public boolean ipv6Forwarding() {
        return sysctlLong("net.ipv6.conf.all.forwarding") != 0;
    }

    /**
     * Whether bridged frames of {@code family} go through its hooks on every bridge (br_netfilter's
     * bridge-nf-call-iptables and -ip6tables).
     */
    public boolean bridgeNetfilter(Family family) {
        return sysctlLong(family == Family.IPV4 ? "net.bridge.bridge-nf-call-iptables"
                : "net.bridge.bridge-nf-call-ip6tables") != 0;
    }

    /**
     * Whether frames of {@code family} bridged by {@code bridge} go through its hooks: br_nf_pre_routing runs them
     * when the switch is on for all bridges or the bridge's own nf_call_iptables / nf_call_ip6tables option is
     * (BROPT_NF_CALL_IPTABLES), the latter only with br_netfilter there (loaded, or its sysctls set).
     */
    public boolean bridgeNetfilter(Family family, String bridge) {
        return bridgeNetfilter(family) || (bridgeNetfilterLoaded || bridgeNetfilterSysctlSet)
                && (family == Family.IPV4 ? bridgesCallingIptables : bridgesCallingIp6tables).contains(bridge);
    }

    /**
     * {@code ip link add|set BRIDGE type bridge nf_call_iptables|nf_call_ip6tables|nf_call_arptables N}: the bridge's
     * own br_netfilter switch (N non-zero: on, as br_changelink takes the u8); arptables' is kept with a notice.
     */
    public void setBridgeNfCall(String bridge, String table, boolean on) {
        Link b = existing(bridge);
        if (!b.bridge()) {
            throw new IllegalArgumentException("RTNETLINK answers: Operation not supported");
        }
        java.util.Set<String> set = switch (table) {
            case "iptables" -> bridgesCallingIptables;
            case "ip6tables" -> bridgesCallingIp6tables;
            case "arptables" -> {
                if (on) {
                    notice("nf_call_arptables: arptables is not modelled; bridged ARP is not filtered");
                }
                yield new java.util.HashSet<>();
            }
            default -> throw new IllegalArgumentException("unknown bridge option nf_call_" + table);
        };
        if (on) {
            set.add(bridge);
        } else {
            set.remove(bridge);
        }
        changed();
    }

    private final java.util.Set<String> bridgesCallingIptables = new java.util.HashSet<>();
    private final java.util.Set<String> bridgesCallingIp6tables = new java.util.HashSet<>();
    /** A net.bridge sysctl was set: br_netfilter is there (its sysctls exist only while it is loaded). */
    private boolean bridgeNetfilterSysctlSet;

    /**
     * {@code modprobe br_netfilter}: the module's switches come up on, as brnf_init_net sets them (only the first
     * load: a loaded module keeps its settings).
     */
    public void loadBridgeNetfilter() {
        if (!bridgeNetfilterLoaded) {
            bridgeNetfilterLoaded = true;
            for (String t : Sysctls.BRIDGE_NF_TABLES) {
                sysctlByName.put("net.bridge.bridge-nf-call-" + t, "1");
            }
            changed();
        }
    }

    private boolean bridgeNetfilterLoaded;

    private final ModuleParameters moduleParameters = new ModuleParameters();

    /** The module parameters of the modules that read them (nf_conntrack_sip), at their defaults until loaded. */
    public ModuleParameters moduleParameters() {
        return moduleParameters;
    }

    /**
     * {@code modprobe MODULE name=value...}: the parameters set as {@link ModuleParameters#load} reads them; an
     * unknown parameter is a notice (the kernel's warning: it ignores it).
     */
    public void loadModule(String module, String[] args) {
        for (String warning : moduleParameters.load(module, args)) {
            notice(warning);
        }
    }

    private final List<String> notices = new ArrayList<>();

    /** What the configuration asked for that the model accepts without acting on it (for the user to read). */
    public List<String> notices() {
        return List.copyOf(notices);
    }

    void notice(String text) {
        if (!notices.contains(text)) {
            notices.add(text);
        }
    }

    /** Linux IN_DEV_RPFILTER: the larger of conf.all.rp_filter and conf.DEV.rp_filter (0 off, 1 strict, 2 loose). */
    public int rpFilter(String dev) {
        return (int) Math.max(sysctlLong("net.ipv4.conf.all.rp_filter"),
                sysctlLong("net.ipv4.conf." + dev + ".rp_filter"));
    }

    /** Linux IN_DEV_ACCEPT_LOCAL: conf.all or conf.DEV. */
    public boolean acceptLocal(String dev) {
        return sysctlLong("net.ipv4.conf.all.accept_local") != 0
                || sysctlLong("net.ipv4.conf." + dev + ".accept_local") != 0;
    }

    /** Linux IN_DEV_TX_REDIRECTS: conf.all or conf.DEV. */
    public boolean sendRedirects(String dev) {
        return sysctlLong("net.ipv4.conf.all.send_redirects") != 0
                || sysctlLong("net.ipv4.conf." + dev + ".send_redirects") != 0;
    }

    // ---- routes ----

    public static String tableName(int table) {
        return switch (table) {
            case TABLE_LOCAL -> "local";
            case TABLE_MAIN -> "main";
            case TABLE_DEFAULT -> "default";
            default -> Integer.toString(table);
        };
    }

    /** local, main, default or a number 1..2^31-1 (the kernel allows up to 2^32-1; those are refused); else -1. */
    public static long parseTable(String text) {
        return switch (text) {
            case "local" -> TABLE_LOCAL;
            case "main" -> TABLE_MAIN;
            case "default" -> TABLE_DEFAULT;
            default -> {
                try {
                    long v = Long.parseLong(text);
                    yield v > 0 && v <= Integer.MAX_VALUE ? v : -1;
                } catch (NumberFormatException e) {
                    yield -1;
                }
            }
        };
    }

    /**
     * {@code ip route add}. Without {@code dev}, the device comes from the route to the gateway, as the kernel
     * resolves a next hop (fib_check_nh); a gateway must be directly reachable. Error types get no device
     * on IPv4 and lo on IPv6, as the kernel shows them.
     */
    public Route addRoute(Route requested) {
        Route r = requested;
        Family family = r.family();
        if (r.type() == RouteType.UNICAST || r.type() == RouteType.LOCAL || r.type() == RouteType.BROADCAST
                || r.type() == RouteType.ANYCAST || r.type() == RouteType.MULTICAST) {
            String dev = r.dev();
            if (dev != null) {
                existing(dev);
            }
            if (r.gateway() != null) {
                if (r.gateway().family() != family) {
                    throw new IllegalArgumentException("gateway " + r.gateway() + " is not " + family);
                }
                Route toGw = onLinkRoute(r.gateway(), dev);
                if (toGw == null) {
                    throw new IllegalArgumentException("Error: Nexthop has invalid gateway.");
                }
                dev = dev != null ? dev : toGw.dev();
            }
            if (dev == null) {
                throw new IllegalArgumentException("Error: Device for nexthop is not up.");
            }
            if (!existing(dev).up() && r.type() == RouteType.UNICAST) {
                throw new IllegalArgumentException("Error: Nexthop device is not up.");
            }
            r = new Route(r.table(), r.type(), r.dst(), r.metric(), r.gateway(), dev, r.prefSrc(), false);
        } else if (family == Family.IPV6) {
            r = new Route(r.table(), r.type(), r.dst(), r.metric(), null, "lo", r.prefSrc(), false);
        }
        if (r.prefSrc() != null && !isLocalAddress(r.prefSrc())) {
            throw new IllegalArgumentException("Error: Invalid prefsrc address.");
        }
        for (Route e : routes(family, r.table())) {
            if (e.dst().equals(r.dst()) && e.metric() == r.metric()
                    && (family == Family.IPV4 || e.type() == r.type() && java.util.Objects.equals(e.dev(), r.dev()))) {
                throw new IllegalArgumentException("RTNETLINK answers: File exists");
            }
        }
        userRoutes.get(family).add(r);
        changed();
        return r;
    }

    /** A route through which the gateway is directly reachable: a connected, link-scope route (no via). */
    private Route onLinkRoute(IpAddress gw, String dev) {
        Route best = null;
        for (Route r : routes(gw.family(), TABLE_MAIN)) {
            if (r.type() == RouteType.UNICAST && r.gateway() == null && gw.in(r.dst()) && r.dev() != null
                    && (dev == null || dev.equals(r.dev())) && isUp(r.dev())
                    && (best == null || r.dst().prefixLength() > best.dst().prefixLength())) {
                best = r;
            }
        }
        return best;
    }

    private boolean isUp(String dev) {
        Link l = linkByName.get(dev);
        return l != null && l.up();
    }

    /** All routes of one table: the ones the kernel derives from interfaces, then the user's. */
    public List<Route> routes(Family family, int table) {
        return tables().getOrDefault(new TableKey(family, table), List.of());
    }

    private record TableKey(Family family, int table) {
    }

    /**
     * Every table, derived routes included, built once after each change and shared by lookups: an immutable
     * snapshot published through a volatile field, so concurrent lookups never see a half-made table (two
     * threads may both build it after a change; the results are equal).
     */
    private Map<TableKey, List<Route>> tables() {
        Map<TableKey, List<Route>> t = tablesSnapshot;
        if (t == null) {
            Map<TableKey, List<Route>> built = new java.util.HashMap<>();
            for (Family f : Family.values()) {
                List<Route> all = new ArrayList<>(kernelRoutes(f));
                all.addAll(userRoutes.get(f));
                for (Route r : all) {
                    built.computeIfAbsent(new TableKey(f, r.table()), k -> new ArrayList<>()).add(r);
                }
            }
            built.replaceAll((k, v) -> List.copyOf(v));
            t = Map.copyOf(built);
            tablesSnapshot = t;
        }
        return t;
    }

    /** Every table that holds a route of this family, in numeric order. */
    public List<Integer> tables(Family family) {
        return tables().keySet().stream().filter(k -> k.family() == family).map(TableKey::table).sorted().toList();
    }

    /**
     * The routes Linux adds for interface addresses.
     *
     * <p>IPv4 (fib_add_ifaddr): a local /32 for each address, even on a down interface; when up, the
     * connected subnet in main (for lo: a local route in the local table), and below /31 a broadcast route
     * for the subnet's broadcast address. Since Linux 5.x no route is added for the network address. A
     * secondary address (same subnet as an earlier one on the interface) adds only its local route, whose
     * preferred source is the primary.
     *
     * <p>IPv6 (addrconf): a local /128 for each address in the local table (metric 0); when up, the prefix
     * route (metric 256), fe80::/64 and the link-local address, ff00::/8 multicast in the local table (not
     * on lo); with forwarding on, the subnet-router anycast address of each prefix shorter than /127.
     */
    List<Route> kernelRoutes(Family family) {
        List<Route> out = new ArrayList<>();
        for (Link l : linkByName.values()) {
            if (family == Family.IPV4) {
                Map<IpNet, IpAddress> primaryByNet = new LinkedHashMap<>();
                for (InterfaceAddress a : l.addresses(Family.IPV4)) {
                    IpNet net = a.network();
                    IpAddress primary = primaryByNet.get(net);
                    boolean secondary = primary != null;
                    if (!secondary) {
                        primary = a.address();
                        primaryByNet.put(net, primary);
                    }
                    IpAddress ip = primary;
                    out.add(new Route(TABLE_LOCAL, RouteType.LOCAL, a.address().hostNet(), 0, null, l.name(), ip,
                            true));
                    if (!l.up() || secondary) {
                        continue;
                    }
                    if (a.prefix() < 32) {
                        out.add(l.isLoopback()
                                ? new Route(TABLE_LOCAL, RouteType.LOCAL, net, 0, null, l.name(), ip, true)
                                : new Route(TABLE_MAIN, RouteType.UNICAST, net, 0, null, l.name(), ip, true));
                    }
                    if (a.prefix() < 31) {
                        IpAddress bcast = IpAddress.ipv4((int) (net.lo() | (~net.maskLo() & 0xFFFFFFFFL)));
                        out.add(new Route(TABLE_LOCAL, RouteType.BROADCAST, bcast.hostNet(), 0, null, l.name(),
                                ip, true));
                    }
                }
            } else {
                List<InterfaceAddress> addrs = effectiveAddresses(l, Family.IPV6);
                for (InterfaceAddress a : addrs) {
                    out.add(new Route(TABLE_LOCAL, RouteType.LOCAL, a.address().hostNet(), 0, null, l.name(),
                            null, true));
                }
                if (!l.up()) {
                    continue;
                }
                List<IpNet> prefixes = new ArrayList<>();
                for (InterfaceAddress a : addrs) {
                    if (a.prefix() < 128 && !prefixes.contains(a.network())) {
                        prefixes.add(a.network());
                        if (!l.isLoopback()) {
                            out.add(new Route(TABLE_MAIN, RouteType.UNICAST, a.network(), IP6_RT_PRIO_ADDRCONF,
                                    null, l.name(), null, true));
                        }
                    }
                    if (ipv6Forwarding() && a.prefix() < 127) {
                        IpNet n = a.network();
                        Route any = new Route(TABLE_LOCAL, RouteType.ANYCAST,
                                new IpAddress(Family.IPV6, n.hi(), n.lo()).hostNet(), 0, null, l.name(), null, true);
                        if (!out.contains(any)) {
                            out.add(any);
                        }
                    }
                }
                if (!l.isLoopback()) {
                    out.add(new Route(TABLE_LOCAL, RouteType.MULTICAST, IPV6_MULTICAST, IP6_RT_PRIO_ADDRCONF, null,
                            l.name(), null, true));
                }
            }
        }
        return out;
    }

    // ---- policy rules ----

    /** {@code ip rule add}; without a priority, the kernel uses one less than the first non-zero rule's. */
    public PolicyRule addRule(PolicyRule rule, boolean priorityGiven) {
        List<PolicyRule> list = rules.get(rule.family());
        PolicyRule r = rule;
        if (!priorityGiven) {
            int pref = 0;
            for (PolicyRule e : list) {
                if (e.priority() > 0) {
                    pref = e.priority() - 1;
                    break;
                }
            }
            r = new PolicyRule(rule.family(), pref, rule.from(), rule.to(), rule.fwmark(), rule.fwmask(),
                    rule.iif(), rule.oif(), rule.action(), rule.table());
        }
        for (PolicyRule e : list) {
            if (e.equals(r)) {
                throw new IllegalArgumentException("RTNETLINK answers: File exists");
            }
        }
        list.add(r);
        // Stable: a new rule goes after existing rules of the same priority, as in fib_nl_newrule.
        list.sort(Comparator.comparingInt(PolicyRule::priority));
        changed();
        return r;
    }

    public List<PolicyRule> rules(Family family) {
        return List.copyOf(rules.get(family));
    }

    // ---- lookups ----

    /**
     * A route lookup as {@code ip route get} performs it: output when {@code iif} is null (locally generated:
     * rules see iif lo, as flowi4_iif = LOOPBACK_IFINDEX), input from {@code iif} otherwise. {@code src} may be
     * null (unspecified) on output. IPv4 input follows ip_route_input_slow: martian checks, forwarding, and
     * source validation with rp_filter and accept_local (fib_validate_source).
     */
    public RouteResult lookup(Family family, IpAddress dst, IpAddress src, long mark, String iif, String oif) {
        if (iif != null && family == Family.IPV4) {
            return input4(dst, src != null ? src : IpAddress.any(family), mark, existing(iif).name());
        }
        Fib fib = fibLookup(family, dst, src != null ? src : IpAddress.any(family), mark,
                iif != null ? iif : "lo", iif == null ? oif : null);
        if (fib.errno != 0 && iif == null && oif != null && isUp(oif) && family == Family.IPV4) {
            // Linux: when an output lookup with an output device fails, for whatever reason (no route, or an
            // error route or rule), the destination is taken as on-link through that device
            // (ip_route_output_key_hash_rcu: "if (fl4->flowi4_oif ...) { res->type = RTN_UNICAST; goto make_route; }").
            IpAddress source = src != null ? src : selectSource(family, oif, IpAddress.any(family), null);
            return new RouteResult(outputType(dst, RouteType.UNICAST), 0, null, oif, null, source, 0);
        }
        if (fib.errno != 0) {
            return RouteResult.error(fib.type, fib.errno, fib.route, fib.table);
        }
        Route r = fib.route;
        RouteType type = r.type();
        if (type == RouteType.LOCAL || (type == RouteType.ANYCAST && family == Family.IPV6)) {
            // An anycast address is never a source (RFC 4291 2.6): the source is selected as for the prefix.
            IpAddress source = src != null ? src
                    : family == Family.IPV4 ? (r.prefSrc() != null ? r.prefSrc() : dst)
                    : type == RouteType.ANYCAST ? selectSource(family, r.dev(), dst, null) : dst;
            return new RouteResult(type, 0, r, "lo", null, source, fib.table);
        }
        IpAddress gw = r.gateway();
        if (family == Family.IPV4 && (dst.isMulticast() || dst.isLimitedBroadcast())) {
            // __mkroute_output: multicast and limited broadcast go out on the device, never via a gateway.
            type = outputType(dst, type);
            gw = null;
        }
        IpAddress source = src != null ? src
                : r.prefSrc() != null ? r.prefSrc() : selectSource(family, r.dev(), dst, gw);
        return new RouteResult(type, 0, r, r.dev(), gw, source, fib.table);
    }

    /** __mkroute_output: the destination decides broadcast and multicast, whatever the route said. */
    private static RouteType outputType(IpAddress dst, RouteType routeType) {
        return dst.isLimitedBroadcast() ? RouteType.BROADCAST : dst.isMulticast() ? RouteType.MULTICAST : routeType;
    }

    /** What fib_lookup gives: a route and its table, or an error type with its errno. */
    private record Fib(Route route, int table, RouteType type, int errno) {
    }

    /**
     * fib_rules_lookup: rules in priority order; a table without a match or a THROW route continues with the
     * next rule; an error rule or route ends the walk; nothing at all is ENETUNREACH.
     */
    private Fib fibLookup(Family family, IpAddress dst, IpAddress src, long mark, String inDev, String oif) {
        for (PolicyRule rule : rules.get(family)) {
            if (!rule.matches(src, dst, mark & 0xFFFFFFFFL, inDev, oif)) {
                continue;
            }
            if (rule.action() != RouteType.UNICAST) {
                return new Fib(null, 0, rule.action(), RouteResult.errnoOf(rule.action()));
            }
            Route r = tableLookup(family, rule.table(), dst, oif);
            if (r == null || r.type() == RouteType.THROW) {
                continue;
            }
            return new Fib(r, rule.table(), r.type(), RouteResult.errnoOf(r.type()));
        }
        return new Fib(null, 0, RouteType.UNREACHABLE, RouteResult.ENETUNREACH);
    }

    /**
     * ip_route_input_slow for a unicast packet arriving on {@code dev}. Martian sources and destinations
     * (multicast or limited-broadcast source, 0.0.0.0, 127/8 without route_localnet) are EINVAL; a failed
     * lookup is EHOSTUNREACH when forwarding is off; local and broadcast destinations are delivered after
     * source validation; anything else needs forwarding, a unicast route, and a valid source.
     */
    private RouteResult input4(IpAddress dst, IpAddress src, long mark, String dev) {
        boolean forwarding = sysctlLong("net.ipv4.conf." + dev + ".forwarding") != 0;
        if (src.isMulticast() || src.isLimitedBroadcast()) {
            return RouteResult.error(RouteType.UNSPEC, RouteResult.EINVAL, null, 0);
        }
        if (dst.isLimitedBroadcast() || (src.isAny() && dst.isAny())) {
            return new RouteResult(RouteType.BROADCAST, 0, null, "lo", null, src, 0);
        }
        if (src.isAny() || dst.isAny() || dst.isLoopback() || src.isLoopback()) {
            return RouteResult.error(RouteType.UNSPEC, RouteResult.EINVAL, null, 0);
        }
        Fib fib = fibLookup(Family.IPV4, dst, src, mark, dev, null);
        if (fib.errno != 0) {
            return RouteResult.error(fib.type, forwarding ? fib.errno : RouteResult.EHOSTUNREACH, fib.route,
                    fib.table);
        }
        Route r = fib.route;
        if (r.type() == RouteType.BROADCAST || r.type() == RouteType.LOCAL) {
            if (r.type() == RouteType.LOCAL && !validSource(src, dev, 0)) {
                return RouteResult.error(RouteType.UNSPEC, RouteResult.EINVAL, r, fib.table);
            }
            if (r.type() == RouteType.BROADCAST && !validSource(src, dev, 0)) {
                return RouteResult.error(RouteType.UNSPEC, RouteResult.EINVAL, r, fib.table);
            }
            return new RouteResult(r.type(), 0, r, "lo", null, src, fib.table);
        }
        if (!forwarding) {
            return RouteResult.error(RouteType.UNREACHABLE, RouteResult.EHOSTUNREACH, r, fib.table);
        }
        if (r.type() != RouteType.UNICAST) {
            return RouteResult.error(RouteType.UNSPEC, RouteResult.EINVAL, r, fib.table);
        }
        Link out = linkByName.get(r.dev());
        if (!validSource(src, dev, out.index())) {
            return RouteResult.error(RouteType.UNSPEC, RouteResult.EINVAL, r, fib.table);
        }
        IpAddress gw = r.gateway();
        return new RouteResult(RouteType.UNICAST, 0, r, r.dev(), gw, src, fib.table);
    }

    /**
     * fib_validate_source, without the tclassid and IPsec cases. With rp_filter off, and the packet not going
     * back out where it came from with redirects on, only a source that is one of our own addresses is refused,
     * unless accept_local; custom rules or local routes force the full check. The full check looks the source
     * up (as destination, mark 0 unless src_valid_mark, rules seeing iif = the output device or lo): the route
     * must be unicast (or local with accept_local); rp_filter 1 wants it through the input device, 2 any route.
     */
    /** Whether the user added an IPv4 route of type local (a loop, not a stream: per packet in validSource). */
    private boolean hasUserLocalRoute() {
        for (Route r : userRoutes.get(Family.IPV4)) {
            if (r.type() == RouteType.LOCAL) {
                return true;
            }
        }
        return false;
    }

    boolean validSource(IpAddress src, String dev, int oifIndex) {
        int rpf = rpFilter(dev);
        Link in = existing(dev);
        if (rpf == 0 && (in.index() != oifIndex || !sendRedirects(dev))) {
            if (acceptLocal(dev)) {
                return true;
            }
            boolean customRules = rules.get(Family.IPV4).size() > 3;
            if (!customRules && !hasUserLocalRoute()) {
                return !isConfiguredAddress(src);
            }
        }
        long mark = 0;
        Link outLink = oifIndex == 0 ? null : linkByIndex(oifIndex);
        Fib back = fibLookup(Family.IPV4, src, IpAddress.any(Family.IPV4), mark,
                outLink != null ? outLink.name() : "lo", null);
        if (back.route == null || back.errno != 0) {
            return rpf == 0;
        }
        RouteType t = back.route.type();
        if (t != RouteType.UNICAST && (t != RouteType.LOCAL || !acceptLocal(dev))) {
            return false;
        }
        if (dev.equals(back.route.dev())) {
            return true;
        }
        if (in.addresses(Family.IPV4).isEmpty()) {
            return rpf == 0;
        }
        return rpf != 1;
    }

    private boolean isConfiguredAddress(IpAddress a) {
        for (Link l : linkByName.values()) {
            // the link's own list (addresses(Family) streams a copy): this runs per packet in validSource
            for (InterfaceAddress x : l.addresses()) {
                if (x.address().equals(a)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Longest-prefix match in one table; among routes of the same prefix the lowest metric wins. Routes
     * through a down interface are not usable; with an output device given, only routes through it.
     * IPv6 backtracks to shorter prefixes when the longest has no usable route, as fib6_lookup does.
     */
    Route tableLookup(Family family, int table, IpAddress dst, String oif) {
        Route best = null;
        for (Route r : routes(family, table)) {
            if (!dst.in(r.dst())) {
                continue;
            }
            if (r.dev() != null && !r.type().isError() && !isUp(r.dev())
                    && !(family == Family.IPV4 && r.type() == RouteType.LOCAL)) {
                continue;
            }
            // IPv4 error routes have no device and end the lookup; IPv6 ones hang on lo and, like every
            // route, must match the output device (fib6_table_lookup with RT6_LOOKUP_F_IFACE).
            if (oif != null && r.dev() != null && !oif.equals(r.dev())) {
                continue;
            }
            if (best == null || r.dst().prefixLength() > best.dst().prefixLength()
                    || r.dst().prefixLength() == best.dst().prefixLength() && r.metric() < best.metric()) {
                best = r;
            }
        }
        return best;
    }

    /**
     * The preferred source for a packet leaving by {@code dev}. IPv4 follows inet_select_addr: the primary
     * address of the device whose subnet holds the gateway (or destination), else its first address of
     * global scope, else a global address of any other interface. IPv6 follows RFC 6724 as ipv6_dev_get_saddr
     * does: same scope as the destination first, then the outgoing interface, then the longest common prefix.
     */
    IpAddress selectSource(Family family, String dev, IpAddress dst, IpAddress gw) {
        Link out = dev == null ? null : linkByName.get(dev);
        if (family == Family.IPV4) {
            IpAddress target = gw != null ? gw : dst;
            if (out != null) {
                for (InterfaceAddress a : out.addresses(Family.IPV4)) {
                    if (target.in(a.network())) {
                        return a.address();
                    }
                }
                for (InterfaceAddress a : out.addresses(Family.IPV4)) {
                    if (!a.address().isLoopback() || out.isLoopback()) {
                        return a.address();
                    }
                }
            }
            for (Link l : linkByName.values()) {
                for (InterfaceAddress a : l.addresses(Family.IPV4)) {
                    if (!a.address().isLoopback()) {
                        return a.address();
                    }
                }
            }
            return null;
        }
        IpAddress best = null;
        int bestScore = Integer.MIN_VALUE;
        // Loopback counts as link scope (__ipv6_addr_type); for link-scope destinations only addresses of the
        // outgoing interface are candidates (ipv6_dev_get_saddr).
        boolean dstLinkLocal = dst.isLinkLocal() || dst.isLoopback();
        for (Link l : linkByName.values()) {
            if (dstLinkLocal && dev != null && !l.name().equals(dev)) {
                continue;
            }
            for (InterfaceAddress a : effectiveAddresses(l, Family.IPV6)) {
                IpAddress ip = a.address();
                if (ip.equals(dst)) {
                    return ip; // RFC 6724 rule 1: prefer the destination itself
                }
                if (ip.isLoopback() && !dst.isLoopback()) {
                    continue;
                }
                if (ip.isLinkLocal() && !l.name().equals(dev)) {
                    continue;
                }
                int score = (ip.isLinkLocal() == dstLinkLocal ? 1 << 20 : 0)
                        + (l.name().equals(dev) ? 1 << 10 : 0) + ip.commonPrefix(dst);
                if (score > bestScore) {
                    best = ip;
                    bestScore = score;
                }
            }
        }
        return best;
    }

    /**
     * The address type the addrtype match sees. IPv4 follows inet_dev_addr_type: 0.0.0.0 and 255.255.255.255
     * are BROADCAST, 224/4 MULTICAST, else the type of the local table's route for it (counted only when its
     * device is {@code dev}, if one is given), else UNICAST. IPv6 follows xt_addrtype's match_type6: :: is
     * UNSPEC, ff00::/8 MULTICAST, else an output route lookup (through {@code dev} if given) decides: LOCAL,
     * ANYCAST, the error type of a reject route or UNREACHABLE without one, else UNICAST.
     */
    public RouteType addressType(IpAddress addr, String dev) {
        if (addr.family() == Family.IPV4) {
            if (addr.isAny() || addr.isLimitedBroadcast()) {
                return RouteType.BROADCAST;
            }
            if (addr.isMulticast()) {
                return RouteType.MULTICAST;
            }
            Route r = null;
            for (Route c : routes(Family.IPV4, TABLE_LOCAL)) {
                if (addr.in(c.dst()) && (r == null || c.dst().prefixLength() > r.dst().prefixLength())) {
                    r = c;
                }
            }
            if (r != null && (dev == null || dev.equals(r.dev()))) {
                return r.type();
            }
            return RouteType.UNICAST;
        }
        if (addr.isAny()) {
            return RouteType.UNSPEC;
        }
        if (addr.isMulticast()) {
            return RouteType.MULTICAST;
        }
        RouteResult res = lookup(Family.IPV6, addr, null, 0, null, dev);
        if (res.isError()) {
            return res.type() == RouteType.UNREACHABLE ? RouteType.UNREACHABLE : res.type();
        }
        if (res.type() == RouteType.LOCAL && dev != null && res.route() != null
                && !dev.equals(res.route().dev()) && !addr.isLoopback()) {
            return RouteType.UNICAST;
        }
        return res.type() == RouteType.LOCAL || res.type() == RouteType.ANYCAST ? res.type() : RouteType.UNICAST;
    }
}
