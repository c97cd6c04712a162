package org.jnetfilter.core.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The kernel side of the kernel differential tests (Kernel*DifferentialTest in core and iptables): whether it
 * can run here, commands run with a bound on their time, in a network namespace or not, and the namespaces the
 * tests make. A test asks {@link #unavailable} in its {@code @BeforeAll}; with a reason it prints
 * {@link #skipped} (visible in the build's output) and its tests assume the kernel away; else it adds its
 * namespaces ({@code jnf-<test>-<pid>...}) and deletes them in its {@code @AfterAll} ({@link #deleteNamespaces}).
 * Shared with the iptables module's tests through core's test jar. Not for packets' hot paths: it starts
 * processes.
 */
public final class KernelSide {
    /** What a command did: its exit code (-1 when it could not start or ran out of time) and its output. */
    public record Result(int exit, String stdout, String stderr) {
        public boolean ok() {
            return exit == 0;
        }
    }

    private static final int SECONDS = 30;

    private KernelSide() {
    }

    /**
     * Why the kernel side cannot run here, or null when it can: JNF_SKIP_KERNEL_TESTS set, not Linux, not root,
     * one of {@code tools} (besides {@code ip}) not installed, or {@code ip netns} not working.
     */
    public static String unavailable(String... tools) {
        if (System.getenv("JNF_SKIP_KERNEL_TESTS") != null) {
            return "JNF_SKIP_KERNEL_TESTS is set";
        }
        if (!System.getProperty("os.name", "").equals("Linux")) {
            return "not Linux";
        }
        if (!run("id", "-u").stdout().strip().equals("0")) {
            return "not root";
        }
        List<String> all = new ArrayList<>(List.of("ip"));
        all.addAll(List.of(tools));
        for (String tool : all) {
            if (!run("sh", "-c", "command -v " + tool).ok()) {
                return tool + " is not installed";
            }
        }
        if (!run("ip", "netns", "list").ok()) {
            return "`ip netns' does not work here";
        }
        return null;
    }

    /** Prints the line that says a test class did not run, and why (stderr: the build shows it). */
    public static void skipped(String testClass, String reason, String needs) {
        System.err.println("SKIPPED " + testClass + ": " + reason + " (needs " + needs + ")");
    }

    /**
     * Sends the Ethernet {@code frames} (hex) out of {@code port} in namespace {@code senderNs} by an AF_PACKET
     * socket, 20 ms apart, while tcpdump records in each of {@code captures} ({namespace, interface, filter, file});
     * the recorders (tcpdump -U: each frame written as it comes) are stopped {@code seconds} after the last frame
     * was sent, however long they and the sender took to start on a loaded machine, and the call returns then.
     */
    public static Result sendWhileCapturing(String senderNs, String port, List<String> frames, int seconds,
            String[]... captures) {
        List<String> lines = new ArrayList<>(List.of("recorders="));
        StringBuilder listening = new StringBuilder("true");
        for (String[] c : captures) {
            // a bound on the recorder's life should the script be cut short
            lines.add("ip netns exec " + c[0] + " timeout " + (seconds + 120) + " tcpdump -U -i " + c[1] + " -w " + c[3]
                    + " " + c[2] + " 2>" + c[3] + ".err &");
            lines.add("recorders=\"$recorders $!\"");
            listening.append(" && grep -q listening ").append(c[3]).append(".err 2>/dev/null");
        }
        lines.add("for i in $(seq 300); do " + listening + " && break; sleep 0.1; done");
        lines.add("sleep 0.5");
        StringBuilder hex = new StringBuilder();
        for (String f : frames) {
            hex.append("'").append(f).append("',");
        }
        lines.add("ip netns exec " + senderNs + " python3 -c \"import socket,time\n"
                + "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW); s.bind(('" + port + "',0))\n"
                + "for f in [" + hex + "]:\n    s.send(bytes.fromhex(f)); time.sleep(0.02)\"");
        lines.add("sleep " + seconds);
        lines.add("kill -TERM $recorders");
        lines.add("wait");
        return run(seconds + 90, null, List.of("bash", "-c", String.join("\n", lines)));
    }

    /** The capture times of the frames of a classic pcap file, in microseconds (as {@link #pcapFrames} reads it). */
    public static List<Long> pcapMicros(java.nio.file.Path pcap) throws IOException {
        byte[] d = java.nio.file.Files.readAllBytes(pcap);
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(d).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        List<Long> out = new ArrayList<>();
        for (int at = 24; at + 16 <= d.length; ) {
            out.add(Integer.toUnsignedLong(bb.getInt(at)) * 1_000_000L + Integer.toUnsignedLong(bb.getInt(at + 4)));
            at += 16 + bb.getInt(at + 8);
        }
        return out;
    }

    /** Runs {@code command} (30 s at most) with nothing on its standard input. */
    public static Result run(String... command) {
        return run(SECONDS, null, List.of(command));
    }

    /** Runs {@code command} for at most {@code seconds}, {@code stdin} (or nothing, when null) on its input. */
    public static Result run(int seconds, String stdin, List<String> command) {
        Process p;
        try {
            p = new ProcessBuilder(command).start();
        } catch (IOException e) {
            return new Result(-1, "", e.toString());
        }
        // both outputs read at once, so a command filling one pipe never waits on the other
        CompletableFuture<String> out = read(p.getInputStream());
        CompletableFuture<String> err = read(p.getErrorStream());
        try (OutputStream in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            // the command ended without reading its input: its exit code says what happened
        }
        try {
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, out.getNow(""), "timeout after " + seconds + " s");
            }
            return new Result(p.exitValue(), out.join(), err.join());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            return new Result(-1, "", e.toString());
        }
    }

    private static CompletableFuture<String> read(java.io.InputStream s) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return new String(s.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        });
    }

    /** Runs {@code command}; its standard output, or an exception with its error output when it fails. */
    public static String must(String... command) {
        Result r = run(command);
        if (!r.ok()) {
            throw new IllegalStateException(String.join(" ", command) + " failed (" + r.exit() + "): "
                    + r.stderr().strip());
        }
        return r.stdout();
    }

    /** {@code command} as run inside network namespace {@code namespace} ({@code ip netns exec}). */
    public static String[] in(String namespace, String... command) {
        String[] all = new String[command.length + 4];
        all[0] = "ip";
        all[1] = "netns";
        all[2] = "exec";
        all[3] = namespace;
        System.arraycopy(command, 0, all, 4, command.length);
        return all;
    }

    /** Adds the network namespaces; false (nothing left behind) when one cannot be added. */
    public static boolean addNamespaces(String... names) {
        for (int i = 0; i < names.length; i++) {
            if (!run("ip", "netns", "add", names[i]).ok()) {
                deleteNamespaces(java.util.Arrays.copyOf(names, i));
                return false;
            }
        }
        return true;
    }

    /**
     * The shell lines (for {@code bash -c}) of the three-namespace line the packet tests forward through:
     * {@code PREFIX-a}, {@code PREFIX-b} (the router) and {@code PREFIX-c}, lo up in each, veth pairs va (in a) to vba
     * (in b) and vc (in c) to vbc (in b), all four up; {@code macs} are va, vba, vc, vbc's addresses (null, or none
     * given: the kernel's). Addresses, routes and sysctls are the test's.
     */
    public static List<String> routerBetween(String prefix, String... macs) {
        String a = prefix + "-a";
        String b = prefix + "-b";
        String c = prefix + "-c";
        return List.of("for n in " + a + " " + b + " " + c + "; do ip netns add $n; ip -n $n link set lo up; done",
                "ip link add va netns " + a + mac(macs, 0) + " type veth peer name vba netns " + b + mac(macs, 1),
                "ip link add vc netns " + c + mac(macs, 2) + " type veth peer name vbc netns " + b + mac(macs, 3),
                "for x in " + a + ":va " + b + ":vba " + b + ":vbc " + c + ":vc; do ip -n ${x%%:*} link set ${x##*:} up;"
                        + " done");
    }

    /** The three namespaces of {@link #routerLine} and the test's scratch directory. */
    public record RouterLine(java.nio.file.Path dir, String a, String b, String c) {
    }

    /**
     * The {@code @BeforeAll} prologue of the tests that forward through router b: with {@code skipReason} (from
     * {@link #unavailable} or the test's own check) prints {@link #skipped} and answers null; else makes a scratch
     * directory ({@code scratch} its name's prefix) and the namespaces of {@link #routerBetween} with {@code macs},
     * then runs the test's {@code setup} lines on them ({@code bash -c} with {@code set -e}, 60 s at most).
     *
     * @throws IllegalStateException with the shell's output when the setup fails
     */
    public static RouterLine routerLine(String testClass, String skipReason, String needs, String prefix,
            String scratch, java.util.function.Function<RouterLine, List<String>> setup, String... macs)
            throws IOException {
        if (skipReason != null) {
            skipped(testClass, skipReason, needs);
            return null;
        }
        RouterLine line = new RouterLine(java.nio.file.Files.createTempDirectory(scratch), prefix + "-a",
                prefix + "-b", prefix + "-c");
        List<String> lines = new ArrayList<>(List.of("set -e"));
        lines.addAll(routerBetween(prefix, macs));
        lines.addAll(setup.apply(line));
        Result done = run(60, null, List.of("bash", "-c", String.join("\n", lines)));
        if (!done.ok()) {
            throw new IllegalStateException(testClass + ": the namespaces' setup failed (" + done.exit() + "): "
                    + done.stdout() + done.stderr());
        }
        return line;
    }

    private static String mac(String[] macs, int i) {
        return i < macs.length && macs[i] != null ? " address " + macs[i] : "";
    }

    /** Deletes a test's scratch directory and the files in it (captures, rule files); null: nothing to delete. */
    public static void deleteScratch(java.nio.file.Path dir) throws IOException {
        if (dir == null) {
            return;
        }
        try (var files = java.nio.file.Files.list(dir)) {
            for (java.nio.file.Path f : files.toList()) {
                java.nio.file.Files.delete(f);
            }
        }
        java.nio.file.Files.delete(dir);
    }

    /** The frames of a classic pcap file as tcpdump -w writes it on this machine (little-endian headers). */
    public static List<byte[]> pcapFrames(java.nio.file.Path pcap) throws IOException {
        byte[] d = java.nio.file.Files.readAllBytes(pcap);
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(d).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        List<byte[]> out = new ArrayList<>();
        for (int at = 24; at + 16 <= d.length; ) {
            int caplen = bb.getInt(at + 8);
            out.add(java.util.Arrays.copyOfRange(d, at + 16, at + 16 + caplen));
            at += 16 + caplen;
        }
        return out;
    }

    /** Deletes the network namespaces (their interfaces go with them); ones already gone are passed over. */
    public static void deleteNamespaces(String... names) {
        for (String n : names) {
            run("ip", "netns", "del", n);
        }
    }
}
