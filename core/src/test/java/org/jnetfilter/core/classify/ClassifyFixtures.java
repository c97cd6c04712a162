package org.jnetfilter.core.classify;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import org.jnetfilter.core.ext.Extension;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.Target;

/**
 * Rules from IpSpec and the extensions' own parsers ("--opt arg" and "! --opt arg" words), packets as
 * bytes, and a trace that records its events as text.
 */
final class ClassifyFixtures {
    private ClassifyFixtures() {
    }

    static ExtensionData parse(Extension e, Family family, IpSpec ip, String... words) {
        Deque<String> q = new ArrayDeque<>(Arrays.asList(words));
        ParseContext ctx = new ParseContext() {
            public Family family() {
                return family;
            }

            public String table() {
                return "filter";
            }

            public IpSpec ip() {
                return ip;
            }

            public String nextWord() {
                return q.poll();
            }

            public String peekWord() {
                return q.peek();
            }
        };
        ExtensionParser p = e.newParser(ctx);
        while (!q.isEmpty()) {
            String w = q.poll();
            boolean invert = w.equals("!");
            if (invert) {
                w = q.poll();
            }
            String name = w.substring(2);
            OptionSpec o = e.options().stream().filter(x -> x.name().equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException(e + " has no --" + name));
            String arg = o.hasArg() == OptionSpec.HasArg.REQUIRED ? q.poll() : null;
            p.parse(o, invert, arg, ctx);
        }
        return p.finish(ctx);
    }

    static Match match(IpSpec ip, String name, String... words) {
        var e = Extensions.standard().match(name, ip.family());
        return new Match(e, parse(e, ip.family(), ip, words));
    }

    static Target target(IpSpec ip, String name, String... words) {
        var e = Extensions.standard().target(name, ip.family());
        return new Target.Extension(e, parse(e, ip.family(), ip, words));
    }

    static int ip(int a, int b, int c, int d) {
        return a << 24 | b << 16 | c << 8 | d;
    }

    /** An IPv4 packet: 20-byte header, then {@code transport}; {@code fragWord} is the flags/offset word. */
    static MemorySegment ipv4(int src, int dst, int protocol, int fragWord, int ttl, byte[] transport) {
        ByteBuffer b = ByteBuffer.allocate(20 + transport.length);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + transport.length)).putShort((short) 0x1234)
                .putShort((short) fragWord).put((byte) ttl).put((byte) protocol).putShort((short) 0)
                .putInt(src).putInt(dst).put(transport);
        return MemorySegment.ofArray(b.array());
    }

    static MemorySegment ipv6(long srcHi, long srcLo, long dstHi, long dstLo, int nextHeader, byte[] rest) {
        ByteBuffer b = ByteBuffer.allocate(40 + rest.length);
        b.putInt(0x60000000).putShort((short) rest.length).put((byte) nextHeader).put((byte) 64)
                .putLong(srcHi).putLong(srcLo).putLong(dstHi).putLong(dstLo).put(rest);
        return MemorySegment.ofArray(b.array());
    }

    /** A TCP header (20 bytes) or its first {@code length} bytes; ports at 0 and 2 serve udp and sctp too. */
    static byte[] transport(int sport, int dport, int flags, int length) {
        ByteBuffer b = ByteBuffer.allocate(Math.max(20, length));
        b.putShort((short) sport).putShort((short) dport).putInt(1).putInt(0)
                .put((byte) (5 << 4)).put((byte) flags).putShort((short) 1024);
        return Arrays.copyOf(b.array(), length);
    }

    /** Trace events as text, to compare two walks. */
    static final class Recorder implements Trace {
        final List<String> events = new ArrayList<>();

        public void rule(Table table, Chain chain, int ruleNumber, Rule rule) {
            events.add("rule " + chain.name() + "#" + ruleNumber + " " + rule.text());
        }

        public void verdict(Table table, Chain chain, int ruleNumber, int verdict) {
            events.add("verdict " + chain.name() + "#" + ruleNumber + " " + verdict);
        }

        public void jump(Table table, Chain from, int ruleNumber, Chain to, boolean isGoto) {
            events.add((isGoto ? "goto " : "jump ") + from.name() + "#" + ruleNumber + " " + to.name());
        }

        public void returned(Table table, Chain from, int ruleNumber, Chain to, int toRuleNumber) {
            events.add("return " + from.name() + "#" + ruleNumber + " " + (to == null ? "-" : to.name()) + "#"
                    + toRuleNumber);
        }

        public void policy(Table table, Chain builtin, int verdict) {
            events.add("policy " + builtin.name() + " " + verdict);
        }

        public void hotdrop(Table table, Chain chain, int ruleNumber) {
            events.add("hotdrop " + chain.name() + "#" + ruleNumber);
        }

        public void stackExhausted(Table table, Chain chain, int ruleNumber) {
            events.add("stack " + chain.name() + "#" + ruleNumber);
        }
    }
}
