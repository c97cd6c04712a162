package org.jnetfilter.core.ext;

/**
 * Base for extension parsers with xtables' common option checks and their exact messages
 * (xtables.c xtables_option_parse and xtables_options_fcheck).
 */
public abstract class OptionParser implements ExtensionParser {
    protected final String extName;
    /**
     * The options given so far, by name: a few per rule, so a short array searched in order (a hash set per
     * extension parser was a tenth of what a 160k-rule restore allocates).
     */
    private String[] seen;
    private int seenCount;

    protected OptionParser(String extName) {
        this.extName = extName;
    }

    /** Whether {@code --name} has been given. */
    protected final boolean seen(String name) {
        for (int i = 0; i < seenCount; i++) {
            if (seen[i].equals(name)) {
                return true;
            }
        }
        return false;
    }

    /** Adds {@code name} to the options seen; false when it was there already. */
    private boolean add(String name) {
        if (seen(name)) {
            return false;
        }
        if (seen == null) {
            seen = new String[4];
        } else if (seenCount == seen.length) {
            seen = java.util.Arrays.copyOf(seen, seenCount * 2);
        }
        seen[seenCount++] = name;
        return true;
    }

    /** Records {@code --name}; "can only be used once" when repeated. */
    protected final void once(OptionSpec option) {
        if (!add(option.name())) {
            throw XtablesException.parameter(
                    extName + ": option \"--" + option.name() + "\" can only be used once.\n");
        }
    }

    /** Records {@code --name} without limiting repetition. */
    protected final void mark(OptionSpec option) {
        add(option.name());
    }

    /** "cannot be inverted" when a '!' stands before an option that has no negation. */
    protected final void noInvert(OptionSpec option, boolean invert) {
        if (invert) {
            throw XtablesException.parameter(
                    extName + ": option \"--" + option.name() + "\" cannot be inverted.\n");
        }
    }

    /** once() and noInvert() together: the usual case. */
    protected final void plain(OptionSpec option, boolean invert) {
        noInvert(option, invert);
        once(option);
    }

    protected final void mandatory(String name) {
        if (!seen(name)) {
            throw XtablesException.parameter(extName + ": option \"--" + name + "\" must be specified\n");
        }
    }

    protected final void exclusive(String a, String b) {
        if (seen(a) && seen(b)) {
            throw XtablesException.parameter(
                    extName + ": option \"--" + b + "\" cannot be used together with \"--" + a + "\".\n");
        }
    }

    /** xtopt_parse_mint: an unsigned number in [min, max], decimal, 0x hex or 0 octal as strtoul reads it. */
    protected final long uint(OptionSpec option, String arg, long min, long max) {
        long v = Numbers.parseUnsigned(arg, min, max);
        if (v < 0) {
            throw XtablesException.parameter(extName + ": bad value for option \"--" + option.name()
                    + "\", or out of range (" + Long.toUnsignedString(min) + "-" + Long.toUnsignedString(max) + ").\n");
        }
        return v;
    }
}
