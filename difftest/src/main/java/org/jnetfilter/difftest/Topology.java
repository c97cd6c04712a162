package org.jnetfilter.difftest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The test network: three namespaces {@code a — dut — b} joined by two veth pairs. {@code dut} routes
 * between them (IPv4 and IPv6 forwarding); {@code a} and {@code b} are bare wire ends: their interfaces
 * are up, without addresses and with IPv6 disabled, so their own stacks never answer and every frame
 * the harness sees there was sent by {@code dut}. The hosts "behind" each side are static neighbours of
 * {@code dut} whose MAC is the wire end's, so {@code dut} never resolves a neighbour.
 *
 * <pre>
 *   ns A                 ns DUT                                 ns B
 *   eth0 ──────── veth-a 10.1.0.1/24 2001:db8:1::1/64 │ veth-b 10.2.0.1/24 2001:db8:2::1/64 ──────── eth0
 *   02:00:00:00:0a:01    02:00:00:00:0a:fe              02:00:00:00:0b:fe                 02:00:00:00:0b:01
 *   hosts 10.1.0.2-9, 2001:db8:1::2-9                   hosts 10.2.0.2-9, 2001:db8:2::2-9
 *                                                       10.96.0.0/12, 10.244.0.0/16 via 10.2.0.2
 * </pre>
 *
 * <p>{@code dut}'s sysctls: forwarding on; no ICMP redirects; ICMP rate limits off: no message type is limited
 * (net.ipv4.icmp_ratemask=0, net.ipv6.icmp.ratemask empty: neither the global credit nor a destination's peer is
 * consulted; icmp_ratelimit 0 and icmp_msgs_per_sec raised as well) so every error the kernel would send is sent,
 * whatever the pace of the test, and ip_error's own limit is the only one left (see {@link #NO_ROUTE_FIRST}); DAD off and no IPv6 link-local addresses (addr_gen_mode=1), so the
 * kernel sends no neighbour discovery of its own; reassembly timeouts longer than any run;
 * transmit checksum offload off on dut's veths, so the
 * frames captured carry the checksums a NIC would have put on the wire. {@link #hostFile()} is the same
 * host for jnf.
 */
public final class Topology implements AutoCloseable {
    public static final String A = "a";
    public static final String B = "b";
    public static final String DUT_A = "veth-a";
    public static final String DUT_B = "veth-b";
    public static final String WIRE = "eth0";
    public static final long MAC_A = 0x02_00_00_00_0a_01L;
    public static final long MAC_DUT_A = 0x02_00_00_00_0a_feL;
    public static final long MAC_B = 0x02_00_00_00_0b_01L;
    public static final long MAC_DUT_B = 0x02_00_00_00_0b_feL;
    /** 10.1.0.1, dut on side a. */
    public static final int DUT_A_V4 = 0x0a010001;
    public static final int DUT_B_V4 = 0x0a020001;
    /** The first host behind side a (10.1.0.2); hosts are 2..9. */
    public static final int HOST_A_V4 = 0x0a010002;
    public static final int HOST_B_V4 = 0x0a020002;
    public static final int HOSTS = 8;
    /**
     * The senders of IPv4 packets without a route: hosts 10.1.0.10 and up (10.2.0.10 and up on b), a pool of
     * {@link #NO_ROUTE_POOL} per side that no generated rule tells apart (rules name hosts 2-9, dut, the /24s).
     * ip_error limits its Net Unreachables per source (an inet_peer bucket of 5, refilled 1/s, kept by the kernel
     * across cases; net.ipv4.route.error_cost is global): each run of a case draws its senders afresh from the
     * pool ({@link Injection#salted}), so the kernel meets each with a full bucket, as jnetfilter's fresh
     * Datapath does, and the limit is still compared within a case. The bucket is also the peer icmp_send's
     * per-destination limit uses for the errors sent to that address, which is why no ICMP type is rate limited in
     * dut (icmp_ratemask 0): with icmp_ratelimit 0 and the default mask, icmp_send caps the peer's tokens at
     * 6 * 0 whenever a jiffy passed since the peer's last stamp, so a net unreachable whose ip_error and icmp_send
     * fall on two sides of a jiffy tick (microseconds apart, a tick every 4 ms) leaves its sender's next no-route
     * packet within a second unanswered. Linux 6.18 in a netns, pairs of no-route packets 0.5 ms apart from fresh
     * senders: 8 of 40,000 second packets unanswered with the default mask, 0 of 40,000 with icmp_ratemask 0
     * (issue 4's intermittent CI difference: one net unreachable more in jnetfilter). jnetfilter's IcmpErrors
     * shares the peer likewise at the default mask (IcmpRateLimit), outside this harness.
     */
    public static final int NO_ROUTE_FIRST = 10;
    public static final int NO_ROUTE_POOL = 240;
    /** How many pool senders one case's generator picks from (0..NO_ROUTE_SENDERS-1 before salting). */
    public static final int NO_ROUTE_SENDERS = 4;
    /** 2001:db8:1::/64 and 2001:db8:2::/64: high words; low word = host number (1 = dut). */
    public static final long NET_A_V6 = 0x2001_0db8_0001_0000L;
    public static final long NET_B_V6 = 0x2001_0db8_0002_0000L;

    private final String prefix;
    private final String nsA;
    private final String nsDut;
    private final String nsB;
    private boolean up;

    private Topology(String prefix) {
        this.prefix = prefix;
        this.nsA = prefix + "-a";
        this.nsDut = prefix + "-dut";
        this.nsB = prefix + "-b";
    }

    /** Why the kernel side cannot run here, or null when it can (root, ip netns, iptables-legacy, conntrack). */
    public static String unavailableReason() {
        if (System.getenv("JNF_SKIP_KERNEL_TESTS") != null) {
            return "JNF_SKIP_KERNEL_TESTS is set";
        }
        if (!System.getProperty("os.name", "").equals("Linux")) {
            return "not Linux";
        }
        if (!Shell.run("id", "-u").stdout().strip().equals("0")) {
            return "not root";
        }
        for (String tool : List.of("ip", "ethtool", "iptables-legacy-restore", "ip6tables-legacy-restore",
                "iptables-legacy-save", "ip6tables-legacy-save", "conntrack")) {
            if (!Shell.run("sh", "-c", "command -v " + tool).ok()) {
                return tool + " is not installed";
            }
        }
        return null;
    }

    /**
     * Creates the namespaces (PREFIX-XXXXXX-{a,dut,b}; PREFIX is {@code jnf-dt} unless the property
     * {@code jnf.difftest.netns} names another) and links; close() deletes them.
     */
    public static Topology create(long seed) {
        String id = Long.toHexString(new SplittableRandom(seed ^ System.nanoTime()).nextLong() & 0xFFFFFFL);
        Topology t = new Topology(System.getProperty("jnf.difftest.netns", "jnf-dt") + "-" + id);
        try {
            t.build();
            // let the MLD reports of the new addresses (1 ms interval, robustness 2) leave before any case
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            t.close();
            throw new IllegalStateException("interrupted while the topology settled", e);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    public String dutNamespace() {
        return nsDut;
    }

    public String namespace(String side) {
        return side.equals(A) ? nsA : nsB;
    }

    private void build() {
        up = true;
        for (String ns : List.of(nsA, nsDut, nsB)) {
            Shell.must("ip", "netns", "add", ns);
        }
        for (String ns : List.of(nsA, nsB)) {
            Shell.must("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1");
        }
        Shell.must("ip", "netns", "exec", nsDut, "sysctl", "-qw",
                "net.ipv6.conf.default.addr_gen_mode=1", "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0", "net.ipv4.icmp_ratelimit=0",
                "net.ipv6.icmp.ratelimit=0", "net.ipv4.icmp_ratemask=0", "net.ipv6.icmp.ratemask=", "net.ipv4.icmp_msgs_per_sec=1000000",
                "net.ipv4.icmp_msgs_burst=1000000",
                // MLD reports for the groups the addresses join are sent after a random delay up to this
                // interval (default 1 s) and once more: make them go out while the topology is built, not
                // in the middle of the first case (a 136-byte MLDv2 report counted in OUTPUT, seen in CI)
                "net.ipv6.conf.default.mldv2_unsolicited_report_interval=1",
                "net.ipv6.conf.default.mldv1_unsolicited_report_interval=1",
                "net.ipv6.conf.all.mldv2_unsolicited_report_interval=1",
                "net.ipv6.conf.all.mldv1_unsolicited_report_interval=1");
        // reassembly queues left incomplete (shrinking drops fragments) would expire 30-60 s later, during
        // some other case, with a Time Exceeded through OUTPUT: make them outlive any run instead
        Shell.must("ip", "netns", "exec", nsDut, "sysctl", "-qw", "net.ipv4.ipfrag_time=86400",
                "net.ipv6.ip6frag_time=86400");
        // conntrack's IPv6 defragmentation has its own timeout, registered once conntrack is used
        Shell.must("ip", "netns", "exec", nsDut, "ip6tables-legacy", "-A", "INPUT", "-m", "conntrack", "--ctstate",
                "NEW");
        Shell.must("ip", "netns", "exec", nsDut, "sysctl", "-qw", "net.netfilter.nf_conntrack_frag6_timeout=86400");
        Shell.must("ip", "netns", "exec", nsDut, "ip6tables-legacy", "-F", "INPUT");
        Shell.must("ip", "-n", nsDut, "link", "add", DUT_A, "address", mac(MAC_DUT_A), "type", "veth", "peer",
                "name", WIRE, "address", mac(MAC_A), "netns", nsA);
        Shell.must("ip", "-n", nsDut, "link", "add", DUT_B, "address", mac(MAC_DUT_B), "type", "veth", "peer",
                "name", WIRE, "address", mac(MAC_B), "netns", nsB);
        for (String ns : List.of(nsA, nsB)) {
            Shell.must("ip", "-n", ns, "link", "set", WIRE, "up");
        }
        // veth offloads the transport checksums of dut's own packets (CHECKSUM_PARTIAL): the frames
        // captured would carry a half-done checksum. With tx checksumming off the stack completes them.
        for (String dev : List.of(DUT_A, DUT_B)) {
            Shell.must("ip", "netns", "exec", nsDut, "ethtool", "-K", dev, "tx", "off");
        }
        Shell.must("ip", "-n", nsDut, "link", "set", "lo", "up");
        // the HOST file's lines are iproute2 commands: apply them to dut as they are (the neighbours in one batch)
        StringBuilder neighbours = new StringBuilder();
        for (String line : hostFile().split("\n")) {
            String body = line.contains("#") ? line.substring(0, line.indexOf('#')).strip() : line.strip();
            if (body.isEmpty()) {
                continue;
            }
            List<String> cmd = new ArrayList<>();
            if (body.startsWith("sysctl ")) {
                cmd.addAll(List.of("ip", "netns", "exec", nsDut, "sysctl", "-qw", body.substring(7)));
            } else {
                cmd.addAll(List.of("ip", "-n", nsDut));
                String[] w = body.split("\\s+");
                for (String word : w) {
                    cmd.add(word);
                }
                if (w[0].equals("link") && w[1].equals("add")) {
                    continue; // created above as veth pairs with these names and addresses
                }
                if (body.contains(" addr add ") && body.startsWith("-6")) {
                    cmd.add("nodad");
                }
                if (w[0].equals("neigh") || w[0].equals("-6") && w[1].equals("neigh")) {
                    // ip -batch takes no -6 per line; the address says the family
                    neighbours.append(body.startsWith("-6 ") ? body.substring(3) : body).append(" nud permanent\n");
                    continue;
                }
            }
            Shell.must(null, cmd);
        }
        Shell.must(neighbours.toString(), List.of("ip", "-n", nsDut, "-batch", "-"));
    }

    /** dut as a jnf HOST file (core HostFile format); also the script {@link #create} applies to dut. */
    public static String hostFile() {
        StringBuilder s = new StringBuilder("""
                # the dut of the kernel differential harness: a — dut — b
                link add veth-a address 02:00:00:00:0a:fe
                link add veth-b address 02:00:00:00:0b:fe
                sysctl net.ipv4.ip_forward=1
                sysctl net.ipv6.conf.all.forwarding=1
                link set veth-a up
                link set veth-b up
                # no ICMP redirects: the kernel limits them per source (inet_peer) across cases, so its answer
                # would depend on earlier cases (redirects are compared in DatapathKernelFactsTest instead)
                sysctl net.ipv4.conf.all.send_redirects=0
                sysctl net.ipv4.conf.veth-a.send_redirects=0
                sysctl net.ipv4.conf.veth-b.send_redirects=0
                addr add 10.1.0.1/24 dev veth-a
                addr add 10.2.0.1/24 dev veth-b
                -6 addr add 2001:db8:1::1/64 dev veth-a
                -6 addr add 2001:db8:2::1/64 dev veth-b
                # the Kubernetes-shaped rulesets' cluster and pod networks are behind b
                route add 10.96.0.0/12 via 10.2.0.2 dev veth-b
                route add 10.244.0.0/16 via 10.2.0.2 dev veth-b
                """);
        for (int h = 0; h < NO_ROUTE_POOL; h++) {
            s.append("neigh add 10.1.0.").append(NO_ROUTE_FIRST + h).append(" lladdr ").append(mac(MAC_A))
                    .append(" dev veth-a\n");
            s.append("neigh add 10.2.0.").append(NO_ROUTE_FIRST + h).append(" lladdr ").append(mac(MAC_B))
                    .append(" dev veth-b\n");
        }
        for (int h = 0; h < HOSTS; h++) {
            s.append("neigh add 10.1.0.").append(2 + h).append(" lladdr ").append(mac(MAC_A)).append(" dev veth-a\n");
            s.append("neigh add 10.2.0.").append(2 + h).append(" lladdr ").append(mac(MAC_B)).append(" dev veth-b\n");
            s.append("-6 neigh add 2001:db8:1::").append(2 + h).append(" lladdr ").append(mac(MAC_A))
                    .append(" dev veth-a\n");
            s.append("-6 neigh add 2001:db8:2::").append(2 + h).append(" lladdr ").append(mac(MAC_B))
                    .append(" dev veth-b\n");
        }
        return s.toString();
    }

    static String mac(long mac) {
        StringBuilder s = new StringBuilder();
        for (int i = 5; i >= 0; i--) {
            s.append(String.format("%02x", (mac >>> (8 * i)) & 0xFF));
            if (i > 0) {
                s.append(':');
            }
        }
        return s.toString();
    }

    /** Runs a command inside dut (ip netns exec). */
    public Shell.Result inDut(String stdin, String... command) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", nsDut));
        cmd.addAll(List.of(command));
        return Shell.run(stdin, cmd);
    }

    public void writeHostFile(Path path) throws java.io.IOException {
        Files.writeString(path, hostFile());
    }

    @Override
    public void close() {
        if (!up) {
            return;
        }
        up = false;
        for (String ns : List.of(nsA, nsDut, nsB)) {
            Shell.run("ip", "netns", "del", ns);
        }
    }

    @Override
    public String toString() {
        return prefix;
    }
}
