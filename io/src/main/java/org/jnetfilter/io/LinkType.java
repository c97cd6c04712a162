package org.jnetfilter.io;

/**
 * Link-layer header types (LINKTYPE_* from tcpdump.org/linktypes.html) that jnetfilter's
 * datapath decodes. Readers pass any other value through unchanged; it is the consumer's
 * business to refuse what it cannot decode.
 */
public final class LinkType {

    /** LINKTYPE_ETHERNET: 14-byte Ethernet II header. */
    public static final int ETHERNET = 1;
    /** LINKTYPE_RAW: raw IPv4 or IPv6, version taken from the first nibble. */
    public static final int RAW = 101;
    /** LINKTYPE_LINUX_SLL: Linux "cooked" capture v1, 16-byte header (tcpdump -i any before 4.99). */
    public static final int LINUX_SLL = 113;
    /** LINKTYPE_IPV4: raw IPv4 only. */
    public static final int IPV4 = 228;
    /** LINKTYPE_IPV6: raw IPv6 only. */
    public static final int IPV6 = 229;
    /**
     * LINKTYPE_NFLOG: an nfnetlink_log message without its netlink header (nfgenmsg, then attributes whose
     * length and type are in the capturing host's byte order), what {@code tcpdump -i nflog:N} captures.
     */
    public static final int NFLOG = 239;

    private LinkType() {
    }

    /** The LINKTYPE_ name without its prefix, or the number for types not listed here. */
    public static String name(int linkType) {
        return switch (linkType) {
            case ETHERNET -> "ETHERNET";
            case RAW -> "RAW";
            case LINUX_SLL -> "LINUX_SLL";
            case IPV4 -> "IPV4";
            case IPV6 -> "IPV6";
            case NFLOG -> "NFLOG";
            default -> Integer.toString(linkType);
        };
    }
}
