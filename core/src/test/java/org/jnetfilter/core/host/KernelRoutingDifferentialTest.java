package org.jnetfilter.core.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.testkit.KernelSide.must;
import static org.jnetfilter.core.testkit.KernelSide.run;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.testkit.KernelSide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The same HOST file built twice: by {@link HostFile} and by iproute2 in a network namespace of its own
 * (jnf-host-PID, veth interfaces whose peers sit up in jnf-host-PID-peer, both deleted afterwards). The
 * kernel's answers to {@code ip route get} (output, output through a device, input from a device with
 * forwarding, rp_filter and accept_local varied) for generated destinations and marks, and its tables
 * (local, main, numbered; after forwarding changes and a link going down and up), must equal ours. Runs
 * only as root with a working {@code ip netns} and JNF_SKIP_KERNEL_TESTS unset; otherwise it is skipped
 * with the reason printed.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KernelRoutingDifferentialTest {

    static final String HOST = """
            # the scenario: three legs up, one down, policy routing by mark and destination
            link add eth0 address 02:00:00:00:00:01
            link add eth1 address 02:00:00:00:00:02 mtu 9000
            link add eth2 address 02:00:00:00:00:03
            link add eth3 address 02:00:00:00:00:04
            link set eth0 up
            link set eth1 up
            link set eth2 up
            addr add 10.0.1.1/24 dev eth0
            addr add 10.0.1.2/24 dev eth0
            addr add 10.0.2.1/24 dev eth1
            addr add 192.168.7.9/30 dev eth2
            addr add 172.16.0.1/31 dev eth2
            addr add 192.168.50.5/32 dev eth2
            addr add 10.0.3.1/24 dev eth3
            -6 addr add 2001:db8:1::1/64 dev eth0
            -6 addr add 2001:db8:2::1/64 dev eth1
            -6 addr add 2001:db8:3::1/48 dev eth2
            route add default via 10.0.2.254 dev eth1
            route add 10.5.0.0/16 via 10.0.1.254
            route add 10.5.5.0/24 via 10.0.1.253 metric 20
            route add 10.5.5.0/24 via 10.0.2.253 metric 10
            route add 10.6.0.0/16 dev eth2 src 192.168.7.9
            route add blackhole 10.9.0.0/16
            route add unreachable 10.8.0.0/16
            route add prohibit 10.7.0.0/16
            route add default via 10.0.1.254 table 100
            route add 10.5.0.0/16 via 10.0.2.250 table 100
            route add throw 10.20.0.0/16 table 100
            route add unreachable default table 200
            rule add fwmark 0x1/0xff table 100
            rule add fwmark 0x2 table 200 priority 1000
            rule add fwmark 0x3 prohibit priority 1001
            rule add to 10.30.0.0/16 table 100 priority 500
            -6 route add default via 2001:db8:2::fe dev eth1
            -6 route add 2001:db8:99::/48 via 2001:db8:1::fe
            -6 route add blackhole 2001:db9::/32
            -6 route add prohibit 2001:dba::/32
            -6 route add unreachable 2001:dbb::/32
            -6 route add 2001:db8:5::/64 via 2001:db8:2::fd metric 10
            -6 route add 2001:db8:5::/64 via 2001:db8:1::fd metric 5
            -6 route add default via 2001:db8:1::fe table 100
            -6 rule add fwmark 0x1/0xff table 100
            neigh add 10.0.2.2 lladdr 02:00:00:00:02:02 dev eth1
            sysctl net.ipv6.conf.all.forwarding=1
            """;

    private static final long PID = ProcessHandle.current().pid();
    private static final String NS = "jnf-host-" + PID;
    private static final String PEER = NS + "-peer";
    private static String skipReason;
    private static Host model;

    private static List<String> cmd(String... words) {
        return new ArrayList<>(List.of(words));
    }

    @BeforeAll
    static void buildBoth() throws Exception {
        model = HostFile.parse("differential", HOST);
        skipReason = KernelSide.unavailable();
        if (skipReason == null && !KernelSide.addNamespaces(NS, PEER)) {
            skipReason = "`ip netns add' does not work here";
        }
        if (skipReason != null) {
            KernelSide.skipped("KernelRoutingDifferentialTest", skipReason, "root and ip netns");
            return;
        }
        must("ip", "netns", "exec", NS, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0");
        must("ip", "-n", NS, "link", "set", "lo", "up");
        int peer = 0;
        for (String raw : HOST.split("\n")) {
            int hash = raw.indexOf('#');
            String line = (hash >= 0 ? raw.substring(0, hash) : raw).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] w = line.split("\\s+");
            List<String> c;
            if (w[0].equals("sysctl")) {
                c = cmd("ip", "netns", "exec", NS, "sysctl", "-qw", w[1]);
            } else {
                c = cmd("ip", "-n", NS);
                c.addAll(List.of(w));
                if (w[0].equals("link") && w[1].equals("add")) {
                    String p = "p" + peer++;
                    c.addAll(List.of("type", "veth", "peer", "name", p, "netns", PEER));
                    must(c.toArray(String[]::new));
                    c = cmd("ip", "-n", PEER, "link", "set", p, "up");
                }
            }
            must(c.toArray(String[]::new));
        }
        settle(3);
    }

    /** IPv6 link-local addresses and their routes appear asynchronously; wait until the tables stop changing. */
    private static void settle(int linkLocals) throws InterruptedException {
        String last = "";
        for (int i = 0; i < 50; i++) {
            String now = run("ip", "-n", NS, "-6", "route", "show", "table", "all").stdout();
            long seen = now.lines().filter(l -> l.startsWith("local fe80::")).count();
            if (now.equals(last) && seen == linkLocals) {
                return;
            }
            last = now;
            Thread.sleep(200);
        }
    }

    @AfterAll
    static void deleteNamespaces() {
        if (skipReason == null) {
            KernelSide.deleteNamespaces(NS, PEER);
        }
    }

    private static void assumeKernel() {
        Assumptions.assumeTrue(skipReason == null, "kernel comparison skipped: " + skipReason);
    }

    // ---- tables ----

    private static String dstText(String word, Family f) {
        if (word.equals("default")) {
            return "default";
        }
        int slash = word.indexOf('/');
        IpAddress a = IpAddress.parse(slash >= 0 ? word.substring(0, slash) : word);
        int prefix = slash >= 0 ? Integer.parseInt(word.substring(slash + 1)) : f.addressBits();
        return prefix == f.addressBits() ? a.text() : a.text() + "/" + prefix;
    }

    private static String canon(String type, String dst, String via, String dev, String src, String metric) {
        StringBuilder sb = new StringBuilder(type).append(' ').append(dst);
        if (via != null) {
            sb.append(" via ").append(IpAddress.parse(via).text());
        }
        if (dev != null) {
            sb.append(" dev ").append(dev);
        }
        if (src != null) {
            sb.append(" src ").append(IpAddress.parse(src).text());
        }
        if (metric != null && !metric.equals("0")) {
            sb.append(" metric ").append(metric);
        }
        return sb.toString();
    }

    private static final List<String> TYPES = List.of("unicast", "local", "broadcast", "anycast", "multicast",
            "blackhole", "unreachable", "prohibit", "throw");

    /** One line of `ip route show`, reduced to type, destination, gateway, device, source and metric. */
    private static String kernelRouteLine(String line, Family f) {
        String[] w = line.strip().split("\\s+");
        int i = 0;
        String type = "unicast";
        if (TYPES.contains(w[0])) {
            type = w[0];
            i++;
        }
        String dst = dstText(w[i++], f);
        Map<String, String> kv = new TreeMap<>();
        while (i < w.length) {
            String k = w[i++];
            if (List.of("linkdown", "onlink", "uid").contains(k)) {
                continue;
            }
            if (i < w.length) {
                kv.put(k, w[i++]);
            }
        }
        return canon(type, dst, kv.get("via"), kv.get("dev"), kv.get("src"), kv.get("metric"));
    }

    private static String ourRouteLine(Route r) {
        String dst = r.dst().isAny() ? "default" : dstText(r.dst().saveText(), r.family());
        return canon(r.type().word(), dst, r.gateway() == null ? null : r.gateway().text(), r.dev(),
                r.prefSrc() == null ? null : r.prefSrc().text(), Integer.toString(r.metric()));
    }

    private static List<String> kernelTable(Family f, String table) {
        KernelSide.Result o = run("ip", "-n", NS, f == Family.IPV4 ? "-4" : "-6", "route", "show", "table", table);
        return o.stdout().lines().filter(l -> !l.isBlank()).map(l -> kernelRouteLine(l, f)).sorted().toList();
    }

    private static List<String> ourTable(Family f, int table) {
        return model.routes(f, table).stream().map(KernelRoutingDifferentialTest::ourRouteLine).sorted().toList();
    }

    @Test
    void localTablesEqualTheKernels() {
        assumeKernel();
        assertThat(ourTable(Family.IPV4, Host.TABLE_LOCAL)).isEqualTo(kernelTable(Family.IPV4, "local"));
        assertThat(ourTable(Family.IPV6, Host.TABLE_LOCAL)).isEqualTo(kernelTable(Family.IPV6, "local"));
    }

    @Test
    void mainAndNumberedTablesEqualTheKernels() {
        assumeKernel();
        for (Family f : Family.values()) {
            for (int t : new int[] {Host.TABLE_MAIN, 100, 200}) {
                assertThat(ourTable(f, t)).as(f + " table " + t).isEqualTo(kernelTable(f, Integer.toString(t)));
            }
        }
    }

    private static void assertAllTablesEqual(String when) {
        for (Family f : Family.values()) {
            for (int t : new int[] {Host.TABLE_LOCAL, Host.TABLE_MAIN, 100, 200}) {
                assertThat(ourTable(f, t)).as(when + ": " + f + " table " + t)
                        .isEqualTo(kernelTable(f, Integer.toString(t)));
            }
        }
    }

    /** Runs last: it changes both hosts. */
    @Test
    @Order(Integer.MAX_VALUE)
    void tablesFollowTheKernelWhenForwardingIsOffAndALinkGoesDown() throws Exception {
        assumeKernel();
        sysctlBoth("net.ipv6.conf.all.forwarding", "0");
        assertAllTablesEqual("IPv6 forwarding off");
        must("ip", "-n", NS, "link", "set", "eth0", "down");
        model.setUp("eth0", false);
        settle(2);
        assertAllTablesEqual("eth0 down");
        must("ip", "-n", NS, "link", "set", "eth0", "up");
        model.setUp("eth0", true);
        settle(3);
        assertAllTablesEqual("eth0 up again");
    }

    // ---- lookups ----

    private static String kernelGet(Family f, IpAddress dst, long mark, String... more) {
        List<String> c = cmd("ip", "-n", NS, f == Family.IPV4 ? "-4" : "-6", "route", "get", dst.text(), "mark",
                "0x" + Long.toHexString(mark));
        c.addAll(List.of(more));
        KernelSide.Result o = run(c.toArray(String[]::new));
        if (o.exit() != 0) {
            String e = o.stderr();
            int errno = e.contains("Network is unreachable") ? RouteResult.ENETUNREACH
                    : e.contains("No route to host") ? RouteResult.EHOSTUNREACH
                    : e.contains("Permission denied") ? RouteResult.EACCES
                    : e.contains("Invalid argument") ? RouteResult.EINVAL : -1;
            return errno < 0 ? "kernel error: " + e.strip() : "error " + errno;
        }
        String[] w = o.stdout().lines().findFirst().orElse("").strip().split("\\s+");
        int i = 0;
        String type = "unicast";
        if (TYPES.contains(w[0])) {
            type = w[0];
            i++;
        }
        i++;
        Map<String, String> kv = new TreeMap<>();
        while (i < w.length) {
            String k = w[i++];
            if (i < w.length) {
                kv.put(k, w[i++]);
            }
        }
        String src = List.of(more).contains("iif") ? null : kv.get("src");
        return canon(type, "", kv.get("via"), kv.get("dev"), src, null);
    }

    private static String ourGet(Family f, IpAddress dst, long mark) {
        return ourGet(f, dst, mark, null, null);
    }

    @Test
    void ipv4OutputLookupsThroughAGivenDeviceEqualTheKernels() {
        compareOifLookups(Family.IPV4);
    }

    @Test
    void ipv6OutputLookupsThroughAGivenDeviceEqualTheKernels() {
        compareOifLookups(Family.IPV6);
    }

    private void compareOifLookups(Family f) {
        assumeKernel();
        SplittableRandom rnd = new SplittableRandom(43);
        List<String> ours = new ArrayList<>();
        List<String> kernel = new ArrayList<>();
        for (IpAddress dst : destinations(f, rnd)) {
            for (String oif : List.of("eth0", "eth1", "eth2")) {
                for (long mark : new long[] {0, 1}) {
                    String q = "get " + dst.text() + " oif " + oif + " mark " + mark + " -> ";
                    RouteResult r = model.lookup(f, dst, null, mark, null, oif);
                    ours.add(q + (r.isError() ? "error " + r.errno()
                            : canon(r.type().word(), "", r.gateway() == null ? null : r.gateway().text(), r.dev(),
                                    r.source() == null ? null : r.source().text(), null)));
                    kernel.add(q + kernelGet(f, dst, mark, "oif", oif));
                }
            }
        }
        System.err.println("KernelRoutingDifferentialTest: compared " + kernel.size() + " " + f
                + " output route lookups with an output device with the kernel");
        assertThat(ours).containsExactlyElementsOf(kernel);
    }

    private static String ourGet(Family f, IpAddress dst, long mark, IpAddress src, String iif) {
        RouteResult r = model.lookup(f, dst, src, mark, iif, null);
        if (r.isError()) {
            return "error " + r.errno();
        }
        return canon(r.type().word(), "", r.gateway() == null ? null : r.gateway().text(), r.dev(),
                r.source() == null || iif != null ? null : r.source().text(), null);
    }

    /** Both hosts get the same sysctl. */
    private static void sysctlBoth(String name, String value) {
        must("ip", "netns", "exec", NS, "sysctl", "-qw", name + "=" + value);
        model.sysctl(name, value);
    }

    @Test
    void ipv6InputLookupsEqualTheKernels() {
        assumeKernel();
        List<String> srcs = List.of("2001:db8:1::9", "2001:db8:2::9", "2001:db8:77::1");
        List<String> dsts = List.of("2001:db8:1::1", "2001:db8:1::", "2001:db8:1::7", "2001:db8:2::7",
                "2001:db8:3::1", "2001:db8:5::5", "2001:db9::1", "2001:dba::1", "2001:dbb::1", "2606:4700::1",
                "2001:db8:99::1");
        List<String> ours = new ArrayList<>();
        List<String> kernel = new ArrayList<>();
        for (String s : srcs) {
            for (String d : dsts) {
                for (String iif : List.of("eth0", "eth1")) {
                    for (long mark : new long[] {0, 1}) {
                        String q = "get " + d + " from " + s + " iif " + iif + " mark " + mark + " -> ";
                        ours.add(q + ourGet(Family.IPV6, IpAddress.parse(d), mark, IpAddress.parse(s), iif));
                        kernel.add(q + kernelGet(Family.IPV6, IpAddress.parse(d), mark, "from", s, "iif", iif));
                    }
                }
            }
        }
        System.err.println("KernelRoutingDifferentialTest: compared " + kernel.size()
                + " IPv6 input route lookups with the kernel");
        assertVaried(kernel, "-> local ", "-> anycast ", " via ", "error 22", "error 13", "error 113");
        assertThat(ours).containsExactlyElementsOf(kernel);
    }

    @Test
    void ipv4InputLookupsEqualTheKernelsWithForwardingAndRpFilter() {
        assumeKernel();
        List<String> srcs = List.of("10.0.1.9", "10.0.2.9", "1.2.3.4", "10.9.1.1", "10.0.1.1", "127.0.0.1",
                "192.168.7.10");
        List<String> dsts = List.of("8.8.8.8", "10.0.1.7", "10.0.2.1", "10.0.1.255", "10.9.1.1", "10.8.1.1",
                "10.7.1.1", "10.5.5.5", "10.20.1.1", "10.30.1.1", "127.0.0.1", "10.0.3.1", "10.0.2.77");
        String[][] phases = {{}, {"net.ipv4.ip_forward", "1"}, {"net.ipv4.conf.all.rp_filter", "1"},
                {"net.ipv4.conf.all.rp_filter", "2"}, {"net.ipv4.conf.eth0.accept_local", "1"}};
        List<String> ours = new ArrayList<>();
        List<String> kernel = new ArrayList<>();
        try {
            for (String[] phase : phases) {
                if (phase.length > 0) {
                    sysctlBoth(phase[0], phase[1]);
                }
                for (String s : srcs) {
                    for (String d : dsts) {
                        for (String iif : List.of("eth0", "eth1")) {
                            for (long mark : new long[] {0, 1, 3}) {
                                IpAddress src = IpAddress.parse(s);
                                IpAddress dst = IpAddress.parse(d);
                                String q = String.join(" ", phase) + ": get " + d + " from " + s + " iif " + iif
                                        + " mark " + mark + " -> ";
                                ours.add(q + ourGet(Family.IPV4, dst, mark, src, iif));
                                kernel.add(q + kernelGet(Family.IPV4, dst, mark, "from", s, "iif", iif));
                            }
                        }
                    }
                }
            }
        } finally {
            sysctlBoth("net.ipv4.conf.eth0.accept_local", "0");
            sysctlBoth("net.ipv4.conf.all.rp_filter", "0");
            sysctlBoth("net.ipv4.ip_forward", "0");
        }
        System.err.println("KernelRoutingDifferentialTest: compared " + kernel.size()
                + " IPv4 input route lookups with the kernel");
        assertVaried(kernel, "-> local ", "-> broadcast ", " via ", "error 22", "error 113", "error 13");
        assertThat(ours).containsExactlyElementsOf(kernel);
    }

    private static IpAddress randomIn(SplittableRandom rnd, IpNet net) {
        if (net.family() == Family.IPV4) {
            long host = rnd.nextLong() & ~net.maskLo() & 0xFFFFFFFFL;
            return IpAddress.ipv4((int) (net.lo() | host));
        }
        return new IpAddress(Family.IPV6, net.hi() | (rnd.nextLong() & ~net.maskHi()),
                net.lo() | (rnd.nextLong() & ~net.maskLo()));
    }

    private static List<IpAddress> destinations(Family f, SplittableRandom rnd) {
        List<IpAddress> out = new ArrayList<>();
        List<String> fixed;
        List<String> nets;
        if (f == Family.IPV4) {
            fixed = List.of("10.0.1.1", "10.0.1.2", "10.0.1.0", "10.0.1.255", "10.0.2.255", "10.0.3.1", "10.0.3.7",
                    "192.168.7.9", "192.168.7.11", "192.168.7.8", "172.16.0.0", "172.16.0.1", "192.168.50.5",
                    "127.0.0.1", "127.9.8.7", "127.255.255.255", "224.0.0.1", "255.255.255.255", "8.8.8.8");
            nets = List.of("10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24", "10.5.0.0/16", "10.5.5.0/24", "10.6.0.0/16",
                    "10.7.0.0/16", "10.8.0.0/16", "10.9.0.0/16", "10.20.0.0/16", "10.30.0.0/16", "1.0.0.0/8",
                    "100.64.0.0/10", "192.0.0.0/3");
        } else {
            fixed = List.of("::1", "2001:db8:1::1", "2001:db8:2::1", "2001:db8:3::1", "2001:db8:1::", "2001:db8:3::",
                    "2001:db8:1::77", "2606:4700::1111");
            nets = List.of("2001:db8:1::/64", "2001:db8:2::/64", "2001:db8:3::/48", "2001:db8:5::/64",
                    "2001:db8:99::/48", "2001:db9::/32", "2001:dba::/32", "2001:dbb::/32", "2000::/3");
        }
        fixed.forEach(s -> out.add(IpAddress.parse(s)));
        for (String n : nets) {
            int slash = n.indexOf('/');
            IpNet net = IpAddress.parse(n.substring(0, slash)).net(Integer.parseInt(n.substring(slash + 1)));
            for (int k = 0; k < 3; k++) {
                out.add(randomIn(rnd, net));
            }
        }
        return out;
    }

    private void compareLookups(Family f, long[] marks, long seed) {
        assumeKernel();
        SplittableRandom rnd = new SplittableRandom(seed);
        List<String> ours = new ArrayList<>();
        List<String> kernel = new ArrayList<>();
        for (IpAddress dst : destinations(f, rnd)) {
            for (long mark : marks) {
                String q = "get " + dst.text() + " mark 0x" + Long.toHexString(mark) + " -> ";
                ours.add(q + ourGet(f, dst, mark));
                kernel.add(q + kernelGet(f, dst, mark));
            }
        }
        System.err.println("KernelRoutingDifferentialTest: compared " + kernel.size() + " " + f
                + " route lookups with the kernel");
        assertVaried(kernel, "-> local ", " via ", "error 22", "error 13", "error 113", "-> unicast  dev");
        assertThat(ours).containsExactlyElementsOf(kernel);
    }

    /** Guards the harness: the kernel's answers must cover every kind of outcome the scenario was built for. */
    private static void assertVaried(List<String> kernel, String... kinds) {
        for (String kind : kinds) {
            assertThat(kernel).as("kernel answers containing `" + kind + "'").anyMatch(l -> l.contains(kind));
        }
        assertThat(kernel).noneMatch(l -> l.contains("kernel error"));
    }

    @Test
    void ipv4LookupsEqualTheKernelsRouteGet() {
        compareLookups(Family.IPV4, new long[] {0, 1, 0x101, 0x102, 2, 3}, 41);
    }

    @Test
    void ipv6LookupsEqualTheKernelsRouteGet() {
        compareLookups(Family.IPV6, new long[] {0, 1, 0x201}, 61);
    }
}
