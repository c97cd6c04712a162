package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;

/**
 * One direction of a connection ({@code struct nf_conntrack_tuple} with its {@code nf_conntrack_tuple_hash}):
 * layer-3 source and destination, layer-4 protocol, and the protocol's two 16-bit identifiers.
 *
 * <pre>
 *   protocol         srcId              dstId
 *   TCP UDP UDP-Lite source port        destination port
 *   SCTP             source port        destination port
 *   ICMP ICMPv6      echo identifier    type &lt;&lt; 8 | code
 *   GRE v1 (PPP)     key from the keymap call id (dest. key); both 0 for other GRE
 *   anything else    0                  0
 * </pre>
 *
 * As the kernel's {@code src.u.all} and {@code dst.u.all} read with ntohs: so {@code -m conntrack
 * --ctorigdstport} compares the ICMP type and code as one number, as xt_conntrack does.
 *
 * <p>Addresses are kept as {@link org.jnetfilter.core.rules.IpNet} keeps them: IPv4 in the low 32 bits of
 * {@code lo}. The zone (CT --zone) is part of the key, as nf_ct_zone_equal makes it.
 *
 * <p>A connection owns two tuples (original and reply); each is also the node of the table's hash chain. A
 * tuple belongs to its connection and changes only while the connection is unconfirmed (NAT alters the
 * reply tuple) or under the table's lock.
 */
public final class Tuple {
    Family family;
    int protocol;
    long srcHi;
    long srcLo;
    long dstHi;
    long dstLo;
    int srcId;
    int dstId;
    int zone;

    // the hash chain: the connection and the direction this tuple is
    final Connection connection;
    final int direction;
    Tuple next;
    boolean hashed;

    Tuple(Connection connection, int direction) {
        this.connection = connection;
        this.direction = direction;
    }

    /** A free-standing tuple (NAT's scratch), belonging to no connection. */
    public Tuple() {
        this(null, 0);
    }

    public Family family() {
        return family;
    }

    public int protocol() {
        return protocol;
    }

    public long sourceHi() {
        return srcHi;
    }

    public long sourceLo() {
        return srcLo;
    }

    public long destinationHi() {
        return dstHi;
    }

    public long destinationLo() {
        return dstLo;
    }

    /** Source port, or the ICMP/ICMPv6 echo identifier. */
    public int sourceId() {
        return srcId;
    }

    /** Destination port, or for ICMP/ICMPv6 {@code type << 8 | code}. */
    public int destinationId() {
        return dstId;
    }

    public int zone() {
        return zone;
    }

    /** The connection this tuple is one direction of, or null for a free-standing tuple. */
    public Connection connection() {
        return connection;
    }

    /** 0 for the original direction, 1 for the reply. */
    public int direction() {
        return direction;
    }

    public Tuple set(Family f, int proto, long sHi, long sLo, long dHi, long dLo, int sId, int dId, int z) {
        family = f;
        protocol = proto;
        srcHi = sHi;
        srcLo = sLo;
        dstHi = dHi;
        dstLo = dLo;
        srcId = sId;
        dstId = dId;
        zone = z;
        return this;
    }

    public Tuple copyFrom(Tuple t) {
        return set(t.family, t.protocol, t.srcHi, t.srcLo, t.dstHi, t.dstLo, t.srcId, t.dstId, t.zone);
    }

    public Tuple source(long hi, long lo, int id) {
        srcHi = hi;
        srcLo = lo;
        srcId = id;
        return this;
    }

    public Tuple destination(long hi, long lo, int id) {
        dstHi = hi;
        dstLo = lo;
        dstId = id;
        return this;
    }

    /**
     * nf_ct_invert_tuple: {@code this} becomes the reply of {@code orig}; false when the protocol cannot
     * invert it (an ICMP type that is not a query or its answer).
     */
    public boolean invertOf(Tuple orig) {
        int sId = orig.dstId;
        int dId = orig.srcId;
        if (orig.protocol == Protocol.ICMP || orig.protocol == Protocol.ICMPV6) {
            int type = orig.dstId >>> 8;
            int inverse = orig.protocol == Protocol.ICMP ? Protocol.icmpInverse(type) : Protocol.icmpv6Inverse(type);
            if (inverse < 0) {
                return false;
            }
            sId = orig.srcId;
            dId = inverse << 8 | (orig.dstId & 0xFF);
        }
        set(orig.family, orig.protocol, orig.dstHi, orig.dstLo, orig.srcHi, orig.srcLo, sId, dId, orig.zone);
        return true;
    }

    /** nf_ct_tuple_equal (zone included). */
    public boolean sameAs(Tuple t) {
        return matches(t.family, t.protocol, t.srcHi, t.srcLo, t.dstHi, t.dstLo, t.srcId, t.dstId, t.zone);
    }

    boolean matches(Family f, int proto, long sHi, long sLo, long dHi, long dLo, int sId, int dId, int z) {
        return srcLo == sLo && dstLo == dLo && srcId == sId && dstId == dId && protocol == proto && srcHi == sHi
                && dstHi == dHi && family == f && zone == z;
    }

    /** nf_ct_tuple_src_equal: same source address, source id and protocol. */
    public boolean sameSource(Tuple t) {
        return srcHi == t.srcHi && srcLo == t.srcLo && srcId == t.srcId && protocol == t.protocol
                && family == t.family;
    }

    static int hash(Family f, int proto, long sHi, long sLo, long dHi, long dLo, int sId, int dId, int z) {
        long h = sLo * 0x9E3779B97F4A7C15L;
        h = (h ^ dLo) * 0xC2B2AE3D27D4EB4FL;
        h = (h ^ sHi) * 0x9E3779B97F4A7C15L;
        h = (h ^ dHi) * 0xC2B2AE3D27D4EB4FL;
        h = (h ^ ((long) sId << 32 | (long) dId << 16 | proto | (long) z << 48)) * 0x9E3779B97F4A7C15L;
        h ^= f.ordinal();
        return (int) (h ^ (h >>> 29) ^ (h >>> 47));
    }

    int hash() {
        return hash(family, protocol, srcHi, srcLo, dstHi, dstLo, srcId, dstId, zone);
    }

    /** The address text conntrack prints. */
    static String address(Family f, long hi, long lo) {
        return f == Family.IPV4 ? AddressText.ipv4((int) lo) : AddressText.ipv6(hi, lo);
    }

    /** conntrack-tools' tuple: {@code src=A dst=B sport=P dport=Q} (or type/code/id for ICMP). */
    void appendTo(StringBuilder out) {
        out.append("src=").append(address(family, srcHi, srcLo)).append(" dst=")
                .append(address(family, dstHi, dstLo)).append(' ');
        switch (protocol) {
            // conntrack-tools prints ports for DCCP even when the kernel tracks it generically (sport=0 dport=0)
            case Protocol.TCP, Protocol.UDP, Protocol.UDPLITE, Protocol.SCTP, Protocol.DCCP -> out.append("sport=")
                    .append(srcId).append(" dport=").append(dstId).append(' ');
            case Protocol.ICMP, Protocol.ICMPV6 -> out.append("type=").append(dstId >>> 8).append(" code=")
                    .append(dstId & 0xFF).append(" id=").append(srcId).append(' ');
            case Protocol.GRE -> out.append("srckey=0x").append(Integer.toHexString(srcId)).append(" dstkey=0x")
                    .append(Integer.toHexString(dstId)).append(' ');
            default -> {
            }
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder().append(Protocol.name(protocol)).append(' ');
        appendTo(sb);
        return sb.toString().trim();
    }
}
