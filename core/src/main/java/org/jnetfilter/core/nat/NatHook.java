package org.jnetfilter.core.nat;

import java.util.function.Supplier;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.netfilter.HookFunction;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Table;

/**
 * The NAT hook function of one hook (nf_nat_ipv4_fn / nf_nat_ipv6_fn with nf_nat_inet_fn): at NAT_DST
 * (-100) in PREROUTING and OUTPUT, at NAT_SRC (100) in POSTROUTING and INPUT.
 *
 * <ul>
 * <li>no entry (INVALID, untracked): nothing;</li>
 * <li>an ICMP error RELATED to a connection: its quoted packet translated
 * ({@link Nat#icmpReplyTranslation});</li>
 * <li>the first packet of a connection (NEW, RELATED) whose binding for this manip type is not made yet: the
 * current nat table's chain for the hook is walked; no SNAT/DNAT/MASQUERADE/REDIRECT/NETMAP taken gives the
 * null binding; a verdict other than ACCEPT ends here;</li>
 * <li>a masqueraded connection whose original-direction packets leave by another interface is killed and
 * the packet dropped;</li>
 * <li>then every packet is rewritten by the binding ({@link Nat#packet}).</li>
 * </ul>
 *
 * The nat table comes from a supplier read once per packet (the current generation); none (no nat table in
 * the ruleset) means the kernel would not have registered the NAT hooks: nothing happens.
 *
 * <p>After a destination rewrite in PREROUTING the caller's route decision reads the new destination; in
 * OUTPUT every packet of a connection whose destination is translated is routed again
 * ({@link PacketContext#reroute()}, ip_route_me_harder), and dropped when that fails. Packet thread;
 * allocates only when a binding is made.
 */
public final class NatHook implements HookFunction {
    private final Hook hook;
    private final Supplier<Table> nat;
    private final Trace trace;

    public NatHook(Hook hook, Supplier<Table> nat, Trace trace) {
        this.hook = hook;
        this.nat = nat;
        this.trace = trace;
    }

    @Override
    public int apply(PacketContext pkt) {
        Table table = nat.get();
        if (table == null) {
            return Verdict.ACCEPT;
        }
        Connection ct = pkt.conntrack();
        if (ct == null || ct.isTemplate()) {
            return Verdict.ACCEPT;
        }
        int ctinfo = pkt.ctInfo();
        boolean related = ctinfo == CtInfo.RELATED || ctinfo == CtInfo.RELATED_REPLY;
        int icmp = pkt.family() == Family.IPV4 ? 1 : 58;
        if (related && pkt.protocol() == icmp) {
            // Linux: nf_nat_ipv4_fn translates the error; nf_nat_ipv4_local_fn routes it again like any other packet
            return Nat.icmpReplyTranslation(pkt, ct, ctinfo, hook) ? routedAgain(pkt, ct, ctinfo) : Verdict.DROP;
        }
        int manip = Nat.manipOf(hook);
        if (related || ctinfo == CtInfo.NEW) {
            if (!Nat.initialized(ct, manip)) {
                // the datapath's trace of this packet (jnf trace shows the nat walk), else the one given
                Trace t = pkt.trace() != Trace.NONE ? pkt.trace() : trace;
                // the datapath's walker: the compiled classifiers when it walks with them
                int v = pkt.walker().run(table, hook, pkt, t);
                if (v != Verdict.ACCEPT) {
                    return v;
                }
                if (!Nat.initialized(ct, manip)) {
                    v = Nat.nullBinding(pkt, ct, hook);
                    if (v != Verdict.ACCEPT) {
                        return v;
                    }
                }
            } else if (outputInterfaceChanged(pkt, ct, ctinfo)) {
                ct.table().kill(ct);
                return Verdict.DROP;
            }
        } else if (outputInterfaceChanged(pkt, ct, ctinfo)) {
            ct.table().kill(ct);
            return Verdict.DROP;
        }
        int v = Nat.packet(pkt, ct, ctinfo, hook);
        return v == Verdict.ACCEPT ? routedAgain(pkt, ct, ctinfo) : v;
    }

    /**
     * Linux: nf_nat_ipv4_local_fn / nf_nat_ipv6_local_fn: in OUTPUT, a packet of a connection whose destination is
     * translated (its own or, for an ICMP error, the one it is related to) needs a new route (ip_route_me_harder);
     * dropped when there is none.
     */
    private int routedAgain(PacketContext pkt, Connection ct, int ctinfo) {
        if (hook != Hook.OUTPUT) {
            return Verdict.ACCEPT;
        }
        int dir = CtInfo.direction(ctinfo);
        var mine = ct.tuple(dir);
        var other = ct.tuple(1 - dir);
        if ((mine.destinationHi() != other.sourceHi() || mine.destinationLo() != other.sourceLo()) && !pkt.reroute()) {
            return Verdict.DROP;
        }
        return Verdict.ACCEPT;
    }

    /** nf_nat_oif_changed. */
    private boolean outputInterfaceChanged(PacketContext pkt, Connection ct, int ctinfo) {
        String masq = ct.masqueradeInterface();
        return masq != null && hook == Hook.POSTROUTING && CtInfo.direction(ctinfo) == 0
                && !masq.equals(pkt.outInterface());
    }
}
