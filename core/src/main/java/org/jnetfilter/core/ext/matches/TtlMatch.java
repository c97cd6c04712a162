package org.jnetfilter.core.ext.matches;

import org.jnetfilter.core.rules.Family;

/** {@code -m ttl --ttl-eq|--ttl-lt|--ttl-gt N} (libipt_ttl, ipt_ttl.c): IPv4 only. */
public final class TtlMatch extends HopCountMatch {
    public TtlMatch() {
        super("ttl", Family.IPV4, "TTL");
    }
}
