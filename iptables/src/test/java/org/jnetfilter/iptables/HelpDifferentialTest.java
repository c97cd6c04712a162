package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jnetfilter.core.ext.Extensions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code iptables -m NAME -h} and {@code -j NAME -h} for every extension the host's iptables has (the
 * shared objects in its xtables directory), in both families, and a set of commands that load several
 * extensions: jnetfilter's stdout, stderr and exit code must be those of iptables-legacy / ip6tables-legacy.
 * Help never touches a table, so the real binary runs as it is, without root or a namespace. Skipped with a
 * visible message when iptables-legacy or its xtables directory is missing.
 *
 * <p>One kind of line is left out of both sides' stderr: libxtables' probes of the running kernel ("Warning:
 * Extension X revision 0 not supported, missing kernel module?", "X: Could not determine whether revision N
 * is supported, assuming it is."). They depend on the host's kernel modules and privileges, while jnetfilter
 * is the kernel itself: the golden transcript help-extensions.golden records them for kernel 6.18 as root.
 */
class HelpDifferentialTest {
    private static final Pattern XTABLES_OBJECT = Pattern.compile("lib(xt|ipt|ip6t)_(.+)\\.so");
    private static final Pattern KERNEL_PROBE = Pattern.compile(
            "(?m)^(Warning: Extension \\S+ revision \\d+ not supported, missing kernel module\\?"
                    + "|\\S+: Could not determine whether revision \\d+ is supported, assuming it is\\.)\\n");

    private static Path xtablesDir;

    @TempDir
    Path state;

    @BeforeAll
    static void findIptables() {
        boolean legacy = run(List.of("iptables-legacy", "-V")).code() == 0
                && run(List.of("ip6tables-legacy", "-V")).code() == 0;
        xtablesDir = legacy ? xtablesDirectory() : null;
        if (xtablesDir == null) {
            System.out.println("SKIPPED HelpDifferentialTest: needs iptables-legacy, ip6tables-legacy and their "
                    + "xtables directory (apt-get install iptables)");
        }
    }

    private static Path xtablesDirectory() {
        String env = System.getenv("XTABLES_LIBDIR");
        List<Path> candidates = new ArrayList<>();
        if (env != null) {
            candidates.add(Path.of(env));
        }
        try (Stream<Path> lib = Files.list(Path.of("/usr/lib"))) {
            lib.map(d -> d.resolve("xtables")).forEach(candidates::add);
        } catch (IOException e) {
            // no /usr/lib: the fixed places below remain
        }
        candidates.add(Path.of("/usr/lib/xtables"));
        candidates.add(Path.of("/usr/lib64/xtables"));
        candidates.add(Path.of("/usr/local/lib/xtables"));
        return candidates.stream().filter(d -> Files.isRegularFile(d.resolve("libxt_tcp.so"))).findFirst().orElse(null);
    }

    record Outcome(int code, String out, String err) {
        Outcome withoutKernelProbes() {
            return new Outcome(code, out, KERNEL_PROBE.matcher(err).replaceAll(""));
        }
    }

    private static Outcome run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = p.getErrorStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Outcome(-1, "", "timed out");
            }
            return new Outcome(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                    new String(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Outcome(-1, "", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(-1, "", e.toString());
        }
    }

    private static Outcome legacy(String program, List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(program + "-legacy"));
        cmd.addAll(args);
        return run(cmd).withoutKernelProbes();
    }

    private Outcome jnf(String program, List<String> args) {
        Iptables ipt = new Iptables(new StateStore(state, Extensions.standard()), Extensions.standard(),
                ZonedDateTime::now);
        ConformanceTest.Run r = ConformanceTest.run(ipt, program, args);
        return new Outcome(r.code(), r.out(), r.err()).withoutKernelProbes();
    }

    /** The commands {@code -m NAME -h} / {@code -j NAME -h} for every shared object of the host, both families. */
    private static List<List<String>> everyExtensionHelp() throws IOException {
        List<List<String>> commands = new ArrayList<>();
        try (Stream<Path> files = Files.list(xtablesDir)) {
            for (Path f : files.sorted().toList()) {
                Matcher m = XTABLES_OBJECT.matcher(f.getFileName().toString());
                if (!m.matches() || m.group(2).equals("standard")) {
                    continue;
                }
                String name = m.group(2);
                String option = Character.isUpperCase(name.charAt(0)) ? "-j" : "-m";
                if (!m.group(1).equals("ip6t")) {
                    commands.add(List.of("iptables", option, name, "-h"));
                }
                if (!m.group(1).equals("ipt")) {
                    commands.add(List.of("ip6tables", option, name, "-h"));
                }
            }
        }
        return commands;
    }

    /** Several extensions at once, the protocol's match, the standard target, repeated matches. */
    private static final List<String> COMBINATIONS = List.of(
            "iptables -p tcp -h", "iptables -p 6 -h", "iptables -p SCTP -h", "iptables -p all -h",
            "iptables -p udplite -h", "iptables -p tcp -m udp -h", "iptables -m udp -m tcp -h",
            "iptables -j LOG -m comment -h", "iptables -m comment -j LOG -h", "iptables -j ACCEPT -h",
            "iptables -j RETURN -h", "iptables -j standard -h", "iptables -g MYCHAIN -h", "iptables -j MYCHAIN -h",
            "iptables -m limit -m limit -h", "iptables -j SNAT -m conntrack -m state -m multiport -h",
            "iptables -A INPUT -p tcp --dport 22 -j REJECT -h", "iptables -h -m tcp", "iptables -m tcp -h foo",
            "iptables -m state --state FOO -h", "iptables -m icmp6 -h", "ip6tables -m icmp -h",
            "ip6tables -p icmpv6 -h", "ip6tables -p ipv6-icmp -h", "ip6tables -p icmp -h",
            "ip6tables -j REJECT -m ah -m frag -h", "ip6tables -j TCPMSS -m tcpmss -h", "iptables -j MARK -j CONNMARK -h");

    @Test
    void everyExtensionsHelpIsIptablesLegacysByteForByte() throws IOException {
        Assumptions.assumeTrue(xtablesDir != null, "needs iptables-legacy and its xtables directory");
        List<List<String>> commands = everyExtensionHelp();
        for (String c : COMBINATIONS) {
            commands.add(List.of(c.split(" ")));
        }
        Map<String, String> mismatches = new TreeMap<>();
        int same = 0;
        for (List<String> c : commands) {
            List<String> args = c.subList(1, c.size());
            Outcome want = legacy(c.get(0), args);
            Outcome got = jnf(c.get(0), args);
            String line = String.join(" ", c);
            if (want.equals(got)) {
                same++;
            } else {
                mismatches.put(line, "want " + want + "\n     got  " + got);
            }
        }
        System.out.printf("HelpDifferentialTest: %d of %d help commands byte-identical to iptables-legacy (%s)%n",
                same, commands.size(), xtablesDir);
        mismatches.forEach((c, d) -> System.out.println("  differs: " + c + "\n     " + d));
        assertThat(mismatches.keySet()).as("help differing from iptables-legacy").isEmpty();
    }
}
