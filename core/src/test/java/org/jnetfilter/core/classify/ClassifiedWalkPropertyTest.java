package org.jnetfilter.core.classify;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.TableWalk;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.core.rules.Target;
import org.junit.jupiter.api.Test;

/**
 * Random tables and packets: {@link ClassifiedWalk} against {@link TableWalk}, the linear reference.
 * Each random description is built twice, into two tables that share nothing (stateful matches keep
 * their own state), and the same packets at the same times with the same random seed go through
 * both (with conntrack states: none, untracked, or an entry in each ctinfo with or without NAT): verdicts,
 * trace events, marks, every rule and policy counter and, through the stateful
 * matches (limit, statistic, quota) placed before, between and after indexed matches, the order and
 * number of their side effects must be equal.
 */
class ClassifiedWalkPropertyTest {
    static final String[] RULE_IFACES = {"", "", "", "", "eth0", "eth+", "+", "lo", "eth1", "veth+"};
    static final String[] DEVICES = {"", "eth0", "eth1", "eth10", "lo", "veth3", "et"};
    static final int[] ADDRESSES = {0x0A000001, 0x0A000102, 0x0A010203, 0xC0A80101, 0xC0A80102, 0x08080808};
    static final long[] ADDRESSES6 = {0x20010DB800000000L, 0x20010DB800010000L, 0xFE80000000000000L};
    static final int[] PREFIXES = {0, 8, 16, 24, 30, 32};
    static final int[] PREFIXES6 = {0, 16, 32, 48, 64, 128};
    static final int[] PORTS = {0, 22, 53, 80, 443, 1024, 8080, 40000, 65535};
    static final long[] MARKS = {0, 1, 2, 3, 0x10, 0xFF};

    record MatchText(String name, String... words) {
    }

    /** kind: ACCEPT, DROP, QUEUE, RETURN, NONE, JUMP, GOTO, MARK, LOG, REJECT. */
    record RuleModel(IpSpec ip, List<MatchText> matches, String kind, int chain, String[] targetWords) {
    }

    record TableModel(Family family, String policy, List<RuleModel> input, List<List<RuleModel>> users) {
    }

    // ---- generation ----

    static int pick(SplittableRandom r, int[] a) {
        return a[r.nextInt(a.length)];
    }

    static <T> T pick(SplittableRandom r, T[] a) {
        return a[r.nextInt(a.length)];
    }

    static String range(SplittableRandom r) {
        int a = pick(r, PORTS);
        if (r.nextBoolean()) {
            return Integer.toString(a);
        }
        int b = pick(r, PORTS);
        return a == b ? Integer.toString(a) : Math.min(a, b) + ":" + Math.max(a, b);
    }

    static IpNet net(SplittableRandom r, Family family) {
        if (family == Family.IPV4) {
            if (r.nextInt(12) == 0) {
                return IpNet.of(Family.IPV4, 0, pick(r, ADDRESSES) & 0xFFFFFFFFL, 0, 0xFF00FF00L);
            }
            return IpNet.ipv4(pick(r, ADDRESSES), pick(r, PREFIXES));
        }
        int len = pick(r, PREFIXES6);
        long[] m = TupleTable.mask(Family.IPV6, len);
        long hi = ADDRESSES6[r.nextInt(ADDRESSES6.length)];
        long lo = r.nextInt(3);
        return IpNet.of(Family.IPV6, hi, lo, m[0], m[1]);
    }

    static RuleModel randomRule(SplittableRandom r, Family family, int chainIndex, int userChains) {
        boolean v4 = family == Family.IPV4;
        IpSpec ip = IpSpec.any(family);
        if (r.nextInt(3) == 0) {
            ip = ip.withSrc(net(r, family)).withInverted(IpSpec.INV_SRCIP, r.nextInt(5) == 0);
        }
        if (r.nextInt(2) == 0) {
            ip = ip.withDst(net(r, family)).withInverted(IpSpec.INV_DSTIP, r.nextInt(6) == 0);
        }
        ip = ip.withInIface(pick(r, RULE_IFACES)).withInverted(IpSpec.INV_VIA_IN, r.nextInt(6) == 0);
        if (r.nextInt(4) == 0) {
            ip = ip.withOutIface(pick(r, RULE_IFACES)).withInverted(IpSpec.INV_VIA_OUT, r.nextInt(6) == 0);
        }
        int proto = switch (r.nextInt(7)) {
            case 0, 1 -> 6;
            case 2 -> 17;
            case 3 -> v4 ? 1 : 58;
            case 4 -> 132;
            default -> 0;
        };
        boolean protoInv = proto != 0 && r.nextInt(6) == 0;
        ip = ip.withProtocol(proto).withInverted(IpSpec.INV_PROTO, protoInv);
        if (v4 && r.nextInt(10) == 0) {
            boolean inv = r.nextBoolean();
            ip = ip.withFragment(true).withInverted(IpSpec.INV_FRAG, inv);
        }
        List<MatchText> matches = new ArrayList<>();
        boolean own = !protoInv;
        if (own && proto == 6 && r.nextInt(4) != 0) {
            List<String> w = new ArrayList<>();
            if (r.nextBoolean()) {
                if (r.nextInt(5) == 0) {
                    w.add("!");
                }
                w.addAll(List.of("--dport", range(r)));
            }
            if (r.nextInt(3) == 0) {
                if (r.nextInt(5) == 0) {
                    w.add("!");
                }
                w.addAll(List.of("--sport", range(r)));
            }
            if (r.nextInt(5) == 0) {
                w.addAll(List.of("--tcp-flags", "SYN,ACK", "SYN"));
            }
            if (r.nextInt(8) == 0) {
                w.addAll(List.of("--tcp-option", "2"));
            }
            matches.add(new MatchText("tcp", w.toArray(new String[0])));
        }
        if (own && proto == 17 && r.nextInt(4) != 0) {
            List<String> w = new ArrayList<>();
            if (r.nextInt(5) == 0) {
                w.add("!");
            }
            w.addAll(List.of(r.nextBoolean() ? "--dport" : "--sport", range(r)));
            matches.add(new MatchText("udp", w.toArray(new String[0])));
        }
        if (own && proto == 132 && r.nextInt(3) != 0) {
            List<String> w = new ArrayList<>(List.of("--dport", range(r)));
            if (r.nextInt(4) == 0) {
                w.addAll(List.of("--chunk-types", "any", "INIT"));
            }
            matches.add(new MatchText("sctp", w.toArray(new String[0])));
        }
        if (own && (proto == 6 || proto == 17 || proto == 132) && r.nextInt(4) == 0) {
            String option = pick(r, new String[] {"--dports", "--dports", "--sports", "--ports"});
            String list = pick(r, PORTS) + "," + pick(r, PORTS) + "," + range(r);
            matches.add(r.nextInt(5) == 0 ? new MatchText("multiport", "!", option, list)
                    : new MatchText("multiport", option, list));
        }
        int extra = r.nextInt(3);
        for (int i = 0; i < extra; i++) {
            matches.add(switch (r.nextInt(11)) {
                case 9 -> {
                    String states = pick(r, new String[] {"NEW", "ESTABLISHED,RELATED", "INVALID", "UNTRACKED",
                            "SNAT", "DNAT,NEW", "RELATED"});
                    yield r.nextInt(4) == 0 ? new MatchText("conntrack", "!", "--ctstate", states)
                            : new MatchText("conntrack", "--ctstate", states);
                }
                case 10 -> {
                    String states = pick(r, new String[] {"NEW", "ESTABLISHED,RELATED", "INVALID", "UNTRACKED"});
                    yield r.nextInt(4) == 0 ? new MatchText("state", "!", "--state", states)
                            : new MatchText("state", "--state", states);
                }
                case 0, 1 -> {
                    String v = "0x" + Long.toHexString(pick(r, new Long[] {0L, 1L, 2L, 0x10L})) + "/0x"
                            + Long.toHexString(pick(r, new Long[] {0xFFL, 0x3L, 0xFFFFFFFFL}));
                    yield r.nextInt(4) == 0 ? new MatchText("mark", "!", "--mark", v) : new MatchText("mark", "--mark", v);
                }
                case 2 -> new MatchText("comment", "--comment", "c");
                case 3 -> new MatchText("limit", "--limit", pick(r, new String[] {"1/sec", "5/sec", "100/min"}),
                        "--limit-burst", Integer.toString(1 + r.nextInt(3)));
                case 4 -> r.nextBoolean()
                        ? new MatchText("statistic", "--mode", "nth", "--every", Integer.toString(2 + r.nextInt(3)),
                        "--packet", "1")
                        : new MatchText("statistic", "--mode", "random", "--probability", "0.5");
                case 5 -> new MatchText("quota", "--quota", Integer.toString(100 + r.nextInt(400)));
                case 6 -> new MatchText("length", "--length", (20 + r.nextInt(20)) + ":" + (40 + r.nextInt(30)));
                case 7 -> v4 ? new MatchText("ttl", "--ttl-gt", "63") : new MatchText("hl", "--hl-gt", "63");
                default -> new MatchText("comment", "--comment", "d");
            });
        }
        Collections.shuffle(matches, new java.util.Random(r.nextLong()));
        // port matches must keep their own protocol's name; the shuffle only moves them among the others
        int later = userChains - (chainIndex + 1);
        int kind = r.nextInt(later > 0 ? 13 : 10);
        return switch (kind) {
            case 0 -> new RuleModel(ip, matches, "ACCEPT", 0, null);
            case 1 -> new RuleModel(ip, matches, "DROP", 0, null);
            case 2 -> new RuleModel(ip, matches, "QUEUE", 0, null);
            case 3 -> new RuleModel(ip, matches, "RETURN", 0, null);
            case 4, 5 -> new RuleModel(ip, matches, "NONE", 0, null);
            case 6 -> new RuleModel(ip, matches, "MARK", 0, new String[] {"--set-xmark",
                    "0x" + Long.toHexString(pick(r, new Long[] {0L, 1L, 2L, 0x10L})) + "/0x"
                            + Long.toHexString(pick(r, new Long[] {0xFFL, 0x3L, 0L}))});
            case 7 -> new RuleModel(ip, matches, "LOG", 0, new String[0]);
            case 8 -> new RuleModel(ip, matches, "REJECT", 0, new String[0]);
            case 9 -> new RuleModel(ip, matches, "MARK", 0, new String[] {"--set-xmark", "0x1/0x1"});
            case 10, 11 -> new RuleModel(ip, matches, "JUMP", chainIndex + 1 + r.nextInt(later), null);
            default -> new RuleModel(ip, matches, "GOTO", chainIndex + 1 + r.nextInt(later), null);
        };
    }

    static TableModel randomTable(SplittableRandom r, Family family, int maxRules) {
        int userCount = r.nextInt(6);
        List<RuleModel> input = new ArrayList<>();
        int n = r.nextInt(maxRules);
        for (int i = 0; i < n; i++) {
            input.add(randomRule(r, family, -1, userCount));
        }
        List<List<RuleModel>> users = new ArrayList<>();
        for (int c = 0; c < userCount; c++) {
            List<RuleModel> rules = new ArrayList<>();
            int k = r.nextInt(maxRules / 2 + 1);
            for (int i = 0; i < k; i++) {
                rules.add(randomRule(r, family, c, userCount));
            }
            users.add(rules);
        }
        return new TableModel(family, r.nextBoolean() ? "ACCEPT" : "DROP", input, users);
    }

    static String userName(int c) {
        return "U" + c;
    }

    static Rule build(RuleModel m) {
        List<Match> matches = new ArrayList<>();
        for (MatchText t : m.matches()) {
            matches.add(ClassifyFixtures.match(m.ip(), t.name(), t.words()));
        }
        Target target = switch (m.kind()) {
            case "NONE" -> new Target.None();
            case "JUMP" -> new Target.Jump(userName(m.chain()), false);
            case "GOTO" -> new Target.Jump(userName(m.chain()), true);
            case "MARK", "LOG", "REJECT" -> ClassifyFixtures.target(m.ip(), m.kind(), m.targetWords());
            default -> Target.verdictOrNull(m.kind());
        };
        return new Rule(new RuleSpec(m.ip(), matches, target), Counters.zero());
    }

    static Table build(TableModel m) {
        List<Chain> users = new ArrayList<>();
        for (int c = 0; c < m.users().size(); c++) {
            users.add(Chain.user(userName(c)).withRules(RuleList.of(m.users().get(c).stream()
                    .map(ClassifiedWalkPropertyTest::build).toList())));
        }
        Chain in = Chain.builtin("INPUT").withPolicy(m.policy(), Counters.zero())
                .withRules(RuleList.of(m.input().stream().map(ClassifiedWalkPropertyTest::build).toList()));
        return Table.of(TableKind.FILTER, m.family(), List.of(in), users);
    }

    /** conntrack: 0 none (INVALID), 1 untracked, 2 an entry with {@code ctinfo} and {@code status}. */
    record PacketModel(MemorySegment bytes, String in, String out, long mark, int conntrack, int ctinfo,
                       int status) {
    }

    static PacketModel randomPacket(SplittableRandom r, Family family) {
        int proto = pick(r, new int[] {6, 6, 17, 17, 132, family == Family.IPV4 ? 1 : 58, 47});
        int length = r.nextInt(12) == 0 ? r.nextInt(20) : 20 + r.nextInt(3) * 4;
        byte[] t = ClassifyFixtures.transport(pick(r, PORTS), pick(r, PORTS), r.nextInt(64), length);
        MemorySegment bytes;
        if (family == Family.IPV4) {
            int frag = switch (r.nextInt(12)) {
                case 0 -> 1;
                case 1 -> 185;
                case 2 -> 0x2000;
                default -> 0;
            };
            int src = r.nextInt(8) == 0 ? r.nextInt() : pick(r, ADDRESSES);
            bytes = ClassifyFixtures.ipv4(src, pick(r, ADDRESSES), proto, frag, pick(r, new int[] {1, 63, 64, 200}), t);
        } else {
            int next = r.nextInt(15) == 0 ? 0 : proto;   // a hop-by-hop header cut short: no protocol found
            bytes = ClassifyFixtures.ipv6(ADDRESSES6[r.nextInt(3)], r.nextInt(3), ADDRESSES6[r.nextInt(3)], r.nextInt(3),
                    next, next == 0 ? new byte[1] : t);
        }
        int status = pick(r, new int[] {0, 0, Connection.SRC_NAT, Connection.DST_NAT});
        return new PacketModel(bytes, pick(r, DEVICES), pick(r, DEVICES), MARKS[r.nextInt(MARKS.length)],
                r.nextInt(3), pick(r, new int[] {0, 1, 2, 3, 4}), status);
    }

    /** Loads {@code p} into {@code c} as a packet of {@code family} received at {@code now}. */
    static void loadPacket(PacketContext c, PacketModel p, Family family, long now) {
        if (family == Family.IPV4) {
            c.ipv4(p.bytes(), 0);
        } else {
            c.ipv6(p.bytes(), 0);
        }
        c.nowNanos(now).inInterface(p.in()).outInterface(p.out()).mark(p.mark());
        if (p.conntrack() == 1) {
            c.untracked(true);
        } else if (p.conntrack() == 2) {
            Connection ct = Connection.template(0, false, null);
            ct.addStatus(p.status());
            c.conntrack(ct, p.ctinfo());
        }
    }

    // ---- comparison ----

    /** The two sides of one comparison: tables built separately from one description, one context each. */
    static final class Sides {
        Table linear;
        Table classified;
        final PacketContext a = new PacketContext().random(new SplittableRandom(7));
        final PacketContext b = new PacketContext().random(new SplittableRandom(7));
        long now = 1_000_000_000_000L;

        Sides(Table linear, Table classified) {
            this.linear = linear;
            this.classified = classified;
        }

        void send(PacketModel p, SplittableRandom r, String context) {
            now += r.nextInt(3) == 0 ? 0 : r.nextLong(50_000_000L);
            load(a, p);
            load(b, p);
            ClassifyFixtures.Recorder ta = new ClassifyFixtures.Recorder();
            ClassifyFixtures.Recorder tb = new ClassifyFixtures.Recorder();
            int va = TableWalk.run(linear, Hook.INPUT, a, ta);
            int vb = ClassifiedWalk.run(classified, Hook.INPUT, b, tb);
            assertThat(tb.events).as(context).isEqualTo(ta.events);
            assertThat(vb).as(context).isEqualTo(va);
            assertThat(b.mark()).as(context).isEqualTo(a.mark());
            assertThat(b.hotdrop()).as(context).isEqualTo(a.hotdrop());
            assertThat(b.rejectWith()).as(context).isEqualTo(a.rejectWith());
        }

        private void load(PacketContext c, PacketModel p) {
            loadPacket(c, p, linear.family(), now);
        }

        void assertCountersEqual(String context) {
            List<Chain> ca = linear.chains();
            List<Chain> cb = classified.chains();
            assertThat(cb).hasSize(ca.size());
            for (int c = 0; c < ca.size(); c++) {
                Chain x = ca.get(c);
                Chain y = cb.get(c);
                if (x.isBuiltin()) {
                    assertThat(y.policyCounters().toString()).as(context + " policy " + x.name())
                            .isEqualTo(x.policyCounters().toString());
                }
                for (int i = 0; i < x.rules().size(); i++) {
                    assertThat(y.rules().get(i).counters().toString())
                            .as(context + " " + x.name() + "#" + (i + 1) + " " + x.rules().get(i))
                            .isEqualTo(x.rules().get(i).counters().toString());
                }
            }
        }
    }

    private static void compareOnRandomTables(Family family, long seed0, int trials, int maxRules, int packets) {
        SplittableRandom seeds = new SplittableRandom(seed0);
        for (int trial = 0; trial < trials; trial++) {
            long seed = seeds.nextLong();
            SplittableRandom r = new SplittableRandom(seed);
            TableModel model = randomTable(r, family, maxRules);
            Sides s = new Sides(build(model), build(model));
            String context = family + " seed " + Long.toHexString(seed);
            for (int i = 0; i < packets; i++) {
                s.send(randomPacket(r, family), r, context + " packet " + i);
            }
            s.assertCountersEqual(context);
        }
    }

    @Test
    void verdictsTracesAndCountersEqualTheLinearWalkOnRandomIpv4Tables() {
        compareOnRandomTables(Family.IPV4, 0xC1A55L, 400, 30, 120);
    }

    @Test
    void verdictsTracesAndCountersEqualTheLinearWalkOnRandomIpv6Tables() {
        compareOnRandomTables(Family.IPV6, 0x6C1A55L, 150, 30, 120);
    }

    @Test
    void largeChainsWithCrowdedBucketsEqualTheLinearWalk() {
        // many rules on few keys: buckets pass the collision limit and tuples get tables of their own
        compareOnRandomTables(Family.IPV4, 0xB16L, 15, 400, 400);
    }

    /** One random edit of chain {@code chain} applied to both sides (rules built separately). */
    private static void edit(Sides s, SplittableRandom r, int userCount, String chainName, int chainIndex) {
        Chain ca = s.linear.chain(chainName);
        Chain cb = s.classified.chain(chainName);
        int n = ca.rules().size();
        int op = n == 0 ? 0 : r.nextInt(5);
        RuleModel m = randomRule(r, s.linear.family(), chainIndex, userCount);
        RuleList la;
        RuleList lb;
        switch (op) {
            case 0 -> {
                int at = r.nextInt(n + 1);
                la = ca.rules().inserting(at, build(m));
                lb = cb.rules().inserting(at, build(m));
            }
            case 1 -> {
                la = ca.rules().appending(build(m));
                lb = cb.rules().appending(build(m));
            }
            case 2 -> {
                int at = r.nextInt(n);
                la = ca.rules().removing(at);
                lb = cb.rules().removing(at);
            }
            case 3 -> {
                int at = r.nextInt(n);
                la = ca.rules().replacing(at, build(m));
                lb = cb.rules().replacing(at, build(m));
            }
            default -> {
                // a restore of the chain's rules: a list without lineage
                la = RuleList.of(new ArrayList<>(ca.rules()));
                lb = RuleList.of(new ArrayList<>(cb.rules()));
            }
        }
        Table before = s.classified;
        s.linear = s.linear.with(ca.withRules(la));
        s.classified = s.classified.with(cb.withRules(lb));
        if (r.nextBoolean()) {
            ClassifiedWalk.prepare(before, s.classified);
        }
    }

    @Test
    void classifiersDerivedAfterEditsEqualTheLinearWalk() {
        SplittableRandom seeds = new SplittableRandom(0xED17L);
        for (int trial = 0; trial < 120; trial++) {
            long seed = seeds.nextLong();
            SplittableRandom r = new SplittableRandom(seed);
            TableModel model = randomTable(r, Family.IPV4, 60);
            Sides s = new Sides(build(model), build(model));
            String context = "seed " + Long.toHexString(seed);
            for (int round = 0; round < 8; round++) {
                for (int i = 0; i < 30; i++) {
                    s.send(randomPacket(r, Family.IPV4), r, context + " round " + round + " packet " + i);
                }
                // now and then more edits of one chain than its list remembers (the lineage is lost)
                boolean burst = r.nextInt(6) == 0;
                int edits = burst ? 33 + r.nextInt(10) : 1 + r.nextInt(3);
                int burstChain = r.nextInt(model.users().size() + 1) - 1;
                for (int k = 0; k < edits; k++) {
                    int c = burst ? burstChain : r.nextInt(model.users().size() + 1) - 1;
                    edit(s, r, model.users().size(), c < 0 ? "INPUT" : userName(c), c);
                }
            }
            s.assertCountersEqual(context);
        }
    }
}
