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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.core.testkit.KernelSide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * NFLOG against the kernel: namespace b logs to group 9 with the rules below while {@code tcpdump -i nflog:9 -w}
 * captures; namespace a sends UDP over IPv4 and IPv6, and b sends a datagram as user nobody. Each packet is then
 * given to jnetfilter on a host with b's interface (its MAC and ifindex), as it entered b (the Ethernet header
 * and datagram the kernel's own PREROUTING record carries) or as b's socket sent it, at the kernel's receive time;
 * the records {@link NfnetlinkLog} delivers must equal the kernel's byte for byte but for the timestamps' values
 * (the kernel reads its clock at each NFLOG when nothing timestamps packets), and arrive in the same
 * batches (the full-copy rule has no threshold, so its records wait for the one-second timer or the next
 * threshold-1 record).
 *
 * <pre>
 * raw    PREROUTING -p udp -j NFLOG --nflog-group 9 --nflog-prefix pre
 * mangle INPUT      -p udp --dport 9998 -j MARK --set-mark 0x1234
 * filter INPUT      -p udp --dport 9998 -j NFLOG --nflog-group 9 --nflog-size 20 --nflog-threshold 1
 * filter OUTPUT     -p udp -j NFLOG --nflog-group 9 --nflog-prefix out --nflog-threshold 1
 * (ip6tables) raw PREROUTING -p udp -j NFLOG --nflog-group 9 --nflog-prefix pre6
 * </pre>
 *
 * Runs only as root with ip netns, iptables-legacy, ip6tables-legacy, tcpdump and python3 and
 * JNF_SKIP_KERNEL_TESTS unset; otherwise it is skipped with a message on stderr. Namespaces jnf-nflog-PID-*.
 */
class KernelNflogDifferentialTest {
    private static final long PID = ProcessHandle.current().pid() % 100000;
    private static final String A = "jnf-nflog-" + PID + "-a";
    private static final String B = "jnf-nflog-" + PID + "-b";
    private static final HexFormat HEX = HexFormat.of();
    private static String skipReason;
    private static Path dir;
    private static int ifindex;
    private static String mac;
    private static final List<byte[]> records = new ArrayList<>();
    private static final List<Long> recordTimes = new ArrayList<>();

    private record Out(int exit, String stdout) {
    }

    /** A bash script (60 s at most); its output and error output together. */
    private static Out sh(String script) {
        KernelSide.Result r = KernelSide.run(60, null, List.of("bash", "-c", script));
        return new Out(r.exit(), r.stdout() + r.stderr());
    }

    @BeforeAll
    static void record() throws Exception {
        skipReason = KernelSide.unavailable("iptables-legacy", "ip6tables-legacy", "tcpdump", "python3");
        if (skipReason == null && !KernelSide.run("id", "nobody").ok()) {
            skipReason = "user nobody is missing";
        }
        if (skipReason != null) {
            KernelSide.skipped("KernelNflogDifferentialTest", skipReason,
                    "root, ip netns, iptables-legacy, ip6tables-legacy, tcpdump, python3, user nobody");
            return;
        }
        dir = Files.createTempDirectory("jnf-nflog");
        Path cap = dir.resolve("nflog.pcap");
        String a = "ip netns exec " + A + " ";
        String b = "ip netns exec " + B + " ";
        Out setup = sh(String.join("\n", "set -e",
                "ip netns add " + A, "ip netns add " + B,
                "ip link add va netns " + A + " type veth peer name vb netns " + B,
                "ip -n " + A + " link set lo up", "ip -n " + B + " link set lo up",
                "ip -n " + A + " addr add 10.77.0.1/24 dev va", "ip -n " + B + " addr add 10.77.0.2/24 dev vb",
                "ip -n " + A + " addr add fd77::1/64 dev va nodad", "ip -n " + B + " addr add fd77::2/64 dev vb nodad",
                "ip -n " + A + " link set va up", "ip -n " + B + " link set vb up",
                b + "iptables-legacy -t raw -A PREROUTING -p udp -j NFLOG --nflog-group 9 --nflog-prefix pre",
                b + "iptables-legacy -t mangle -A INPUT -p udp --dport 9998 -j MARK --set-mark 0x1234",
                b + "iptables-legacy -A INPUT -p udp --dport 9998 -j NFLOG --nflog-group 9 --nflog-size 20"
                        + " --nflog-threshold 1",
                b + "iptables-legacy -A OUTPUT -p udp -j NFLOG --nflog-group 9 --nflog-prefix out --nflog-threshold 1",
                b + "ip6tables-legacy -t raw -A PREROUTING -p udp -j NFLOG --nflog-group 9 --nflog-prefix pre6",
                "ip -n " + B + " -o link show vb"));
        assertThat(setup.exit()).as(setup.stdout()).isZero();
        Matcher m = Pattern.compile("(?m)^(\\d+): vb@\\S+.*link/ether ([0-9a-f:]{17})").matcher(setup.stdout());
        assertThat(m.find()).as(setup.stdout()).isTrue();
        ifindex = Integer.parseInt(m.group(1));
        mac = m.group(2);
        Out traffic = sh(String.join("\n",
                "(" + b + "chrt -f 20 timeout 8 tcpdump -U -i nflog:9 -w " + cap + " 2>" + dir.resolve("tcpdump.err") + " &)",
                "for i in $(seq 50); do grep -q listening " + dir.resolve("tcpdump.err") + " 2>/dev/null && break; "
                        + "sleep 0.1; done",
                "sleep 0.3",
                a + "python3 -c \"import socket,time\n"
                        + "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                        + "s.sendto(b'abcdefgh',('10.77.0.2',9999))\n"
                        + "time.sleep(0.05)\n"
                        + "s.sendto(b'0123456789abcdefghij',('10.77.0.2',9998))\n"
                        + "time.sleep(0.05)\n"
                        + "s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM)\n"
                        + "s.sendto(b'six6',('fd77::2',9997))\"",
                "sleep 0.05",
                b + "su nobody -s /bin/sh -c \"python3 -c \\\"import socket\n"
                        + "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                        + "s.sendto(b'outp',('10.77.0.1',7002))\\\"\"",
                "sleep 2", "pkill -INT -f 'tcpdump -U -i nflog:9 -w " + cap + "' || true", "sleep 0.5"));
        assertThat(traffic.exit()).as(traffic.stdout()).isZero();
        byte[] pcap = Files.readAllBytes(cap);
        ByteBuffer bb = ByteBuffer.wrap(pcap).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(bb.getInt(0)).as("a little-endian microsecond pcap").isEqualTo(0xa1b2c3d4);
        int at = 24;
        while (at + 16 <= pcap.length) {
            long seconds = Integer.toUnsignedLong(bb.getInt(at));
            long micros = Integer.toUnsignedLong(bb.getInt(at + 4));
            int caplen = bb.getInt(at + 8);
            records.add(Arrays.copyOfRange(pcap, at + 16, at + 16 + caplen));
            recordTimes.add(seconds * 1_000_000L + micros);
            at += 16 + caplen;
        }
    }

    @AfterAll
    static void clean() throws IOException {
        if (skipReason == null) {
            KernelSide.deleteNamespaces(A, B);
        }
        if (dir != null) {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    /** The value of the first attribute of {@code type} in a record, or null. */
    private static byte[] attribute(byte[] record, int type) {
        ByteBuffer b = ByteBuffer.wrap(record).order(ByteOrder.LITTLE_ENDIAN);
        int at = 4;
        while (at + 4 <= record.length) {
            int len = Short.toUnsignedInt(b.getShort(at));
            if (len < 4) {
                return null;
            }
            if (Short.toUnsignedInt(b.getShort(at + 2)) == type) {
                return Arrays.copyOfRange(record, at + 4, at + len);
            }
            at += (len + 3) & ~3;
        }
        return null;
    }

    /** The record in hex with the value of its NFULA_TIMESTAMP (if any) zeroed. */
    private static String withoutTimestamp(byte[] record) {
        byte[] r = record.clone();
        ByteBuffer b = ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN);
        int at = 4;
        while (at + 4 <= r.length) {
            int len = Short.toUnsignedInt(b.getShort(at));
            if (len < 4) {
                break;
            }
            if (Short.toUnsignedInt(b.getShort(at + 2)) == 3) {
                Arrays.fill(r, at + 4, at + len, (byte) 0);
            }
            at += (len + 3) & ~3;
        }
        return HEX.formatHex(r);
    }

    private static long receiveTime(byte[] record) {
        ByteBuffer ts = ByteBuffer.wrap(attribute(record, 3));
        return ts.getLong(0) * 1_000_000_000L + ts.getLong(8) * 1_000L;
    }

    @Test
    void jnetfiltersRecordsAreTheKernelsByteForByteInTheSameBatches() throws Exception {
        Assumptions.assumeTrue(skipReason == null, () -> "kernel differential test skipped: " + skipReason);
        // pre (9999), pre + the 20-byte INPUT copy (9998), pre6, out
        assertThat(records).as("records captured").hasSize(5);

        StringBuilder host = new StringBuilder();
        for (int i = 2; i < ifindex; i++) {
            host.append("link add pad").append(i).append('\n');
        }
        host.append("link add vb address ").append(mac).append('\n')
                .append("addr add 10.77.0.2/24 dev vb\naddr add fd77::2/64 dev vb\n");
        List<byte[]> ours = new ArrayList<>();
        List<Long> ourTimes = new ArrayList<>();
        NfnetlinkLog log = NfnetlinkLog.groups((g, t, msg) -> {
            ours.add(msg);
            ourTimes.add(t);
        }, 9);
        Datapath datapath = new Datapath(HostFile.parseRunning("b", host.toString()), new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment packet) {
            }
        }).nflogSink(log);
        IpSpec udp4 = IpSpec.any(Family.IPV4).withProtocol(Protocols.UDP);
        IpSpec udp6 = IpSpec.any(Family.IPV6).withProtocol(Protocols.UDP);
        datapath.rules(Family.IPV4, rules(Family.IPV4,
                table(TableKind.RAW, Family.IPV4, builtin("PREROUTING", "ACCEPT",
                        rule(udp4, target(udp4, "NFLOG", "--nflog-group", "9", "--nflog-prefix", "pre")))),
                table(TableKind.MANGLE, Family.IPV4, builtin("INPUT", "ACCEPT",
                        rule(udp4, target(udp4, "MARK", "--set-mark", "0x1234"), match(udp4, "udp", "--dport", "9998")))),
                table(TableKind.FILTER, Family.IPV4,
                        builtin("INPUT", "ACCEPT", rule(udp4, target(udp4, "NFLOG", "--nflog-group", "9", "--nflog-size",
                                "20", "--nflog-threshold", "1"), match(udp4, "udp", "--dport", "9998"))),
                        builtin("OUTPUT", "ACCEPT", rule(udp4, target(udp4, "NFLOG", "--nflog-group", "9",
                                "--nflog-prefix", "out", "--nflog-threshold", "1"))))));
        datapath.rules(Family.IPV6, rules(Family.IPV6, table(TableKind.RAW, Family.IPV6, builtin("PREROUTING", "ACCEPT",
                rule(udp6, target(udp6, "NFLOG", "--nflog-group", "9", "--nflog-prefix", "pre6"))))));

        long lastTime = 0;
        for (byte[] r : records) {
            int hook = r[4 + 4 + 2];
            byte[] prefix = attribute(r, 10);
            String p = new String(prefix, 0, prefix.length - 1, StandardCharsets.UTF_8);
            if (hook == 0) {
                // as the packet entered b: the link header and datagram PREROUTING's full copy holds
                byte[] frame = concat(attribute(r, 16), attribute(r, 9));
                lastTime = receiveTime(r);
                datapath.receive("vb", MemorySegment.ofArray(frame), true, lastTime, Trace.NONE);
            } else if (p.equals("out")) {
                datapath.sendLocal(MemorySegment.ofArray(attribute(r, 9)), lastTime + 1_000, Trace.NONE, 65534, 65534);
            }
        }
        log.close();
        // times aside: without timestamping on, the kernel reads the clock at each NFLOG (INPUT's differs from
        // PREROUTING's by microseconds); jnetfilter uses the packet's time
        assertThat(ours.stream().map(KernelNflogDifferentialTest::withoutTimestamp).toList())
                .isEqualTo(records.stream().map(KernelNflogDifferentialTest::withoutTimestamp).toList());
        // the same batches: records the kernel delivered together (within 1 ms), jnetfilter delivered at one time
        for (int i = 1; i < records.size(); i++) {
            boolean kernelTogether = recordTimes.get(i) - recordTimes.get(i - 1) < 1_000;
            boolean oursTogether = ourTimes.get(i).equals(ourTimes.get(i - 1));
            assertThat(oursTogether).as("record %d in the batch of record %d", i, i - 1).isEqualTo(kernelTogether);
        }
    }

    private static byte[] concat(byte[] x, byte[] y) {
        byte[] out = Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, out, x.length, y.length);
        return out;
    }
}
