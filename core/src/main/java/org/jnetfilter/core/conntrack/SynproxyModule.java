package org.jnetfilter.core.conntrack;

import java.util.List;
import java.util.function.Supplier;
import org.jnetfilter.core.netfilter.HookModule;
import org.jnetfilter.core.netfilter.Netfilter;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Priorities;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.RuleCount;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Target;

/**
 * The SYNPROXY hook functions as a {@link HookModule}: {@code datapath.module(new SynproxyModule())} beside the
 * {@link ConntrackModule}. As nf_synproxy_ipv4_init / nf_synproxy_ipv6_init (called by the target's checkentry),
 * {@link Synproxy#hook} is registered at INPUT and POSTROUTING, priority {@code NF_IP_PRI_CONNTRACK_CONFIRM - 1},
 * while a rule of the family uses SYNPROXY. The proxy's state is the host's ({@link Synproxy#of}).
 */
public final class SynproxyModule implements HookModule {
    /** Linux: NF_IP_PRI_CONNTRACK_CONFIRM - 1: after everything but conntrack's confirm. */
    public static final int PRIORITY = Priorities.CONNTRACK_CONFIRM - 1;

    /** Counted through each publication's change, not over the ruleset; this module's own (one per datapath). */
    private final RuleCount synproxyRules = new RuleCount(
            r -> r.spec().target() instanceof Target.Extension e && e.extension().name().equals("SYNPROXY"));

    @Override
    public boolean needed(Family family, Ruleset rules) {
        return synproxyRules.anyIn(rules);
    }

    /** Conntrack's module asks for defragmentation; this one needs nothing of its own. */
    @Override
    public boolean defragments() {
        return false;
    }

    @Override
    public List<Netfilter.Registration> register(Netfilter netfilter, Family family, Supplier<Ruleset> rules) {
        return List.of(
                netfilter.register(family, Hook.INPUT, PRIORITY, "synproxy", SynproxyModule::hook),
                netfilter.register(family, Hook.POSTROUTING, PRIORITY, "synproxy", SynproxyModule::hook));
    }

    private static int hook(PacketContext pkt) {
        Connection ct = pkt.conntrack();
        if (ct == null || !ct.synproxy) {
            return Verdict.ACCEPT;
        }
        return Synproxy.of(pkt.host()).hook(pkt);
    }
}
