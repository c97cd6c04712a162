package org.jnetfilter.core.ext.targets;

import org.jnetfilter.core.rules.Hook;

/** {@code -j SNPT}: source prefix translation, mangle INPUT and POSTROUTING (ip6t_NPT.c). */
public final class SnptTarget extends PrefixTranslationTarget {
    public SnptTarget() {
        super("SNPT", TargetScope.hooks(Hook.INPUT, Hook.POSTROUTING));
    }
}
