package org.jnetfilter.core.ext.matches;

import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.ipset.IpSet;
import org.jnetfilter.core.ipset.Ipsets;
import org.jnetfilter.core.rules.Family;

/**
 * Set references of the set match and the SET target (libxt_set get_set_byname and parse_dirs): a set is
 * looked up by name in this JVM's namespace of sets ({@link Ipsets#current()}), must exist and be of the
 * rule's family, and is given with its directions, {@code src,dst,...}.
 */
public final class IpsetNames {
    // Linux: IPSET_MAXNAMELEN = 32; IPSET_DIM_MAX = 6
    static final int MAX_NAME = 31;
    static final int MAX_DIM = 6;

    private IpsetNames() {
    }

    /** A set with its directions: {@code dim} dimensions, bit i of {@code srcBits} for "src" at dimension i. */
    public record Reference(String name, int dim, int srcBits) {
        /** The directions as iptables prints them: {@code src,dst}. */
        public String flags() {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < dim; i++) {
                sb.append(i == 0 ? "" : ",").append((srcBits >> i & 1) != 0 ? "src" : "dst");
            }
            return sb.toString();
        }
    }

    /**
     * Reads the set name (the option's argument) and its directions word, as {@code --match-set NAME FLAGS}
     * reads argv[optind++]; checks the set as libxt_set does, with its messages.
     */
    public static Reference reference(String option, String name, ParseContext ctx) {
        String flags = ctx.peekWord();
        if (name == null || flags == null || flags.startsWith("-") || flags.startsWith("!")) {
            throw XtablesException.parameter("--" + option + " requires two args.");
        }
        ctx.nextWord();
        if (name.length() > MAX_NAME) {
            throw XtablesException.parameter("setname `" + name + "' too long, max " + MAX_NAME + " characters.");
        }
        IpSet set = Ipsets.current().get(name);
        if (set == null) {
            throw missing(name);
        }
        if (set.type().text().startsWith("hash:") && set.family() != ctx.family()) {
            throw XtablesException.parameter("The protocol family of set " + name + " is "
                    + (set.family() == Family.IPV4 ? "IPv4" : "IPv6") + ", which is not applicable.\n");
        }
        return parseDirections(name, flags);
    }

    /** Linux: libxt_set parse_dirs. */
    static Reference parseDirections(String name, String flags) {
        String[] parts = flags.split(",", -1);
        int src = 0;
        int dim = 0;
        for (String p : parts) {
            if (dim >= MAX_DIM) {
                throw XtablesException.parameter("Can't be more src/dst options than " + MAX_DIM + ".");
            }
            if (p.equals("src")) {
                src |= 1 << dim;
            } else if (!p.equals("dst")) {
                throw XtablesException.parameter("You must spefify (the comma separated list of) 'src' or 'dst'.");
            }
            dim++;
        }
        return new Reference(name, dim, src);
    }

    static XtablesException missing(String name) {
        return XtablesException.parameter("Set " + name + " doesn't exist.\n");
    }
}
