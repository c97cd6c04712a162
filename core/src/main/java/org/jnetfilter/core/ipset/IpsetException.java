package org.jnetfilter.core.ipset;

/**
 * A user's mistake, reported as the ipset program reports it: the message it prints after
 * {@code "ipset v7.17: "} and the exit code (1 for errors the kernel answers, 2 for command-line
 * errors that also print "Try `ipset help' for more information.").
 */
public final class IpsetException extends RuntimeException {
    // ipset: enum ipset_err_type / exit codes of ipset(8)
    public static final int OTHER_PROBLEM = 1;
    public static final int PARAMETER_PROBLEM = 2;

    private final int exitCode;

    public IpsetException(int exitCode, String message) {
        super(message, null, false, false);
        this.exitCode = exitCode;
    }

    /** An error the kernel (or libipset's checks) answers: exit code 1. */
    public static IpsetException error(String message) {
        return new IpsetException(OTHER_PROBLEM, message);
    }

    /** A syntax error in an element or option: "Syntax error: ...", exit code 1. */
    public static IpsetException syntax(String message) {
        return new IpsetException(OTHER_PROBLEM, "Syntax error: " + message);
    }

    /** A command-line error: exit code 2, followed by the hint to try {@code ipset help}. */
    public static IpsetException parameter(String message) {
        return new IpsetException(PARAMETER_PROBLEM, message);
    }

    public int exitCode() {
        return exitCode;
    }
}
