package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.testkit.KernelSide;
import org.jnetfilter.iptables.testkit.DockerRules;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The same generated iptables commands go to the real iptables-legacy in a network namespace of the
 * test's own and to jnetfilter; exit codes, error messages and the resulting {@code -S} lines of every
 * table must agree. Needs root, {@code ip netns} and iptables-legacy: without them it is skipped with a
 * visible message.
 */
class KernelDifferentialTest {
    private static final String NS = "jnf-diff-" + ProcessHandle.current().pid();
    private static boolean available;

    @BeforeAll
    static void createNamespace() {
        String why = KernelSide.unavailable("iptables-legacy");
        if (why == null && !KernelSide.addNamespaces(NS)) {
            why = "`ip netns add' does not work here";
        }
        available = why == null;
        if (!available) {
            KernelSide.skipped("KernelDifferentialTest", why,
                    "root, ip netns and iptables-legacy: apt-get install iptables iproute2; run as root");
        }
    }

    @AfterAll
    static void deleteNamespace() {
        if (available) {
            KernelSide.deleteNamespaces(NS);
        }
    }

    record Outcome(int code, String out, String err) {
    }

    private static Outcome real(String program, List<String> args) {
        return real(NS, program, args);
    }

    private static Outcome real(String ns, String program, List<String> args) {
        // iptables -> iptables-legacy, iptables-save -> iptables-legacy-save
        String binary = program.contains("-") ? program.replaceFirst("-", "-legacy-") : program + "-legacy";
        List<String> cmd = new ArrayList<>(List.of(KernelSide.in(ns, binary)));
        cmd.addAll(args);
        KernelSide.Result r = KernelSide.run(30, null, cmd);
        return new Outcome(r.exit(), r.stdout(), r.stderr());
    }

    private static Outcome mine(Iptables ipt, String program, List<String> args) {
        ConformanceTest.Run r = ConformanceTest.run(ipt, program, args);
        return new Outcome(r.code(), r.out(), r.err());
    }

    /** Rule fragments by the extension they need ("" = built in); the generator combines them. */
    private static final String[][] MATCHES = {
        {"", "-s 10.1.0.0/16"}, {"", "! -s 192.168.1.1"}, {"", "-d 10.96.0.10/32"}, {"", "! -d 172.16.0.0/12"},
        {"", "-i eth0"}, {"", "! -i veth+"}, {"", "-o cni0"}, {"", "-p tcp"}, {"", "-p udp"}, {"", "! -p icmp"},
        {"", "-f"}, {"", "-s 10.0.0.1,10.0.0.2"},
        {"tcp", "-p tcp --dport 80"}, {"tcp", "-p tcp -m tcp ! --sport 1024:65535"},
        {"tcp", "-p tcp --tcp-flags SYN,RST,ACK SYN"}, {"tcp", "-p tcp --syn"},
        {"udp", "-p udp --dport 53"}, {"udp", "-p udp -m udp --sport 67:68"},
        {"comment", "-m comment --comment \"kube svc\""}, {"comment", "-m comment --comment plain"},
        {"mark", "-m mark --mark 0x4000/0x4000"}, {"mark", "-m mark ! --mark 0x1"},
        {"conntrack", "-m conntrack --ctstate RELATED,ESTABLISHED"}, {"conntrack", "-m conntrack ! --ctstate INVALID"},
        {"state", "-m state --state NEW"}, {"multiport", "-p tcp -m multiport --dports 80,443,8000:8080"},
        {"addrtype", "-m addrtype --dst-type LOCAL"}, {"limit", "-m limit --limit 5/min --limit-burst 10"},
        {"statistic", "-m statistic --mode random --probability 0.50000000000"},
        {"iprange", "-m iprange --src-range 10.0.0.1-10.0.0.9"}, {"length", "-m length --length 100:200"},
        {"icmp", "-p icmp --icmp-type echo-request"}, {"physdev", "-m physdev --physdev-is-bridged"},
        {"pkttype", "-m pkttype --pkt-type broadcast"}, {"tos", "-m tos --tos 0x10"}, {"ttl", "-m ttl --ttl-lt 5"},
    };
    private static final String[][] TARGETS = {
        {"", "-j ACCEPT"}, {"", "-j DROP"}, {"", "-j RETURN"}, {"", ""}, {"", "-j USERCHAIN"}, {"", "-g USERCHAIN"},
        {"LOG", "-j LOG --log-prefix \"drop: \" --log-level 6"}, {"REJECT", "-j REJECT --reject-with icmp-host-prohibited"},
        {"MARK", "-j MARK --set-xmark 0x4000/0x4000"}, {"CONNMARK", "-j CONNMARK --save-mark"},
        {"NFLOG", "-j NFLOG --nflog-group 5"}, {"TCPMSS", "-p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu"},
    };
    private static final String[][] NAT_TARGETS = {
        {"DNAT", "-p tcp -j DNAT --to-destination 10.244.1.5:8080"}, {"SNAT", "-j SNAT --to-source 192.0.2.1"},
        {"MASQUERADE", "-j MASQUERADE"}, {"REDIRECT", "-p tcp -j REDIRECT --to-ports 15001"}, {"", "-j ACCEPT"},
        {"", "-j USERCHAIN"},
    };

    private static boolean known(Extensions ext, String name) {
        return name.isEmpty() || ext.match(name, Family.IPV4) != null || ext.target(name, Family.IPV4) != null;
    }

    /**
     * Realistic rulesets restored into the kernel and into jnetfilter: what both save and list must be
     * the same, byte for byte: a Docker host and a Kubernetes node (../shared/bench/kubegen.py).
     */
    @Test
    void dockerAndKubernetesRulesetsListAndSaveAsTheKernelDoes() throws Exception {
        Assumptions.assumeTrue(available, "needs root, ip netns and iptables-legacy");
        List<String> rulesets = new ArrayList<>(List.of(DockerRules.generate(5, 120, 1), DockerRules.generate(0, 3, 2)));
        Path kubegen = Path.of("../../shared/bench/kubegen.py");
        if (!Files.exists(kubegen)) {
            kubegen = Path.of("../shared/bench/kubegen.py");
        }
        if (Files.exists(kubegen)) {
            rulesets.add(KernelSide.run(60, null, List.of("python3", kubegen.toString(), "300")).stdout());
        } else {
            System.out.println("KernelDifferentialTest: ../shared/bench/kubegen.py not found; Kubernetes ruleset not compared");
        }
        for (String rules : rulesets) {
            String ns = NS + "-real";
            KernelSide.addNamespaces(ns);
            try {
                compareRealRuleset(ns, rules);
            } finally {
                KernelSide.deleteNamespaces(ns);
            }
        }
    }

    private static void compareRealRuleset(String ns, String rules) throws Exception {
        {
            Path state = Files.createTempDirectory("jnf-real");
            Iptables fresh = new Iptables(new StateStore(state, Extensions.standard()), Extensions.standard(), ZonedDateTime::now);
            Path file = state.resolve("rules.save");
            Files.writeString(file, rules);
            Outcome r = real(ns, "iptables-restore", List.of(file.toString()));
            assertThat(r.code()).as("kernel restore: " + r.err()).isZero();
            assertThat(ConformanceTest.run(fresh, "iptables-restore", List.of(file.toString())).code()).isZero();
            for (String v : List.of("-t nat -S", "-S", "-t nat -L -n -v --line-numbers", "-L -v", "-L -n -x -v")) {
                List<String> a = List.of(v.split(" "));
                assertThat(mine(fresh, "iptables", a).out()).as("iptables " + v).isEqualTo(real(ns, "iptables", a).out());
            }
            assertThat(withoutDates(ConformanceTest.run(fresh, "iptables-save", List.of("-c")).out()))
                    .isEqualTo(withoutDates(real(ns, "iptables-save", List.of("-c")).out()));
        }
    }

    /** IPv6 fragments for the ip6tables run: the same shapes, the family's own matches. */
    private static final String[] MATCHES6 = {
        "-s 2001:db8::/32", "! -s 2001:db8::1", "-d fd00::10/128", "-i eth0", "! -o veth+", "-p tcp", "-p udp",
        "-p ipv6-icmp", "-p tcp --dport 443", "-p udp -m udp --sport 53", "-m comment --comment \"v6 rule\"",
        "-m mark --mark 0x1/0xff", "-m conntrack --ctstate ESTABLISHED,RELATED", "-p ipv6-icmp --icmpv6-type echo-request",
        "-m hl --hl-lt 5", "-m frag --fragmore", "-m multiport -p tcp --dports 80,8080", "-s 2001:db8::1,2001:db8::2",
    };
    private static final String[] TARGETS6 = {
        "-j ACCEPT", "-j DROP", "-j RETURN", "", "-j USERCHAIN", "-g USERCHAIN", "-j LOG --log-prefix v6",
        "-j REJECT --reject-with icmp6-adm-prohibited", "-j MARK --set-mark 0x2",
    };

    @Test
    void generatedIp6tablesCommandsAgreeWithTheKernel() throws Exception {
        Assumptions.assumeTrue(available, "needs root, ip netns and iptables-legacy");
        Extensions ext = Extensions.standard();
        Path state = Files.createTempDirectory("jnf-diff6");
        Iptables ipt = new Iptables(new StateStore(state, ext), ext, ZonedDateTime::now);
        SplittableRandom rnd = new SplittableRandom(Long.getLong("diff.seed", 20261130L) + 6);
        List<List<String>> script = new ArrayList<>();
        script.add(List.of("-N", "USERCHAIN"));
        for (int i = 0; i < Integer.getInteger("diff.commands", 400); i++) {
            String[] chains = {"INPUT", "FORWARD", "OUTPUT", "USERCHAIN"};
            String chain = chains[rnd.nextInt(chains.length)];
            StringBuilder rule = new StringBuilder();
            boolean proto = false;
            for (int k = rnd.nextInt(3); k > 0; k--) {
                String f = MATCHES6[rnd.nextInt(MATCHES6.length)];
                if (proto && f.contains("-p ")) {
                    continue;
                }
                proto |= f.contains("-p ");
                rule.append(' ').append(f);
            }
            String t = TARGETS6[rnd.nextInt(TARGETS6.length)];
            if (!(chain.equals("USERCHAIN") && t.contains("USERCHAIN"))) {
                rule.append(' ').append(t);
            }
            List<String> args = new ArrayList<>();
            switch (rnd.nextInt(8)) {
                case 0 -> args.addAll(List.of("-I", chain, Integer.toString(1 + rnd.nextInt(3))));
                case 1 -> args.addAll(List.of("-D", chain));
                case 2 -> args.addAll(List.of("-C", chain));
                default -> args.addAll(List.of("-A", chain));
            }
            args.addAll(ShellWords.split(rule.toString()));
            script.add(args);
        }
        List<String> mismatches = new ArrayList<>();
        for (List<String> args : script) {
            Outcome r = real("ip6tables", args);
            Outcome m = mine(ipt, "ip6tables", args);
            if (r.code() != m.code() || !r.err().equals(m.err()) || !r.out().equals(m.out())) {
                mismatches.add("ip6tables " + String.join(" ", args) + "\n  kernel: exit " + r.code() + " " + r.err().strip()
                        + "\n  jnf:    exit " + m.code() + " " + m.err().strip());
            }
        }
        for (String v : List.of("-S", "-L -n -v", "-L")) {
            List<String> a = List.of(v.split(" "));
            Outcome r = real("ip6tables", a);
            Outcome m = mine(ipt, "ip6tables", a);
            if (!r.out().equals(m.out())) {
                mismatches.add("ip6tables " + v + " differs:\n--- kernel\n" + r.out() + "--- jnf\n" + m.out());
            }
        }
        System.out.println("KernelDifferentialTest (IPv6): " + script.size() + " commands, " + mismatches.size() + " mismatches");
        assertThat(mismatches).isEmpty();
    }

    @Test
    void generatedCommandsAgreeWithTheKernel() throws Exception {
        Assumptions.assumeTrue(available, "needs root, ip netns and iptables-legacy");
        Extensions ext = Extensions.standard();
        List<String> unused = new ArrayList<>();
        for (String[][] set : List.of(MATCHES, TARGETS, NAT_TARGETS)) {
            for (String[] f : set) {
                if (!known(ext, f[0])) {
                    unused.add(f[0]);
                }
            }
        }
        if (!unused.isEmpty()) {
            System.out.println("KernelDifferentialTest: fragments not generated (extension missing): " + unused);
        }
        Path state = Files.createTempDirectory("jnf-diff");
        Iptables ipt = new Iptables(new StateStore(state, ext), ext, ZonedDateTime::now);
        SplittableRandom rnd = new SplittableRandom(Long.getLong("diff.seed", 20261130L));
        int commands = Integer.getInteger("diff.commands", 600);
        List<String> mismatches = new ArrayList<>();
        List<List<String>> script = new ArrayList<>();
        script.add(List.of("-N", "USERCHAIN"));
        script.add(List.of("-t", "nat", "-N", "USERCHAIN"));
        for (int i = 0; i < commands; i++) {
            script.add(randomCommand(rnd, ext));
        }
        for (List<String> args : script) {
            Outcome r = real("iptables", args);
            Outcome m = mine(ipt, "iptables", args);
            if (Boolean.getBoolean("diff.trace") && r.code() == 0) {
                for (String table : List.of("filter", "nat", "mangle")) {
                    Outcome rs = real("iptables", List.of("-t", table, "-S"));
                    Outcome ms = mine(ipt, "iptables", List.of("-t", table, "-S"));
                    if (!rs.out().equals(ms.out())) {
                        System.out.println("STATE DIVERGES after: iptables " + String.join(" ", args) + "\n--- kernel\n"
                                + rs.out() + "--- jnf\n" + ms.out());
                        return;
                    }
                }
            }
            if (r.code() != m.code() || !r.err().equals(m.err()) || !r.out().equals(m.out())) {
                mismatches.add("iptables " + String.join(" ", args) + "\n  kernel: exit " + r.code() + " " + r.err().strip()
                        + r.out().strip() + "\n  jnf:    exit " + m.code() + " " + m.err().strip() + m.out().strip());
            }
        }
        for (String table : List.of("filter", "nat", "mangle", "raw")) {
            for (String v : List.of("-S", "-L -n -v --line-numbers", "-L", "-S -v")) {
                List<String> a = new ArrayList<>(List.of("-t", table));
                a.addAll(List.of(v.split(" ")));
                Outcome r = real("iptables", a);
                Outcome m = mine(ipt, "iptables", a);
                if (!r.out().equals(m.out())) {
                    mismatches.add("-t " + table + " " + v + " differs:\n--- kernel\n" + r.out() + "--- jnf\n" + m.out());
                }
            }
        }
        System.out.println("KernelDifferentialTest: " + script.size() + " commands, " + mismatches.size() + " mismatches");
        assertThat(mismatches).isEmpty();
        saveFilesRoundTripBothWays(ipt);
    }

    /**
     * What iptables-legacy-save wrote restores into jnetfilter and saves back byte for byte; what
     * jnetfilter saved restores into iptables-legacy and saves back byte for byte.
     */
    private static void saveFilesRoundTripBothWays(Iptables ipt) throws Exception {
        String kernelSave = real("iptables-save", List.of("-c")).out();
        Path state = Files.createTempDirectory("jnf-roundtrip");
        Iptables fresh = new Iptables(new StateStore(state, Extensions.standard()), Extensions.standard(), ZonedDateTime::now);
        Path file = state.resolve("kernel.save");
        Files.writeString(file, kernelSave);
        assertThat(ConformanceTest.run(fresh, "iptables-restore", List.of("-c", file.toString())).code()).isZero();
        // Tables come back in the order a fresh kernel would list them after the same restore (newest
        // first), so compare table by table.
        String back = withoutDates(ConformanceTest.run(fresh, "iptables-save", List.of("-c")).out());
        assertThat(List.of(back.split("(?=# Generated)"))).as("kernel save -> jnf restore -> jnf save")
                .containsExactlyInAnyOrder(withoutDates(kernelSave).split("(?=# Generated)"));

        String mineSave = ConformanceTest.run(ipt, "iptables-save", List.of("-c")).out();
        Files.writeString(file, mineSave);
        for (String table : List.of("filter", "nat", "mangle", "raw")) {
            real("iptables", List.of("-t", table, "-F"));
            real("iptables", List.of("-t", table, "-X"));
        }
        Outcome restored = real("iptables-restore", List.of("-c", file.toString()));
        assertThat(restored.code()).as("jnf save -> kernel restore: " + restored.err()).isZero();
        String[] kernelTables = withoutDates(real("iptables-save", List.of("-c")).out()).split("(?=# Generated)");
        for (String t : kernelTables) {
            assertThat(withoutDates(mineSave)).as("jnf save -> kernel restore -> kernel save").contains(t);
        }
    }

    private static String withoutDates(String save) {
        return save.replaceAll("(?m)^# Generated by (.*?) on .*$", "# Generated by $1 on DATE")
                .replaceAll("(?m)^# Completed on .*$", "# Completed on DATE");
    }

    private static List<String> randomCommand(SplittableRandom rnd, Extensions ext) {
        boolean nat = rnd.nextInt(4) == 0;
        String table = nat ? "nat" : rnd.nextInt(5) == 0 ? "mangle" : "filter";
        String[] chains = switch (table) {
            case "nat" -> new String[] {"PREROUTING", "OUTPUT", "POSTROUTING", "USERCHAIN"};
            case "mangle" -> new String[] {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};
            default -> new String[] {"INPUT", "FORWARD", "OUTPUT", "USERCHAIN"};
        };
        String chain = chains[rnd.nextInt(chains.length)];
        StringBuilder rule = new StringBuilder();
        int n = rnd.nextInt(3);
        boolean haveProto = false;
        for (int i = 0; i < n; i++) {
            String[] f = MATCHES[rnd.nextInt(MATCHES.length)];
            if (!known(ext, f[0]) || (haveProto && f[1].contains("-p "))) {
                continue;
            }
            haveProto |= f[1].contains("-p ");
            rule.append(' ').append(f[1]);
        }
        String[][] targets = nat ? NAT_TARGETS : TARGETS;
        String[] t = targets[rnd.nextInt(targets.length)];
        // A chain jumping to itself: the kernel's loop check (mark_source_chains) lets some through when
        // the chain was first reached by a goto; not generated until jnetfilter models that (known gap).
        boolean selfJump = chain.equals("USERCHAIN") && t[1].contains("USERCHAIN");
        if (known(ext, t[0]) && !(haveProto && t[1].contains("-p ")) && !selfJump) {
            rule.append(' ').append(t[1]);
        }
        int op = rnd.nextInt(10);
        List<String> args = new ArrayList<>(List.of("-t", table));
        switch (op) {
            case 0 -> args.addAll(List.of("-I", chain, Integer.toString(1 + rnd.nextInt(3))));
            case 1 -> args.addAll(List.of("-D", chain));
            case 2 -> args.addAll(List.of("-C", chain));
            case 3 -> {
                args.addAll(List.of("-D", chain, Integer.toString(1 + rnd.nextInt(4))));
                return args;
            }
            case 4 -> args.addAll(List.of("-R", chain, Integer.toString(1 + rnd.nextInt(3))));
            default -> args.addAll(List.of("-A", chain));
        }
        args.addAll(ShellWords.split(rule.toString()));
        return args;
    }
}
