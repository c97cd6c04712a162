package org.jnetfilter.core.rules;

import java.util.List;

/**
 * What a rule says, without its counters: the value that {@code -C} and {@code -D rule-spec} compare.
 */
public record RuleSpec(IpSpec ip, List<Match> matches, Target target) {
    public RuleSpec {
        matches = List.copyOf(matches);
    }
}
