package org.jnetfilter.core.ext;

/**
 * One long option of an extension as getopt_long sees it. Argument handling is getopt's: a required
 * argument may be the next word, an optional one only attached ({@code --opt=value}).
 */
public record OptionSpec(String name, HasArg hasArg) {

    public enum HasArg { NONE, REQUIRED, OPTIONAL }

    public static OptionSpec flag(String name) {
        return new OptionSpec(name, HasArg.NONE);
    }

    public static OptionSpec withArg(String name) {
        return new OptionSpec(name, HasArg.REQUIRED);
    }

    public static OptionSpec optionalArg(String name) {
        return new OptionSpec(name, HasArg.OPTIONAL);
    }
}
