package org.jnetfilter.core.ext.targets;

import java.util.EnumSet;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j CLUSTERIP [--new --hashmode MODE --clustermac MAC --total-nodes N --local-node N
 * [--hash-init N]]} (libipt_CLUSTERIP; IPv4 only). iptables 1.8.9 still parses it, but Linux 6.3 removed
 * ipt_CLUSTERIP: libxtables warns when it loads the extension that the kernel lacks it, and the kernel
 * refuses every rule (ENOENT). jnetfilter is such a kernel, so no rule with it reaches the packet path.
 */
public final class ClusteripTarget extends TargetExtension {
    static final OptionSpec NEW = OptionSpec.flag("new");
    static final OptionSpec HASHMODE = OptionSpec.withArg("hashmode");
    static final OptionSpec CLUSTERMAC = OptionSpec.withArg("clustermac");
    static final OptionSpec TOTAL_NODES = OptionSpec.withArg("total-nodes");
    static final OptionSpec LOCAL_NODE = OptionSpec.withArg("local-node");
    static final OptionSpec HASH_INIT = OptionSpec.withArg("hash-init");
    // Linux: CLUSTERIP_MAX_NODES = 16
    static final int MAX_NODES = 16;
    static final List<String> HASHMODES = List.of("sourceip", "sourceip-sourceport", "sourceip-sourceport-destport");

    public ClusteripTarget() {
        super("CLUSTERIP", EnumSet.of(Family.IPV4),
                List.of(NEW, HASHMODE, CLUSTERMAC, TOTAL_NODES, LOCAL_NODE, HASH_INIT));
    }

    /** @param isNew whether --new came (the others are then set); {@code hashmode} indexes HASHMODES */
    public record Data(boolean isNew, int hashmode, long clustermac, int totalNodes, int localNode, long hashInit)
            implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (isNew) {
                out.append(" --new --hashmode ").append(HASHMODES.get(hashmode)).append(" --clustermac ")
                        .append(mac()).append(" --total-nodes ").append(totalNodes).append(" --local-node ")
                        .append(localNode).append(" --hash-init ").append(hashInit);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" CLUSTERIP");
            if (isNew) {
                out.append(" hashmode=").append(HASHMODES.get(hashmode)).append(" clustermac=").append(mac())
                        .append(" total_nodes=").append(totalNodes).append(" local_node=").append(localNode)
                        .append(" hash_init=").append(hashInit);
            }
        }

        private String mac() {
            StringBuilder sb = new StringBuilder();
            for (int i = 5; i >= 0; i--) {
                sb.append(String.format("%02X", (clustermac >>> (8 * i)) & 0xff)).append(i > 0 ? ":" : "");
            }
            return sb.toString();
        }

        /** The kernel has no CLUSTERIP target (removed in Linux 6.3): the table replace fails with ENOENT. */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            throw XtablesException.kernel("No chain/target/match by that name");
        }
    }

    /** libxtables asks the kernel for the target's revision when it loads it, and the kernel has none. */
    @Override
    public String loadWarning() {
        return "Warning: Extension CLUSTERIP revision 0 not supported, missing kernel module?";
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int hashmode;
            private long clustermac;
            private int totalNodes;
            private int localNode;
            private long hashInit;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == HASHMODE) {
                    hashmode = HASHMODES.indexOf(arg);
                    if (hashmode < 0) {
                        throw XtablesException.parameter("Unknown hashmode \"" + arg + "\"");
                    }
                } else if (option == CLUSTERMAC) {
                    clustermac = etherMac(arg);
                    if ((clustermac >>> 40 & 0x01) == 0) {
                        throw XtablesException.parameter("MAC has to be a multicast ethernet address");
                    }
                } else if (option == TOTAL_NODES) {
                    totalNodes = (int) uint(option, arg, 0, MAX_NODES);
                } else if (option == LOCAL_NODE) {
                    localNode = (int) uint(option, arg, 0, MAX_NODES);
                } else if (option == HASH_INIT) {
                    hashInit = uint(option, arg, 0, 0xFFFFFFFFL);
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                boolean any = seen("new") || seen("hashmode") || seen("clustermac") || seen("total-nodes")
                        || seen("local-node") || seen("hash-init");
                boolean full = seen("new") && seen("hashmode") && seen("clustermac") && seen("total-nodes")
                        && seen("local-node");
                if (any && !full) {
                    throw XtablesException.parameter("CLUSTERIP target: Invalid parameter combination");
                }
                return new Data(full, hashmode, clustermac, totalNodes, localNode, hashInit);
            }
        };
    }

    /** xtopt_parse_ethermac: six hex numbers of at most two digits, as strtoul(.., 16) reads each. */
    static long etherMac(String arg) {
        long mac = 0;
        int at = 0;
        for (int i = 0; i < 6; i++) {
            int start = at;
            while (at < arg.length() && Character.isWhitespace(arg.charAt(at))) {
                at++;
            }
            int digits = at;
            long v = 0;
            while (at < arg.length() && Character.digit(arg.charAt(at), 16) >= 0 && at - digits < 9) {
                v = v * 16 + Character.digit(arg.charAt(at), 16);
                at++;
            }
            char sep = at < arg.length() ? arg.charAt(at) : '\0';
            if (sep != (i < 5 ? ':' : '\0') || at - start > 2) {
                throw XtablesException.parameter("Invalid MAC address specified.");
            }
            mac = mac << 8 | (v & 0xff);
            at++;
        }
        return mac;
    }
}
