package org.jnetfilter.core.conntrack;

/**
 * The layer-4 protocols conntrack knows (nf_conntrack_l4proto.h, the in-tree trackers), their numbers and
 * names as conntrack-tools prints them, and the ICMP query/answer pairs a tuple inverts through.
 */
public final class Protocol {
    public static final int ICMP = 1;
    public static final int TCP = 6;
    public static final int UDP = 17;
    public static final int DCCP = 33;
    public static final int GRE = 47;
    public static final int ICMPV6 = 58;
    public static final int SCTP = 132;
    public static final int UDPLITE = 136;

    private Protocol() {
    }

    /** libnetfilter_conntrack's proto2str: the first column of {@code conntrack -L}. */
    public static String name(int protocol) {
        return switch (protocol) {
            case TCP -> "tcp";
            case UDP -> "udp";
            case UDPLITE -> "udplite";
            case ICMP -> "icmp";
            case ICMPV6 -> "icmpv6";
            case SCTP -> "sctp";
            case GRE -> "gre";
            case DCCP -> "dccp";
            default -> "unknown";
        };
    }

    /**
     * Whether the tracker keeps ports in the tuple (the kernel's src.u.all/dst.u.all as ports). Not DCCP: its
     * tracker is gone from recent kernels (this machine's 6.18 has none), so DCCP is tracked generically.
     */
    public static boolean hasPorts(int protocol) {
        return protocol == TCP || protocol == UDP || protocol == UDPLITE || protocol == SCTP;
    }

    /**
     * Linux: nf_conntrack_proto_icmp.c invmap: echo 8/0, timestamp 13/14, information 15/16, address mask
     * 17/18; -1 for types that are no query or answer (no connection can be made of them).
     */
    public static int icmpInverse(int type) {
        return switch (type) {
            case 8 -> 0;
            case 0 -> 8;
            case 13 -> 14;
            case 14 -> 13;
            case 15 -> 16;
            case 16 -> 15;
            case 17 -> 18;
            case 18 -> 17;
            default -> -1;
        };
    }

    /** Linux: nf_conntrack_proto_icmpv6.c invmap: echo 128/129, node information 139/140. */
    public static int icmpv6Inverse(int type) {
        return switch (type) {
            case 128 -> 129;
            case 129 -> 128;
            case 139 -> 140;
            case 140 -> 139;
            default -> -1;
        };
    }

    /** Linux: icmp valid_new: the ICMP types that may start a connection (the queries). */
    static boolean icmpStartsConnection(int type) {
        return type == 8 || type == 13 || type == 15 || type == 17;
    }

    /** Linux: icmpv6 valid_new: echo request and node information query. */
    static boolean icmpv6StartsConnection(int type) {
        return type == 128 || type == 139;
    }

    /** Linux: ICMP error types icmp_error hands to nf_conntrack_inet_error. */
    static boolean icmpIsError(int type) {
        return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    }
}
