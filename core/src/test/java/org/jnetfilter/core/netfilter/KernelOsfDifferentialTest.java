package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.testkit.KernelSide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.Arguments;

/**
 * The osf match with fingerprints loaded, against the kernel: {@link OsfFingerprintSemanticsTest#FINGERPRINTS} loaded
 * with {@code nfnl_osf -f} (Linux keeps one list for the whole machine: these shapes fit no real stack's SYNs, and
 * they are removed with {@code nfnl_osf -d} afterwards), its {@link OsfFingerprintSemanticsTest#RULES} in mangle
 * PREROUTING of namespace b, each SYN of its probes sent from a by a raw socket, the counters zeroed before and read
 * after each. jnetfilter's osf match over the same fingerprints must be true for exactly the rules whose counters
 * moved.
 *
 * <p>Runs only as root with ip netns, iptables-legacy, nfnl_osf and python3 and JNF_SKIP_KERNEL_TESTS unset;
 * otherwise it is skipped with a message on stderr. Namespaces jnf-pathgaps-osf-PID-*.
 */
class KernelOsfDifferentialTest {
    private static final long PID = ProcessHandle.current().pid() % 100000;
    private static final String NS = "jnf-pathgaps-osf-" + PID;
    private static final HexFormat HEX = HexFormat.of();
    private static String skipReason;
    private static Path dir;
    private static Path fingerprints;
    private static boolean loaded;
    /** Probe name: the rules (from 1) whose counters moved. */
    private static final Map<String, String> kernel = new LinkedHashMap<>();

    @BeforeAll
    static void record() throws Exception {
        skipReason = KernelSide.unavailable("iptables-legacy-restore", "nfnl_osf", "python3");
        if (skipReason != null) {
            KernelSide.skipped("KernelOsfDifferentialTest", skipReason, "root, ip netns, iptables-legacy, nfnl_osf, python3");
            return;
        }
        dir = Files.createTempDirectory("jnf-osf");
        fingerprints = dir.resolve("jnf.os");
        Files.writeString(fingerprints, OsfFingerprintSemanticsTest.FINGERPRINTS);
        String a = NS + "-a";
        String b = NS + "-b";
        StringBuilder rules = new StringBuilder("*mangle\n");
        for (String r : OsfFingerprintSemanticsTest.RULES) {
            rules.append("-A PREROUTING -p tcp -m osf ").append(r).append('\n');
        }
        rules.append("COMMIT\n");
        Files.writeString(dir.resolve("rules"), rules);
        StringBuilder frames = new StringBuilder();
        List<String> names = new ArrayList<>();
        for (Arguments args : OsfFingerprintSemanticsTest.probes().toList()) {
            names.add((String) args.get()[0]);
            frames.append("'0200000000b10200000000a10800").append(HEX.formatHex((byte[]) args.get()[1])).append("',");
        }
        KernelSide.Result setup = KernelSide.run(60, null, List.of("bash", "-c", String.join("\n", "set -e",
                "for n in " + a + " " + b + "; do ip netns add $n; ip -n $n link set lo up; done",
                "ip link add oa netns " + a + " address 02:00:00:00:00:a1 type veth peer name ob netns " + b
                        + " address 02:00:00:00:00:b1",
                "ip -n " + a + " addr add 10.55.0.1/24 dev oa", "ip -n " + b + " addr add 10.55.0.2/24 dev ob",
                "ip -n " + a + " link set oa up", "ip -n " + b + " link set ob up",
                "ip netns exec " + b + " iptables-legacy-restore < " + dir.resolve("rules"))));
        assertThat(setup.exit()).as(setup.stdout() + setup.stderr()).isZero();
        KernelSide.Result load = KernelSide.run(30, null, List.of("nfnl_osf", "-f", fingerprints.toString()));
        loaded = true;
        assertThat(load.exit()).as(load.stdout() + load.stderr()).isZero();
        KernelSide.Result traffic = KernelSide.run(120, null, List.of("ip", "netns", "exec", a, "python3", "-c",
                "import socket,subprocess,time\n"
                        + "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW); s.bind(('oa',0))\n"
                        + "for i,f in enumerate([" + frames + "]):\n"
                        + "    subprocess.run(['ip','netns','exec','" + b + "','iptables-legacy','-t','mangle','-Z'],check=True)\n"
                        + "    s.send(bytes.fromhex(f)); time.sleep(0.1)\n"
                        + "    out=subprocess.run(['ip','netns','exec','" + b + "','iptables-legacy-save','-c','-t','mangle'],"
                        + "capture_output=True,text=True).stdout\n"
                        + "    rules=[l for l in out.splitlines() if l.startswith('[') and '-A PREROUTING' in l]\n"
                        + "    print('probe', i, [n+1 for n,l in enumerate(rules) if not l.startswith('[0:')])\n"));
        assertThat(traffic.exit()).as(traffic.stdout() + traffic.stderr()).isZero();
        Matcher m = Pattern.compile("probe (\\d+) (\\[.*])").matcher(traffic.stdout());
        while (m.find()) {
            kernel.put(names.get(Integer.parseInt(m.group(1))), m.group(2));
        }
    }

    @AfterAll
    static void clean() throws IOException {
        if (loaded) {
            KernelSide.run("nfnl_osf", "-f", fingerprints.toString(), "-d");
        }
        if (skipReason == null) {
            KernelSide.deleteNamespaces(NS + "-a", NS + "-b");
        }
        KernelSide.deleteScratch(dir);
    }

    @Test
    void osfMatchesTheSynsTheKernelMatchesWithTheSameFingerprints() {
        Assumptions.assumeTrue(skipReason == null, () -> "kernel differential test skipped: " + skipReason);
        assertThat(kernel).as("every probe answered").hasSize(OsfFingerprintSemanticsTest.probes().toList().size());
        Host host = OsfFingerprintSemanticsTest.host();
        Map<String, String> ours = new LinkedHashMap<>();
        for (Arguments args : OsfFingerprintSemanticsTest.probes().toList()) {
            ours.put((String) args.get()[0], OsfFingerprintSemanticsTest.matching((byte[]) args.get()[1], host)
                    .toString());
        }
        assertThat(ours).isEqualTo(kernel);
    }
}
