package org.jnetfilter.core.rules;

/**
 * A rule in a chain: its spec, its save text and its counters. Identity matters: generations that keep
 * the rule share this object and so its counters.
 *
 * <p>A rule made from a parsed spec computes its text when asked; a rule loaded from a state file holds
 * only its text (canonical: jnetfilter wrote it) and parses it on first use of {@link #spec()}. Commands
 * that only move, count, compare or print rules in save form never parse them, which keeps one command on
 * a 160k-rule state in the milliseconds. Two rules are the same rule-spec when their texts are equal.
 */
public final class Rule {
    private final Counters counters;
    private final RuleParser parser;
    /**
     * First character of a source that is the save text read with every {@code -j NAME} as a jump to the chain
     * NAME, also where a target extension has that name (iptables jumps to a chain named like a target when
     * the chain exists: "Warning: using chain NAME, not extension").
     */
    public static final char CHAIN_JUMPS = '\u0002';

    /** Text that parses back to this rule when the save text does not (or null: the save text does). */
    private final String source;
    private volatile RuleSpec spec;
    private volatile String text;
    /** The -j/-g chain or verdict name, "" for none; null until computed. */
    private volatile String targetName;

    public Rule(RuleSpec spec, Counters counters) {
        this(spec, counters, null);
    }

    /** A parsed rule; {@code source} is what it was parsed from, when known (a restore line). */
    public Rule(RuleSpec spec, Counters counters, String source) {
        this.spec = spec;
        this.counters = counters;
        this.parser = null;
        this.source = source;
    }

    private Rule(String text, String source, Counters counters, RuleParser parser, RuleSpec spec) {
        this.text = text;
        this.source = source;
        this.counters = counters;
        this.parser = parser;
        this.spec = spec;
    }

    /**
     * A rule known by its canonical save text, parsed by {@code parser} when needed; {@code source}, when
     * not null, is the text to parse instead (for the few rules whose save form does not read back).
     */
    public static Rule lazy(String text, String source, Counters counters, RuleParser parser) {
        return new Rule(text, source, counters, parser, null);
    }

    /** The same rule with other counters (-Z, -c), still unparsed if it was. */
    public Rule withCounters(Counters newCounters) {
        return new Rule(text, source, newCounters, parser, spec);
    }

    /** The text this rule was parsed from, if it was recorded; else null. */
    public String source() {
        return source;
    }

    public RuleSpec spec() {
        RuleSpec s = spec;
        if (s == null) {
            s = parser.parse(source != null ? source : text);
            spec = s;
        }
        return s;
    }

    /** Whether the spec has been parsed (or the rule was made from one). */
    public boolean isParsed() {
        return spec != null;
    }

    /** The save form after {@code -A CHAIN}, without a leading space. */
    public String text() {
        String t = text;
        if (t == null) {
            // a restore line is usually the save text already: keep that one copy, and make none
            t = RuleText.save(spec, source);
            text = t;
        }
        return t;
    }

    public Counters counters() {
        return counters;
    }

    public IpSpec ip() {
        return spec().ip();
    }

    public Target target() {
        return spec().target();
    }

    /**
     * The chain this rule jumps or goes to, or null; from the text when the rule is not parsed, so that
     * reference counts and loop checks need no parsing.
     */
    public String jumpChain() {
        RuleSpec s = spec;
        if (s != null) {
            return s.target() instanceof Target.Jump j ? j.chain() : null;
        }
        String name = targetName();
        if (name.isEmpty() || Target.verdictOrNull(name) != null || !isJumpByText()) {
            return null;
        }
        return name;
    }

    /**
     * Nothing but ACCEPT, DROP, RETURN or QUEUE: the kernel's mark_source_chains takes such a rule as the
     * end of its chain (what follows is never walked).
     */
    public boolean isUnconditionalVerdict() {
        RuleSpec s = spec;
        if (s != null && !(s.target() instanceof Target.Verdict)) {
            // a jump, a goto or a target extension never ends the walk: no save text made to tell
            return false;
        }
        String t = text();
        return t.equals("-j ACCEPT") || t.equals("-j DROP") || t.equals("-j RETURN") || t.equals("-j QUEUE");
    }

    /** The word after the rule's -j or -g, "" when there is none. */
    public String targetName() {
        String n = targetName;
        if (n == null) {
            RuleSpec s = spec;
            n = s != null ? s.target().name() : targetNameFromText(text());
            targetName = n;
        }
        return n;
    }

    /** -g NAME is always a chain; -j NAME is one unless a target extension has that name. */
    private boolean isJumpByText() {
        String t = text();
        int at = targetOffset(t);
        return at >= 0 && (t.startsWith("-g ", at) || source != null && !source.isEmpty() && source.charAt(0) == CHAIN_JUMPS
                || !parser.isTargetExtension(targetName()));
    }

    /** Offset of the "-j " or "-g " that starts the target in canonical text, or -1. */
    static int targetOffset(String t) {
        int from = t.length();
        while (from > 0) {
            int j = t.lastIndexOf("-j ", from - 1);
            int g = t.lastIndexOf("-g ", from - 1);
            int at = Math.max(j, g);
            if (at < 0) {
                return -1;
            }
            if ((at == 0 || t.charAt(at - 1) == ' ') && unquoted(t, at)) {
                return at;
            }
            from = at;
        }
        return -1;
    }

    private static boolean unquoted(String t, int end) {
        boolean open = false;
        for (int i = 0; i < end; i++) {
            char c = t.charAt(i);
            if (c == '\\' && open) {
                i++;
            } else if (c == '"') {
                open = !open;
            }
        }
        return !open;
    }

    static String targetNameFromText(String t) {
        int at = targetOffset(t);
        if (at < 0) {
            return "";
        }
        int start = at + 3;
        int end = t.indexOf(' ', start);
        return end < 0 ? t.substring(start) : t.substring(start, end);
    }

    @Override
    public String toString() {
        return text();
    }
}
