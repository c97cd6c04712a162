package org.jnetfilter.core.host;

import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;

/**
 * A routing policy rule ({@code ip rule}): selectors from, to, fwmark/mask, iif, oif, and an action, either
 * a table lookup ({@code action == UNICAST}, Linux FR_ACT_TO_TBL) or an error type (blackhole, unreachable,
 * prohibit). {@code fwmask == 0} with {@code fwmark == 0} means "no fwmark selector"; iif/oif may be null.
 */
public record PolicyRule(Family family, int priority, IpNet from, IpNet to, long fwmark, long fwmask,
        String iif, String oif, RouteType action, int table) {

    public static PolicyRule lookup(Family family, int priority, int table) {
        return new PolicyRule(family, priority, IpNet.any(family), IpNet.any(family), 0, 0, null, null,
                RouteType.UNICAST, table);
    }

    /** fib_rule_match and fib4_rule_match / fib6_rule_match. */
    boolean matches(IpAddress src, IpAddress dst, long mark, String inDev, String outDev) {
        if (iif != null && !iif.equals(inDev)) {
            return false;
        }
        if (oif != null && !oif.equals(outDev)) {
            return false;
        }
        if (((mark ^ fwmark) & fwmask) != 0) {
            return false;
        }
        return src.in(from) && dst.in(to);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder().append(priority).append(":\tfrom ");
        sb.append(from.isAny() ? "all" : from.isHost() ? from.addressText() : from.saveText());
        if (!to.isAny()) {
            sb.append(" to ").append(to.isHost() ? to.addressText() : to.saveText());
        }
        if (fwmask != 0) {
            sb.append(" fwmark 0x").append(Long.toHexString(fwmark));
            if (fwmask != 0xFFFFFFFFL) {
                sb.append("/0x").append(Long.toHexString(fwmask));
            }
        }
        if (iif != null) {
            sb.append(" iif ").append(iif);
        }
        if (oif != null) {
            sb.append(" oif ").append(oif);
        }
        sb.append(action == RouteType.UNICAST ? " lookup " + Host.tableName(table) : " " + action.word());
        return sb.toString();
    }
}
