package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.testkit.KernelSide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * IPv4 options against the kernel: namespace a sends UDP datagrams with options ({@link #PROBES}, IP ID = the
 * probe's number) over a veth to router b, which forwards them to c; tcpdump captures what reaches c and the ICMP
 * errors that come back to a. The same datagrams go through jnetfilter on a host shaped like b (its interfaces'
 * MACs and addresses); every forwarded datagram must equal the kernel's byte for byte (jnetfilter is given the
 * time the kernel recorded in a timestamp option, so the times and checksums agree), and every datagram b
 * answered with an ICMP error (parameter problem; time exceeded for the probes sent with TTL 1) must get one of
 * the same type and pointer with the same options echoed in its header, and nothing else. Datagrams b dropped
 * silently (source routes) must leave jnetfilter neither.
 *
 * <p>Runs only as root with ip netns, tcpdump and python3 and JNF_SKIP_KERNEL_TESTS unset; otherwise it is skipped
 * with a message on stderr. Namespaces jnf-ipopt-PID-*.
 */
class KernelIpv4OptionsDifferentialTest {
    private static final long PID = ProcessHandle.current().pid() % 100000;
    private static final String NS = "jnf-ipopt-" + PID;
    private static final HexFormat HEX = HexFormat.of();
    /** The options of each probe (hex), by IP ID. */
    static final Map<Integer, String> PROBES = new LinkedHashMap<>();

    static {
        PROBES.put(1, "070f04" + "00".repeat(12));
        PROBES.put(2, "88010000");
        PROBES.put(3, "8307040a4d0103");
        PROBES.put(4, "440c0500" + "00".repeat(8));
        PROBES.put(5, "07070801020304");
        PROBES.put(6, "07070300000000");
        PROBES.put(7, "44140501" + "00".repeat(16));
        PROBES.put(8, "44040500");
        PROBES.put(9, "94040000");
        PROBES.put(10, "07070400000000" + "07070400000000");
        PROBES.put(11, "44140503" + "0a4d0002" + "00000000" + "0a4d0102" + "00000000");
        PROBES.put(12, "44040510".replace("10", "f0"));
        PROBES.put(13, "86080000000100000000");
        PROBES.put(14, "0000ff00");
        // TTL 1 (ID 20 and up): time exceeded, with the options echoed
        PROBES.put(21, "070f04" + "00".repeat(12));
        PROBES.put(22, "07070801020304");
        PROBES.put(23, "94040000");
    }

    private static String skipReason;
    private static Path dir;
    private static String macB;
    private static String macA;
    /** What reached c, by IP ID: the datagram. */
    private static final Map<Integer, String> forwarded = new LinkedHashMap<>();
    /** ICMP errors a received, by the quoted datagram's IP ID: type, the pointer byte, the options echoed (hex). */
    private static final Map<Integer, String> errors = new LinkedHashMap<>();

    private record Out(int exit, String stdout) {
    }

    /** A bash script (60 s at most); its output and error output together. */
    private static Out sh(String script) {
        KernelSide.Result r = KernelSide.run(60, null, List.of("bash", "-c", script));
        return new Out(r.exit(), r.stdout() + r.stderr());
    }

    /** The datagram of a probe: 10.77.0.1:4000 -> 10.77.1.3:5000, TTL 64, the options padded, 4 bytes of data. */
    static byte[] datagram(int id, String options) {
        byte[] o = HEX.parseHex(options);
        int ihl = 20 + ((o.length + 3) & ~3);
        ByteBuffer b = ByteBuffer.allocate(ihl + 12);
        b.put((byte) (0x40 | ihl / 4)).put((byte) 0).putShort((short) (ihl + 12)).putShort((short) id).putShort((short) 0)
                .put((byte) (id >= 20 ? 1 : 64)).put((byte) 17).putShort((short) 0).put(HEX.parseHex("0a4d00010a4d0103")).put(o)
                .position(ihl);
        b.put(HEX.parseHex("0fa01388000c00006f707478"));
        MemorySegment s = MemorySegment.ofArray(b.array());
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 10,
                (short) org.jnetfilter.core.packet.Checksums.ipv4Header(s, 0));
        return b.array();
    }

    @BeforeAll
    static void record() throws Exception {
        skipReason = KernelSide.unavailable("tcpdump", "python3");
        if (skipReason != null) {
            KernelSide.skipped("KernelIpv4OptionsDifferentialTest", skipReason, "root, ip netns, tcpdump, python3");
            return;
        }
        dir = Files.createTempDirectory("jnf-ipopt");
        String a = NS + "-a";
        String b = NS + "-b";
        String c = NS + "-c";
        List<String> lines = new ArrayList<>(List.of("set -e"));
        lines.addAll(KernelSide.routerBetween(NS));
        lines.addAll(List.of("ip -n " + a + " addr add 10.77.0.1/24 dev va", "ip -n " + b + " addr add 10.77.0.2/24 dev vba",
                "ip -n " + b + " addr add 10.77.1.2/24 dev vbc", "ip -n " + c + " addr add 10.77.1.3/24 dev vc",
                "ip -n " + a + " route add default via 10.77.0.2", "ip -n " + c + " route add default via 10.77.1.2",
                "ip netns exec " + b + " sysctl -qw net.ipv4.ip_forward=1",
                // no per-peer ICMP limit: every probe's error is sent (jnetfilter gets a fresh host per probe)
                "ip netns exec " + b + " sysctl -qw net.ipv4.icmp_ratelimit=0",
                "ip -n " + b + " -o link show vba", "ip -n " + a + " -o link show va"));
        Out setup = sh(String.join("\n", lines));
        assertThat(setup.exit()).as(setup.stdout()).isZero();
        Matcher m = Pattern.compile("vba@\\S+.*link/ether ([0-9a-f:]{17})").matcher(setup.stdout());
        assertThat(m.find()).isTrue();
        macB = m.group(1).replace(":", "");
        m = Pattern.compile(" va@\\S+.*link/ether ([0-9a-f:]{17})").matcher(setup.stdout());
        assertThat(m.find()).isTrue();
        macA = m.group(1).replace(":", "");
        StringBuilder frames = new StringBuilder();
        for (var e : PROBES.entrySet()) {
            frames.append("'").append(macB).append(macA).append("0800").append(HEX.formatHex(datagram(e.getKey(),
                    e.getValue()))).append("',");
        }
        Path atC = dir.resolve("c.pcap");
        Path atA = dir.resolve("a.pcap");
        Out traffic = sh(String.join("\n",
                "(ip netns exec " + c + " timeout 6 tcpdump -U -i vc -w " + atC + " udp 2>" + dir.resolve("c.err") + " &)",
                "(ip netns exec " + a + " timeout 6 tcpdump -U -i va -w " + atA + " icmp 2>" + dir.resolve("a.err") + " &)",
                "for i in $(seq 50); do grep -q listening " + dir.resolve("c.err") + " 2>/dev/null && grep -q listening "
                        + dir.resolve("a.err") + " 2>/dev/null && break; sleep 0.1; done",
                "sleep 0.3",
                "ip netns exec " + a + " python3 -c \"import socket,time\n"
                        + "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW); s.bind(('va',0))\n"
                        + "for f in [" + frames + "]:\n    s.send(bytes.fromhex(f)); time.sleep(0.03)\"",
                "sleep 6.5"));
        assertThat(traffic.exit()).as(traffic.stdout()).isZero();
        for (byte[] frame : frames(atC)) {
            byte[] ip = java.util.Arrays.copyOfRange(frame, 14, frame.length);
            forwarded.put(u16(ip, 4), HEX.formatHex(ip));
        }
        for (byte[] frame : frames(atA)) {
            byte[] ip = java.util.Arrays.copyOfRange(frame, 14, frame.length);
            if (u16(ip, 12) == 0x0a4d && ip[14] == 0 && ip[15] == 2) {
                errors.put(u16(ip, (ip[0] & 0xF) * 4 + 8 + 4), error(ip));
            }
        }
    }

    /** An ICMP error as compared: type, pointer byte, the options of its IP header. */
    private static String error(byte[] ip) {
        int ihl = (ip[0] & 0xF) * 4;
        return "type " + ip[ihl] + " pointer " + Byte.toUnsignedInt(ip[ihl + 4]) + " options "
                + HEX.formatHex(ip, 20, ihl);
    }

    private static int u16(byte[] b, int at) {
        return (Byte.toUnsignedInt(b[at]) << 8) | Byte.toUnsignedInt(b[at + 1]);
    }

    /** The records of a little-endian classic pcap. */
    static List<byte[]> frames(Path pcap) throws IOException {
        return KernelSide.pcapFrames(pcap);
    }

    @AfterAll
    static void clean() throws IOException {
        if (skipReason == null) {
            KernelSide.deleteNamespaces(NS + "-a", NS + "-b", NS + "-c");
        }
        KernelSide.deleteScratch(dir);
    }

    /** The first time a timestamp option of {@code ip} holds (ms since midnight UTC), or 0. */
    private static long recordedMillis(byte[] ip) {
        int ihl = (ip[0] & 0xF) * 4;
        for (int at = 20; at + 8 <= ihl; ) {
            int type = Byte.toUnsignedInt(ip[at]);
            if (type == 0) {
                break;
            }
            if (type == 1) {
                at++;
                continue;
            }
            if (type == 68) {
                int flags = ip[at + 3] & 0xF;
                int slot = at + 4 + (flags == 0 ? 0 : 4);
                return Integer.toUnsignedLong(ByteBuffer.wrap(ip, slot, 4).getInt());
            }
            at += Math.max(2, Byte.toUnsignedInt(ip[at + 1]));
        }
        return 0;
    }

    @Test
    void forwardedDatagramsAndParameterProblemsAreTheKernels() throws Exception {
        Assumptions.assumeTrue(skipReason == null, () -> "kernel differential test skipped: " + skipReason);
        assertThat(forwarded.size() + errors.size()).as("the kernel forwarded or answered most probes")
                .isGreaterThan(PROBES.size() / 2);
        String host = "link add vba address " + macB.replaceAll("(..)(?!$)", "$1:") + "\naddr add 10.77.0.2/24 dev vba\n"
                + "link add vbc\naddr add 10.77.1.2/24 dev vbc\nsysctl net.ipv4.ip_forward=1\n";
        for (var e : PROBES.entrySet()) {
            int id = e.getKey();
            List<String> out = new ArrayList<>();
            Datapath d = new Datapath(HostFile.parseRunning("b", host), new PacketSink() {
                @Override
                public void transmit(String ifname, MemorySegment frame) {
                    out.add(ifname + " " + HEX.formatHex(frame.asSlice(14).toArray(ValueLayout.JAVA_BYTE)));
                }

                @Override
                public void deliverLocal(String ifname, MemorySegment packet) {
                    out.add("local");
                }
            });
            String kernel = forwarded.get(id);
            long millis = kernel == null ? 0 : recordedMillis(HEX.parseHex(kernel));
            byte[] frame = HEX.parseHex(macB + macA + "0800" + HEX.formatHex(datagram(id, e.getValue())));
            d.receive("vba", MemorySegment.ofArray(frame), true, millis * 1_000_000L + 500_000L, Trace.NONE);
            if (kernel != null) {
                assertThat(out).as("probe %d forwarded", id).containsExactly("vbc " + kernel);
            } else if (errors.containsKey(id)) {
                assertThat(out).as("probe %d: an ICMP error", id).hasSize(1);
                assertThat(error(HEX.parseHex(out.get(0).substring(4)))).as("probe %d", id).isEqualTo(errors.get(id));
            } else {
                assertThat(out).as("probe %d: dropped silently", id).isEmpty();
            }
        }
    }
}
