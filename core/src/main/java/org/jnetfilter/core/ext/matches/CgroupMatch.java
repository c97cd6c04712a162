package org.jnetfilter.core.ext.matches;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.SaveText;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m cgroup} (libxt_cgroup revision 2, xt_cgroup): the sending socket's cgroup v2 path or net_cls
 * class id. A null path / negative class id means not given.
 */
public final class CgroupMatch extends MatchExtension {
    static final OptionSpec PATH = OptionSpec.withArg("path");
    static final OptionSpec CGROUP = OptionSpec.withArg("cgroup");

    // Linux: XT_CGROUP_PATH_MAX = 512
    static final int PATH_MAX = 511;
    /** Where the cgroup v2 hierarchy is mounted; the kernel resolves --path from its root. */
    static final Path CGROUP2_ROOT = Path.of("/sys/fs/cgroup");

    public CgroupMatch() {
        super("cgroup", List.of(PATH, CGROUP));
    }

    public record Data(String path, boolean invertPath, long classid, boolean invertClassid)
            implements ExtensionData {
        /**
         * xt_cgroup reads the cgroup of the packet's socket; without a socket (jnetfilter has none) the
         * match is false whatever is negated.
         */
        @Override
        public boolean matches(org.jnetfilter.core.netfilter.PacketContext pkt) {
            // Linux: cgroup_mt_v1/v2: if (!sk || !sk_fullsock(sk) || ...) return false
            return false;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (path != null) {
                out.append(invertPath ? " ! --path" : " --path");
                SaveText.appendQuoted(out, path);
            }
            if (classid >= 0) {
                out.append(invertClassid ? " ! --cgroup " : " --cgroup ").append(classid);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            if (path != null) {
                out.append(" cgroup ").append(invertPath ? "! " : "").append(path);
            }
            if (classid >= 0) {
                out.append(" cgroup ").append(invertClassid ? "! " : "").append(classid);
            }
        }

        /**
         * cgroup_mt_check_v2: exactly one of path and class id, the path must name an existing cgroup; the match
         * exists for INPUT, OUTPUT and POSTROUTING.
         */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if ((path != null) == (classid >= 0)) {
                throw XtablesException.invalidArgument();
            }
            if (path != null && !Files.isDirectory(CGROUP2_ROOT.resolve(path.replaceFirst("^/+", "")))) {
                throw XtablesException.invalidArgument();
            }
            if ((hookMask & ~(Hook.INPUT.bit() | Hook.OUTPUT.bit() | Hook.POSTROUTING.bit())) != 0) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private String path;
            private boolean invertPath;
            private long classid = -1;
            private boolean invertClassid;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                once(option);
                if (option == PATH) {
                    if (arg.length() > PATH_MAX) {
                        throw XtablesException.parameter("cgroup: option \"--path\" is too long (max: " + PATH_MAX
                                + ")\n");
                    }
                    path = arg;
                    invertPath = inv;
                } else {
                    long v = Numbers.parseUnsigned(arg, 0, 0xFFFFFFFFL);
                    if (v < 0) {
                        throw XtablesException.parameter("cgroup: bad value for option \"--cgroup\", or out of range "
                                + "(0-4294967295).\n");
                    }
                    classid = v;
                    invertClassid = inv;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(path, invertPath, classid, invertClassid);
            }
        };
    }
}
