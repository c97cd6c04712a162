package org.jnetfilter.core.ext;

/**
 * A user's mistake, reported as iptables reports it. {@link Kind#PARAMETER} and {@link Kind#OTHER} come
 * from xtables_error ({@code "iptables v1.8.9 (legacy): <message>"}); {@link Kind#KERNEL} is what libiptc
 * prints when the kernel refuses a table ({@code "iptables: <message>."}).
 */
public final class XtablesException extends RuntimeException {

    /** Exit codes from xtables.h enum xtables_exittype. */
    public static final int OTHER_PROBLEM = 1;
    public static final int PARAMETER_PROBLEM = 2;
    public static final int VERSION_PROBLEM = 3;
    public static final int RESOURCE_PROBLEM = 4;

    public enum Kind {
        /** "prog vX (legacy): msg", plus the "Try `prog -h'" line when the status is 2. */
        PARAMETER,
        /** "prog: msg." as libiptc errors are printed after the command failed in the kernel. */
        KERNEL,
        /** Printed exactly as given, nothing added. */
        RAW
    }

    private final int status;
    private final Kind kind;

    public XtablesException(int status, Kind kind, String message) {
        super(message, null, false, false);
        this.status = status;
        this.kind = kind;
    }

    /** xtables_error(PARAMETER_PROBLEM, ...): exit 2 with the "Try ..." hint. */
    public static XtablesException parameter(String message) {
        return new XtablesException(PARAMETER_PROBLEM, Kind.PARAMETER, message);
    }

    /** xtables_error(OTHER_PROBLEM, ...): exit 1. */
    public static XtablesException other(String message) {
        return new XtablesException(OTHER_PROBLEM, Kind.PARAMETER, message);
    }

    /** A refusal by the kernel or libiptc: "iptables: message." exit 1. */
    public static XtablesException kernel(String message) {
        return new XtablesException(OTHER_PROBLEM, Kind.KERNEL, message);
    }

    /** The kernel's EINVAL on a table replace, which is how a bad target/match check surfaces. */
    public static XtablesException invalidArgument() {
        return kernel("Invalid argument. Run `dmesg' for more information");
    }

    public int status() {
        return status;
    }

    public Kind kind() {
        return kind;
    }
}
