package org.jnetfilter.difftest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Random rulesets as restore text, seeded, for one family at a time, over the harness's
 * {@link Topology}: every table (raw, mangle, nat, filter) and built-in chain, random policies of
 * the filter table, user chains with jumps, gotos and RETURN, negations, and the matches and targets
 * below, with values drawn from the topology's addresses and the ports the packet generator uses, so
 * rules do match.
 *
 * <p>Validity by construction: each user chain belongs to one built-in chain (only it and that
 * chain's other user chains jump to it, lower to higher, so there are no loops), so a target is used
 * only where the kernel accepts it (REJECT in filter INPUT/FORWARD/OUTPUT; DNAT and REDIRECT in nat
 * PREROUTING/OUTPUT; SNAT and MASQUERADE in nat POSTROUTING; TCPMSS with its SYN match in mangle).
 */
public final class RulesetGenerator {
    /** What a ruleset may use; the packet comparison turns features off until jnetfilter has them. */
    public record Features(java.util.Set<String> off) {
        public static final Features ALL = new Features(java.util.Set.of());

        public boolean on(String feature) {
            return !off.contains(feature);
        }

        public boolean conntrack() {
            return on("conntrack");
        }

        public boolean nat() {
            return on("nat");
        }

        public boolean reject() {
            return on("reject");
        }

        public boolean mangleTargets() {
            return on("mangle-targets");
        }

        /** These features and {@code more} off. */
        public Features without(String... more) {
            java.util.Set<String> all = new java.util.HashSet<>(off);
            all.addAll(List.of(more));
            return new Features(java.util.Set.copyOf(all));
        }
    }

    static final int[] PORTS = {22, 53, 80, 443, 8080, 1024, 5000};
    /** A fixed clock for generators not told the time: 2027-01-15 08:00 UTC, a Friday. */
    static final long DEFAULT_NOW = 1_800_000_000L;
    private final SplittableRandom rnd;
    // what later rounds added is drawn from a stream of its own, so that a seed's rulesets stay as they were but
    // for the new rules and options
    private final SplittableRandom laterDraws;
    private final boolean v6;
    // whether this ruleset's limits and hashlimits are by the second (most of them): one ruleset in REFILLING_ONE_IN,
    // as their pauses cost the run time
    private final boolean refilling;
    static final int REFILLING_ONE_IN = 8;
    private final Features features;
    private long nowEpochSeconds = DEFAULT_NOW;
    private int namedState;

    public RulesetGenerator(long seed, boolean v6, Features features) {
        this.rnd = new SplittableRandom(seed);
        this.laterDraws = new SplittableRandom(seed ^ 0x7EE100BL);
        this.refilling = laterDraws.nextInt(REFILLING_ONE_IN) == 0;
        this.v6 = v6;
        this.features = features;
    }

    /**
     * The wall clock the time matches are drawn around (seconds since the epoch): their windows include or
     * exclude this instant by an hour or more, so the kernel's clock and jnetfilter's (the kernel side's time of
     * sending) decide alike while a run lasts less than that.
     */
    public RulesetGenerator clock(long epochSeconds) {
        this.nowEpochSeconds = epochSeconds;
        return this;
    }

    /**
     * Whether a ruleset's decisions change with a pause of {@link PacketSequenceGenerator#PAUSE_MILLIS}: recent
     * entries older than a second, token buckets refilled by the second.
     */
    public static boolean timeSensitive(String rules) {
        return refills(rules) || rules.contains("--seconds 1 ");
    }

    /** Whether a ruleset has token buckets refilled by the second (limit, hashlimit): they get short pauses too. */
    public static boolean refills(String rules) {
        return rules.contains("/sec") || rules.contains("/s ") || rules.contains("b/s");
    }

    /** The spacing of packets {@link #jiffySensitive} rulesets get: more than a jiffy at HZ 250 (4 ms). */
    public static final int JIFFY_SPACING_MILLIS = 5;

    /**
     * Whether a ruleset's decisions depend on which jiffy each packet falls in, not only on the time between
     * them: nf_conncount collects a list at most once a jiffy, so whether a closed connection still counts for
     * the next packet depends on where the jiffies tick, which the kernel's clock and jnetfilter's place
     * differently; packets more than a jiffy apart fall in different jiffies on both sides.
     */
    public static boolean jiffySensitive(String rules) {
        return rules.contains(" -m connlimit ");
    }

    /** A whole restore file: {@code rulesPerChain} is the mean number of rules in each chain. */
    public String generate(int rulesPerChain) {
        StringBuilder out = new StringBuilder();
        if (features.on("ipset")) {
            out.append(setMembers());
        }
        for (String table : Rulesets.TABLES) {
            if (table.equals("nat") && !features.nat()) {
                out.append("*nat\nCOMMIT\n");
                continue;
            }
            out.append(table(table, rulesPerChain));
        }
        return out.toString();
    }

    private static List<String> builtins(String table) {
        return switch (table) {
            case "raw" -> List.of("PREROUTING", "OUTPUT");
            case "mangle" -> List.of("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING");
            case "nat" -> List.of("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING");
            default -> List.of("INPUT", "FORWARD", "OUTPUT");
        };
    }

    private String table(String table, int mean) {
        Map<String, List<String>> userChainsByOwner = new LinkedHashMap<>();
        List<String> declarations = new ArrayList<>();
        StringBuilder rules = new StringBuilder();
        int counter = 0;
        for (String chain : builtins(table)) {
            String policy = table.equals("filter") && rnd.nextInt(4) == 0 ? "DROP" : "ACCEPT";
            declarations.add(":" + chain + " " + policy + " [0:0]");
            List<String> users = new ArrayList<>();
            int n = rnd.nextInt(3);
            for (int i = 0; i < n; i++) {
                users.add("C" + (counter++) + "-" + chain.substring(0, 3));
            }
            userChainsByOwner.put(chain, users);
        }
        for (var e : userChainsByOwner.entrySet()) {
            for (String u : e.getValue()) {
                declarations.add(":" + u + " - [0:0]");
            }
        }
        for (var e : userChainsByOwner.entrySet()) {
            String owner = e.getKey();
            List<String> users = e.getValue();
            chainRules(rules, table, owner, owner, users, mean);
            for (int i = 0; i < users.size(); i++) {
                chainRules(rules, table, owner, users.get(i), users.subList(i + 1, users.size()), mean);
            }
        }
        StringBuilder s = new StringBuilder("*").append(table).append('\n');
        for (String d : declarations) {
            s.append(d).append('\n');
        }
        return s.append(rules).append("COMMIT\n").toString();
    }

    private void chainRules(StringBuilder out, String table, String owner, String chain, List<String> jumpable,
            int mean) {
        int n = rnd.nextInt(2 * mean + 1);
        for (int i = 0; i < n; i++) {
            StringBuilder r = new StringBuilder("-A ").append(chain);
            String proto = matches(r, table, owner);
            String target = target(table, owner, chain, proto, jumpable);
            if (target == null) {
                continue;
            }
            out.append(r).append(target).append('\n');
        }
        // make sure jump targets are reached now and then
        if (!jumpable.isEmpty() && rnd.nextInt(2) == 0) {
            out.append("-A ").append(chain).append(rnd.nextInt(3) == 0 ? " -g " : " -j ")
                    .append(jumpable.get(rnd.nextInt(jumpable.size()))).append('\n');
        }
    }

    private String address() {
        int side = rnd.nextInt(2) + 1;
        int kind = rnd.nextInt(4);
        if (v6) {
            String net = "2001:db8:" + side + "::";
            return switch (kind) {
                case 0 -> net + "/64";
                case 1 -> net + "1/128";
                case 2 -> "2001:db8::/32";
                default -> net + (2 + rnd.nextInt(Topology.HOSTS)) + "/128";
            };
        }
        return switch (kind) {
            case 0 -> "10." + side + ".0.0/24";
            case 1 -> "10." + side + ".0.1/32";
            case 2 -> "10.0.0.0/8";
            default -> "10." + side + ".0." + (2 + rnd.nextInt(Topology.HOSTS)) + "/32";
        };
    }

    private String neg() {
        return rnd.nextInt(5) == 0 ? "! " : "";
    }

    private boolean inAllowed(String owner) {
        return !owner.equals("OUTPUT") && !owner.equals("POSTROUTING");
    }

    private boolean outAllowed(String owner) {
        return !owner.equals("PREROUTING") && !owner.equals("INPUT");
    }

    private String iface() {
        return switch (rnd.nextInt(4)) {
            case 0 -> Topology.DUT_A;
            case 1 -> Topology.DUT_B;
            case 2 -> "veth+";
            default -> "lo";
        };
    }

    /** Appends the rule's matches; returns its protocol (tcp, udp, icmp, icmpv6) or null. */
    private String matches(StringBuilder r, String table, String owner) {
        if (rnd.nextInt(3) == 0) {
            r.append(' ').append(neg()).append("-s ").append(address());
        }
        if (rnd.nextInt(3) == 0) {
            r.append(' ').append(neg()).append("-d ").append(address());
        }
        if (inAllowed(owner) && rnd.nextInt(4) == 0) {
            r.append(' ').append(neg()).append("-i ").append(iface());
        }
        if (outAllowed(owner) && rnd.nextInt(4) == 0) {
            r.append(' ').append(neg()).append("-o ").append(iface());
        }
        String proto = null;
        int p = rnd.nextInt(8);
        if (p < 3) {
            proto = "tcp";
        } else if (p < 5) {
            proto = "udp";
        } else if (p == 5) {
            proto = v6 ? "ipv6-icmp" : "icmp";
        }
        if (proto != null) {
            r.append(" -p ").append(proto);
            switch (proto) {
                case "tcp" -> {
                    r.append(" -m tcp");
                    if (rnd.nextInt(2) == 0) {
                        r.append(' ').append(neg()).append("--dport ").append(port());
                    }
                    if (rnd.nextInt(3) == 0) {
                        r.append(' ').append(neg()).append("--sport ").append(port());
                    }
                    int f = rnd.nextInt(4);
                    if (f == 0) {
                        r.append(' ').append(neg()).append("--syn");
                    } else if (f == 1) {
                        r.append(" --tcp-flags ").append(rnd.nextBoolean() ? "SYN,ACK SYN,ACK" : "FIN,RST,ACK ACK");
                    }
                }
                case "udp" -> {
                    r.append(" -m udp");
                    if (rnd.nextInt(2) == 0) {
                        r.append(' ').append(neg()).append("--dport ").append(port());
                    }
                }
                default -> {
                    if (rnd.nextBoolean()) {
                        if (v6) {
                            r.append(" -m icmp6 --icmpv6-type ").append(rnd.nextBoolean() ? "echo-request" : "1");
                        } else {
                            r.append(" -m icmp --icmp-type ").append(rnd.nextBoolean() ? "echo-request" : "3/3");
                        }
                    }
                }
            }
            if (!proto.startsWith("i") && rnd.nextInt(4) == 0) {
                r.append(" -m multiport ").append(neg()).append("--dports ").append(PORTS[rnd.nextInt(3)]).append(',')
                        .append(PORTS[3 + rnd.nextInt(4)]);
            }
        } else if (rnd.nextInt(6) == 0) {
            r.append(' ').append(neg()).append("-p ").append(v6 ? "ipv6-icmp" : "udp");
        }
        if (rnd.nextInt(5) == 0) {
            r.append(" -m mark ").append(neg()).append("--mark 0x").append(Integer.toHexString(1 + rnd.nextInt(3)))
                    .append(rnd.nextBoolean() ? "/0xff" : "");
        }
        if (features.conntrack() && rnd.nextInt(4) == 0) {
            String[] states = {"NEW", "ESTABLISHED", "RELATED", "INVALID", "RELATED,ESTABLISHED", "UNTRACKED"};
            String st = states[rnd.nextInt(states.length)];
            if (rnd.nextBoolean()) {
                r.append(" -m conntrack ").append(neg()).append("--ctstate ").append(st);
            } else {
                r.append(" -m state ").append(neg()).append("--state ").append(st);
            }
        }
        if (features.conntrack() && rnd.nextInt(10) == 0) {
            r.append(" -m connmark --mark 0x").append(Integer.toHexString(1 + rnd.nextInt(2)));
        }
        if (features.conntrack() && rnd.nextInt(14) == 0) {
            String[] dirs = {"original", "reply", "both"};
            String[] modes = {"packets", "bytes", "avgpkt"};
            String mode = modes[rnd.nextInt(modes.length)];
            int from = mode.equals("packets") ? 1 + rnd.nextInt(3) : 40 + rnd.nextInt(200);
            r.append(" -m connbytes ").append(neg()).append("--connbytes ").append(from)
                    .append(rnd.nextBoolean() ? ":" + (from + (mode.equals("packets") ? 2 : 300)) : "")
                    .append(" --connbytes-dir ").append(dirs[rnd.nextInt(dirs.length)])
                    .append(" --connbytes-mode ").append(mode);
        }
        if (rnd.nextInt(8) == 0) {
            int min = rnd.nextInt(100);
            r.append(" -m length ").append(neg()).append("--length ").append(min).append(':')
                    .append(min + rnd.nextInt(200));
        }
        if (rnd.nextInt(10) == 0) {
            if (v6) {
                r.append(" -m hl --hl-").append(rnd.nextBoolean() ? "lt 2" : "eq 64");
            } else {
                r.append(" -m ttl --ttl-").append(rnd.nextBoolean() ? "lt 2" : "eq 64");
            }
        }
        if (rnd.nextInt(12) == 0) {
            r.append(" -m pkttype ").append(neg()).append("--pkt-type ")
                    .append(rnd.nextBoolean() ? "unicast" : "broadcast");
        }
        if (rnd.nextInt(12) == 0) {
            r.append(" -m addrtype ").append(rnd.nextBoolean() ? "--dst-type LOCAL" : "! --src-type LOCAL");
        }
        if (!v6 && rnd.nextInt(14) == 0) {
            r.append(" -m iprange ").append(neg()).append("--src-range 10.1.0.2-10.1.0.5");
        }
        if (rnd.nextInt(12) == 0) {
            r.append(" -m dscp ").append(neg()).append("--dscp 0x").append(Integer.toHexString(rnd.nextInt(3) * 8));
        }
        if (!v6 && rnd.nextInt(14) == 0) {
            r.append(" -m tos ").append(neg()).append("--tos 0x").append(rnd.nextBoolean() ? "10/0x3f" : "0/0xff");
        }
        if (rnd.nextInt(16) == 0) {
            r.append(" -m string --algo ").append(rnd.nextBoolean() ? "bm" : "kmp").append(' ').append(neg())
                    .append("--string ").append(rnd.nextBoolean() ? "abc" : "xyz");
        }
        if ("tcp".equals(proto) && rnd.nextInt(10) == 0) {
            r.append(" -m tcpmss ").append(neg()).append("--mss ").append(rnd.nextBoolean() ? "1400:1500" : "536");
        }
        if ("tcp".equals(proto) && rnd.nextInt(14) == 0) {
            r.append(" -m ecn ").append(rnd.nextBoolean() ? "--ecn-tcp-cwr" : "! --ecn-tcp-ece");
        }
        if (inAllowed(owner) && !owner.equals("INPUT") || owner.equals("INPUT")) {
            if (!owner.equals("OUTPUT") && !owner.equals("POSTROUTING") && rnd.nextInt(16) == 0) {
                r.append(" -m mac ").append(neg()).append("--mac-source ")
                        .append(Topology.mac(rnd.nextBoolean() ? Topology.MAC_A : Topology.MAC_B));
            }
        }
        if (features.on("statistic-nth") && rnd.nextInt(20) == 0) {
            r.append(" -m statistic --mode nth ").append(neg()).append("--every ").append(2 + rnd.nextInt(3))
                    .append(" --packet ").append(rnd.nextInt(2));
        }
        if (rnd.nextInt(24) == 0) {
            r.append(" -m quota ").append(neg()).append("--quota ").append(200 + rnd.nextInt(2000));
        }
        if (!v6 && rnd.nextInt(24) == 0) {
            // the first 32-bit word's total length field (u32 "0&0xFFFF=...")
            r.append(" -m u32 ").append(neg()).append("--u32 \"0&0xFFFF=0x0:0x3C\"");
        }
        if (v6 && rnd.nextInt(20) == 0) {
            r.append(" -m ipv6header ").append(neg()).append("--header ").append(rnd.nextBoolean() ? "frag" : "hop,frag")
                    .append(rnd.nextBoolean() ? " --soft" : "");
        }
        if (v6 && rnd.nextInt(20) == 0) {
            r.append(" -m frag ").append(rnd.nextBoolean() ? "--fragfirst" : "--fragmore");
        }
        moreMatches(r, table, owner, proto);
        if (rnd.nextInt(10) == 0) {
            r.append(" -m comment --comment \"rule ").append(rnd.nextInt(1000)).append('"');
        }
        return proto;
    }

    /**
     * The matches drawn since issue 4's second round: limit, hashlimit, recent, time, connlimit, set, owner,
     * cluster, bpf, osf, srh, helper. Windows of time matches lie around {@link #clock}; recent lists and
     * hashlimit tables have names of their own per family (a pool of two recent lists, so rules meet each
     * other's entries).
     */
    private void moreMatches(StringBuilder r, String table, String owner, String proto) {
        if (rnd.nextInt(22) == 0 && features.on("limit")) {
            // rates by the minute or slower: the burst decides; by the second (in a few rulesets, with refills
            // compared: see KernelJiffies), tokens come back within a case, between packets and over its pauses
            String[] slow = {"6/min", "20/min", "3/hour", "100/day"};
            String[] fast = {"2/sec", "5/second", "10/s", "25/sec"};
            boolean refills = refilling && laterDraws.nextInt(4) != 0;
            String[] rates = refills && features.on("limit-refill") ? fast : slow;
            r.append(" -m limit --limit ").append(rates[rnd.nextInt(rates.length)]).append(" --limit-burst ")
                    .append(1 + rnd.nextInt(4));
        }
        if (rnd.nextInt(24) == 0 && features.on("hashlimit")) {
            hashlimit(r);
        }
        if (rnd.nextInt(16) == 0 && features.on("recent")) {
            recent(r);
        }
        if (rnd.nextInt(22) == 0 && features.on("time")) {
            time(r);
        }
        if (features.conntrack() && rnd.nextInt(24) == 0 && features.on("connlimit")) {
            boolean above = rnd.nextBoolean();
            r.append(" -m connlimit --connlimit-").append(above ? "above " : "upto ").append(rnd.nextInt(3))
                    .append(" --connlimit-mask ").append(v6 ? (rnd.nextBoolean() ? 64 : 128) : (rnd.nextBoolean() ? 24 : 32))
                    .append(rnd.nextBoolean() ? " --connlimit-saddr" : " --connlimit-daddr");
        }
        if (features.on("ipset") && rnd.nextInt(12) == 0) {
            setMatch(r, proto);
        }
        if ((owner.equals("OUTPUT") || owner.equals("POSTROUTING")) && rnd.nextInt(8) == 0 && features.on("owner")) {
            switch (rnd.nextInt(4)) {
                case 0 -> r.append(" -m owner ").append(neg()).append("--uid-owner ").append(rnd.nextBoolean() ? "0" : "0-999");
                case 1 -> r.append(" -m owner ").append(neg()).append("--gid-owner ").append(rnd.nextBoolean() ? "0" : "1000");
                case 2 -> r.append(" -m owner ").append(neg()).append("--socket-exists");
                default -> r.append(" -m owner ! --uid-owner 1000 ").append(neg()).append("--gid-owner 0");
            }
        }
        if (features.conntrack() && rnd.nextInt(26) == 0 && features.on("cluster")) {
            int nodes = 2 + rnd.nextInt(3);
            r.append(" -m cluster --cluster-total-nodes ").append(nodes);
            if (rnd.nextBoolean()) {
                r.append(' ').append(neg()).append("--cluster-local-node ").append(1 + rnd.nextInt(nodes));
            } else {
                r.append(' ').append(neg()).append("--cluster-local-nodemask ").append(1 + rnd.nextInt((1 << nodes) - 1));
            }
            r.append(" --cluster-hash-seed 0x").append(Integer.toHexString(rnd.nextInt()));
        }
        if (rnd.nextInt(26) == 0 && features.on("bpf")) {
            r.append(" -m bpf --bytecode \"").append(bpfProgram()).append('"');
        }
        if (!v6 && "tcp".equals(proto) && (owner.equals("PREROUTING") || owner.equals("INPUT")
                || owner.equals("FORWARD")) && rnd.nextInt(20) == 0 && features.on("osf")) {
            // no fingerprint is loaded in dut (nfnl_osf): nothing matches, inverted or not
            r.append(" -m osf ").append(neg()).append("--genre ").append(rnd.nextBoolean() ? "Linux" : "Windows")
                    .append(rnd.nextBoolean() ? " --ttl " + rnd.nextInt(3) : "");
        }
        if (v6 && rnd.nextInt(20) == 0 && features.on("srh")) {
            switch (rnd.nextInt(4)) {
                case 0 -> r.append(" -m srh ").append(neg()).append("--srh-next-hdr 17");
                case 1 -> r.append(" -m srh ").append(neg()).append("--srh-segs-left-gt 0");
                case 2 -> r.append(" -m srh --srh-last-entry-eq ").append(rnd.nextInt(2));
                default -> r.append(" -m srh ").append(neg()).append("--srh-tag 0");
            }
        }
        if (features.conntrack() && rnd.nextInt(30) == 0 && features.on("helper")) {
            r.append(" -m helper ").append(neg()).append("--helper ").append(rnd.nextBoolean() ? "ftp" : "tftp");
        }
    }

    private void hashlimit(StringBuilder r) {
        // as for limit: by the minute, hour or day, or by the second with refills compared. Rates by the second are
        // fast enough that a bucket idle for its expiry (1 s) is full again, so whether the kernel's deferrable
        // garbage collection (every second from the table's creation) has dropped it yet decides nothing; bytes
        // (16-byte units, a 1 s bucket) expire after 15 or 60 s, beyond a case
        String[] slow = {"10/min", "30/min", "5/hour", "50/day"};
        String[] fast = {"5/sec", "20/s", "1kb/s", "4kb/s"};
        // drawn whatever the features, so that the later draws after it do not depend on them
        boolean refills = refilling && laterDraws.nextInt(4) != 0;
        String[] rates = refills && features.on("limit-refill") ? fast : slow;
        String rate = rates[rnd.nextInt(rates.length)];
        r.append(" -m hashlimit --hashlimit-").append(rnd.nextInt(3) == 0 ? "above " : "upto ").append(rate);
        if (rnd.nextBoolean()) {
            int burst = 1 + rnd.nextInt(4);
            // bytes: at least the rate's worth (1 to 4 kb more)
            r.append(" --hashlimit-burst ").append(rate.endsWith("b/s")
                    ? (burst + (rate.startsWith("1") ? 1 : 4)) + "kb" : Integer.toString(burst));
        }
        String[] modes = {"", "srcip", "dstip", "srcip,dstport", "dstip,dstport"};
        String mode = modes[rnd.nextInt(modes.length)];
        if (!mode.isEmpty()) {
            r.append(" --hashlimit-mode ").append(mode);
            if (mode.startsWith("srcip") && rnd.nextBoolean()) {
                r.append(" --hashlimit-srcmask ").append(v6 ? 64 : 24);
            }
        }
        // one table per rule: two rules of one name share the first one's table and configuration
        r.append(" --hashlimit-name dth").append(namedState++);
    }

    private void recent(StringBuilder r) {
        // a list's mask is the one of the rule that made it (xt_recent keeps t->mask), whichever rule Linux checks
        // first: list b always has a mask, list a never, so every rule of a list names the same
        boolean masked = rnd.nextBoolean();
        String name = "dtr" + (v6 ? "6" : "4") + (masked ? "b" : "a");
        int kind = rnd.nextInt(6);
        if (kind < 2) {
            r.append(" -m recent --set --name ").append(name);
        } else if (kind == 2) {
            r.append(" -m recent ").append(neg()).append("--remove --name ").append(name);
        } else {
            r.append(" -m recent ").append(neg()).append(kind == 3 ? "--rcheck" : "--update");
            boolean seconds = rnd.nextBoolean();
            if (seconds) {
                r.append(" --seconds ").append(rnd.nextBoolean() ? 1 : 3600);
                if (rnd.nextInt(4) == 0) {
                    r.append(" --reap");
                }
            }
            if (!seconds || rnd.nextBoolean()) {
                r.append(" --hitcount ").append(2 + rnd.nextInt(3));
            }
            if (rnd.nextInt(5) == 0) {
                r.append(" --rttl");
            }
            r.append(" --name ").append(name);
        }
        if (rnd.nextInt(3) == 0) {
            r.append(" --rdest");
        }
        if (masked) {
            r.append(" --mask ").append(v6 ? "ffff:ffff:ffff:ffff::" : "255.255.255.0");
        }
    }

    /** A time match whose window includes or excludes {@link #clock}, by an hour or more. */
    private void time(StringBuilder r) {
        java.time.ZonedDateTime now = java.time.Instant.ofEpochSecond(nowEpochSeconds).atZone(java.time.ZoneOffset.UTC);
        r.append(" -m time");
        switch (rnd.nextInt(5)) {
            case 0 -> {
                int from = -1 - rnd.nextInt(400);
                int to = rnd.nextBoolean() ? -1 : 1 + rnd.nextInt(400);
                r.append(" --datestart ").append(date(now.plusDays(from))).append(" --datestop ").append(date(now.plusDays(to)));
            }
            case 1, 2 -> {
                // a window of daytimes: around now, or beside it (either may wrap over midnight)
                int start = rnd.nextBoolean() ? -1 - rnd.nextInt(5) : 1 + rnd.nextInt(5);
                int length = 1 + rnd.nextInt(start < 0 ? 10 : Math.max(1, 22 - start));
                if (start < 0) {
                    length = Math.max(length, -start + 1);
                }
                java.time.ZonedDateTime a = now.plusHours(start);
                java.time.ZonedDateTime b = a.plusHours(length);
                r.append(" --timestart ").append(daytime(a)).append(" --timestop ").append(daytime(b));
                if (b.toLocalTime().isBefore(a.toLocalTime()) && rnd.nextInt(3) == 0) {
                    r.append(" --contiguous");
                }
                if (rnd.nextBoolean()) {
                    weekdays(r, now);
                }
            }
            case 3 -> weekdays(r, now);
            default -> {
                int today = now.getDayOfMonth();
                java.util.TreeSet<Integer> days = new java.util.TreeSet<>();
                if (rnd.nextBoolean()) {
                    days.add(today);
                }
                for (int i = rnd.nextInt(3); i >= 0 || days.isEmpty(); i--) {
                    int d = 1 + rnd.nextInt(31);
                    if (d != today) {
                        days.add(d);
                    }
                }
                r.append(' ').append(neg()).append("--monthdays ").append(join(days));
            }
        }
    }

    private void weekdays(StringBuilder r, java.time.ZonedDateTime now) {
        String[] names = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
        int today = now.getDayOfWeek().getValue() - 1;
        StringBuilder days = new StringBuilder();
        boolean withToday = rnd.nextBoolean();
        for (int d = 0; d < 7; d++) {
            if (d == today ? withToday : rnd.nextInt(3) == 0) {
                days.append(days.length() == 0 ? "" : ",").append(names[d]);
            }
        }
        if (days.length() == 0) {
            days.append(names[(today + 1) % 7]);
        }
        r.append(' ').append(neg()).append("--weekdays ").append(days);
    }

    private static String date(java.time.ZonedDateTime t) {
        return String.format("%04d-%02d-%02dT%02d:%02d:%02d", t.getYear(), t.getMonthValue(), t.getDayOfMonth(),
                t.getHour(), t.getMinute(), t.getSecond());
    }

    private static String daytime(java.time.ZonedDateTime t) {
        return String.format("%02d:%02d:%02d", t.getHour(), t.getMinute(), t.getSecond());
    }

    private static String join(java.util.Collection<Integer> xs) {
        StringBuilder s = new StringBuilder();
        for (int x : xs) {
            s.append(s.length() == 0 ? "" : ",").append(x);
        }
        return s.toString();
    }

    private void setMatch(StringBuilder r, String proto) {
        String fam = v6 ? "dt6-" : "dt4-";
        boolean ports = "tcp".equals(proto) || "udp".equals(proto);
        String dir = rnd.nextBoolean() ? "src" : "dst";
        String ref = switch (rnd.nextInt(ports && !v6 ? 6 : ports ? 5 : 4)) {
            case 0 -> fam + "ip " + dir;
            case 1 -> fam + "net " + dir;
            case 2 -> fam + "add " + dir;
            case 3 -> "dt-list " + dir;
            case 4 -> "dt-port " + (rnd.nextBoolean() ? "dst" : "src");
            default -> fam + "ipport " + (rnd.nextBoolean() ? "dst,dst" : "src,dst");
        };
        r.append(" -m set ").append(neg()).append("--match-set ").append(ref);
        if (ref.startsWith(fam + "net") && rnd.nextInt(3) == 0) {
            r.append(" --return-nomatch");
        }
        if (ref.startsWith(fam + "ip ") && rnd.nextInt(3) == 0) {
            r.append(rnd.nextBoolean() ? " ! --update-counters" : " --packets-gt " + rnd.nextInt(3));
        }
    }

    /** {@code # ipset add} lines: this family's members of the {@link SetCatalogue} (IPv4 also the port and list sets). */
    private String setMembers() {
        StringBuilder s = new StringBuilder();
        java.util.TreeSet<String> members = new java.util.TreeSet<>();
        String ip = v6 ? "dt6-ip" : "dt4-ip";
        for (int i = rnd.nextInt(4); i > 0; i--) {
            members.add(ip + " " + hostAddress());
        }
        for (int i = rnd.nextInt(3); i > 0; i--) {
            members.add((v6 ? "dt6-add " : "dt4-add ") + hostAddress());
        }
        if (v6) {
            if (rnd.nextBoolean()) {
                members.add("dt6-net 2001:db8:" + (1 + rnd.nextInt(2)) + "::/" + (rnd.nextBoolean() ? 64 : 126));
            }
            if (rnd.nextInt(3) == 0) {
                members.add("dt6-net 2001:db8:2::4/126 nomatch");
            }
        } else {
            if (rnd.nextBoolean()) {
                members.add("dt4-net 10." + (1 + rnd.nextInt(2)) + ".0.0/" + (rnd.nextBoolean() ? 24 : 29));
            }
            if (rnd.nextInt(3) == 0) {
                members.add("dt4-net 10.2.0.4/30 nomatch");
            }
            for (int i = rnd.nextInt(3); i > 0; i--) {
                members.add("dt4-ipport " + hostAddress() + "," + (rnd.nextBoolean() ? "tcp" : "udp") + ":"
                        + PORTS[rnd.nextInt(PORTS.length)]);
            }
            for (int i = rnd.nextInt(3); i > 0; i--) {
                members.add("dt-port " + PORTS[rnd.nextInt(PORTS.length)]);
            }
            if (rnd.nextBoolean()) {
                members.add("dt4-map " + hostAddress() + " skbmark 0x" + Integer.toHexString(1 + rnd.nextInt(7)) + "/0xff");
            }
        }
        for (String m : members) {
            s.append(SetCatalogue.MEMBER).append(m).append('\n');
        }
        if (!v6) {
            // list:set members in order: the first member that holds the element decides
            if (rnd.nextBoolean()) {
                s.append(SetCatalogue.MEMBER).append("dt-list dt4-ip\n");
            }
            if (rnd.nextBoolean()) {
                s.append(SetCatalogue.MEMBER).append("dt-list dt6-net\n");
            }
            if (rnd.nextBoolean()) {
                s.append(SetCatalogue.MEMBER).append("dt-list dt4-net\n");
            }
        }
        return s.toString();
    }

    /** A host or dut address of either side, as the packet generator uses them. */
    private String hostAddress() {
        int side = 1 + rnd.nextInt(2);
        int host = 1 + rnd.nextInt(Topology.HOSTS + 1);
        return v6 ? "2001:db8:" + side + "::" + host : "10." + side + ".0." + host;
    }

    private String bpfProgram() {
        // classic BPF as nfbpf_compile prints it; loads are relative to the network header
        String[] v4 = {"4,48 0 0 9,21 0 1 6,6 0 0 65535,6 0 0 0", "4,48 0 0 9,21 0 1 17,6 0 0 65535,6 0 0 0",
            "4,48 0 0 8,53 1 0 64,6 0 0 65535,6 0 0 0", "1,6 0 0 1", "2,32 0 0 4000,6 0 0 1",
            "4,40 0 0 2,37 0 1 100,6 0 0 1,6 0 0 0"};
        String[] v6s = {"4,48 0 0 6,21 0 1 6,6 0 0 65535,6 0 0 0", "4,48 0 0 6,21 0 1 17,6 0 0 65535,6 0 0 0",
            "4,48 0 0 7,53 1 0 64,6 0 0 65535,6 0 0 0", "1,6 0 0 1", "2,32 0 0 4000,6 0 0 1",
            "4,40 0 0 4,37 0 1 80,6 0 0 1,6 0 0 0"};
        String[] pick = v6 ? v6s : v4;
        return pick[rnd.nextInt(pick.length)];
    }

    private String port() {
        if (rnd.nextInt(5) == 0) {
            int lo = PORTS[rnd.nextInt(PORTS.length)];
            return lo + ":" + (lo + rnd.nextInt(5000));
        }
        return Integer.toString(PORTS[rnd.nextInt(PORTS.length)]);
    }

    private String hmark() {
        StringBuilder h = new StringBuilder(" -j HMARK");
        if (rnd.nextInt(4) == 0) {
            h.append(" --hmark-tuple ct");
        } else {
            if (rnd.nextBoolean()) {
                String[] tuples = {"src,dst,sport,dport,proto", "src,dst", "src,dst,proto", "sport,dport"};
                h.append(" --hmark-tuple ").append(tuples[rnd.nextInt(tuples.length)]);
            } else {
                // the tuple's parts one by one (a tuple sets them all, so the two forms do not mix)
                h.append(" --hmark-src-prefix ").append(v6 ? 64 : 24).append(" --hmark-dst-prefix ").append(v6 ? 128 : 32);
                if (rnd.nextBoolean()) {
                    h.append(" --hmark-sport-mask 0xff00 --hmark-dport-mask 0xffff");
                }
                if (rnd.nextBoolean()) {
                    h.append(" --hmark-proto-mask 0xff");
                }
            }
        }
        h.append(" --hmark-mod ").append(2 + rnd.nextInt(15));
        if (rnd.nextBoolean()) {
            h.append(" --hmark-offset ").append(rnd.nextInt(100));
        }
        h.append(" --hmark-rnd 0x").append(Integer.toHexString(rnd.nextInt()));
        return h.toString();
    }

    /** A copy to a neighbour of dut's (a static one: no neighbour discovery), on either side. */
    private String tee(SplittableRandom r) {
        int side = 1 + r.nextInt(2);
        return " -j TEE --gateway " + (v6 ? "2001:db8:" + side + "::" : "10." + side + ".0.")
                + (2 + r.nextInt(Topology.HOSTS));
    }

    private String target(String table, String owner, String chain, String proto, List<String> jumpable) {
        String t = drawTarget(table, owner, chain, proto, jumpable);
        // TEE in PREROUTING and INPUT (issue 4's third round), from the later draws: a copy of a packet for dut that
        // mangle OUTPUT reroutes (a new mark) comes back in by lo after the original is done and meets the TEE again
        // (Datapath's backlog). The gateway is never dut's own: Linux would copy the copies for ever
        if (t != null && (owner.equals("PREROUTING") || owner.equals("INPUT")) && features.on("tee")
                && (!v6 || features.on("tee-ipv6-early")) && laterDraws.nextInt(40) == 0) {
            return tee(laterDraws);
        }
        return t;
    }

    private String drawTarget(String table, String owner, String chain, String proto, List<String> jumpable) {
        List<String> options = new ArrayList<>(List.of(" -j ACCEPT", " -j ACCEPT", " -j DROP", " -j RETURN", ""));
        if (!jumpable.isEmpty()) {
            String to = jumpable.get(rnd.nextInt(jumpable.size()));
            options.add(" -j " + to);
            options.add(" -j " + to);
            options.add(" -g " + to);
        }
        if (features.mangleTargets() || !table.equals("mangle")) {
            options.add(" -j MARK --set-xmark 0x" + Integer.toHexString(1 + rnd.nextInt(3)) + "/0xff");
            options.add(rnd.nextBoolean() ? " -j MARK --or-mark 0x4" : " -j MARK --and-mark 0xfe");
        }
        if (rnd.nextInt(4) == 0) {
            options.add(" -j LOG --log-prefix \"difftest \"");
            options.add(" -j NFLOG --nflog-group " + rnd.nextInt(3));
        }
        if (features.conntrack() && !table.equals("raw")) {
            options.add(" -j CONNMARK --set-mark 0x" + Integer.toHexString(1 + rnd.nextInt(2)));
            options.add(" -j CONNMARK --restore-mark");
        }
        if (rnd.nextInt(3) == 0 && features.on("hmark")) {
            options.add(hmark());
        }
        // TEE where the packets are not for dut itself; in PREROUTING and INPUT see laterDraws
        if (rnd.nextInt(5) == 0 && features.on("tee") && !owner.equals("PREROUTING") && !owner.equals("INPUT")) {
            options.add(tee(rnd));
        }
        if (features.on("ipset") && rnd.nextInt(3) == 0) {
            String fam = v6 ? "dt6-" : "dt4-";
            String dir = rnd.nextBoolean() ? "src" : "dst";
            options.add(switch (rnd.nextInt(4)) {
                case 0 -> " -j SET --add-set " + fam + "add " + dir + (rnd.nextBoolean() ? " --exist" : "")
                        + (rnd.nextBoolean() ? " --timeout " + (60 + rnd.nextInt(100)) : "");
                case 1 -> " -j SET --del-set " + fam + "ip " + dir;
                case 2 -> " -j SET --add-set " + fam + "ip " + dir;
                default -> " -j SET --del-set " + fam + "add " + dir;
            });
            if (!v6 && table.equals("mangle")) {
                options.add(" -j SET --map-set dt4-map " + dir + " --map-mark");
            }
        }
        switch (table) {
            case "raw" -> {
                if (features.conntrack()) {
                    options.add(" -j CT --notrack");
                    // CT --helper needs the rule's protocol to be the helper's
                    if ("tcp".equals(proto) && rnd.nextInt(3) == 0 && features.on("helper")) {
                        return " -j CT --helper ftp";
                    }
                    if ("udp".equals(proto) && rnd.nextInt(3) == 0 && features.on("helper")) {
                        return " -j CT --helper tftp";
                    }
                }
            }
            case "mangle" -> {
                if (features.mangleTargets()) {
                    options.add(v6 ? " -j HL --hl-dec 1" : " -j TTL --ttl-dec 1");
                    options.add(" -j DSCP --set-dscp 0x0" + (1 + rnd.nextInt(7)));
                    if (!v6) {
                        options.add(" -j TOS --set-tos 0x10/0x3f");
                        options.add(rnd.nextBoolean() ? " -j TTL --ttl-set 9" : " -j TTL --ttl-inc 1");
                    } else {
                        options.add(rnd.nextBoolean() ? " -j HL --hl-set 9" : " -j HL --hl-inc 1");
                    }
                    if (owner.equals("FORWARD") || owner.equals("OUTPUT") || owner.equals("POSTROUTING")) {
                        options.add(" -j CLASSIFY --set-class 1:" + (1 + rnd.nextInt(9)));
                    }
                    if (v6 && (owner.equals("POSTROUTING") || owner.equals("INPUT")) && features.on("npt")) {
                        // RFC 6296 from side a's /48 to a third /48 (sources only: the packet still goes where it went)
                        options.add(" -j SNPT --src-pfx 2001:db8:" + (1 + rnd.nextInt(2)) + "::/48 --dst-pfx 2001:db8:"
                                + (3 + rnd.nextInt(2)) + "::/" + (rnd.nextBoolean() ? 48 : 56));
                    }
                    if (v6 && (owner.equals("PREROUTING") || owner.equals("OUTPUT")) && features.on("npt")) {
                        // into a prefix dut has no route to: answered with no route (never a neighbour to resolve)
                        options.add(" -j DNPT --src-pfx 2001:db8:" + (1 + rnd.nextInt(2)) + "::/48 --dst-pfx 2001:db8:"
                                + (3 + rnd.nextInt(2)) + "::/48");
                    }
                    if ("tcp".equals(proto)) {
                        options.add(" -j TCPOPTSTRIP --strip-options " + (rnd.nextBoolean() ? "mss" : "wscale,mss"));
                        if (!v6) {
                            options.add(" -j ECN --ecn-tcp-remove");
                        }
                    }
                    if (features.on("tcpmss") && "tcp".equals(proto)
                            && (owner.equals("FORWARD") || owner.equals("POSTROUTING"))) {
                        return " -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss " + (500 + rnd.nextInt(900));
                    }
                }
            }
            case "nat" -> {
                options.clear();
                options.addAll(List.of(" -j ACCEPT", " -j RETURN", ""));
                if (!jumpable.isEmpty()) {
                    options.add(" -j " + jumpable.get(rnd.nextInt(jumpable.size())));
                }
                boolean ports = "tcp".equals(proto) || "udp".equals(proto);
                String host = v6 ? "[2001:db8:2::" + (2 + rnd.nextInt(Topology.HOSTS)) + "]"
                        : "10.2.0." + (2 + rnd.nextInt(Topology.HOSTS));
                if (owner.equals("PREROUTING") || owner.equals("OUTPUT")) {
                    options.add(" -j DNAT --to-destination " + (ports ? host + ":" + PORTS[rnd.nextInt(PORTS.length)]
                            : host.replace("[", "").replace("]", "")));
                    if (ports) {
                        options.add(" -j REDIRECT --to-ports " + PORTS[rnd.nextInt(PORTS.length)]);
                    }
                    options.add(" -j NETMAP --to " + (v6 ? "2001:db8:2::/124" : "10.2.0.0/28"));
                }
                if (owner.equals("POSTROUTING")) {
                    String src = v6 ? "2001:db8:2::1" : "10.2.0.1";
                    options.add(" -j SNAT --to-source " + src);
                    options.add(" -j MASQUERADE");
                }
            }
            default -> {
                if (features.reject()) {
                    options.add(" -j REJECT");
                    if ("tcp".equals(proto)) {
                        options.add(" -j REJECT --reject-with tcp-reset");
                    }
                    options.add(v6 ? " -j REJECT --reject-with icmp6-adm-prohibited"
                            : " -j REJECT --reject-with icmp-host-prohibited");
                }
            }
        }
        return options.get(rnd.nextInt(options.size()));
    }
}
