package org.jnetfilter.core.ext;

import java.util.List;
import java.util.Set;
import org.jnetfilter.core.rules.Family;

/** A match extension: {@code -m name}. */
public abstract class MatchExtension extends Extension {
    protected MatchExtension(String name, Set<Family> families, List<OptionSpec> options) {
        super(name, families, options);
    }

    protected MatchExtension(String name, List<OptionSpec> options) {
        super(name, options);
    }

    /**
     * Whether {@code -D} and {@code -C} by rule-spec compare this match's options. Linux: libiptc's is_same
     * compares a match's data only up to its extension's userspacesize; where that leaves out the options,
     * any rule with this match in the same place is the same rule.
     */
    public boolean deleteComparesOptions() {
        return true;
    }
}
