package org.jnetfilter.core.reply;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.testkit.KernelSide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The golden comparisons of {@link RejectRepliesKernelGoldenTest}, {@link LogLineKernelGoldenTest} and
 * {@link DefragKernelGoldenTest} against a fresh recording of the running kernel: tools/replies/record.sh and
 * record-defrag.sh run into a temporary directory (namespaces jnf-replies-*, deleted afterwards; record.sh
 * sets net.netfilter.nf_log_all_netns for its run and restores it). Runs only as root with ip netns,
 * iptables-legacy and python3, and JNF_SKIP_KERNEL_TESTS unset; otherwise skipped with the reason printed.
 */
class KernelRepliesDifferentialTest {
    private static String skipReason;
    private static Path dir;
    private static Map<String, KernelRecording.Probe> replies;
    private static String logLines;
    private static Map<String, DefragKernelGoldenTest.Probe> defrag;

    @BeforeAll
    static void record() throws Exception {
        Path tools = Path.of("..", "tools", "replies").toAbsolutePath().normalize();
        skipReason = KernelSide.unavailable("iptables-legacy", "python3");
        if (skipReason == null && !Files.isExecutable(tools.resolve("record.sh"))) {
            skipReason = "tools/replies/record.sh not found from " + Path.of("").toAbsolutePath();
        }
        if (skipReason != null) {
            KernelSide.skipped("KernelRepliesDifferentialTest", skipReason, "root, ip netns, iptables-legacy, python3");
            return;
        }
        dir = Files.createTempDirectory("jnf-replies");
        assertThat(run(180, tools.resolve("record.sh").toString(), dir.toString())).as("record.sh").isZero();
        assertThat(run(180, tools.resolve("record-defrag.sh").toString(), dir.toString())).as("record-defrag.sh")
                .isZero();
        replies = KernelRecording.probes(Files.readString(dir.resolve("kernel-replies.txt")));
        logLines = Files.readString(dir.resolve("kernel-log-lines.txt"));
        defrag = DefragKernelGoldenTest.probes(Files.readString(dir.resolve("kernel-defrag.txt")));
    }

    @AfterAll
    static void clean() throws IOException {
        if (dir != null) {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    /** Runs a recording script; its output is printed when it fails. */
    private static int run(int seconds, String... command) {
        KernelSide.Result r = KernelSide.run(seconds, null, List.of(command));
        if (!r.ok()) {
            System.err.println(String.join(" ", command) + ":\n" + r.stdout() + r.stderr());
        }
        return r.exit();
    }

    private static void assumeKernel() {
        Assumptions.assumeTrue(skipReason == null, () -> "kernel differential test skipped: " + skipReason);
    }

    static java.util.stream.Stream<Arguments> rejectedProbes() {
        return RejectRepliesKernelGoldenTest.rejectedProbes();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejectedProbes")
    void rejectRepliesAreTheRunningKernels(String probe, int rejectWith) {
        assumeKernel();
        RejectRepliesKernelGoldenTest.compare(replies, probe, rejectWith);
    }

    @Test
    void icmpRateLimitsAreTheRunningKernels() {
        assumeKernel();
        RejectRepliesKernelGoldenTest.compareRateLimits(replies, false);
    }

    @Test
    void logLinesAreTheRunningKernels() {
        assumeKernel();
        LogLineKernelGoldenTest.compare(replies, logLines);
    }

    static java.util.stream.Stream<Arguments> forwardedProbes() {
        return DefragKernelGoldenTest.forwardedProbes();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("forwardedProbes")
    void reassemblyAndRefragmentationAreTheRunningKernels(String name, int egressMtu) {
        assumeKernel();
        DefragKernelGoldenTest.compareForwarded(defrag, name, egressMtu);
    }

    @Test
    void fragmentationNeededAndExpiryErrorsAreTheRunningKernels() {
        assumeKernel();
        DefragKernelGoldenTest.compareFragmentationNeeded(defrag);
        DefragKernelGoldenTest.compareExpiry(defrag);
    }
}
