package org.jnetfilter.core.netfilter;

import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;

/**
 * Events of one table walk, in the order they happen, for {@code jnf trace} and tests: what the
 * kernel's TRACE target logs ("TRACE: table:chain:rule|return|policy:num") and a little more.
 * Rule numbers count from 1 as {@code iptables -L --line-numbers} does; falling off the end of a
 * chain is numbered one past its last rule, as the kernel numbers the chain's tail entry.
 *
 * <p>Called on the packet thread, inside the walk. {@link #NONE} does nothing and is what the
 * datapath passes.
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
}
