package org.jnetfilter.core.rules;

import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.TargetExtension;

/** What a rule does when it matches: {@code ipt_entry_target} in its kernel forms. */
public sealed interface Target {

    /** The name shown in -L's target column and after -j. */
    String name();

    /** No -j: the rule only counts. */
    record None() implements Target {
        public String name() {
            return "";
        }
    }

    /** ACCEPT, DROP, QUEUE or RETURN: the kernel's standard target with a verdict. */
    record Verdict(Kind kind) implements Target {
        public enum Kind { ACCEPT, DROP, QUEUE, RETURN }

        static final Verdict ACCEPT = new Verdict(Kind.ACCEPT);
        static final Verdict DROP = new Verdict(Kind.DROP);
        static final Verdict QUEUE = new Verdict(Kind.QUEUE);
        static final Verdict RETURN = new Verdict(Kind.RETURN);

        public String name() {
            return kind.name();
        }
    }

    /** {@code -j CHAIN}, or {@code -g CHAIN} when {@code isGoto}. */
    record Jump(String chain, boolean isGoto) implements Target {
        public String name() {
            return chain;
        }
    }

    /** A target extension: {@code -j LOG --log-prefix x}. */
    record Extension(TargetExtension extension, ExtensionData data) implements Target {
        public String name() {
            String n = data.saveName();
            return n != null ? n : extension.name();
        }
    }

    /** The verdict of that name (one shared instance each), or null. */
    static Verdict verdictOrNull(String name) {
        return switch (name) {
            case "ACCEPT" -> Verdict.ACCEPT;
            case "DROP" -> Verdict.DROP;
            case "QUEUE" -> Verdict.QUEUE;
            case "RETURN" -> Verdict.RETURN;
            default -> null;
        };
    }
}
