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
    }

    static final int[] PORTS = {22, 53, 80, 443, 8080, 1024, 5000};
    private final SplittableRandom rnd;
    private final boolean v6;
    private final Features features;

    public RulesetGenerator(long seed, boolean v6, Features features) {
        this.rnd = new SplittableRandom(seed);
        this.v6 = v6;
        this.features = features;
    }

    /** A whole restore file: {@code rulesPerChain} is the mean number of rules in each chain. */
    public String generate(int rulesPerChain) {
        StringBuilder out = new StringBuilder();
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
        if (rnd.nextInt(10) == 0) {
            r.append(" -m comment --comment \"rule ").append(rnd.nextInt(1000)).append('"');
        }
        return proto;
    }

    private String port() {
        if (rnd.nextInt(5) == 0) {
            int lo = PORTS[rnd.nextInt(PORTS.length)];
            return lo + ":" + (lo + rnd.nextInt(5000));
        }
        return Integer.toString(PORTS[rnd.nextInt(PORTS.length)]);
    }

    private String target(String table, String owner, String chain, String proto, List<String> jumpable) {
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
        switch (table) {
            case "raw" -> {
                if (features.conntrack()) {
                    options.add(" -j CT --notrack");
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
