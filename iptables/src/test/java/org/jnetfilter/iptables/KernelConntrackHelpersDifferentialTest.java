package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.testkit.KernelSide.in;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.ConntrackModule;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.PacketSink;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.testkit.KernelSide;
import org.jnetfilter.core.testkit.SnmpMessages;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The ftp and tftp conntrack helpers, with and without NAT, against the running kernel. A client side, a
 * device under test (a router) and a server side in network namespaces of their own ({@code jnf-helpers-*}),
 * joined by veth pairs; the two sides have no addresses of their own: they only send the frames the test crafts
 * (AF_PACKET) and record what the router forwards to them. The test plays both ends of an FTP session (control
 * connection handshake, greeting, USER, then PORT / EPRT / PASV / EPSV and the answer, then the data
 * connection) or a TFTP read request and the DATA from the server's new port. Each end answers what the router
 * actually forwarded to it (addresses and ports after NAT, sequence numbers after adjustment), so the same frames
 * then go through jnetfilter's {@link Datapath} with the same rules on a host of the same addresses. Compared:
 * every frame the router sent, byte for byte (rewritten commands, adjusted sequence and acknowledgement numbers,
 * checksums); the counters of every rule (RELATED, {@code -m helper}, INVALID); {@code conntrack -L} and
 * {@code conntrack -L expect} without their timeouts.
 *
 * <p>Runs only as root with ip netns, iptables-legacy, ip6tables-legacy, conntrack and python3, and
 * JNF_SKIP_KERNEL_TESTS unset; otherwise it is skipped with a message on stderr.
 */
class KernelConntrackHelpersDifferentialTest {
    private static final long PID = ProcessHandle.current().pid() % 100000;
    private static final String CLIENT_NS = "jnf-helpers-c-" + PID;
    private static final String DUT = "jnf-helpers-d-" + PID;
    private static final String SERVER_NS = "jnf-helpers-s-" + PID;
    private static final String DC = "hdc" + PID;
    private static final String DS = "hds" + PID;
    private static final String PC = "hpc" + PID;
    private static final String PS = "hps" + PID;
    private static final String DC_MAC = "02:10:00:00:00:01";
    private static final String DS_MAC = "02:10:00:00:00:02";
    private static final String CLIENT_MAC = "02:10:00:00:01:02";
    private static final String SERVER_MAC = "02:10:00:00:02:02";
    private static final String[][] NEIGHBOURS = {{"10.0.1.2", CLIENT_MAC, DC}, {"fd01::2", CLIENT_MAC, DC},
            {"10.0.2.2", SERVER_MAC, DS}, {"10.0.2.22", SERVER_MAC, DS}, {"fd02::2", SERVER_MAC, DS},
            {"fd02::22", SERVER_MAC, DS}};
    private static final String HOST = hostFile();

    private static String skipReason;
    private static Peer client;
    private static Peer server;

    private static String hostFile() {
        StringBuilder sb = new StringBuilder();
        sb.append("link add ").append(DC).append(" address ").append(DC_MAC).append('\n');
        sb.append("link set ").append(DC).append(" up\n");
        sb.append("addr add 10.0.1.1/24 dev ").append(DC).append('\n');
        sb.append("addr add fd01::1/64 dev ").append(DC).append('\n');
        sb.append("addr add 10.0.3.1/24 brd + dev ").append(DC).append('\n');
        sb.append("link add ").append(DS).append(" address ").append(DS_MAC).append('\n');
        sb.append("link set ").append(DS).append(" up\n");
        sb.append("addr add 10.0.2.1/24 dev ").append(DS).append('\n');
        sb.append("addr add fd02::1/64 dev ").append(DS).append('\n');
        for (String[] n : NEIGHBOURS) {
            sb.append("neigh add ").append(n[0]).append(" lladdr ").append(n[1]).append(" dev ").append(n[2])
                    .append('\n');
        }
        sb.append("sysctl net.ipv4.ip_forward=1\n");
        sb.append("sysctl net.ipv6.conf.all.forwarding=1\n");
        sb.append("sysctl net.ipv4.conf.all.rp_filter=0\n");
        return sb.toString();
    }

    /** A side's frame injector and recorder: sends hex frames, dumps what it received since the last dump. */
    static final class Peer {
        final Process process;
        final Writer to;
        final BufferedReader from;

        Peer(String namespace, String dev) throws IOException {
            // PACKET_AUXDATA (8) tells a frame whose checksum the sender left to offload (TP_STATUS_CSUMNOTREADY,
            // 8): prefixed with "p" and the skb's csum_start and csum_offset (4 hex digits each) that PACKET_VNET_HDR
            // (15) gives in the virtio_net_hdr before the frame (sent frames get an empty one)
            String script = "import socket,sys,select,struct\n"
                    + "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(3));s.bind((sys.argv[1],0))\n"
                    + "s.setsockopt(263,8,1);s.setsockopt(263,15,1)\n"
                    + "got=[]\n"
                    + "while True:\n"
                    + "  r,_,_=select.select([s,sys.stdin],[],[])\n"
                    + "  if s in r:\n"
                    + "    d,anc,fl,a=s.recvmsg(65535,socket.CMSG_SPACE(64))\n"
                    + "    st=0\n"
                    + "    for lv,ty,da in anc:\n"
                    + "      if lv==263 and ty==8: st=struct.unpack('I',da[:4])[0]\n"
                    + "    vf,gt,hl,gs,cs,co=struct.unpack('<BBHHHH',d[:10]);d=d[10:]\n"
                    + "    if a[2]!=socket.PACKET_OUTGOING: got.append(('p%04x%04x'%(cs,co) if st&8 else '')+d.hex())\n"
                    + "  if sys.stdin in r:\n"
                    + "    line=sys.stdin.readline().strip()\n"
                    + "    if line=='': break\n"
                    + "    if line=='dump':\n"
                    + "      for g in got: print(g)\n"
                    + "      print('end');got=[]\n"
                    + "    else:\n"
                    + "      s.send(bytes(10)+bytes.fromhex(line));print('sent')\n"
                    + "    sys.stdout.flush()\n";
            process = new ProcessBuilder(in(namespace, "python3", "-u", "-c", script, dev)).redirectErrorStream(true)
                    .start();
            to = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.US_ASCII);
            from = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII));
        }

        void send(byte[] frame) throws IOException {
            to.write(HexFormat.of().formatHex(frame) + "\n");
            to.flush();
            assertThat(from.readLine()).isEqualTo("sent");
        }

        /** The TCP and UDP frames received since the last dump (neighbour discovery and the like left out). */
        List<byte[]> dump() throws IOException {
            to.write("dump\n");
            to.flush();
            List<byte[]> out = new ArrayList<>();
            lastPartial.clear();
            for (String l = from.readLine(); l != null && !l.equals("end"); l = from.readLine()) {
                boolean partial = l.startsWith("p");
                byte[] f = HexFormat.of().parseHex(partial ? l.substring(9) : l);
                if (partial) {
                    completeChecksum(f, Integer.parseInt(l.substring(1, 5), 16), Integer.parseInt(l.substring(5, 9),
                            16));
                }
                if (recorded(f)) {
                    out.add(f);
                    lastPartial.add(partial);
                }
            }
            return out;
        }

        /** Of the frames the last {@link #dump} returned, which were sent with CHECKSUM_PARTIAL. */
        final List<Boolean> lastPartial = new ArrayList<>();

        void close() throws InterruptedException {
            process.destroy();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @BeforeAll
    static void namespaces() throws IOException {
        skipReason = ClientRouterServer.addNamespaces("KernelConntrackHelpersDifferentialTest", CLIENT_NS, DUT, SERVER_NS);
        if (skipReason != null) {
            return;
        }
        new ClientRouterServer(CLIENT_NS, DUT, SERVER_NS, DC, DS, PC, PS).configure(DC_MAC, DS_MAC, CLIENT_MAC,
                SERVER_MAC, NEIGHBOURS);
        // an address with a broadcast address of its own (ifa_broadcast), for the netbios-ns helper
        KernelSide.must("ip", "-n", DUT, "addr", "add", "10.0.3.1/24", "brd", "+", "dev", DC);
        client = new Peer(CLIENT_NS, PC);
        server = new Peer(SERVER_NS, PS);
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

    // ---- frames ----

    /** The frames compared: TCP, UDP and GRE. */
    static boolean recorded(byte[] f) {
        int p = transport(f);
        return p == 6 || p == 17 || p == 47;
    }

    static int transport(byte[] frame) {
        int type = (frame[12] & 0xFF) << 8 | (frame[13] & 0xFF);
        if (type == 0x0800) {
            return frame[14 + 9] & 0xFF;
        }
        return type == 0x86DD ? frame[14 + 6] & 0xFF : -1;
    }

    /**
     * What a NIC does to a frame sent with CHECKSUM_PARTIAL: the kernel's payload rewrite (nf_nat_csum_recalc) leaves
     * only the pseudo-header sum in the TCP or UDP checksum for offload, and veth hands the frame over so; the
     * checksum that goes on a wire is the full one, summed from the skb's csum_start and put at its csum_offset
     * (both as the kernel set them: nf_nat_sip's forced_dport on a TCP connection puts UDP's offset, 6, there).
     */
    static void completeChecksum(byte[] f, int start, int offset) {
        int proto = transport(f);
        if (proto != 6 && proto != 17) {
            return;
        }
        int l4 = start;
        int at = start + offset;
        int len = f.length - l4;
        // Linux: skb_checksum_help, as a NIC does: the sum from the transport header on, the field's partial sum in
        // it as it is (whatever the path made of it: nf_nat_snmp_basic updates it as a full checksum)
        int c = ~fold(sum(f, l4, len, 0)) & 0xFFFF;
        if (c == 0) {
            // Linux: skb_checksum_help writes CSUM_MANGLED_0 for a zero sum, whatever the protocol
            c = 0xFFFF;
        }
        f[at] = (byte) (c >>> 8);
        f[at + 1] = (byte) c;
    }

    static byte[] mac(String text) {
        return HexFormat.of().parseHex(text.replace(":", ""));
    }

    static byte[] address(String text) {
        try {
            return java.net.InetAddress.getByName(text).getAddress();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(text, e);
        }
    }

    static long sum(byte[] b, int from, int len, long initial) {
        long s = initial;
        for (int i = 0; i < len; i += 2) {
            s += (b[from + i] & 0xFF) << 8 | (i + 1 < len ? b[from + i + 1] & 0xFF : 0);
        }
        return s;
    }

    static int fold(long s) {
        while ((s >>> 16) != 0) {
            s = (s & 0xFFFF) + (s >>> 16);
        }
        return (int) s;
    }

    /** An Ethernet frame from a side to the router carrying a TCP or UDP datagram with correct checksums. */
    static byte[] frame(String dst, String src, byte[] srcIp, byte[] dstIp, int proto, byte[] l4) {
        boolean v4 = srcIp.length == 4;
        int ipLen = (v4 ? 20 : 40) + l4.length;
        ByteBuffer b = ByteBuffer.allocate(14 + ipLen);
        b.put(mac(dst)).put(mac(src)).putShort((short) (v4 ? 0x0800 : 0x86DD));
        if (v4) {
            b.put((byte) 0x45).put((byte) 0).putShort((short) ipLen).putShort((short) 0x1234).putShort((short) 0x4000)
                    .put((byte) 64).put((byte) proto).putShort((short) 0).put(srcIp).put(dstIp);
        } else {
            b.putInt(0x60000000).putShort((short) l4.length).put((byte) proto).put((byte) 64).put(srcIp).put(dstIp);
        }
        byte[] t = l4.clone();
        long pseudo = sum(srcIp, 0, srcIp.length, 0) + sum(dstIp, 0, dstIp.length, 0) + proto + t.length;
        int csumAt = proto == 6 ? 16 : 6;
        int c = ~fold(sum(t, 0, t.length, pseudo)) & 0xFFFF;
        if (proto == 17 && c == 0) {
            c = 0xFFFF;
        }
        t[csumAt] = (byte) (c >>> 8);
        t[csumAt + 1] = (byte) c;
        b.put(t);
        byte[] a = b.array();
        if (v4) {
            int h = ~fold(sum(a, 14, 20, 0)) & 0xFFFF;
            a[24] = (byte) (h >>> 8);
            a[25] = (byte) h;
        }
        return a;
    }

    /**
     * One end of a TCP or UDP flow as its side sees it: its addresses and ports, and for TCP the next sequence
     * numbers to send and to acknowledge.
     */
    static final class End {
        final Peer peer;
        final String myMac;
        final String routerMac;
        byte[] myIp;
        byte[] peerIp;
        int myPort;
        int peerPort;
        int sndNxt;
        int rcvNxt;

        End(Peer peer, String myMac, String routerMac) {
            this.peer = peer;
            this.myMac = myMac;
            this.routerMac = routerMac;
        }

        End flow(String me, int myPort, String them, int theirPort, int isn) {
            myIp = address(me);
            peerIp = address(them);
            this.myPort = myPort;
            peerPort = theirPort;
            sndNxt = isn;
            return this;
        }

        byte[] tcp(int flags, String data) {
            byte[] payload = data.getBytes(StandardCharsets.ISO_8859_1);
            ByteBuffer t = ByteBuffer.allocate(20 + payload.length);
            t.putShort((short) myPort).putShort((short) peerPort).putInt(sndNxt)
                    .putInt((flags & 0x10) != 0 ? rcvNxt : 0).put((byte) 0x50).put((byte) flags)
                    .putShort((short) 64240).putShort((short) 0).putShort((short) 0).put(payload);
            sndNxt += payload.length + ((flags & 0x03) != 0 ? 1 : 0);
            return frame(routerMac, myMac, myIp, peerIp, 6, t.array());
        }

        /** An enhanced GRE (version 1, RFC 2637) packet carrying PPP to the peer's {@code callId}. */
        byte[] gre(int callId, byte[] payload) {
            ByteBuffer g = ByteBuffer.allocate(8 + payload.length);
            g.putShort((short) 0x2001).putShort((short) 0x880B).putShort((short) payload.length)
                    .putShort((short) callId).put(payload);
            byte[] l4 = g.array();
            ByteBuffer b = ByteBuffer.allocate(14 + 20 + l4.length);
            b.put(mac(routerMac)).put(mac(myMac)).putShort((short) 0x0800);
            b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + l4.length)).putShort((short) 0x1234)
                    .putShort((short) 0x4000).put((byte) 64).put((byte) 47).putShort((short) 0).put(myIp).put(peerIp);
            b.put(l4);
            byte[] a = b.array();
            int h = ~fold(sum(a, 14, 20, 0)) & 0xFFFF;
            a[24] = (byte) (h >>> 8);
            a[25] = (byte) h;
            return a;
        }

        byte[] udp(byte[] payload) {
            ByteBuffer t = ByteBuffer.allocate(8 + payload.length);
            t.putShort((short) myPort).putShort((short) peerPort).putShort((short) (8 + payload.length))
                    .putShort((short) 0).put(payload);
            return frame(routerMac, myMac, myIp, peerIp, 17, t.array());
        }

        /** Takes the flow from a frame the router forwarded to this side: it answers where that came from. */
        End learn(byte[] f) {
            boolean v4 = transport(f) >= 0 && (f[12] & 0xFF) == 0x08;
            int ip = 14;
            int l4 = ip + (v4 ? (f[ip] & 0x0F) * 4 : 40);
            int alen = v4 ? 4 : 16;
            int srcAt = ip + (v4 ? 12 : 8);
            myIp = java.util.Arrays.copyOfRange(f, srcAt + alen, srcAt + 2 * alen);
            peerIp = java.util.Arrays.copyOfRange(f, srcAt, srcAt + alen);
            peerPort = (f[l4] & 0xFF) << 8 | (f[l4 + 1] & 0xFF);
            myPort = (f[l4 + 2] & 0xFF) << 8 | (f[l4 + 3] & 0xFF);
            received(f);
            return this;
        }

        /** The next byte expected after a TCP segment the router forwarded to this side. */
        void received(byte[] f) {
            if (f == null || transport(f) != 6) {
                return;
            }
            boolean v4 = (f[12] & 0xFF) == 0x08;
            int ip = 14;
            int ipLen = v4 ? ((f[ip + 2] & 0xFF) << 8 | (f[ip + 3] & 0xFF)) : 40 + ((f[ip + 4] & 0xFF) << 8
                    | (f[ip + 5] & 0xFF));
            int l4 = ip + (v4 ? (f[ip] & 0x0F) * 4 : 40);
            int seq = ByteBuffer.wrap(f, l4 + 4, 4).getInt();
            int flags = f[l4 + 13] & 0xFF;
            int dataLen = ip + ipLen - l4 - ((f[l4 + 12] & 0xF0) >>> 2);
            rcvNxt = seq + dataLen + ((flags & 0x03) != 0 ? 1 : 0);
        }
    }

    /** A step's record: which side sent what, and what the router forwarded to the other side. */
    record Sent(boolean fromClient, byte[] frame, boolean local, boolean offloaded) {
        Sent(boolean fromClient, byte[] frame) {
            this(fromClient, frame, false, false);
        }
    }

    /** Runs a session against the kernel: frames in order, each followed by what the router forwarded. */
    static final class Session {
        final List<Sent> sent = new ArrayList<>();
        final List<String> kernelOut = new ArrayList<>();

        /** Sends {@code frame} from a side; returns the frame the router forwarded to the other side, or null. */
        byte[] send(boolean fromClient, byte[] frame) throws Exception {
            sent.add(new Sent(fromClient, frame));
            (fromClient ? client : server).send(frame);
            // what the router forwards arrives within milliseconds; a dropped frame is taken as dropped after 400 ms
            List<byte[]> toServer = new ArrayList<>();
            List<byte[]> toClient = new ArrayList<>();
            for (int tries = 0; tries < 20 && (fromClient ? toServer : toClient).isEmpty(); tries++) {
                Thread.sleep(20);
                toServer.addAll(server.dump());
                toClient.addAll(client.dump());
            }
            for (byte[] f : toClient) {
                kernelOut.add(DC + " " + HexFormat.of().formatHex(f));
            }
            for (byte[] f : toServer) {
                kernelOut.add(DS + " " + HexFormat.of().formatHex(f));
            }
            List<byte[]> other = fromClient ? toServer : toClient;
            return other.isEmpty() ? null : other.get(other.size() - 1);
        }

        /**
         * A UDP datagram a socket of the router itself sends, from {@code srcIp}:{@code port} to {@code dstIp}
         * (SO_BROADCAST set), by a process that then stays {@code linger} ms to receive the answers; the datagram as
         * the router sent it to the client side (taken from the frame, for jnetfilter's local send) is recorded.
         * Returns the process, to be waited for.
         */
        Process sendLocalUdp(String srcIp, int port, String dstIp, byte[] payload, int linger) throws Exception {
            return sendLocalUdp(srcIp, port, dstIp, port, payload, linger);
        }

        /** As {@link #sendLocalUdp(String, int, String, byte[], int)} from and to ports of their own. */
        Process sendLocalUdp(String srcIp, int srcPort, String dstIp, int dstPort, byte[] payload, int linger)
                throws Exception {
            String script = "import socket,sys,time\n"
                    + "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                    + "s.setsockopt(socket.SOL_SOCKET,socket.SO_BROADCAST,1)\n"
                    + "s.bind((sys.argv[1],int(sys.argv[2])))\n"
                    + "s.sendto(bytes.fromhex(sys.argv[5]),(sys.argv[3],int(sys.argv[4])))\n"
                    + "time.sleep(int(sys.argv[6])/1000.0)\n";
            Process p = new ProcessBuilder(in(DUT, "python3", "-c", script, srcIp, Integer.toString(srcPort), dstIp,
                    Integer.toString(dstPort), HexFormat.of().formatHex(payload), Integer.toString(linger)))
                    .redirectErrorStream(true).start();
            // python's start takes a while on a loaded machine: wait for the datagram up to 10 s
            List<byte[]> toClient = new ArrayList<>();
            for (int tries = 0; tries < 500 && toClient.isEmpty(); tries++) {
                Thread.sleep(20);
                toClient.addAll(client.dump());
            }
            assertThat(toClient).as("the router's own datagram").isNotEmpty();
            List<Boolean> partial = new ArrayList<>(client.lastPartial);
            for (int i = 0; i < toClient.size(); i++) {
                byte[] f = toClient.get(i);
                kernelOut.add(DC + " " + HexFormat.of().formatHex(f));
                sent.add(new Sent(false, java.util.Arrays.copyOfRange(f, 14, f.length), true, partial.get(i)));
            }
            return p;
        }
    }

    // ---- the comparison ----

    private static final Pattern COUNTED = Pattern.compile("^\\[(\\d+):(\\d+)\\] (-A .*)$");

    /** Every rule's counters of a {@code -save -c} text, keyed by table and rule text. */
    static Map<String, String> counters(String save) {
        Map<String, String> out = new TreeMap<>();
        String table = "";
        Map<String, Integer> seen = new TreeMap<>();
        for (String line : save.split("\n")) {
            if (line.startsWith("*")) {
                table = line.substring(1).strip();
            }
            Matcher m = COUNTED.matcher(line);
            if (m.matches()) {
                String key = table + " " + m.group(3);
                int n = seen.merge(key, 1, Integer::sum);
                out.put(key + (n > 1 ? " #" + n : ""), m.group(1) + ":" + m.group(2));
            }
        }
        return out;
    }

    private static final Pattern TIMEOUT = Pattern.compile("^(\\S+\\s+\\d+ )(\\d+)( .*)$");
    private static final Pattern EXPECT_TIMEOUT = Pattern.compile("^(\\d+)( .*)$");

    static List<String> withoutTimeouts(String listing) {
        List<String> out = new ArrayList<>();
        for (String l : listing.split("\n")) {
            if (l.isBlank() || l.startsWith("conntrack v")) {
                continue;
            }
            Matcher m = TIMEOUT.matcher(l.strip());
            Matcher e = EXPECT_TIMEOUT.matcher(l.strip());
            out.add(m.matches() ? m.group(1) + "T" + m.group(3) : e.matches() ? "T" + e.group(2) : l.strip());
        }
        out.sort(null);
        return out;
    }

    /**
     * Loads {@code rules} into the router (after flushing its tables and conntrack), runs {@code session}
     * against the kernel, replays its frames through jnetfilter and compares.
     */
    static Map<String, String> compare(String name, Family family, String rules, SessionScript session)
            throws Exception {
        try (SipModule lock = SipModule.lock(rules)) {
            return compareLocked(name, family, rules, session);
        }
    }

    private static Map<String, String> compareLocked(String name, Family family, String rules, SessionScript session)
            throws Exception {
        String restore = family == Family.IPV4 ? "iptables-legacy-restore" : "ip6tables-legacy-restore";
        String save = family == Family.IPV4 ? "iptables-legacy-save" : "ip6tables-legacy-save";
        KernelSide.Result loaded = KernelSide.run(30, rules, List.of(in(DUT, restore)));
        assertThat(loaded.exit()).as("%s: %s", restore, loaded.stderr()).isZero();
        KernelSide.run(in(DUT, "conntrack", "-F"));
        KernelSide.run(in(DUT, "conntrack", "-F", "expect"));
        client.dump();
        server.dump();
        Session s = new Session();
        session.run(s);
        String kernelConntrack = KernelSide.run(in(DUT, "conntrack", "-L", "-f", family == Family.IPV4 ? "ipv4"
                : "ipv6")).stdout();
        String kernelExpect = KernelSide.run(in(DUT, "conntrack", "-L", "expect", "-f",
                family == Family.IPV4 ? "ipv4" : "ipv6")).stdout();
        String kernelSave = KernelSide.run(in(DUT, save, "-c")).stdout();

        Host host = HostFile.parseRunning("dut", HOST + SipModule.hostLine());
        List<String> mine = new ArrayList<>();
        Datapath dp = new Datapath(host, new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
                byte[] f = frame.toArray(ValueLayout.JAVA_BYTE);
                if (recorded(f)) {
                    mine.add(ifname + " " + HexFormat.of().formatHex(f));
                }
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment ipPacket) {
            }
        });
        Conntrack table = new Conntrack(host);
        dp.module(new ConntrackModule(table));
        Ruleset rs = SaveFiles.read(family, rules);
        dp.rules(family, rs);
        long now = 1_000_000_000L;
        for (Sent f : s.sent) {
            now += 40_000_000L;
            if (f.local()) {
                dp.sendLocal(MemorySegment.ofArray(f.frame().clone()), now, Trace.NONE, 0, 0, 0, f.offloaded());
            } else {
                dp.receive(f.fromClient() ? DC : DS, MemorySegment.ofArray(f.frame().clone()), true, now, Trace.NONE);
            }
        }
        SipModule.listed(kernelConntrack, table.list(family, now));
        assertThat(String.join("\n", mine)).as("%s: frames the router sent", name)
                .isEqualTo(String.join("\n", s.kernelOut));
        assertThat(counters(SaveFiles.write(rs))).as("%s: rule counters", name).isEqualTo(counters(kernelSave));
        assertThat(withoutTimeouts(table.list(family, now))).as("%s: conntrack -L", name)
                .isEqualTo(withoutTimeouts(kernelConntrack));
        assertThat(withoutTimeouts(table.listExpectations(family, now))).as("%s: conntrack -L expect", name)
                .isEqualTo(withoutTimeouts(kernelExpect));
        System.err.println("KernelConntrackHelpersDifferentialTest " + name + ": " + s.sent.size() + " frames in, "
                + s.kernelOut.size() + " out, equal; conntrack:\n" + kernelConntrack + kernelExpect);
        return counters(kernelSave);
    }

    /** The packets a filter rule of {@link #rules} counted. */
    static long packets(Map<String, String> counters, String rule) {
        String c = counters.get("filter -A FORWARD " + rule);
        assertThat(c).as("rule %s", rule).isNotNull();
        return Long.parseLong(c.substring(0, c.indexOf(':')));
    }

    static final String RELATED_FTP = "-m conntrack --ctstate RELATED -m helper --helper ftp -j ACCEPT";
    static final String RELATED_TFTP = "-m conntrack --ctstate RELATED -m helper --helper tftp -j ACCEPT";

    interface SessionScript {
        void run(Session s) throws Exception;
    }

    // ---- rules ----

    static String rules(Family family, String nat) {
        boolean v4 = family == Family.IPV4;
        String icmp = v4 ? "icmp" : "ipv6-icmp";
        return "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                + "-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp\n"
                + "-A PREROUTING -p udp -m udp --dport 69 -j CT --helper tftp\n"
                + (v4 ? "-A PREROUTING -p tcp -m tcp --dport 6667 -j CT --helper irc\n" : "")
                + "-A PREROUTING -p tcp -m tcp --dport 6566 -j CT --helper sane\n"
                + "-A PREROUTING -p udp -m udp --dport 10080 -j CT --helper amanda\n"
                + (v4 ? "-A OUTPUT -p udp -m udp --dport 137 -j CT --helper netbios-ns\n" : "")
                + (v4 ? "-A PREROUTING -p tcp -m tcp --dport 1723 -j CT --helper pptp\n" : "")
                + (v4 ? "-A PREROUTING -p udp -m udp --dport 161 -m addrtype ! --src-type LOCAL -j CT --helper snmp\n" : "")
                + (v4 ? "-A PREROUTING -p udp -m udp --dport 162 -j CT --helper snmp_trap\n" : "")
                + (v4 ? "-A OUTPUT -p udp -m udp --dport 161 -j CT --helper snmp\n" : "")
                + "-A PREROUTING -p udp -m udp --dport 5060 -j CT --helper sip\n"
                + "-A PREROUTING -p tcp -m tcp --dport 5060 -j CT --helper sip\n"
                + "COMMIT\n"
                + "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
                + nat
                + "COMMIT\n"
                + "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                + "-A INPUT -m conntrack --ctstate RELATED -m helper --helper netbios-ns -j ACCEPT\n"
                + "-A INPUT -m conntrack --ctstate RELATED -m helper --helper snmp -j ACCEPT\n"
                // the router's own broadcast comes back to INPUT (a copy jnetfilter does not loop back): not counted
                + "-A INPUT -p udp -m udp --dport 137 -m addrtype ! --src-type LOCAL -m conntrack --ctstate NEW "
                + "-j ACCEPT\n"
                + "-A FORWARD -p " + icmp + " -j ACCEPT\n"
                + "-A FORWARD -m conntrack --ctstate INVALID -j DROP\n"
                + "-A FORWARD -m conntrack --ctstate RELATED -m helper --helper ftp -j ACCEPT\n"
                + "-A FORWARD -m conntrack --ctstate RELATED -m helper --helper tftp -j ACCEPT\n"
                + "-A FORWARD -m conntrack --ctstate RELATED -m helper --helper irc -j ACCEPT\n"
                + "-A FORWARD -m conntrack --ctstate RELATED -m helper --helper sane -j ACCEPT\n"
                + "-A FORWARD -m conntrack --ctstate RELATED -m helper --helper amanda -j ACCEPT\n"
                + "-A FORWARD -m conntrack --ctstate RELATED -m helper --helper pptp -j ACCEPT\n"
                + "-A FORWARD -m conntrack --ctstate RELATED -m helper --helper sip -j ACCEPT\n"
                + "-A FORWARD -m conntrack --ctstate RELATED -j ACCEPT\n"
                + "-A FORWARD -m helper --helper ftp\n"
                + "-A FORWARD -m helper ! --helper ftp\n"
                + "-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\n"
                + "-A FORWARD -p tcp -m tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT\n"
                + "-A FORWARD -p udp -m udp --dport 69 -m conntrack --ctstate NEW -j ACCEPT\n"
                + "-A FORWARD -p tcp -m tcp --dport 6667 -m conntrack --ctstate NEW -j ACCEPT\n"
                + "-A FORWARD -p tcp -m tcp --dport 6566 -m conntrack --ctstate NEW -j ACCEPT\n"
                + "-A FORWARD -p udp -m udp --dport 10080 -m conntrack --ctstate NEW -j ACCEPT\n"
                + "-A FORWARD -p tcp -m tcp --dport 1723 -m conntrack --ctstate NEW -j ACCEPT\n"
                + "-A FORWARD -p udp -m udp --dport 161:162 -m conntrack --ctstate NEW -j ACCEPT\n"
                + "-A FORWARD -p udp -m udp --dport 5060 -m conntrack --ctstate NEW -j ACCEPT\n"
                + "-A FORWARD -p tcp -m tcp --dport 5060 -m conntrack --ctstate NEW -j ACCEPT\n"
                + "COMMIT\n";
    }

    // ---- sessions ----

    static final int SYN = 0x02;
    static final int ACK = 0x10;
    static final int PSH_ACK = 0x18;
    static final int SYN_ACK = 0x12;

    /**
     * An FTP control connection from {@code clientIp}:{@code clientPort} to {@code serverIp}:21 up to the
     * client's USER and the server's answer; returns {client end, server end}.
     */
    static End[] login(Session s, String clientIp, int clientPort, String serverIp) throws Exception {
        End[] ctl = connect(s, clientIp, clientPort, serverIp, 21);
        End c = ctl[0];
        End v = ctl[1];
        c.received(s.send(false, v.tcp(PSH_ACK, "220 jnf test\r\n")));
        v.received(s.send(true, c.tcp(PSH_ACK, "USER anonymous\r\n")));
        c.received(s.send(false, v.tcp(PSH_ACK, "331 ok\r\n")));
        return ctl;
    }

    /** A TCP connection from the client side to {@code serverIp}:{@code port} through its handshake; {client, server}. */
    static End[] connect(Session s, String clientIp, int clientPort, String serverIp, int port) throws Exception {
        End c = new End(client, CLIENT_MAC, DC_MAC).flow(clientIp, clientPort, serverIp, port, 1000);
        End v = new End(server, SERVER_MAC, DS_MAC);
        v.learn(s.send(true, c.tcp(SYN, "")));
        v.sndNxt = 5000;
        c.received(s.send(false, v.tcp(SYN_ACK, "")));
        s.send(true, c.tcp(ACK, ""));
        return new End[] {c, v};
    }

    /**
     * A TCP connection opened by one side ({@code fromClient}) to an address and port a helper's peer announced:
     * handshake and one data segment, as far as the router forwards it.
     */
    static void dataConnection(Session s, boolean fromClient, byte[] srcIp, int srcPort, byte[] dstIp, int dstPort)
            throws Exception {
        End a = fromClient ? new End(client, CLIENT_MAC, DC_MAC) : new End(server, SERVER_MAC, DS_MAC);
        a.myIp = srcIp;
        a.myPort = srcPort;
        a.peerIp = dstIp;
        a.peerPort = dstPort;
        a.sndNxt = 7000;
        byte[] syn = s.send(fromClient, a.tcp(SYN, ""));
        if (syn == null) {
            return;
        }
        End b = (fromClient ? new End(server, SERVER_MAC, DS_MAC) : new End(client, CLIENT_MAC, DC_MAC)).learn(syn);
        b.sndNxt = 9000;
        a.received(s.send(!fromClient, b.tcp(SYN_ACK, "")));
        b.received(s.send(fromClient, a.tcp(PSH_ACK, "data\r\n")));
        a.received(s.send(!fromClient, b.tcp(ACK, "")));
    }

    /** The client asks for active mode with {@code command}; the server connects from port 20 and sends data. */
    static void active(Session s, End[] ctl, String command) throws Exception {
        End c = ctl[0];
        End v = ctl[1];
        byte[] fwd = s.send(true, c.tcp(PSH_ACK, command));
        v.received(fwd);
        String seen = fwd == null ? "" : payloadText(fwd);
        c.received(s.send(false, v.tcp(PSH_ACK, "200 Command okay\r\n")));
        v.received(s.send(true, c.tcp(PSH_ACK, "LIST\r\n")));
        // the server connects to the address and port the forwarded command named
        int[] target = announced(seen);
        End dv = new End(server, SERVER_MAC, DS_MAC);
        dv.myIp = v.myIp;
        dv.myPort = 20;
        dv.peerIp = target.length == 0 ? v.peerIp : toAddress(seen, v.peerIp.length);
        dv.peerPort = target.length == 0 ? 1 : target[0];
        dv.sndNxt = 7000;
        End dc = new End(client, CLIENT_MAC, DC_MAC);
        byte[] syn = s.send(false, dv.tcp(SYN, ""));
        if (syn == null) {
            return;
        }
        dc.learn(syn);
        dc.sndNxt = 9000;
        dv.received(s.send(true, dc.tcp(SYN_ACK, "")));
        dc.received(s.send(false, dv.tcp(PSH_ACK, "file\r\n")));
        dv.received(s.send(true, dc.tcp(ACK, "")));
        c.received(s.send(false, v.tcp(PSH_ACK, "226 done\r\n")));
        s.send(true, c.tcp(ACK, ""));
    }

    /** The client asks for passive mode; the server answers {@code reply}; the client connects where it says. */
    static void passive(Session s, End[] ctl, String command, String reply) throws Exception {
        End c = ctl[0];
        End v = ctl[1];
        v.received(s.send(true, c.tcp(PSH_ACK, command)));
        byte[] fwd = s.send(false, v.tcp(PSH_ACK, reply));
        c.received(fwd);
        String seen = fwd == null ? "" : payloadText(fwd);
        v.received(s.send(true, c.tcp(PSH_ACK, "LIST\r\n")));
        int[] target = announced(seen);
        if (target.length == 0) {
            return;
        }
        End dc = new End(client, CLIENT_MAC, DC_MAC);
        dc.myIp = c.myIp;
        dc.myPort = c.myPort + 1;
        dc.peerIp = seen.contains("|||") ? c.peerIp : toAddress(seen, c.peerIp.length);
        dc.peerPort = target[0];
        dc.sndNxt = 3000;
        End dv = new End(server, SERVER_MAC, DS_MAC);
        byte[] syn = s.send(true, dc.tcp(SYN, ""));
        if (syn == null) {
            return;
        }
        dv.learn(syn);
        dv.sndNxt = 8000;
        dc.received(s.send(false, dv.tcp(SYN_ACK, "")));
        dv.received(s.send(true, dc.tcp(ACK, "")));
        dc.received(s.send(false, dv.tcp(PSH_ACK, "file\r\n")));
        c.received(s.send(false, v.tcp(PSH_ACK, "226 done\r\n")));
        v.received(s.send(true, c.tcp(ACK, "")));
    }

    static String payloadText(byte[] f) {
        boolean v4 = (f[12] & 0xFF) == 0x08;
        int l4 = 14 + (v4 ? (f[14] & 0x0F) * 4 : 40);
        int data = l4 + ((f[l4 + 12] & 0xF0) >>> 2);
        return new String(f, data, f.length - data, StandardCharsets.US_ASCII);
    }

    /** The port an FTP command or reply names: {port}, or {} when it names none. */
    static int[] announced(String text) {
        Matcher m = Pattern.compile("(\\d+),(\\d+),(\\d+),(\\d+),(\\d+),(\\d+)").matcher(text);
        if (m.find()) {
            return new int[] {Integer.parseInt(m.group(5)) * 256 + Integer.parseInt(m.group(6))};
        }
        Matcher e = Pattern.compile("\\|(\\d+)\\|\\r?$|\\|(\\d+)\\|[)\\r]").matcher(text);
        if (e.find()) {
            return new int[] {Integer.parseInt(e.group(1) != null ? e.group(1) : e.group(2))};
        }
        return new int[0];
    }

    static byte[] toAddress(String text, int length) {
        Matcher m = Pattern.compile("(\\d+),(\\d+),(\\d+),(\\d+),(\\d+),(\\d+)").matcher(text);
        if (m.find()) {
            return new byte[] {(byte) Integer.parseInt(m.group(1)), (byte) Integer.parseInt(m.group(2)),
                    (byte) Integer.parseInt(m.group(3)), (byte) Integer.parseInt(m.group(4))};
        }
        Matcher e = Pattern.compile("\\|[12]\\|([^|]+)\\|").matcher(text);
        if (e.find()) {
            return address(e.group(1));
        }
        return new byte[length];
    }

    /** A TFTP read request from the client's port 1069, answered with DATA from the server's port 3000. */
    static void tftp(Session s, String clientIp, String serverIp) throws Exception {
        End c = new End(client, CLIENT_MAC, DC_MAC).flow(clientIp, 1069, serverIp, 69, 0);
        byte[] rrq = "\u0000\u0001file.txt\u0000octet\u0000".getBytes(StandardCharsets.ISO_8859_1);
        byte[] fwd = s.send(true, c.udp(rrq));
        if (fwd == null) {
            return;
        }
        End v = new End(server, SERVER_MAC, DS_MAC).learn(fwd);
        v.myPort = 3000;
        byte[] data = "\u0000\u0003\u0000\u0001hello".getBytes(StandardCharsets.ISO_8859_1);
        byte[] back = s.send(false, v.udp(data));
        if (back == null) {
            return;
        }
        End dc = new End(client, CLIENT_MAC, DC_MAC).learn(back);
        s.send(true, dc.udp("\u0000\u0004\u0000\u0001".getBytes(StandardCharsets.ISO_8859_1)));
        s.send(false, v.udp("\u0000\u0003\u0000\u0002".getBytes(StandardCharsets.ISO_8859_1)));
    }

    // ---- the scenarios ----

    static final String SNAT4 = "-A POSTROUTING -o " + DS + " -j SNAT --to-source 10.0.2.100\n";
    static final String SNAT6 = "-A POSTROUTING -o " + DS + " -j SNAT --to-source fd02::100\n";
    static final String DNAT_MASQUERADE = "-A PREROUTING -d 10.0.1.1/32 -p tcp -m tcp --dport 21 -j DNAT "
            + "--to-destination 10.0.2.22\n-A POSTROUTING -o " + DS + " -j MASQUERADE\n";

    /**
     * An FTP session: the client logs in from {@code clientPort} to {@code serverIp}, then sends {@code command};
     * with a {@code reply} (passive mode) the server answers it and the client connects where the forwarded answer
     * says, else (active mode) the server connects where the forwarded command says. {@code related}: the packets
     * the RELATED ftp rule counts (the data connection's first packet, when it is expected).
     */
    record Ftp(String name, Family family, String nat, String clientIp, int clientPort, String serverIp,
            String command, String reply, int related) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Ftp> ftpSessions() {
        return List.of(
                new Ftp("active, no NAT", Family.IPV4, "", "10.0.1.2", 40001, "10.0.2.2",
                        "PORT 10,0,1,2,156,64\r\n", null, 1),
                new Ftp("active behind SNAT: PORT rewritten longer, sequence numbers adjusted", Family.IPV4, SNAT4,
                        "10.0.1.2", 40002, "10.0.2.2", "PORT 10,0,1,2,156,65\r\n", null, 1),
                new Ftp("passive to a DNAT server behind MASQUERADE: 227 rewritten shorter", Family.IPV4,
                        DNAT_MASQUERADE, "10.0.1.2", 40003, "10.0.1.1", "PASV\r\n",
                        "227 Entering Passive Mode (10,0,2,22,195,80).\r\n", 1),
                new Ftp("EPSV, no NAT", Family.IPV4, "", "10.0.1.2", 40004, "10.0.2.2", "EPSV\r\n",
                        "229 Entering Extended Passive Mode (|||50001|)\r\n", 1),
                new Ftp("EPSV behind SNAT", Family.IPV4, SNAT4, "10.0.1.2", 40011, "10.0.2.2", "EPSV\r\n",
                        "229 Entering Extended Passive Mode (|||50003|)\r\n", 1),
                new Ftp("EPRT over IPv6 behind SNAT: rewritten to the full address form", Family.IPV6, SNAT6,
                        "fd01::2", 40005, "fd02::2", "EPRT |2|fd01::2|40100|\r\n", null, 1),
                new Ftp("EPSV over IPv6", Family.IPV6, "", "fd01::2", 40006, "fd02::2", "EPSV\r\n",
                        "229 Entering Extended Passive Mode (|||50002|)\r\n", 1),
                new Ftp("PORT naming a third host is not expected", Family.IPV4, "", "10.0.1.2", 40007, "10.0.2.2",
                        "PORT 10,0,1,9,156,66\r\n", null, 0),
                new Ftp("PORT with five numbers is dropped as partial", Family.IPV4, "", "10.0.1.2", 40008,
                        "10.0.2.2", "port 10,0,1,2,156\r\n", null, 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ftpSessions")
    void ftpSessionThroughTheRouterIsForwardedAsByLinux(Ftp f) throws Exception {
        assumeKernel();
        Map<String, String> c = compare(f.name(), f.family(), rules(f.family(), f.nat()), s -> {
            End[] ctl = login(s, f.clientIp(), f.clientPort(), f.serverIp());
            if (f.reply() == null) {
                active(s, ctl, f.command());
            } else {
                passive(s, ctl, f.command(), f.reply());
            }
        });
        assertThat(packets(c, RELATED_FTP)).as("the data connection's first packet").isEqualTo(f.related());
        assertThat(packets(c, "-m conntrack --ctstate INVALID -j DROP")).as("adjusted acks are in window").isZero();
    }

    @Test
    void expectationsWaitForTheirConnectionAndASecondPortReplacesTheFirst() throws Exception {
        assumeKernel();
        compare("two PORTs, no data connection", Family.IPV4, rules(Family.IPV4, ""), s -> {
            End[] ctl = login(s, "10.0.1.2", 40009, "10.0.2.2");
            for (String port : new String[] {"PORT 10,0,1,2,156,70\r\n", "PORT 10,0,1,2,156,71\r\n"}) {
                ctl[1].received(s.send(true, ctl[0].tcp(PSH_ACK, port)));
                ctl[0].received(s.send(false, ctl[1].tcp(PSH_ACK, "200 Command okay\r\n")));
            }
        });
    }

    @Test
    void commandInTheFirstSegmentOfADirectionIsNotRead() throws Exception {
        assumeKernel();
        Map<String, String> c = compare("PORT before any newline", Family.IPV4, rules(Family.IPV4, ""), s -> {
            End cl = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.1.2", 40010, "10.0.2.2", 21, 1000);
            End v = new End(server, SERVER_MAC, DS_MAC);
            v.learn(s.send(true, cl.tcp(SYN, "")));
            v.sndNxt = 5000;
            cl.received(s.send(false, v.tcp(SYN_ACK, "")));
            s.send(true, cl.tcp(ACK, ""));
            active(s, new End[] {cl, v}, "PORT 10,0,1,2,156,72\r\n");
        });
        assertThat(packets(c, RELATED_FTP)).isZero();
    }

    static List<Arguments> tftpSessions() {
        return List.of(Arguments.of("tftp, no NAT", Family.IPV4, "", "10.0.1.2", "10.0.2.2"),
                Arguments.of("tftp behind SNAT", Family.IPV4, SNAT4, "10.0.1.2", "10.0.2.2"),
                Arguments.of("tftp over IPv6", Family.IPV6, "", "fd01::2", "fd02::2"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("tftpSessions")
    void tftpReadRequestExpectsTheAnswerFromAnotherPort(String name, Family family, String nat, String clientIp,
            String serverIp) throws Exception {
        assumeKernel();
        Map<String, String> c = compare(name, family, rules(family, nat), s -> tftp(s, clientIp, serverIp));
        assertThat(packets(c, RELATED_TFTP)).isEqualTo(1);
    }

    // ---- irc ----

    static final String RELATED_IRC = "-m conntrack --ctstate RELATED -m helper --helper irc -j ACCEPT";

    /**
     * An IRC session: the client connects to the server's port 6667, the server greets, the client sends
     * {@code message}, the server answers, and the client sends one more line (sequence numbers adjusted after a
     * rewrite); then the server side connects to the address and port the forwarded message names. {@code related}:
     * the packets the RELATED irc rule counts.
     */
    record Irc(String name, String nat, int clientPort, String message, int related) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Irc> ircSessions() {
        // 10.0.1.2 is 167772418
        return List.of(
                new Irc("DCC SEND, no NAT", "", 40020, "PRIVMSG bob :\u0001DCC SEND file.txt 167772418 5000 1024\u0001\r\n",
                        1),
                new Irc("DCC CHAT behind SNAT: address and port rewritten shorter, sequence numbers adjusted", SNAT4,
                        40021, "privmsg bob :\u0001DCC CHAT chat 0167772418  5001\u0001\r\n", 1),
                new Irc("DCC SEND after blank lines, two offers in one packet: only the first", "", 40022,
                        "\r\n PRIVMSG bob :\u0001DCC SEND a 167772418 5002 1\u0001\r\nPRIVMSG bob :\u0001DCC SEND b "
                                + "167772418 5003 1\u0001\r\n", 1),
                new Irc("DCC naming a third host is forged: not expected", "", 40023,
                        "PRIVMSG bob :\u0001DCC SEND file.txt 167772419 5004 1024\u0001\r\n", 0),
                new Irc("DCC in a NOTICE is not read", "", 40024,
                        "NOTICE bob :\u0001DCC SEND file.txt 167772418 5005 1024\u0001\r\n", 0),
                new Irc("DCC with port 0 is not expected", "", 40025,
                        "PRIVMSG bob :\u0001DCC SEND file.txt 167772418 0 1024\u0001\r\n", 0),
                new Irc("DCC without a line end is not read", "", 40026,
                        "PRIVMSG bob :\u0001DCC SEND file.txt 167772418 5006 1024\u0001", 0));
    }

    /** The address and port a forwarded DCC offer names: {address as 4 bytes, port}, or null. */
    static Object[] dccTarget(String text) {
        Matcher m = Pattern.compile("DCC \\w+ \\S+ (\\d+) +(\\d+)").matcher(text);
        if (!m.find()) {
            return null;
        }
        long a = Long.parseLong(m.group(1)) & 0xFFFFFFFFL;
        return new Object[] {new byte[] {(byte) (a >>> 24), (byte) (a >>> 16), (byte) (a >>> 8), (byte) a},
                Integer.parseInt(m.group(2))};
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ircSessions")
    void ircDccOfferThroughTheRouterIsForwardedAsByLinux(Irc irc) throws Exception {
        assumeKernel();
        Map<String, String> c = compare("irc " + irc.name(), Family.IPV4, rules(Family.IPV4, irc.nat()), s -> {
            End[] ctl = connect(s, "10.0.1.2", irc.clientPort(), "10.0.2.2", 6667);
            ctl[0].received(s.send(false, ctl[1].tcp(PSH_ACK, ":irc 001 alice :Welcome\r\n")));
            byte[] fwd = s.send(true, ctl[0].tcp(PSH_ACK, irc.message()));
            ctl[1].received(fwd);
            ctl[0].received(s.send(false, ctl[1].tcp(PSH_ACK, ":irc NOTICE alice :ok\r\n")));
            ctl[1].received(s.send(true, ctl[0].tcp(PSH_ACK, "PRIVMSG bob :done\r\n")));
            Object[] target = fwd == null ? null : dccTarget(payloadText(fwd));
            if (target != null && (int) target[1] != 0) {
                dataConnection(s, false, ctl[1].myIp, 41000, (byte[]) target[0], (int) target[1]);
            }
        });
        assertThat(packets(c, RELATED_IRC)).as("the DCC connection's first packet").isEqualTo(irc.related());
        assertThat(packets(c, "-m conntrack --ctstate INVALID -j DROP")).as("adjusted acks are in window").isZero();
    }

    // ---- sane ----

    static final String RELATED_SANE = "-m conntrack --ctstate RELATED -m helper --helper sane -j ACCEPT";

    static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    static String latin1(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    static List<Arguments> saneSessions() {
        return List.of(
                Arguments.of("sane NET_START, no NAT", Family.IPV4, "", "10.0.1.2", "10.0.2.2", 0, 1),
                Arguments.of("sane NET_START behind SNAT: the data connection walks the nat table", Family.IPV4, SNAT4,
                        "10.0.1.2", "10.0.2.2", 0, 1),
                Arguments.of("sane NET_START over IPv6", Family.IPV6, "", "fd01::2", "fd02::2", 0, 1),
                Arguments.of("sane NET_START refused: nothing expected", Family.IPV4, "", "10.0.1.2", "10.0.2.2", 9,
                        0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("saneSessions")
    void saneNetStartExpectsTheDataConnection(String name, Family family, String nat, String clientIp,
            String serverIp, int status, int related) throws Exception {
        assumeKernel();
        Map<String, String> c = compare(name, family, rules(family, nat), s -> {
            End[] ctl = connect(s, clientIp, 40030, serverIp, 6566);
            // SANE_NET_INIT (code 0) first, 8 bytes but not NET_START
            ctl[1].received(s.send(true, ctl[0].tcp(PSH_ACK, latin1(bytes(0, 0, 0, 0, 0, 1, 0, 3)))));
            ctl[0].received(s.send(false, ctl[1].tcp(PSH_ACK, latin1(bytes(0, 0, 0, 0, 0, 1, 0, 3)))));
            ctl[1].received(s.send(true, ctl[0].tcp(PSH_ACK, latin1(bytes(0, 0, 0, 7, 0, 0, 0, 1)))));
            ctl[0].received(s.send(false, ctl[1].tcp(PSH_ACK, latin1(bytes(0, 0, 0, status, 0, 0, 0x3A, 0x70, 0,
                    0, 0x12, 0x34, 0, 0, 0, 0)))));
            dataConnection(s, true, ctl[0].myIp, 40031, ctl[0].peerIp, 0x3A70);
        });
        assertThat(packets(c, RELATED_SANE)).isEqualTo(related);
    }

    // ---- amanda ----

    static final String RELATED_AMANDA = "-m conntrack --ctstate RELATED -m helper --helper amanda -j ACCEPT";

    static List<Arguments> amandaSessions() {
        return List.of(
                Arguments.of("amanda, no NAT", Family.IPV4, "", "10.0.1.2", "10.0.2.2"),
                Arguments.of("amanda behind SNAT: the ports rewritten, the connections follow the master",
                        Family.IPV4, SNAT4, "10.0.1.2", "10.0.2.2"),
                Arguments.of("amanda over IPv6", Family.IPV6, "", "fd01::2", "fd02::2"));
    }

    /**
     * The backup server (client side, port 850) asks the Amanda client (server side, port 10080); the answer names
     * three ports; the backup server connects to the DATA and MESG ports the forwarded answer names.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("amandaSessions")
    void amandaAnswerExpectsTheConnectionsItNames(String name, Family family, String nat, String clientIp,
            String serverIp) throws Exception {
        assumeKernel();
        Map<String, String> c = compare(name, family, rules(family, nat), s -> {
            End b = new End(client, CLIENT_MAC, DC_MAC).flow(clientIp, 850, serverIp, 10080, 0);
            byte[] fwd = s.send(true, b.udp("Amanda 2.6 REQ HANDLE 000-1 SEQ 1\nSERVICE sendbackup\n"
                    .getBytes(StandardCharsets.US_ASCII)));
            if (fwd == null) {
                return;
            }
            End a = new End(server, SERVER_MAC, DS_MAC).learn(fwd);
            byte[] back = s.send(false, a.udp(("Amanda 2.6 REP HANDLE 000-1 SEQ 1\nCONNECT DATA 50010 MESG 50011 "
                    + "INDEX 50012\nOPTIONS features=1;\n").getBytes(StandardCharsets.US_ASCII)));
            if (back == null) {
                return;
            }
            Matcher m = Pattern.compile("DATA (\\d+) MESG (\\d+)").matcher(payloadOfUdp(back));
            assertThat(m.find()).isTrue();
            dataConnection(s, true, b.myIp, 40040, b.peerIp, Integer.parseInt(m.group(1)));
            dataConnection(s, true, b.myIp, 40041, b.peerIp, Integer.parseInt(m.group(2)));
        });
        assertThat(packets(c, RELATED_AMANDA)).isEqualTo(2);
    }

    static String payloadOfUdp(byte[] f) {
        boolean v4 = (f[12] & 0xFF) == 0x08;
        int l4 = 14 + (v4 ? (f[14] & 0x0F) * 4 : 40);
        return new String(f, l4 + 8, f.length - l4 - 8, StandardCharsets.US_ASCII);
    }

    // ---- netbios-ns ----

    /**
     * The router broadcasts a NetBIOS name query from its own socket; two hosts of the subnet answer from port 137.
     * With {@code brd +} on the address (10.0.3.1/24) the answers are RELATED to a PERMANENT expectation; without
     * (10.0.1.1/24) nothing is expected and each answer is NEW.
     */
    @ParameterizedTest(name = "netbios-ns broadcast to {1}")
    @MethodSource("netbiosSessions")
    void netbiosNameQueryBroadcastExpectsAnswersFromTheSubnet(String source, String broadcast, String prefix,
            int related) throws Exception {
        assumeKernel();
        Map<String, String> c = compare("netbios-ns to " + broadcast, Family.IPV4, rules(Family.IPV4, ""), s -> {
            byte[] query = bytes(0x12, 0x34, 1, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 0x20, 0x41, 0x41, 0);
            Process p = s.sendLocalUdp(source, 137, broadcast, query, 1500);
            for (String host : new String[] {prefix + "7", prefix + "8"}) {
                End h = new End(client, CLIENT_MAC, DC_MAC).flow(host, 137, source, 137, 0);
                s.send(true, h.udp(bytes(0x12, 0x34, 0x85, 0, 0, 0, 0, 1, 0, 0, 0, 0)));
            }
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        });
        assertThat(packetsIn(c, "INPUT", "-m conntrack --ctstate RELATED -m helper --helper netbios-ns -j ACCEPT"))
                .isEqualTo(related);
    }

    static List<Arguments> netbiosSessions() {
        return List.of(Arguments.of("10.0.3.1", "10.0.3.255", "10.0.3.", 2),
                Arguments.of("10.0.1.1", "10.0.1.255", "10.0.1.", 0));
    }

    /** The packets a rule of {@code chain} in the filter table counted. */
    static long packetsIn(Map<String, String> counters, String chain, String rule) {
        String c = counters.get("filter -A " + chain + " " + rule);
        assertThat(c).as("rule %s", rule).isNotNull();
        return Long.parseLong(c.substring(0, c.indexOf(':')));
    }

    // ---- pptp ----

    static final String RELATED_PPTP = "-m conntrack --ctstate RELATED -m helper --helper pptp -j ACCEPT";

    static String pptp(int type, int bodyLength, int... body) {
        return org.jnetfilter.core.testkit.PptpMessages.control(type, bodyLength, body);
    }

    static byte[] payloadBytes(byte[] f) {
        int l4 = 14 + (f[14] & 0x0F) * 4;
        int data = l4 + ((f[l4 + 12] & 0xF0) >>> 2);
        return java.util.Arrays.copyOfRange(f, data, f.length);
    }

    static int u16(byte[] b, int at) {
        return (b[at] & 0xFF) << 8 | (b[at + 1] & 0xFF);
    }

    static byte[] ppp(int n) {
        return bytes(0xFF, 0x03, 0x00, 0x21, 0x45, 0, 0, n);
    }

    /** One PPTP session's script after the control connection's handshake: {client end, server end} given. */
    interface PptpScript {
        void run(Session s, End pns, End pac) throws Exception;
    }

    static List<Arguments> pptpSessions() {
        PptpScript outgoing = (s, pns, pac) -> {
            pac.received(s.send(true, pns.tcp(PSH_ACK, pptp(1, 144, 1, 0))));
            pns.received(s.send(false, pac.tcp(PSH_ACK, pptp(2, 144, 1, 0, 1))));
            pac.received(s.send(true, pns.tcp(PSH_ACK, pptp(7, 156, 0x12, 0x34))));
            pns.received(s.send(false, pac.tcp(PSH_ACK, pptp(8, 20, 0x56, 0x78, 0x12, 0x34, 1))));
        };
        PptpScript greBothWays = (s, pns, pac) -> {
            outgoing.run(s, pns, pac);
            s.send(true, pns.gre(0x5678, ppp(1)));
            s.send(false, pac.gre(0x1234, ppp(2)));
            s.send(true, pns.gre(0x5678, ppp(3)));
        };
        PptpScript disconnected = (s, pns, pac) -> {
            greBothWays.run(s, pns, pac);
            pac.received(s.send(true, pns.tcp(PSH_ACK, pptp(12, 4, 0x12, 0x34))));
            pns.received(s.send(false, pac.tcp(PSH_ACK, pptp(13, 136, 0x56, 0x78, 3))));
            s.send(true, pns.gre(0x5678, ppp(4)));
        };
        PptpScript unconfirmed = (s, pns, pac) -> {
            pac.received(s.send(true, pns.tcp(PSH_ACK, pptp(1, 144, 1, 0))));
            pac.received(s.send(true, pns.tcp(PSH_ACK, pptp(7, 156, 0x12, 0x34))));
            pns.received(s.send(false, pac.tcp(PSH_ACK, pptp(8, 20, 0x56, 0x78, 0x12, 0x34, 1))));
            s.send(true, pns.gre(0x5678, ppp(1)));
        };
        PptpScript incoming = (s, pns, pac) -> {
            pac.received(s.send(true, pns.tcp(PSH_ACK, pptp(1, 144, 1, 0))));
            pns.received(s.send(false, pac.tcp(PSH_ACK, pptp(2, 144, 1, 0, 1))));
            pns.received(s.send(false, pac.tcp(PSH_ACK, pptp(9, 208, 0x22, 0x22))));
            pac.received(s.send(true, pns.tcp(PSH_ACK, pptp(10, 12, 0x33, 0x33, 0x22, 0x22, 1))));
            pns.received(s.send(false, pac.tcp(PSH_ACK, pptp(11, 16, 0x33, 0x33))));
            s.send(false, pac.gre(0x3333, ppp(1)));
            s.send(true, pns.gre(0x2222, ppp(2)));
        };
        PptpScript shortReply = (s, pns, pac) -> {
            pac.received(s.send(true, pns.tcp(PSH_ACK, pptp(1, 144, 1, 0))));
            pns.received(s.send(false, pac.tcp(PSH_ACK, pptp(2, 144, 1, 0, 1))));
            pac.received(s.send(true, pns.tcp(PSH_ACK, pptp(7, 156, 0x12, 0x34))));
            pns.received(s.send(false, pac.tcp(PSH_ACK, pptp(8, 19, 0x56, 0x78, 0x12, 0x34, 1))));
            s.send(true, pns.gre(0x5678, ppp(1)));
        };
        PptpScript natOutgoing = (s, pns, pac) -> {
            pac.received(s.send(true, pns.tcp(PSH_ACK, pptp(1, 144, 1, 0))));
            pns.received(s.send(false, pac.tcp(PSH_ACK, pptp(2, 144, 1, 0, 1))));
            byte[] request = s.send(true, pns.tcp(PSH_ACK, pptp(7, 156, 0x12, 0x34)));
            pac.received(request);
            // the PNS's call id as the PAC sees it
            int id = request == null ? 0x1234 : u16(payloadBytes(request), 12);
            pns.received(s.send(false, pac.tcp(PSH_ACK, pptp(8, 20, 0x56, 0x78, id >>> 8, id & 0xFF, 1))));
            s.send(true, pns.gre(0x5678, ppp(1)));
            s.send(false, pac.gre(id, ppp(2)));
            s.send(true, pns.gre(0x5678, ppp(3)));
            pac.received(s.send(true, pns.tcp(PSH_ACK, pptp(12, 4, 0x12, 0x34))));
            pns.received(s.send(false, pac.tcp(PSH_ACK, pptp(13, 136, 0x56, 0x78, 3))));
        };
        return List.of(
                Arguments.of("pptp behind SNAT: call ids rewritten, the GRE flow translated both ways", natOutgoing,
                        1, SNAT4),
                Arguments.of("pptp incoming call behind SNAT: the peer call id rewritten to the never-saved 0",
                        incoming, 1, SNAT4),
                Arguments.of("pptp outgoing call: GRE expected both ways, keyed by the call ids", outgoing, 0, ""),
                Arguments.of("pptp outgoing call, GRE both ways: the first flow takes both directions", greBothWays, 1,
                        ""),
                Arguments.of("pptp call disconnected: the GRE flow is killed, the keymap dropped", disconnected, 1, ""),
                Arguments.of("pptp outgoing-call reply before the session is confirmed: nothing expected", unconfirmed,
                        0, ""),
                Arguments.of("pptp incoming call: GRE from the PAC first", incoming, 1, ""),
                Arguments.of("pptp outgoing-call reply one byte short: not read", shortReply, 0, ""));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pptpSessions")
    void pptpControlConnectionExpectsTheCallsGreFlows(String name, PptpScript script, int related, String nat)
            throws Exception {
        assumeKernel();
        Map<String, String> c = compare(name, Family.IPV4, rules(Family.IPV4, nat), s -> {
            End[] ctl = connect(s, "10.0.1.2", 40060, "10.0.2.2", 1723);
            script.run(s, ctl[0], ctl[1]);
        });
        assertThat(packets(c, RELATED_PPTP)).isEqualTo(related);
    }

    // ---- snmp, snmp_trap ----

    static final String DNAT_TRAP = "-A PREROUTING -d 10.0.1.1/32 -p udp -m udp --dport 162 -j DNAT "
            + "--to-destination 10.0.2.22\n";

    /**
     * A trap (or any message) from an agent of the client side (10.0.1.2:40162) to a manager at {@code manager}:162,
     * with the snmp_trap helper: whether Linux forwards it, and how (compared byte for byte).
     */
    record Trap(String name, String nat, String manager, byte[] message, boolean checksum, int trailing,
            boolean forwarded) {
        Trap(String name, String nat, String manager, byte[] message, boolean checksum, boolean forwarded) {
            this(name, nat, manager, message, checksum, 0, forwarded);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static List<Trap> trapSessions() {
        byte[][] header = SnmpMessages.v2TrapHeader();
        byte[] v2Trap = SnmpMessages.message(1, SnmpMessages.pdu(SnmpMessages.TRAP_V2, 7, header[0], header[1],
                SnmpMessages.addressBinding(10, 0, 1, 2), SnmpMessages.addressBinding(10, 0, 1, 3)));
        byte[] v1Trap = SnmpMessages.message(0, SnmpMessages.trapV1(new int[] {10, 0, 1, 2},
                SnmpMessages.addressBinding(10, 0, 1, 2)));
        byte[] v1Response = SnmpMessages.message(0, SnmpMessages.pdu(SnmpMessages.RESPONSE, 300,
                SnmpMessages.varbind(SnmpMessages.oid(1, 3, 6, 1, 2, 1, 1, 5, 0), SnmpMessages.octets("agent")),
                SnmpMessages.addressBinding(10, 0, 1, 2)));
        byte[] odd = SnmpMessages.message(1, SnmpMessages.pdu(SnmpMessages.TRAP_V2, 7, header[0],
                SnmpMessages.varbind(SnmpMessages.oid(1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 10), SnmpMessages.ipAddress(10,
                        0, 1, 2))));
        byte[] v3 = SnmpMessages.message(3, SnmpMessages.pdu(SnmpMessages.TRAP_V2, 7, header[0]));
        byte[] fiveByteAddress = SnmpMessages.message(1, SnmpMessages.pdu(SnmpMessages.TRAP_V2, 7,
                SnmpMessages.varbind(SnmpMessages.oid(1, 3, 6, 1, 2, 1, 4, 20, 1, 1),
                        SnmpMessages.tlv(SnmpMessages.IP_ADDRESS, bytes(10, 0, 1, 2, 0)))));
        byte[] integerThenAddress = SnmpMessages.message(1, SnmpMessages.pdu(SnmpMessages.TRAP_V2, 7,
                SnmpMessages.tlv(SnmpMessages.SEQUENCE, SnmpMessages.oid(1, 3, 6, 1, 2, 1, 4, 20, 1, 1),
                        SnmpMessages.integer(5), SnmpMessages.ipAddress(10, 0, 1, 2))));
        byte[] community = SnmpMessages.concat(SnmpMessages.integer(1), SnmpMessages.octets("public"));
        byte[] pduBody = SnmpMessages.concat(SnmpMessages.integer(7), SnmpMessages.integer(0),
                SnmpMessages.integer(0));
        byte[] binding = SnmpMessages.addressBinding(10, 0, 1, 2);
        // the bindings in indefinite length, ended by end-of-contents
        byte[] indefiniteBindings = SnmpMessages.concat(bytes(0x30, 0x80), binding, binding, bytes(0, 0));
        byte[] indefinite = SnmpMessages.tlv(SnmpMessages.SEQUENCE, community, SnmpMessages.tlv(SnmpMessages.TRAP_V2,
                pduBody, indefiniteBindings));
        byte[] indefiniteMessage = SnmpMessages.concat(bytes(0x30, 0x80), community,
                SnmpMessages.tlv(SnmpMessages.TRAP_V2, pduBody, indefiniteBindings), bytes(0, 0));
        // every length in the two-byte long form
        byte[] longForm = longForm(SnmpMessages.message(1, SnmpMessages.pdu(SnmpMessages.TRAP_V2, 7, binding)));
        byte[] threeByteLength = SnmpMessages.concat(bytes(0x30, 0x83, 0, 0, community.length), community);
        byte[] cutAfterCommunity = SnmpMessages.tlv(SnmpMessages.SEQUENCE, community);
        byte[] emptyBindings = SnmpMessages.message(1, SnmpMessages.pdu(SnmpMessages.TRAP_V2, 7));
        byte[] overrun = SnmpMessages.concat(bytes(0x30, 0x81, 0x7F), community);
        byte[] primitiveSequence = SnmpMessages.concat(bytes(0x10), java.util.Arrays.copyOfRange(v1Response, 1,
                v1Response.length));
        byte[] response = SnmpMessages.pdu(SnmpMessages.RESPONSE, 1, binding);
        byte[] trap = SnmpMessages.pdu(SnmpMessages.TRAP_V2, 2, binding);
        return List.of(
                new Trap("v2c trap behind SNAT: the agent's IpAddress rewritten, the other kept", SNAT4, "10.0.2.2",
                        v2Trap, true, true),
                new Trap("v1 trap behind SNAT: [4] is not in 6.18's grammar, the parser fails, dropped", SNAT4,
                        "10.0.2.2", v1Trap, true, false),
                new Trap("v1 trap without NAT: not read", "", "10.0.2.2", v1Trap, true, true),
                new Trap("v1 response PDU to port 162 behind SNAT: rewritten", SNAT4, "10.0.2.2", v1Response, true,
                        true),
                new Trap("address at an odd offset: checksum updated byte-shifted", SNAT4, "10.0.2.2", odd, true,
                        true),
                new Trap("no UDP checksum: the address rewritten, the checksum left 0", SNAT4, "10.0.2.2", v2Trap,
                        false, true),
                new Trap("SNMPv3 behind SNAT: version above 1, dropped", SNAT4, "10.0.2.2", v3, true, false),
                new Trap("SNMPv3 to a DNAT manager: source not translated, not read", DNAT_TRAP, "10.0.1.1", v3, true,
                        true),
                new Trap("IpAddress of 5 bytes: dropped", SNAT4, "10.0.2.2", fiveByteAddress, true, false),
                new Trap("binding of a name, an INTEGER and an IpAddress: decoded, the address rewritten", SNAT4,
                        "10.0.2.2", integerThenAddress, true, true),
                new Trap("binding list of indefinite length: decoded, both addresses rewritten", SNAT4, "10.0.2.2",
                        indefinite, true, true),
                new Trap("message of indefinite length: its end-of-contents read as a PDU tag, dropped", SNAT4,
                        "10.0.2.2", indefiniteMessage, true, false),
                new Trap("two-byte long-form lengths: decoded, rewritten", SNAT4, "10.0.2.2", longForm, true, true),
                new Trap("three-byte length: dropped", SNAT4, "10.0.2.2", threeByteLength, true, false),
                new Trap("message cut after the community: decoded", SNAT4, "10.0.2.2", cutAfterCommunity, true,
                        true),
                new Trap("bytes after the message: ignored", SNAT4, "10.0.2.2",
                        SnmpMessages.concat(v2Trap, bytes(1, 2, 3)), true, true),
                new Trap("empty binding list: dropped", SNAT4, "10.0.2.2", emptyBindings, true, false),
                new Trap("long-form length past the datagram: dropped", SNAT4, "10.0.2.2", overrun, true, false),
                new Trap("message tagged 0x10, SEQUENCE's primitive form: decoded", SNAT4, "10.0.2.2",
                        primitiveSequence, true, true),
                new Trap("a response then a v2 trap in one message: both read", SNAT4, "10.0.2.2",
                        SnmpMessages.tlv(SnmpMessages.SEQUENCE, community, response, trap), true, true),
                new Trap("a v2 trap then a response: the PDU choice's last try fails, dropped", SNAT4, "10.0.2.2",
                        SnmpMessages.tlv(SnmpMessages.SEQUENCE, community, trap, response), true, false),
                new Trap("UDP length 3 bytes short of the datagram: dropped as malformed", SNAT4, "10.0.2.2", v2Trap,
                        false, 3, false),
                new Trap("UDP length 3 bytes short, no NAT: not read", "", "10.0.2.2", v2Trap, false, 3, true),
                new Trap("empty datagram: dropped", SNAT4, "10.0.2.2", new byte[0], true, false),
                new Trap("not SNMP: dropped", SNAT4, "10.0.2.2", "hello\n".getBytes(StandardCharsets.US_ASCII), true,
                        false));
    }

    /** The message with each definite length re-encoded in the two-byte long form (0x82 hi lo). */
    static byte[] longForm(byte[] ber) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        longForm(ber, 0, ber.length, out);
        return out.toByteArray();
    }

    private static void longForm(byte[] ber, int from, int to, java.io.ByteArrayOutputStream out) {
        int at = from;
        while (at < to) {
            int tag = ber[at] & 0xFF;
            int len = ber[at + 1] & 0xFF;
            int content = at + 2;
            if (len == 0x81) {
                len = ber[at + 2] & 0xFF;
                content = at + 3;
            }
            out.write(tag);
            if ((tag & 0x20) != 0) {
                java.io.ByteArrayOutputStream inner = new java.io.ByteArrayOutputStream();
                longForm(ber, content, content + len, inner);
                out.write(0x82);
                out.write(inner.size() >>> 8);
                out.write(inner.size());
                out.writeBytes(inner.toByteArray());
            } else {
                out.write(0x82);
                out.write(len >>> 8);
                out.write(len);
                out.write(ber, content, len);
            }
            at = content + len;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("trapSessions")
    void snmpTrapHelperRewritesTheSourceAddressInMessagesBehindNat(Trap trap) throws Exception {
        assumeKernel();
        byte[][] out = new byte[1][];
        compare(trap.name(), Family.IPV4, rules(Family.IPV4, trap.nat()), s -> {
            End agent = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.1.2", 40162, trap.manager(), 162, 0);
            byte[] f = agent.udp(trap.message());
            if (trap.trailing() > 0) {
                // the UDP length leaves the last bytes out (the IP length still counts them)
                int udpLength = 8 + trap.message().length - trap.trailing();
                f[14 + 20 + 4] = (byte) (udpLength >>> 8);
                f[14 + 20 + 5] = (byte) udpLength;
            }
            if (!trap.checksum()) {
                f[14 + 20 + 6] = 0;
                f[14 + 20 + 7] = 0;
            }
            out[0] = s.send(true, f);
        });
        assertThat(out[0] != null).as("Linux forwarded it").isEqualTo(trap.forwarded());
    }

    /**
     * A manager behind SNAT asks an agent (port 161, the snmp helper); the agent's response names the manager's own
     * address, which the router rewrites to the SNAT address on the way back; a second response the agent sends is
     * not SNMP and is dropped.
     */
    @Test
    void snmpHelperRewritesTheResponseBehindSnat() throws Exception {
        assumeKernel();
        byte[][] out = new byte[2][];
        compare("snmp get behind SNAT", Family.IPV4, rules(Family.IPV4, SNAT4), s -> {
            End manager = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.1.2", 40161, "10.0.2.2", 161, 0);
            byte[] request = s.send(true, manager.udp(SnmpMessages.message(1, SnmpMessages.pdu(
                    SnmpMessages.GET_REQUEST, 42, SnmpMessages.varbind(SnmpMessages.oid(1, 3, 6, 1, 2, 1, 4, 20, 1,
                            1, 10, 0, 1, 2), SnmpMessages.tlv(SnmpMessages.NULL))))));
            assertThat(request).isNotNull();
            End agent = new End(server, SERVER_MAC, DS_MAC).learn(request);
            out[0] = s.send(false, agent.udp(SnmpMessages.message(1, SnmpMessages.pdu(SnmpMessages.RESPONSE, 42,
                    SnmpMessages.addressBinding(10, 0, 1, 2)))));
            out[1] = s.send(false, agent.udp(bytes(1, 2, 3, 4)));
        });
        assertThat(out[0]).as("the response forwarded").isNotNull();
        assertThat(out[1]).as("not SNMP: dropped").isNull();
    }

    /**
     * nf_nat_snmp_basic reads neither a datagram from port 161 in the original direction nor one to port 162 in
     * the reply direction. Between port 161 on both ends behind SNAT, non-SNMP data passes from the client and is
     * dropped from the server; between port 162 on both ends, after a trap, it passes from the server.
     */
    @ParameterizedTest(name = "port {0} to port {0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {161, 162})
    void snmpPortsDecideWhichDirectionIsRead(int port) throws Exception {
        assumeKernel();
        byte[][] out = new byte[2][];
        compare("snmp port " + port + " both ends", Family.IPV4, rules(Family.IPV4, SNAT4), s -> {
            End a = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.1.2", port, "10.0.2.2", port, 0);
            out[0] = s.send(true, a.udp(port == 161 ? bytes(1, 2, 3, 4) : SnmpMessages.message(1,
                    SnmpMessages.pdu(SnmpMessages.TRAP_V2, 3, SnmpMessages.addressBinding(10, 0, 1, 2)))));
            if (out[0] == null) {
                return;
            }
            End b = new End(server, SERVER_MAC, DS_MAC).learn(out[0]);
            out[1] = s.send(false, b.udp(bytes(5, 6, 7, 8)));
        });
        assertThat(out[0]).as("original direction forwarded").isNotNull();
        assertThat(out[1] != null).as("reply forwarded").isEqualTo(port == 162);
    }

    /**
     * The router's own SNMP response from a socket (checksum left to the veth: CHECKSUM_PARTIAL) through SNAT,
     * raw OUTPUT -j CT --helper snmp: nf_nat_snmp_basic rewrites the address in the message and updates the partial
     * sum as a full checksum, so the checksum the device completes is the one of the message before the rewrite,
     * off by the rewrite (Linux 6.18; the recorded frame is completed as skb_checksum_help completes it).
     */
    @Test
    void snmpFromALocalSocketThroughSnatLeavesWithTheChecksumTheDeviceCompletes() throws Exception {
        assumeKernel();
        String snat = "-A POSTROUTING -s 10.0.2.1/32 -o " + DC + " -p udp -j SNAT --to-source 10.0.1.1\n";
        compare("snmp local snat", Family.IPV4, rules(Family.IPV4, snat), s -> {
            byte[] response = SnmpMessages.message(1, SnmpMessages.pdu(SnmpMessages.RESPONSE, 5,
                    SnmpMessages.addressBinding(10, 0, 2, 1)));
            Process p = s.sendLocalUdp("10.0.2.1", 40000, "10.0.1.2", 161, response, 0);
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
            Sent out = s.sent.remove(s.sent.size() - 1);
            assertThat(out.offloaded()).as("sent with the checksum left to the veth").isTrue();
            // jnetfilter is given the datagram as the socket made it: the recorded one before SNAT and the rewrite
            byte[] d = out.frame().clone();
            System.arraycopy(address("10.0.2.1"), 0, d, 12, 4);
            System.arraycopy(response, 0, d, 28, response.length);
            d[10] = 0;
            d[11] = 0;
            int ipSum = ~fold(sum(d, 0, 20, 0)) & 0xFFFF;
            d[10] = (byte) (ipSum >>> 8);
            d[11] = (byte) ipSum;
            d[26] = 0;
            d[27] = 0;
            int udpSum = ~fold(sum(d, 20, d.length - 20, sum(d, 12, 8, 0) + 17 + d.length - 20)) & 0xFFFF;
            d[26] = (byte) (udpSum >>> 8);
            d[27] = (byte) udpSum;
            s.sent.add(new Sent(false, d, true, true));
        });
    }

    /** The router's own SNMP broadcast (port 161, the snmp helper) expects the agents' answers, RELATED. */
    @Test
    void snmpBroadcastRequestExpectsAnswersFromTheSubnet() throws Exception {
        assumeKernel();
        Map<String, String> c = compare("snmp broadcast", Family.IPV4, rules(Family.IPV4, ""), s -> {
            byte[] get = SnmpMessages.message(1, SnmpMessages.pdu(SnmpMessages.GET_REQUEST, 1, SnmpMessages.varbind(
                    SnmpMessages.oid(1, 3, 6, 1, 2, 1, 1, 5, 0), SnmpMessages.tlv(SnmpMessages.NULL))));
            Process p = s.sendLocalUdp("10.0.3.1", 161, "10.0.3.255", get, 1500);
            for (String host : new String[] {"10.0.3.7", "10.0.3.8"}) {
                End h = new End(client, CLIENT_MAC, DC_MAC).flow(host, 161, "10.0.3.1", 161, 0);
                s.send(true, h.udp(SnmpMessages.message(1, SnmpMessages.pdu(SnmpMessages.RESPONSE, 1,
                        SnmpMessages.varbind(SnmpMessages.oid(1, 3, 6, 1, 2, 1, 1, 5, 0), SnmpMessages.octets(host))))));
            }
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        });
        assertThat(packetsIn(c, "INPUT", "-m conntrack --ctstate RELATED -m helper --helper snmp -j ACCEPT"))
                .isEqualTo(2);
    }

    // ---- sip ----

    static final String RELATED_SIP = "-m conntrack --ctstate RELATED -m helper --helper sip -j ACCEPT";

    /** A SIP URI host: an IPv6 address in brackets. */
    static String uriHost(String ip) {
        return ip.contains(":") ? "[" + ip + "]" : ip;
    }

    static String sipSdp(String ip, String... media) {
        String in = ip.contains(":") ? "IN IP6 " : "IN IP4 ";
        StringBuilder sb = new StringBuilder("v=0\r\no=- 1 1 " + in + ip + "\r\ns=call\r\nc=" + in + ip
                + "\r\nt=0 0\r\n");
        for (String m : media) {
            sb.append(m).append("\r\n");
        }
        return sb.toString();
    }

    static String sipRequest(String method, String transport, int cseq, String from, String to, int contactPort,
            String extra, String body) {
        return method + " sip:bob@" + uriHost(to) + " SIP/2.0\r\n"
                + "Via: SIP/2.0/" + transport + " " + uriHost(from) + ":5060;branch=z9hG4bK" + cseq + "\r\n"
                + "From: <sip:alice@" + uriHost(from) + ">;tag=1\r\n"
                + "To: <sip:bob@" + uriHost(to) + ">\r\n"
                + "Call-ID: jnf" + cseq + "@" + uriHost(from) + "\r\n"
                + "CSeq: " + cseq + " " + method + "\r\n"
                + "Contact: <sip:alice@" + uriHost(from) + ":" + contactPort + ">" + extra + "\r\n"
                + (body.isEmpty() ? "" : "Content-Type: application/sdp\r\n")
                + "Content-Length: " + body.length() + "\r\n\r\n" + body;
    }

    static String sipResponse(String status, String transport, int cseq, String method, String via, String contact,
            String body) {
        return "SIP/2.0 " + status + "\r\n"
                + "Via: SIP/2.0/" + transport + " " + via + ";branch=z9hG4bK" + cseq + "\r\n"
                + "CSeq: " + cseq + " " + method + "\r\n"
                + "Contact: " + contact + "\r\n"
                + "Content-Length: " + body.length() + "\r\n\r\n" + body;
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** A one-datagram UDP flow from a side; the datagram the router forwarded, or null. */
    static byte[] udpFlow(Session s, boolean fromClient, byte[] src, int sport, byte[] dst, int dport, String text)
            throws Exception {
        End e = fromClient ? new End(client, CLIENT_MAC, DC_MAC) : new End(server, SERVER_MAC, DS_MAC);
        e.myIp = src;
        e.myPort = sport;
        e.peerIp = dst;
        e.peerPort = dport;
        return s.send(fromClient, e.udp(ascii(text)));
    }

    static List<Arguments> sipUdpSessions() {
        return List.of(Arguments.of("sip over UDP", Family.IPV4, "", "10.0.1.2", "10.0.2.2", "10.0.2.2"),
                Arguments.of("sip over UDP and IPv6", Family.IPV6, "", "fd01::2", "fd02::2", "fd02::2"),
                Arguments.of("sip behind SNAT: URIs, Via, Contact and SDP rewritten, media follows", Family.IPV4,
                        SNAT4, "10.0.1.2", "10.0.2.2", "10.0.2.2"),
                Arguments.of("sip behind SNAT over IPv6", Family.IPV6, SNAT6, "fd01::2", "fd02::2", "fd02::2"),
                Arguments.of("sip behind SNAT to port 6000", Family.IPV4, "-A POSTROUTING -o " + DS
                        + " -p udp -j SNAT --to-source 10.0.2.100:6000\n", "10.0.1.2", "10.0.2.2", "10.0.2.2"),
                Arguments.of("sip to a DNATed proxy behind MASQUERADE", Family.IPV4, "-A PREROUTING -d 10.0.1.1/32 "
                        + "-p udp -m udp --dport 5060 -j DNAT --to-destination 10.0.2.2\n-A POSTROUTING -o " + DS
                        + " -j MASQUERADE\n", "10.0.1.2", "10.0.1.1", "10.0.2.2"));
    }

    static String find(String regex, String text) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertThat(m.find()).as("%s in %s", regex, text).isTrue();
        return m.group(1);
    }

    static String unbracket(String host) {
        return host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    }

    /**
     * A call and a registration over UDP: INVITE with an audio offer, 200 with audio and video, ACK, RTP both ways
     * (RELATED), REGISTER and its 200 (the Contact's expectation activated), the registrar's INVITE to the
     * Contact's port (RELATED, read by sip), a BYE that flushes the remaining media. Each side answers what it
     * received: the Via, the SDP's address and port, the Contact as the router forwarded them.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("sipUdpSessions")
    void sipCallAndRegistrationExpectMediaAndIncomingCalls(String name, Family family, String nat, String phone,
            String proxy, String serverIp) throws Exception {
        assumeKernel();
        Map<String, String> c = compare(name, family, rules(family, nat), s -> {
            End a = new End(client, CLIENT_MAC, DC_MAC).flow(phone, 5060, proxy, 5060, 0);
            byte[] fwd = s.send(true, a.udp(ascii(sipRequest("INVITE", "UDP", 1, phone, proxy, 5060, "",
                    sipSdp(phone, "m=audio 4000 RTP/AVP 0")))));
            if (fwd == null) {
                return;
            }
            End b = new End(server, SERVER_MAC, DS_MAC).learn(fwd);
            String invite = payloadOfUdp(fwd);
            String via = find("Via: SIP/2.0/UDP ([^;\r]+)", invite);
            s.send(false, b.udp(ascii(sipResponse("100 Trying", "UDP", 1, "INVITE", via, "<sip:bob@"
                    + uriHost(serverIp) + ">", ""))));
            byte[] ok = s.send(false, b.udp(ascii(sipResponse("200 OK", "UDP", 1, "INVITE", via, "<sip:bob@"
                    + uriHost(serverIp) + ":" + b.myPort + ">", sipSdp(serverIp, "m=audio 5004 RTP/AVP 0",
                    "m=video 5007 RTP/AVP 31")))));
            s.send(true, a.udp(ascii(sipRequest("ACK", "UDP", 1, phone, proxy, 5060, "", ""))));
            udpFlow(s, false, b.myIp, 30000, address(find("c=IN IP[46] (\\S+)", invite)),
                    Integer.parseInt(find("m=audio (\\d+)", invite)), "rtp to the phone");
            if (ok != null) {
                String answer = payloadOfUdp(ok);
                udpFlow(s, true, a.myIp, 30002, address(find("c=IN IP[46] (\\S+)", answer)),
                        Integer.parseInt(find("m=audio (\\d+)", answer)), "rtp to the proxy");
            }
            udpFlow(s, true, a.myIp, 30004, a.peerIp, 5009, "not expected");
            byte[] reg = s.send(true, a.udp(ascii(sipRequest("REGISTER", "UDP", 2, phone, proxy, 5062, "",
                    "").replace("Content-Length", "Expires: 600\r\nContent-Length"))));
            if (reg == null) {
                return;
            }
            String register = payloadOfUdp(reg);
            String contact = find("Contact: (<[^>]+>)", register);
            s.send(false, b.udp(ascii(sipResponse("200 OK", "UDP", 2, "REGISTER", find("Via: SIP/2.0/UDP ([^;\r]+)",
                    register), contact + ";expires=300", ""))));
            String hostPort = find("sip:alice@([^>]+)>", contact);
            int colon = hostPort.lastIndexOf(':');
            udpFlow(s, false, b.myIp, 5070, address(unbracket(hostPort.substring(0, colon))),
                    Integer.parseInt(hostPort.substring(colon + 1)), sipRequest("INVITE", "UDP", 1, serverIp, phone,
                    5070, "", ""));
            s.send(true, a.udp(ascii(sipRequest("BYE", "UDP", 3, phone, proxy, 5060, "", ""))));
        });
        // the two RTP flows and the registrar's call
        assertThat(packets(c, RELATED_SIP)).isEqualTo(3);
    }

    static List<Arguments> sipTcpSessions() {
        return List.of(Arguments.of("sip over TCP", ""),
                Arguments.of("sip over TCP behind SNAT", SNAT4),
                Arguments.of("sip over TCP behind SNAT to port 6000: lengths change, sequence numbers adjusted",
                        "-A POSTROUTING -o " + DS + " -p tcp -j SNAT --to-source 10.0.2.100:6000\n"));
    }

    /**
     * A call over TCP: the INVITE and its 200 in segments of their own, the ACK and a second INVITE (a re-offer)
     * in one segment, then RTP to the re-offered port (as forwarded) and to the first offer's (flushed).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("sipTcpSessions")
    void sipOverTcpReadsEachMessageOfASegment(String name, String nat) throws Exception {
        assumeKernel();
        Map<String, String> c = compare(name, Family.IPV4, rules(Family.IPV4, nat), s -> {
            End[] ctl = connect(s, "10.0.1.2", 40060, "10.0.2.2", 5060);
            End a = ctl[0];
            End b = ctl[1];
            byte[] first = s.send(true, a.tcp(PSH_ACK, sipRequest("INVITE", "TCP", 1, "10.0.1.2", "10.0.2.2", 40060,
                    "", sipSdp("10.0.1.2", "m=audio 4000 RTP/AVP 0"))));
            b.received(first);
            String via = first == null ? "10.0.1.2:5060" : find("Via: SIP/2.0/TCP ([^;\r]+)", payloadText(first));
            a.received(s.send(false, b.tcp(PSH_ACK, sipResponse("200 OK", "TCP", 1, "INVITE", via,
                    "<sip:bob@10.0.2.2>", sipSdp("10.0.2.2", "m=audio 5004 RTP/AVP 0")))));
            byte[] second = s.send(true, a.tcp(PSH_ACK, sipRequest("ACK", "TCP", 1, "10.0.1.2", "10.0.2.2", 40060, "",
                    "") + sipRequest("INVITE", "TCP", 2, "10.0.1.2", "10.0.2.2", 40060, "",
                            sipSdp("10.0.1.2", "m=audio 4100 RTP/AVP 0"))));
            b.received(second);
            a.received(s.send(false, b.tcp(PSH_ACK, sipResponse("100 Trying", "TCP", 2, "INVITE", via,
                    "<sip:bob@10.0.2.2>", ""))));
            s.send(true, a.tcp(ACK, ""));
            if (first == null || second == null) {
                return;
            }
            String reoffer = payloadText(second);
            int at = reoffer.lastIndexOf("v=0");
            udpFlow(s, false, b.myIp, 30000, address(find("c=IN IP4 (\\S+)", reoffer.substring(at))),
                    Integer.parseInt(find("m=audio (\\d+)", reoffer.substring(at))), "rtp to the re-offered port");
            udpFlow(s, false, b.myIp, 30002, address(find("c=IN IP4 (\\S+)", payloadText(first))),
                    Integer.parseInt(find("m=audio (\\d+)", payloadText(first))), "rtp to the flushed offer");
        });
        assertThat(packets(c, RELATED_SIP)).isEqualTo(1);
    }

    /**
     * A REGISTER the registrar has not answered yet: its expectation is listed PERMANENT and INACTIVE, and the
     * registrar's call to the Contact is not RELATED (NEW, dropped by the policy).
     */
    @Test
    void sipRegistrationNotYetAcceptedExpectsNothing() throws Exception {
        assumeKernel();
        Map<String, String> c = compare("sip: REGISTER unanswered", Family.IPV4, rules(Family.IPV4, ""), s -> {
            End a = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.1.2", 5060, "10.0.2.2", 5060, 0);
            byte[] fwd = s.send(true, a.udp(ascii(sipRequest("REGISTER", "UDP", 5, "10.0.1.2", "10.0.2.2", 5062,
                    ";expires=120", ""))));
            if (fwd == null) {
                return;
            }
            End b = new End(server, SERVER_MAC, DS_MAC).learn(fwd);
            udpFlow(s, false, b.myIp, 5070, b.peerIp, 5062, sipRequest("INVITE", "UDP", 1, "10.0.2.2", "10.0.1.2",
                    5070, "", ""));
        });
        assertThat(packets(c, RELATED_SIP)).isZero();
    }

    static List<Arguments> sipDrops() {
        return List.of(Arguments.of("sip: an SDP port below 1024 is dropped", "m=audio 80 RTP/AVP 0", false),
                Arguments.of("sip: media without an address is dropped", "m=audio 4000 RTP/AVP 0", true));
    }

    /** Messages Linux drops: the INVITE does not leave the router, and nothing is expected. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("sipDrops")
    void sipDropsWhatItCannotParse(String name, String media, boolean noAddress) throws Exception {
        assumeKernel();
        compare(name, Family.IPV4, rules(Family.IPV4, ""), s -> {
            End a = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.1.2", 5060, "10.0.2.2", 5060, 0);
            String sdp = sipSdp("10.0.1.2", media);
            if (noAddress) {
                sdp = sdp.replace("c=IN IP4 10.0.1.2\r\n", "");
            }
            assertThat(s.send(true, a.udp(ascii(sipRequest("INVITE", "UDP", 1, "10.0.1.2", "10.0.2.2", 5060, "",
                    sdp))))).isNull();
        });
    }

    /**
     * Two calls behind the same SNAT address: a second SIP connection (from the SNAT address itself, its port
     * translated to 7000) offers the media the first call's expectation already leads to the
     * phone: nf_nat_sip reuses that translation (the SDP names the phone's own address, the media is expected
     * there straight, without NAT), and RTP from the proxy to it is RELATED.
     */
    @Test
    void sipSecondCallOfferingAnotherCallsTranslatedMediaGetsItsRealAddress() throws Exception {
        assumeKernel();
        Map<String, String> c = compare("sip: a second call reuses the first's media translation", Family.IPV4,
                rules(Family.IPV4, "-A POSTROUTING -s 10.0.2.100/32 -o " + DS
                        + " -p udp -j SNAT --to-source 10.0.2.100:7000\n" + SNAT4), s -> {
                    End a = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.1.2", 5060, "10.0.2.2", 5060, 0);
                    byte[] first = s.send(true, a.udp(ascii(sipRequest("INVITE", "UDP", 1, "10.0.1.2", "10.0.2.2",
                            5060, "", sipSdp("10.0.1.2", "m=audio 4000 RTP/AVP 0")))));
                    assertThat(first).as("the first INVITE").isNotNull();
                    End second = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.2.100", 5060, "10.0.2.2", 5060, 0);
                    byte[] fwd = s.send(true, second.udp(ascii(sipRequest("INVITE", "UDP", 1, "10.0.2.100",
                            "10.0.2.2", 5060, "", sipSdp("10.0.2.100", "m=audio 4000 RTP/AVP 0")))));
                    assertThat(fwd).as("the second INVITE").isNotNull();
                    String offer = payloadOfUdp(fwd);
                    udpFlow(s, false, address("10.0.2.2"), 30000, address(find("c=IN IP4 (\\S+)", offer)),
                            Integer.parseInt(find("m=audio (\\d+)", offer)), "rtp to the second offer");
                });
        assertThat(packets(c, RELATED_SIP)).isEqualTo(1);
    }

    static List<Arguments> sipSessionsWithoutMedia() {
        return List.of(Arguments.of("sip: an SDP without media behind SNAT: o= and c= get the session's c=", true),
                Arguments.of("sip: an SDP without media nor c= behind SNAT: o= left alone", false));
    }

    /**
     * An SDP without a media line behind SNAT: nf_nat_sdp_session writes the session's c= address into o= and c=
     * when there is one, and is not called without (Linux 6.18 stable: process_sdp's have_rtp_addr; before that
     * fix an uninitialised rtp_addr was written).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("sipSessionsWithoutMedia")
    void sipOfferWithoutMediaBehindSnatRewritesTheOwnerLineOnlyFromTheSessionAddress(String name,
            boolean sessionAddress) throws Exception {
        assumeKernel();
        compare(name, Family.IPV4, rules(Family.IPV4, SNAT4), s -> {
            End a = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.1.2", 5060, "10.0.2.2", 5060, 0);
            String sdp = sipSdp("10.0.1.2").replace("o=- 1 1 IN IP4 10.0.1.2", "o=- 1 1 IN IP4 10.0.1.9");
            if (!sessionAddress) {
                sdp = sdp.replace("c=IN IP4 10.0.1.2\r\n", "");
            }
            byte[] fwd = s.send(true, a.udp(ascii(sipRequest("INVITE", "UDP", 1, "10.0.1.2", "10.0.2.2", 5060, "",
                    sdp))));
            assertThat(fwd).as("the INVITE").isNotNull();
        });
    }

    // ---- sip: module parameters ----

    /**
     * nf_conntrack_sip's module parameters on the running kernel. They are global to the machine (a module's, not a
     * namespace's), so every session of this class holds a lock on a file shared by all processes running it:
     * shared by the sessions run at the parameters' defaults, exclusive by a session that sets other values (and
     * writes back what it found when it ends). jnetfilter's host gets the same values by its HOST file's {@code
     * modprobe nf_conntrack_sip ...} line.
     */
    static final class SipModule implements AutoCloseable {
        static final java.nio.file.Path PARAMETERS = java.nio.file.Path.of("/sys/module/nf_conntrack_sip/parameters");
        static final java.nio.file.Path LOCK = java.nio.file.Path.of(System.getProperty("java.io.tmpdir"),
                "jnf-nf_conntrack_sip.lock");
        static final Map<String, String> DEFAULTS = Map.of("sip_direct_media", "1", "sip_direct_signalling", "1",
                "sip_external_media", "0", "sip_timeout", "3600");
        private static SipModule exclusive;
        private static String hostLine = "";
        static String kernelListing = "";
        static String jnfListing = "";

        private final java.nio.channels.FileChannel channel;
        private final Map<String, String> found;

        private SipModule(java.nio.channels.FileChannel channel, Map<String, String> found) {
            this.channel = channel;
            this.found = found;
        }

        /** The lock a session at the defaults holds (none inside a session that set the parameters). */
        static SipModule lock(String rules) throws IOException {
            if (exclusive != null || !rules.contains("--helper sip")) {
                return new SipModule(null, null);
            }
            java.nio.channels.FileChannel ch = open();
            ch.lock(0, Long.MAX_VALUE, true);
            Map<String, String> now = read();
            if (!now.isEmpty() && !now.equals(DEFAULTS)) {
                ch.close();
                throw new AssertionError("nf_conntrack_sip's parameters are not at their defaults " + DEFAULTS
                        + " but " + now + " (left by an interrupted run? write the defaults back under " + PARAMETERS
                        + ")");
            }
            return new SipModule(ch, null);
        }

        /**
         * Sets {@code values} (name=value, all four parameters) on the kernel and on jnetfilter's host until closed;
         * aborts the test when the kernel has no such module.
         */
        static SipModule set(Map<String, String> values) throws IOException {
            if (!java.nio.file.Files.isDirectory(PARAMETERS)) {
                KernelSide.run("modprobe", "nf_conntrack_sip");
            }
            Assumptions.assumeTrue(java.nio.file.Files.isDirectory(PARAMETERS),
                    () -> "kernel differential test skipped: no " + PARAMETERS);
            java.nio.channels.FileChannel ch = open();
            ch.lock(0, Long.MAX_VALUE, false);
            Map<String, String> found = read();
            SipModule m = new SipModule(ch, found);
            exclusive = m;
            StringBuilder line = new StringBuilder("modprobe nf_conntrack_sip");
            try {
                for (Map.Entry<String, String> e : new TreeMap<>(values).entrySet()) {
                    java.nio.file.Files.writeString(PARAMETERS.resolve(e.getKey()), e.getValue());
                    line.append(' ').append(e.getKey()).append('=').append(e.getValue());
                }
            } catch (IOException | RuntimeException e) {
                m.close();
                throw e;
            }
            hostLine = line + "\n";
            return m;
        }

        private static java.nio.channels.FileChannel open() throws IOException {
            return java.nio.channels.FileChannel.open(LOCK, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.READ,
                    java.nio.file.StandardOpenOption.WRITE);
        }

        static Map<String, String> read() throws IOException {
            Map<String, String> out = new TreeMap<>();
            for (String name : DEFAULTS.keySet()) {
                java.nio.file.Path p = PARAMETERS.resolve(name);
                if (java.nio.file.Files.exists(p)) {
                    out.put(name, java.nio.file.Files.readString(p).strip());
                }
            }
            return out;
        }

        static String hostLine() {
            return hostLine;
        }

        /** compare's listings of the last session, with their timeouts. */
        static void listed(String kernel, String jnf) {
            kernelListing = kernel;
            jnfListing = jnf;
        }

        @Override
        public void close() throws IOException {
            if (channel == null) {
                return;
            }
            try {
                if (found != null) {
                    exclusive = null;
                    hostLine = "";
                    for (Map.Entry<String, String> e : found.entrySet()) {
                        java.nio.file.Files.writeString(PARAMETERS.resolve(e.getKey()), e.getValue());
                    }
                }
            } finally {
                channel.close();
            }
        }
    }

    /** The four parameters: the defaults with {@code changes} (name=value pairs) applied. */
    static Map<String, String> sipParameters(String... changes) {
        Map<String, String> m = new TreeMap<>(SipModule.DEFAULTS);
        for (String c : changes) {
            m.put(c.substring(0, c.indexOf('=')), c.substring(c.indexOf('=') + 1));
        }
        return m;
    }

    /** The SIP connection's timeout in a {@code conntrack -L} listing (the line of the flow to port 5060). */
    static long sipTimeout(String listing) {
        for (String l : listing.split("\n")) {
            if (l.contains("dport=5060 ") && l.startsWith("udp")) {
                return Long.parseLong(l.strip().split("\\s+")[2]);
            }
        }
        throw new AssertionError("no SIP connection in " + listing);
    }

    static List<Arguments> sipModuleParameterSessions() {
        return List.of(
                Arguments.of("sip at the defaults: media from the peer to the sender's own address only", Family.IPV4,
                        sipParameters(), 0),
                Arguments.of("sip_direct_media=0: media from anywhere, to any address the SDP names", Family.IPV4,
                        sipParameters("sip_direct_media=0"), 2),
                Arguments.of("sip_direct_media=0 sip_external_media=1: no media routed by the signalling's device",
                        Family.IPV4, sipParameters("sip_direct_media=0", "sip_external_media=1"), 1),
                Arguments.of("sip_external_media=1 alone: sip_direct_media decides", Family.IPV4, sipParameters(
                        "sip_external_media=1"), 0),
                Arguments.of("sip_direct_signalling=0: the registered Contact called from anywhere", Family.IPV4,
                        sipParameters("sip_direct_signalling=0"), 1),
                Arguments.of("sip_timeout=600: the signalling connection's timeout", Family.IPV4,
                        sipParameters("sip_timeout=600"), 0),
                Arguments.of("sip over IPv6, sip_direct_media=0", Family.IPV6, sipParameters("sip_direct_media=0"), 2),
                Arguments.of("sip over IPv6, sip_direct_media=0 sip_external_media=1 sip_direct_signalling=0",
                        Family.IPV6, sipParameters("sip_direct_media=0", "sip_external_media=1",
                                "sip_direct_signalling=0"), 2));
    }

    /**
     * One script under each set of parameters (the kernel's written under /sys/module, jnetfilter's by the HOST
     * file's modprobe line): an INVITE whose SDP offers audio at the phone's own address and video at another host
     * behind the router's server side (10.0.2.22, fd02::22); the 200 answers with audio at the proxy; RTP from that
     * host (not the signalling peer) to the offered audio and from the phone to the offered video; a REGISTER
     * accepted by the registrar and a call to the Contact from that host (not the registrar). What is RELATED (and so
     * passes) depends on the parameters; frames, counters, conntrack -L and -L expect as Linux, and the SIP
     * connection's timeout.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("sipModuleParameterSessions")
    void sipModuleParametersChangeWhatIsExpectedAsInLinux(String name, Family family, Map<String, String> parameters,
            long related) throws Exception {
        assumeKernel();
        boolean v4 = family == Family.IPV4;
        String phone = v4 ? "10.0.1.2" : "fd01::2";
        String proxy = v4 ? "10.0.2.2" : "fd02::2";
        String other = v4 ? "10.0.2.22" : "fd02::22";
        Map<String, String> c;
        try (SipModule m = SipModule.set(parameters)) {
            c = compare(name, family, rules(family, ""), s -> {
                End a = new End(client, CLIENT_MAC, DC_MAC).flow(phone, 5060, proxy, 5060, 0);
                String sdp = sipSdp(phone, "m=audio 4000 RTP/AVP 0", "m=video 4002 RTP/AVP 31",
                        "c=IN IP" + (v4 ? "4 " : "6 ") + other);
                byte[] fwd = s.send(true, a.udp(ascii(sipRequest("INVITE", "UDP", 1, phone, proxy, 5060, "", sdp))));
                assertThat(fwd).as("the INVITE").isNotNull();
                End b = new End(server, SERVER_MAC, DS_MAC).learn(fwd);
                s.send(false, b.udp(ascii(sipResponse("200 OK", "UDP", 1, "INVITE", uriHost(phone) + ":5060",
                        "<sip:bob@" + uriHost(proxy) + ">", sipSdp(proxy, "m=audio 5004 RTP/AVP 0")))));
                udpFlow(s, false, address(other), 30000, address(phone), 4000, "rtp from another host");
                udpFlow(s, true, address(phone), 30002, address(other), 4002, "rtp to the video host");
                byte[] reg = s.send(true, a.udp(ascii(sipRequest("REGISTER", "UDP", 2, phone, proxy, 5062, "", "")
                        .replace("Content-Length", "Expires: 600\r\nContent-Length"))));
                assertThat(reg).as("the REGISTER").isNotNull();
                s.send(false, b.udp(ascii(sipResponse("200 OK", "UDP", 2, "REGISTER", uriHost(phone) + ":5060",
                        "<sip:alice@" + uriHost(phone) + ":5062>;expires=300", ""))));
                udpFlow(s, false, address(other), 5070, address(phone), 5062, sipRequest("INVITE", "UDP", 1, other,
                        phone, 5070, "", ""));
            });
            long timeout = Long.parseLong(parameters.get("sip_timeout"));
            // the listing comes a few seconds after the last message (the kernel's wall clock, jnetfilter's 40 ms
            // steps)
            assertThat(sipTimeout(SipModule.kernelListing)).as("%s: Linux's SIP timeout", name)
                    .isBetween(timeout - 30, timeout);
            assertThat(sipTimeout(SipModule.jnfListing)).as("%s: jnetfilter's SIP timeout", name)
                    .isBetween(timeout - 30, timeout);
        }
        assertThat(packets(c, RELATED_SIP)).isEqualTo(related);
    }

    static List<Arguments> sipModuleParameterSessionsBehindSnat() {
        return List.of(
                Arguments.of("sip behind SNAT at the defaults", sipParameters(), 0),
                Arguments.of("sip behind SNAT, sip_direct_media=0: media translated from anywhere",
                        sipParameters("sip_direct_media=0"), 3),
                Arguments.of("sip behind SNAT, sip_direct_media=0 sip_external_media=1",
                        sipParameters("sip_direct_media=0", "sip_external_media=1"), 0),
                Arguments.of("sip behind SNAT, sip_direct_signalling=0: the translated Contact called from anywhere",
                        sipParameters("sip_direct_signalling=0"), 1));
    }

    /**
     * The same offer behind SNAT (nf_nat_sip's expectations at the translated address): each side sends to what the
     * router forwarded it. RTP from the proxy and from 10.0.2.22 to the offered audio (the session's c= as
     * forwarded), from the proxy to the offered video (at 10.0.2.22 behind the proxy's own device: translated back
     * out of it), the REGISTER's 200, a call to the translated Contact from 10.0.2.22. Where the video is not
     * expected (sip_direct_media=1, or sip_external_media), nf_nat_sdp_session writes the last media's address, the
     * video host's, into o= and the session's c=, so the audio goes there and nothing is RELATED but the registrar's
     * call.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("sipModuleParameterSessionsBehindSnat")
    void sipModuleParametersBehindSnatAsInLinux(String name, Map<String, String> parameters, long related)
            throws Exception {
        assumeKernel();
        Map<String, String> c;
        try (SipModule m = SipModule.set(parameters)) {
            c = compare(name, Family.IPV4, rules(Family.IPV4, SNAT4), s -> {
                End a = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.1.2", 5060, "10.0.2.2", 5060, 0);
                String sdp = sipSdp("10.0.1.2", "m=audio 4000 RTP/AVP 0", "m=video 4002 RTP/AVP 31",
                        "c=IN IP4 10.0.2.22");
                byte[] fwd = s.send(true, a.udp(ascii(sipRequest("INVITE", "UDP", 1, "10.0.1.2", "10.0.2.2", 5060, "",
                        sdp))));
                assertThat(fwd).as("the INVITE").isNotNull();
                End b = new End(server, SERVER_MAC, DS_MAC).learn(fwd);
                String offer = payloadOfUdp(fwd);
                String via = find("Via: SIP/2.0/UDP ([^;\r]+)", offer);
                s.send(false, b.udp(ascii(sipResponse("200 OK", "UDP", 1, "INVITE", via, "<sip:bob@10.0.2.2>",
                        sipSdp("10.0.2.2", "m=audio 5004 RTP/AVP 0")))));
                byte[] audioAt = address(find("c=IN IP4 (\\S+)", offer));
                int audio = Integer.parseInt(find("m=audio (\\d+)", offer));
                String video = offer.substring(offer.indexOf("m=video"));
                udpFlow(s, false, b.myIp, 30000, audioAt, audio, "rtp from the proxy");
                udpFlow(s, false, address("10.0.2.22"), 30002, audioAt, audio + 1, "rtcp from another host");
                udpFlow(s, false, b.myIp, 30004, address(find("c=IN IP4 (\\S+)", video)),
                        Integer.parseInt(find("m=video (\\d+)", video)), "rtp to the video");
                byte[] reg = s.send(true, a.udp(ascii(sipRequest("REGISTER", "UDP", 2, "10.0.1.2", "10.0.2.2", 5062,
                        "", "").replace("Content-Length", "Expires: 600\r\nContent-Length"))));
                assertThat(reg).as("the REGISTER").isNotNull();
                String register = payloadOfUdp(reg);
                String contact = find("Contact: (<[^>]+>)", register);
                s.send(false, b.udp(ascii(sipResponse("200 OK", "UDP", 2, "REGISTER", find(
                        "Via: SIP/2.0/UDP ([^;\r]+)", register), contact + ";expires=300", ""))));
                String hostPort = find("sip:alice@([^>]+)>", contact);
                int colon = hostPort.lastIndexOf(':');
                udpFlow(s, false, address("10.0.2.22"), 5070, address(hostPort.substring(0, colon)),
                        Integer.parseInt(hostPort.substring(colon + 1)), sipRequest("INVITE", "UDP", 1, "10.0.2.22",
                        "10.0.1.2", 5070, "", ""));
            });
        }
        assertThat(packets(c, RELATED_SIP)).isEqualTo(related);
    }

    /**
     * sip_direct_media=0 with sip_external_media=1 on an INVITE to the router itself (the helper at INPUT): the device
     * the media's route is compared with is the loopback, so the media behind the receiving device (10.0.2.22) and
     * behind the other (10.0.1.2) is expected, the media at the router's own address (10.0.2.1) is not. Compared:
     * counters, conntrack -L and -L expect.
     */
    @Test
    void sipExternalMediaOfAMessageToTheRouterItselfAsInLinux() throws Exception {
        assumeKernel();
        try (SipModule m = SipModule.set(sipParameters("sip_direct_media=0", "sip_external_media=1"))) {
            compare("sip_external_media=1: an INVITE to the router", Family.IPV4, rules(Family.IPV4, ""), s -> {
                End b = new End(server, SERVER_MAC, DS_MAC).flow("10.0.2.2", 5060, "10.0.2.1", 5060, 0);
                s.send(false, b.udp(ascii(sipRequest("INVITE", "UDP", 1, "10.0.2.2", "10.0.2.1", 5060, "",
                        sipSdp("10.0.2.22", "m=audio 4000 RTP/AVP 0", "m=video 4002 RTP/AVP 31", "c=IN IP4 10.0.1.2",
                                "m=image 4004 udptl t38", "c=IN IP4 10.0.2.1")))));
            });
        }
    }

    /**
     * forced_dport on a TCP connection behind SNAT: the phone's INVITE names {@code Via: SIP/2.0/UDP} with another
     * port than its TCP source port, so nf_conntrack_sip remembers that port, and map_addr gives it to the
     * Request-URI naming the proxy. Older kernels then wrote the port, a UDP length and a UDP checksum over the TCP
     * header of every reply; Linux 6.18 (stable: "forced_dport only expected with UDP") drops the reply instead
     * ("cannot NAT SIP message"). Frames, counters, conntrack -L as Linux.
     */
    @Test
    void sipForcedPortOnATcpConnectionIsWrittenAsLinuxWritesIt() throws Exception {
        assumeKernel();
        compare("sip over TCP behind SNAT, Via naming UDP port 5062: forced_dport", Family.IPV4,
                rules(Family.IPV4, SNAT4), s -> {
                    End[] ctl = connect(s, "10.0.1.2", 40060, "10.0.2.2", 5060);
                    End a = ctl[0];
                    End b = ctl[1];
                    byte[] invite = s.send(true, a.tcp(PSH_ACK, sipRequest("INVITE", "UDP", 1, "10.0.1.2", "10.0.2.2",
                            5062, "", "").replace(":5060;branch", ":5062;branch")));
                    assertThat(invite).as("the INVITE").isNotNull();
                    b.received(invite);
                    byte[] ok = s.send(false, b.tcp(PSH_ACK, sipResponse("200 OK", "TCP", 1, "INVITE",
                            "10.0.2.100:40060", "<sip:bob@10.0.2.2>", "")));
                    assertThat(ok).as("the 200 (dropped)").isNull();
                    s.send(true, a.tcp(ACK, ""));
                });
    }

    // ---- h323 (Q.931, H.245) ----

    /** iptables-save quotes a helper name with a dot (xtables_save_string). */
    static final String RELATED_Q931 = "-m conntrack --ctstate RELATED -m helper --helper \"Q.931\" -j ACCEPT";
    static final String RELATED_H245 = "-m conntrack --ctstate RELATED -m helper --helper \"H.245\" -j ACCEPT";

    /** The shared rules with the Q.931 helper on port 1720 and the call's connections let through. */
    static String h323Rules(Family family) {
        return withHelper(rules(family, ""), "-p tcp -m tcp --dport 1720 -j CT --helper Q.931",
                "-A FORWARD " + RELATED_Q931 + "\n" + "-A FORWARD " + RELATED_H245 + "\n",
                "-p tcp -m tcp --dport 1720 -m conntrack --ctstate NEW -j ACCEPT");
    }

    /**
     * The shared rules with {@code template} in raw PREROUTING, {@code related} (whole lines) right after FORWARD's
     * INVALID drop (before the shared RELATED accept) and {@code accept} at FORWARD's end.
     */
    static String withHelper(String r, String template, String related, String accept) {
        r = r.replace("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n", "*raw\n:PREROUTING ACCEPT [0:0]\n"
                + ":OUTPUT ACCEPT [0:0]\n-A PREROUTING " + template + "\n");
        String invalid = "-A FORWARD -m conntrack --ctstate INVALID -j DROP\n";
        r = r.replace(invalid, invalid + related);
        int end = r.lastIndexOf("COMMIT\n");
        return r.substring(0, end) + "-A FORWARD " + accept + "\n" + r.substring(end);
    }

    /**
     * TPKTs built with core's PerWriter (H323HelperTest): a Setup whose h245Address is 10.0.1.2:4000; a Connect
     * whose h245Address is 10.0.2.2:4001 with one fastStart OpenLogicalChannel (G.711, mediaControlChannel
     * 10.0.2.2:7001); an H.245 OpenLogicalChannel request whose mediaControlChannel is 10.0.1.2:5001.
     */
    static final String H323_SETUP = "03000035080200010504038893a57e0024050040060008914a0004000a0001020fa0"
            + "00000000000000000000000000000000000000";
    static final String H323_CONNECT = "0300004b080200010704038893a57e003a0502c0060008914a0004000a0002020fa1"
            + "00000000000000000000000000000000000008101401120000000c6013800a040001000a0002021b59";
    static final String H245_OPEN_LOGICAL_CHANNEL = "03000017030000000c6013800a040001000a0001021389";

    static String hex(String h) {
        return latin1(java.util.HexFormat.of().parseHex(h));
    }

    static List<Arguments> h323Calls() {
        return List.of(Arguments.of("h323 Setup, Connect with fastStart, H.245 OpenLogicalChannel", "", "10.0.1.2"),
                Arguments.of("h323 behind SNAT: Setup, Connect with fastStart, H.245 channels, media", SNAT4,
                        "10.0.2.100"));
    }

    /**
     * A call through the router: the caller (client side) sends a Setup to port 1720, the callee answers Connect
     * with a fast-start channel, the callee opens the announced H.245 connection on which the caller opens a
     * logical channel, and RTP flows to the announced ports: the expectations, RELATED connections and counters
     * as Linux 6.18's nf_conntrack_h323 makes them. Behind {@code nat} the caller is {@code callerSeenAs} to the
     * callee: its h245Address (10.0.1.2:4000) and its channel's RTCP address (10.0.1.2:5001) leave rewritten to it
     * (nf_nat_h323) and the callee's H.245 connection and RTCP to it reach the caller.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("h323Calls")
    void h323CallSetupConnectAndH245ChannelsAreExpectedAsByLinux(String name, String nat, String callerSeenAs)
            throws Exception {
        assumeKernel();
        String seenAs = HexFormat.of().formatHex(address(callerSeenAs));
        Map<String, String> c = compare(name, Family.IPV4, h323NatRules(nat), s -> {
            End[] ctl = connect(s, "10.0.1.2", 40040, "10.0.2.2", 1720);
            byte[] setup = s.send(true, ctl[0].tcp(PSH_ACK, hex(H323_SETUP)));
            assertThat(HexFormat.of().formatHex(setup)).as("h245Address").contains(seenAs + "0fa0");
            ctl[1].received(setup);
            ctl[0].received(s.send(false, ctl[1].tcp(PSH_ACK, hex(H323_CONNECT))));
            s.send(true, ctl[0].tcp(ACK, ""));
            // the callee opens the H.245 connection the Setup announced
            End[] h245 = h245Connection(s, callerSeenAs, 50000);
            byte[] olc = s.send(true, h245[1].tcp(PSH_ACK, hex(H245_OPEN_LOGICAL_CHANNEL)));
            assertThat(HexFormat.of().formatHex(olc)).as("mediaControlChannel").contains(seenAs + "1389");
            h245[0].received(olc);
            s.send(false, h245[0].tcp(ACK, ""));
            // RTCP from the callee to the port the caller's channel named, RTP from the caller to the
            // fast-start channel's even port
            End rtcp = new End(server, SERVER_MAC, DS_MAC).flow("10.0.2.2", 5011, callerSeenAs, 5001, 0);
            assertThat(s.send(false, rtcp.udp(new byte[12]))).as("RTCP to the caller").isNotNull();
            End rtp = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.1.2", 7010, "10.0.2.2", 7000, 0);
            assertThat(s.send(true, rtp.udp(new byte[12]))).isNotNull();
        });
        assertThat(packets(c, RELATED_Q931)).as("the H.245 SYN and the fast-start RTP datagram").isEqualTo(2);
        assertThat(packets(c, RELATED_H245)).as("the RTCP datagram of the H.245 connection's channel").isEqualTo(1);
    }

    /**
     * The callee (10.0.2.2:{@code sport}) opens the H.245 connection to the caller's announced port 4000 at
     * {@code callerSeenAs}, through its handshake; {callee end, caller end}.
     */
    static End[] h245Connection(Session s, String callerSeenAs, int sport) throws Exception {
        End callee = new End(server, SERVER_MAC, DS_MAC).flow("10.0.2.2", sport, callerSeenAs, 4000, 7000);
        byte[] syn = s.send(false, callee.tcp(SYN, ""));
        assertThat(syn).as("the H.245 connection is RELATED and forwarded").isNotNull();
        End caller = new End(client, CLIENT_MAC, DC_MAC).learn(syn);
        caller.sndNxt = 9000;
        callee.received(s.send(true, caller.tcp(SYN_ACK, "")));
        s.send(false, callee.tcp(ACK, ""));
        return new End[] {callee, caller};
    }

    /** A Setup over IPv6 whose h245Address is [fd01::2]:4000 (an extension alternative of TransportAddress). */
    static final String H323_SETUP6 = "03000041080200010504038893a57e0030050040060008914a000430fd01000000000000"
            + "00000000000000020fa000000000000000000000000000000000000000";
    /** A Facility, reason callForwarded, alternativeAddress 10.0.2.2:1721 (the callee's side). */
    static final String H323_FORWARDED_TO_CALLEE_SIDE = "03000023080200016204038893a57e0012050640060008914a"
            + "0004000a00020206b920";
    /** The same, alternativeAddress 10.0.1.2:1721: the caller's own side (callforward_filter). */
    static final String H323_FORWARDED_TO_CALLER_SIDE = "03000023080200016204038893a57e0012050640060008914a"
            + "0004000a00010206b920";

    static List<Arguments> h323Sessions() {
        return List.of(
                Arguments.of("h323 Setup over IPv6", Family.IPV6, "fd01::2", "fd02::2", List.of(H323_SETUP6), true,
                        "", 1L),
                Arguments.of("h323 Setup: a lone TPKT header, its data in the next segment", Family.IPV4,
                        "10.0.1.2", "10.0.2.2", List.of(H323_SETUP.substring(0, 8), H323_SETUP.substring(8)), true,
                        "", 1L),
                Arguments.of("h323 Setup cut in two segments: not read", Family.IPV4, "10.0.1.2", "10.0.2.2",
                        List.of(H323_SETUP.substring(0, 40), H323_SETUP.substring(40)), true, "", 0L),
                Arguments.of("h323 two TPKTs in one segment", Family.IPV4, "10.0.1.2", "10.0.2.2",
                        List.of(H323_SETUP + H323_SETUP.replace("0fa0", "0fa2")), true, "", 1L),
                Arguments.of("h323 Facility callForwarded to the callee's side: the second leg expected",
                        Family.IPV4, "10.0.1.2", "10.0.2.2", List.of(H323_FORWARDED_TO_CALLEE_SIDE), false,
                        "10.0.2.2", 1L),
                Arguments.of("h323 Facility callForwarded to the caller's side: callforward_filter", Family.IPV4,
                        "10.0.1.2", "10.0.2.2", List.of(H323_FORWARDED_TO_CALLER_SIDE), false, "10.0.2.2", 0L));
    }

    /**
     * The caller sends {@code fromCaller} (Setup) or the callee {@code segments} (Facility) on the call signalling
     * connection, segment by segment; then the callee opens the H.245 connection to the caller's port 4000, or the
     * caller the forwarded call to {@code forwardedTo}:1721.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("h323Sessions")
    void h323SignallingAsByLinux(String name, Family family, String callerIp, String calleeIp, List<String> segments,
            boolean fromCaller, String forwardedTo, long related) throws Exception {
        assumeKernel();
        Map<String, String> c = compare(name, family, h323Rules(family), s -> {
            End[] ctl = connect(s, callerIp, 40050, calleeIp, 1720);
            for (String segment : segments) {
                if (fromCaller) {
                    ctl[1].received(s.send(true, ctl[0].tcp(PSH_ACK, hex(segment))));
                } else {
                    ctl[0].received(s.send(false, ctl[1].tcp(PSH_ACK, hex(segment))));
                }
            }
            s.send(!fromCaller, fromCaller ? ctl[1].tcp(ACK, "") : ctl[0].tcp(ACK, ""));
            if (forwardedTo.isEmpty()) {
                dataConnection(s, false, ctl[1].myIp, 50000, ctl[0].myIp, 4000);
            } else {
                dataConnection(s, true, ctl[0].myIp, 40051, address(forwardedTo), 1721);
            }
        });
        assertThat(packets(c, RELATED_Q931)).isEqualTo(related);
    }

    // ---- h323 RAS ----

    static final String RELATED_RAS = "-m conntrack --ctstate RELATED -m helper --helper RAS -j ACCEPT";

    /** The shared rules with the RAS helper on port 1719, RAS datagrams and their expected calls let through. */
    static String rasRules(Family family) {
        return withHelper(rules(family, ""), "-p udp -m udp --dport 1719 -j CT --helper RAS",
                "-A FORWARD " + RELATED_RAS + "\n", "-p udp -m udp --dport 1719 -m conntrack --ctstate NEW -j ACCEPT");
    }

    /**
     * RAS messages built with core's PerWriter (H323HelperTest), endpoint 10.0.1.2, gatekeeper 10.0.2.2: an RRQ
     * registering 10.0.1.2:1720 with timeToLive 60 and keepAlive, the same with the timeToLive last, without
     * timeToLive; an RCF with and without timeToLive 60; an ACF admitting a call to 10.0.2.5:1720; a URQ; a GCF
     * naming RAS port 1718.
     */
    static final String RAS_RRQ = "0e000000060008914a00048001000a00010206b801000a00010206b70000b50000010a8802003b0180";
    static final String RAS_RRQ_TTL_LAST = "0e000000060008914a00048001000a00010206b801000a00010206b70000b5000001028002"
            + "003b";
    static final String RAS_RRQ_NO_TTL = "0c000000060008914a00048001000a00010206b801000a00010206b70000b5000001";
    static final String RAS_RCF = "12000000060008914a000401000a00010206b802006500700a8802003b0100";
    static final String RAS_RCF_NO_TTL = "10000000060008914a000401000a00010206b80200650070";
    static final String RAS_ACF = "280000010064400a00020506b8";
    static final String RAS_URQ = "1800000201000a00010206b8";
    static final String RAS_GCF = "04000000060008914a0004000a00020206b6";

    static List<Arguments> rasSessions() {
        return List.of(
                Arguments.of("RAS RRQ, RCF with timeToLive, a call from the gatekeeper, ACF",
                        List.of(">" + RAS_RRQ, "<" + RAS_RCF, "<" + RAS_ACF), true, 1L),
                Arguments.of("RAS RRQ whose timeToLive ends the message: out of bound, nothing expected",
                        List.of(">" + RAS_RRQ_TTL_LAST, "<" + RAS_RCF_NO_TTL), true, 0L),
                Arguments.of("RAS RRQ and RCF without timeToLive, then URQ: the expectations removed",
                        List.of(">" + RAS_RRQ_NO_TTL, "<" + RAS_RCF_NO_TTL, ">" + RAS_URQ), true, 0L),
                Arguments.of("RAS GCF naming another RAS port", List.of(">" + RAS_RRQ_NO_TTL, "<" + RAS_GCF), false,
                        0L));
    }

    /**
     * RAS datagrams between the endpoint (client side, port 1719) and the gatekeeper (server side, 1719), {@code >}
     * from the endpoint, {@code <} from the gatekeeper; then, with {@code call}, the gatekeeper calls the endpoint's
     * registered port 1720.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("rasSessions")
    void rasRegistrationAndAdmissionAsByLinux(String name, List<String> datagrams, boolean call, long related)
            throws Exception {
        assumeKernel();
        Map<String, String> c = compare(name, Family.IPV4, rasRules(Family.IPV4), s -> {
            End ep = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.1.2", 1719, "10.0.2.2", 1719, 0);
            End gk = new End(server, SERVER_MAC, DS_MAC).flow("10.0.2.2", 1719, "10.0.1.2", 1719, 0);
            for (String d : datagrams) {
                boolean fromEndpoint = d.startsWith(">");
                byte[] payload = java.util.HexFormat.of().parseHex(d.substring(1));
                s.send(fromEndpoint, (fromEndpoint ? ep : gk).udp(payload));
            }
            if (call) {
                dataConnection(s, false, address("10.0.2.2"), 40060, address("10.0.1.2"), 1720);
            }
        });
        assertThat(packets(c, RELATED_RAS)).isEqualTo(related);
    }

    // ---- h323 behind NAT (nf_nat_h323) ----

    /** h323Rules with {@code nat} in the nat table. */
    static String h323NatRules(String nat) {
        return withHelper(rules(Family.IPV4, nat), "-p tcp -m tcp --dport 1720 -j CT --helper Q.931",
                "-A FORWARD " + RELATED_Q931 + "\n" + "-A FORWARD " + RELATED_H245 + "\n",
                "-p tcp -m tcp --dport 1720 -m conntrack --ctstate NEW -j ACCEPT");
    }

    /** The callee 10.0.2.2 reached at the router's 10.0.1.1:1720. */
    static final String DNAT_CALLEE = "-A PREROUTING -d 10.0.1.1/32 -p tcp -m tcp --dport 1720 -j DNAT "
            + "--to-destination 10.0.2.2\n";

    /** An H.245 OpenLogicalChannel request whose mediaControlChannel is 10.0.2.2:6001 (the callee's). */
    static final String H245_CALLEE_OPEN_LOGICAL_CHANNEL = "03000017030000000c6013800a040001000a0002021771";
    /**
     * An H.245 OpenLogicalChannelAck (H323NatTest.openLogicalChannelAck) naming mediaChannel 10.0.1.2:5000 and
     * mediaControlChannel 10.0.1.2:5001.
     */
    static final String H245_OPEN_LOGICAL_CHANNEL_ACK = "0300001a22c0000002800f0c000a0001021388000a0001021389";

    /**
     * A call from behind SNAT whose callee opens a channel on the H.245 connection: the caller's
     * OpenLogicalChannelAck names its RTP and RTCP ports, both leave as 10.0.2.100's (the RTCP port finds the pair the
     * RTP port took), and media flows both ways: the callee's RTP to the translated pair reaches the caller, the
     * caller's RTP and RTCP reach the callee's channel.
     */
    @Test
    void h323OpenLogicalChannelAckBehindSnatAndMediaBothWaysAsByLinux() throws Exception {
        assumeKernel();
        Map<String, String> c = compare("h323 behind SNAT: H.245 OpenLogicalChannel, OpenLogicalChannelAck, media "
                + "both ways", Family.IPV4, h323NatRules(SNAT4), s -> {
                    End[] ctl = connect(s, "10.0.1.2", 40048, "10.0.2.2", 1720);
                    ctl[1].received(s.send(true, ctl[0].tcp(PSH_ACK, hex(H323_SETUP))));
                    s.send(false, ctl[1].tcp(ACK, ""));
                    End[] h245 = h245Connection(s, "10.0.2.100", 50002);
                    End callee = h245[0];
                    End caller = h245[1];
                    caller.received(s.send(false, callee.tcp(PSH_ACK, hex(H245_CALLEE_OPEN_LOGICAL_CHANNEL))));
                    byte[] ack = s.send(true, caller.tcp(PSH_ACK, hex(H245_OPEN_LOGICAL_CHANNEL_ACK)));
                    assertThat(HexFormat.of().formatHex(ack)).as("both ports the translated pair's")
                            .contains("0a0002641388000a0002641389");
                    callee.received(ack);
                    s.send(false, callee.tcp(ACK, ""));
                    End inbound = new End(server, SERVER_MAC, DS_MAC).flow("10.0.2.2", 6010, "10.0.2.100", 5000, 0);
                    assertThat(s.send(false, inbound.udp(new byte[12]))).as("RTP to the caller").isNotNull();
                    for (int port : new int[] {5000, 5001}) {
                        End outbound = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.1.2", port, "10.0.2.2",
                                port + 1000, 0);
                        assertThat(s.send(true, outbound.udp(new byte[12]))).as("to the callee's %d", port + 1000)
                                .isNotNull();
                    }
                });
        assertThat(packets(c, RELATED_Q931)).as("the H.245 SYN").isEqualTo(1);
        assertThat(packets(c, RELATED_H245)).as("RTP in, RTP and RTCP out").isEqualTo(3);
    }

    /**
     * The callee behind DNAT (10.0.1.1:1720 to 10.0.2.2): its Connect's h245Address 10.0.2.2:4001 and fast-start
     * RTCP 10.0.2.2:7001 leave as 10.0.1.1's; the caller's H.245 connection and RTP to 10.0.1.1 reach the callee.
     */
    @Test
    void h323CalleeBehindDnatAnnouncesTheRoutersAddressAsByLinux() throws Exception {
        assumeKernel();
        Map<String, String> c = compare("h323 callee behind DNAT: Connect's addresses rewritten", Family.IPV4,
                h323NatRules(DNAT_CALLEE), s -> {
                    End[] ctl = connect(s, "10.0.1.2", 40042, "10.0.1.1", 1720);
                    ctl[1].received(s.send(true, ctl[0].tcp(PSH_ACK, hex(H323_SETUP))));
                    byte[] connect = s.send(false, ctl[1].tcp(PSH_ACK, hex(H323_CONNECT)));
                    assertThat(HexFormat.of().formatHex(connect)).as("h245Address and RTCP rewritten")
                            .contains("0a0001010fa1").contains("0a0001011b59");
                    ctl[0].received(connect);
                    s.send(true, ctl[0].tcp(ACK, ""));
                    dataConnection(s, true, address("10.0.1.2"), 40043, address("10.0.1.1"), 4001);
                    End rtp = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.1.2", 7010, "10.0.1.1", 7000, 0);
                    assertThat(s.send(true, rtp.udp(new byte[12]))).as("RTP to the callee").isNotNull();
                });
        assertThat(packets(c, RELATED_Q931)).as("the H.245 SYN and the fast-start RTP datagram").isEqualTo(2);
    }

    /** A Setup without h245Address tunnelling an OpenLogicalChannel whose mediaControlChannel is 10.0.1.2:5001. */
    static final String H323_SETUP_TUNNELLED_CHANNEL = "03000045080200010504038893a57e0034052000060008914a000400"
            + "00000000000000000000000000000000000011150113030000000c6013800a040001000a0001021389";

    /**
     * Two calls of the caller behind SNAT name the same media pair: the first keeps 10.0.2.100:5000/5001, the
     * second's pair is taken (another master's expectation) and it gets 5002/5003, its RTCP port rewritten to 5003;
     * RTCP to each reaches the caller.
     */
    @Test
    void h323TwoCallsNamingTheSameMediaPairBehindSnatGetTwoPairsAsByLinux() throws Exception {
        assumeKernel();
        Map<String, String> c = compare("h323 behind SNAT: two calls, one media pair", Family.IPV4,
                h323NatRules(SNAT4), s -> {
                    for (int call = 0; call < 2; call++) {
                        End[] ctl = connect(s, "10.0.1.2", 40044 + call, "10.0.2.2", 1720);
                        byte[] out = s.send(true, ctl[0].tcp(PSH_ACK, hex(H323_SETUP_TUNNELLED_CHANNEL)));
                        assertThat(HexFormat.of().formatHex(out)).contains(call == 0 ? "0a0002641389" : "0a000264138b");
                        ctl[1].received(out);
                        s.send(false, ctl[1].tcp(ACK, ""));
                    }
                    for (int port : new int[] {5001, 5003}) {
                        End rtcp = new End(server, SERVER_MAC, DS_MAC).flow("10.0.2.2", port + 10, "10.0.2.100",
                                port, 0);
                        assertThat(s.send(false, rtcp.udp(new byte[12]))).as("RTCP to %d", port).isNotNull();
                    }
                });
        assertThat(packets(c, RELATED_Q931)).isEqualTo(2);
    }

    /** A Setup (no h245Address) whose destCallSignalAddress is 10.0.1.1:1720, the address the caller dialled. */
    static final String H323_SETUP_DEST_CALL_SIGNAL = "03000035080200010504038893a57e0024050008060008914a000400"
            + "000a00010106b8000000000000000000000000000000000000";

    /** A Setup tunnelling an OpenLogicalChannel for a T.120 separate LAN stack at 10.0.1.2:1503. */
    static final String H323_SETUP_T120 = "03000049080200010504038893a57e0038052000060008914a0004000000000000000000"
            + "0000000000000000000011190117038000021018300000008100010908000a00010205df80";

    static List<Arguments> h323NatSignalling() {
        return List.of(
                Arguments.of("h323 Setup to a callee behind DNAT: destCallSignalAddress becomes its real address",
                        DNAT_CALLEE, "10.0.1.1", true, H323_SETUP_DEST_CALL_SIGNAL, "0a00020206b8", "", 0, 0L),
                Arguments.of("h323 Facility callForwarded from behind SNAT: the second leg expected at the "
                        + "translated address", SNAT4, "10.0.2.2", true, H323_FORWARDED_TO_CALLER_SIDE,
                        "0a00026406b9", "10.0.2.100", 1721, 1L),
                Arguments.of("h323 Facility callForwarded from a callee behind DNAT: the caller's second call leaves "
                        + "from the router's address", DNAT_CALLEE, "10.0.1.1", false, H323_FORWARDED_TO_CALLEE_SIDE,
                        "0a00010106b9", "10.0.1.1", 1721, 1L),
                Arguments.of("h323 T.120 separate stack from behind SNAT: expected at the translated address",
                        SNAT4, "10.0.2.2", true, H323_SETUP_T120, "0a00026405df", "10.0.2.100", 1503, 1L));
    }

    /**
     * The caller ({@code fromCaller}) or the callee sends {@code message} on the call signalling connection from
     * 10.0.1.2 to {@code dialled}:1720 through {@code nat}; what arrives holds {@code rewritten}; then, with
     * {@code connectTo}, the other side connects to it at {@code port} (the forwarded call or the T.120 stack,
     * translated as nf_nat_h323 says when expected).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("h323NatSignalling")
    void h323SignallingBehindNatAsByLinux(String name, String nat, String dialled, boolean fromCaller, String message,
            String rewritten, String connectTo, int port, long related) throws Exception {
        assumeKernel();
        Map<String, String> c = compare(name, Family.IPV4, h323NatRules(nat), s -> {
            End[] ctl = connect(s, "10.0.1.2", 40046, dialled, 1720);
            End from = ctl[fromCaller ? 0 : 1];
            End to = ctl[fromCaller ? 1 : 0];
            byte[] out = s.send(fromCaller, from.tcp(PSH_ACK, hex(message)));
            assertThat(HexFormat.of().formatHex(out)).contains(rewritten);
            to.received(out);
            s.send(!fromCaller, to.tcp(ACK, ""));
            if (!connectTo.isEmpty()) {
                dataConnection(s, !fromCaller, address(fromCaller ? "10.0.2.2" : "10.0.1.2"), 40070,
                        address(connectTo), port);
            }
        });
        assertThat(packets(c, RELATED_Q931)).isEqualTo(related);
    }

    /** A GatekeeperRequest (built with core's PerWriter) whose rasAddress is 10.0.1.2:1719. */
    static final String RAS_GRQ = "00000000060008914a0004000a00010206b7";

    /**
     * AdmissionRequests (core's H323NatTest.admissionRequest): answering a call to 10.0.1.2:1720; calling
     * 10.0.2.9:1720 from 10.0.1.2:40000. An AdmissionConfirm naming 10.0.2.100:1720 (the answering endpoint as the
     * gatekeeper knows it).
     */
    static final String RAS_ARQ_ANSWERING = "24400003004000650070000a00010206b8000064";
    static final String RAS_ARQ_CALLING = "24500003004000650070000a00020906b800000a0001029c400064";
    static final String RAS_ACF_ANSWERING = "280000010064400a00026406b8";
    /**
     * A LocationRequest whose replyAddress is 10.0.1.2:1719, an InfoRequestResponse naming rasAddress 10.0.1.2:1719
     * and callSignalAddress 10.0.1.2:1720 (core's H323NatTest.locationRequest, infoRequestResponse).
     */
    static final String RAS_LRQ = "4800000400000a00010206b70000";
    static final String RAS_IRR = "58000005000100650070000a00010206b701000a00010206b800";

    static List<Arguments> rasNatSessions() {
        String rcfToTranslated = RAS_RCF.replace("0a00010206b8", "0a00026406b8");
        return List.of(
                Arguments.of("RAS behind SNAT: RRQ and RCF rewritten, the gatekeeper's call reaches the endpoint",
                        List.of(">" + RAS_RRQ, "<" + rcfToTranslated),
                        List.of("0a00026406b8", "0a00010206b8"), true, 1L),
                Arguments.of("RAS behind SNAT: URQ's call signalling address rewritten, the expectation removed",
                        List.of(">" + RAS_RRQ_NO_TTL, ">" + RAS_URQ), List.of("0a00026406b7", "0a00026406b8"), true,
                        0L),
                Arguments.of("RAS behind SNAT: GRQ's rasAddress rewritten", List.of(">" + RAS_GRQ),
                        List.of("0a00026406b7"), false, 0L),
                Arguments.of("RAS behind SNAT: answering and calling ARQ, answering ACF rewritten",
                        List.of(">" + RAS_RRQ_NO_TTL, ">" + RAS_ARQ_ANSWERING, ">" + RAS_ARQ_CALLING,
                                "<" + RAS_ACF_ANSWERING),
                        List.of("0a00026406b8", "0a00026406b8", "0a0002649c40", "0a00010206b8"), true, 1L),
                Arguments.of("RAS behind SNAT: LRQ's replyAddress, IRR's rasAddress and callSignalAddress rewritten",
                        List.of(">" + RAS_RRQ_NO_TTL, ">" + RAS_LRQ, ">" + RAS_IRR),
                        List.of("0a00026406b8", "0a00026406b7", "0a00026406b701000a00026406b8"), false, 0L));
    }

    /**
     * RAS datagrams between the endpoint behind SNAT ({@code >}) and the gatekeeper ({@code <}, to 10.0.2.100):
     * each forwarded datagram holds its {@code rewritten} address and port; with {@code call} the gatekeeper then
     * calls 10.0.2.100:1720.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("rasNatSessions")
    void rasBehindSnatRewritesTheAddressesAsByLinux(String name, List<String> datagrams, List<String> rewritten,
            boolean call, long related) throws Exception {
        assumeKernel();
        String rules = withHelper(rules(Family.IPV4, SNAT4), "-p udp -m udp --dport 1719 -j CT --helper RAS",
                "-A FORWARD " + RELATED_RAS + "\n", "-p udp -m udp --dport 1719 -m conntrack --ctstate NEW -j ACCEPT");
        Map<String, String> c = compare(name, Family.IPV4, rules, s -> {
            End ep = new End(client, CLIENT_MAC, DC_MAC).flow("10.0.1.2", 1719, "10.0.2.2", 1719, 0);
            End gk = new End(server, SERVER_MAC, DS_MAC).flow("10.0.2.2", 1719, "10.0.2.100", 1719, 0);
            for (int i = 0; i < datagrams.size(); i++) {
                String d = datagrams.get(i);
                boolean fromEndpoint = d.startsWith(">");
                byte[] out = s.send(fromEndpoint, (fromEndpoint ? ep : gk).udp(HexFormat.of().parseHex(d.substring(1))));
                assertThat(HexFormat.of().formatHex(out)).as("datagram %d", i).contains(rewritten.get(i));
            }
            if (call) {
                dataConnection(s, false, address("10.0.2.2"), 40061, address("10.0.2.100"), 1720);
            }
        });
        assertThat(packets(c, RELATED_RAS)).isEqualTo(related);
    }
}
