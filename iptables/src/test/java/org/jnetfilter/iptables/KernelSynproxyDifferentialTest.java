package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.testkit.KernelSide.in;
import static org.jnetfilter.core.testkit.KernelSide.must;
import static org.jnetfilter.iptables.TcpSegment.ACK;
import static org.jnetfilter.iptables.TcpSegment.PSH;
import static org.jnetfilter.iptables.TcpSegment.SYN;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.ConntrackModule;
import org.jnetfilter.core.conntrack.Synproxy;
import org.jnetfilter.core.conntrack.SynproxyModule;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.PacketSink;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.testkit.KernelSide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * SYNPROXY against Linux: a client, a router (dut) and a server in network namespaces of their own; the router has
 * the usual SYNPROXY setup on FORWARD ({@link SynproxyDatapathTest#rules}). Both sides are crafted frames (AF_PACKET):
 * the client's SYN, its ACK of the cookie, a request; the server's SYN-ACK and an answer; then an ACK with a bad
 * cookie on another port. What the router sends on each side is compared with what jnetfilter's datapath sends for
 * the same frames, field by field: everything but the fields that come from the cookie or the proxy's timestamp
 * clock, which are compared by rule (the same offset from the cookie, from the proxy's timestamp, or from its
 * negation; the timestamp cookie's low six bits equal). The client's packets that echo the cookie carry the kernel's
 * cookie to the kernel and jnetfilter's to jnetfilter. Also compared: the rules' counters ({@code iptables-save -c}),
 * {@code conntrack -L} (timeouts aside) and {@code /proc/net/stat/synproxy} summed over the CPUs.
 * Runs only as root with ip netns, iptables-legacy, ip6tables-legacy, conntrack and python3, and
 * JNF_SKIP_KERNEL_TESTS unset; otherwise it is skipped with a message on stderr.
 */
class KernelSynproxyDifferentialTest {
    private static final long PID = ProcessHandle.current().pid() % 100000;
    private static final String CLIENT_NS = "jnf-synproxy-c-" + PID;
    private static final String DUT = "jnf-synproxy-d-" + PID;
    private static final String SERVER_NS = "jnf-synproxy-s-" + PID;
    private static final String DC = "ydc" + PID;
    private static final String DS = "yds" + PID;
    private static final String PC = "ypc" + PID;
    private static final String PS = "yps" + PID;
    private static final String DC_MAC = "02:00:00:00:01:01";
    private static final String DS_MAC = "02:00:00:00:02:01";
    private static final String CLIENT_MAC = "02:00:00:00:01:02";
    private static final String SERVER_MAC = "02:00:00:00:02:02";

    private static String skipReason;
    private static KernelConntrackHelpersDifferentialTest.Peer client;
    private static KernelConntrackHelpersDifferentialTest.Peer server;

    @BeforeAll
    static void namespaces() throws Exception {
        skipReason = KernelSide.unavailable("iptables-legacy", "ip6tables-legacy", "conntrack", "python3");
        if (skipReason == null && !KernelSide.addNamespaces(CLIENT_NS, DUT, SERVER_NS)) {
            skipReason = "`ip netns add' does not work here";
        }
        if (skipReason != null) {
            KernelSide.skipped("KernelSynproxyDifferentialTest", skipReason,
                    "root, ip netns, iptables-legacy, ip6tables-legacy, conntrack, python3");
            return;
        }
        must("ip", "link", "add", PC, "type", "veth", "peer", "name", DC);
        must("ip", "link", "set", PC, "netns", CLIENT_NS);
        must("ip", "link", "set", DC, "netns", DUT);
        must("ip", "link", "add", PS, "type", "veth", "peer", "name", DS);
        must("ip", "link", "set", PS, "netns", SERVER_NS);
        must("ip", "link", "set", DS, "netns", DUT);
        must("ip", "-n", DUT, "link", "set", DC, "address", DC_MAC);
        must("ip", "-n", DUT, "link", "set", DS, "address", DS_MAC);
        must("ip", "-n", CLIENT_NS, "link", "set", PC, "address", CLIENT_MAC);
        must("ip", "-n", SERVER_NS, "link", "set", PS, "address", SERVER_MAC);
        for (String ns : new String[] {CLIENT_NS, SERVER_NS}) {
            must(in(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"));
            must(in(ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"));
        }
        for (String s : new String[] {"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
            "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0", "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1"}) {
            must(in(DUT, "sysctl", "-qw", s));
        }
        must("ip", "-n", DUT, "addr", "add", "10.0.1.1/24", "dev", DC);
        must("ip", "-n", DUT, "addr", "add", "fd01::1/64", "dev", DC, "nodad");
        must("ip", "-n", DUT, "addr", "add", "10.0.2.1/24", "dev", DS);
        must("ip", "-n", DUT, "addr", "add", "fd02::1/64", "dev", DS, "nodad");
        for (String[] l : new String[][] {{CLIENT_NS, PC}, {SERVER_NS, PS}, {DUT, DC}, {DUT, DS}, {DUT, "lo"}}) {
            must("ip", "-n", l[0], "link", "set", l[1], "up");
        }
        for (String[] n : neighbours()) {
            must("ip", "-n", DUT, "neigh", "replace", n[0], "lladdr", n[1], "dev", n[2], "nud", "permanent");
        }
        client = new KernelConntrackHelpersDifferentialTest.Peer(CLIENT_NS, PC);
        server = new KernelConntrackHelpersDifferentialTest.Peer(SERVER_NS, PS);
    }

    private static String[][] neighbours() {
        return new String[][] {{"10.0.1.2", CLIENT_MAC, DC}, {"fd01::2", CLIENT_MAC, DC}, {"10.0.2.2", SERVER_MAC, DS},
            {"fd02::2", SERVER_MAC, DS}};
    }

    private static String hostFile() {
        StringBuilder sb = new StringBuilder();
        sb.append("link add ").append(DC).append(" address ").append(DC_MAC).append('\n');
        sb.append("addr add 10.0.1.1/24 dev ").append(DC).append('\n');
        sb.append("addr add fd01::1/64 dev ").append(DC).append('\n');
        sb.append("link add ").append(DS).append(" address ").append(DS_MAC).append('\n');
        sb.append("addr add 10.0.2.1/24 dev ").append(DS).append('\n');
        sb.append("addr add fd02::1/64 dev ").append(DS).append('\n');
        for (String[] n : neighbours()) {
            sb.append("neigh add ").append(n[0]).append(" lladdr ").append(n[1]).append(" dev ").append(n[2])
                    .append('\n');
        }
        sb.append("sysctl net.ipv4.ip_forward=1\nsysctl net.ipv6.conf.all.forwarding=1\n");
        sb.append("sysctl net.ipv4.conf.all.rp_filter=0\nsysctl net.netfilter.nf_conntrack_tcp_loose=0\n");
        return sb.toString();
    }

    @AfterAll
    static void cleanUp() throws InterruptedException {
        if (skipReason != null) {
            return;
        }
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
        KernelSide.deleteNamespaces(CLIENT_NS, DUT, SERVER_NS);
    }

    private static void assumeKernel() {
        Assumptions.assumeTrue(skipReason == null, () -> "kernel differential test skipped: " + skipReason);
    }

    /** One side of the comparison: sends the session's frames, says what the router sent on each side. */
    interface Router {
        List<TcpSegment> fromClient(TcpSegment t) throws Exception;

        List<TcpSegment> fromServer(TcpSegment t) throws Exception;

        /** What the router sent the client since the last call. */
        List<TcpSegment> toClient() throws Exception;
    }

    static final long C_MAC = 0x020000000102L;
    static final long DC_MAC_L = 0x020000000101L;
    static final long DS_MAC_L = 0x020000000201L;
    static final long S_MAC = 0x020000000202L;

    /** The router's frames toward the server after {@code t} arrived from the client, and so on. */
    static final class KernelRouter implements Router {
        @Override
        public List<TcpSegment> fromClient(TcpSegment t) throws Exception {
            client.send(t.frame(DC_MAC_L, C_MAC));
            Thread.sleep(100);
            return parse(server.dump());
        }

        @Override
        public List<TcpSegment> fromServer(TcpSegment t) throws Exception {
            server.send(t.frame(DS_MAC_L, S_MAC));
            Thread.sleep(100);
            return parse(server.dump());
        }

        @Override
        public List<TcpSegment> toClient() throws Exception {
            return parse(client.dump());
        }

        private static List<TcpSegment> parse(List<byte[]> frames) {
            List<TcpSegment> out = new ArrayList<>();
            for (byte[] f : frames) {
                out.add(TcpSegment.parse(f));
            }
            return out;
        }
    }

    static final class JnfRouter implements Router {
        final Host host;
        final Datapath dp;
        final Conntrack conntrack;
        final List<TcpSegment> toClient = new ArrayList<>();
        final List<TcpSegment> toServer = new ArrayList<>();
        final Ruleset rules;
        long now = 5_000_000_000L;

        JnfRouter(Family family, String rules) throws Exception {
            host = HostFile.parseRunning("dut", hostFile());
            dp = new Datapath(host, new PacketSink() {
                @Override
                public void transmit(String ifname, MemorySegment frame) {
                    TcpSegment t = TcpSegment.parse(frame.toArray(ValueLayout.JAVA_BYTE));
                    if (t != null) {
                        (ifname.equals(DC) ? toClient : toServer).add(t);
                    }
                }

                @Override
                public void deliverLocal(String ifname, MemorySegment ipPacket) {
                }
            });
            dp.random(new SplittableRandom(11));
            conntrack = new Conntrack(host);
            dp.module(new ConntrackModule(conntrack));
            dp.module(new SynproxyModule());
            this.rules = SaveFiles.read(family, rules);
            dp.rules(family, this.rules);
        }

        @Override
        public List<TcpSegment> fromClient(TcpSegment t) {
            now += 100_000_000L;
            dp.receive(DC, MemorySegment.ofArray(t.frame(DC_MAC_L, C_MAC)), true, now, Trace.NONE);
            return take(toServer);
        }

        @Override
        public List<TcpSegment> fromServer(TcpSegment t) {
            now += 100_000_000L;
            dp.receive(DS, MemorySegment.ofArray(t.frame(DS_MAC_L, S_MAC)), true, now, Trace.NONE);
            return take(toServer);
        }

        @Override
        public List<TcpSegment> toClient() {
            return take(toClient);
        }

        private static List<TcpSegment> take(List<TcpSegment> l) {
            List<TcpSegment> r = new ArrayList<>(l);
            l.clear();
            return r;
        }
    }

    /** What one router did with the session: every segment it sent, in order, with the side it went to. */
    record Run(List<String> sides, List<TcpSegment> segments, int cookie, int its) {
    }

    static Run session(Router r, boolean v6) throws Exception {
        List<String> sides = new ArrayList<>();
        List<TcpSegment> segs = new ArrayList<>();
        java.util.function.BiConsumer<String, List<TcpSegment>> note = (side, l) -> {
            for (TcpSegment t : l) {
                sides.add(side);
                segs.add(t);
            }
        };
        note.accept("server", r.fromClient(SynproxyDatapathTest.client(v6, 1000000, 0, SYN, 64240,
                SynproxyDatapathTest.CLIENT_OPTIONS)));
        List<TcpSegment> synAcks = r.toClient();
        note.accept("client", synAcks);
        assertThat(synAcks).as("the cookie SYN-ACK").hasSize(1);
        int cookie = synAcks.get(0).seq();
        int its = synAcks.get(0).timestamps()[0];
        note.accept("server", r.fromClient(SynproxyDatapathTest.client(v6, 1000001, cookie + 1, ACK, 502,
                SynproxyDatapathTest.ts(5001, its))));
        note.accept("client", r.toClient());
        int serverIsn = 0x55667788;
        int serverTs = 0x40000000;
        note.accept("server", r.fromServer(SynproxyDatapathTest.server(v6, serverIsn, 1000001, SYN | ACK, 65160,
                "020405b4 0402080a" + String.format("%08x%08x", serverTs, 5001) + " 0103030a")));
        note.accept("client", r.toClient());
        note.accept("server", r.fromClient(SynproxyDatapathTest.client(v6, 1000001, cookie + 1, ACK | PSH, 502,
                SynproxyDatapathTest.ts(5002, its)).withPayload("hello")));
        note.accept("client", r.toClient());
        note.accept("server", r.fromServer(SynproxyDatapathTest.server(v6, serverIsn + 1, 1000006, ACK | PSH, 64,
                SynproxyDatapathTest.ts(serverTs + 7, 5002)).withPayload("world")));
        note.accept("client", r.toClient());
        // another client whose ACK echoes no cookie of ours
        TcpSegment bad = SynproxyDatapathTest.client(v6, 2000001, 0x12345678, ACK, 502, "");
        note.accept("server", r.fromClient(new TcpSegment(v6, bad.src(), bad.dst(), 64, 1, true, 40001, 80, bad.seq(),
                bad.ack(), ACK, 502, new byte[0], new byte[0])));
        note.accept("client", r.toClient());
        return new Run(sides, segs, cookie, its);
    }

    enum Case {
        IPV4_FORWARD(Family.IPV4), IPV6_FORWARD(Family.IPV6);

        final Family family;

        Case(Family f) {
            family = f;
        }
    }

    @ParameterizedTest
    @EnumSource(Case.class)
    void theRouterSendsWhatLinuxSendsOnBothSides(Case c) throws Exception {
        assumeKernel();
        boolean v6 = c.family == Family.IPV6;
        String rules = SynproxyDatapathTest.rules("FORWARD", SynproxyDatapathTest.DEFAULT_TARGET);
        String restore = v6 ? "ip6tables-legacy-restore" : "iptables-legacy-restore";
        String save = v6 ? "ip6tables-legacy-save" : "iptables-legacy-save";
        KernelSide.Result loaded = KernelSide.run(30, rules, List.of(in(DUT, restore)));
        assertThat(loaded.exit()).as("%s: %s", restore, loaded.stderr()).isZero();
        must(in(DUT, "sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_loose=0"));
        KernelSide.run(in(DUT, "conntrack", "-F"));
        long[] before = procStat();
        client.dump();
        server.dump();

        Run kernel = session(new KernelRouter(), v6);
        String kernelConntrack = KernelSide.run(in(DUT, "conntrack", "-L", "-f", v6 ? "ipv6" : "ipv4")).stdout();
        String kernelSave = KernelSide.run(in(DUT, save, "-c")).stdout();
        long[] after = procStat();
        KernelSide.run(30, emptyTables(), List.of(in(DUT, restore)));

        JnfRouter jnfRouter = new JnfRouter(c.family, rules);
        Run jnf = session(jnfRouter, v6);

        assertThat(jnf.sides()).as("where the router sent what").isEqualTo(kernel.sides());
        for (int i = 0; i < kernel.segments().size(); i++) {
            TcpSegment k = kernel.segments().get(i);
            TcpSegment j = jnf.segments().get(i);
            String what = c + " segment " + i + " to the " + kernel.sides().get(i);
            assertThat(j.fixedFields()).as(what).isEqualTo(k.fixedFields());
            sameByRule(what + ": seq", k.seq(), j.seq(), kernel, jnf);
            sameByRule(what + ": ack", k.ack(), j.ack(), kernel, jnf);
            int[] kt = k.timestamps();
            int[] jt = j.timestamps();
            assertThat(jt == null).as(what + ": timestamps").isEqualTo(kt == null);
            if (kt != null) {
                sameByRule(what + ": tsval", kt[0], jt[0], kernel, jnf);
                sameByRule(what + ": tsecr", kt[1], jt[1], kernel, jnf);
            }
        }
        assertThat(jnf.its() & 0x3f).as("the timestamp cookie's option bits").isEqualTo(kernel.its() & 0x3f);
        assertThat(KernelConntrackHelpersDifferentialTest.counters(SaveFiles.write(jnfRouter.rules)))
                .as("rule counters").isEqualTo(KernelConntrackHelpersDifferentialTest.counters(kernelSave));
        assertThat(KernelConntrackHelpersDifferentialTest.withoutTimeouts(jnfRouter.conntrack.list(c.family,
                jnfRouter.now))).as("conntrack -L").isEqualTo(
                        KernelConntrackHelpersDifferentialTest.withoutTimeouts(kernelConntrack));
        Synproxy p = Synproxy.of(jnfRouter.host);
        assertThat(new long[] {p.synReceived(), p.cookieInvalid(), p.cookieValid(), p.cookieRetrans(),
            p.connReopened()}).as("/proc/net/stat/synproxy").containsExactly(after[0] - before[0],
                    after[1] - before[1], after[2] - before[2], after[3] - before[3], after[4] - before[4]);
        System.err.println("KernelSynproxyDifferentialTest " + c + ": " + kernel.segments().size()
                + " segments equal by field and rule; conntrack:\n" + kernelConntrack);
    }

    /** Equal, or at the same distance from the cookie, from the proxy's timestamp, or from its negation. */
    private static void sameByRule(String what, int k, int j, Run kernel, Run jnf) {
        boolean same = k == j || k - kernel.cookie() == j - jnf.cookie() || k - kernel.its() == j - jnf.its()
                || k + kernel.its() == j + jnf.its();
        assertThat(same).as("%s: kernel %s (cookie %s, ts %s), jnetfilter %s (cookie %s, ts %s)", what,
                Integer.toUnsignedString(k), Integer.toUnsignedString(kernel.cookie()),
                Integer.toUnsignedString(kernel.its()), Integer.toUnsignedString(j),
                Integer.toUnsignedString(jnf.cookie()), Integer.toUnsignedString(jnf.its())).isTrue();
    }

    /** syn_received, cookie_invalid, cookie_valid, cookie_retrans, conn_reopened of the router, summed over CPUs. */
    private static long[] procStat() {
        long[] sum = new long[5];
        String text = KernelSide.run(in(DUT, "cat", "/proc/net/stat/synproxy")).stdout();
        for (String line : text.split("\n")) {
            String[] f = line.strip().split("\\s+");
            if (f.length != 6 || f[0].equals("entries")) {
                continue;
            }
            for (int i = 0; i < 5; i++) {
                sum[i] += HexFormat.fromHexDigitsToLong(f[i + 1]);
            }
        }
        return sum;
    }

    private static String emptyTables() {
        return "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
                + "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    }
}
