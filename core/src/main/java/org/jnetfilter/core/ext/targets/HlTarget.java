package org.jnetfilter.core.ext.targets;

import org.jnetfilter.core.rules.Family;

/** {@code -j HL --hl-set|--hl-dec|--hl-inc N} (libip6t_HL, xt_HL.c hl_tg6): IPv6, mangle table. */
public final class HlTarget extends HopCountTarget {
    public HlTarget() {
        super("hl", Family.IPV6);
    }
}
