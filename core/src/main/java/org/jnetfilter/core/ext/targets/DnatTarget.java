package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.rules.Hook;

/** {@code -j DNAT --to-destination}: destination NAT, in nat PREROUTING and OUTPUT (xt_nat.c). */
public final class DnatTarget extends AddressNatTarget {
    static final OptionSpec TO_DESTINATION = OptionSpec.withArg("to-destination");

    public DnatTarget() {
        super("DNAT", TO_DESTINATION, List.of(TO_DESTINATION, RANDOM, PERSISTENT), true,
                TargetScope.hooks(Hook.PREROUTING, Hook.OUTPUT));
    }
}
