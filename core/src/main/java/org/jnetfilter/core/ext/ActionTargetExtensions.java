package org.jnetfilter.core.ext;

import java.util.List;

/** Registry group: REJECT, LOG, NFLOG, NFQUEUE, SNAT, DNAT, MASQUERADE, REDIRECT, NETMAP, TPROXY, TEE, ... */
final class ActionTargetExtensions {
    private ActionTargetExtensions() {
    }

    static List<Extension> all() {
        return List.of(
        );
    }
}
