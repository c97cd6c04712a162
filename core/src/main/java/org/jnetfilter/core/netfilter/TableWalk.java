package org.jnetfilter.core.netfilter;

import java.util.List;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.Target;

/**
 * One table's verdict on one packet at one hook: the rule walk of ipt_do_table and ip6t_do_table
 * (net/ipv4/netfilter/ip_tables.c, net/ipv6/netfilter/ip6_tables.c). This is the reference every
 * faster classifier must equal.
 *
 * <pre>
 * for each rule from the hook's built-in chain on:
 *   fixed part (ip_packet_match / ip6_packet_match), then each match in order: all must match,
 *     else next rule (or DROP at once when a match set hotdrop)
 *   count it: packets + 1, bytes + skb->len
 *   target: ACCEPT / DROP / QUEUE        -> the verdict
 *           RETURN                       -> pop the jump stack (empty: the built-in chain's policy)
 *           -j CHAIN                     -> push this rule, walk CHAIN from its first rule
 *           -g CHAIN                     -> walk CHAIN, push nothing
 *           extension                    -> its verdict; XT_CONTINUE goes on with the next rule
 *           none                         -> next rule
 *   end of a user chain: as RETURN; end of the built-in chain: its policy, counted on the policy
 * </pre>
 *
 * <p>Design notes. The kernel keeps a table as one blob in which a user chain ends in an implicit
 * RETURN entry and a built-in chain in its policy entry ({@code underflow[hook]}); here chains are
 * lists and those entries are the ends of the lists. A RETURN with an empty stack (also: falling off
 * a user chain entered by {@code -g} from the built-in chain) jumps to the underflow entry, so it
 * takes the policy and counts on the policy counters. The jump stack holds as many frames as the
 * kernel's {@code stacksize}, the number of XT_ERROR_TARGET entries in the blob: one per user chain
 * plus the table's end marker. A push on a full stack drops the packet. Committed tables have no
 * chain loops (mark_source_chains refuses them), so a walk never gets there; a loop of gotos, which
 * pushes nothing, would never end, so walk only committed tables.
 *
 * <p>Interfaces compare as ifname_compare_aligned compares the rule's name under its mask:
 * {@code iptables} masks a name with its terminating NUL (an exact match) and a name ending in '+'
 * without the '+' (a prefix match; "+" alone matches any device, none included); no name matches
 * anything. A packet without a device has the empty name. IPv6 rules check the protocol only when
 * they give one (IP6T_F_PROTO); a rule here says so with a protocol or a negated one, so
 * {@code -p all} without negation is taken as no {@code -p} (the two differ only on a packet whose
 * extension headers are cut short, where {@code -p all} drops it at once).
 *
 * <p>Hot path: the packet thread; allocates nothing (the rules' specs are parsed already, see
 * {@link Rule#spec()}). The table is an immutable generation; only counters change.
 */
public final class TableWalk {
    private TableWalk() {
    }

    /** Walks {@code table} from {@code hook}'s built-in chain with the packet loaded in {@code pkt}. */
    public static int run(Table table, Hook hook, PacketContext pkt, Trace trace) {
        if (!table.kind().hasHook(hook)) {
            throw new IllegalArgumentException("table " + table.name() + " has no " + hook + " chain");
        }
        if (table.family() != pkt.family()) {
            throw new IllegalArgumentException(table.family() + " table " + table.name() + " walked with an "
                    + pkt.family() + " packet");
        }
        Chain builtin = table.chain(hook.name());
        // the stack's size is needed at the first jump only: most packets of most tables never jump
        int stackSize = -1;
        pkt.startWalk(hook, 0);
        int depth = 0;
        int highWater = 0;
        Chain chain = builtin;
        RuleList rules = chain.rules();
        int i = 0;
        try {
            while (true) {
                if (i == rules.size()) {
                    // the chain's tail entry: the policy of a built-in chain, an unconditional RETURN in a user chain
                    if (chain == builtin) {
                        return policy(table, builtin, pkt, trace);
                    }
                    if (depth == 0) {
                        trace.returned(table, chain, i + 1, null, 0);
                        return policy(table, builtin, pkt, trace);
                    }
                    depth--;
                    Chain back = pkt.stackChain(depth);
                    int at = pkt.stackRule(depth);
                    trace.returned(table, chain, i + 1, back, at + 1);
                    chain = back;
                    rules = chain.rules();
                    i = at + 1;
                    continue;
                }
                Rule rule = rules.get(i);
                RuleSpec spec = rule.spec();
                if (!ipMatches(spec.ip(), pkt) || !extensionsMatch(spec.matches(), pkt)) {
                    if (pkt.hotdrop()) {
                        trace.hotdrop(table, chain, i + 1);
                        return Verdict.DROP;
                    }
                    i++;
                    continue;
                }
                rule.counters().add(1, pkt.length());
                trace.rule(table, chain, i + 1, rule);
                switch (spec.target()) {
                    case Target.None none -> i++;
                    case Target.Verdict v -> {
                        if (v.kind() != Target.Verdict.Kind.RETURN) {
                            int verdict = standard(v.kind());
                            trace.verdict(table, chain, i + 1, verdict);
                            return verdict;
                        }
                        if (depth == 0) {
                            trace.returned(table, chain, i + 1, null, 0);
                            return policy(table, builtin, pkt, trace);
                        }
                        depth--;
                        Chain back = pkt.stackChain(depth);
                        int at = pkt.stackRule(depth);
                        trace.returned(table, chain, i + 1, back, at + 1);
                        chain = back;
                        rules = chain.rules();
                        i = at + 1;
                    }
                    case Target.Jump j -> {
                        Chain to = table.chain(j.chain());
                        if (to == null) {
                            throw new IllegalStateException("rule " + (i + 1) + " of " + table.name() + "/"
                                    + chain.name() + " jumps to missing chain " + j.chain());
                        }
                        if (!j.isGoto()) {
                            if (stackSize < 0) {
                                stackSize = table.userChainCount() + 1;
                                pkt.startWalk(hook, stackSize);
                            }
                            if (depth >= stackSize) {
                                trace.stackExhausted(table, chain, i + 1);
                                return Verdict.DROP;
                            }
                            pkt.push(depth++, chain, i);
                            highWater = Math.max(highWater, depth);
                        }
                        trace.jump(table, chain, i + 1, to, j.isGoto());
                        chain = to;
                        rules = chain.rules();
                        i = 0;
                    }
                    case Target.Extension e -> {
                        int verdict = e.data().apply(pkt);
                        trace.verdict(table, chain, i + 1, verdict);
                        if (verdict != Verdict.CONTINUE) {
                            return verdict;
                        }
                        if (pkt.hotdrop()) {
                            trace.hotdrop(table, chain, i + 1);
                            return Verdict.DROP;
                        }
                        i++;
                    }
                }
            }
        } finally {
            pkt.endWalk(highWater);
        }
    }

    /** A built-in chain's policy decides: counted, traced, its verdict. Shared with the classified walk. */
    public static int policy(Table table, Chain builtin, PacketContext pkt, Trace trace) {
        builtin.policyCounters().add(1, pkt.length());
        int verdict = switch (builtin.policy()) {
            case "ACCEPT" -> Verdict.ACCEPT;
            case "DROP" -> Verdict.DROP;
            case "QUEUE" -> Verdict.QUEUE;
            default -> throw new IllegalStateException("policy " + builtin.policy() + " of " + table.name() + "/"
                    + builtin.name());
        };
        trace.policy(table, builtin, verdict);
        return verdict;
    }

    /** The verdict of a standard ACCEPT, DROP or QUEUE target. */
    public static int standard(Target.Verdict.Kind kind) {
        return switch (kind) {
            case ACCEPT -> Verdict.ACCEPT;
            case DROP -> Verdict.DROP;
            case QUEUE -> Verdict.QUEUE;
            case RETURN -> throw new IllegalArgumentException("RETURN is not a verdict");
        };
    }

    /** A rule's matches in order, all of which must match (a match may set hotdrop). */
    public static boolean extensionsMatch(List<Match> matches, PacketContext pkt) {
        for (int k = 0, n = matches.size(); k < n; k++) {
            if (!matches.get(k).data().matches(pkt)) {
                return false;
            }
        }
        return true;
    }

    /** ip_packet_match / ip6_packet_match: the rule's fixed part. */
    public static boolean ipMatches(IpSpec ip, PacketContext pkt) {
        if (addressMismatch(ip.src(), pkt.sourceHi(), pkt.sourceLo(), ip.inverted(IpSpec.INV_SRCIP))
                || addressMismatch(ip.dst(), pkt.destinationHi(), pkt.destinationLo(), ip.inverted(IpSpec.INV_DSTIP))) {
            return false;
        }
        if (interfaceMatches(ip.inIface(), pkt.inInterface()) == ip.inverted(IpSpec.INV_VIA_IN)) {
            return false;
        }
        if (interfaceMatches(ip.outIface(), pkt.outInterface()) == ip.inverted(IpSpec.INV_VIA_OUT)) {
            return false;
        }
        boolean protoInverted = ip.inverted(IpSpec.INV_PROTO);
        if (ip.family() == Family.IPV4) {
            if (ip.protocol() != 0 && (pkt.protocol() != ip.protocol()) != protoInverted) {
                return false;
            }
            // -f: only non-first fragments; ! -f: everything else
            return (ip.fragment() && pkt.fragmentOffset() == 0) == ip.inverted(IpSpec.INV_FRAG);
        }
        if (ip.protocol() == 0 && !protoInverted) {
            return true;
        }
        if (pkt.protocol() == PacketContext.NO_PROTOCOL) {
            // Linux: ipv6_find_hdr failed before any non-first fragment, so _frag_off is 0: hotdrop
            pkt.hotdrop(true);
            return false;
        }
        if (pkt.protocol() == ip.protocol()) {
            return !protoInverted;
        }
        return ip.protocol() == 0 || protoInverted;
    }

    private static boolean addressMismatch(IpNet net, long hi, long lo, boolean inverted) {
        return net.contains(hi, lo) == inverted;
    }

    /**
     * ifname_compare_aligned under the mask xtables_parse_interface builds: "" matches every device
     * and none; "eth+" every name starting with "eth"; "eth0" only "eth0".
     */
    static boolean interfaceMatches(String rule, String device) {
        int n = rule.length();
        if (n == 0) {
            return true;
        }
        if (rule.charAt(n - 1) == '+') {
            return device.regionMatches(0, rule, 0, n - 1);
        }
        return device.equals(rule);
    }
}
