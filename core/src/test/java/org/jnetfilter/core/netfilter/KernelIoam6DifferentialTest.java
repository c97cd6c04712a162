package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.KernelSrv6DifferentialTest.A;
import static org.jnetfilter.core.netfilter.KernelSrv6DifferentialTest.C;
import static org.jnetfilter.core.netfilter.KernelSrv6DifferentialTest.cat;
import static org.jnetfilter.core.netfilter.KernelSrv6DifferentialTest.ipv6;
import static org.jnetfilter.core.netfilter.KernelSrv6DifferentialTest.udp6;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.testkit.KernelSide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * IOAM pre-allocated traces against the kernel: router b (as in {@link KernelSrv6DifferentialTest}, with
 * ioam6_enabled on vba, node id 5 / wide 0x55667788, interface ids 11 and 12 / wide 0x1011 and 0x1012, namespace 123
 * with data and wide data, namespace 124 without but with schema 7 "abcde") forwards UDP datagrams from a to c that
 * carry a hop-by-hop IOAM option ({@link #PROBES}); tcpdump on c records them. The same frames go through jnetfilter
 * on a host like b: what it forwards must equal the kernel's byte for byte, except the receive time (trace-type bits
 * 2 and 3), which is compared by rule: the kernel's is the wall clock of the run, jnetfilter's its packet clock.
 *
 * <p>Runs only as root with ip netns, tcpdump, python3 and iproute2's {@code ip ioam}, and JNF_SKIP_KERNEL_TESTS
 * unset; otherwise it is skipped with a message on stderr. Namespaces jnf-srv6-ioam-PID-*.
 */
class KernelIoam6DifferentialTest {
    private static final long PID = ProcessHandle.current().pid() % 100000;
    private static final String NS = "jnf-srv6-ioam-" + PID;
    private static final HexFormat HEX = HexFormat.of();
    private static final long NOW = 1_700_000_000_123_456_789L;
    static final Map<Integer, byte[]> PROBES = new LinkedHashMap<>();
    // IOAM-Trace-Type bytes: bits 0..11 and 22; bits 0 and 8; bits 0..3
    static final int ALL = 0xFFF002;
    static final int IDS = 0x808000;
    static final int WITH_TIME = 0xF00000;

    static {
        // namespace 123: every field, room for two nodes (15 words each, one for the missing schema)
        PROBES.put(1, probe(1, 123, 15, ALL, 32, 32, 64));
        // namespace 124: no data, with a schema of two words
        PROBES.put(2, probe(2, 124, 15, ALL, 40, 40, 64));
        // a namespace b does not know: untouched
        PROBES.put(3, probe(3, 999, 1, 0x800000, 2, 2, 64));
        // no room left: the overflow flag set
        PROBES.put(4, probe(4, 123, 1, 0x800000, 0, 0, 64));
        // NodeLen short of the fields (2 words for 3): dropped (Linux 6.18 checks it since the CVE-2026-43186 fix)
        PROBES.put(5, probe(5, 123, 2, IDS, 4, 4, 64));
        // the receive time, compared by rule; hop limit 2 (one left after b)
        PROBES.put(6, probe(6, 123, 4, WITH_TIME, 8, 8, 2));
        // RemainingLen beyond the option's data: dropped
        PROBES.put(7, probe(7, 123, 1, 0x800000, 8, 2, 64));
    }

    private static String skipReason;
    private static Path dir;
    private static final Map<Integer, byte[]> forwarded = new LinkedHashMap<>();
    private static long recordedAtSeconds;

    /**
     * a -> c, UDP with "pNNN", a hop-by-hop header: PadN(0) then the IOAM option (4n-aligned) with a pre-allocated
     * trace of {@code words} words of data, RemainingLen {@code remaining}, padded to 8n.
     */
    static byte[] probe(int id, int namespace, int nodeLen, int type, int remaining, int words, int hopLimit) {
        ByteBuffer trace = ByteBuffer.allocate(8 + 4 * words).putShort((short) namespace)
                .putShort((short) (nodeLen << 11 | remaining)).putInt(type << 8);
        byte[] option = cat(new byte[] {0x31, (byte) (2 + trace.capacity()), 0, 0}, trace.array());
        byte[] body = cat(new byte[] {1, 0}, option);
        int pad = Math.floorMod(-(2 + body.length), 8);
        if (pad == 1) {
            body = cat(body, new byte[1]);
        } else if (pad > 1) {
            byte[] padN = new byte[pad];
            padN[0] = 1;
            padN[1] = (byte) (pad - 2);
            body = cat(body, padN);
        }
        byte[] hbh = cat(new byte[] {17, (byte) ((2 + body.length) / 8 - 1)}, body);
        return ipv6(A, C, 0, cat(hbh, udp6(A, C, id)), hopLimit);
    }

    static String frame(int id) {
        return "0200000000ba" + "02000000000a" + "86dd" + HEX.formatHex(PROBES.get(id));
    }

    private static int probeOf(byte[] ip) {
        String tail = new String(ip, ip.length - 4, 4);
        return tail.charAt(0) == 'p' ? Integer.parseInt(tail.substring(1)) : -1;
    }

    static final String HOST = KernelSrv6DifferentialTest.HOST + String.join("\n",
            "sysctl net.ipv6.conf.vba.ioam6_enabled=1", "sysctl net.ipv6.ioam6_id=5",
            "sysctl net.ipv6.ioam6_id_wide=1432778632", "sysctl net.ipv6.conf.vba.ioam6_id=11",
            "sysctl net.ipv6.conf.vbc.ioam6_id=12", "sysctl net.ipv6.conf.vba.ioam6_id_wide=4113",
            "sysctl net.ipv6.conf.vbc.ioam6_id_wide=4114",
            "ioam namespace add 123 data 0xdeadbeef wide 0x1122334455667788", "ioam namespace add 124",
            "ioam schema add 7 abcde", "ioam namespace set 124 schema 7", "");

    @BeforeAll
    static void record() throws Exception {
        skipReason = KernelSide.unavailable("tcpdump", "python3");
        if (skipReason == null && KernelSide.run("ip", "ioam", "help").stdout().isEmpty()
                && !KernelSide.run("ip", "ioam", "help").stderr().contains("namespace")) {
            skipReason = "iproute2 without `ip ioam'";
        }
        KernelSide.RouterLine line = KernelSide.routerLine("KernelIoam6DifferentialTest", skipReason,
                "root, ip netns, tcpdump, python3, ip ioam", NS, "jnf-ioam", l -> {
                    List<String> lines = new ArrayList<>(List.of("ip -n " + l.a() + " addr add " + A + "/64 dev va nodad",
                            "ip -n " + l.c() + " addr add " + C + "/64 dev vc nodad"));
                    for (String h : HOST.split("\n")) {
                        if (h.startsWith("link ") || h.isBlank()) {
                            continue;
                        }
                        if (h.startsWith("sysctl ")) {
                            lines.add("ip netns exec " + l.b() + " sysctl -qw " + h.substring(7));
                        } else {
                            lines.add("ip -n " + l.b() + " " + h + (h.startsWith("addr add fc") ? " nodad" : ""));
                        }
                    }
                    return lines;
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
        KernelSide.Result traffic = KernelSide.sendWhileCapturing(a, "va", frames, 4,
                new String[] {c, "vc", "ip6 and not icmp6", atC.toString()});
        assertThat(traffic.exit()).as(traffic.stdout() + traffic.stderr()).isZero();
        recordedAtSeconds = System.currentTimeMillis() / 1000;
        for (byte[] f : KernelSide.pcapFrames(atC)) {
            byte[] ip = Arrays.copyOfRange(f, 14, f.length);
            if (probeOf(ip) > 0) {
                forwarded.put(probeOf(ip), ip);
            }
        }
    }

    @AfterAll
    static void clean() throws IOException {
        if (skipReason == null) {
            KernelSide.deleteNamespaces(NS + "-a", NS + "-b", NS + "-c");
        }
        KernelSide.deleteScratch(dir);
    }

    /** The offset of this node's data in a forwarded probe (the trace header at 48, RemainingLen after b's). */
    private static int nodeAt(byte[] ip) {
        return 48 + 8 + 4 * (ip[51] & 0x7F);
    }

    @Test
    void forwardedTracesCarryTheNodesDataAsTheKernelWritesIt() throws Exception {
        Assumptions.assumeTrue(skipReason == null, () -> "kernel differential test skipped: " + skipReason);
        assertThat(forwarded).as("the kernel forwarded the probes but the malformed ones").containsOnlyKeys(1, 2, 3, 4,
                6);
        for (int id : PROBES.keySet()) {
            List<byte[]> out = new ArrayList<>();
            Datapath d = new Datapath(HostFile.parseRunning("b", HOST), new PacketSink() {
                @Override
                public void transmit(String ifname, MemorySegment frame) {
                    out.add(frame.asSlice(14).toArray(ValueLayout.JAVA_BYTE));
                }

                @Override
                public void deliverLocal(String ifname, MemorySegment packet) {
                }
            });
            d.receive("vba", MemorySegment.ofArray(HEX.parseHex(frame(id))), true, NOW, Trace.NONE);
            if (!forwarded.containsKey(id)) {
                assertThat(out).as("probe %d dropped", id).isEmpty();
                continue;
            }
            assertThat(out).as("probe %d forwarded", id).hasSize(1);
            byte[] kernel = forwarded.get(id).clone();
            byte[] ours = out.get(0);
            if (id == 1 || id == 2 || id == 6) {
                // bits 0 and 1 first, then seconds and microseconds: the kernel's near the run, ours the clock's
                int at = nodeAt(kernel) + 8;
                long seconds = Integer.toUnsignedLong(ByteBuffer.wrap(kernel, at, 4).getInt());
                long micros = Integer.toUnsignedLong(ByteBuffer.wrap(kernel, at + 4, 4).getInt());
                assertThat(seconds).isBetween(recordedAtSeconds - 30, recordedAtSeconds);
                assertThat(micros).isLessThan(1_000_000);
                assertThat(ByteBuffer.wrap(ours, at, 8).getInt()).isEqualTo((int) (NOW / 1_000_000_000L));
                assertThat(ByteBuffer.wrap(ours, at + 4, 4).getInt()).isEqualTo(123_456);
                System.arraycopy(ours, at, kernel, at, 8);
            }
            assertThat(HEX.formatHex(ours)).as("probe %d", id).isEqualTo(HEX.formatHex(kernel));
        }
    }
}
