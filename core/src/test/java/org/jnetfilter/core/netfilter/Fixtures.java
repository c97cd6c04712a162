package org.jnetfilter.core.netfilter;

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
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.core.rules.Target;

/**
 * Rules and packets for the walk tests: rules built from IpSpec and the extensions' own parsers
 * (through a tiny ParseContext that reads "--opt arg" and "! --opt arg" words), packets as bytes.
 */
final class Fixtures {
    private Fixtures() {
    }

    // ---- rules ----

    /** Options of one extension, parsed as iptables would parse "-m name words..." after {@code ip}. */
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

    static Rule rule(IpSpec ip, Target target, Match... matches) {
        return new Rule(new RuleSpec(ip, List.of(matches), target), Counters.zero());
    }

    static Rule rule(Target target, Match... matches) {
        return rule(IpSpec.any(Family.IPV4), target, matches);
    }

    static Target.Verdict verdict(String name) {
        return Target.verdictOrNull(name);
    }

    static Target.Jump jump(String chain) {
        return new Target.Jump(chain, false);
    }

    static Target.Jump goTo(String chain) {
        return new Target.Jump(chain, true);
    }

    static Chain builtin(String name, String policy, Rule... rules) {
        return Chain.builtin(name).withPolicy(policy, Counters.zero()).withRules(RuleList.of(List.of(rules)));
    }

    static Chain user(String name, Rule... rules) {
        return Chain.user(name).withRules(RuleList.of(List.of(rules)));
    }

    /** A filter table of {@code family} with these chains (built-in ones by name, the rest user chains). */
    static Table filter(Family family, Chain... chains) {
        List<Chain> builtins = new ArrayList<>();
        List<Chain> users = new ArrayList<>();
        for (Chain c : chains) {
            (c.isBuiltin() ? builtins : users).add(c);
        }
        users.sort((a, b) -> a.name().compareTo(b.name()));
        return Table.of(TableKind.FILTER, family, builtins, users);
    }

    static Table filter(Chain... chains) {
        return filter(Family.IPV4, chains);
    }

    // ---- packets ----

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

    static MemorySegment tcp4(int src, int dst, int sport, int dport, int flags) {
        return ipv4(src, dst, 6, 0, 64, tcp(sport, dport, flags));
    }

    static byte[] tcp(int sport, int dport, int flags, int... options) {
        int optLen = (options.length + 3) & ~3;
        ByteBuffer b = ByteBuffer.allocate(20 + optLen);
        b.putShort((short) sport).putShort((short) dport).putInt(1).putInt(0)
                .put((byte) (((20 + optLen) / 4) << 4)).put((byte) flags).putShort((short) 1024)
                .putShort((short) 0).putShort((short) 0);
        for (int o : options) {
            b.put((byte) o);
        }
        return b.array();
    }

    static byte[] udp(int sport, int dport) {
        return ByteBuffer.allocate(8).putShort((short) sport).putShort((short) dport).putShort((short) 8)
                .putShort((short) 0).array();
    }

    static byte[] icmp(int type, int code) {
        return ByteBuffer.allocate(8).put((byte) type).put((byte) code).array();
    }

    /** An IPv6 packet: 40-byte header with {@code nextHeader}, then {@code rest} (extension headers, transport). */
    static MemorySegment ipv6(long srcHi, long srcLo, long dstHi, long dstLo, int nextHeader, int hopLimit,
                              byte[] rest) {
        ByteBuffer b = ByteBuffer.allocate(40 + rest.length);
        b.putInt(0x60000000).putShort((short) rest.length).put((byte) nextHeader).put((byte) hopLimit)
                .putLong(srcHi).putLong(srcLo).putLong(dstHi).putLong(dstLo).put(rest);
        return MemorySegment.ofArray(b.array());
    }

    /** An 8-byte fragment header followed by {@code rest}. */
    static byte[] fragment(int nextHeader, int offsetUnits, boolean more, byte[] rest) {
        return ByteBuffer.allocate(8 + rest.length).put((byte) nextHeader).put((byte) 0)
                .putShort((short) (offsetUnits << 3 | (more ? 1 : 0))).putInt(7).put(rest).array();
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
