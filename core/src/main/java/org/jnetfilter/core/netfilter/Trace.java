package org.jnetfilter.core.netfilter;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;

/**
 * Events of one table walk, in the order they happen, for {@code jnf trace} and tests: what the
 * kernel's TRACE target logs ("TRACE: table:chain:rule|return|policy:num") and a little more.
 * Rule numbers count from 1 as {@code iptables -L --line-numbers} does; falling off the end of a
 * chain is numbered one past its last rule, as the kernel numbers the chain's tail entry.
 *
 * <p>Besides the walk, the {@link Datapath} reports what happens to a packet around the tables, in this order
 * for one packet: {@link #received} (or {@link #sentLocally}), then per hook {@link #hookEntered} and
 * {@link #hookVerdict} for every function that runs (a table's walk events between the two), {@link #routed}
 * where the route is decided, {@link #rewritten} when the path itself changes the packet (TTL, fragmentation),
 * and one ending: {@link #transmitted}, {@link #deliveredLocally}, {@link #loopedBack} (it goes on as a new
 * reception on lo), {@link #stolen} or {@link #dropped}. Packets the path makes (a REJECT reply, an ICMP error)
 * start with {@link #generated} and then travel like locally sent ones, with their own events, nested inside the
 * events of the packet that caused them.
 *
 * <p>Called on the packet thread. Arguments are views valid only during the call (copy a segment to keep it).
 * {@link #NONE} does nothing and is what the datapath uses unless told otherwise.
 */
public interface Trace {
    /** No events: the hot path. */
    Trace NONE = new Trace() {
    };

    /** Rule {@code ruleNumber} of {@code chain} matched and was counted. */
    default void rule(Table table, Chain chain, int ruleNumber, Rule rule) {
    }

    /**
     * The target of the rule that just matched gave {@code verdict}: a standard ACCEPT, DROP or
     * QUEUE, or what a target extension returned ({@link Verdict#CONTINUE} for LOG, MARK...).
     */
    default void verdict(Table table, Chain chain, int ruleNumber, int verdict) {
    }

    /** A {@code -j} ({@code isGoto} false) or {@code -g} from rule {@code ruleNumber} of {@code from}. */
    default void jump(Table table, Chain from, int ruleNumber, Chain to, boolean isGoto) {
    }

    /**
     * {@code from} returned: by a RETURN rule, or by falling off its end ({@code ruleNumber} one past
     * its rules). {@code to} continues after its rule {@code toRuleNumber}; {@code to} null: nothing to
     * return to, the built-in chain's policy follows.
     */
    default void returned(Table table, Chain from, int ruleNumber, Chain to, int toRuleNumber) {
    }

    /** The policy of {@code builtin} decided and was counted. */
    default void policy(Table table, Chain builtin, int verdict) {
    }

    /** A match of rule {@code ruleNumber} could not examine the packet: dropped at once (hotdrop). */
    default void hotdrop(Table table, Chain chain, int ruleNumber) {
    }

    /** A jump found the jump stack full (only a table with a chain loop gets there): dropped. */
    default void stackExhausted(Table table, Chain chain, int ruleNumber) {
    }

    // ---- the datapath around the tables ----

    /**
     * A frame or datagram arrived on {@code ifname}: {@code packetType} is the {@code skb->pkt_type} the link layer
     * gave it ({@link PacketContext#PACKET_HOST} ... {@link PacketContext#PACKET_OTHERHOST}).
     */
    default void received(String ifname, MemorySegment frame, int packetType) {
    }

    /** A locally generated datagram enters at OUTPUT (jnf replay's {@code @local}). */
    default void sentLocally(MemorySegment datagram) {
    }

    /** A hook function is about to run on the packet (nf_hook_slow reaching one {@code nf_hook_entry}). */
    default void hookEntered(Netfilter.Registration function) {
    }

    /** The function's verdict ({@link Verdict}): ACCEPT lets the next one run. */
    default void hookVerdict(Netfilter.Registration function, int verdict) {
    }

    /** The packet was queued to {@code queueNumber}; {@code answer} is the handler's verdict or {@link QueueHandler#NOT_BOUND}. */
    default void queued(int queueNumber, int answer) {
    }

    /**
     * A route decision: after PREROUTING ({@code where} PREROUTING: local, broadcast, forward or an error), for a
     * locally sent packet before OUTPUT ({@code where} OUTPUT), or a re-route after OUTPUT changed the packet
     * ({@code where} POSTROUTING).
     */
    default void routed(Hook where, RouteDecision decision) {
    }

    /** The path itself changed the packet: {@code what} is a fixed text ("ttl decremented", "fragmented", ...). */
    default void rewritten(String what) {
    }

    /**
     * The path made a packet because of the current one: {@code kind} names it ("REJECT", "ICMP time exceeded",
     * "ICMP fragmentation needed", ...). Its own events follow, then the current packet's go on.
     */
    default void generated(String kind, MemorySegment datagram) {
    }

    /**
     * A bridge decided where a frame goes: it came in by port {@code inPort} ("" when the host sent it by the
     * bridge); {@code outPort} is the port it goes to, "" for none, or null when it is flooded to the
     * {@code copies} ports that may take it (each copy's events follow: a received frame's meet FORWARD and
     * POSTROUTING with br_netfilter and may end there; each of the host's own leaves at once); {@code up}: it (or a
     * copy) goes up to the host through the bridge device.
     */
    default void bridged(String bridge, String inPort, String outPort, int copies, boolean up) {
    }

    /** Left by {@code ifname} as this Ethernet frame. */
    default void transmitted(String ifname, MemorySegment frame) {
    }

    /** Passed INPUT and was delivered to the local stack (the sockets), having arrived on {@code ifname}. */
    default void deliveredLocally(String ifname, MemorySegment datagram) {
    }

    /**
     * Left by lo: it comes back as a reception on lo, whose events follow once the packet that caused it is done
     * (at once in a process's send outside a TEE copy), as the kernel's backlog receives it.
     */
    default void loopedBack(MemorySegment datagram) {
    }

    /** A hook function took the packet (STOLEN): nothing further happens to it here. */
    default void stolen() {
    }

    /** Dropped, for {@code reason}. */
    default void dropped(DropReason reason) {
    }
}
