package org.jnetfilter.cli;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.DropReason;
import org.jnetfilter.core.netfilter.Netfilter;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Priorities;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;

/**
 * The {@code --verdicts} line of {@code jnf replay} for one input packet, a JSON object:
 *
 * <pre>
 * {"index":0,"time_ns":1700000000000000000,"in":"eth0","verdict":"ACCEPT","egress":"eth1","frames":1,
 *  "rules":[{"table":"nat","chain":"PREROUTING","rule":1},{"table":"filter","chain":"FORWARD","policy":"ACCEPT"}],
 *  "nat":{"src":"10.0.0.2:40000 -> 192.0.2.1:40000"},"ctstate":"NEW","drop":null,
 *  "generated":[{"kind":"REJECT","egress":"eth0"}]}
 * </pre>
 *
 * {@code verdict} is how the packet ended: ACCEPT (sent or delivered), DROP, STOLEN. {@code egress} is the
 * interface it left by, {@code @local} for local delivery, null when it did not leave; {@code frames} counts
 * the frames it left as (fragments). {@code rules} lists, in order, the rules that matched (numbered as
 * {@code iptables -L --line-numbers}) and the policies that decided, for the packet itself (not for packets
 * it caused). {@code nat} gives the address and port changes between what came in and what left (or was
 * dropped). {@code ctstate} is the packet's conntrack state at the end, null when conntrack did not see it.
 * {@code drop} names why the packet was dropped. {@code generated} lists the packets the path made because
 * of it and where each went.
 */
final class VerdictRecorder implements Trace {
    private final StringBuilder rules = new StringBuilder();
    private final StringBuilder generated = new StringBuilder();
    private long index;
    private String in;
    private long time;
    private int depth;
    private String verdict;
    private String egress;
    private int frames;
    private String drop;
    private String generatedKind;
    private PacketText.Fields first;
    private PacketText.Fields last;
    private PacketContext topPkt;
    private boolean conntrackSeen;

    /** Registers the observer functions that show the recorder the packet (for its conntrack state). */
    void observe(Datapath datapath) {
        TracePrinter.registerObserver(datapath, p -> {
            if (depth == 0) {
                topPkt = p;
            }
        });
    }

    void start(long packetIndex, String ifname, long nowNanos) {
        index = packetIndex;
        in = ifname;
        time = nowNanos;
        rules.setLength(0);
        generated.setLength(0);
        depth = 0;
        verdict = null;
        egress = null;
        frames = 0;
        drop = null;
        first = null;
        last = null;
        topPkt = null;
        conntrackSeen = false;
    }

    /** The packet never entered the path: not IP, or not sendable. */
    void unusable(String why) {
        verdict = "DROP";
        drop = why;
    }

    String json() {
        StringBuilder sb = new StringBuilder(256);
        sb.append("{\"index\":").append(index).append(",\"time_ns\":").append(time).append(",\"in\":");
        str(sb, in);
        sb.append(",\"verdict\":");
        str(sb, verdict == null ? "DROP" : verdict);
        sb.append(",\"egress\":");
        str(sb, egress);
        sb.append(",\"frames\":").append(frames);
        sb.append(",\"rules\":[").append(rules).append("]");
        sb.append(",\"nat\":");
        nat(sb);
        sb.append(",\"ctstate\":");
        if (conntrackSeen && topPkt != null) {
            str(sb, ctText(topPkt));
        } else {
            sb.append("null");
        }
        sb.append(",\"drop\":");
        str(sb, drop);
        sb.append(",\"generated\":[").append(generated).append("]}");
        return sb.toString();
    }

    private static String ctText(PacketContext p) {
        if (p.untracked()) {
            return "UNTRACKED";
        }
        if (p.conntrack() == null) {
            return "INVALID";
        }
        String s = TracePrinter.ctText(p.ctInfo());
        return s.endsWith(" (reply)") ? s.substring(0, s.length() - 8) : s;
    }

    private void nat(StringBuilder sb) {
        PacketText.Fields end = last;
        if (end == null && topPkt != null && topPkt.segment() != null) {
            end = PacketText.fields(topPkt.segment(), topPkt.networkOffset());
        }
        if (first == null || end == null || first.family() != end.family()) {
            sb.append("null");
            return;
        }
        boolean src = !first.source().equals(end.source()) || first.sourcePort() != end.sourcePort();
        boolean dst = !first.destination().equals(end.destination()) || first.destinationPort() != end.destinationPort();
        if (!src && !dst) {
            sb.append("null");
            return;
        }
        sb.append('{');
        if (src) {
            sb.append("\"src\":");
            str(sb, first.endpoint(first.source(), first.sourcePort()) + " -> " + end.endpoint(end.source(), end.sourcePort()));
        }
        if (dst) {
            sb.append(src ? "," : "").append("\"dst\":");
            str(sb, first.endpoint(first.destination(), first.destinationPort()) + " -> "
                    + end.endpoint(end.destination(), end.destinationPort()));
        }
        sb.append('}');
    }

    static void str(StringBuilder sb, String s) {
        if (s == null) {
            sb.append("null");
            return;
        }
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    // ---- events ----

    @Override
    public void received(String ifname, MemorySegment frame, int packetType) {
        if (depth == 0 && first == null) {
            long ip = PacketText.ipOfFrame(frame);
            int version = frame.byteSize() > 0 ? ReplayCommand.u8(frame, 0) >>> 4 : 0;
            if (ip >= 0) {
                first = PacketText.fields(frame, ip);
            } else if (version == 4 && frame.byteSize() >= 20 || version == 6 && frame.byteSize() >= 40) {
                first = PacketText.fields(frame, 0);
            }
        }
    }

    @Override
    public void sentLocally(MemorySegment datagram) {
        if (depth == 0 && first == null) {
            first = PacketText.fields(datagram, 0);
        }
    }

    @Override
    public void hookEntered(Netfilter.Registration function) {
        if (depth == 0 && function.priority() == Priorities.CONNTRACK) {
            conntrackSeen = true;
        }
    }

    @Override
    public void rule(Table table, Chain chain, int ruleNumber, Rule rule) {
        if (depth != 0) {
            return;
        }
        if (!rules.isEmpty()) {
            rules.append(',');
        }
        rules.append("{\"table\":\"").append(table.name()).append("\",\"chain\":");
        str(rules, chain.name());
        rules.append(",\"rule\":").append(ruleNumber).append('}');
    }

    @Override
    public void policy(Table table, Chain builtin, int v) {
        if (depth != 0) {
            return;
        }
        if (!rules.isEmpty()) {
            rules.append(',');
        }
        rules.append("{\"table\":\"").append(table.name()).append("\",\"chain\":\"").append(builtin.name())
                .append("\",\"policy\":\"").append(Verdict.toString(v)).append("\"}");
    }

    @Override
    public void generated(String kind, MemorySegment datagram) {
        depth++;
        generatedKind = kind;
    }

    private void nestedEnd(String where) {
        depth--;
        if (!generated.isEmpty()) {
            generated.append(',');
        }
        generated.append("{\"kind\":");
        str(generated, generatedKind);
        generated.append(",\"egress\":");
        str(generated, where);
        generated.append('}');
    }

    @Override
    public void transmitted(String ifname, MemorySegment frame) {
        if (depth > 0) {
            nestedEnd(ifname);
            return;
        }
        frames++;
        if (verdict == null) {
            verdict = "ACCEPT";
            egress = ifname;
            long ip = PacketText.ipOfFrame(frame);
            last = ip >= 0 ? PacketText.fields(frame, ip) : null;
        }
    }

    @Override
    public void deliveredLocally(String ifname, MemorySegment datagram) {
        if (depth > 0) {
            nestedEnd("@local");
            return;
        }
        frames++;
        if (verdict == null) {
            verdict = "ACCEPT";
            egress = "@local";
            last = PacketText.fields(datagram, 0);
        }
    }

    @Override
    public void stolen() {
        if (depth > 0) {
            nestedEnd(null);
            return;
        }
        if (verdict == null) {
            verdict = "STOLEN";
        }
    }

    @Override
    public void dropped(DropReason reason) {
        if (depth > 0) {
            nestedEnd(null);
            return;
        }
        if (verdict == null) {
            verdict = "DROP";
            drop = reason.description();
        }
    }
}
