package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.testkit.KernelSide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * IPv6 redirects against the kernel: namespace a (va: 2001:db8:1::1, ::5, ::6, fe80::a) sends UDP datagrams by a raw
 * socket to router b, whose routes send most of them back out by the interface they came in on ({@link #ROUTES}:
 * on-link, via a link-local gateway with a neighbour entry, via a global gateway) and one with a link-local source
 * out by vbc; tcpdump on a records what b answers, tcpdump on b's vba when b took each probe in. The same frames go
 * through jnetfilter on a host shaped like b, in the same order and at the same times: the redirects must be the kernel's byte for byte (same count per source: the rate limits), and
 * the "beyond scope of source address" unreachable must be sent to the same address from the same one.
 *
 * <p>Runs only as root with ip netns, tcpdump and python3 and JNF_SKIP_KERNEL_TESTS unset; otherwise it is skipped
 * with a message on stderr. Namespaces jnf-pathgaps-redir-PID-*.
 */
class KernelRedirectsDifferentialTest {
    private static final long PID = ProcessHandle.current().pid() % 100000;
    private static final String NS = "jnf-pathgaps-redir-" + PID;
    private static final HexFormat HEX = HexFormat.of();
    private static final String MAC_A = "02000000000a";
    private static final String MAC_B = "02000000000b";
    /** b's routes and neighbours, as `ip` commands without `ip`: the same lines build jnetfilter's host. */
    static final List<String> ROUTES = List.of(
            "-6 route add 2001:db8:9::/64 dev vba",
            "-6 route add 2001:db8:8::/64 via fe80::1234 dev vba",
            "-6 route add 2001:db8:7::/64 via 2001:db8:1::77 dev vba",
            "-6 neigh add fe80::1234 lladdr 02:00:00:00:12:34 dev vba",
            "-6 neigh add 2001:db8:9::10 lladdr 02:00:00:00:99:10 dev vba");
    /** The probes in sending order: source, destination. */
    static final List<String[]> PROBES = new ArrayList<>();

    static {
        PROBES.add(new String[] {"2001:db8:1::1", "2001:db8:9::9"});
        PROBES.add(new String[] {"2001:db8:1::1", "2001:db8:8::8"});
        PROBES.add(new String[] {"2001:db8:1::1", "2001:db8:7::7"});
        for (int i = 0; i < 8; i++) {
            PROBES.add(new String[] {"2001:db8:1::5", "2001:db8:9::10"});
        }
        for (int i = 0; i < 8; i++) {
            PROBES.add(new String[] {"2001:db8:1::6", "2001:db8:8::" + (20 + i)});
        }
        PROBES.add(new String[] {"fe80::a", "2001:db8:2::3"});
    }

    private static String skipReason;
    private static Path dir;
    /** What b sent a: redirects as hex frames, unreachables as "type code from to". */
    private static final List<String> kernelRedirects = new ArrayList<>();
    private static final List<String> kernelUnreachables = new ArrayList<>();
    /** When b took in each probe, on jnetfilter's clock (the first at 1 s). */
    private static final List<Long> probeNanos = new ArrayList<>();

    @BeforeAll
    static void record() throws Exception {
        skipReason = KernelSide.unavailable("tcpdump", "python3");
        KernelSide.RouterLine line = KernelSide.routerLine("KernelRedirectsDifferentialTest", skipReason,
                "root, ip netns, tcpdump, python3", NS, "jnf-redir", l -> {
                    List<String> lines = new ArrayList<>(List.of(
                            "for x in 1 5 6; do ip -n " + l.a() + " addr add 2001:db8:1::$x/64 dev va nodad; done",
                            "ip -n " + l.a() + " addr add fe80::a/64 dev va nodad",
                            "ip -n " + l.b() + " addr add 2001:db8:1::2/64 dev vba nodad",
                            "ip -n " + l.b() + " addr add 2001:db8:2::2/64 dev vbc nodad",
                            "ip -n " + l.c() + " addr add 2001:db8:2::3/64 dev vc nodad",
                            "ip netns exec " + l.b() + " sysctl -qw net.ipv6.conf.all.forwarding=1"));
                    for (String r : ROUTES) {
                        lines.add("ip -n " + l.b() + " " + r);
                    }
                    // Linux: ndisc_send_redirect sends nothing without a link-local address on vba past duplicate
                    // address detection. The address comes when the link's carrier is seen up (linkwatch, up to a
                    // second later on a loaded machine), so wait for it to be there and not tentative; not there
                    // after 30 s fails the setup (set -e), rather than a comparison with no redirects.
                    lines.add("for i in $(seq 300); do ip -n " + l.b() + " -6 addr show dev vba scope link"
                            + " | grep fe80 | grep -qv tentative && break; sleep 0.1; done");
                    lines.add("ip -n " + l.b() + " -6 addr show dev vba scope link | grep fe80 | grep -qv tentative");
                    return lines;
                }, "02:00:00:00:00:0a", "02:00:00:00:00:0b");
        if (line == null) {
            return;
        }
        dir = line.dir();
        List<String> frames = new ArrayList<>();
        for (int i = 0; i < PROBES.size(); i++) {
            frames.add(frameHex(i));
        }
        // what b answers, recorded on a; and the probes as b's vba took them in (a's MAC: not b's forwarded copies),
        // whose times become jnetfilter's clock: the redirects' limit (6 at once, then one a second per source)
        // then counts the same time between probes on both sides however slowly a loaded machine sent them
        Path atA = dir.resolve("a.pcap");
        Path atB = dir.resolve("b.pcap");
        KernelSide.Result traffic = KernelSide.sendWhileCapturing(line.a(), "va", frames, 3,
                new String[] {line.a(), "va", "'icmp6 and (ip6[40]=137 or ip6[40]=1)'", atA.toString()},
                new String[] {line.b(), "vba", "'udp and ether src 02:00:00:00:00:0a'", atB.toString()});
        assertThat(traffic.exit()).as(traffic.stdout() + traffic.stderr()).isZero();
        for (byte[] f : KernelSide.pcapFrames(atA)) {
            record(f, kernelRedirects, kernelUnreachables);
        }
        List<Long> micros = KernelSide.pcapMicros(atB);
        assertThat(micros).as("b took in every probe").hasSize(PROBES.size());
        for (long t : micros) {
            probeNanos.add(1_000_000_000L + (t - micros.get(0)) * 1000L);
        }
    }

    /** Probe {@code i} as a frame from a to b. */
    static String frameHex(int i) {
        String[] p = PROBES.get(i);
        return MAC_B + MAC_A + "86dd" + HEX.formatHex(RedirectSemanticsTest.probe(p[0], p[1], i)
                .toArray(ValueLayout.JAVA_BYTE));
    }

    /** Sorts a frame b sent to a: a redirect (whole), or a beyond-scope unreachable (type, code, addresses). */
    private static void record(byte[] f, List<String> redirects, List<String> unreachables) {
        if (f.length < 58 || f[12] != (byte) 0x86 || f[13] != (byte) 0xDD || f[20] != 58
                || !HEX.formatHex(f, 6, 12).equals(MAC_B)) {
            return;
        }
        int type = Byte.toUnsignedInt(f[54]);
        int code = Byte.toUnsignedInt(f[55]);
        if (type == 137) {
            redirects.add(HEX.formatHex(f));
        } else if (type == 1 && code == 2) {
            unreachables.add(type + " " + code + " " + HEX.formatHex(f, 22, 38) + " " + HEX.formatHex(f, 38, 54));
        }
    }

    @AfterAll
    static void clean() throws IOException {
        if (skipReason == null) {
            KernelSide.deleteNamespaces(NS + "-a", NS + "-b", NS + "-c");
        }
        KernelSide.deleteScratch(dir);
    }

    @Test
    void redirectsAndBeyondScopeUnreachablesAreTheKernels() throws Exception {
        Assumptions.assumeTrue(skipReason == null, () -> "kernel differential test skipped: " + skipReason);
        StringBuilder host = new StringBuilder("""
                link add vba address 02:00:00:00:00:0b
                link set vba up
                addr add 2001:db8:1::2/64 dev vba
                link add vbc
                link set vbc up
                addr add 2001:db8:2::2/64 dev vbc
                sysctl net.ipv6.conf.all.forwarding=1
                """);
        // a's addresses are resolved by b (neighbour discovery); jnetfilter is told them
        for (String addr : List.of("2001:db8:1::1", "2001:db8:1::5", "2001:db8:1::6", "fe80::a")) {
            host.append("-6 neigh add ").append(addr).append(" lladdr 02:00:00:00:00:0a dev vba\n");
        }
        for (String r : ROUTES) {
            host.append(r).append('\n');
        }
        List<String> redirects = new ArrayList<>();
        List<String> unreachables = new ArrayList<>();
        Datapath d = new Datapath(HostFile.parseRunning("b", host.toString()), new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
                record(frame.toArray(ValueLayout.JAVA_BYTE), redirects, unreachables);
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment packet) {
            }
        });
        for (int i = 0; i < PROBES.size(); i++) {
            d.receive("vba", MemorySegment.ofArray(HEX.parseHex(frameHex(i))), true, probeNanos.get(i), Trace.NONE);
        }
        assertThat(kernelRedirects).as("the kernel sent redirects").isNotEmpty();
        assertThat(redirects).containsExactlyInAnyOrderElementsOf(kernelRedirects);
        assertThat(unreachables).containsExactlyElementsOf(kernelUnreachables);
    }
}
