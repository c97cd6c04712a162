package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.testkit.KernelSide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Accepted source routes against the kernel: router b (vba 10.77.0.2 toward a = 10.77.0.1, vbc 10.77.1.2 toward
 * c = 10.77.1.3, 10.77.9.0/24 via c, accept_source_route on for all and vba, icmp_ratelimit 0) receives UDP
 * datagrams with loose and strict source routes ({@link #PROBES}: IP ID = the probe's number); tcpdump on c records
 * what b forwarded, tcpdump on a the ICMP errors. The same frames go through jnetfilter on a host like b: forwarded
 * datagrams must equal the kernel's byte for byte (destination rewritten to the next hop, the entry recorded, the
 * pointer moved); errors must be of the same type, code and pointer, sent to the same address with the same echoed
 * options (a reversed source route goes to the hop before b); the rest must be dropped silently.
 *
 * <p>Runs only as root with ip netns, tcpdump and python3 and JNF_SKIP_KERNEL_TESTS unset; otherwise it is skipped
 * with a message on stderr. Namespaces jnf-pathgaps-srr-PID-*.
 */
class KernelSourceRouteDifferentialTest {
    private static final long PID = ProcessHandle.current().pid() % 100000;
    private static final String NS = "jnf-pathgaps-srr-" + PID;
    private static final HexFormat HEX = HexFormat.of();
    private static final String MAC_A = "02000000000a";
    private static final String MAC_B = "0200000000ba";
    /** id: destination, TTL, options (hex). */
    static final Map<Integer, String[]> PROBES = new LinkedHashMap<>();

    static {
        // loose and strict, the next hop on-link: forwarded to it, 10.77.1.2 recorded
        PROBES.put(1, new String[] {"10.77.0.2", "64", "8307040a4d0103"});
        PROBES.put(2, new String[] {"10.77.0.2", "64", "8907040a4d0103"});
        // strict through a gateway: source route failed; loose: forwarded by the gateway
        PROBES.put(3, new String[] {"10.77.0.2", "64", "8907040a4d0909"});
        PROBES.put(4, new String[] {"10.77.0.2", "64", "8307040a4d0909"});
        // b's other address first: taken at once, then c
        PROBES.put(5, new String[] {"10.77.0.2", "64", "830b040a4d01020a4d0103"});
        // not for b: loose forwarded as it is, strict answered parameter problem 16
        PROBES.put(6, new String[] {"10.77.1.3", "64", "8307040a4d0909"});
        PROBES.put(7, new String[] {"10.77.1.3", "64", "8907040a4d0909"});
        // a pointer leaving less than an entry: parameter problem at the pointer
        PROBES.put(8, new String[] {"10.77.0.2", "64", "8307050a4d0103"});
        // a next hop without a route: dropped silently
        PROBES.put(9, new String[] {"10.77.0.2", "64", "8307040a4d0505"});
        // back out by the interface it came in on: forwarded to a, no redirect
        PROBES.put(10, new String[] {"10.77.0.2", "64", "8307040a4d0001"});
        // TTL 1: time exceeded echoing the route reversed (to 10.77.0.9, the hop before b); and with nothing to echo
        PROBES.put(11, new String[] {"10.77.0.2", "1", "830b080a4d00090a4d0103"});
        PROBES.put(12, new String[] {"10.77.0.2", "1", "8307040a4d0103"});
        // two hops before b, the first of them the sender (left out of the echo, RFC 1812)
        PROBES.put(13, new String[] {"10.77.0.2", "1", "830f0c0a4d00010a4d00090a4d0103"});
        // with a record route
        PROBES.put(14, new String[] {"10.77.0.2", "64", "070704000000008307040a4d0103"});
    }

    private static String skipReason;
    private static Path dir;
    private static final Map<Integer, String> forwarded = new LinkedHashMap<>();
    private static final Map<Integer, String> errors = new LinkedHashMap<>();

    /** The datagram of a probe: 10.77.0.1:4000 -> its destination:5000, its options padded, 4 bytes of data. */
    static byte[] datagram(int id, String[] probe) {
        byte[] o = HEX.parseHex(probe[2]);
        int ihl = 20 + ((o.length + 3) & ~3);
        ByteBuffer b = ByteBuffer.allocate(ihl + 12);
        b.put((byte) (0x40 | ihl / 4)).put((byte) 0).putShort((short) (ihl + 12)).putShort((short) id)
                .putShort((short) 0).put((byte) Integer.parseInt(probe[1])).put((byte) 17).putShort((short) 0)
                .putInt((int) IpAddress.parse("10.77.0.1").lo()).putInt((int) IpAddress.parse(probe[0]).lo()).put(o)
                .position(ihl);
        b.put(HEX.parseHex("0fa01388000c000073726372"));
        MemorySegment s = MemorySegment.ofArray(b.array());
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 10, (short) Checksums.ipv4Header(s, 0));
        return b.array();
    }

    static String frame(int id) {
        return MAC_B + MAC_A + "0800" + HEX.formatHex(datagram(id, PROBES.get(id)));
    }

    @BeforeAll
    static void record() throws Exception {
        skipReason = KernelSide.unavailable("tcpdump", "python3");
        KernelSide.RouterLine line = KernelSide.routerLine("KernelSourceRouteDifferentialTest", skipReason,
                "root, ip netns, tcpdump, python3", NS, "jnf-srr", l -> List.of(
                        "ip -n " + l.a() + " addr add 10.77.0.1/24 dev va",
                        "ip -n " + l.b() + " addr add 10.77.0.2/24 dev vba",
                        "ip -n " + l.b() + " addr add 10.77.1.2/24 dev vbc",
                        "ip -n " + l.c() + " addr add 10.77.1.3/24 dev vc",
                        "ip -n " + l.b() + " route add 10.77.9.0/24 via 10.77.1.3",
                        "ip -n " + l.b() + " neigh add 10.77.0.1 lladdr 02:00:00:00:00:0a dev vba",
                        "ip -n " + l.b() + " neigh add 10.77.0.9 lladdr 02:00:00:00:00:0a dev vba",
                        "ip -n " + l.b() + " neigh add 10.77.1.3 lladdr 02:00:00:00:00:0c dev vbc",
                        "ip netns exec " + l.b() + " sysctl -qw net.ipv4.ip_forward=1",
                        "ip netns exec " + l.b() + " sysctl -qw net.ipv4.conf.all.accept_source_route=1",
                        "ip netns exec " + l.b() + " sysctl -qw net.ipv4.conf.vba.accept_source_route=1",
                        "ip netns exec " + l.b() + " sysctl -qw net.ipv4.icmp_ratelimit=0"),
                "02:00:00:00:00:0a", "02:00:00:00:00:ba", "02:00:00:00:00:0c", "02:00:00:00:00:bc");
        if (line == null) {
            return;
        }
        dir = line.dir();
        List<String> frames = new ArrayList<>();
        for (int id : PROBES.keySet()) {
            frames.add(frame(id));
        }
        Path atC = dir.resolve("c.pcap");
        Path atA = dir.resolve("a.pcap");
        KernelSide.Result traffic = KernelSide.sendWhileCapturing(line.a(), "va", frames, 6,
                new String[] {line.c(), "vc", "udp", atC.toString()},
                new String[] {line.a(), "va", "icmp or udp", atA.toString()});
        assertThat(traffic.exit()).as(traffic.stdout() + traffic.stderr()).isZero();
        for (byte[] f : KernelSide.pcapFrames(atC)) {
            byte[] ip = java.util.Arrays.copyOfRange(f, 14, f.length);
            forwarded.put(u16(ip, 4), "vbc " + HEX.formatHex(ip));
        }
        for (byte[] f : KernelSide.pcapFrames(atA)) {
            if (!HEX.formatHex(f, 6, 12).equals(MAC_B)) {
                continue;
            }
            byte[] ip = java.util.Arrays.copyOfRange(f, 14, f.length);
            int ihl = (ip[0] & 0xF) * 4;
            if (ip[9] == 17) {
                forwarded.put(u16(ip, 4), "vba " + HEX.formatHex(ip));
            } else if (ip.length > ihl + 8 + 6) {
                errors.put(u16(ip, ihl + 8 + 4), error(ip));
            }
        }
    }

    /** An ICMP error as compared: type, code, pointer byte, destination, the options of its IP header. */
    private static String error(byte[] ip) {
        int ihl = (ip[0] & 0xF) * 4;
        return "type " + ip[ihl] + " code " + ip[ihl + 1] + " pointer " + Byte.toUnsignedInt(ip[ihl + 4]) + " to "
                + HEX.formatHex(ip, 16, 20) + " options " + HEX.formatHex(ip, 20, ihl);
    }

    private static int u16(byte[] b, int at) {
        return (Byte.toUnsignedInt(b[at]) << 8) | Byte.toUnsignedInt(b[at + 1]);
    }

    @AfterAll
    static void clean() throws IOException {
        if (skipReason == null) {
            KernelSide.deleteNamespaces(NS + "-a", NS + "-b", NS + "-c");
        }
        KernelSide.deleteScratch(dir);
    }

    @Test
    void forwardedDatagramsAndErrorsOfSourceRoutesAreTheKernels() throws Exception {
        Assumptions.assumeTrue(skipReason == null, () -> "kernel differential test skipped: " + skipReason);
        assertThat(forwarded).as("the kernel forwarded source routed datagrams").isNotEmpty();
        assertThat(errors).as("the kernel answered some").isNotEmpty();
        String host = String.join("\n", "link add vba address 02:00:00:00:00:ba", "link set vba up",
                "addr add 10.77.0.2/24 dev vba", "link add vbc address 02:00:00:00:00:bc", "link set vbc up",
                "addr add 10.77.1.2/24 dev vbc", "route add 10.77.9.0/24 via 10.77.1.3",
                "neigh add 10.77.0.1 lladdr 02:00:00:00:00:0a dev vba",
                "neigh add 10.77.0.9 lladdr 02:00:00:00:00:0a dev vba",
                "neigh add 10.77.1.3 lladdr 02:00:00:00:00:0c dev vbc", "sysctl net.ipv4.ip_forward=1",
                "sysctl net.ipv4.conf.all.accept_source_route=1", "sysctl net.ipv4.conf.vba.accept_source_route=1",
                "");
        for (int id : PROBES.keySet()) {
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
            d.receive("vba", MemorySegment.ofArray(HEX.parseHex(frame(id))), true, 1_000_000_000L, Trace.NONE);
            if (forwarded.containsKey(id)) {
                assertThat(out).as("probe %d forwarded", id).containsExactly(forwarded.get(id));
            } else if (errors.containsKey(id)) {
                assertThat(out).as("probe %d: an ICMP error", id).hasSize(1);
                assertThat(out.get(0)).startsWith("vba ");
                assertThat(error(HEX.parseHex(out.get(0).substring(4)))).as("probe %d", id).isEqualTo(errors.get(id));
            } else {
                assertThat(out).as("probe %d: dropped silently", id).isEmpty();
            }
        }
    }
}
