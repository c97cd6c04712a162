package org.jnetfilter.core.rules;

/**
 * A rule in a chain: its spec and its counters. Identity matters: generations that keep the rule share
 * this object and so its counters.
 */
public final class Rule {
    private final RuleSpec spec;
    private final Counters counters;

    public Rule(RuleSpec spec, Counters counters) {
        this.spec = spec;
        this.counters = counters;
    }

    public RuleSpec spec() {
        return spec;
    }

    public Counters counters() {
        return counters;
    }

    public IpSpec ip() {
        return spec.ip();
    }

    public Target target() {
        return spec.target();
    }

    @Override
    public String toString() {
        return RuleText.save(spec);
    }
}
