package org.jnetfilter.core.conntrack;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.jnetfilter.core.nat.NatHook;
import org.jnetfilter.core.netfilter.Netfilter;
import org.jnetfilter.core.netfilter.Priorities;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleCount;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.core.rules.Target;

/**
 * Wiring conntrack and NAT into a {@link Netfilter}, and when Linux would do so.
 *
 * <pre>
 *   hook          priority                    function
 *   PREROUTING    CONNTRACK (-200)            conntrack_in     Conntrack.in(pkt, PREROUTING)
 *   PREROUTING    NAT_DST (-100)              nat_in           NatHook (DNAT, REDIRECT, NETMAP)
 *   OUTPUT        CONNTRACK (-200)            conntrack_local  Conntrack.in(pkt, OUTPUT)
 *   OUTPUT        NAT_DST (-100)              nat_local_out    NatHook
 *   INPUT         NAT_SRC (100)               nat_local_in     NatHook (SNAT in INPUT)
 *   INPUT         CONNTRACK_CONFIRM (max)     conntrack_confirm
 *   POSTROUTING   NAT_SRC (100)               nat_out          NatHook (SNAT, MASQUERADE)
 *   POSTROUTING   CONNTRACK_CONFIRM (max)     conntrack_confirm
 * </pre>
 *
 * One {@link Conntrack} serves both families of a namespace (the kernel has one table per netns): register
 * it once per family, each with that family's nat table supplier.
 */
public final class ConntrackHooks {
    private ConntrackHooks() {
    }

    /** {@link #register(Netfilter, Family, Conntrack, Supplier, Trace)} without tracing the nat table. */
    public static List<Netfilter.Registration> register(Netfilter nf, Family family, Conntrack ct,
            Supplier<Table> nat) {
        return register(nf, family, ct, nat, Trace.NONE);
    }

    /**
     * Registers conntrack's and NAT's hook functions for {@code family}; {@code nat} supplies the current nat
     * table of that family (null from it: no nat table, NAT does nothing; a null supplier: no NAT hooks).
     * {@code trace} sees the nat table's walks. Returns the registrations, for {@link Netfilter#unregister}.
     */
    public static List<Netfilter.Registration> register(Netfilter nf, Family family, Conntrack ct,
            Supplier<Table> nat, Trace trace) {
        List<Netfilter.Registration> out = new ArrayList<>();
        out.add(nf.register(family, Hook.PREROUTING, Priorities.CONNTRACK, "conntrack_in",
                p -> ct.in(p, Hook.PREROUTING)));
        out.add(nf.register(family, Hook.OUTPUT, Priorities.CONNTRACK, "conntrack_local",
                p -> ct.in(p, Hook.OUTPUT)));
        if (nat != null) {
            out.add(nf.register(family, Hook.PREROUTING, Priorities.NAT_DST, "nat_in",
                    new NatHook(Hook.PREROUTING, nat, trace)));
            out.add(nf.register(family, Hook.OUTPUT, Priorities.NAT_DST, "nat_local_out",
                    new NatHook(Hook.OUTPUT, nat, trace)));
            out.add(nf.register(family, Hook.INPUT, Priorities.NAT_SRC, "nat_local_in",
                    new NatHook(Hook.INPUT, nat, trace)));
            out.add(nf.register(family, Hook.POSTROUTING, Priorities.NAT_SRC, "nat_out",
                    new NatHook(Hook.POSTROUTING, nat, trace)));
        }
        out.add(nf.register(family, Hook.INPUT, Priorities.CONNTRACK_CONFIRM, "conntrack_confirm", ct::confirm));
        out.add(nf.register(family, Hook.POSTROUTING, Priorities.CONNTRACK_CONFIRM, "conntrack_confirm",
                ct::confirm));
        return out;
    }

    /**
     * Extensions whose checkentry calls nf_ct_netns_get (so a rule using one turns conntrack on for its
     * family): xt_state, xt_conntrack, xt_connmark (match and target), xt_connbytes, xt_connlimit, xt_helper,
     * xt_connlabel, xt_cluster, xt_CT (not with --notrack), xt_nat (SNAT, DNAT), MASQUERADE, REDIRECT,
     * NETMAP, CONNSECMARK, SYNPROXY.
     */
    static final Set<String> CONNTRACK_MATCHES = Set.of("state", "conntrack", "connmark", "connbytes", "connlimit",
            "helper", "connlabel", "cluster");
    static final Set<String> CONNTRACK_TARGETS = Set.of("CONNMARK", "SNAT", "DNAT", "MASQUERADE", "REDIRECT",
            "NETMAP", "CONNSECMARK", "SYNPROXY");

    /**
     * Whether Linux tracks connections of this family with this ruleset loaded: a rule uses an extension whose
     * checkentry takes conntrack (nf_ct_netns_get). A nat table alone does not, and without conntrack its rules
     * are never walked.
     */
    public static boolean enablesConntrack(Ruleset ruleset) {
        return new RuleDemands().enablesConntrack(ruleset);
    }

    /** Whether {@code r}'s checkentry takes conntrack (nf_ct_netns_get). */
    private static boolean enablesConntrack(Rule r) {
        for (Match m : r.spec().matches()) {
            if (CONNTRACK_MATCHES.contains(m.extension().name())) {
                return true;
            }
        }
        if (r.spec().target() instanceof Target.Extension e) {
            String name = e.extension().name();
            if (CONNTRACK_TARGETS.contains(name)) {
                return true;
            }
            return name.equals("CT") && e.data() instanceof org.jnetfilter.core.ext.targets.CtTarget.Data d
                    && (d.flags() & org.jnetfilter.core.ext.targets.CtTarget.F_NOTRACK) == 0;
        }
        return false;
    }

    private static boolean uses(Rule r, String match) {
        for (Match m : r.spec().matches()) {
            if (m.extension().name().equals(match)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a connbytes rule exists: connbytes_mt_check forces accounting on (for good). */
    public static boolean forcesAccounting(Ruleset ruleset) {
        return new RuleDemands().forcesAccounting(ruleset);
    }

    /** Whether a connlabel rule exists (nf_connlabels_get: new connections get a label area). */
    public static boolean usesLabels(Ruleset ruleset) {
        return new RuleDemands().usesLabels(ruleset);
    }

    /** Applies what the rulesets of a namespace ask of its conntrack table (accounting, labels). */
    public static void follow(Conntrack ct, Ruleset... rulesets) {
        new RuleDemands().follow(ct, rulesets);
    }

    /**
     * What a datapath's rulesets ask of conntrack (tracking, accounting, labels), counted through each
     * publication's change rather than over the ruleset (a publication of a 160k-rule ruleset asks all three):
     * one per owner (a {@link ConntrackModule}), so that the counts follow that owner's generations and another
     * datapath's publications in the same JVM do not make them count everything again. The static forms above
     * count a ruleset once, from nothing.
     */
    static final class RuleDemands {
        private final RuleCount tracking = new RuleCount(ConntrackHooks::enablesConntrack);
        private final RuleCount connbytes = new RuleCount(r -> uses(r, "connbytes"));
        private final RuleCount connlabel = new RuleCount(r -> uses(r, "connlabel"));

        boolean enablesConntrack(Ruleset ruleset) {
            // Not the nat table by itself: iptable_nat registers its hooks without nf_ct_netns_get, and its walk
            // needs a conntrack entry (nf_nat_inet_fn); the NAT targets' checkentry takes conntrack (checked on
            // Linux 6.18: an empty or ACCEPT-only nat table leaves conntrack -L empty and the nat counters at 0)
            return tracking.anyIn(ruleset);
        }

        boolean forcesAccounting(Ruleset ruleset) {
            return connbytes.anyIn(ruleset);
        }

        boolean usesLabels(Ruleset ruleset) {
            return connlabel.anyIn(ruleset);
        }

        void follow(Conntrack ct, Ruleset... rulesets) {
            boolean labels = false;
            for (Ruleset rs : rulesets) {
                if (forcesAccounting(rs)) {
                    ct.forceAccounting();
                }
                labels |= usesLabels(rs);
            }
            ct.labelsUsed(labels);
        }
    }
}
