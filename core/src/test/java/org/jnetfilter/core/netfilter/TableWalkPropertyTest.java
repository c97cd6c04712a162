package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
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
 * Random tables and packets: {@link TableWalk} against a reference written the obvious way, as a
 * recursive evaluation of the test's own description of the rules (never the parsed rule objects).
 * A jump is a call, a goto is a tail call, RETURN and the end of a chain return, a hotdrop is an
 * exception; the built-in chain returning means its policy. The rules are made from the description
 * through the real extension parsers, so the two sides share nothing but the description.
 */
class TableWalkPropertyTest {
    static final String[] RULE_IFACES = {"", "", "", "eth0", "eth+", "+", "lo", "eth1", "veth+"};
    static final String[] DEVICES = {"", "eth0", "eth1", "eth10", "lo", "veth3", "et"};
    static final int[] ADDRESSES = {0x0A000001, 0x0A000102, 0x0A010203, 0xC0A80101, 0xC0A80102, 0x08080808};
    static final int[] PREFIXES = {0, 8, 16, 24, 32};
    static final int[] PORTS = {0, 22, 53, 80, 443, 1024, 40000, 65535};
    static final int[] TTLS = {1, 63, 64, 65, 255};
    static final long[] MARKS = {0, 1, 2, 3, 0x10, 0xFF};
    static final String[] FLAG_NAMES = {"FIN", "SYN", "RST", "PSH", "ACK", "URG"};

    // ---- the description ----

    record PacketModel(int src, int dst, int proto, int fragWord, int ttl, int sport, int dport, int flags,
                       int transportLength, String in, String out, long mark) {
        int fragOffset() {
            return fragWord & 0x1FFF;
        }

        int length() {
            return 20 + transportLength;
        }
    }

    static final class HotDrop extends RuntimeException {
        HotDrop() {
            super(null, null, false, false);
        }
    }

    sealed interface MatchModel permits TcpM, UdpM, MarkM, LengthM, TtlM, CommentM {
        String name();

        String[] words();

        /** May throw HotDrop. */
        boolean test(PacketModel p);
    }

    record TcpM(int sLo, int sHi, boolean sInv, int dLo, int dHi, boolean dInv, int mask, int comp,
                boolean flagsInv) implements MatchModel {
        public String name() {
            return "tcp";
        }

        public String[] words() {
            List<String> w = new ArrayList<>();
            ports(w, "--sport", sLo, sHi, sInv);
            ports(w, "--dport", dLo, dHi, dInv);
            if (flagsInv) {
                w.add("!");
            }
            w.addAll(List.of("--tcp-flags", flags(mask), flags(comp)));
            return w.toArray(new String[0]);
        }

        public boolean test(PacketModel p) {
            if (p.fragOffset() != 0) {
                if (p.fragOffset() == 1) {
                    throw new HotDrop();
                }
                return false;
            }
            if (p.transportLength() < 20) {
                throw new HotDrop();
            }
            boolean sOk = (p.sport() >= sLo && p.sport() <= sHi) ^ sInv;
            boolean dOk = (p.dport() >= dLo && p.dport() <= dHi) ^ dInv;
            boolean fOk = ((p.flags() & mask) == comp) ^ flagsInv;
            return sOk && dOk && fOk;
        }
    }

    record UdpM(int sLo, int sHi, boolean sInv, int dLo, int dHi, boolean dInv) implements MatchModel {
        public String name() {
            return "udp";
        }

        public String[] words() {
            List<String> w = new ArrayList<>();
            ports(w, "--sport", sLo, sHi, sInv);
            ports(w, "--dport", dLo, dHi, dInv);
            return w.toArray(new String[0]);
        }

        public boolean test(PacketModel p) {
            if (p.fragOffset() != 0) {
                return false;
            }
            if (p.transportLength() < 8) {
                throw new HotDrop();
            }
            return ((p.sport() >= sLo && p.sport() <= sHi) ^ sInv) && ((p.dport() >= dLo && p.dport() <= dHi) ^ dInv);
        }
    }

    record MarkM(long value, long mask, boolean inv) implements MatchModel {
        public String name() {
            return "mark";
        }

        public String[] words() {
            String v = "0x" + Long.toHexString(value) + "/0x" + Long.toHexString(mask);
            return inv ? new String[] {"!", "--mark", v} : new String[] {"--mark", v};
        }

        public boolean test(PacketModel p) {
            throw new AssertionError("needs the current mark");
        }

        boolean test(long mark) {
            return ((mark & mask) == value) ^ inv;
        }
    }

    record LengthM(int min, int max, boolean inv) implements MatchModel {
        public String name() {
            return "length";
        }

        public String[] words() {
            String r = min + ":" + max;
            return inv ? new String[] {"!", "--length", r} : new String[] {"--length", r};
        }

        public boolean test(PacketModel p) {
            return (p.length() >= min && p.length() <= max) ^ inv;
        }
    }

    /** op: 0 eq, 1 not eq, 2 lt, 3 gt. */
    record TtlM(int op, int value) implements MatchModel {
        public String name() {
            return "ttl";
        }

        public String[] words() {
            String v = Integer.toString(value);
            return switch (op) {
                case 0 -> new String[] {"--ttl-eq", v};
                case 1 -> new String[] {"!", "--ttl-eq", v};
                case 2 -> new String[] {"--ttl-lt", v};
                default -> new String[] {"--ttl-gt", v};
            };
        }

        public boolean test(PacketModel p) {
            return switch (op) {
                case 0 -> p.ttl() == value;
                case 1 -> p.ttl() != value;
                case 2 -> p.ttl() < value;
                default -> p.ttl() > value;
            };
        }
    }

    record CommentM() implements MatchModel {
        public String name() {
            return "comment";
        }

        public String[] words() {
            return new String[] {"--comment", "c"};
        }

        public boolean test(PacketModel p) {
            return true;
        }
    }

    /** kind: ACCEPT, DROP, QUEUE, RETURN, NONE, JUMP, GOTO, MARK, LOG, REJECT. */
    record TargetModel(String kind, int chain, long mark, long mask) {
    }

    /** frag: 0 none, 1 -f, 2 ! -f. */
    record RuleModel(int src, int srcPrefix, boolean srcInv, int dst, int dstPrefix, boolean dstInv, String in,
                     boolean inInv, String out, boolean outInv, int proto, boolean protoInv, int frag,
                     List<MatchModel> matches, TargetModel target) {
    }

    // ---- the reference ----

    static final class Reference {
        final List<List<RuleModel>> users;
        final List<RuleModel> input;
        final String policy;
        final long[][] packets;
        final long[] policyCount = new long[1];
        long mark;
        int rejected = -1;

        Reference(List<RuleModel> input, String policy, List<List<RuleModel>> users) {
            this.input = input;
            this.policy = policy;
            this.users = users;
            packets = new long[users.size() + 1][];
            packets[0] = new long[input.size()];
            for (int i = 0; i < users.size(); i++) {
                packets[i + 1] = new long[users.get(i).size()];
            }
        }

        int verdict(PacketModel p) {
            mark = p.mark();
            try {
                Integer v = chain(0, input, p);
                if (v != null) {
                    return v;
                }
                policyCount[0]++;
                return policy.equals("ACCEPT") ? Verdict.ACCEPT : Verdict.DROP;
            } catch (HotDrop e) {
                return Verdict.DROP;
            }
        }

        /** A verdict, or null: the chain returned. */
        Integer chain(int index, List<RuleModel> rules, PacketModel p) {
            for (int i = 0; i < rules.size(); i++) {
                RuleModel r = rules.get(i);
                if (!matches(r, p)) {
                    continue;
                }
                packets[index][i]++;
                TargetModel t = r.target();
                switch (t.kind()) {
                    case "ACCEPT":
                        return Verdict.ACCEPT;
                    case "DROP":
                        return Verdict.DROP;
                    case "QUEUE":
                        return Verdict.QUEUE;
                    case "REJECT":
                        rejected = 3;
                        return Verdict.DROP;
                    case "RETURN":
                        return null;
                    case "JUMP": {
                        Integer v = chain(t.chain() + 1, users.get(t.chain()), p);
                        if (v != null) {
                            return v;
                        }
                        break;
                    }
                    case "GOTO":
                        return chain(t.chain() + 1, users.get(t.chain()), p);
                    case "MARK":
                        mark = ((mark & ~t.mask()) ^ t.mark()) & 0xFFFFFFFFL;
                        break;
                    default:
                        break;
                }
            }
            return null;
        }

        boolean matches(RuleModel r, PacketModel p) {
            if (net(p.src(), r.src(), r.srcPrefix()) == r.srcInv() || net(p.dst(), r.dst(), r.dstPrefix()) == r.dstInv()) {
                return false;
            }
            if (iface(r.in(), p.in()) == r.inInv() || iface(r.out(), p.out()) == r.outInv()) {
                return false;
            }
            if (r.proto() != 0 && (p.proto() == r.proto()) == r.protoInv()) {
                return false;
            }
            if (r.frag() == 1 && p.fragOffset() == 0 || r.frag() == 2 && p.fragOffset() != 0) {
                return false;
            }
            for (MatchModel m : r.matches()) {
                boolean ok = m instanceof MarkM mm ? mm.test(mark) : m.test(p);
                if (!ok) {
                    return false;
                }
            }
            return true;
        }

        static boolean net(int addr, int net, int prefix) {
            long mask = prefix == 0 ? 0 : (0xFFFFFFFFL << (32 - prefix)) & 0xFFFFFFFFL;
            return ((addr & mask) == (net & mask));
        }

        /** The kernel's way: 16-byte NUL-padded names compared under a byte mask. */
        static boolean iface(String rule, String device) {
            byte[] name = Arrays.copyOf(rule.getBytes(), 16);
            byte[] dev = Arrays.copyOf(device.getBytes(), 16);
            byte[] mask = new byte[16];
            if (!rule.isEmpty()) {
                int n = rule.endsWith("+") ? rule.length() - 1 : rule.length() + 1;
                Arrays.fill(mask, 0, n, (byte) 0xFF);
            }
            for (int i = 0; i < 16; i++) {
                if (((name[i] ^ dev[i]) & mask[i]) != 0) {
                    return false;
                }
            }
            return true;
        }
    }

    // ---- generation ----

    static void ports(List<String> w, String option, int lo, int hi, boolean inv) {
        if (lo == 0 && hi == 65535 && !inv) {
            return;
        }
        if (inv) {
            w.add("!");
        }
        w.add(option);
        w.add(lo == hi ? Integer.toString(lo) : lo + ":" + hi);
    }

    static String flags(int bits) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            if ((bits & (1 << i)) != 0) {
                names.add(FLAG_NAMES[i]);
            }
        }
        return names.isEmpty() ? "NONE" : String.join(",", names);
    }

    static <T> T pick(SplittableRandom r, T[] a) {
        return a[r.nextInt(a.length)];
    }

    static int pick(SplittableRandom r, int[] a) {
        return a[r.nextInt(a.length)];
    }

    static int[] range(SplittableRandom r) {
        if (r.nextInt(3) == 0) {
            return new int[] {0, 65535};
        }
        int a = pick(r, PORTS);
        int b = pick(r, PORTS);
        return new int[] {Math.min(a, b), Math.max(a, b)};
    }

    static RuleModel randomRule(SplittableRandom r, int chainIndex, int userChains) {
        boolean addr = r.nextInt(3) == 0;
        int proto = switch (r.nextInt(5)) {
            case 0 -> 6;
            case 1 -> 17;
            case 2 -> 1;
            default -> 0;
        };
        boolean protoInv = proto != 0 && r.nextInt(5) == 0;
        List<MatchModel> matches = new ArrayList<>();
        if (proto == 6 && !protoInv && r.nextBoolean()) {
            int[] s = range(r);
            int[] d = range(r);
            matches.add(new TcpM(s[0], s[1], r.nextInt(4) == 0, d[0], d[1], r.nextInt(4) == 0,
                    r.nextInt(4) == 0 ? r.nextInt(64) : 0, r.nextInt(64) & 0x12, r.nextInt(6) == 0));
        }
        if (proto == 17 && !protoInv && r.nextBoolean()) {
            int[] s = range(r);
            int[] d = range(r);
            matches.add(new UdpM(s[0], s[1], r.nextInt(4) == 0, d[0], d[1], r.nextInt(4) == 0));
        }
        int extra = r.nextInt(3);
        for (int i = 0; i < extra; i++) {
            matches.add(switch (r.nextInt(4)) {
                case 0 -> new MarkM(pick(r, new Long[] {0L, 1L, 2L, 0x10L}), pick(r, new Long[] {0xFFL, 0x3L, 0xFFFFFFFFL}), r.nextInt(4) == 0);
                case 1 -> {
                    int a = 20 + r.nextInt(30);
                    int b = 20 + r.nextInt(30);
                    yield new LengthM(Math.min(a, b), Math.max(a, b), r.nextInt(4) == 0);
                }
                case 2 -> new TtlM(r.nextInt(4), pick(r, TTLS));
                default -> new CommentM();
            });
        }
        // only MarkM values that fit their masks can ever match; keep them anyway: a rule that never matches is a case too
        TargetModel t;
        int later = userChains - (chainIndex + 1);
        int kind = r.nextInt(later > 0 ? 12 : 9);
        t = switch (kind) {
            case 0 -> new TargetModel("ACCEPT", 0, 0, 0);
            case 1 -> new TargetModel("DROP", 0, 0, 0);
            case 2 -> new TargetModel("QUEUE", 0, 0, 0);
            case 3 -> new TargetModel("RETURN", 0, 0, 0);
            case 4 -> new TargetModel("NONE", 0, 0, 0);
            case 5 -> new TargetModel("MARK", 0, pick(r, new Long[] {0L, 1L, 2L, 0x10L}), pick(r, new Long[] {0xFFL, 0x3L, 0L}));
            case 6 -> new TargetModel("LOG", 0, 0, 0);
            case 7 -> new TargetModel("REJECT", 0, 0, 0);
            case 8 -> new TargetModel("MARK", 0, 1, 1);
            case 9, 10 -> new TargetModel("JUMP", chainIndex + 1 + r.nextInt(later), 0, 0);
            default -> new TargetModel("GOTO", chainIndex + 1 + r.nextInt(later), 0, 0);
        };
        return new RuleModel(
                addr ? pick(r, ADDRESSES) : 0, addr ? pick(r, PREFIXES) : 0, addr && r.nextInt(4) == 0,
                r.nextInt(4) == 0 ? pick(r, ADDRESSES) : 0, r.nextInt(4) == 0 ? pick(r, PREFIXES) : 0, r.nextInt(8) == 0,
                pick(r, RULE_IFACES), r.nextInt(6) == 0, r.nextInt(4) == 0 ? pick(r, RULE_IFACES) : "", r.nextInt(8) == 0,
                proto, protoInv, r.nextInt(6) == 0 ? 1 + r.nextInt(2) : 0, matches, t);
    }

    static PacketModel randomPacket(SplittableRandom r) {
        int proto = pick(r, new int[] {6, 6, 17, 1, 47});
        int full = proto == 6 ? 20 : 8;
        int transport = r.nextInt(8) == 0 ? r.nextInt(full) : full + r.nextInt(3) * 4;
        int frag = switch (r.nextInt(8)) {
            case 0 -> 1;
            case 1 -> 185;
            case 2 -> 0x2000;
            default -> 0;
        };
        return new PacketModel(pick(r, ADDRESSES), pick(r, ADDRESSES), proto, frag, pick(r, TTLS), pick(r, PORTS),
                pick(r, PORTS), r.nextInt(64), transport, pick(r, DEVICES), pick(r, DEVICES),
                MARKS[r.nextInt(MARKS.length)]);
    }

    static MemorySegment bytes(PacketModel p) {
        byte[] t = new byte[p.transportLength()];
        byte[] header = Fixtures.tcp(p.sport(), p.dport(), p.flags());
        System.arraycopy(header, 0, t, 0, Math.min(t.length, header.length));
        return Fixtures.ipv4(p.src(), p.dst(), p.proto(), p.fragWord(), p.ttl(), t);
    }

    // ---- the real rules from the description ----

    static Rule build(RuleModel m, List<String> userNames) {
        IpSpec ip = IpSpec.any(Family.IPV4)
                .withSrc(IpNet.ipv4(m.src(), m.srcPrefix())).withInverted(IpSpec.INV_SRCIP, m.srcInv())
                .withDst(IpNet.ipv4(m.dst(), m.dstPrefix())).withInverted(IpSpec.INV_DSTIP, m.dstInv())
                .withInIface(m.in()).withInverted(IpSpec.INV_VIA_IN, m.inInv())
                .withOutIface(m.out()).withInverted(IpSpec.INV_VIA_OUT, m.outInv())
                .withProtocol(m.proto()).withInverted(IpSpec.INV_PROTO, m.protoInv())
                .withFragment(m.frag() != 0).withInverted(IpSpec.INV_FRAG, m.frag() == 2);
        List<Match> matches = new ArrayList<>();
        for (MatchModel mm : m.matches()) {
            matches.add(Fixtures.match(ip, mm.name(), mm.words()));
        }
        TargetModel t = m.target();
        Target target = switch (t.kind()) {
            case "NONE" -> new Target.None();
            case "JUMP" -> new Target.Jump(userNames.get(t.chain()), false);
            case "GOTO" -> new Target.Jump(userNames.get(t.chain()), true);
            case "MARK" -> Fixtures.target(ip, "MARK", "--set-xmark",
                    "0x" + Long.toHexString(t.mark()) + "/0x" + Long.toHexString(t.mask()));
            case "LOG" -> Fixtures.target(ip, "LOG");
            case "REJECT" -> Fixtures.target(ip, "REJECT");
            default -> Target.verdictOrNull(t.kind());
        };
        return new Rule(new RuleSpec(ip, matches, target), Counters.zero());
    }

    @Test
    void walkEqualsTheRecursiveReferenceOnRandomTables() {
        SplittableRandom seeds = new SplittableRandom(0x5EED_3L);
        PacketContext pkt = new PacketContext();
        int walks = 0;
        int[] verdicts = new int[4];
        for (int trial = 0; trial < 400; trial++) {
            long seed = seeds.nextLong();
            SplittableRandom r = new SplittableRandom(seed);
            int userCount = r.nextInt(6);
            List<String> userNames = new ArrayList<>();
            for (int i = 0; i < userCount; i++) {
                userNames.add("U" + i);
            }
            List<RuleModel> input = new ArrayList<>();
            int n = r.nextInt(10);
            for (int i = 0; i < n; i++) {
                input.add(randomRule(r, -1, userCount));
            }
            List<List<RuleModel>> users = new ArrayList<>();
            for (int c = 0; c < userCount; c++) {
                List<RuleModel> rules = new ArrayList<>();
                int k = r.nextInt(8);
                for (int i = 0; i < k; i++) {
                    rules.add(randomRule(r, c, userCount));
                }
                users.add(rules);
            }
            String policy = r.nextBoolean() ? "ACCEPT" : "DROP";

            List<Rule> inputRules = input.stream().map(m -> build(m, userNames)).toList();
            List<List<Rule>> userRules = users.stream().map(l -> l.stream().map(m -> build(m, userNames)).toList()).toList();
            List<Chain> userChains = new ArrayList<>();
            for (int c = 0; c < userCount; c++) {
                userChains.add(Chain.user(userNames.get(c)).withRules(RuleList.of(userRules.get(c))));
            }
            Chain in = Chain.builtin("INPUT").withPolicy(policy, Counters.zero()).withRules(RuleList.of(inputRules));
            Table table = Table.of(TableKind.FILTER, Family.IPV4, List.of(in), userChains);

            Reference ref = new Reference(input, policy, users);
            for (int i = 0; i < 100; i++) {
                PacketModel p = randomPacket(r);
                ref.rejected = -1;
                int expected = ref.verdict(p);
                pkt.ipv4(bytes(p), 0).inInterface(p.in()).outInterface(p.out()).mark(p.mark());
                int actual = TableWalk.run(table, Hook.INPUT, pkt, Trace.NONE);
                String where = "seed " + Long.toHexString(seed) + " packet " + i + " " + p;
                assertThat(actual).as(where).isEqualTo(expected);
                if (!pkt.hotdrop()) {
                    assertThat(pkt.mark()).as(where).isEqualTo(ref.mark);
                }
                assertThat(pkt.rejectWith() >= 0).as(where).isEqualTo(ref.rejected >= 0);
                verdicts[Math.min(actual, 3)]++;
                walks++;
            }
            for (int i = 0; i < inputRules.size(); i++) {
                assertThat(inputRules.get(i).counters().packets()).as("seed %x INPUT rule %d", seed, i + 1)
                        .isEqualTo(ref.packets[0][i]);
            }
            for (int c = 0; c < userCount; c++) {
                for (int i = 0; i < userRules.get(c).size(); i++) {
                    assertThat(userRules.get(c).get(i).counters().packets())
                            .as("seed %x %s rule %d", seed, userNames.get(c), i + 1).isEqualTo(ref.packets[c + 1][i]);
                }
            }
            assertThat(in.policyCounters().packets()).as("seed %x policy", seed).isEqualTo(ref.policyCount[0]);
        }
        assertThat(walks).isEqualTo(40_000);
        // the generator reaches every outcome often enough to mean something
        assertThat(verdicts[Verdict.DROP]).isGreaterThan(2_000);
        assertThat(verdicts[Verdict.ACCEPT]).isGreaterThan(2_000);
        assertThat(verdicts[Verdict.QUEUE]).isGreaterThan(1_000);
    }
}
