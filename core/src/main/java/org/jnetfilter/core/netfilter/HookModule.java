package org.jnetfilter.core.netfilter;

import java.util.List;
import java.util.function.Supplier;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;

/**
 * Hook functions that plug into a {@link Datapath} beside the tables and are registered only while the rules need
 * them, as Linux (since 4.10) registers the defragmentation and conntrack hooks of a network namespace on demand
 * (nf_ct_netns_get when the nat table exists or a rule uses a conntrack extension) and the nat table's hooks with
 * the table. The conntrack and NAT engine plugs in here: defrag at {@link Priorities#CONNTRACK_DEFRAG}, conntrack at
 * {@link Priorities#CONNTRACK}, NAT at {@link Priorities#NAT_DST} / {@link Priorities#NAT_SRC}, confirm at
 * {@link Priorities#CONNTRACK_CONFIRM}.
 *
 * <p>Called when rules are published (not on the packet path), under the datapath's writer lock.
 */
public interface HookModule {
    /** Whether {@code rules} need this module's functions for {@code family}. */
    boolean needed(Family family, Ruleset rules);

    /**
     * Registers the functions on {@code netfilter} for {@code family} and returns the registrations (the datapath
     * unregisters them when no longer needed). {@code rules} gives the current generation: read it once per packet.
     */
    List<Netfilter.Registration> register(Netfilter netfilter, Family family, Supplier<Ruleset> rules);

    /**
     * Whether the datapath must defragment before this module's functions (conntrack: nf_defrag_ipv4/ipv6 at
     * {@link Priorities#CONNTRACK_DEFRAG} in PREROUTING and OUTPUT, registered by the datapath while the module is).
     * Reassembled datagrams leave as their fragments did (refragmented to the largest one's size). True unless a
     * module says otherwise: conntrack, the module this seam is for, needs it.
     */
    default boolean defragments() {
        return true;
    }

    /**
     * The connection table this module keeps, or null: the namespace's table that extensions look a packet's tuple
     * up in when the packet has no entry of its own yet (xt_connlimit in the raw table: nf_conntrack_find_get on the
     * netns). The datapath hands it to every packet ({@link PacketContext#conntrackTable()}).
     */
    default org.jnetfilter.core.conntrack.Conntrack conntrack() {
        return null;
    }
}
