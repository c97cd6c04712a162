package org.jnetfilter.core.rules;

import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.MatchExtension;

/** One {@code -m name ...} of a rule. */
public record Match(MatchExtension extension, ExtensionData data) {
    // equals and hashCode written out, as IpNet's: a restore shares the plain-value matches of most rules
    @Override
    public boolean equals(Object o) {
        return o instanceof Match m && extension.equals(m.extension) && data.equals(m.data);
    }

    @Override
    public int hashCode() {
        return 31 * extension.hashCode() + data.hashCode();
    }

    public String saveName() {
        String n = data.saveName();
        return n != null ? n : extension.name();
    }
}
