package org.jnetfilter.cli;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.util.Arrays;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.iptables.Iptables;
import org.jnetfilter.iptables.StateStore;

/**
 * The {@code jnf} command. Multi-call like xtables-legacy-multi: invoked as {@code iptables},
 * {@code ip6tables}, {@code iptables-save} ... (through a symlink; the launcher passes the name it was
 * called by in the system property {@code jnf.argv0}) it is that program; invoked as {@code jnf} the first
 * argument names the program or subcommand.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false,
                StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.err), true,
                StandardCharsets.UTF_8);
        int code = run(System.getProperty("jnf.argv0", "jnf"), args, out, err);
        out.flush();
        err.flush();
        System.exit(code);
    }

    static int run(String argv0, String[] args, PrintStream out, PrintStream err) {
        String name = argv0.substring(argv0.lastIndexOf('/') + 1);
        if (name.endsWith("-legacy")) {
            name = name.substring(0, name.length() - "-legacy".length());
        }
        if (Iptables.PERSONALITIES.contains(name)) {
            return iptables(name, args, out, err);
        }
        if (name.equals("ipset")) {
            return ipset(args, out, err);
        }
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help") || args[0].equals("help")) {
            usage(args.length == 0 ? err : out);
            return args.length == 0 ? 2 : 0;
        }
        String sub = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (Iptables.PERSONALITIES.contains(sub)) {
            return iptables(sub, rest, out, err);
        }
        if (sub.equals("ipset")) {
            return ipset(rest, out, err);
        }
        if (sub.equals("train")) {
            return train(err);
        }
        if (sub.equals("replay")) {
            return ReplayCommand.run(rest, out, err);
        }
        if (sub.equals("trace")) {
            return TraceCommand.run(rest, out, err);
        }
        if (sub.equals("demo")) {
            return demo(rest, out, err);
        }
        if (sub.equals("version") || sub.equals("--version") || sub.equals("-V")) {
            out.println("jnetfilter " + Iptables.VERSION + "-compatible (iptables v" + Iptables.VERSION + " legacy)");
            return 0;
        }
        err.println("jnf: unknown command '" + sub + "'");
        usage(err);
        return 2;
    }

    /** The sets beside the rules, loaded when a rule first names one (-m set, -j SET). */
    private static void ipsetsOf(java.nio.file.Path dir) {
        org.jnetfilter.core.ipset.Ipsets.installLoader(() -> new org.jnetfilter.iptables.IpsetCommand(
                new org.jnetfilter.iptables.IpsetStore(dir), () -> System.currentTimeMillis() * 1_000_000L,
                new java.security.SecureRandom()).loadForRules());
    }

    private static int ipset(String[] args, PrintStream out, PrintStream err) {
        org.jnetfilter.iptables.IpsetStore store = new org.jnetfilter.iptables.IpsetStore(StateStore.defaultDirectory());
        return new org.jnetfilter.iptables.IpsetCommand(store, () -> System.currentTimeMillis() * 1_000_000L,
                new java.security.SecureRandom()).run(args, System.in, out, err);
    }

    private static int iptables(String personality, String[] args, PrintStream out, PrintStream err) {
        ipsetsOf(StateStore.defaultDirectory());
        StateStore store = new StateStore(StateStore.defaultDirectory(), Extensions.standard());
        return new Iptables(store, Extensions.standard(), ZonedDateTime::now).run(personality, args, System.in, out, err);
    }

    /** The packets {@code jnf demo} traces through the bundled Kubernetes node. */
    static final String[][] DEMO_PACKETS = {
        {"a client on the LAN opens a connection to the web service's NodePort",
            "tcp 192.168.1.50:51000 -> 192.168.1.10:30080 in eth0"},
        {"a pod asks the cluster DNS service",
            "udp 10.244.1.7:40000 -> 10.96.0.10:53 in cni0"},
        {"a pod connects to a service without endpoints",
            "tcp 10.244.1.7:40001 -> 10.96.200.30:80 in cni0"},
    };

    /**
     * The main job on the bundled example (README's first command): {@code jnf trace} of a few packets through
     * a Kubernetes node's rules ({@code examples/kube-node.rules} and {@code .host}), or through FILE's rules
     * with a host derived per packet.
     */
    private static int demo(String[] args, PrintStream out, PrintStream err) {
        try {
            java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("jnf-demo");
            java.nio.file.Path rules;
            java.nio.file.Path host = null;
            String shownRules;
            String shownHost = null;
            if (args.length > 0) {
                rules = java.nio.file.Path.of(args[0]);
                shownRules = args[0];
            } else {
                rules = dir.resolve("kube-node.rules");
                host = dir.resolve("kube-node.host");
                try (java.io.InputStream r = Main.class.getResourceAsStream("kube-node.rules");
                        java.io.InputStream h = Main.class.getResourceAsStream("kube-node.host")) {
                    java.nio.file.Files.copy(r, rules);
                    java.nio.file.Files.copy(h, host);
                }
                shownRules = "examples/kube-node.rules";
                shownHost = "examples/kube-node.host";
            }
            for (String[] p : DEMO_PACKETS) {
                out.println("# " + p[0] + ":");
                out.println("# jnf trace --rules " + shownRules + (shownHost == null ? "" : " --host " + shownHost) + " '"
                        + p[1] + "'");
                String[] a = host == null ? new String[] {"--rules", rules.toString(), p[1]}
                        : new String[] {"--rules", rules.toString(), "--host", host.toString(), p[1]};
                int code = TraceCommand.run(a, out, err);
                if (code != 0) {
                    return code;
                }
                out.println();
            }
            return 0;
        } catch (java.io.IOException e) {
            err.println("jnf demo: " + e.getMessage());
            return 1;
        }
    }

    /**
     * The launcher's training run for the JDK's AOT cache: the commands people run, on a Kubernetes-shaped
     * ruleset big enough for the JIT to profile the hot paths. Prints nothing.
     */
    private static int train(PrintStream err) {
        try {
            java.nio.file.Path state = java.nio.file.Files.createTempDirectory("jnf-train");
            StringBuilder rules = new StringBuilder("*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
                    + ":KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-POSTROUTING - [0:0]\n:KUBE-NODEPORTS - [0:0]\n"
                    + "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
                    + "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n"
                    + "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n"
                    + "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n"
                    + "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully\n"
                    + "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n"
                    + "[3:180] -A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n");
            int services = 1500;
            for (int i = 0; i < services; i++) {
                rules.append(":KUBE-SVC-").append(i).append(" - [0:0]\n:KUBE-SEP-").append(i).append(" - [0:0]\n");
            }
            for (int i = 0; i < services; i++) {
                String ip = "10.96." + (i / 250) + "." + (i % 250);
                String proto = i % 3 == 0 ? "udp" : "tcp";
                rules.append("-A KUBE-SERVICES -d ").append(ip).append("/32 -p ").append(proto)
                        .append(" -m comment --comment \"ns/svc").append(i).append(":p80 cluster IP\" -m ").append(proto)
                        .append(" --dport 80 -j KUBE-SVC-").append(i).append('\n')
                        .append("-A KUBE-SVC-").append(i).append(" ! -s 10.244.0.0/16 -d ").append(ip).append("/32 -p ")
                        .append(proto).append(" -m ").append(proto).append(" --dport 80 -j KUBE-MARK-MASQ\n")
                        .append("-A KUBE-SVC-").append(i).append(" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-")
                        .append(i).append('\n')
                        .append("-A KUBE-SEP-").append(i).append(" -s 10.244.1.").append(i % 250)
                        .append("/32 -m comment --comment \"ns/svc").append(i).append("\" -j KUBE-MARK-MASQ\n")
                        .append("-A KUBE-SEP-").append(i).append(" -p ").append(proto).append(" -m ").append(proto)
                        .append(" -j DNAT --to-destination 10.244.1.").append(i % 250).append(":8080\n");
            }
            rules.append("COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate INVALID -j DROP\n"
                    + "-A INPUT -p tcp -m multiport --dports 22,80,443 -m state --state NEW -j ACCEPT\nCOMMIT\n");
            java.io.PrintStream sink = new java.io.PrintStream(java.io.OutputStream.nullOutputStream());
            for (int round = 0; round < 2; round++) {
                java.nio.file.Path dir = state.resolve("r" + round);
                ipsetsOf(dir);
                Iptables ipt = new Iptables(new StateStore(dir, Extensions.standard()), Extensions.standard(), ZonedDateTime::now);
                // the second round with -c: counter prefixes taken as iptables-save -c writes them
                ipt.run("iptables-restore", round == 0 ? new String[0] : new String[] {"-c"},
                        new java.io.ByteArrayInputStream(rules.toString().getBytes(StandardCharsets.UTF_8)), sink, sink);
                for (String[] cmd : new String[][] {
                    {"-t", "nat", "-A", "KUBE-SERVICES", "-d", "10.200.0.1/32", "-p", "tcp", "-m", "comment", "--comment",
                        "x", "-m", "tcp", "--dport", "80", "-j", "KUBE-MARK-MASQ"},
                    {"-t", "nat", "-D", "KUBE-SERVICES", "-d", "10.200.0.1/32", "-p", "tcp", "-m", "comment", "--comment",
                        "x", "-m", "tcp", "--dport", "80", "-j", "KUBE-MARK-MASQ"},
                    {"-t", "nat", "-I", "KUBE-SERVICES", "1", "-j", "RETURN"}, {"-t", "nat", "-S"}, {"-t", "nat", "-L", "-n", "-v"},
                    {"-L"}, {"-N", "x"}, {"-X", "x"}, {"-C", "INPUT", "-j", "ACCEPT"}}) {
                    ipt.run("iptables", cmd, System.in, sink, sink);
                }
                ipt.run("iptables-save", new String[] {"-c"}, System.in, sink, sink);
            }
            return 0;
        } catch (java.io.IOException e) {
            err.println("jnf train: " + e.getMessage());
            return 1;
        }
    }

    private static void usage(PrintStream s) {
        s.println("""
                Usage: jnf COMMAND [ARGS...]

                jnetfilter: Linux netfilter and iptables as a userspace engine.

                Commands:
                  iptables ARGS...           iptables (1.8 legacy syntax) on the jnetfilter state
                  ip6tables ARGS...          the same for IPv6
                  iptables-save [-c] [-t T]  print the rules in iptables-save format
                  iptables-restore [FILE]    load rules in iptables-save format (one transaction)
                  ip6tables-save, ip6tables-restore
                  replay --host HOST --rules SAVE --in IN --out OUT.pcapng [...]
                                             a capture through a host's packet path (replay -h)
                  trace --rules SAVE [--host HOST] 'PACKET'
                                             every hook, table, chain and rule a packet visits
                  ipset ARGS...              ipset (7.17 syntax) on the sets beside the rules
                  demo [FILE]                trace packets through the bundled Kubernetes node's rules
                                             (or FILE's)
                  version                    print the version

                Rules live in $JNF_STATE_DIR (default: ${XDG_STATE_HOME:-~/.local/state}/jnetfilter).
                Invoked through a symlink named iptables, ip6tables, iptables-save, ... jnf is that program.""");
    }
}
