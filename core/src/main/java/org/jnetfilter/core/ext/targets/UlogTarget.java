package org.jnetfilter.core.ext.targets;

import java.util.EnumSet;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.SaveText;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j ULOG [--ulog-nlgroup N] [--ulog-prefix P] [--ulog-cprange N] [--ulog-qthreshold N]}
 * (libipt_ULOG; IPv4 only). iptables 1.8.9 still parses it, but Linux 3.17 removed ipt_ULOG: libxtables
 * warns when it loads the extension that the kernel lacks it, and the kernel refuses every rule (ENOENT).
 * jnetfilter is such a kernel, so no rule with it reaches the packet path.
 */
public final class UlogTarget extends TargetExtension {
    static final OptionSpec NLGROUP = OptionSpec.withArg("ulog-nlgroup");
    static final OptionSpec PREFIX = OptionSpec.withArg("ulog-prefix");
    static final OptionSpec CPRANGE = OptionSpec.withArg("ulog-cprange");
    static final OptionSpec QTHRESHOLD = OptionSpec.withArg("ulog-qthreshold");
    // Linux: ULOG_DEFAULT_NLGROUP = 1, ULOG_DEFAULT_QTHRESHOLD = 1, ULOG_MAX_QLEN = 50, ULOG_PREFIX_LEN = 32
    static final int DEFAULT_NLGROUP = 1;
    static final long DEFAULT_QTHRESHOLD = 1;
    static final long MAX_QLEN = 50;
    static final int PREFIX_LEN = 32;

    public UlogTarget() {
        super("ULOG", EnumSet.of(Family.IPV4), List.of(NLGROUP, PREFIX, CPRANGE, QTHRESHOLD));
    }

    /** @param nlGroup the group number 1-32 (the kernel gets the bit 1 << (n - 1)) */
    public record Data(int nlGroup, String prefix, long copyRange, long qthreshold) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (!prefix.isEmpty()) {
                out.append(" --ulog-prefix");
                SaveText.appendQuoted(out, prefix);
            }
            if (nlGroup != DEFAULT_NLGROUP) {
                out.append(" --ulog-nlgroup ").append(nlGroup);
            }
            // Linux: libipt_ULOG prints the 64-bit fields through an unsigned int
            if (copyRange != 0) {
                out.append(" --ulog-cprange ").append(copyRange & 0xFFFFFFFFL);
            }
            if (qthreshold != DEFAULT_QTHRESHOLD) {
                out.append(" --ulog-qthreshold ").append(qthreshold & 0xFFFFFFFFL);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" ULOG copy_range ").append(copyRange & 0xFFFFFFFFL).append(" nlgroup ").append(nlGroup);
            if (!prefix.isEmpty()) {
                out.append(" prefix \"").append(prefix).append('"');
            }
            out.append(" queue_threshold ").append(qthreshold & 0xFFFFFFFFL);
        }

        /** The kernel has no ULOG target (removed in Linux 3.17): the table replace fails with ENOENT. */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            throw XtablesException.kernel("No chain/target/match by that name");
        }
    }

    /** libxtables asks the kernel for the target's revision when it loads it, and the kernel has none. */
    @Override
    public String loadWarning() {
        return "Warning: Extension ULOG revision 0 not supported, missing kernel module?";
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int nlGroup = DEFAULT_NLGROUP;
            private String prefix = "";
            private long copyRange;
            private long qthreshold = DEFAULT_QTHRESHOLD;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == NLGROUP) {
                    nlGroup = (int) uint(option, arg, 1, 32);
                } else if (option == PREFIX) {
                    if (arg.isEmpty()) {
                        throw XtablesException.parameter("Argument must have a minimum length of 1 characters\n");
                    }
                    if (arg.indexOf('\n') >= 0) {
                        throw XtablesException.parameter("Newlines not allowed in --ulog-prefix");
                    }
                    prefix = arg.length() < PREFIX_LEN ? arg : arg.substring(0, PREFIX_LEN - 1);
                } else if (option == CPRANGE) {
                    copyRange = uint(option, arg, 0, -1L);
                } else {
                    qthreshold = uint(option, arg, 1, MAX_QLEN);
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(nlGroup, prefix, copyRange, qthreshold);
            }
        };
    }
}
