package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.rules.Hook;

/** {@code -j SNAT --to-source}: source NAT, in nat POSTROUTING and INPUT (xt_nat.c). */
public final class SnatTarget extends AddressNatTarget {
    static final OptionSpec TO_SOURCE = OptionSpec.withArg("to-source");

    public SnatTarget() {
        // the legacy SNAT revision keeps the shifted-map flag but not the base port: 1:5-6/7 saves as 5-6/0
        super("SNAT", TO_SOURCE, List.of(TO_SOURCE, RANDOM, RANDOM_FULLY, PERSISTENT), false,
                TargetScope.hooks(Hook.POSTROUTING, Hook.INPUT));
    }
}
