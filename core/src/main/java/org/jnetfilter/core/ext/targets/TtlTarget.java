package org.jnetfilter.core.ext.targets;

import org.jnetfilter.core.rules.Family;

/** {@code -j TTL --ttl-set|--ttl-dec|--ttl-inc N} (libipt_TTL, xt_HL.c ttl_tg): IPv4, mangle table. */
public final class TtlTarget extends HopCountTarget {
    public TtlTarget() {
        super("ttl", Family.IPV4);
    }
}
