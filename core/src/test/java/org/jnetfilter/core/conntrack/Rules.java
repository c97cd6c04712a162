package org.jnetfilter.core.conntrack;

import java.util.ArrayDeque;
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

/** Matches, targets and tables built with the extensions' own parsers ("--opt arg", "! --opt arg" words). */
public final class Rules {
    private Rules() {
    }

    public static ExtensionData parse(Extension e, Family family, String table, IpSpec ip, String... words) {
        Deque<String> q = new ArrayDeque<>(Arrays.asList(words));
        ParseContext ctx = new ParseContext() {
            public Family family() {
                return family;
            }

            public String table() {
                return table;
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

    public static ExtensionData match(String name, String... words) {
        return match(Family.IPV4, IpSpec.any(Family.IPV4), name, words);
    }

    public static ExtensionData match(Family f, IpSpec ip, String name, String... words) {
        return parse(Extensions.standard().match(name, f), f, "filter", ip, words);
    }

    public static ExtensionData target(String table, IpSpec ip, String name, String... words) {
        return parse(Extensions.standard().target(name, ip.family()), ip.family(), table, ip, words);
    }

    public static Match matchOf(IpSpec ip, String name, String... words) {
        var e = Extensions.standard().match(name, ip.family());
        return new Match(e, parse(e, ip.family(), "nat", ip, words));
    }

    public static Rule rule(IpSpec ip, String target, String... words) {
        return rule(ip, List.of(), target, words);
    }

    public static Rule rule(IpSpec ip, List<Match> matches, String target, String... words) {
        var e = Extensions.standard().target(target, ip.family());
        Target t = new Target.Extension(e, parse(e, ip.family(), "nat", ip, words));
        return new Rule(new RuleSpec(ip, matches, t), Counters.zero());
    }

    /** A nat table whose built-in chains hold the given rules (the others empty, policy ACCEPT). */
    public static Table nat(Family f, List<Rule> prerouting, List<Rule> input, List<Rule> output,
            List<Rule> postrouting) {
        return Table.of(TableKind.NAT, f, List.of(chain("PREROUTING", prerouting), chain("INPUT", input),
                chain("OUTPUT", output), chain("POSTROUTING", postrouting)), List.of());
    }

    private static Chain chain(String name, List<Rule> rules) {
        return Chain.builtin(name).withPolicy("ACCEPT", Counters.zero()).withRules(RuleList.of(rules));
    }
}
