package org.jnetfilter.difftest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Everything observable about one case on one side (kernel or jnetfilter): per injected packet the
 * frames dut sent (interface and bytes, in order), the counters of both families' tables, and the
 * conntrack table as {@code conntrack -L} prints it (timeouts removed: they tick). The kernel side also
 * tells when it sent each packet ({@code sentAtNanos}, wall clock), the clock jnetfilter then runs on, and as one
 * stamp more when it listed its connections. {@code endlessLoop}: jnetfilter met a packet whose looped-back copies
 * never end (a TEE copy that comes back to its TEE, Linux copying for ever), so the case cannot be compared.
 */
public record Observation(List<List<Emitted>> emitted, Map<String, String> counters4, Map<String, String> counters6,
        List<String> conntrack, List<Long> sentAtNanos, boolean endlessLoop) {
    public Observation(List<List<Emitted>> emitted, Map<String, String> counters4, Map<String, String> counters6,
            List<String> conntrack) {
        this(emitted, counters4, counters6, conntrack, List.of());
    }

    public Observation(List<List<Emitted>> emitted, Map<String, String> counters4, Map<String, String> counters6,
            List<String> conntrack, List<Long> sentAtNanos) {
        this(emitted, counters4, counters6, conntrack, sentAtNanos, false);
    }

    /** One frame dut sent on {@code dutInterface} ({@code veth-a} or {@code veth-b}). */
    public record Emitted(String dutInterface, byte[] frame) {
        /** The interface name of an engine's exception (its text in place of the frame). */
        public static final String ENGINE_FAILURE = "!exception";

        @Override
        public String toString() {
            if (dutInterface.equals(ENGINE_FAILURE)) {
                return "engine exception: " + new String(frame, java.nio.charset.StandardCharsets.UTF_8);
            }
            return dutInterface + " " + Frames.describe(frame);
        }
    }

    static Observation of(List<Injection> in, List<List<Wire.Captured>> out, String save4, String save6, String ct,
            List<Long> sentAtNanos) {
        // sentAtNanos: one stamp a packet, then the moment the connections were listed (KernelDut#run)
        List<List<Emitted>> emitted = new ArrayList<>(out.size());
        for (List<Wire.Captured> one : out) {
            List<Emitted> e = new ArrayList<>(one.size());
            for (Wire.Captured c : one) {
                if (!Frames.isNeighbourDiscovery(c.frame()) && !Frames.isReassemblyTimeout(c.frame())) {
                    e.add(new Emitted(c.dutInterface(), c.frame()));
                }
            }
            emitted.add(e);
        }
        return new Observation(emitted, Rulesets.counters(save4), Rulesets.counters(save6), conntrackLines(ct),
                List.copyOf(sentAtNanos));
    }

    /** conntrack -L lines with the timeout (third field) dropped and sorted: the table is unordered. */
    static List<String> conntrackLines(String text) {
        List<String> lines = new ArrayList<>();
        for (String line : text.split("\n")) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("conntrack v")) {
                continue;
            }
            String[] w = l.split("\\s+");
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < w.length; i++) {
                if (i == 2 && w[i].matches("\\d+")) {
                    continue;
                }
                if (s.length() > 0) {
                    s.append(' ');
                }
                s.append(w[i]);
            }
            lines.add(s.toString());
        }
        lines.sort(null);
        return lines;
    }

    public int frameCount() {
        int n = 0;
        for (List<Emitted> e : emitted) {
            n += e.size();
        }
        return n;
    }
}
