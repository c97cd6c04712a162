package org.jnetfilter.core.conntrack;

/**
 * How a packet relates to its connection: the kernel's {@code enum ip_conntrack_info}
 * (include/uapi/linux/netfilter/nf_conntrack_common.h), kept with the packet beside its entry.
 */
public final class CtInfo {
    // Linux: IP_CT_ESTABLISHED 0, IP_CT_RELATED 1, IP_CT_NEW 2, IP_CT_IS_REPLY 3,
    // IP_CT_ESTABLISHED_REPLY 3, IP_CT_RELATED_REPLY 4, IP_CT_UNTRACKED 7
    public static final int ESTABLISHED = 0;
    public static final int RELATED = 1;
    public static final int NEW = 2;
    public static final int IS_REPLY = 3;
    public static final int ESTABLISHED_REPLY = 3;
    public static final int RELATED_REPLY = 4;
    public static final int UNTRACKED = 7;

    private CtInfo() {
    }

    /** CTINFO2DIR: 0 for the original direction, 1 for the reply direction. */
    public static int direction(int ctinfo) {
        return ctinfo >= IS_REPLY ? 1 : 0;
    }
}
