package org.jnetfilter.core.rules;

/**
 * The fixed part of a rule, {@code struct ipt_ip} / {@code struct ip6t_ip6}: addresses, interfaces,
 * protocol, the fragment flag (IPv4 only) and which of them are negated.
 *
 * @param inIface  "" for any; a trailing '+' is a prefix match, as in the kernel
 * @param protocol 0 for all
 */
public record IpSpec(Family family, IpNet src, IpNet dst, String inIface, String outIface, int protocol,
                     boolean fragment, int invFlags) {
    // equals and hashCode written out, as IpNet's: a restore shares the fixed parts of most rules (Interned)
    @Override
    public boolean equals(Object o) {
        return o instanceof IpSpec s && family == s.family && protocol == s.protocol && fragment == s.fragment
                && invFlags == s.invFlags && src.equals(s.src) && dst.equals(s.dst) && inIface.equals(s.inIface)
                && outIface.equals(s.outIface);
    }

    @Override
    public int hashCode() {
        int h = family.ordinal();
        h = 31 * h + src.hashCode();
        h = 31 * h + dst.hashCode();
        h = 31 * h + inIface.hashCode();
        h = 31 * h + outIface.hashCode();
        h = 31 * h + protocol;
        h = 31 * h + Boolean.hashCode(fragment);
        return 31 * h + invFlags;
    }


    // Linux: IPT_INV_* from include/uapi/linux/netfilter_ipv4/ip_tables.h
    public static final int INV_VIA_IN = 0x01;
    public static final int INV_VIA_OUT = 0x02;
    public static final int INV_TOS = 0x04;
    public static final int INV_SRCIP = 0x08;
    public static final int INV_DSTIP = 0x10;
    public static final int INV_FRAG = 0x20;
    public static final int INV_PROTO = 0x40;

    private static final IpSpec ANY_IPV4 = new IpSpec(Family.IPV4, IpNet.any(Family.IPV4), IpNet.any(Family.IPV4),
            "", "", 0, false, 0);
    private static final IpSpec ANY_IPV6 = new IpSpec(Family.IPV6, IpNet.any(Family.IPV6), IpNet.any(Family.IPV6),
            "", "", 0, false, 0);

    /** Everything, of one family (a shared value: every command line starts from it). */
    public static IpSpec any(Family family) {
        return family == Family.IPV4 ? ANY_IPV4 : ANY_IPV6;
    }

    public boolean inverted(int flag) {
        return (invFlags & flag) != 0;
    }

    public IpSpec withSrc(IpNet v) {
        return new IpSpec(family, v, dst, inIface, outIface, protocol, fragment, invFlags);
    }

    public IpSpec withDst(IpNet v) {
        return new IpSpec(family, src, v, inIface, outIface, protocol, fragment, invFlags);
    }

    public IpSpec withInIface(String v) {
        return new IpSpec(family, src, dst, v, outIface, protocol, fragment, invFlags);
    }

    public IpSpec withOutIface(String v) {
        return new IpSpec(family, src, dst, inIface, v, protocol, fragment, invFlags);
    }

    public IpSpec withProtocol(int v) {
        return new IpSpec(family, src, dst, inIface, outIface, v, fragment, invFlags);
    }

    public IpSpec withFragment(boolean v) {
        return new IpSpec(family, src, dst, inIface, outIface, protocol, v, invFlags);
    }

    public IpSpec withInverted(int flag, boolean on) {
        int f = on ? invFlags | flag : invFlags & ~flag;
        return new IpSpec(family, src, dst, inIface, outIface, protocol, fragment, f);
    }
}
