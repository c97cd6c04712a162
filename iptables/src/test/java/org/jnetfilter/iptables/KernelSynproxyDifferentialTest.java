package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.testkit.KernelSide.in;
import static org.jnetfilter.core.testkit.KernelSide.must;
import static org.jnetfilter.iptables.TcpSegment.ACK;
import static org.jnetfilter.iptables.TcpSegment.PSH;
import static org.jnetfilter.iptables.TcpSegment.RST;
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
 * SYNPROXY against Linux: a client, a router (dut) and a server in network namespaces of their own
 * ({@link ClientRouterServer}); the router has the usual SYNPROXY setup ({@link SynproxyDatapathTest#rules}). Both
 * sides are crafted frames (AF_PACKET). On FORWARD: the client's SYN (twice), its ACK of the cookie (twice, before
 * the server answers), a request; the server's SYN-ACK and an answer; an ACK with a bad cookie from another port;
 * a third client whose server resets, then which tries again. On INPUT the server is a socket of the router (see
 * {@link #onInputTheProxyHandsTheConnectionToTheLocalSocketAsLinuxDoes}). What the router sends on each side is
 * compared with what jnetfilter's datapath sends for the same frames, field by field: everything but the fields
 * that come from a cookie or the proxy's timestamp clock, which are compared by rule (the same offset from the
 * same SYN-ACK's cookie, from its timestamp, or from that timestamp's negation; the timestamp cookie's low six
 * bits equal). The client's packets that echo a cookie carry the kernel's cookie to the kernel and jnetfilter's to
 * jnetfilter. Also compared: the rules' counters ({@code iptables-save -c}), {@code conntrack -L} (timeouts aside)
 * and {@code /proc/net/stat/synproxy} summed over the CPUs. IPv4 and IPv6; on FORWARD also a client asking for ECN
 * (with {@code --ecn}) and one without timestamps ({@link Case}).
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
        skipReason = ClientRouterServer.addNamespaces("KernelSynproxyDifferentialTest", CLIENT_NS, DUT, SERVER_NS);
        if (skipReason != null) {
            return;
        }
        new ClientRouterServer(CLIENT_NS, DUT, SERVER_NS, DC, DS, PC, PS).configure(DC_MAC, DS_MAC, CLIENT_MAC,
                SERVER_MAC, neighbours());
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
        ClientRouterServer.tearDown(CLIENT_NS, DUT, SERVER_NS, client, server);
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
        /** Where the datagrams delivered to local sockets by lo go, when set. */
        List<TcpSegment> local;
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
                    TcpSegment t = TcpSegment.parseDatagram(ipPacket.toArray(ValueLayout.JAVA_BYTE));
                    if (local != null && t != null && ifname.equals("lo")) {
                        local.add(t);
                    }
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
    /** Segments sent and their sides, and the cookies and timestamp cookies of the session's SYN-ACKs. */
    record Run(List<String> sides, List<TcpSegment> segments, List<Integer> cookies, List<Integer> itss) {
        Run withCookies(Run of) {
            return new Run(sides, segments, of.cookies(), of.itss());
        }
    }

    static Run session(Router r, Case c) throws Exception {
        boolean v6 = c.family == Family.IPV6;
        int ecn = c.ecn ? TcpSegment.ECE | TcpSegment.CWR : 0;
        List<String> sides = new ArrayList<>();
        List<TcpSegment> segs = new ArrayList<>();
        List<Integer> cookies = new ArrayList<>();
        List<Integer> itss = new ArrayList<>();
        java.util.function.BiConsumer<String, List<TcpSegment>> note = (side, l) -> {
            for (TcpSegment t : l) {
                sides.add(side);
                segs.add(t);
            }
        };
        // the client's SYN, retransmitted: the same cookie again within the minute
        TcpSegment syn = SynproxyDatapathTest.client(v6, 1000000, 0, SYN | ecn, 64240, c.clientOptions);
        note.accept("server", r.fromClient(syn));
        note.accept("server", r.fromClient(syn));
        List<TcpSegment> synAcks = r.toClient();
        note.accept("client", synAcks);
        assertThat(synAcks).as("the cookie SYN-ACKs").hasSize(2);
        int cookie = synAcks.get(0).seq();
        int its = tsval(synAcks.get(0));
        for (TcpSegment t : synAcks) {
            // the timestamp cookie follows the proxy's millisecond clock: each SYN-ACK's is its own
            cookies.add(t.seq());
            itss.add(tsval(t));
        }
        // its ACK, retransmitted before the server answered: the server gets the SYN again
        boolean stamps = synAcks.get(0).timestamps() != null;
        TcpSegment ack = SynproxyDatapathTest.client(v6, 1000001, cookie + 1, ACK, 502, ts(stamps, 5001, its));
        note.accept("server", r.fromClient(ack));
        note.accept("server", r.fromClient(ack));
        note.accept("client", r.toClient());
        int serverIsn = 0x55667788;
        int serverTs = 0x40000000;
        note.accept("server", r.fromServer(SynproxyDatapathTest.server(v6, serverIsn, 1000001, SYN | ACK
                | (c.ecn ? TcpSegment.ECE : 0), 65160, stamps ? "020405b4 0402080a" + String.format("%08x%08x",
                        serverTs, 5001) + " 0103030a" : "020405b4 01010402 0103030a")));
        note.accept("client", r.toClient());
        note.accept("server", r.fromClient(SynproxyDatapathTest.client(v6, 1000001, cookie + 1, ACK | PSH, 502,
                ts(stamps, 5002, its)).withPayload("hello")));
        note.accept("client", r.toClient());
        note.accept("server", r.fromServer(SynproxyDatapathTest.server(v6, serverIsn + 1, 1000006, ACK | PSH, 64,
                ts(stamps, serverTs + 7, 5002)).withPayload("world")));
        note.accept("client", r.toClient());
        // another client whose ACK echoes no cookie of ours
        note.accept("server", r.fromClient(onPort(SynproxyDatapathTest.client(v6, 2000001, 0x12345678, ACK, 502, ""),
                40001)));
        note.accept("client", r.toClient());
        // a third whose server refuses (RST), then which tries again
        for (int attempt = 0; attempt < 2; attempt++) {
            int isn = 3000000 + attempt * 100000;
            note.accept("server", r.fromClient(onPort(SynproxyDatapathTest.client(v6, isn, 0, SYN | ecn, 64240,
                    c.clientOptions), 40002)));
            List<TcpSegment> answer = r.toClient();
            note.accept("client", answer);
            assertThat(answer).as("the cookie SYN-ACK of attempt %s", attempt).hasSize(1);
            int c2 = answer.get(0).seq();
            int ts2 = tsval(answer.get(0));
            cookies.add(c2);
            itss.add(ts2);
            note.accept("server", r.fromClient(onPort(SynproxyDatapathTest.client(v6, isn + 1, c2 + 1, ACK, 502,
                    ts(stamps, 6001, ts2)), 40002)));
            note.accept("client", r.toClient());
            if (attempt == 0) {
                note.accept("server", r.fromServer(toPort(SynproxyDatapathTest.server(v6, 0, isn + 1, RST | ACK, 0,
                        ""), 40002)));
                note.accept("client", r.toClient());
            }
        }
        return new Run(sides, segs, cookies, itss);
    }

    /** The segment's timestamp value, 0 without the option. */
    private static int tsval(TcpSegment t) {
        int[] ts = t.timestamps();
        return ts == null ? 0 : ts[0];
    }

    /** A timestamp option of these values, or none. */
    private static String ts(boolean stamps, int val, int ecr) {
        return stamps ? SynproxyDatapathTest.ts(val, ecr) : "";
    }

    private static TcpSegment onPort(TcpSegment t, int sport) {
        return new TcpSegment(t.v6(), t.src(), t.dst(), t.ttl(), t.id(), t.df(), sport, t.dport(), t.seq(), t.ack(),
                t.flags(), t.window(), t.options(), t.payload());
    }

    private static TcpSegment toPort(TcpSegment t, int dport) {
        return new TcpSegment(t.v6(), t.src(), t.dst(), t.ttl(), t.id(), t.df(), t.sport(), dport, t.seq(), t.ack(),
                t.flags(), t.window(), t.options(), t.payload());
    }

    /** The family, the target's options, the client's SYN options and whether its SYN asks for ECN. */
    enum Case {
        IPV4(Family.IPV4, SynproxyDatapathTest.DEFAULT_TARGET, SynproxyDatapathTest.CLIENT_OPTIONS, false),
        IPV6(Family.IPV6, SynproxyDatapathTest.DEFAULT_TARGET, SynproxyDatapathTest.CLIENT_OPTIONS, false),
        IPV4_ECN(Family.IPV4, SynproxyDatapathTest.DEFAULT_TARGET + " --ecn", SynproxyDatapathTest.CLIENT_OPTIONS, true),
        IPV6_CLIENT_WITHOUT_TIMESTAMPS(Family.IPV6, SynproxyDatapathTest.DEFAULT_TARGET, "020405a0 01010402 01030305",
                false);

        final Family family;
        final String target;
        final String clientOptions;
        final boolean ecn;

        Case(Family f, String target, String clientOptions, boolean ecn) {
            family = f;
            this.target = target;
            this.clientOptions = clientOptions;
            this.ecn = ecn;
        }
    }

    @ParameterizedTest
    @EnumSource(Case.class)
    void theRouterSendsWhatLinuxSendsOnBothSides(Case c) throws Exception {
        assumeKernel();
        boolean v6 = c.family == Family.IPV6;
        String rules = SynproxyDatapathTest.rules("FORWARD", c.target);
        String restore = v6 ? "ip6tables-legacy-restore" : "iptables-legacy-restore";
        String save = v6 ? "ip6tables-legacy-save" : "iptables-legacy-save";
        KernelSide.Result loaded = KernelSide.run(30, rules, List.of(in(DUT, restore)));
        assertThat(loaded.exit()).as("%s: %s", restore, loaded.stderr()).isZero();
        must(in(DUT, "sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_loose=0"));
        KernelSide.run(in(DUT, "conntrack", "-F"));
        long[] before = procStat();
        client.dump();
        server.dump();

        Run kernel = session(new KernelRouter(), c);
        String kernelConntrack = KernelSide.run(in(DUT, "conntrack", "-L", "-f", v6 ? "ipv6" : "ipv4")).stdout();
        String kernelSave = KernelSide.run(in(DUT, save, "-c")).stdout();
        long[] after = procStat();
        KernelSide.run(30, emptyTables(), List.of(in(DUT, restore)));

        JnfRouter jnfRouter = new JnfRouter(c.family, rules);
        Run jnf = session(jnfRouter, c);

        assertThat(jnf.sides()).as("where the router sent what").isEqualTo(kernel.sides());
        compare(c.toString(), kernel, jnf, i -> true);
        for (int i = 0; i < kernel.itss().size(); i++) {
            assertThat(jnf.itss().get(i) & 0x3f).as("the timestamp cookie's option bits").isEqualTo(
                    kernel.itss().get(i) & 0x3f);
        }
        sameState(jnfRouter, c.family, kernelSave, kernelConntrack, before, after);
        System.err.println("KernelSynproxyDifferentialTest " + c + " on FORWARD: " + kernel.segments().size()
                + " segments equal by field and rule; conntrack:\n" + kernelConntrack);
    }

    /**
     * Segment by segment: the fixed fields (the IP ID where {@code compareId} says so), then sequence numbers and
     * timestamps by rule.
     */
    private static void compare(String what, Run kernel, Run jnf, java.util.function.IntPredicate compareId) {
        for (int i = 0; i < kernel.segments().size(); i++) {
            TcpSegment k = kernel.segments().get(i);
            TcpSegment j = jnf.segments().get(i);
            String where = what + " segment " + i + " (" + kernel.sides().get(i) + ")";
            String kf = k.fixedFields();
            String jf = j.fixedFields();
            if (!compareId.test(i)) {
                kf = kf.replaceFirst(" id \\d+", "");
                jf = jf.replaceFirst(" id \\d+", "");
            }
            assertThat(jf).as(where).isEqualTo(kf);
            sameByRule(where + ": seq", k.seq(), j.seq(), kernel, jnf);
            sameByRule(where + ": ack", k.ack(), j.ack(), kernel, jnf);
            int[] kt = k.timestamps();
            int[] jt = j.timestamps();
            assertThat(jt == null).as(where + ": timestamps").isEqualTo(kt == null);
            if (kt != null) {
                sameByRule(where + ": tsval", kt[0], jt[0], kernel, jnf);
                sameByRule(where + ": tsecr", kt[1], jt[1], kernel, jnf);
            }
        }
    }

    /**
     * Equal, or at the same distance from one of the session's cookies, from its timestamp cookie, or from that
     * timestamp's negation (the kernel's and jnetfilter's of the same SYN-ACK).
     */
    private static void sameByRule(String what, int k, int j, Run kernel, Run jnf) {
        boolean same = k == j;
        for (int m = 0; m < kernel.cookies().size() && !same; m++) {
            int kc = kernel.cookies().get(m);
            int jc = jnf.cookies().get(m);
            int kt = kernel.itss().get(m);
            int jt = jnf.itss().get(m);
            same = k - kc == j - jc || k - kt == j - jt || k + kt == j + jt;
        }
        assertThat(same).as("%s: kernel %s, jnetfilter %s (cookies %s / %s, timestamps %s / %s)", what,
                Integer.toUnsignedString(k), Integer.toUnsignedString(j), kernel.cookies(), jnf.cookies(),
                kernel.itss(), jnf.itss()).isTrue();
    }

    // ---- SYNPROXY on INPUT: the server is the router's own socket ----

    /** The router's frames and deliveries after one client packet, in the kernel run. */
    record Step(List<TcpSegment> toClient, List<TcpSegment> viaLoopback, List<TcpSegment> serverSocket) {
    }

    /**
     * SYNPROXY on INPUT in front of a listening socket of the router (a python server that answers "world:" and
     * what it read). The kernel run copies every packet of port 80 leaving the router's stack (mangle OUTPUT TEE
     * to the server side, where the copies are recorded): so the socket's own packets (its SYN-ACK, ACKs and
     * answer) are known and are sent through jnetfilter's {@link Datapath#sendLocal} at the same point of the
     * session. Compared: the frames to the client (the IP ID only of the proxy's own packets: sendLocal fills a
     * zero ID as a raw socket does), what reached the socket by lo (the proxy's SYN and ACK), the filter and raw
     * counters, {@code conntrack -L} and the synproxy counters.
     */
    @ParameterizedTest
    @EnumSource(value = Case.class, names = {"IPV4", "IPV6"})
    void onInputTheProxyHandsTheConnectionToTheLocalSocketAsLinuxDoes(Case c) throws Exception {
        assumeKernel();
        boolean v6 = c.family == Family.IPV6;
        String local = v6 ? "fd01::1" : "10.0.1.1";
        byte[] localAddress = v6 ? TcpSegment.hex("fd010000000000000000000000000001") : new byte[] {10, 0, 1, 1};
        String rules = SynproxyDatapathTest.rules("INPUT", SynproxyDatapathTest.DEFAULT_TARGET);
        String tee = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
                + ":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A OUTPUT -p tcp -m tcp --sport 80 -j TEE --gateway "
                + (v6 ? "fd02::2" : "10.0.2.2") + "\nCOMMIT\n";
        String restore = v6 ? "ip6tables-legacy-restore" : "iptables-legacy-restore";
        String save = v6 ? "ip6tables-legacy-save" : "iptables-legacy-save";
        KernelSide.Result loaded = KernelSide.run(30, rules + tee, List.of(in(DUT, restore)));
        assertThat(loaded.exit()).as("%s: %s", restore, loaded.stderr()).isZero();
        must(in(DUT, "sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_loose=0"));
        KernelSide.run(in(DUT, "conntrack", "-F"));
        long[] before = procStat();
        String serverScript = "import socket,sys,time\n"
                + "l=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET,socket.SOCK_STREAM)\n"
                + "l.bind((sys.argv[1],80));l.listen(5);print('listening',flush=True)\n"
                + "c,a=l.accept();c.setsockopt(socket.SOL_SOCKET,socket.SO_LINGER,b'\\1\\0\\0\\0\\0\\0\\0\\0')\n"
                + "d=c.recv(100);c.sendall(b'world:'+d);time.sleep(20)\n";
        Process socket = new ProcessBuilder(in(DUT, "python3", "-u", "-c", serverScript, local))
                .redirectErrorStream(true).start();
        KernelConntrackHelpersDifferentialTest.Peer loopback = null;
        try {
            assertThat(new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream())).readLine())
                    .isEqualTo("listening");
            loopback = new KernelConntrackHelpersDifferentialTest.Peer(DUT, "lo");
            client.dump();
            server.dump();
            loopback.dump();
            List<Step> kernel = new ArrayList<>();
            KernelConntrackHelpersDifferentialTest.Peer lo = loopback;
            inputSession(v6, localAddress, t -> {
                client.send(t.frame(DC_MAC_L, C_MAC));
                // long enough for the socket's answer, shorter than its retransmission timeout (tcp_rto_min 200 ms)
                Thread.sleep(120);
                List<TcpSegment> copies = KernelRouter.parse(server.dump());
                Step s = new Step(KernelRouter.parse(client.dump()), KernelRouter.parse(lo.dump()),
                        socketPackets(copies));
                kernel.add(s);
                return s;
            });
            String kernelConntrack = KernelSide.run(in(DUT, "conntrack", "-L", "-f", v6 ? "ipv6" : "ipv4"))
                    .stdout();
            String kernelSave = KernelSide.run(in(DUT, save, "-c")).stdout();
            long[] after = procStat();

            JnfRouter jnfRouter = new JnfRouter(c.family, rules);
            List<TcpSegment> delivered = new ArrayList<>();
            jnfRouter.local = delivered;
            List<Step> jnf = new ArrayList<>();
            int[] step = {0};
            inputSession(v6, localAddress, t -> {
                int before1 = delivered.size();
                jnfRouter.fromClient(t);
                List<TcpSegment> viaLo = new ArrayList<>(delivered.subList(before1, delivered.size()));
                for (TcpSegment fromSocket : kernel.get(step[0]).serverSocket()) {
                    before1 = delivered.size();
                    jnfRouter.now += 1_000_000L;
                    jnfRouter.dp.sendLocal(MemorySegment.ofArray(fromSocket.datagram()), jnfRouter.now, Trace.NONE);
                    viaLo.addAll(delivered.subList(before1, delivered.size()));
                }
                Step s = new Step(jnfRouter.toClient(), viaLo, List.of());
                jnf.add(s);
                step[0]++;
                return s;
            });

            Run k = flatten(kernel, true);
            Run j = flatten(jnf, true);
            assertThat(j.sides()).as("to the client").isEqualTo(k.sides());
            compare(c + " on INPUT, to the client", k, j, i -> k.sides().get(i).endsWith("proxy"));
            Run kl = flatten(kernel, false).withCookies(k);
            Run jl = flatten(jnf, false).withCookies(j);
            assertThat(jl.sides()).as("to the socket by lo").isEqualTo(kl.sides());
            compare(c + " on INPUT, to the socket by lo", kl, jl, i -> true);
            // the mangle table is the kernel run's instrument, not part of the compared rules
            sameState(jnfRouter, c.family, kernelSave.replaceAll("(?s)\\*mangle.*?COMMIT\n", ""), kernelConntrack,
                    before, after);
            System.err.println("KernelSynproxyDifferentialTest " + c + " on INPUT: " + k.segments().size()
                    + " segments to the client, " + kl.segments().size() + " by lo, equal; conntrack:\n"
                    + kernelConntrack);
        } finally {
            KernelSide.run(30, emptyTables(), List.of(in(DUT, restore)));
            // the socket resets its connection as it goes (SO_LINGER 0): nothing of it is left for the next case
            socket.destroy();
            socket.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
            Thread.sleep(300);
            client.dump();
            server.dump();
            if (loopback != null) {
                loopback.close();
            }
        }
    }

    interface ClientStep {
        Step send(TcpSegment t) throws Exception;
    }

    /** The client's side of the INPUT session: handshake, a request, the ACK of the answer. */
    private static void inputSession(boolean v6, byte[] local, ClientStep step) throws Exception {
        TcpSegment syn = new TcpSegment(v6, v6 ? SynproxyDatapathTest.CLIENT6 : SynproxyDatapathTest.CLIENT, local,
                64, 1, true, 40000, 80, 1000000, 0, SYN, 64240, TcpSegment.hex(SynproxyDatapathTest.CLIENT_OPTIONS),
                new byte[0]);
        TcpSegment synAck = step.send(syn).toClient().get(0);
        int cookie = synAck.seq();
        int its = synAck.timestamps()[0];
        step.send(syn.withSeqAck(1000001, cookie + 1).withFlags(ACK).withOptions(TcpSegment.hex(
                SynproxyDatapathTest.ts(5001, its))));
        Step answer = step.send(syn.withSeqAck(1000001, cookie + 1).withFlags(ACK | PSH).withOptions(
                TcpSegment.hex(SynproxyDatapathTest.ts(5002, its))).withPayload("hello"));
        int end = cookie + 1;
        int[] echo = {0, 0};
        for (TcpSegment t : answer.toClient()) {
            end = t.seq() + t.payload().length;
            echo = t.timestamps();
        }
        step.send(syn.withSeqAck(1000006, end).withFlags(ACK).withOptions(TcpSegment.hex(SynproxyDatapathTest.ts(
                5003, echo[0]))));
    }

    /**
     * The socket's own packets among the copies of what left the stack: not the proxy's SYN-ACK (window 0) nor
     * its window update to the client (the copy right after the socket's SYN-ACK).
     */
    private static List<TcpSegment> socketPackets(List<TcpSegment> copies) {
        List<TcpSegment> out = new ArrayList<>();
        boolean afterSynAck = false;
        for (TcpSegment t : copies) {
            boolean synAck = (t.flags() & (SYN | ACK)) == (SYN | ACK);
            if (afterSynAck || (synAck && t.window() == 0)) {
                afterSynAck = false;
                continue;
            }
            afterSynAck = synAck;
            out.add(t);
        }
        return out;
    }

    /** The steps' segments to the client ({@code toClient}) or by lo, with the session's cookie and timestamp. */
    private static Run flatten(List<Step> steps, boolean toClient) {
        List<String> sides = new ArrayList<>();
        List<TcpSegment> segs = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            for (TcpSegment t : toClient ? steps.get(i).toClient() : steps.get(i).viaLoopback()) {
                // the proxy builds the first answer of the first two steps (SYN-ACK, window update) itself
                boolean proxyBuilt = toClient && i < 2 && segs.size() == i;
                sides.add("step " + i + (proxyBuilt ? " proxy" : ""));
                segs.add(t);
            }
        }
        TcpSegment synAck = steps.get(0).toClient().get(0);
        return new Run(sides, segs, List.of(synAck.seq()), List.of(synAck.timestamps()[0]));
    }

    /** The rules' counters, conntrack -L and the synproxy counters of jnetfilter's router equal the kernel's. */
    private static void sameState(JnfRouter jnfRouter, Family family, String kernelSave, String kernelConntrack,
            long[] before, long[] after) {
        assertThat(KernelConntrackHelpersDifferentialTest.counters(SaveFiles.write(jnfRouter.rules)))
                .as("rule counters").isEqualTo(KernelConntrackHelpersDifferentialTest.counters(kernelSave));
        assertThat(KernelConntrackHelpersDifferentialTest.withoutTimeouts(jnfRouter.conntrack.list(family,
                jnfRouter.now))).as("conntrack -L").isEqualTo(
                        KernelConntrackHelpersDifferentialTest.withoutTimeouts(kernelConntrack));
        Synproxy p = Synproxy.of(jnfRouter.host);
        assertThat(new long[] {p.synReceived(), p.cookieInvalid(), p.cookieValid(), p.cookieRetrans(),
            p.connReopened()}).as("/proc/net/stat/synproxy").containsExactly(after[0] - before[0],
                    after[1] - before[1], after[2] - before[2], after[3] - before[3], after[4] - before[4]);
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
                + "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
                + "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                + ":POSTROUTING ACCEPT [0:0]\nCOMMIT\n";
    }
}
