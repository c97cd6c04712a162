package org.jnetfilter.core.ipset;

/**
 * The set types jnetfilter implements, with the revision the kernel of this machine lists for each and
 * the dimensions of their elements (what {@code --match-set NAME src,dst} needs at least).
 */
public enum SetType {
    // Linux 6.x: IPSET_TYPE_REV_MAX of each ip_set_*.c as `ipset list` prints it
    HASH_IP("hash:ip", 6, 1, false, Kind.HASH),
    HASH_NET("hash:net", 7, 1, true, Kind.HASH),
    HASH_IP_PORT("hash:ip,port", 7, 2, false, Kind.HASH),
    HASH_NET_PORT("hash:net,port", 8, 2, true, Kind.HASH),
    HASH_IP_PORT_IP("hash:ip,port,ip", 6, 3, false, Kind.HASH),
    HASH_NET_IFACE("hash:net,iface", 8, 2, true, Kind.HASH),
    BITMAP_PORT("bitmap:port", 3, 1, false, Kind.BITMAP),
    LIST_SET("list:set", 3, 1, false, Kind.LIST);

    enum Kind { HASH, BITMAP, LIST }

    private final String text;
    private final int revision;
    private final int dimension;
    private final boolean nomatch;
    private final Kind kind;

    SetType(String text, int revision, int dimension, boolean nomatch, Kind kind) {
        this.text = text;
        this.revision = revision;
        this.dimension = dimension;
        this.nomatch = nomatch;
        this.kind = kind;
    }

    /** The name as ipset spells it: {@code hash:ip}. */
    public String text() {
        return text;
    }

    public int revision() {
        return revision;
    }

    /** Linux: set->type->dimension; a match must give at least this many directions. */
    public int dimension() {
        return dimension;
    }

    /** Linux: IPSET_TYPE_NOMATCH: elements may be added as nomatch exceptions. */
    public boolean hasNomatch() {
        return nomatch;
    }

    Kind kind() {
        return kind;
    }

    /** Types whose first dimension is a network looked up per prefix length. */
    boolean netFirst() {
        return this == HASH_NET || this == HASH_NET_PORT || this == HASH_NET_IFACE;
    }

    boolean hasPort() {
        return this == HASH_IP_PORT || this == HASH_NET_PORT || this == HASH_IP_PORT_IP;
    }

    boolean hasFamily() {
        return kind == Kind.HASH;
    }

    /** The type named {@code name} (ipset also accepts the old aliases, e.g. iphash), or null. */
    public static SetType byName(String name) {
        for (SetType t : values()) {
            if (t.text.equals(name)) {
                return t;
            }
        }
        return switch (name) {
            case "iphash" -> HASH_IP;
            case "nethash" -> HASH_NET;
            case "ipporthash" -> HASH_IP_PORT;
            case "ipportiphash" -> HASH_IP_PORT_IP;
            case "portmap" -> BITMAP_PORT;
            case "setlist" -> LIST_SET;
            default -> null;
        };
    }
}
