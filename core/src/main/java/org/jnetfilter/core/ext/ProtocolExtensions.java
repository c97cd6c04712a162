package org.jnetfilter.core.ext;

import java.util.List;

/** Registry group: sctp, dccp, multiport, icmp, icmp6, esp, ah, ipcomp, IPv6 extension headers, ... */
final class ProtocolExtensions {
    private ProtocolExtensions() {
    }

    static List<Extension> all() {
        return List.of(
        );
    }
}
