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
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help") || args[0].equals("help")) {
            usage(args.length == 0 ? err : out);
            return args.length == 0 ? 2 : 0;
        }
        String sub = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (Iptables.PERSONALITIES.contains(sub)) {
            return iptables(sub, rest, out, err);
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

    private static int iptables(String personality, String[] args, PrintStream out, PrintStream err) {
        StateStore store = new StateStore(StateStore.defaultDirectory(), Extensions.standard());
        return new Iptables(store, Extensions.standard(), ZonedDateTime::now).run(personality, args, System.in, out, err);
    }

    /**
     * Loads a ruleset (the bundled Kubernetes-node example unless a file is named) into a fresh temporary
     * state and lists it: what the README's first command runs.
     */
    private static int demo(String[] args, PrintStream out, PrintStream err) {
        try {
            java.nio.file.Path state = java.nio.file.Files.createTempDirectory("jnf-demo");
            StateStore store = new StateStore(state, Extensions.standard());
            Iptables ipt = new Iptables(store, Extensions.standard(), ZonedDateTime::now);
            java.io.InputStream rules = args.length > 0 ? java.nio.file.Files.newInputStream(java.nio.file.Path.of(args[0]))
                    : Main.class.getResourceAsStream("kube-node.rules");
            out.println("# jnf iptables-restore " + (args.length > 0 ? args[0] : "examples/kube-node.rules")
                    + "   (state: " + state + ")");
            int code = ipt.run("iptables-restore", new String[0], rules, out, err);
            if (code != 0) {
                return code;
            }
            for (String[] cmd : new String[][] {{"-t", "nat", "-L", "-n", "-v", "--line-numbers"}, {"-L", "-v"}}) {
                out.println("\n# jnf iptables " + String.join(" ", cmd));
                code = ipt.run("iptables", cmd, System.in, out, err);
                if (code != 0) {
                    return code;
                }
            }
            out.println("\n# jnf iptables-save");
            return ipt.run("iptables-save", new String[0], System.in, out, err);
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
            StringBuilder rules = new StringBuilder("*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n"
                    + ":KUBE-MARK-MASQ - [0:0]\n-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
                    + "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n");
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
                        .append("-A KUBE-SEP-").append(i).append(" -s 10.244.1.").append(i % 250).append("/32 -j KUBE-MARK-MASQ\n")
                        .append("-A KUBE-SEP-").append(i).append(" -p ").append(proto).append(" -m ").append(proto)
                        .append(" -j DNAT --to-destination 10.244.1.").append(i % 250).append(":8080\n");
            }
            rules.append("COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate INVALID -j DROP\n"
                    + "-A INPUT -p tcp -m multiport --dports 22,80,443 -m state --state NEW -j ACCEPT\nCOMMIT\n");
            java.io.PrintStream sink = new java.io.PrintStream(java.io.OutputStream.nullOutputStream());
            for (int round = 0; round < 2; round++) {
                java.nio.file.Path dir = state.resolve("r" + round);
                Iptables ipt = new Iptables(new StateStore(dir, Extensions.standard()), Extensions.standard(), ZonedDateTime::now);
                ipt.run("iptables-restore", new String[0],
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
                  demo [FILE]                load the bundled Kubernetes-node example (or FILE) into a
                                             temporary state and list it
                  version                    print the version

                Rules live in $JNF_STATE_DIR (default: ${XDG_STATE_HOME:-~/.local/state}/jnetfilter).
                Invoked through a symlink named iptables, ip6tables, iptables-save, ... jnf is that program.""");
    }
}
