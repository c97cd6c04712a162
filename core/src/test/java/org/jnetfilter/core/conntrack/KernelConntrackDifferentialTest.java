package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.testkit.KernelSide.in;
import static org.jnetfilter.core.testkit.KernelSide.must;
import static org.jnetfilter.core.testkit.KernelSide.run;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.netfilter.Netfilter;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.testkit.KernelSide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Conntrack and NAT against the kernel: a client, a router and a server in network namespaces of their own;
 * the router DNATs 10.0.1.1:80 to the server's 10.0.2.2:8080 and MASQUERADEs it toward the server, and
 * forwards a second connection (to 10.0.2.2:8081) untranslated. Both TCP connections do a handshake, one
 * request and answer, and a FIN teardown. A UDP datagram to 10.0.1.1:53 is translated the same way to
 * 10.0.2.2:5353, where nothing listens: the server's port unreachable comes back through the router, which
 * translates the packet it quotes. The router's interfaces are captured; the packets that entered
 * the router are replayed through jnetfilter's conntrack and NAT hooks with the capture's timestamps and the
 * same nat rules, then compared with the kernel:
 * <ul>
 * <li>every packet the router sent out: the addresses and ports jnetfilter's rewrite gives; for the ICMP error
 * every byte but the outer TTL and header checksum (the routing's part), quoted packet and ICMP checksum
 * included;</li>
 * <li>{@code conntrack -L} of the router at the end: the lines, timeouts within one second;</li>
 * <li>the nat rules' packet counters ({@code iptables-save -c}).</li>
 * </ul>
 * Runs only as root with ip netns, iptables-legacy, conntrack, tcpdump and python3, and JNF_SKIP_KERNEL_TESTS
 * unset; otherwise it is skipped with a message on stderr.
 */
class KernelConntrackDifferentialTest {
    private static final long PID = ProcessHandle.current().pid() % 100000;
    private static final String NS = "jnf-conntrack-" + PID;
    private static final String C = NS + "-c";
    private static final String R = NS + "-r";
    private static final String S = NS + "-s";
    private static final String RC = "rc" + PID;
    private static final String RS = "rs" + PID;
    private static String skipReason;
    private static Path dir;

    private static String kernelConntrack;
    private static long listedAtNanos;
    private static String kernelSave;

    @BeforeAll
    static void runTheKernel() throws Exception {
        skipReason = KernelSide.unavailable("iptables-legacy", "conntrack", "tcpdump", "python3");
        if (skipReason == null && !KernelSide.addNamespaces(C, R, S)) {
            skipReason = "`ip netns add' does not work here";
        }
        if (skipReason != null) {
            KernelSide.skipped("KernelConntrackDifferentialTest", skipReason,
                    "root, ip netns, iptables-legacy, conntrack, tcpdump, python3");
            return;
        }
        dir = Files.createTempDirectory("jnf-conntrack");
        must("ip", "link", "add", "c" + PID, "type", "veth", "peer", "name", RC);
        must("ip", "link", "set", "c" + PID, "netns", C);
        must("ip", "link", "set", RC, "netns", R);
        must("ip", "link", "add", "s" + PID, "type", "veth", "peer", "name", RS);
        must("ip", "link", "set", "s" + PID, "netns", S);
        must("ip", "link", "set", RS, "netns", R);
        must("ip", "-n", C, "addr", "add", "10.0.1.2/24", "dev", "c" + PID);
        must("ip", "-n", R, "addr", "add", "10.0.1.1/24", "dev", RC);
        must("ip", "-n", R, "addr", "add", "10.0.2.1/24", "dev", RS);
        must("ip", "-n", S, "addr", "add", "10.0.2.2/24", "dev", "s" + PID);
        for (String[] l : new String[][] {{C, "c" + PID}, {R, RC}, {R, RS}, {S, "s" + PID}, {C, "lo"}, {R, "lo"},
                {S, "lo"}}) {
            must("ip", "-n", l[0], "link", "set", l[1], "up");
        }
        must("ip", "-n", C, "route", "add", "default", "via", "10.0.1.1");
        must("ip", "-n", S, "route", "add", "default", "via", "10.0.2.1");
        must(in(R, "sysctl", "-qw", "net.ipv4.ip_forward=1"));
        must(in(R, "iptables-legacy", "-t", "nat", "-A", "PREROUTING", "-d", "10.0.1.1", "-p", "tcp", "--dport", "80",
                "-j", "DNAT", "--to-destination", "10.0.2.2:8080"));
        must(in(R, "iptables-legacy", "-t", "nat", "-A", "POSTROUTING", "-o", RS, "-p", "tcp", "--dport", "8080",
                "-j", "MASQUERADE"));
        must(in(R, "iptables-legacy", "-t", "nat", "-A", "PREROUTING", "-d", "10.0.1.1", "-p", "udp", "--dport", "53",
                "-j", "DNAT", "--to-destination", "10.0.2.2:5353"));
        must(in(R, "iptables-legacy", "-t", "nat", "-A", "POSTROUTING", "-o", RS, "-p", "udp", "--dport", "5353",
                "-j", "MASQUERADE"));
        String server = "import socket,sys\n"
                + "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                + "s.bind(('0.0.0.0',int(sys.argv[1])));s.listen(5)\n"
                + "c,a=s.accept();d=c.recv(1000);c.sendall(b'pong:'+d);c.close()\n";
        String client = "import socket,sys,time\n"
                + "s=socket.socket();s.bind(('10.0.1.2',int(sys.argv[3])))\n"
                + "s.connect((sys.argv[1],int(sys.argv[2])));s.sendall(b'ping');s.recv(100);time.sleep(0.2)\n"
                + "s.close();time.sleep(0.3)\n";
        Process s1 = new ProcessBuilder(in(S, "python3", "-c", server, "8080")).start();
        Process s2 = new ProcessBuilder(in(S, "python3", "-c", server, "8081")).start();
        Process d1 = new ProcessBuilder(in(R, "tcpdump", "-i", RC, "-w", dir.resolve("rc.pcap").toString(), "-U",
                "-s", "0")).redirectErrorStream(true).start();
        Process d2 = new ProcessBuilder(in(R, "tcpdump", "-i", RS, "-w", dir.resolve("rs.pcap").toString(), "-U",
                "-s", "0")).redirectErrorStream(true).start();
        Thread.sleep(1500);
        must(in(C, "python3", "-c", client, "10.0.1.1", "80", "40000"));
        must(in(C, "python3", "-c", client, "10.0.2.2", "8081", "40001"));
        must(in(C, "python3", "-c", "import socket,time\n"
                + "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('10.0.1.2',40002))\n"
                + "s.sendto(b'query',('10.0.1.1',53));time.sleep(0.3)\n"));
        Thread.sleep(500);
        listedAtNanos = System.currentTimeMillis() * 1_000_000L;
        KernelSide.Result ct = run(in(R, "conntrack", "-L"));
        kernelConntrack = ct.stdout();
        kernelSave = run(in(R, "iptables-legacy-save", "-c", "-t", "nat")).stdout();
        Thread.sleep(300);
        d1.destroy();
        d2.destroy();
        d1.waitFor(5, TimeUnit.SECONDS);
        d2.waitFor(5, TimeUnit.SECONDS);
        s1.destroyForcibly();
        s2.destroyForcibly();
    }

    @AfterAll
    static void cleanUp() {
        if (skipReason == null) {
            KernelSide.deleteNamespaces(C, R, S);
        }
    }

    private static void assumeKernel() {
        Assumptions.assumeTrue(skipReason == null, "kernel comparison skipped: " + skipReason);
    }

    /** A captured Ethernet frame's IP packet, when it was captured, and on which router interface. */
    record Frame(long nanos, String dev, byte[] ip) {
    }

    /** The IPv4 packets of a pcap file (Ethernet link type), with their timestamps (µs or ns). */
    static List<Frame> read(Path file, String dev) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
        int magic = b.order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
            b.order(ByteOrder.BIG_ENDIAN);
            magic = b.getInt(0);
        }
        boolean nanos = magic == 0xa1b23c4d;
        List<Frame> out = new ArrayList<>();
        int at = 24;
        while (at + 16 <= b.limit()) {
            long sec = Integer.toUnsignedLong(b.getInt(at));
            long frac = Integer.toUnsignedLong(b.getInt(at + 4));
            int caplen = b.getInt(at + 8);
            int start = at + 16;
            at = start + caplen;
            if (caplen < 34 || (b.get(start + 12) & 0xFF) != 0x08 || b.get(start + 13) != 0) {
                continue;
            }
            byte[] ip = new byte[caplen - 14];
            b.get(start + 14, ip);
            out.add(new Frame(sec * 1_000_000_000L + (nanos ? frac : frac * 1000), dev, ip));
        }
        return out;
    }

    private static String addrPorts(byte[] ip) {
        ByteBuffer b = ByteBuffer.wrap(ip);
        int ihl = (b.get(0) & 0x0F) * 4;
        return IpAddress.ipv4(b.getInt(12)).text() + ":" + (b.getShort(ihl) & 0xFFFF) + " > "
                + IpAddress.ipv4(b.getInt(16)).text() + ":" + (b.getShort(ihl + 2) & 0xFFFF);
    }

    @Test
    void replayedCaptureGivesTheKernelsRewritesConntrackTableAndCounters() throws Exception {
        assumeKernel();
        List<Frame> frames = new ArrayList<>(read(dir.resolve("rc.pcap"), RC));
        frames.addAll(read(dir.resolve("rs.pcap"), RS));
        frames.sort(Comparator.comparingLong(Frame::nanos));

        Host host = new Host();
        host.addLink(RC, 0x020000000001L, 1500);
        host.addLink(RS, 0x020000000002L, 1500);
        host.setUp(RC, true);
        host.setUp(RS, true);
        host.addAddress(RC, IpAddress.parse("10.0.1.1"), 24);
        host.addAddress(RS, IpAddress.parse("10.0.2.1"), 24);
        // veth hands over packets with partial checksums (offload): the kernel does not verify those
        host.sysctl("net.netfilter.nf_conntrack_checksum", "0");
        IpSpec tcp = IpSpec.any(Family.IPV4).withProtocol(6);
        Rule dnat = Rules.rule(tcp.withDst(IpNet.ipv4(0x0A000101, 32)),
                List.of(Rules.matchOf(tcp, "tcp", "--dport", "80")), "DNAT", "--to-destination", "10.0.2.2:8080");
        Rule masq = Rules.rule(tcp.withOutIface(RS), List.of(Rules.matchOf(tcp, "tcp", "--dport", "8080")),
                "MASQUERADE");
        IpSpec udp = IpSpec.any(Family.IPV4).withProtocol(17);
        Rule dnatUdp = Rules.rule(udp.withDst(IpNet.ipv4(0x0A000101, 32)),
                List.of(Rules.matchOf(udp, "udp", "--dport", "53")), "DNAT", "--to-destination", "10.0.2.2:5353");
        Rule masqUdp = Rules.rule(udp.withOutIface(RS), List.of(Rules.matchOf(udp, "udp", "--dport", "5353")),
                "MASQUERADE");
        Table nat = Rules.nat(Family.IPV4, List.of(dnat, dnatUdp), List.of(), List.of(), List.of(masq, masqUdp));
        Conntrack table = new Conntrack(host);
        Netfilter nf = new Netfilter();
        ConntrackHooks.register(nf, Family.IPV4, table, () -> nat);

        List<String> mine = new ArrayList<>();
        List<String> kernelOut = new ArrayList<>();
        List<byte[]> myIcmp = new ArrayList<>();
        List<byte[]> kernelIcmp = new ArrayList<>();
        for (Frame f : frames) {
            ByteBuffer b = ByteBuffer.wrap(f.ip());
            int src = b.getInt(12);
            boolean ingress = f.dev().equals(RC) ? src == 0x0A000102 : (src & 0xFFFFFF00) == 0x0A000200
                    && src != 0x0A000201;
            if (!ingress) {
                kernelOut.add(f.dev() + " " + addrPorts(f.ip()));
                if (f.ip()[9] == 1) {
                    kernelIcmp.add(f.ip());
                }
                continue;
            }
            String out = f.dev().equals(RC) ? RS : RC;
            PacketContext pkt = new PacketContext().ipv4(MemorySegment.ofArray(f.ip().clone()), 0);
            pkt.nowNanos(f.nanos()).host(host).inInterface(f.dev()).outInterface(out);
            int v = runHook(nf, pkt, Hook.PREROUTING);
            if (v == Verdict.ACCEPT) {
                v = runHook(nf, pkt, Hook.POSTROUTING);
            }
            assertThat(v).isEqualTo(Verdict.ACCEPT);
            byte[] bytes = pkt.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            mine.add(out + " " + addrPorts(bytes));
            if (bytes[9] == 1) {
                myIcmp.add(bytes);
            }
        }
        assertThat(mine).as("packets the router sent").isEqualTo(kernelOut);
        assertThat(kernelIcmp).as("the port unreachable").hasSize(1);
        assertThat(myIcmp).hasSize(1);
        byte[] k = kernelIcmp.get(0).clone();
        byte[] m = myIcmp.get(0).clone();
        for (int i : new int[] {8, 10, 11}) {
            // TTL and header checksum: the forwarding's part, not NAT's
            k[i] = 0;
            m[i] = 0;
        }
        assertThat(java.util.HexFormat.of().formatHex(m)).as("translated ICMP error")
                .isEqualTo(java.util.HexFormat.of().formatHex(k));

        List<String> kernelLines = kernelConntrack.lines().filter(l -> !l.isBlank()).sorted().toList();
        List<String> myLines = table.list(Family.IPV4, listedAtNanos).lines().toList();
        assertThat(withoutTimeout(myLines)).isEqualTo(withoutTimeout(kernelLines));
        for (int i = 0; i < kernelLines.size(); i++) {
            assertThat(timeout(myLines.get(i))).isCloseTo(timeout(kernelLines.get(i)), org.assertj.core.data.Offset.offset(1L));
        }
        assertThat(kernelSave).contains("[" + dnat.counters().packets() + ":" + dnat.counters().bytes()
                + "] -A PREROUTING -d 10.0.1.1/32 -p tcp -m tcp --dport 80 -j DNAT");
        assertThat(kernelSave).contains("[" + masq.counters().packets() + ":" + masq.counters().bytes()
                + "] -A POSTROUTING -o " + RS + " -p tcp -m tcp --dport 8080 -j MASQUERADE");
        assertThat(kernelSave).contains("[" + dnatUdp.counters().packets() + ":" + dnatUdp.counters().bytes()
                + "] -A PREROUTING -d 10.0.1.1/32 -p udp -m udp --dport 53 -j DNAT");
        assertThat(kernelSave).contains("[" + masqUdp.counters().packets() + ":" + masqUdp.counters().bytes()
                + "] -A POSTROUTING -o " + RS + " -p udp -m udp --dport 5353 -j MASQUERADE");
        System.err.println("KernelConntrackDifferentialTest: compared " + mine.size() + " rewritten packets, "
                + kernelLines.size() + " conntrack entries:\n" + String.join("\n", kernelLines));
    }

    private static int runHook(Netfilter nf, PacketContext pkt, Hook h) {
        for (Netfilter.Registration r : nf.entries(Family.IPV4, h)) {
            pkt.hook(h);
            int v = r.function().apply(pkt);
            if (v != Verdict.ACCEPT) {
                return v;
            }
        }
        return Verdict.ACCEPT;
    }

    private static final Pattern TIMEOUT = Pattern.compile("^(\\S+\\s+\\d+ )(\\d+)( .*)$");

    private static List<String> withoutTimeout(List<String> lines) {
        return lines.stream().map(l -> {
            Matcher m = TIMEOUT.matcher(l);
            return m.matches() ? m.group(1) + "T" + m.group(3) : l;
        }).toList();
    }

    private static long timeout(String line) {
        Matcher m = TIMEOUT.matcher(line);
        return m.matches() ? Long.parseLong(m.group(2)) : -1;
    }
}
