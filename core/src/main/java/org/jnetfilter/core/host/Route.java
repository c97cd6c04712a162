package org.jnetfilter.core.host;

import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;

/**
 * One route in one table, as {@code ip route} shows it. {@code gateway}, {@code dev} and {@code prefSrc}
 * may be null. {@code kernel} marks routes the kernel derives from interface addresses (proto kernel).
 */
public record Route(int table, RouteType type, IpNet dst, int metric, IpAddress gateway, String dev,
        IpAddress prefSrc, boolean kernel) {

    public Family family() {
        return dst.family();
    }

    /** The line `ip route show table all` prints for it, without proto/scope/pref decorations. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        if (type != RouteType.UNICAST) {
            sb.append(type.word()).append(' ');
        }
        sb.append(dst.isAny() ? "default" : dst.isHost() ? dst.addressText() : dst.saveText());
        if (gateway != null) {
            sb.append(" via ").append(gateway.text());
        }
        if (dev != null) {
            sb.append(" dev ").append(dev);
        }
        if (table != Host.TABLE_MAIN) {
            sb.append(" table ").append(Host.tableName(table));
        }
        if (prefSrc != null) {
            sb.append(" src ").append(prefSrc.text());
        }
        if (metric != 0) {
            sb.append(" metric ").append(metric);
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return text();
    }
}
