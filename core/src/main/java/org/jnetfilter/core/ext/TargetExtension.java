package org.jnetfilter.core.ext;

import java.util.List;
import java.util.Set;
import org.jnetfilter.core.rules.Family;

/** A target extension: {@code -j NAME}. */
public abstract class TargetExtension extends Extension {
    protected TargetExtension(String name, Set<Family> families, List<OptionSpec> options) {
        super(name, families, options);
    }

    protected TargetExtension(String name, List<OptionSpec> options) {
        super(name, options);
    }
}
