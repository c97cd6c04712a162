package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.conntrack.Tuple;
import org.jnetfilter.core.nat.Jhash;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m cluster} (libxt_cluster, xt_cluster.c): whether this node handles the packet's connection,
 * by a hash of the connection over the number of cluster nodes.
 *
 * <p>Packet semantics, xt_cluster_mt: a packet without a conntrack entry (untracked, or no conntrack) never
 * matches, inverted or not. Otherwise the node is {@code reciprocal_scale(hash, total nodes)}, the hash taken
 * over the original direction's source address only: IPv4 {@code jhash_1word(saddr, seed)}, IPv6
 * {@code jhash2(saddr, NF_CT_TUPLE_L3SIZE / sizeof(u32), seed)}, and since NF_CT_TUPLE_L3SIZE counts the
 * address's words (4), not its bytes, that hashes the first 32 bits of the IPv6 address only (checked on Linux
 * 6.18: every source in one /32 lands on the same node); the address word is read as the little-endian host
 * (x86-64) reads the network-order bytes. The packet matches when its node's bit is in the node mask, the result inverted by
 * {@code !}. Before that the match turns a {@code PACKET_MULTICAST} packet whose destination is no multicast
 * address into {@code PACKET_HOST} (nodes that answer ARP with a multicast MAC receive unicast packets as
 * link-layer multicast). Connections have no master here (no helpers create expectations), so the
 * {@code ct->master} case does not arise. Packet thread; allocates nothing.
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
        public boolean matches(PacketContext pkt) {
            if (pkt.packetType() == PacketContext.PACKET_MULTICAST && !multicastDestination(pkt)) {
                pkt.packetType(PacketContext.PACKET_HOST);
            }
            Connection ct = pkt.conntrack();
            // Linux 6.18 (difftest seed 20261201 ruleset 26, then asked in a namespace with ten seeds, every mask and
            // its inversion): no entry, or CT's template (raw, before conntrack), matches nothing, inverted or not
            if (ct == null || ct.isTemplate()) {
                return false;
            }
            int node = Jhash.reciprocalScale(hash(ct, (int) hashSeed), totalNodes);
            return ((1L << node & nodeMask) != 0) != inverted;
        }

        /** The node's hash of a connection: its original source address (a CT template's is all zero). */
        static int hash(Connection ct, int seed) {
            Tuple t = ct.original();
            if (t.family() == Family.IPV4) {
                return Jhash.jhash1(Integer.reverseBytes((int) t.sourceLo()), seed);
            }
            // Linux: NF_CT_TUPLE_L3SIZE / sizeof(__u32) == 1: the first word of the address
            return Jhash.jhash1(Integer.reverseBytes((int) (t.sourceHi() >>> 32)), seed);
        }

        /** ipv4_is_multicast (224.0.0.0/4) or, for IPv6, ff00::/8. */
        private static boolean multicastDestination(PacketContext pkt) {
            if (pkt.family() == Family.IPV4) {
                return (pkt.destinationLo() & 0xF0000000L) == 0xE0000000L;
            }
            return (pkt.destinationHi() >>> 56) == 0xFF;
        }

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
