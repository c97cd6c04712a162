package org.jnetfilter.core.ext;

import java.util.List;

/**
 * A target whose kernel checkentry also looks at the rule's matches: TCPMSS refuses a rule that does not
 * match TCP SYN packets with a tcp match (xt_TCPMSS.c tcpmss_tg4_check's find_syn_match). Called with the
 * same table commit as {@link ExtensionData#check}, after it.
 */
public interface MatchAwareCheck {
    /** @param matches the data of the rule's matches, in rule order; throws EINVAL's error when refused */
    void checkMatches(List<ExtensionData> matches);
}
