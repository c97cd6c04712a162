package org.jnetfilter.core.host;

/**
 * The module parameters of the kernel modules whose behaviour they change, as {@code modprobe MODULE name=value ...}
 * gives them (or a write to {@code /sys/module/MODULE/parameters/NAME}, where the parameter is writable at run time).
 * Modelled: nf_conntrack_sip's
 *
 * <pre>
 *   parameter               type   default  effect
 *   sip_timeout             uint   3600     the SIP connection's timeout (seconds) after each message
 *   sip_direct_signalling   int    1        a REGISTER's Contact is expected from the registrar only (0: any)
 *   sip_direct_media        int    1        media expected only for the sender's own address, from its peer only
 *   sip_external_media      int    0        with sip_direct_media=0: no media expected when the media address is
 *                                           routed by the device the signalling leaves by
 *   ports                   ushort array 5060   read only here: only 5060 is accepted
 * </pre>
 *
 * Values are read as the kernel's param_set_uint/param_set_int read them (kstrtouint/kstrtoint, base 0: {@code 0x}
 * hex, a leading {@code 0} octal, one trailing newline); a bad value fails as the module load would. An unknown
 * parameter is ignored with the kernel's warning, as load_module does. Read on the packet thread (plain volatile
 * fields, no allocation); written by the configuration.
 */
public final class ModuleParameters {
    // Linux: SIP_TIMEOUT and the module_param defaults of nf_conntrack_sip.c
    private volatile long sipTimeout = 3600;
    private volatile boolean sipDirectSignalling = true;
    private volatile boolean sipDirectMedia = true;
    private volatile boolean sipExternalMedia;

    ModuleParameters() {
    }

    /** sip_timeout, in seconds. */
    public long sipTimeout() {
        return sipTimeout;
    }

    public boolean sipDirectSignalling() {
        return sipDirectSignalling;
    }

    public boolean sipDirectMedia() {
        return sipDirectMedia;
    }

    public boolean sipExternalMedia() {
        return sipExternalMedia;
    }

    /**
     * {@code modprobe MODULE ARGS...}: each {@code name=value} set in order. Returns the kernel's warnings for the
     * parameters it ignores; a value the kernel refuses throws with modprobe's error and the kernel's log line, no
     * parameter of the line being set (the module would not load).
     */
    java.util.List<String> load(String module, String[] args) {
        if (!module.equals("nf_conntrack_sip")) {
            throw new IllegalArgumentException("modprobe: only br_netfilter and nf_conntrack_sip are modelled");
        }
        java.util.List<String> warnings = new java.util.ArrayList<>();
        long timeout = sipTimeout;
        boolean signalling = sipDirectSignalling;
        boolean media = sipDirectMedia;
        boolean external = sipExternalMedia;
        for (String arg : args) {
            int eq = arg.indexOf('=');
            String name = eq < 0 ? arg : arg.substring(0, eq);
            String value = eq < 0 ? null : arg.substring(eq + 1);
            switch (name.replace('-', '_')) {
                case "sip_timeout" -> timeout = kstrtouint(module, name, value);
                case "sip_direct_signalling" -> signalling = kstrtoint(module, name, value) != 0;
                case "sip_direct_media" -> media = kstrtoint(module, name, value) != 0;
                case "sip_external_media" -> external = kstrtoint(module, name, value) != 0;
                case "ports" -> {
                    // Linux: an array of ushort, comma-separated; only the default is modelled
                    boolean only5060 = true;
                    for (String port : (value == null ? "" : value).split(",", -1)) {
                        only5060 &= kstrtoushort(module, name, port) == 5060;
                    }
                    if (!only5060 || value.indexOf(',') >= 0) {
                        throw new IllegalArgumentException("modprobe nf_conntrack_sip: ports other than 5060 "
                                + "(helpers sip-N) are not modelled");
                    }
                }
                default -> warnings.add(module + ": unknown parameter '" + name + "' ignored");
            }
        }
        sipTimeout = timeout;
        sipDirectSignalling = signalling;
        sipDirectMedia = media;
        sipExternalMedia = external;
        return warnings;
    }

    private static final long ERANGE = -34;
    private static final long EINVAL = -22;

    private static long kstrtouint(String module, String name, String value) {
        long v = value == null ? EINVAL : kstrtoull(value);
        if (v >= 0 && v > 0xFFFFFFFFL) {
            v = ERANGE;
        }
        return check(module, name, value, v);
    }

    private static int kstrtoushort(String module, String name, String value) {
        long v = kstrtoull(value);
        if (v >= 0 && v > 0xFFFF) {
            v = ERANGE;
        }
        return (int) check(module, name, value, v);
    }

    private static long kstrtoint(String module, String name, String value) {
        if (value == null) {
            return check(module, name, null, EINVAL);
        }
        // Linux: kstrtoll: a '-' then kstrtoull of the rest; the result must fit an int
        boolean negative = value.startsWith("-");
        long v = kstrtoull(negative ? value.substring(1) : value);
        if (v >= 0 && (negative ? v > 0x80000000L : v > Integer.MAX_VALUE)) {
            v = ERANGE;
        }
        return negative && v >= 0 ? -check(module, name, value, v) : check(module, name, value, v);
    }

    /** The value, or modprobe's failure for the error code {@code v} (negative). */
    private static long check(String module, String name, String value, long v) {
        if (v >= 0) {
            return v;
        }
        // Linux: parse_args logs "`VAL' invalid for parameter `NAME'", modprobe prints strerror of the error
        throw new IllegalArgumentException("modprobe: ERROR: could not insert '" + module + "': "
                + (v == ERANGE ? "Numerical result out of range" : "Invalid argument") + " (" + module + ": `"
                + (value == null ? "" : value) + "' invalid for parameter `" + name + "')");
    }

    /**
     * kstrtoull with base 0: an optional '+', {@code 0x} (followed by a hex digit) for hex, a leading {@code 0} for
     * octal, digits up to one optional trailing newline. A value, or EINVAL / ERANGE (negative).
     */
    static long kstrtoull(String s) {
        int i = 0;
        int n = s.length();
        if (i < n && s.charAt(i) == '+') {
            i++;
        }
        int base = 10;
        if (i < n && s.charAt(i) == '0') {
            if (i + 2 < n && (s.charAt(i + 1) | 0x20) == 'x' && hexDigit(s.charAt(i + 2)) >= 0) {
                base = 16;
                i += 2;
            } else {
                base = 8;
            }
        }
        long value = 0;
        int digits = 0;
        boolean overflow = false;
        for (; i < n; i++) {
            int d = hexDigit(s.charAt(i));
            if (d < 0 || d >= base) {
                break;
            }
            // Linux: _parse_integer: unsigned long long overflow sets KSTRTOX_OVERFLOW
            if (Long.compareUnsigned(value, Long.divideUnsigned(-1L - d, base)) > 0) {
                overflow = true;
            }
            value = value * base + d;
            digits++;
        }
        if (digits == 0) {
            return EINVAL;
        }
        if (overflow || value < 0) {
            return ERANGE;
        }
        if (i < n && s.charAt(i) == '\n') {
            i++;
        }
        return i == n ? value : EINVAL;
    }

    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        char l = (char) (c | 0x20);
        return l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
    }
}
