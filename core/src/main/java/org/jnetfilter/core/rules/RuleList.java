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
    private static final RuleList EMPTY = new RuleList(new Backing(NONE, 0), 0);

    /**
     * An array shared by several lists, each seeing its first {@code size} slots. Appending to the list
     * that ends where the array's used part ends claims the next slot in place (no copy), as a Go slice
     * with spare capacity does; every other change copies. Lists never read past their own size, so a
     * slot written for a newer list is invisible to older ones: all stay immutable to their readers.
     */
    private static final class Backing {
        final Rule[] slots;
        final java.util.concurrent.atomic.AtomicInteger used;

        Backing(Rule[] slots, int used) {
            this.slots = slots;
            this.used = new java.util.concurrent.atomic.AtomicInteger(used);
        }
    }

    private final Backing backing;
    private final int size;

    private RuleList(Backing backing, int size) {
        this.backing = backing;
        this.size = size;
    }

    private static RuleList copyOf(Rule[] rules) {
        return new RuleList(new Backing(rules, rules.length), rules.length);
    }

    public static RuleList empty() {
        return EMPTY;
    }

    public static RuleList of(List<Rule> rules) {
        return rules.isEmpty() ? EMPTY : copyOf(rules.toArray(NONE));
    }

    @Override
    public Rule get(int index) {
        java.util.Objects.checkIndex(index, size);
        return backing.slots[index];
    }

    @Override
    public int size() {
        return size;
    }

    private Rule[] snapshot(int extra) {
        Rule[] n = new Rule[size + extra];
        System.arraycopy(backing.slots, 0, n, 0, size);
        return n;
    }

    /** A new list with {@code rule} inserted before position {@code index} (0-based; size() appends). */
    public RuleList inserting(int index, Rule rule) {
        if (index == size) {
            return appending(rule);
        }
        Rule[] n = new Rule[size + 1];
        System.arraycopy(backing.slots, 0, n, 0, index);
        n[index] = rule;
        System.arraycopy(backing.slots, index, n, index + 1, size - index);
        return copyOf(n);
    }

    public RuleList appending(Rule rule) {
        if (size < backing.slots.length && backing.used.compareAndSet(size, size + 1)) {
            backing.slots[size] = rule;
            return new RuleList(backing, size + 1);
        }
        Rule[] n = new Rule[Math.max(8, size + (size >> 1) + 1)];
        System.arraycopy(backing.slots, 0, n, 0, size);
        n[size] = rule;
        return new RuleList(new Backing(n, size + 1), size + 1);
    }

    public RuleList removing(int index) {
        java.util.Objects.checkIndex(index, size);
        Rule[] n = new Rule[size - 1];
        System.arraycopy(backing.slots, 0, n, 0, index);
        System.arraycopy(backing.slots, index + 1, n, index, size - index - 1);
        return n.length == 0 ? EMPTY : copyOf(n);
    }

    public RuleList replacing(int index, Rule rule) {
        java.util.Objects.checkIndex(index, size);
        Rule[] n = snapshot(0);
        n[index] = rule;
        return copyOf(n);
    }

    /** The position of the first rule whose save text equals {@code text}, or -1. */
    public int indexOfText(String text) {
        for (int i = 0; i < size; i++) {
            if (backing.slots[i].text().equals(text)) {
                return i;
            }
        }
        return -1;
    }

    /** The position of the first rule whose spec equals {@code spec}, or -1. */
    public int indexOfSpec(RuleSpec spec) {
        for (int i = 0; i < size; i++) {
            if (backing.slots[i].spec().equals(spec)) {
                return i;
            }
        }
        return -1;
    }
}
