package org.jnetfilter.core.rules;

import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.MatchExtension;

/** One {@code -m name ...} of a rule. */
public record Match(MatchExtension extension, ExtensionData data) {
    public String saveName() {
        String n = data.saveName();
        return n != null ? n : extension.name();
    }
}
