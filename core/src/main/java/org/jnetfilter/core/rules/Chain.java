package org.jnetfilter.core.rules;

/**
 * A chain: built-in (it has a policy and policy counters) or user-defined (policy null).
 * Immutable apart from the counters objects it shares with its successors.
 */
public record Chain(String name, String policy, Counters policyCounters, RuleList rules) {

    public static Chain builtin(String name) {
        return new Chain(name, "ACCEPT", Counters.zero(), RuleList.empty());
    }

    public static Chain user(String name) {
        return new Chain(name, null, null, RuleList.empty());
    }

    public boolean isBuiltin() {
        return policy != null;
    }

    public Chain withRules(RuleList newRules) {
        return new Chain(name, policy, policyCounters, newRules);
    }

    public Chain withPolicy(String newPolicy, Counters counters) {
        return new Chain(name, newPolicy, counters, rules);
    }

    public Chain renamed(String newName) {
        return new Chain(newName, policy, policyCounters, rules);
    }
}
