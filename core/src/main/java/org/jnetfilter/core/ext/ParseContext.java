package org.jnetfilter.core.ext;

import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * What an extension parser may see of the command being parsed. {@link #ip()} is the rule's fixed part
 * as parsed so far (during option parsing) and complete (in {@link ExtensionParser#finish}).
 */
public interface ParseContext {
    Family family();

    /** The table the rule goes into ("filter", "nat", ...). */
    String table();

    IpSpec ip();

    /**
     * The next command-line word, consumed, for options that take more than one argument (as
     * {@code --tcp-flags MASK COMP} reads argv[optind++]); null when there is none.
     */
    String nextWord();

    /** The next command-line word without consuming it; null when there is none. */
    String peekWord();

    /**
     * A line iptables prints on stderr while parsing and then goes on (xtables' "Warning: ..." and the
     * like); printed before anything else the command prints.
     */
    default void warn(String line) {
    }

    /** The program name for messages: "iptables" or "ip6tables". */
    default String program() {
        return family().program();
    }
}
