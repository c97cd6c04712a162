package org.jnetfilter.cli;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Deque;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.DropReason;
import org.jnetfilter.core.netfilter.Netfilter;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Priorities;
import org.jnetfilter.core.netfilter.RouteDecision;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;

/**
 * The text of {@code jnf trace}: every hook, table, chain and matching rule a packet visits, in order, with
 * the rule as {@code iptables -S} prints it and what its target did (a verdict, a jump, a mark or address
 * changed), the route decisions, the packets the path generated (nested), and how the packet ended.
 *
 * <p>What a target changed is seen by comparing the packet before and after it: the printer watches the
 * packet itself through an observer function it registers first at every hook ({@link #observe}). NAT
 * targets only choose a binding inside the nat table; the nat hook function rewrites the packet after the
 * walk, and the printer shows that rewrite under the function.
 */
final class TracePrinter implements Trace {
    static final String OBSERVER = "jnf-trace";

    /** What {@code jnf trace} reports at the end. */
    record Outcome(String verdict, String egress, String packet) {
    }

    private final StringBuilder out = new StringBuilder();
    private final Deque<PacketContext> outer = new ArrayDeque<>();
    private PacketContext pkt;
    private int depth;

    private Hook hook;
    private String tableChain;
    private boolean ruleOpen;
    private int walkRules;
    private PacketText.Fields before;
    private long markBefore;
    private int ctBefore;
    private Outcome outcome;

    private long initialMark;
    private boolean marked;

    /**
     * Registers the observer functions that let the printer see the packet at every hook; the traced packet
     * gets {@code mark} at its first hook (a mark it arrived with, as an earlier tc or bridge step would set).
     */
    void observe(Datapath datapath, long mark) {
        initialMark = mark;
        registerObserver(datapath, p -> {
            pkt = p;
            if (!marked && depth == 0) {
                marked = true;
                p.mark(initialMark);
            }
        });
    }

    /**
     * Registers {@code observer} first at every hook of both families, so that it sees each packet (and each
     * packet the path generates) before any other function: how the trace and the verdict recorder read the
     * packet the events are about.
     */
    static void registerObserver(Datapath datapath, java.util.function.Consumer<PacketContext> observer) {
        for (Family f : Family.values()) {
            for (Hook h : Hook.values()) {
                datapath.netfilter().register(f, h, Priorities.FIRST, OBSERVER, p -> {
                    observer.accept(p);
                    return Verdict.ACCEPT;
                });
            }
        }
    }

    String text() {
        return out.toString();
    }

    Outcome outcome() {
        return outcome;
    }

    private final StringBuilder json = new StringBuilder();

    /**
     * One line of the text and one object of the JSON form: {@code {"depth":D,"event":KIND,"text":TEXT,...}}
     * with {@code fields} as further string members (name, value pairs; null values are left out).
     */
    private void emit(int indent, String kind, String text, String... fields) {
        for (int i = 0; i < depth * 4 + indent; i++) {
            out.append(' ');
        }
        out.append(text).append('\n');
        json.append(json.isEmpty() ? "" : ",\n ").append("{\"depth\":").append(depth).append(",\"event\":\"").append(kind)
                .append("\",\"text\":");
        VerdictRecorder.str(json, text);
        for (int i = 0; i + 1 < fields.length; i += 2) {
            if (fields[i + 1] != null) {
                json.append(",\"").append(fields[i]).append("\":");
                VerdictRecorder.str(json, fields[i + 1]);
            }
        }
        json.append('}');
    }

    /** The events as a JSON array. */
    String json() {
        return "[" + json + "]";
    }

    private void snapshot() {
        if (pkt != null) {
            before = PacketText.fields(pkt.segment(), pkt.networkOffset());
            markBefore = pkt.mark();
            ctBefore = ctState(pkt);
        }
    }

    /** ", mark 0x0 -> 0x4000, dst ... -> ..." of what changed since {@link #snapshot}; "" when nothing. */
    private String changed() {
        if (pkt == null || before == null) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        if (pkt.mark() != markBefore) {
            sb.append("mark 0x").append(Long.toHexString(markBefore)).append(" -> 0x").append(Long.toHexString(pkt.mark()));
        }
        String fields = PacketText.changes(before, PacketText.fields(pkt.segment(), pkt.networkOffset()));
        if (!fields.isEmpty()) {
            sb.append(sb.isEmpty() ? "" : ", ").append(fields);
        }
        int ct = ctState(pkt);
        if (ct != ctBefore) {
            sb.append(sb.isEmpty() ? "" : ", ").append("ctstate ").append(ctText(ct));
        }
        return sb.toString();
    }

    /** The packet's conntrack state as the state match sees it: a CtInfo value, or -1 for INVALID (no entry). */
    private static int ctState(PacketContext p) {
        if (p.untracked()) {
            return CtInfo.UNTRACKED;
        }
        return p.conntrack() == null ? -1 : p.ctInfo();
    }

    static String ctText(int ct) {
        return switch (ct) {
            case -1 -> "INVALID";
            case CtInfo.NEW -> "NEW";
            case CtInfo.ESTABLISHED -> "ESTABLISHED";
            case CtInfo.RELATED -> "RELATED";
            case CtInfo.ESTABLISHED_REPLY -> "ESTABLISHED (reply)";
            case CtInfo.RELATED_REPLY -> "RELATED (reply)";
            case CtInfo.UNTRACKED -> "UNTRACKED";
            default -> "ctinfo " + ct;
        };
    }

    private void closeRule(String what) {
        if (!ruleOpen) {
            return;
        }
        ruleOpen = false;
        String c = changed();
        String text = c.isEmpty() ? what : what.isEmpty() ? c : what + ", " + c;
        emit(12, "effect", "-> " + (text.isEmpty() ? "continue" : text));
    }

    /** What NFLOG handed to its group, shown under the rule that fired. */
    void nflogged(int group, String prefix, long copyLength, int length) {
        long copied = copyLength < 0 ? length : Math.min(copyLength, length);
        emit(12, "nflog", "nflog: group " + group + (prefix.isEmpty() ? "" : " prefix \"" + prefix + "\"") + ", "
                + copied + " of " + length + " bytes", "group", Integer.toString(group), "prefix", prefix);
    }

    /** A LOG line, shown under the rule that wrote it. */
    void logged(String text) {
        emit(12, "log", "log: " + text.stripTrailing());
    }

    // ---- the datapath's events ----

    @Override
    public void received(String ifname, MemorySegment frame, int packetType) {
        long ip = PacketText.ipOfFrame(frame);
        String what = describeFrame(frame, ip);
        emit(0, "received", "received on " + ifname + (what.isEmpty() ? "" : ": " + what)
                + (packetType == PacketContext.PACKET_HOST ? "" : " (" + packetTypeText(packetType) + ")"), "interface", ifname);
        hook = null;
    }

    private static String describeFrame(MemorySegment frame, long ip) {
        if (ip >= 0) {
            return PacketText.fields(frame, ip).describe();
        }
        int version = frame.byteSize() > 0 ? Byte.toUnsignedInt(frame.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0)) >>> 4 : 0;
        return version == 4 || version == 6 ? PacketText.fields(frame, 0).describe() : "";
    }

    private static String packetTypeText(int type) {
        return switch (type) {
            case PacketContext.PACKET_BROADCAST -> "link-layer broadcast";
            case PacketContext.PACKET_MULTICAST -> "link-layer multicast";
            case PacketContext.PACKET_OTHERHOST -> "for another host's MAC";
            default -> "pkt_type " + type;
        };
    }

    @Override
    public void sentLocally(MemorySegment datagram) {
        emit(0, "sent", "sent by this host: " + PacketText.fields(datagram, 0).describe());
        hook = null;
    }

    @Override
    public void hookEntered(Netfilter.Registration function) {
        if (function.name().equals(OBSERVER)) {
            return;
        }
        if (function.hook() != hook) {
            hook = function.hook();
            emit(0, "hook", hook.name(), "hook", hook.name());
        }
        tableChain = null;
        walkRules = 0;
        snapshot();
    }

    @Override
    public void hookVerdict(Netfilter.Registration function, int verdict) {
        if (function.name().equals(OBSERVER)) {
            return;
        }
        closeRule("");
        boolean table = isTable(function.name());
        String c = changed();
        if (!table) {
            emit(2, "function", function.name() + ": " + Verdict.toString(verdict) + (c.isEmpty() ? "" : ", " + c),
                    "function", function.name(), "verdict", Verdict.toString(verdict));
        } else if (!c.isEmpty() && function.name().equals("nat")) {
            emit(2, "nat", "nat: " + c);
        } else if (verdict != Verdict.ACCEPT && walkRules == 0) {
            // already said by the policy line
            return;
        }
    }

    private static boolean isTable(String name) {
        return name.equals("raw") || name.equals("mangle") || name.equals("nat") || name.equals("filter")
                || name.equals("security");
    }

    @Override
    public void queued(int queueNumber, int answer) {
        emit(4, "queued", "queued to " + queueNumber + ": " + Verdict.toString(answer));
    }

    @Override
    public void routed(Hook where, RouteDecision decision) {
        emit(0, "route", "route " + (where == Hook.POSTROUTING ? "(re-route) " : "") + decision, "route", decision.toString(),
                "egress", decision.egress());
        hook = null;
    }

    @Override
    public void rewritten(String what) {
        emit(2, "rewritten", what);
    }

    @Override
    public void generated(String kind, MemorySegment datagram) {
        emit(2, "generated", "generated " + kind + ": " + PacketText.fields(datagram, 0).describe(), "kind", kind);
        outer.push(pkt == null ? new PacketContext() : pkt);
        // a target that sends a packet while it runs (SYNPROXY, TEE): its rule's effect is told after the packet
        outerRules.push(new OpenRule(ruleOpen, before, markBefore, ctBefore));
        ruleOpen = false;
        depth++;
        hook = null;
    }

    /** The rule a generated packet interrupted, and what its packet was before it. */
    private record OpenRule(boolean open, PacketText.Fields before, long markBefore, int ctBefore) {
    }

    private final Deque<OpenRule> outerRules = new ArrayDeque<>();

    private void ended(String verdict, String egress, String packet, String text) {
        emit(0, "end", text, "verdict", verdict, "egress", egress);
        if (depth > 0) {
            depth--;
            PacketContext p = outer.pop();
            pkt = p;
            OpenRule r = outerRules.pop();
            ruleOpen = r.open();
            before = r.before();
            markBefore = r.markBefore();
            ctBefore = r.ctBefore();
            hook = null;
            return;
        }
        outcome = new Outcome(verdict, egress, packet);
    }

    @Override
    public void bridged(String bridge, String inPort, String outPort, int copies, boolean up) {
        String from = inPort.isEmpty() ? "sent by the host" : "in by port " + inPort;
        String to = outPort == null ? "flooded to its ports (" + copies + ")" : outPort.isEmpty() ? "not forwarded"
                : "forwarded to port " + outPort;
        emit(0, "bridged", "bridge " + bridge + ": " + from + ", " + to + (up ? ", up to the host" : ""),
                "bridge", bridge, "in_port", inPort.isEmpty() ? null : inPort, "out_port", outPort);
        // the host's own frame leaves by each port at once: all copies but the last are not the packet's end
        hostFloodCopiesLeft = inPort.isEmpty() && outPort == null ? copies - 1 : 0;
    }

    /** Copies of a frame the host floods by a bridge still to leave before the one that ends the packet. */
    private int hostFloodCopiesLeft;

    @Override
    public void transmitted(String ifname, MemorySegment frame) {
        long ip = PacketText.ipOfFrame(frame);
        String what = ip >= 0 ? PacketText.fields(frame, ip).describe() : "";
        if (hostFloodCopiesLeft > 0) {
            hostFloodCopiesLeft--;
            emit(0, "copy", "sent out " + ifname + (what.isEmpty() ? "" : ": " + what), "egress", ifname);
            return;
        }
        ended("ACCEPT", ifname, what, "sent out " + ifname + (what.isEmpty() ? "" : ": " + what));
    }

    @Override
    public void deliveredLocally(String ifname, MemorySegment datagram) {
        String what = PacketText.fields(datagram, 0).describe();
        ended("ACCEPT", "@local", what, "delivered locally (arrived on " + ifname + "): " + what);
    }

    @Override
    public void loopedBack(MemorySegment datagram) {
        emit(0, "loopback", "out by lo, back in as a reception on lo");
        hook = null;
    }

    @Override
    public void stolen() {
        ended("STOLEN", null, null, "stolen by a hook function");
    }

    @Override
    public void dropped(DropReason reason) {
        closeRule("");
        ended("DROP", null, null, "dropped: " + reason.description());
    }

    // ---- the table walk's events ----

    private void chainHeader(Table table, Chain chain) {
        String tc = table.name() + " " + chain.name();
        if (!tc.equals(tableChain)) {
            tableChain = tc;
            emit(2, "chain", tc, "table", table.name(), "chain", chain.name());
        }
    }

    @Override
    public void rule(Table table, Chain chain, int ruleNumber, Rule rule) {
        closeRule("");
        walkRules++;
        chainHeader(table, chain);
        String text = rule.text();
        lastTarget = rule.targetName();
        String spec = "-A " + chain.name() + (text.isEmpty() ? "" : " " + text);
        emit(4, "rule", String.format("%-4d", ruleNumber) + spec, "table", table.name(), "chain", chain.name(),
                "rule", String.valueOf(ruleNumber), "spec", spec);
        ruleOpen = true;
        snapshot();
    }

    @Override
    public void verdict(Table table, Chain chain, int ruleNumber, int verdict) {
        String v = verdict == Verdict.CONTINUE ? "" : Verdict.toString(verdict);
        if (verdict == Verdict.ACCEPT && NAT_TARGETS.contains(lastTarget)) {
            // nf_nat_setup_info: the target chose the connection's binding; the nat hook applies it after the walk
            v = "ACCEPT: " + lastTarget + " binding made for the connection (applied after the walk)";
        }
        closeRule(v);
    }

    private static final java.util.Set<String> NAT_TARGETS = java.util.Set.of("SNAT", "DNAT", "MASQUERADE", "REDIRECT",
            "NETMAP");
    private String lastTarget = "";

    @Override
    public void jump(Table table, Chain from, int ruleNumber, Chain to, boolean isGoto) {
        closeRule((isGoto ? "goto " : "jump to ") + to.name());
    }

    @Override
    public void returned(Table table, Chain from, int ruleNumber, Chain to, int toRuleNumber) {
        if (ruleOpen) {
            closeRule("RETURN" + (to == null ? "" : " to " + to.name()));
        } else {
            chainHeader(table, from);
            emit(4, "return", "(end of " + from.name() + ")" + (to == null ? "" : " return to " + to.name()));
        }
        if (to != null) {
            tableChain = table.name() + " " + to.name();
        }
    }

    @Override
    public void policy(Table table, Chain builtin, int verdict) {
        closeRule("");
        if (walkRules == 0) {
            emit(2, "policy", table.name() + " " + builtin.name() + ": no rule matched, policy " + Verdict.toString(verdict),
                    "table", table.name(), "chain", builtin.name(), "verdict", Verdict.toString(verdict));
        } else {
            chainHeader(table, builtin);
            emit(4, "policy", "policy " + Verdict.toString(verdict), "table", table.name(), "chain", builtin.name(),
                    "verdict", Verdict.toString(verdict));
        }
        tableChain = null;
    }

    @Override
    public void hotdrop(Table table, Chain chain, int ruleNumber) {
        closeRule("");
        chainHeader(table, chain);
        emit(4, "hotdrop", ruleNumber + ": a match could not read the packet: dropped at once (hotdrop)");
    }

    @Override
    public void stackExhausted(Table table, Chain chain, int ruleNumber) {
        emit(4, "stack", ruleNumber + ": jump stack exhausted: dropped");
    }
}
