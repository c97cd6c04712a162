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
}
