package org.jnetfilter.iptables;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.jnetfilter.core.testkit.KernelSide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Generated ipset command sequences run through the real ipset in a network namespace of its own and
 * through {@code jnf ipset}: exit codes, stdout and stderr must be identical, list and save outputs
 * included. Needs root, {@code ip netns} and ipset; without them it is skipped with a visible message.
 *
 * <p>Normalised before comparing, because they are the kernel's and not the language's: the random
 * initval of hash sets, "Size in memory", the order of hash members (the kernel lists them in bucket
 * order), and the seconds left of element timeouts (the two sides read the clock at different moments).
 */
class IpsetKernelDifferentialTest {
    private static final String NS = "jnf-ipset-diff-" + ProcessHandle.current().pid();
    private static boolean available;

    @BeforeAll
    static void createNamespace() {
        String why = KernelSide.unavailable("ipset");
        if (why == null && !KernelSide.addNamespaces(NS)) {
            why = "`ip netns add' does not work here";
        }
        available = why == null;
        if (!available) {
            KernelSide.skipped("IpsetKernelDifferentialTest", why,
                    "root, ip netns and ipset: apt-get install ipset iproute2; run as root");
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

    private static Outcome real(List<String> args, String stdin) {
        List<String> cmd = new ArrayList<>(List.of(KernelSide.in(NS, "ipset")));
        cmd.addAll(args);
        KernelSide.Result r = KernelSide.run(30, stdin, cmd);
        return new Outcome(r.exit(), r.stdout(), r.stderr());
    }

    static Outcome mine(IpsetCommand ipset, List<String> args, String stdin) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ipset.run(args.toArray(String[]::new), new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static final Pattern INITVAL = Pattern.compile("initval 0x[0-9a-f]{8}");
    private static final Pattern MEMSIZE = Pattern.compile("(?m)^Size in memory: \\d+$");
    private static final Pattern ELEM_TIMEOUT = Pattern.compile("^(\\S+( \\S+ \\S+)?) timeout [1-9]\\d*");

    /** See the class comment: what is the kernel's, not the program's, made equal. */
    static String normalise(String text) {
        String t = MEMSIZE.matcher(INITVAL.matcher(text).replaceAll("initval X")).replaceAll("Size in memory: X");
        String[] lines = t.split("\n", -1);
        List<String> out = new ArrayList<>();
        List<String> run = new ArrayList<>();
        boolean members = false;
        boolean sortable = true;
        for (String line : lines) {
            if (line.startsWith("Type: ")) {
                sortable = !line.equals("Type: list:set");
            } else if (line.startsWith("create ")) {
                flush(out, run, sortable);
                sortable = !line.contains(" list:set ");
            }
            String l = line;
            if (members || line.startsWith("add ")) {
                l = ELEM_TIMEOUT.matcher(line.startsWith("add ") ? line : line).replaceFirst("$1 timeout T");
                if (line.startsWith("add ")) {
                    l = line.replaceAll(" timeout [1-9]\\d*", " timeout T");
                } else {
                    l = line.replaceAll(" timeout [1-9]\\d*", " timeout T");
                }
            }
            if (line.equals("Members:")) {
                out.add(line);
                members = true;
                continue;
            }
            if (members && line.isEmpty()) {
                members = false;
                flush(out, run, sortable);
                out.add(line);
                continue;
            }
            if (members || line.startsWith("add ")) {
                run.add(l);
            } else {
                flush(out, run, sortable);
                out.add(l);
            }
        }
        flush(out, run, sortable);
        return String.join("\n", out);
    }

    private static void flush(List<String> out, List<String> run, boolean sortable) {
        if (sortable) {
            run.sort(null);
        }
        out.addAll(run);
        run.clear();
    }

    // ---- the generator ----

    private static final String[] NAMES = {"s1", "s2", "s3", "l1"};
    private static final String[][] CREATES = {
        {"hash:ip"}, {"hash:ip", "timeout", "1000"}, {"hash:ip", "netmask", "24"}, {"hash:ip", "family", "inet6"},
        {"hash:ip", "hashsize", "100", "maxelem", "4"}, {"hash:ip", "counters", "comment"},
        {"hash:net"}, {"hash:net", "family", "inet6", "timeout", "500", "counters"}, {"hash:net", "comment"},
        {"hash:ip,port"}, {"hash:ip,port", "timeout", "0"}, {"hash:net,port"}, {"hash:ip,port,ip"},
        {"hash:net,iface"}, {"bitmap:port", "range", "1-1000"}, {"bitmap:port", "range", "100-200", "counters"},
        {"bitmap:port"}, {"hash:foo"}, {"hash:ip", "foo"}, {"hash:ip", "hashsize", "abc"},
        {"hash:ip", "family", "inet7"}, {"hash:ip", "skbinfo"}, {"hash:ip", "maxelem", "0"},
    };
    private static final String[] V4 = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.1.7", "0.0.0.0", "10.0.0.0/30",
        "10.0.0.1-10.0.0.3", "300.1.1.1", "foo", "10.0.0.9"};
    private static final String[] V6 = {"2001:db8::1", "2001:db8::2", "::1", "2001:db8::/64", "2001:db8::1-2001:db8::3",
        "zz::1"};
    private static final String[] NETS4 = {"10.0.0.0/8", "10.0.0.0/24", "10.0.0.1", "10.0.0.0/0", "10.1.0.0/16",
        "192.168.0.0-192.168.0.9", "10.0.0.0/33", "10.0.0.5"};
    private static final String[] NETS6 = {"2001:db8::/32", "2001:db8::/64", "2001:db8::1", "::/0", "2001:db8::/129"};
    private static final String[] PORTS = {"80", "tcp:80", "udp:53", "icmp:ping", "sctp:9", "gre:0", "tcp:80-82",
        "icmp:3/4", "foo:1", "http", "udp:70000", "gre:5"};

    static List<String> command(SplittableRandom r, String[] types) {
        String set = NAMES[r.nextInt(NAMES.length)];
        int kind = r.nextInt(100);
        List<String> c = new ArrayList<>();
        if (kind < 12) {
            c.add("create");
            c.add(set);
            if (set.equals("l1")) {
                c.add("list:set");
                if (r.nextBoolean()) {
                    c.add("size");
                    c.add("4");
                }
            } else {
                c.addAll(List.of(CREATES[r.nextInt(CREATES.length)]));
            }
            if (r.nextInt(5) == 0) {
                c.add(0, "-exist");
            }
            return c;
        }
        if (kind < 60) {
            String verb = kind < 40 ? "add" : kind < 50 ? "del" : "test";
            c.add(verb);
            c.add(set);
            c.add(element(r, set, types));
            if (verb.equals("add")) {
                int o = r.nextInt(10);
                switch (o) {
                    case 0 -> c.addAll(List.of("timeout", r.nextBoolean() ? "100" : "0"));
                    case 1 -> c.addAll(List.of("comment", "c " + r.nextInt(3)));
                    case 2 -> c.addAll(List.of("packets", "3", "bytes", "90"));
                    case 3 -> c.add("nomatch");
                    case 4 -> c.add("bogus");
                    case 5 -> c.addAll(List.of("timeout", "3000000"));
                    default -> {
                    }
                }
            }
            if (verb.equals("test") && r.nextInt(4) == 0) {
                c.add("-q");
            }
            if (r.nextInt(6) == 0) {
                c.add(r.nextBoolean() ? "-exist" : "-!");
            }
            return c;
        }
        if (kind < 75) {
            c.add("list");
            if (r.nextInt(3) > 0) {
                c.add(set);
            }
            switch (r.nextInt(5)) {
                case 0 -> c.add("-t");
                case 1 -> c.add("-n");
                case 2 -> c.addAll(List.of("-o", "save"));
                default -> {
                }
            }
            return c;
        }
        if (kind < 80) {
            c.add("save");
            if (r.nextBoolean()) {
                c.add(set);
            }
            return c;
        }
        if (kind < 85) {
            c.add("flush");
            if (r.nextInt(4) > 0) {
                c.add(set);
            }
            return c;
        }
        if (kind < 89) {
            c.add("destroy");
            if (r.nextInt(6) > 0) {
                c.add(set);
            }
            return c;
        }
        if (kind < 95) {
            c.add(r.nextBoolean() ? "rename" : "swap");
            c.add(set);
            String other = NAMES[r.nextInt(NAMES.length)];
            c.add(r.nextInt(4) == 0 ? "s9" : other);
            return c;
        }
        String[][] odd = {{}, {"foo"}, {"add"}, {"add", set}, {"version"}, {"list", set, "extra"},
            {"create", "a234567890123456789012345678901234", "hash:ip"}, {"create", set}, {"test", set}};
        return new ArrayList<>(List.of(odd[r.nextInt(odd.length)]));
    }

    private static String element(SplittableRandom r, String set, String[] types) {
        String type = types[indexOf(set)];
        String[] v4 = V4;
        if (type == null) {
            type = "hash:ip";
        }
        boolean six = type.endsWith("6");
        String t = six ? type.substring(0, type.length() - 1) : type;
        return switch (t) {
            case "hash:ip" -> pick(r, six ? V6 : v4);
            case "hash:net" -> pick(r, six ? NETS6 : NETS4);
            case "hash:ip,port" -> pick(r, v4) + (r.nextInt(8) == 0 ? "" : "," + pick(r, PORTS));
            case "hash:net,port" -> pick(r, NETS4) + "," + pick(r, PORTS);
            case "hash:ip,port,ip" -> pick(r, v4) + "," + pick(r, PORTS) + (r.nextInt(6) == 0 ? "" : "," + pick(r, v4));
            case "hash:net,iface" -> pick(r, NETS4) + "," + pick(r, new String[] {"eth0", "physdev:br0", "lo",
                "averyveryverylongname0"});
            case "bitmap:port" -> pick(r, new String[] {"80", "1-3", "70000", "150", "5000", "tcp:80", "0"});
            case "list:set" -> pick(r, new String[] {"s1", "s2", "s3", "l1", "nosuch"});
            default -> "1.2.3.4";
        };
    }

    private static String pick(SplittableRandom r, String[] a) {
        return a[r.nextInt(a.length)];
    }

    private static int indexOf(String set) {
        for (int i = 0; i < NAMES.length; i++) {
            if (NAMES[i].equals(set)) {
                return i;
            }
        }
        throw new IllegalArgumentException(set);
    }

    /** Tracks the type each name has after a successful command, so elements fit their set most of the time. */
    private static void track(List<String> c, Outcome o, String[] types) {
        if (o.code() != 0 || c.isEmpty()) {
            return;
        }
        List<String> w = new ArrayList<>(c);
        w.removeIf(s -> s.equals("-exist") || s.equals("-!"));
        if (w.get(0).equals("create") && w.size() >= 3) {
            boolean six = w.contains("inet6");
            types[indexOf(w.get(1))] = w.get(2) + (six ? "6" : "");
        } else if (w.get(0).equals("destroy")) {
            if (w.size() == 1) {
                java.util.Arrays.fill(types, null);
            } else {
                types[indexOf(w.get(1))] = null;
            }
        } else if (w.get(0).equals("rename")) {
            int to = java.util.Arrays.asList(NAMES).indexOf(w.get(2));
            if (to >= 0) {
                types[to] = types[indexOf(w.get(1))];
            }
            types[indexOf(w.get(1))] = null;
        } else if (w.get(0).equals("swap")) {
            int a = indexOf(w.get(1));
            int b = java.util.Arrays.asList(NAMES).indexOf(w.get(2));
            String t = types[a];
            types[a] = types[b];
            types[b] = t;
        }
    }

    @Test
    void generatedCommandSequencesPrintAndExitAsTheRealIpset() throws Exception {
        Assumptions.assumeTrue(available, "needs root, ip netns and ipset");
        Path dir = Files.createTempDirectory("jnf-ipset-diff");
        IpsetCommand ipset = new IpsetCommand(new IpsetStore(dir), () -> System.currentTimeMillis() * 1_000_000L,
                new SplittableRandom(1));
        List<String> mismatches = new ArrayList<>();
        int commands = 0;
        for (int seq = 0; seq < 6; seq++) {
            SplittableRandom r = new SplittableRandom(1000 + seq);
            String[] types = new String[NAMES.length];
            for (String[] reset : new String[][] {{"flush"}, {"destroy"}}) {
                real(List.of(reset), "");
                mine(ipset, List.of(reset), "");
            }
            List<String> history = new ArrayList<>();
            for (int i = 0; i < 120; i++) {
                List<String> c = command(r, types);
                history.add(String.join(" ", c));
                Outcome k = real(c, "");
                Outcome m = mine(ipset, c, "");
                commands++;
                track(c, k, types);
                if (k.code() != m.code() || !normalise(k.out()).equals(normalise(m.out()))
                        || !k.err().equals(m.err())) {
                    mismatches.add("ipset " + String.join(" ", c) + "\n  kernel: " + k + "\n  jnf:    " + m);
                }
                if (c.size() > 0 && !c.get(0).equals("list") && !c.get(0).equals("save") && !c.get(0).equals("test")) {
                    Outcome kn = real(List.of("list", "-n"), "");
                    Outcome mn = mine(ipset, List.of("list", "-n"), "");
                    if (!kn.out().equals(mn.out())) {
                        mismatches.add("set order after ipset " + String.join(" ", c) + " (history: "
                                + history.subList(Math.max(0, history.size() - 25), history.size()) + ")\n  kernel: " + kn
                                + "\n  jnf:    " + mn);
                        break;
                    }
                }
                if (mismatches.size() > 30) {
                    break;
                }
            }
            Outcome k = real(List.of("save"), "");
            Outcome m = mine(ipset, List.of("save"), "");
            if (!normalise(k.out()).equals(normalise(m.out()))) {
                mismatches.add("final save of sequence " + seq + "\n  kernel: " + k + "\n  jnf:    " + m);
            }
        }
        System.out.println("IpsetKernelDifferentialTest: " + commands + " commands, " + mismatches.size()
                + " mismatches");
        assertEquals("", String.join("\n", mismatches));
    }

    private static Outcome realIptables(String program, List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(KernelSide.in(NS, program + "-legacy")));
        cmd.addAll(args);
        KernelSide.Result r = KernelSide.run(30, null, cmd);
        return new Outcome(r.exit(), r.stdout(), r.stderr());
    }

    private static Outcome mineIptables(Iptables ipt, String program, List<String> args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ipt.run(program, args.toArray(String[]::new), new ByteArrayInputStream(new byte[0]),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void iptablesRulesNamingSetsAreCheckedPrintedAndCountedAsTheKernelDoes() throws Exception {
        Assumptions.assumeTrue(available, "needs root, ip netns and ipset");
        Path dir = Files.createTempDirectory("jnf-ipset-diff");
        IpsetCommand ipset = new IpsetCommand(new IpsetStore(dir), () -> System.currentTimeMillis() * 1_000_000L,
                new SplittableRandom(3));
        org.jnetfilter.core.ext.Extensions ext = org.jnetfilter.core.ext.Extensions.standard();
        Iptables ipt = new Iptables(new StateStore(dir, ext), ext, java.time.ZonedDateTime::now);
        org.jnetfilter.core.ipset.Ipsets.installLoader(ipset::loadForRules);
        try {
            for (String table : new String[] {"filter", "mangle"}) {
                realIptables("iptables", List.of("-t", table, "-F"));
                realIptables("ip6tables", List.of("-t", table, "-F"));
            }
            for (String reset : new String[] {"flush", "destroy"}) {
                real(List.of(reset), "");
                mine(ipset, List.of(reset), "");
            }
            String[] script = {
                "ipset create h hash:ip", "ipset create n6 hash:net family inet6", "ipset create p hash:ip,port",
                "ipset create l list:set", "ipset create b bitmap:port range 1-100",
                "iptables -A INPUT -m set --match-set h src -j ACCEPT",
                "iptables -A INPUT -m set --match-set nosuch src -j ACCEPT",
                "iptables -A INPUT -m set --match-set n6 src",
                "ip6tables -A INPUT -m set --match-set h src",
                "ip6tables -A INPUT -m set --match-set n6 dst,src -j DROP",
                "ip6tables -A INPUT -m set --match-set b src -j DROP",
                "iptables -A INPUT -m set ! --match-set p src,dst --return-nomatch ! --update-counters"
                    + " ! --update-subcounters --packets-gt 5 --bytes-lt 100 -j DROP",
                "iptables -A INPUT -m set --match-set p src,dst --update-counters ! --packets-eq 3 --bytes-eq 7",
                "iptables -A INPUT -m set --match-set h src,foo",
                "iptables -A INPUT -m set --match-set h src,dst,src,dst,src,dst,src",
                "iptables -A INPUT -m set --match-set h src --packets-gt 1 --packets-lt 3",
                "iptables -A INPUT -m set --match-set h src ! --packets-gt 1",
                "iptables -A INPUT -m set --match-set h src --match-set h dst",
                "iptables -A INPUT -m set --set l src",
                "iptables -A INPUT -m set --match-set aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa src",
                "iptables -A FORWARD -j SET --add-set h src --exist --timeout 10 --del-set p src,dst",
                "iptables -t mangle -A FORWARD -j SET --map-set h src --map-mark --map-prio",
                "iptables -t mangle -A PREROUTING -j SET --map-set h src --map-prio",
                "iptables -A INPUT -j SET --map-set h src --map-mark",
                "iptables -A INPUT -j SET --add-set nosuch src",
                "iptables -A INPUT -j SET --timeout 99999999999 --add-set h src",
                "iptables -A INPUT -j SET --exist",
                "iptables -A INPUT -j SET --add-set h src --add-set h dst",
                "iptables -S", "iptables -L -n -v", "iptables -t mangle -S", "ip6tables -S",
                "ipset list -t", "ipset destroy h", "ipset rename h h2", "ipset destroy", "ipset destroy b",
                "ipset swap h p", "ipset create h2 hash:ip", "ipset swap h h2", "ipset list h -t",
                "iptables -D INPUT -m set --match-set h src -j ACCEPT", "ipset list h -t",
                "iptables -F", "iptables -t mangle -F", "ip6tables -F", "ipset destroy h", "ipset list -n",
            };
            List<String> mismatches = new ArrayList<>();
            for (String line : script) {
                List<String> w = List.of(line.split(" "));
                String program = w.get(0);
                List<String> args = w.subList(1, w.size());
                Outcome k = program.equals("ipset") ? real(args, "") : realIptables(program, args);
                Outcome m = program.equals("ipset") ? mine(ipset, args, "") : mineIptables(ipt, program, args);
                if (k.code() != m.code() || !normalise(k.out()).equals(normalise(m.out())) || !k.err().equals(m.err())) {
                    mismatches.add(line + "\n  kernel: " + k + "\n  jnf:    " + m);
                }
            }
            assertEquals("", String.join("\n", mismatches));
        } finally {
            org.jnetfilter.core.ipset.Ipsets.installLoader(org.jnetfilter.core.ipset.Ipsets::new);
        }
    }

    @Test
    void restoreOfSavedSetsAndRestoreErrorsMatchTheRealIpset() throws Exception {
        Assumptions.assumeTrue(available, "needs root, ip netns and ipset");
        Path dir = Files.createTempDirectory("jnf-ipset-diff");
        IpsetCommand ipset = new IpsetCommand(new IpsetStore(dir), () -> System.currentTimeMillis() * 1_000_000L,
                new SplittableRandom(2));
        String[] inputs = {
            "create r1 hash:ip\nadd r1 1.1.1.1\nadd r1 1.1.1.1\nadd r1 2.2.2.2\n",
            "create r2 hash:net comment\n\n# a comment\nadd r2 10.0.0.0/8 comment \"two words\"\nadd r2 x\n",
            "create r2 hash:net comment\n",
            "foo r3\n",
            "create r4 hash:ip,port\nadd r4 1.1.1.1,udp:53\nadd r9 1.1.1.1\n",
            "create r5 list:set\nadd r5 r1\nadd r5 r4 before r1\n",
        };
        List<String> mismatches = new ArrayList<>();
        for (String reset : new String[] {"flush", "destroy"}) {
            real(List.of(reset), "");
            mine(ipset, List.of(reset), "");
        }
        for (String in : inputs) {
            for (List<String> args : List.of(List.of("restore"), List.of("-exist", "restore"))) {
                Outcome k = real(args, in);
                Outcome m = mine(ipset, args, in);
                if (k.code() != m.code() || !k.err().equals(m.err())) {
                    mismatches.add(args + " <<" + in + "\n  kernel: " + k + "\n  jnf:    " + m);
                }
            }
        }
        Outcome k = real(List.of("save"), "");
        Outcome m = mine(ipset, List.of("save"), "");
        assertEquals(normalise(k.out()), normalise(m.out()));
        // what was saved restores into an empty state and saves the same again
        String saved = m.out();
        for (String reset : new String[] {"flush", "destroy"}) {
            assertEquals(0, real(List.of(reset), "").code());
            assertEquals(0, mine(ipset, List.of(reset), "").code());
        }
        assertEquals(0, mine(ipset, List.of("restore"), saved).code());
        assertEquals(0, real(List.of("restore"), k.out()).code());
        assertEquals(normalise(real(List.of("list"), "").out()), normalise(mine(ipset, List.of("list"), "").out()));
        assertEquals("", String.join("\n", mismatches));
    }
}
