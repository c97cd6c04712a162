package org.jnetfilter.core.ext;

/**
 * An interface name as xtables_parse_interface reads it for {@code -i}, {@code -o} and physdev's
 * options: at most IFNAMSIZ - 1 characters, and a warning (the rule is still made) for the characters
 * the kernel never gives an interface.
 */
public final class InterfaceNames {
    // Linux: IFNAMSIZ = 16, the terminating NUL included
    public static final int IFNAMSIZ = 16;

    private InterfaceNames() {
    }

    /** {@code name} itself once checked; warns through {@code ctx} of '/' and ' ' (dev_valid_name refuses them). */
    public static String parse(String name, ParseContext ctx) {
        if (name.length() >= IFNAMSIZ) {
            throw XtablesException.parameter("interface name `" + name + "' must be shorter than IFNAMSIZ ("
                    + (IFNAMSIZ - 1) + ")");
        }
        if (name.indexOf('/') >= 0 || name.indexOf(' ') >= 0) {
            ctx.warn("Warning: weird character in interface `" + name
                    + "' ('/' and ' ' are not allowed by the kernel).");
        }
        return name;
    }
}
