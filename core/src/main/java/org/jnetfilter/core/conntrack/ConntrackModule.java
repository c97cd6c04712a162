package org.jnetfilter.core.conntrack;

import java.util.List;
import java.util.function.Supplier;
import org.jnetfilter.core.netfilter.HookModule;
import org.jnetfilter.core.netfilter.Netfilter;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.TableKind;

/**
 * Conntrack and NAT as a {@link HookModule} of a {@link org.jnetfilter.core.netfilter.Datapath}:
 * {@code datapath.module(new ConntrackModule(conntrack))}. Registered for a family while its rules need
 * conntrack ({@link ConntrackHooks#enablesConntrack}); NAT reads the family's current nat table per packet.
 * Each publication also passes on what the rules ask of the table: accounting forced by connbytes, label
 * areas for connlabel ({@link ConntrackHooks#follow}). It asks the datapath to defragment before it, as
 * conntrack's defrag hooks do.
 */
public final class ConntrackModule implements HookModule {
    private final Conntrack conntrack;
    private final Ruleset[] latest = new Ruleset[Family.values().length];
    /** What the rules ask of conntrack, counted through this module's publications. */
    private final ConntrackHooks.RuleDemands demands = new ConntrackHooks.RuleDemands();

    public ConntrackModule(Conntrack conntrack) {
        this.conntrack = conntrack;
    }

    @Override
    public Conntrack conntrack() {
        return conntrack;
    }

    @Override
    public synchronized boolean needed(Family family, Ruleset rules) {
        latest[family.ordinal()] = rules;
        java.util.List<Ruleset> all = new java.util.ArrayList<>();
        for (Ruleset r : latest) {
            if (r != null) {
                all.add(r);
            }
        }
        demands.follow(conntrack, all.toArray(new Ruleset[0]));
        return demands.enablesConntrack(rules);
    }

    /** Linux: nf_conntrack_ipv4/ipv6 pull in nf_defrag_ipv4/ipv6: conntrack sees whole datagrams. */
    @Override
    public boolean defragments() {
        return true;
    }

    @Override
    public List<Netfilter.Registration> register(Netfilter netfilter, Family family, Supplier<Ruleset> rules) {
        return ConntrackHooks.register(netfilter, family, conntrack, () -> rules.get().table(TableKind.NAT));
    }
}
