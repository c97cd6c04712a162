package org.jnetfilter.core.ext;

import java.util.List;

/** Registry group: limit, hashlimit, recent, quota, statistic, string, time, u32, owner-less misc matches, ... */
final class StateMatchExtensions {
    private StateMatchExtensions() {
    }

    static List<Extension> all() {
        return List.of(
        );
    }
}
