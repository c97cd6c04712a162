package org.jnetfilter.difftest;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.EthernetHeader;
import org.jnetfilter.core.packet.Ipv4Header;

/**
 * Kernel versus engine, for one case. Frames are compared byte for byte after one normalisation, by
 * rule: a field the kernel fills with its own random value (the IPv4 identification and the IPv6 flow
 * label of packets it generates) is compared only when the kernel's frame carries the injected
 * packet's value, i.e. when the kernel copied it. Where a field is masked, the IPv4 header checksum
 * is masked too, and instead both frames must have a valid one.
 */
public final class Comparison {
    public enum Kind { RULESET, FRAMES, COUNTERS, CONNTRACK }

    /** One difference; {@code packet} is the injected packet's index, or -1 for the whole case. */
    public record Mismatch(Kind kind, int packet, String detail) {
        @Override
        public String toString() {
            return kind + (packet >= 0 ? " after packet #" + packet : "") + ": " + detail;
        }
    }

    private Comparison() {
    }

    public static List<Mismatch> compare(List<Injection> packets, Observation kernel, Observation engine,
            KnownGaps gaps) {
        List<Mismatch> out = new ArrayList<>();
        if (!gaps.has("compare.packets")) {
            for (int i = 0; i < packets.size(); i++) {
                List<Observation.Emitted> k = kernel.emitted().get(i);
                List<Observation.Emitted> e = i < engine.emitted().size() ? engine.emitted().get(i) : List.of();
                List<String> kn = new ArrayList<>();
                List<String> en = new ArrayList<>();
                for (int j = 0; j < Math.max(k.size(), e.size()); j++) {
                    byte[] kf = j < k.size() ? k.get(j).frame() : null;
                    byte[] ef = j < e.size() ? e.get(j).frame() : null;
                    kn.add(j < k.size() ? k.get(j).dutInterface() + " " + normalise(kf, ef, packets.get(i).frame(), true)
                            : "-");
                    en.add(j < e.size() ? e.get(j).dutInterface() + " " + normalise(ef, kf, packets.get(i).frame(),
                            false) : "-");
                }
                if (!kn.equals(en)) {
                    out.add(new Mismatch(Kind.FRAMES, i, "kernel sent " + describe(k) + "; engine sent " + describe(e)
                            + "\n      kernel " + kn + "\n      engine " + en));
                }
            }
        }
        if (!gaps.has("compare.counters")) {
            counters(out, "ipv4", kernel.counters4(), engine.counters4());
            counters(out, "ipv6", kernel.counters6(), engine.counters6());
        }
        if (!gaps.has("compare.conntrack") && !kernel.conntrack().equals(engine.conntrack())) {
            List<String> onlyKernel = new ArrayList<>(kernel.conntrack());
            onlyKernel.removeAll(engine.conntrack());
            List<String> onlyEngine = new ArrayList<>(engine.conntrack());
            onlyEngine.removeAll(kernel.conntrack());
            out.add(new Mismatch(Kind.CONNTRACK, -1, "only in the kernel: " + onlyKernel + "; only in the engine: "
                    + onlyEngine));
        }
        return out;
    }

    private static String describe(List<Observation.Emitted> frames) {
        return frames.isEmpty() ? "nothing" : frames.toString();
    }

    private static void counters(List<Mismatch> out, String family, Map<String, String> k, Map<String, String> e) {
        for (String key : new TreeSet<>(union(k, e))) {
            String kv = k.getOrDefault(key, "absent");
            String ev = e.getOrDefault(key, "absent");
            if (!kv.equals(ev)) {
                out.add(new Mismatch(Kind.COUNTERS, -1, family + " " + key + ": kernel " + kv + ", engine " + ev));
            }
        }
    }

    private static java.util.Set<String> union(Map<String, String> a, Map<String, String> b) {
        java.util.Set<String> s = new java.util.HashSet<>(a.keySet());
        s.addAll(b.keySet());
        return s;
    }

    /**
     * The frame as hex with kernel-random fields cleared where the kernel's frame ({@code kernel ?
     * frame : other}) does not carry the injected packet's value.
     */
    static String normalise(byte[] frame, byte[] other, byte[] injected, boolean isKernel) {
        if (frame == null) {
            return "-";
        }
        byte[] kernelFrame = isKernel ? frame : other;
        byte[] f = frame.clone();
        int l3 = EthernetHeader.LENGTH;
        if (f.length >= l3 + 20 && injected.length >= l3 + 20 && ((f[l3] >> 4) & 0xF) == 4
                && ((f[12] & 0xFF) << 8 | (f[13] & 0xFF)) == EthernetHeader.ETH_P_IP) {
            MemorySegment s = MemorySegment.ofArray(f);
            boolean kernelCopied = kernelFrame != null && kernelFrame.length >= l3 + 20
                    && kernelFrame[l3 + Ipv4Header.IDENTIFICATION] == injected[l3 + Ipv4Header.IDENTIFICATION]
                    && kernelFrame[l3 + Ipv4Header.IDENTIFICATION + 1] == injected[l3 + Ipv4Header.IDENTIFICATION + 1];
            if (!kernelCopied) {
                int hl = (f[l3] & 0xF) * 4;
                boolean valid = hl >= 20 && f.length >= l3 + hl && Checksums.ipv4HeaderValid(s, l3);
                f[l3 + Ipv4Header.IDENTIFICATION] = 0;
                f[l3 + Ipv4Header.IDENTIFICATION + 1] = 0;
                f[l3 + Ipv4Header.CHECKSUM] = (byte) (valid ? 0xC0 : 0xBA);
                f[l3 + Ipv4Header.CHECKSUM + 1] = (byte) (valid ? 0x0D : 0xD0);
                // the quoted packet of an ICMP error carries no kernel randomness; its checksum is the sender's
            }
        } else if (f.length >= l3 + 40 && injected.length >= l3 + 40 && ((f[l3] >> 4) & 0xF) == 6) {
            boolean kernelCopied = kernelFrame != null && kernelFrame.length >= l3 + 4
                    && (kernelFrame[l3 + 1] & 0x0F) == (injected[l3 + 1] & 0x0F)
                    && kernelFrame[l3 + 2] == injected[l3 + 2] && kernelFrame[l3 + 3] == injected[l3 + 3];
            if (!kernelCopied) {
                f[l3 + 1] &= (byte) 0xF0;
                f[l3 + 2] = 0;
                f[l3 + 3] = 0;
            }
        }
        return HexFormat.of().formatHex(f);
    }
}
