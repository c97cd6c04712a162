package org.jnetfilter.core.ext;

import java.util.List;

/** Registry group: tos, TOS, dscp, DSCP, ecn, ECN, ttl, TTL, hl, HL, TCPMSS, addrtype, iprange, length, mac, ... */
final class HeaderFieldExtensions {
    private HeaderFieldExtensions() {
    }

    static List<Extension> all() {
        return List.of(
        );
    }
}
