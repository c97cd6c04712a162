package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m cluster} (libxt_cluster, xt_cluster.c): whether this node handles the packet's connection,
 * by a hash of the connection over the number of cluster nodes.
 */
public final class ClusterMatch extends MatchExtension {
    static final OptionSpec TOTAL_NODES = OptionSpec.withArg("cluster-total-nodes");
    static final OptionSpec LOCAL_NODE = OptionSpec.withArg("cluster-local-node");
    static final OptionSpec LOCAL_NODEMASK = OptionSpec.withArg("cluster-local-nodemask");
    static final OptionSpec HASH_SEED = OptionSpec.withArg("cluster-hash-seed");

    // Linux: XT_CLUSTER_MAX_NODES = 32
    static final int MAX_NODES = 32;

    public ClusterMatch() {
        super("cluster", List.of(TOTAL_NODES, LOCAL_NODE, LOCAL_NODEMASK, HASH_SEED));
    }

    /** @param inverted XT_CLUSTER_F_INV */
    public record Data(int totalNodes, long nodeMask, long hashSeed, boolean inverted) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! " : " ").append("--cluster-local-nodemask ").append(hex8(nodeMask))
                    .append(" --cluster-total-nodes ").append(totalNodes)
                    .append(" --cluster-hash-seed ").append(hex8(hashSeed));
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" cluster ").append(inverted ? "!" : "").append("node_mask=").append(hex8(nodeMask))
                    .append(" total_nodes=").append(totalNodes).append(" hash_seed=").append(hex8(hashSeed));
        }

        private static String hex8(long v) {
            return String.format("0x%08x", v);
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int totalNodes;
            private long nodeMask;
            private long hashSeed;
            private boolean inverted;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                if (option == LOCAL_NODE || option == LOCAL_NODEMASK) {
                    once(option);
                    inverted = invert;
                    if (option == LOCAL_NODE) {
                        nodeMask = 1L << (uint(option, arg, 1, MAX_NODES) - 1);
                    } else {
                        nodeMask = uint(option, arg, 1, 0xFFFFFFFFL);
                    }
                } else if (option == TOTAL_NODES) {
                    plain(option, invert);
                    totalNodes = (int) uint(option, arg, 1, MAX_NODES);
                } else {
                    plain(option, invert);
                    hashSeed = uint(option, arg, 0, 0xFFFFFFFFL);
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                boolean total = seen("cluster-total-nodes");
                boolean seed = seen("cluster-hash-seed");
                if (total && seed && (seen("cluster-local-node") || seen("cluster-local-nodemask"))) {
                    if (nodeMask >= (1L << totalNodes)) {
                        throw XtablesException.parameter(seen("cluster-local-node")
                                ? "cluster match: `--cluster-local-node' must be <= `--cluster-total-nodes'"
                                : "cluster match: `--cluster-local-nodemask' too big for `--cluster-total-nodes'");
                    }
                } else if (!seen("cluster-local-node") && !seen("cluster-local-nodemask")) {
                    throw XtablesException.parameter(
                            "cluster match: `--cluster-local-node' or`--cluster-local-nodemask' is missing");
                }
                mandatory("cluster-total-nodes");
                exclusive("cluster-local-nodemask", "cluster-local-node");
                mandatory("cluster-hash-seed");
                return new Data(totalNodes, nodeMask, hashSeed, inverted);
            }
        };
    }
}
