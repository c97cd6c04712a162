package org.jnetfilter.core.ext.targets;

import org.jnetfilter.core.rules.Hook;

/** {@code -j DNPT}: destination prefix translation, mangle PREROUTING and OUTPUT (ip6t_NPT.c). */
public final class DnptTarget extends PrefixTranslationTarget {
    public DnptTarget() {
        super("DNPT", TargetScope.hooks(Hook.PREROUTING, Hook.OUTPUT));
    }
}
