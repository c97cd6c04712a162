package org.jnetfilter.core.ext;

import java.util.List;

/** Registry group: conntrack, state, connmark, CONNMARK, mark, MARK, CT, NOTRACK, connbytes, connlimit, connlabel, ... */
final class ConntrackExtensions {
    private ConntrackExtensions() {
    }

    static List<Extension> all() {
        return List.of(
        );
    }
}
