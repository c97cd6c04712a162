package org.jnetfilter.core.rules;

import java.util.List;

/**
 * What a rule says, without its counters: the value that {@code -C} and {@code -D rule-spec} compare.
 *
 * <p>Parts that many rules repeat are shared between them (see {@link Interned}): a fixed part without
 * addresses or interfaces, matches whose options are a plain value ({@link
 * org.jnetfilter.core.ext.ExtensionData#shareable()}) and lists of them, verdicts. Equality is by value
 * either way.
 */
public record RuleSpec(IpSpec ip, List<Match> matches, Target target) {
    public RuleSpec {
        if (ip.src().isAny() && ip.dst().isAny() && ip.inIface().isEmpty() && ip.outIface().isEmpty()) {
            ip = Interned.of(ip);
        }
        matches = shared(matches);
        if (target instanceof Target.Verdict || target instanceof Target.None) {
            target = Interned.of(target);
        }
    }

    /** The matches with shared instances where they may be; a list of nothing but such, itself shared. */
    private static List<Match> shared(List<Match> matches) {
        int n = matches.size();
        if (n == 0) {
            return List.of();
        }
        Match[] a = new Match[n];
        boolean all = true;
        for (int i = 0; i < n; i++) {
            Match m = matches.get(i);
            if (m.data().shareable()) {
                a[i] = Interned.of(m);
            } else {
                a[i] = m;
                all = false;
            }
        }
        List<Match> list = List.of(a);
        return all ? Interned.of(list) : list;
    }
}
