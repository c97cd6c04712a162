package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.DatapathHarness.rules;
import static org.jnetfilter.core.netfilter.DatapathHarness.table;
import static org.jnetfilter.core.netfilter.Fixtures.builtin;
import static org.jnetfilter.core.netfilter.Fixtures.match;
import static org.jnetfilter.core.netfilter.Fixtures.rule;
import static org.jnetfilter.core.netfilter.Fixtures.target;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.core.testkit.KernelSide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SRv6 endpoints against the kernel: router b (vba fc00:77::2 toward a = fc00:77::1, vbc fc00:78::2 and 10.78.0.2
 * toward c = fc00:78::3 / 10.78.0.3, forwarding on for both families, seg6_enabled on for all and vba) receives
 * IPv6 datagrams with a segment routing header ({@link #PROBES}, each carrying "pNNN" as its UDP data). mangle
 * PREROUTING marks what is addressed to b's fc00:77::2 (the outer packets), mangle FORWARD takes 2 off the hop limit
 * / TTL of marked packets: a decapsulated packet forwarded with its hop limit 3 lower shows the mark survived
 * __skb_tunnel_rx. tcpdump on c records what b forwarded, on a the ICMP errors b sent. The same frames go through
 * jnetfilter on a host like b: forwarded datagrams must equal the kernel's byte for byte, errors be of the same type
 * and code between the same addresses; a probe the kernel delivered (its port unreachable comes back from b) must
 * be delivered locally.
 *
 * <p>Runs only as root with ip netns, tcpdump and python3 and JNF_SKIP_KERNEL_TESTS unset; otherwise it is skipped
 * with a message on stderr. Namespaces jnf-srv6-PID-*.
 */
class KernelSrv6DifferentialTest {
    private static final long PID = ProcessHandle.current().pid() % 100000;
    private static final String NS = "jnf-srv6-" + PID;
    private static final HexFormat HEX = HexFormat.of();
    private static final String MAC_A = "02000000000a";
    private static final String MAC_B = "0200000000ba";
    static final String A = "fc00:77::1";
    static final String B = "fc00:77::2";
    static final String B2 = "fc00:78::2";
    static final String C = "fc00:78::3";
    /** Probe number: its IPv6 datagram as a sends it. */
    static final Map<Integer, byte[]> PROBES = new LinkedHashMap<>();

    static {
        // the last segment, an inner IPv6 packet to c: decapsulated and forwarded
        PROBES.put(1, ipv6(A, B, 43, cat(srh(41, 0, B), ipv6(A, C, 17, udp6(A, C, 1), 64)), 64));
        // one segment left, b's other address: taken at once, then decapsulated
        PROBES.put(2, ipv6(A, B, 43, cat(srh(41, 1, B2, B), ipv6(A, C, 17, udp6(A, C, 2), 64)), 64));
        // an inner IPv4 packet to c: decapsulated too on Linux 6.18
        PROBES.put(3, ipv6(A, B, 43, cat(srh(4, 0, B), ipv4("10.77.0.1", "10.78.0.3", 3)), 64));
        // the inner packet's hop limit 1: time exceeded from b when it is forwarded
        PROBES.put(4, ipv6(A, B, 43, cat(srh(41, 0, B), ipv6(A, C, 17, udp6(A, C, 4), 1)), 64));
        // the inner packet for b itself: delivered (the kernel answers port unreachable)
        PROBES.put(5, ipv6(A, B, 43, cat(srh(41, 0, B), ipv6(A, B2, 17, udp6(A, B2, 5), 64)), 64));
        // segments left, the next one c: forwarded as it is (no decapsulation before the last segment)
        PROBES.put(6, ipv6(A, B, 43, cat(srh(41, 1, C, B), ipv6(A, C, 17, udp6(A, C, 6), 64)), 64));
    }

    private static String skipReason;
    private static Path dir;
    private static final Map<Integer, String> forwarded = new LinkedHashMap<>();
    private static final Map<Integer, String> errors = new LinkedHashMap<>();

    static byte[] addr(String a) {
        try {
            return InetAddress.getByName(a).getAddress();
        } catch (IOException e) {
            throw new IllegalArgumentException(a, e);
        }
    }

    static byte[] cat(byte[] x, byte[] y) {
        byte[] r = Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, r, x.length, y.length);
        return r;
    }

    private static int sum(byte[] b, int from, int to, int initial) {
        long s = initial;
        for (int i = from; i < to; i += 2) {
            s += (Byte.toUnsignedInt(b[i]) << 8) | (i + 1 < to ? Byte.toUnsignedInt(b[i + 1]) : 0);
        }
        while (s >> 16 != 0) {
            s = (s & 0xFFFF) + (s >> 16);
        }
        return (int) s;
    }

    /** UDP 4000 -> 5000 with "pNNN"; {@code pseudo} the pseudo-header's bytes. */
    private static byte[] udp(byte[] pseudo, int probe) {
        byte[] u = ByteBuffer.allocate(12).putShort((short) 4000).putShort((short) 5000).putShort((short) 12)
                .putShort((short) 0).put(String.format("p%03d", probe).getBytes()).array();
        int c = ~sum(u, 0, u.length, sum(pseudo, 0, pseudo.length, 0)) & 0xFFFF;
        u[6] = (byte) ((c == 0 ? 0xFFFF : c) >> 8);
        u[7] = (byte) (c == 0 ? 0xFFFF : c);
        return u;
    }

    static byte[] udp6(String src, String dst, int probe) {
        byte[] pseudo = ByteBuffer.allocate(40).put(addr(src)).put(addr(dst)).putInt(12).putInt(17).array();
        return udp(pseudo, probe);
    }

    static byte[] ipv6(String src, String dst, int next, byte[] payload, int hopLimit) {
        return ByteBuffer.allocate(40 + payload.length).putInt(0x60000000).putShort((short) payload.length)
                .put((byte) next).put((byte) hopLimit).put(addr(src)).put(addr(dst)).put(payload).array();
    }

    /** A UDP datagram with "pNNN", IP ID = the probe. */
    static byte[] ipv4(String src, String dst, int probe) {
        byte[] pseudo = ByteBuffer.allocate(12).put(addr(src)).put(addr(dst)).putShort((short) 17)
                .putShort((short) 12).array();
        byte[] u = udp(pseudo, probe);
        byte[] h = ByteBuffer.allocate(20).put((byte) 0x45).put((byte) 0).putShort((short) 32).putShort((short) probe)
                .putShort((short) 0).put((byte) 64).put((byte) 17).putShort((short) 0).put(addr(src)).put(addr(dst))
                .array();
        int c = ~sum(h, 0, 20, 0) & 0xFFFF;
        h[10] = (byte) (c >> 8);
        h[11] = (byte) c;
        return cat(h, u);
    }

    /** A segment routing header (type 4) with these segments, segment 0 first. */
    static byte[] srh(int next, int segmentsLeft, String... segments) {
        ByteBuffer b = ByteBuffer.allocate(8 + 16 * segments.length).put((byte) next)
                .put((byte) (2 * segments.length)).put((byte) 4).put((byte) segmentsLeft)
                .put((byte) (segments.length - 1)).put((byte) 0).putShort((short) 0);
        for (String s : segments) {
            b.put(addr(s));
        }
        return b.array();
    }

    static String frame(int probe) {
        return MAC_B + MAC_A + "86dd" + HEX.formatHex(PROBES.get(probe));
    }

    /** The probe number in the last four bytes ("pNNN") of a datagram or of what an error quotes. */
    private static int probeOf(byte[] b) {
        String tail = new String(b, b.length - 4, 4);
        return tail.charAt(0) == 'p' ? Integer.parseInt(tail.substring(1)) : -1;
    }

    @BeforeAll
    static void record() throws Exception {
        skipReason = KernelSide.unavailable("tcpdump", "python3");
        KernelSide.RouterLine line = KernelSide.routerLine("KernelSrv6DifferentialTest", skipReason,
                "root, ip netns, tcpdump, python3", NS, "jnf-srv6", l -> {
                    String ip6t = "ip netns exec " + l.b() + " ip6tables-legacy -t mangle -A ";
                    String ipt = "ip netns exec " + l.b() + " iptables-legacy -t mangle -A ";
                    return List.of("ip -n " + l.a() + " addr add " + A + "/64 dev va nodad",
                            "ip -n " + l.b() + " addr add " + B + "/64 dev vba nodad",
                            "ip -n " + l.b() + " addr add " + B2 + "/64 dev vbc nodad",
                            "ip -n " + l.b() + " addr add 10.78.0.2/24 dev vbc",
                            "ip -n " + l.c() + " addr add " + C + "/64 dev vc nodad",
                            "ip -n " + l.c() + " addr add 10.78.0.3/24 dev vc",
                            "ip -n " + l.b() + " neigh add " + A + " lladdr 02:00:00:00:00:0a dev vba",
                            "ip -n " + l.b() + " neigh add " + C + " lladdr 02:00:00:00:00:0c dev vbc",
                            "ip -n " + l.b() + " neigh add 10.78.0.3 lladdr 02:00:00:00:00:0c dev vbc",
                            "ip netns exec " + l.b() + " sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv4.ip_forward=1",
                            "ip netns exec " + l.b()
                                    + " sysctl -qw net.ipv6.conf.all.seg6_enabled=1 net.ipv6.conf.vba.seg6_enabled=1",
                            "ip netns exec " + l.b() + " sysctl -qw net.ipv6.icmp.ratelimit=0",
                            ip6t + "PREROUTING -d " + B + " -j MARK --set-mark 7",
                            ip6t + "FORWARD -m mark --mark 7 -j HL --hl-dec 2",
                            ipt + "FORWARD -m mark --mark 7 -j TTL --ttl-dec 2");
                }, "02:00:00:00:00:0a", "02:00:00:00:00:ba", "02:00:00:00:00:0c", "02:00:00:00:00:bc");
        if (line == null) {
            return;
        }
        dir = line.dir();
        String a = line.a();
        String c = line.c();
        List<String> frames = new ArrayList<>();
        for (int id : PROBES.keySet()) {
            frames.add(frame(id));
        }
        Path atC = dir.resolve("c.pcap");
        Path atA = dir.resolve("a.pcap");
        KernelSide.Result traffic = KernelSide.sendWhileCapturing(a, "va", frames, 5,
                new String[] {c, "vc", "udp or ip6 proto 43", atC.toString()},
                new String[] {a, "va", "icmp6", atA.toString()});
        assertThat(traffic.exit()).as(traffic.stdout() + traffic.stderr()).isZero();
        for (byte[] f : KernelSide.pcapFrames(atC)) {
            byte[] ip = Arrays.copyOfRange(f, 14, f.length);
            forwarded.put(probeOf(ip), HEX.formatHex(ip));
        }
        for (byte[] f : KernelSide.pcapFrames(atA)) {
            if (HEX.formatHex(f, 6, 12).equals(MAC_B)) {
                byte[] ip = Arrays.copyOfRange(f, 14, f.length);
                errors.put(probeOf(ip), error(ip));
            }
        }
    }

    /** An ICMPv6 message as compared: type, code, source, destination. */
    private static String error(byte[] ip) {
        return "type " + Byte.toUnsignedInt(ip[40]) + " code " + ip[41] + " from " + HEX.formatHex(ip, 8, 24) + " to "
                + HEX.formatHex(ip, 24, 40);
    }

    @AfterAll
    static void clean() throws IOException {
        if (skipReason == null) {
            KernelSide.deleteNamespaces(NS + "-a", NS + "-b", NS + "-c");
        }
        KernelSide.deleteScratch(dir);
    }

    static final String HOST = String.join("\n", "link add vba address 02:00:00:00:00:ba", "link set vba up",
            "addr add " + B + "/64 dev vba", "link add vbc address 02:00:00:00:00:bc", "link set vbc up",
            "addr add " + B2 + "/64 dev vbc", "addr add 10.78.0.2/24 dev vbc",
            "neigh add " + A + " lladdr 02:00:00:00:00:0a dev vba", "neigh add " + C + " lladdr 02:00:00:00:00:0c dev vbc",
            "neigh add 10.78.0.3 lladdr 02:00:00:00:00:0c dev vbc", "sysctl net.ipv6.conf.all.forwarding=1",
            "sysctl net.ipv4.ip_forward=1", "sysctl net.ipv6.conf.all.seg6_enabled=1",
            "sysctl net.ipv6.conf.vba.seg6_enabled=1", "");

    /** b's rules: the outer packets marked in PREROUTING, marked ones 2 hops shorter in FORWARD. */
    static Datapath router(PacketSink sink) throws Exception {
        Datapath d = new Datapath(HostFile.parseRunning("b", HOST), sink);
        IpSpec any6 = IpSpec.any(Family.IPV6);
        IpSpec any4 = IpSpec.any(Family.IPV4);
        Rule mark = rule(any6.withDst(IpNet.of(Family.IPV6, 0xfc00007700000000L, 2, -1L, -1L)), target(any6, "MARK", "--set-mark", "7"));
        d.rules(Family.IPV6, rules(Family.IPV6, table(TableKind.MANGLE, Family.IPV6, builtin("PREROUTING", "ACCEPT", mark),
                builtin("INPUT", "ACCEPT"),
                builtin("FORWARD", "ACCEPT", rule(any6, target(any6, "HL", "--hl-dec", "2"),
                        match(any6, "mark", "--mark", "7"))),
                builtin("OUTPUT", "ACCEPT"), builtin("POSTROUTING", "ACCEPT"))));
        d.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.MANGLE, Family.IPV4, builtin("PREROUTING", "ACCEPT"),
                builtin("INPUT", "ACCEPT"),
                builtin("FORWARD", "ACCEPT", rule(any4, target(any4, "TTL", "--ttl-dec", "2"),
                        match(any4, "mark", "--mark", "7"))),
                builtin("OUTPUT", "ACCEPT"), builtin("POSTROUTING", "ACCEPT"))));
        return d;
    }

    @Test
    void decapsulatedPacketsLeaveAsTheKernelsWithTheOuterPacketsMark() throws Exception {
        Assumptions.assumeTrue(skipReason == null, () -> "kernel differential test skipped: " + skipReason);
        assertThat(forwarded).as("the kernel forwarded decapsulated packets").containsKeys(1, 2, 3, 6);
        assertThat(errors).as("the kernel answered some").containsKeys(4, 5);
        for (int id : PROBES.keySet()) {
            List<String> out = new ArrayList<>();
            List<String> local = new ArrayList<>();
            Datapath d = router(new PacketSink() {
                @Override
                public void transmit(String ifname, MemorySegment frame) {
                    out.add(ifname + " " + HEX.formatHex(frame.asSlice(14).toArray(ValueLayout.JAVA_BYTE)));
                }

                @Override
                public void deliverLocal(String ifname, MemorySegment packet) {
                    local.add(ifname);
                }
            });
            d.receive("vba", MemorySegment.ofArray(HEX.parseHex(frame(id))), true, 1_000_000_000L, Trace.NONE);
            if (forwarded.containsKey(id)) {
                assertThat(out).as("probe %d forwarded", id).containsExactly("vbc " + forwarded.get(id));
            } else if (errors.containsKey(id) && !errors.get(id).startsWith("type 1 code 4 ")) {
                assertThat(out).as("probe %d: an ICMP error", id).hasSize(1);
                assertThat(out.get(0)).startsWith("vba ");
                assertThat(error(HEX.parseHex(out.get(0).substring(4)))).as("probe %d", id).isEqualTo(errors.get(id));
            } else if (errors.containsKey(id)) {
                assertThat(local).as("probe %d delivered (the kernel's port unreachable)", id).isNotEmpty();
            } else {
                assertThat(out).as("probe %d: dropped silently", id).isEmpty();
            }
        }
    }
}
