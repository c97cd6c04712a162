package org.jnetfilter.difftest;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.EthernetHeader;
import org.jnetfilter.core.packet.IcmpHeader;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.packet.Ipv6Header;

/**
 * Kernel versus engine, for one case. Frames are compared byte for byte after one normalisation, by
 * rule: a field the kernel fills with its own random value (the IPv4 identification and the IPv6 flow
 * label of packets it generates) is compared only when the kernel's frame carries the injected
 * packet's value, i.e. when the kernel copied it (for IPv4, only in a frame of the injected packet's
 * protocol and ICMP type: an answer's random ID may equal the injected one by chance). Where a field is masked, the IPv4 header checksum
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
        return compare(packets, kernel, engine, gaps, false);
    }

    /** Whether a ruleset has NAT rules that draw ports at random (--random, --random-fully): see {@link #compare}. */
    public static boolean randomNat(String... rulesets) {
        for (String r : rulesets) {
            if (r.contains("--random")) {
                return true;
            }
        }
        return false;
    }

    /**
     * The differences; with {@code randomNat} a NAT-chosen port or echo identifier is compared by rule whenever
     * either side changed it: the kernel's random draw may give back the packet's own value.
     */
    public static List<Mismatch> compare(List<Injection> packets, Observation kernel, Observation engine,
            KnownGaps gaps, boolean randomNat) {
        List<Mismatch> out = new ArrayList<>();
        if (!gaps.has("compare.packets")) {
            for (int i = 0; i < packets.size(); i++) {
                List<Observation.Emitted> k = byInterface(kernel.emitted().get(i));
                List<Observation.Emitted> e = byInterface(i < engine.emitted().size() ? engine.emitted().get(i)
                        : List.of());
                List<String> kn = new ArrayList<>();
                List<String> en = new ArrayList<>();
                for (int j = 0; j < Math.max(k.size(), e.size()); j++) {
                    byte[] kf = j < k.size() ? k.get(j).frame() : null;
                    byte[] ef = j < e.size() ? e.get(j).frame() : null;
                    kn.add(j < k.size() ? k.get(j).dutInterface() + " " + normalise(kf, ef, packets.get(i).frame(), true, randomNat)
                            : "-");
                    en.add(j < e.size() ? e.get(j).dutInterface() + " " + normalise(ef, kf, packets.get(i).frame(),
                            false, randomNat) : "-");
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
        List<String> kct = natPortsByClass(kernel.conntrack(), randomNat);
        List<String> ect = natPortsByClass(engine.conntrack(), randomNat);
        if (!gaps.has("compare.conntrack") && !kct.equals(ect)) {
            List<String> onlyKernel = new ArrayList<>(kct);
            onlyKernel.removeAll(ect);
            List<String> onlyEngine = new ArrayList<>(ect);
            onlyEngine.removeAll(kct);
            out.add(new Mismatch(Kind.CONNTRACK, -1, "only in the kernel: " + onlyKernel + "; only in the engine: "
                    + onlyEngine));
        }
        return out;
    }

    /**
     * The frames of one packet grouped by interface, each interface's in the order sent: the kernel side reads
     * side a's wire end to its marker before side b's, so the order between interfaces is not observed.
     */
    static List<Observation.Emitted> byInterface(List<Observation.Emitted> frames) {
        List<Observation.Emitted> out = new ArrayList<>(frames);
        out.sort(java.util.Comparator.comparing(Observation.Emitted::dutInterface));
        return out;
    }

    private static final java.util.regex.Pattern CT_PORTS = java.util.regex.Pattern.compile(
            "sport=(\\d+) dport=(\\d+)(.*?)sport=(\\d+) dport=(\\d+)");
    private static final java.util.regex.Pattern CT_ECHO_IDS = java.util.regex.Pattern.compile(
            "type=(?:8|128) code=0 id=(\\d+)(.*?)type=(?:0|129) code=0 id=(\\d+)");

    /**
     * conntrack -L lines with a reply destination port that differs from the original source port (a port
     * NAT chose) replaced by its class, and a reply echo identifier that differs from the original one by a
     * mark, as in frames; sorted again.
     */
    static List<String> natPortsByClass(List<String> lines) {
        return natPortsByClass(lines, false);
    }

    /** As {@link #natPortsByClass(List)}; with {@code randomNat} every reply port and echo identifier so. */
    static List<String> natPortsByClass(List<String> lines, boolean randomNat) {
        List<String> out = new ArrayList<>();
        for (String l : lines) {
            java.util.regex.Matcher m = CT_PORTS.matcher(l);
            if (m.find() && (randomNat || !m.group(1).equals(m.group(5)))) {
                l = l.substring(0, m.start(5)) + "<" + portClass(Integer.parseInt(m.group(5))) + ">" + l.substring(m.end(5));
            }
            java.util.regex.Matcher e = CT_ECHO_IDS.matcher(l);
            if (e.find() && (randomNat || !e.group(1).equals(e.group(3)))) {
                // an echo identifier NAT chose (see normalise)
                l = l.substring(0, e.start(3)) + "<id>" + l.substring(e.end(3));
            }
            out.add(l);
        }
        out.sort(null);
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
        return normalise(frame, other, injected, isKernel, false);
    }

    static String normalise(byte[] frame, byte[] other, byte[] injected, boolean isKernel, boolean randomNat) {
        if (frame == null) {
            return "-";
        }
        byte[] kernelFrame = isKernel ? frame : other;
        byte[] f = frame.clone();
        int l3 = EthernetHeader.LENGTH;
        boolean timesMasked = timesOfDayByRule(f, other);
        if (f.length >= l3 + 20 && injected.length >= l3 + 20 && ((f[l3] >> 4) & 0xF) == 4
                && ((f[12] & 0xFF) << 8 | (f[13] & 0xFF)) == EthernetHeader.ETH_P_IP) {
            MemorySegment s = MemorySegment.ofArray(f);
            boolean kernelCopied = kernelFrame != null && kernelFrame.length >= l3 + 20
                    && kernelFrame[l3 + Ipv4Header.IDENTIFICATION] == injected[l3 + Ipv4Header.IDENTIFICATION]
                    && kernelFrame[l3 + Ipv4Header.IDENTIFICATION + 1] == injected[l3 + Ipv4Header.IDENTIFICATION + 1]
                    && sameKind(kernelFrame, injected, l3);
            if (!kernelCopied) {
                int hl = (f[l3] & 0xF) * 4;
                boolean valid = hl >= 20 && f.length >= l3 + hl && Checksums.ipv4HeaderValid(MemorySegment.ofArray(frame), l3);
                f[l3 + Ipv4Header.IDENTIFICATION] = 0;
                f[l3 + Ipv4Header.IDENTIFICATION + 1] = 0;
                if (!timesMasked) {
                    f[l3 + Ipv4Header.CHECKSUM] = (byte) (valid ? 0xC0 : 0xBA);
                    f[l3 + Ipv4Header.CHECKSUM + 1] = (byte) (valid ? 0x0D : 0xD0);
                }
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
            // the identification of a Fragment header the kernel wrote itself (refragmenting a reassembled
            // datagram: ipv6_select_ident draws it): compared only when the kernel kept the injected one
            int fh = l3 + Ipv6Header.LENGTH;
            if ((f[l3 + 6] & 0xFF) == Ipv6Header.NEXTHDR_FRAGMENT && f.length >= fh + 8) {
                boolean idCopied = kernelFrame != null && kernelFrame.length >= fh + 8 && injected.length >= fh + 8
                        && (injected[l3 + 6] & 0xFF) == Ipv6Header.NEXTHDR_FRAGMENT
                        && java.util.Arrays.equals(kernelFrame, fh + 4, fh + 8, injected, fh + 4, fh + 8);
                if (!idCopied) {
                    java.util.Arrays.fill(f, fh + 4, fh + 8, (byte) 0);
                }
            }
        }
        String suffix = "";
        int sportAt = sourcePortOffset(f);
        if (sportAt > 0 && kernelFrame != null && sourcePortOffset(kernelFrame) == sportAt
                && sourcePortOffset(injected) == sportAt && (port(kernelFrame, sportAt) != port(injected, sportAt)
                        || randomNat && changed(frame, sportAt, injected) || randomNat && changed(other, sportAt, injected))) {
            // a source port the kernel chose (NAT's unique-tuple search draws its offset at random for source
            // manips): compared by the range it is drawn from, the transport checksum by validity (in a first
            // fragment, which has not the whole datagram, by its difference from the kernel's: the ports' alone)
            int mine = port(f, sportAt);
            boolean valid = isFragment(f) ? isKernel || checksumFollowsPort(f, kernelFrame, sportAt) : transportValid(f);
            f[sportAt] = 0;
            f[sportAt + 1] = 0;
            int c = transportChecksumOffset(f);
            if (c > 0) {
                f[c] = 0;
                f[c + 1] = 0;
            }
            suffix = " <source port " + portClass(mine) + ", transport checksum " + (valid ? "ok" : "BAD") + ">";
        }
        int idAt = echoIdOffset(f);
        if (suffix.isEmpty() && idAt > 0 && kernelFrame != null && echoIdOffset(kernelFrame) == idAt
                && echoIdOffset(injected) == idAt && (port(kernelFrame, idAt) != port(injected, idAt)
                        || randomNat && changed(frame, idAt, injected) || randomNat && changed(other, idAt, injected))) {
            // an echo identifier the kernel chose: NAT's unique-tuple search treats it as ICMP's port, drawn at
            // random over 0-65535 under --random-fully; compared by rule, the ICMP checksum by validity
            boolean valid = echoChecksumValid(f);
            f[idAt] = 0;
            f[idAt + 1] = 0;
            f[idAt - 2] = 0;
            f[idAt - 1] = 0;
            suffix = " <echo id chosen by NAT, ICMP checksum " + (valid ? "ok" : "BAD") + ">";
        }
        return HexFormat.of().formatHex(f) + suffix;
    }

    /** A time of day both sides wrote, compared by rule ({@link #timesOfDayByRule}). */
    static final int TIME_OF_DAY = 0x7E7E7E7E;
    /** How far apart two times of day written for one packet may be (ms): the kernel's clock ran on meanwhile. */
    static final int TIME_OF_DAY_SLACK_MILLIS = 1000;
    private static final int MILLIS_PER_DAY = 86_400_000;

    /**
     * dut writes its clock into IPv4 timestamp options (inet_current_timestamp: milliseconds since midnight UTC) when
     * it receives, forwards or answers a datagram; jnetfilter writes the clock of the kernel side's marker, a moment
     * later. So a time in a timestamp option of {@code f} (its IPv4 header, and the quoted header of an ICMP error) is
     * compared by rule where it differs from {@code other}'s at the same place: both must be times of day (below
     * 86,400,000) within {@link #TIME_OF_DAY_SLACK_MILLIS} of each other (around midnight too); then both become
     * {@link #TIME_OF_DAY}, and the checksums over them (the IPv4 header's, an ICMP message's) are compared by
     * validity. Every other byte, and a time with no counterpart or too far off, is compared by value. Returns whether
     * the IPv4 header checksum was so replaced.
     */
    static boolean timesOfDayByRule(byte[] f, byte[] other) {
        int l3 = EthernetHeader.LENGTH;
        if (other == null || !isIpv4(f) || !isIpv4(other)) {
            return false;
        }
        int hl = (f[l3] & 0xF) * 4;
        if (hl < 20 || f.length < l3 + hl) {
            return false;
        }
        byte[] original = f.clone();
        MemorySegment s = MemorySegment.ofArray(original);
        boolean outer = markTimes(f, other, l3);
        boolean inner = false;
        int icmpAt = l3 + hl;
        boolean icmp = (f[l3 + Ipv4Header.PROTOCOL] & 0xFF) == Checksums.PROTO_ICMP && !isFragment(f);
        int icmpLength = Math.min(((f[l3 + 2] & 0xFF) << 8 | (f[l3 + 3] & 0xFF)), f.length - l3) - hl;
        if (icmp && icmpLength >= 8 + 20) {
            int type = f[icmpAt] & 0xFF;
            if (type == IcmpHeader.DEST_UNREACH || type == IcmpHeader.TIME_EXCEEDED
                    || type == IcmpHeader.PARAMETER_PROBLEM) {
                inner = markTimes(f, other, icmpAt + 8);
            }
        }
        if (outer) {
            boolean valid = Checksums.ipv4HeaderValid(s, l3);
            f[l3 + Ipv4Header.CHECKSUM] = (byte) (valid ? 0xC0 : 0xBA);
            f[l3 + Ipv4Header.CHECKSUM + 1] = (byte) (valid ? 0x0D : 0xD0);
        }
        if ((outer || inner) && icmp && icmpLength >= 4) {
            boolean valid = Checksums.icmpValid(s, icmpAt, icmpLength);
            f[icmpAt + 2] = (byte) (valid ? 0xC0 : 0xBA);
            f[icmpAt + 3] = (byte) (valid ? 0x0D : 0xD0);
        }
        return outer;
    }

    private static boolean isIpv4(byte[] f) {
        int l3 = EthernetHeader.LENGTH;
        return f.length >= l3 + 20 && ((f[12] & 0xFF) << 8 | (f[13] & 0xFF)) == EthernetHeader.ETH_P_IP
                && ((f[l3] >> 4) & 0xF) == 4;
    }

    /**
     * Replaces in {@code f} the times of the timestamp option of the IPv4 header at {@code ip} that differ from
     * {@code other}'s at the same offsets by no more than the slack; true when one was.
     */
    private static boolean markTimes(byte[] f, byte[] other, int ip) {
        int hl = (f[ip] & 0xF) * 4;
        if (hl <= 20 || ip + hl > f.length || ip + hl > other.length || (other[ip] & 0xF) * 4 != hl) {
            return false;
        }
        boolean marked = false;
        for (int at = ip + 20; at < ip + hl; ) {
            int type = f[at] & 0xFF;
            if (type == 0) {
                break;
            }
            if (type == 1) {
                at++;
                continue;
            }
            if (at + 1 >= ip + hl) {
                break;
            }
            int len = f[at + 1] & 0xFF;
            if (len < 2 || at + len > ip + hl) {
                break;
            }
            if (type == 68 && len >= 8 && (other[at] & 0xFF) == 68) {
                int flag = f[at + 3] & 0xF;
                int step = flag == 0 ? 4 : 8;
                for (int t = at + (flag == 0 ? 4 : 8); t + 4 <= at + len; t += step) {
                    int mine = port(f, t) << 16 | port(f, t + 2);
                    int theirs = port(other, t) << 16 | port(other, t + 2);
                    if (mine != theirs && closeTimesOfDay(mine, theirs)) {
                        f[t] = (byte) (TIME_OF_DAY >>> 24);
                        f[t + 1] = (byte) (TIME_OF_DAY >>> 16);
                        f[t + 2] = (byte) (TIME_OF_DAY >>> 8);
                        f[t + 3] = (byte) TIME_OF_DAY;
                        marked = true;
                    }
                }
            }
            at += len;
        }
        return marked;
    }

    private static boolean closeTimesOfDay(int a, int b) {
        if (a < 0 || b < 0 || a >= MILLIS_PER_DAY || b >= MILLIS_PER_DAY) {
            return false;
        }
        int d = Math.abs(a - b);
        return Math.min(d, MILLIS_PER_DAY - d) <= TIME_OF_DAY_SLACK_MILLIS;
    }

    /**
     * Whether the kernel's IPv4 frame can be the injected datagram passed on rather than one the kernel made in
     * answer to it: the same protocol and, for ICMP, the same type. An answer (an ICMP error or echo reply drawn by
     * ip_select_ident, not DF) carries a hashed counter that equals the injected ID by chance once in 65,536
     * frames: often enough across a CI run to compare a random value.
     */
    private static boolean sameKind(byte[] kernelFrame, byte[] injected, int l3) {
        int protocol = injected[l3 + Ipv4Header.PROTOCOL] & 0xFF;
        if ((kernelFrame[l3 + Ipv4Header.PROTOCOL] & 0xFF) != protocol) {
            return false;
        }
        if (protocol != Checksums.PROTO_ICMP) {
            return true;
        }
        int kernelType = l3 + (kernelFrame[l3] & 0xF) * 4;
        int injectedType = l3 + (injected[l3] & 0xF) * 4;
        return kernelFrame.length > kernelType && injected.length > injectedType
                && kernelFrame[kernelType] == injected[injectedType];
    }

    /** Whether {@code f} carries another 16-bit value than the injected frame at {@code at}. */
    private static boolean changed(byte[] f, int at, byte[] injected) {
        return f != null && f.length >= at + 2 && port(f, at) != port(injected, at);
    }

    private static boolean isFragment(byte[] f) {
        int l3 = EthernetHeader.LENGTH;
        return ((f[l3] >> 4) & 0xF) == 4 && ((f[l3 + 6] & 0x3F) << 8 | (f[l3 + 7] & 0xFF)) != 0;
    }

    /** Whether {@code f}'s transport checksum is the kernel frame's adjusted for the source port alone (RFC 1624). */
    private static boolean checksumFollowsPort(byte[] f, byte[] kernelFrame, int sportAt) {
        int c = transportChecksumOffset(f);
        if (c < 0 || transportChecksumOffset(kernelFrame) != c) {
            return false;
        }
        int kernelCheck = port(kernelFrame, c);
        int mine = port(f, c);
        if (kernelCheck == 0 || mine == 0) {
            return kernelCheck == mine; // a UDP datagram without a checksum keeps none
        }
        int expected = Checksums.update16(kernelCheck, port(kernelFrame, sportAt), port(f, sportAt));
        // 0 and 0xFFFF are the same sum; UDP writes 0xFFFF (RFC 768)
        return expected == mine || (expected == 0 || expected == 0xFFFF) && (mine == 0 || mine == 0xFFFF);
    }

    /** Where the identifier of an unfragmented IPv4 ICMP or ICMPv6 (no extension headers) echo is, or -1. */
    static int echoIdOffset(byte[] f) {
        int l4 = transportOffset(f);
        if (l4 < 0 || f.length < l4 + 8) {
            return -1;
        }
        int proto = transportProtocol(f);
        int type = f[l4] & 0xFF;
        boolean echo = proto == 1 ? type == 8 || type == 0 : proto == 58 && (type == 128 || type == 129);
        return echo && !isFragment(f) ? l4 + 4 : -1;
    }

    /** Where the transport header of an IPv4 (first fragment or whole) or IPv6 (no extension headers) frame starts, or -1. */
    private static int transportOffset(byte[] f) {
        int l3 = EthernetHeader.LENGTH;
        if (f.length < l3 + 28) {
            return -1;
        }
        int type = (f[12] & 0xFF) << 8 | (f[13] & 0xFF);
        if (type == EthernetHeader.ETH_P_IP && ((f[l3] >> 4) & 0xF) == 4) {
            boolean laterFragment = ((f[l3 + 6] & 0x1F) << 8 | (f[l3 + 7] & 0xFF)) != 0;
            return laterFragment ? -1 : l3 + (f[l3] & 0xF) * 4;
        }
        return type == EthernetHeader.ETH_P_IPV6 && f.length >= l3 + 48 ? l3 + 40 : -1;
    }

    /** The IPv4 protocol or IPv6 next header of a frame {@link #transportOffset} accepts. */
    private static int transportProtocol(byte[] f) {
        int l3 = EthernetHeader.LENGTH;
        return ((f[l3] >> 4) & 0xF) == 4 ? f[l3 + 9] & 0xFF : f[l3 + 6] & 0xFF;
    }

    private static boolean echoChecksumValid(byte[] f) {
        MemorySegment s = MemorySegment.ofArray(f);
        int l3 = EthernetHeader.LENGTH;
        if (((f[l3] >> 4) & 0xF) == 6) {
            int len = (f[l3 + 4] & 0xFF) << 8 | (f[l3 + 5] & 0xFF);
            return l3 + 40 + len <= f.length && Checksums.icmpv6Valid(s, l3, l3 + 40, len);
        }
        int hl = (f[l3] & 0xF) * 4;
        int len = ((f[l3 + 2] & 0xFF) << 8 | (f[l3 + 3] & 0xFF)) - hl;
        return l3 + hl + len <= f.length && Checksums.icmpValid(s, l3 + hl, len);
    }

    /** The class of a port as nf_nat_l4proto_unique_tuple draws it: 1-511, 600-1023 (from below 1024), or above. */
    static String portClass(int p) {
        return p < 512 ? "1-511" : p < 1024 ? "512-1023" : "1024-65535";
    }

    private static int port(byte[] f, int at) {
        return (f[at] & 0xFF) << 8 | (f[at + 1] & 0xFF);
    }

    /** Where the TCP/UDP source port of an IPv4 (first fragment or whole) or IPv6 (no extension headers) frame is, or -1. */
    static int sourcePortOffset(byte[] f) {
        int l4 = transportOffset(f);
        if (l4 < 0) {
            return -1;
        }
        int proto = transportProtocol(f);
        return (proto == 6 || proto == 17) && f.length >= l4 + 8 ? l4 : -1;
    }

    private static int transportChecksumOffset(byte[] f) {
        int at = sourcePortOffset(f);
        if (at < 0) {
            return -1;
        }
        int l3 = EthernetHeader.LENGTH;
        boolean v6 = ((f[l3] >> 4) & 0xF) == 6;
        int proto = v6 ? f[l3 + 6] & 0xFF : f[l3 + 9] & 0xFF;
        return proto == 6 ? (f.length >= at + 18 ? at + 16 : -1) : at + 6;
    }

    private static boolean transportValid(byte[] f) {
        MemorySegment s = MemorySegment.ofArray(f);
        int l3 = EthernetHeader.LENGTH;
        int at = sourcePortOffset(f);
        boolean v6 = ((f[l3] >> 4) & 0xF) == 6;
        int proto = v6 ? f[l3 + 6] & 0xFF : f[l3 + 9] & 0xFF;
        int len = v6 ? ((f[l3 + 4] & 0xFF) << 8 | (f[l3 + 5] & 0xFF))
                : ((f[l3 + 2] & 0xFF) << 8 | (f[l3 + 3] & 0xFF)) - (f[l3] & 0xF) * 4;
        if (at + len > f.length) {
            return false;
        }
        if (v6) {
            return proto == 6 ? Checksums.tcpV6Valid(s, l3, at, len) : Checksums.udpV6Valid(s, l3, at, len);
        }
        int src = s.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), l3 + 12);
        int dst = s.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), l3 + 16);
        return proto == 6 ? Checksums.tcpV4Valid(s, at, len, src, dst) : Checksums.udpV4Valid(s, at, len, src, dst);
    }
}
