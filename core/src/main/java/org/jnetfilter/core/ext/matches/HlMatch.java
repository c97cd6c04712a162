package org.jnetfilter.core.ext.matches;

import org.jnetfilter.core.rules.Family;

/** {@code -m hl --hl-eq|--hl-lt|--hl-gt N} (libip6t_hl, ip6t_hl.c): the IPv6 hop limit. */
public final class HlMatch extends HopCountMatch {
    public HlMatch() {
        super("hl", Family.IPV6, "HL");
    }
}
