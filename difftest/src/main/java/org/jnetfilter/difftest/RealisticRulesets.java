package org.jnetfilter.difftest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jnetfilter.iptables.testkit.DockerRules;

/**
 * Rulesets of real shapes over the harness's topology: a Docker host whose bridge is veth-b (the rules
 * Docker installs, {@link DockerRules}, with the default bridge's name and subnet mapped onto b), and a
 * Kubernetes node (kube-proxy's iptables mode, from ../shared/bench/kubegen.py; cluster IPs and pods
 * are routed behind b). {@link #targets} lists the services a ruleset publishes, for the packets.
 */
public final class RealisticRulesets {
    private RealisticRulesets() {
    }

    /** Docker rules with docker0 = veth-b and its subnet 172.17.0.0/24 = 10.2.0.0/24; at most 8 containers. */
    public static String docker(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        String rules = DockerRules.generate(rnd.nextInt(3), 1 + rnd.nextInt(Topology.HOSTS), seed);
        return rules.replace("docker0", Topology.DUT_B).replace("172.17.0.", "10.2.0.");
    }

    /** kubegen.py next to the repository (../shared/bench), or null when it is not there. */
    public static Path kubegen() {
        Path dir = Path.of("").toAbsolutePath();
        for (int up = 0; up < 4 && dir != null; up++, dir = dir.getParent()) {
            Path p = dir.resolve("../shared/bench/kubegen.py").normalize();
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        return null;
    }

    /** A kube-proxy ruleset of {@code services} services with one endpoint each (no random endpoint choice). */
    public static String kubernetes(Path kubegen, int services, long seed) {
        return Shell.must("python3", kubegen.toString(), Integer.toString(services), "--endpoints", "1", "--seed",
                Long.toString(seed));
    }

    private static final Pattern DPORT = Pattern.compile(
            "(?:-d (\\d+\\.\\d+\\.\\d+\\.\\d+)/32 )?(?:! -i \\S+ )?(?:-o \\S+ )?-p (tcp|udp)[^\\n]*?--dport (\\d+)");

    /** The (protocol, address, port) pairs the ruleset matches on; a rule without -d aims at dut's a address (packets come from a). */
    public static List<PacketSequenceGenerator.Target> targets(String rules) {
        List<PacketSequenceGenerator.Target> out = new ArrayList<>();
        Matcher m = DPORT.matcher(rules);
        while (m.find()) {
            PacketCrafter.Address a = m.group(1) == null ? PacketCrafter.Address.v4(Topology.DUT_A_V4)
                    : PacketCrafter.Address.v4(parse(m.group(1)));
            if (!routable((int) a.lo())) {
                continue; // dut has no route there: its answer would be ip_error's, limited per source
            }
            out.add(new PacketSequenceGenerator.Target(m.group(2), a, Integer.parseInt(m.group(3))));
        }
        return out;
    }

    /** Whether dut routes {@code a}: its two subnets, and the cluster and pod networks behind b. */
    static boolean routable(int a) {
        return (a & 0xFFFFFF00) == (Topology.HOST_A_V4 & 0xFFFFFF00) || (a & 0xFFFFFF00) == (Topology.HOST_B_V4 & 0xFFFFFF00)
                || (a & 0xFFF00000) == 0x0A600000 || (a & 0xFFFF0000) == 0x0AF40000;
    }

    private static int parse(String dotted) {
        String[] p = dotted.split("\\.");
        return Integer.parseInt(p[0]) << 24 | Integer.parseInt(p[1]) << 16 | Integer.parseInt(p[2]) << 8
                | Integer.parseInt(p[3]);
    }
}
