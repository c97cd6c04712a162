package org.jnetfilter.core.rules;

import java.util.AbstractList;
import java.util.Arrays;
import java.util.List;
import java.util.RandomAccess;

/**
 * The rules of one chain, immutable: every change returns a new list and leaves this one as it was, so a
 * published generation never changes under a packet thread.
 */
public final class RuleList extends AbstractList<Rule> implements RandomAccess {
    private static final Rule[] NONE = new Rule[0];
    private static final RuleList EMPTY = new RuleList(NONE);

    private final Rule[] rules;

    private RuleList(Rule[] rules) {
        this.rules = rules;
    }

    public static RuleList empty() {
        return EMPTY;
    }

    public static RuleList of(List<Rule> rules) {
        return rules.isEmpty() ? EMPTY : new RuleList(rules.toArray(NONE));
    }

    @Override
    public Rule get(int index) {
        return rules[index];
    }

    @Override
    public int size() {
        return rules.length;
    }

    /** A new list with {@code rule} inserted before position {@code index} (0-based; size() appends). */
    public RuleList inserting(int index, Rule rule) {
        Rule[] n = new Rule[rules.length + 1];
        System.arraycopy(rules, 0, n, 0, index);
        n[index] = rule;
        System.arraycopy(rules, index, n, index + 1, rules.length - index);
        return new RuleList(n);
    }

    public RuleList appending(Rule rule) {
        return inserting(rules.length, rule);
    }

    public RuleList removing(int index) {
        Rule[] n = new Rule[rules.length - 1];
        System.arraycopy(rules, 0, n, 0, index);
        System.arraycopy(rules, index + 1, n, index, rules.length - index - 1);
        return new RuleList(n);
    }

    public RuleList replacing(int index, Rule rule) {
        Rule[] n = Arrays.copyOf(rules, rules.length);
        n[index] = rule;
        return new RuleList(n);
    }

    /** The position of the first rule whose spec equals {@code spec}, or -1. */
    public int indexOfSpec(RuleSpec spec) {
        for (int i = 0; i < rules.length; i++) {
            if (rules[i].spec().equals(spec)) {
                return i;
            }
        }
        return -1;
    }
}
