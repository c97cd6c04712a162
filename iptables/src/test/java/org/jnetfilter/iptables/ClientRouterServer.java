package org.jnetfilter.iptables;

import static org.jnetfilter.core.testkit.KernelSide.in;
import static org.jnetfilter.core.testkit.KernelSide.must;

import org.jnetfilter.core.testkit.KernelSide;

/**
 * The namespaces of a kernel test of a router: a client side and a server side that only send and record crafted
 * frames (no IPv6 of their own, no addresses), and the router (dut) between them, forwarding both families, with
 * 10.0.1.1/24 and fd01::1/64 toward the client, 10.0.2.1/24 and fd02::1/64 toward the server, rp_filter off, and
 * permanent neighbours. Shared by the kernel differential tests of conntrack helpers and SYNPROXY.
 */
final class ClientRouterServer {
    final String clientNs;
    final String dut;
    final String serverNs;
    /** The router's interfaces toward the client and the server, and the sides' own. */
    final String dc;
    final String ds;
    final String pc;
    final String ps;

    ClientRouterServer(String clientNs, String dut, String serverNs, String dc, String ds, String pc, String ps) {
        this.clientNs = clientNs;
        this.dut = dut;
        this.serverNs = serverNs;
        this.dc = dc;
        this.ds = ds;
        this.pc = pc;
        this.ps = ps;
    }

    /**
     * Null when this machine can run {@code test} (root with iptables-legacy, ip6tables-legacy, conntrack and python3,
     * and the three namespaces added); otherwise the reason, printed as the test's skip.
     */
    static String addNamespaces(String test, String clientNs, String dut, String serverNs) {
        String reason = KernelSide.unavailable("iptables-legacy", "ip6tables-legacy", "conntrack", "python3");
        if (reason == null && !KernelSide.addNamespaces(clientNs, dut, serverNs)) {
            reason = "`ip netns add' does not work here";
        }
        if (reason != null) {
            KernelSide.skipped(test, reason, "root, ip netns, iptables-legacy, ip6tables-legacy, conntrack, python3");
        }
        return reason;
    }

    /** Stops the side peers that were started (null: not started) and deletes the three namespaces. */
    static void tearDown(String clientNs, String dut, String serverNs,
            KernelConntrackHelpersDifferentialTest.Peer... peers) throws InterruptedException {
        for (KernelConntrackHelpersDifferentialTest.Peer p : peers) {
            if (p != null) {
                p.close();
            }
        }
        KernelSide.deleteNamespaces(clientNs, dut, serverNs);
    }

    /**
     * Makes the veth pairs and configures the three namespaces (already added) with these MACs; {@code neighbours}
     * are {address, MAC, router interface} rows.
     */
    void configure(String dcMac, String dsMac, String clientMac, String serverMac, String[][] neighbours) {
        must("ip", "link", "add", pc, "type", "veth", "peer", "name", dc);
        must("ip", "link", "set", pc, "netns", clientNs);
        must("ip", "link", "set", dc, "netns", dut);
        must("ip", "link", "add", ps, "type", "veth", "peer", "name", ds);
        must("ip", "link", "set", ps, "netns", serverNs);
        must("ip", "link", "set", ds, "netns", dut);
        must("ip", "-n", dut, "link", "set", dc, "address", dcMac);
        must("ip", "-n", dut, "link", "set", ds, "address", dsMac);
        must("ip", "-n", clientNs, "link", "set", pc, "address", clientMac);
        must("ip", "-n", serverNs, "link", "set", ps, "address", serverMac);
        for (String ns : new String[] {clientNs, serverNs}) {
            // the sides only send crafted frames: no IPv6 of their own (no router or neighbour solicitations)
            must(in(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"));
            must(in(ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"));
        }
        for (String s : new String[] {"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
            "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0", "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1"}) {
            must(in(dut, "sysctl", "-qw", s));
        }
        must("ip", "-n", dut, "addr", "add", "10.0.1.1/24", "dev", dc);
        must("ip", "-n", dut, "addr", "add", "fd01::1/64", "dev", dc, "nodad");
        must("ip", "-n", dut, "addr", "add", "10.0.2.1/24", "dev", ds);
        must("ip", "-n", dut, "addr", "add", "fd02::1/64", "dev", ds, "nodad");
        for (String[] l : new String[][] {{clientNs, pc}, {serverNs, ps}, {dut, dc}, {dut, ds}, {dut, "lo"}}) {
            must("ip", "-n", l[0], "link", "set", l[1], "up");
        }
        for (String[] n : neighbours) {
            must("ip", "-n", dut, "neigh", "replace", n[0], "lladdr", n[1], "dev", n[2], "nud", "permanent");
        }
    }
}
