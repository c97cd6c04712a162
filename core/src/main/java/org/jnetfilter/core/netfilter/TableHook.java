package org.jnetfilter.core.netfilter;

import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;

/**
 * The hook function of one table at one hook (iptable_filter_hook, iptable_mangle_hook, ...): reads the current
 * generation of the rules once, walks the table with the datapath's {@link TableWalker}. A table missing from that generation accepts.
 *
 * <p>mangle in OUTPUT is ipt_mangle_out / ip6t_mangle_out: when the walk changed the source or destination, the
 * mark or the TOS (IPv6: the flow label word) and did not drop, the packet is re-routed (ip_route_me_harder); a
 * failed re-route drops it.
 *
 * <p>Hot path: the packet thread; allocates nothing.
 */
final class TableHook implements HookFunction {
    private final Datapath datapath;
    private final Family family;
    private final TableKind kind;
    private final Hook hook;
    private final boolean rerouteOnChange;

    TableHook(Datapath datapath, Family family, TableKind kind, Hook hook) {
        this.datapath = datapath;
        this.family = family;
        this.kind = kind;
        this.hook = hook;
        this.rerouteOnChange = kind == TableKind.MANGLE && hook == Hook.OUTPUT;
    }

    @Override
    public int apply(PacketContext pkt) {
        Ruleset rules = datapath.rules(family);
        Table table = rules.table(kind);
        if (table == null) {
            return Verdict.ACCEPT;
        }
        if (!rerouteOnChange) {
            return datapath.walker().run(table, hook, pkt, pkt.trace());
        }
        long srcHi = pkt.sourceHi();
        long srcLo = pkt.sourceLo();
        long dstHi = pkt.destinationHi();
        long dstLo = pkt.destinationLo();
        long mark = pkt.mark();
        int tos = pkt.routingTos();
        // Linux: ip6t_mangle_out also routes again when the hop limit changed (ipt_mangle_out ignores the TTL)
        int hopLimit = family == Family.IPV6 ? pkt.networkU8(7) : 0;
        int verdict = datapath.walker().run(table, hook, pkt, pkt.trace());
        if (verdict == Verdict.DROP || verdict == Verdict.STOLEN) {
            return verdict;
        }
        pkt.reparse();
        if (pkt.sourceHi() != srcHi || pkt.sourceLo() != srcLo || pkt.destinationHi() != dstHi
                || pkt.destinationLo() != dstLo || pkt.mark() != mark || pkt.routingTos() != tos
                || family == Family.IPV6 && pkt.networkU8(7) != hopLimit) {
            if (!pkt.reroute()) {
                return Verdict.DROP;
            }
        }
        return verdict;
    }
}
