package org.jnetfilter.core.netfilter;

/**
 * The kernel's standard hook priorities (include/uapi/linux/netfilter_ipv4.h {@code nf_ip_hook_priorities},
 * the same values in netfilter_ipv6.h): lower runs first.
 */
public final class Priorities {
    // Linux: NF_IP_PRI_FIRST = INT_MIN
    public static final int FIRST = Integer.MIN_VALUE;
    // Linux: NF_IP_PRI_RAW_BEFORE_DEFRAG = -450
    public static final int RAW_BEFORE_DEFRAG = -450;
    // Linux: NF_IP_PRI_CONNTRACK_DEFRAG = -400
    public static final int CONNTRACK_DEFRAG = -400;
    // Linux: NF_IP_PRI_RAW = -300
    public static final int RAW = -300;
    // Linux: NF_IP_PRI_SELINUX_FIRST = -225
    public static final int SELINUX_FIRST = -225;
    // Linux: NF_IP_PRI_CONNTRACK = -200
    public static final int CONNTRACK = -200;
    // Linux: NF_IP_PRI_MANGLE = -150
    public static final int MANGLE = -150;
    // Linux: NF_IP_PRI_NAT_DST = -100
    public static final int NAT_DST = -100;
    // Linux: NF_IP_PRI_FILTER = 0
    public static final int FILTER = 0;
    // Linux: NF_IP_PRI_SECURITY = 50
    public static final int SECURITY = 50;
    // Linux: NF_IP_PRI_NAT_SRC = 100
    public static final int NAT_SRC = 100;
    // Linux: NF_IP_PRI_SELINUX_LAST = 225
    public static final int SELINUX_LAST = 225;
    // Linux: NF_IP_PRI_CONNTRACK_HELPER = 300
    public static final int CONNTRACK_HELPER = 300;
    // Linux: NF_IP_PRI_CONNTRACK_CONFIRM = INT_MAX
    public static final int CONNTRACK_CONFIRM = Integer.MAX_VALUE;
    // Linux: NF_IP_PRI_LAST = INT_MAX
    public static final int LAST = Integer.MAX_VALUE;

    private Priorities() {
    }
}
