package org.jnetfilter.core.ext;

/**
 * Parses one occurrence of an extension in one rule: xtables' {@code x6_parse} and {@code x6_fcheck}.
 * Mutable, single use, single thread.
 */
public interface ExtensionParser {

    /**
     * One option of this extension, in command-line order.
     *
     * @param invert a '!' stood before the option
     * @param arg    the option's argument, or null when it takes none (or an optional one was not given)
     */
    void parse(OptionSpec option, boolean invert, String arg, ParseContext ctx);

    /** After the whole command line: the final check, and the immutable parsed form. */
    ExtensionData finish(ParseContext ctx);

    /** The parser of an extension that takes no options: it only ever yields {@code data}. */
    static ExtensionParser noOptions(String extension, java.util.function.Supplier<ExtensionData> data) {
        return new ExtensionParser() {
            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext ctx) {
                throw new IllegalStateException(extension + " has no options: " + option);
            }

            @Override
            public ExtensionData finish(ParseContext ctx) {
                return data.get();
            }
        };
    }
}
