package org.jnetfilter.core.ext.matches;

import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;

/**
 * Set references of the set match and the SET target (libxt_set get_set_byname). jnetfilter has no ipset yet,
 * so every set is missing and a rule naming one is refused as iptables refuses it when the set does not exist.
 */
final class IpsetNames {
    // Linux: IPSET_MAXNAMELEN = 32
    static final int MAX_NAME = 31;

    private IpsetNames() {
    }

    /** Reads the set name (the option's argument) and its flags word, as {@code --match-set NAME FLAGS}. */
    static void requireTwoArgs(String option, String name, ParseContext ctx) {
        String flags = ctx.peekWord();
        if (name == null || flags == null || flags.startsWith("-") || flags.startsWith("!")) {
            throw XtablesException.parameter("--" + option + " requires two args.");
        }
        ctx.nextWord();
        if (name.length() > MAX_NAME) {
            throw XtablesException.parameter("setname `" + name + "' too long, max " + MAX_NAME + " characters.");
        }
        throw missing(name);
    }

    static XtablesException missing(String name) {
        return XtablesException.parameter("Set " + name + " doesn't exist.\n");
    }
}
