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
    private static final String[] NO_JUMPS = new String[0];
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

    /**
     * Rules not read yet: a state file's chain that no command has looked into. {@code jumps} are the
     * chains its rules jump to (before the first unconditional verdict), known without reading them.
     */
    public interface Unread {
        Rule[] read();

        String[] jumps();

        /** Whether an unconditional verdict ends the walk through these rules (see {@link #jumpTargets}). */
        boolean cut();

        /** The rules as the state file has them (UTF-8), to copy into the next snapshot as they are. */
        java.nio.ByteBuffer raw();
    }

    private volatile Backing backing;
    private final int size;
    private final Unread unread;
    /** jumpTargets() and whether an unconditional verdict cut the walk, once known. */
    private volatile String[] jumps;
    private volatile boolean cut;

    private RuleList(Backing backing, int size) {
        this.backing = backing;
        this.size = size;
        this.unread = null;
    }

    private RuleList(Unread unread, int size) {
        this.size = size;
        this.unread = unread;
    }

    /** {@code size} rules that {@code unread} reads on first use. */
    public static RuleList unread(int size, Unread unread) {
        return size == 0 ? EMPTY : new RuleList(unread, size);
    }

    /**
     * Rules not read yet with rules appended after them: one command appends to a chain of 20k rules
     * without reading them. Not a range of a state file, so {@link #raw()} is null.
     */
    private static final class AppendedUnread implements Unread {
        private final Unread base;
        private final int baseSize;
        private final Rule[] tail;

        private AppendedUnread(Unread base, int baseSize, Rule[] tail) {
            this.base = base;
            this.baseSize = baseSize;
            this.tail = tail;
        }

        static AppendedUnread of(Unread list, int size, Rule rule) {
            if (list instanceof AppendedUnread a) {
                Rule[] t = Arrays.copyOf(a.tail, a.tail.length + 1);
                t[a.tail.length] = rule;
                return new AppendedUnread(a.base, a.baseSize, t);
            }
            return new AppendedUnread(list, size, new Rule[] {rule});
        }

        @Override
        public Rule[] read() {
            Rule[] b = base.read();
            Rule[] all = Arrays.copyOf(b, b.length + tail.length);
            System.arraycopy(tail, 0, all, b.length, tail.length);
            return all;
        }

        @Override
        public String[] jumps() {
            if (base.cut()) {
                return base.jumps();
            }
            java.util.LinkedHashSet<String> j = new java.util.LinkedHashSet<>(Arrays.asList(base.jumps()));
            for (Rule r : tail) {
                if (r.isUnconditionalVerdict()) {
                    break;
                }
                String t = r.jumpChain();
                if (t != null) {
                    j.add(t);
                }
            }
            return j.toArray(new String[0]);
        }

        @Override
        public boolean cut() {
            if (base.cut()) {
                return true;
            }
            for (Rule r : tail) {
                if (r.isUnconditionalVerdict()) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public java.nio.ByteBuffer raw() {
            return null;
        }
    }

    /**
     * The rules appended to {@code earlier} to make this list, when this list is {@code earlier} plus
     * appends that neither has read; else null (the caller compares rule by rule).
     */
    public List<Rule> appendedTo(RuleList earlier) {
        if (!(unread instanceof AppendedUnread a) || backing != null) {
            return null;
        }
        if (earlier.unread == a.base && earlier.size == a.baseSize) {
            return Arrays.asList(a.tail);
        }
        if (earlier.unread instanceof AppendedUnread e && e.base == a.base && e.baseSize == a.baseSize
                && earlier.size == e.baseSize + e.tail.length && e.tail.length <= a.tail.length) {
            for (int i = 0; i < e.tail.length; i++) {
                if (e.tail[i] != a.tail[i]) {
                    return null;
                }
            }
            return Arrays.asList(a.tail).subList(e.tail.length, a.tail.length);
        }
        return null;
    }

    /** Where these rules were read from, unchanged, if they came from a state file (read or not). */
    public Unread unreadSource() {
        return unread;
    }

    private Backing backing() {
        Backing b = backing;
        if (b == null) {
            synchronized (this) {
                b = backing;
                if (b == null) {
                    Rule[] rules = unread.read();
                    if (rules.length != size) {
                        throw new IllegalStateException("state chain has " + rules.length + " rules, expected " + size);
                    }
                    b = new Backing(rules, rules.length);
                    backing = b;
                }
            }
        }
        return b;
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
        return backing().slots[index];
    }

    @Override
    public int size() {
        return size;
    }

    private Rule[] snapshot(int extra) {
        Rule[] n = new Rule[size + extra];
        System.arraycopy(backing().slots, 0, n, 0, size);
        return n;
    }

    /** A new list with {@code rule} inserted before position {@code index} (0-based; size() appends). */
    public RuleList inserting(int index, Rule rule) {
        if (index == size) {
            return appending(rule);
        }
        Rule[] n = new Rule[size + 1];
        System.arraycopy(backing().slots, 0, n, 0, index);
        n[index] = rule;
        System.arraycopy(backing().slots, index, n, index + 1, size - index);
        return copyOf(n);
    }

    public RuleList appending(Rule rule) {
        if (backing == null && unread != null) {
            return new RuleList(AppendedUnread.of(unread, size, rule), size + 1);
        }
        Backing b = backing();
        RuleList next;
        if (size < b.slots.length && b.used.compareAndSet(size, size + 1)) {
            b.slots[size] = rule;
            next = new RuleList(b, size + 1);
        } else {
            Rule[] n = new Rule[Math.max(8, size + (size >> 1) + 1)];
            System.arraycopy(b.slots, 0, n, 0, size);
            n[size] = rule;
            next = new RuleList(new Backing(n, size + 1), size + 1);
        }
        // Carried forward for one append to a list read from a state file (a command); a run of appends
        // (a restore) would copy the summary each time, so there it is left to be computed once at the end.
        String[] known = unread == null ? (jumps != null && jumps.length < 64 ? jumps : null) : jumpTargets();
        if (known != null) {
            // the jump summary of a list one rule longer, without walking the list again
            boolean wasCut = cut;
            String t = wasCut ? null : rule.jumpChain();
            String[] j = known;
            if (t != null && !java.util.Arrays.asList(known).contains(t)) {
                j = java.util.Arrays.copyOf(known, known.length + 1);
                j[known.length] = t;
            }
            next.cut = wasCut || rule.isUnconditionalVerdict();
            next.jumps = j;
        }
        return next;
    }

    public RuleList removing(int index) {
        java.util.Objects.checkIndex(index, size);
        Rule[] n = new Rule[size - 1];
        System.arraycopy(backing().slots, 0, n, 0, index);
        System.arraycopy(backing().slots, index + 1, n, index, size - index - 1);
        return n.length == 0 ? EMPTY : copyOf(n);
    }

    public RuleList replacing(int index, Rule rule) {
        java.util.Objects.checkIndex(index, size);
        Rule[] n = snapshot(0);
        n[index] = rule;
        return copyOf(n);
    }

    /**
     * The chains these rules jump or go to, each once, up to the first unconditional verdict (the jump
     * graph the kernel walks); known without reading unread rules.
     */
    public String[] jumpTargets() {
        String[] j = jumps;
        if (j != null) {
            return j;
        }
        Unread u = unreadSource();
        if (u != null) {
            cut = u.cut();
            jumps = u.jumps();
            return jumps;
        }
        // distinct targets in first-seen order; chains jump to few chains, so a linear scan beats a set
        // until there are many (a restore computes this for every chain of a Kubernetes node)
        String[] found = NO_JUMPS;
        int count = 0;
        java.util.Set<String> many = null;
        Rule[] slots = backing().slots;
        boolean stopped = false;
        for (int i = 0; i < size; i++) {
            Rule r = slots[i];
            if (r.isUnconditionalVerdict()) {
                stopped = true;
                break;
            }
            String t = r.jumpChain();
            if (t == null) {
                continue;
            }
            if (many != null) {
                if (!many.add(t)) {
                    continue;
                }
            } else {
                boolean seen = false;
                for (int k = 0; k < count; k++) {
                    if (found[k].equals(t)) {
                        seen = true;
                        break;
                    }
                }
                if (seen) {
                    continue;
                }
                if (count == 32) {
                    many = new java.util.HashSet<>(Arrays.asList(found).subList(0, count));
                    many.add(t);
                }
            }
            if (count == found.length) {
                found = Arrays.copyOf(found, Math.max(4, count * 2));
            }
            found[count++] = t;
        }
        cut = stopped;
        jumps = count == found.length ? found : Arrays.copyOf(found, count);
        return jumps;
    }

    /** Whether an unconditional verdict among these rules ends the kernel's walk through them. */
    public boolean endsInVerdict() {
        jumpTargets();
        return cut;
    }

    /** The position of the first rule whose save text equals {@code text}, or -1. */
    public int indexOfText(String text) {
        Rule[] slots = backing().slots;
        for (int i = 0; i < size; i++) {
            if (slots[i].text().equals(text)) {
                return i;
            }
        }
        return -1;
    }
}
