package org.jnetfilter.core.classify;

import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Family;

/**
 * A chain's compiled form as a value, outside the cache {@link ClassifiedWalk} keeps: for a control
 * plane that manages classifiers itself, and for figures (compile and update cost, tables, bytes).
 * {@link ClassifiedWalk} needs none of this: it compiles and derives on its own.
 */
public final class Classifier {
    private final ChainClassifier compiled;

    private Classifier(ChainClassifier compiled) {
        this.compiled = compiled;
    }

    /** Compiles {@code chain}'s rules from scratch (the cache is neither read nor filled). */
    public static Classifier compile(Chain chain, Family family) {
        return new Classifier(ChainClassifier.compile(chain.rules(), family));
    }

    /**
     * The classifier of {@code next}, a later version of this classifier's chain: only the rules that
     * differ (by identity) move; every other bucket and table is shared.
     */
    public Classifier derive(Chain next) {
        return new Classifier(compiled.derive(next.rules()));
    }

    /** Number of rules. */
    public int size() {
        return compiled.size();
    }

    /** Number of hash tables (tuples) a lookup may probe. */
    public int tables() {
        return compiled.tableCount();
    }

    /** One line per hash table, in search order: its tuple and how many entries it holds. */
    public String describeTables() {
        StringBuilder sb = new StringBuilder();
        for (TupleTable t : compiled.tables) {
            sb.append(t.tuple).append(' ').append(t.entries).append('\n');
        }
        return sb.toString();
    }

    /** An estimate of the bytes the classifier holds beside the rules (entries, tables, arrays). */
    public long footprintBytes() {
        return compiled.footprintBytes();
    }
}
