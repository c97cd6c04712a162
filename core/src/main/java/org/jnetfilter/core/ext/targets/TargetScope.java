package org.jnetfilter.core.ext.targets;

import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Hook;

/**
 * Where the kernel lets a target be used: xt_check_target's comparison of the rule's table with the
 * target's {@code .table} and of the hooks its chain is reachable from with the target's {@code .hooks}.
 * Either mismatch is EINVAL, which iptables shows as "Invalid argument".
 */
final class TargetScope {
    private TargetScope() {
    }

    static int hooks(Hook... hooks) {
        int mask = 0;
        for (Hook h : hooks) {
            mask |= h.bit();
        }
        return mask;
    }

    /**
     * @param onlyTable null: any table
     * @param allowed   0: any hook
     */
    static void require(String table, int hookMask, String onlyTable, int allowed) {
        if (onlyTable != null && !onlyTable.equals(table)) {
            throw XtablesException.invalidArgument();
        }
        if (allowed != 0 && (hookMask & ~allowed) != 0) {
            throw XtablesException.invalidArgument();
        }
    }
}
