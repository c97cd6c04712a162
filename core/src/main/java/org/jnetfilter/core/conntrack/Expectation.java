package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.rules.Family;

/**
 * A connection a helper expects ({@code struct nf_conntrack_expect}): the tuple of its first packet with a mask over
 * its source (address bits and source port; the destination, the protocol and the zone always compare in full),
 * the master connection whose helper made it, a class, flags and a timeout. A new connection whose original tuple
 * it matches becomes EXPECTED: RELATED for its first packet, a child of the master ({@link Connection#master()}),
 * and, with NAT, translated as the master tells ({@link #followMaster}).
 *
 * <pre>
 *   helper      source (mask)                   source port      destination / port
 *   ftp         the command sender's peer (/32)  any              the announced address's side, the port
 *   tftp        the server (/32)                 any              the client, its port
 *   irc         any (mask 0)                     any              the DCC sender as the far side sees it, the port
 *   sane        the client (/32)                 any              the server, the port of the NET_START reply
 *   amanda      the master's original source     any              the master's original destination, the port
 *   netbios-ns  the broadcast's subnet (netmask) 137 (full mask)  the sender, its port; PERMANENT
 *   pptp (GRE)  the peer (/32)                   the peer's call  the PAC/PNS, the call id it announced
 * </pre>
 *
 * A PERMANENT expectation (NF_CT_EXPECT_PERMANENT) stays after a connection matched it, until it times out.
 *
 * <p>Immutable once in the table but for its timeout; the table's monitor guards the set of expectations.
 */
public final class Expectation {
    // Linux: NF_CT_EXPECT_PERMANENT
    public static final int PERMANENT = 1;
    // Linux: NF_CT_EXPECT_INACTIVE: in the table, but no connection matches it until it is activated
    public static final int INACTIVE = 2;

    final Connection master;
    final Family family;
    final int protocol;
    final long srcHi;
    final long srcLo;
    final long srcMaskHi;
    final long srcMaskLo;
    final int srcId;
    final int srcIdMask;
    long dstHi;
    long dstLo;
    int dstPort;
    final int zone;
    int flags;
    /** exp->helper: the helper the expected connection gets (sip's signalling expectations), or null. */
    ConntrackHelper helper;
    /** exp->class: the index of the master helper's expect policy. */
    final int expectClass;
    /** nf_nat_follow_master: the expected connection is translated like its master; -1 without NAT. */
    int natDirection = -1;
    /** exp->saved_proto: the port the expected connection goes to after NAT. */
    int savedPort;
    /** exp->saved_addr (nf_nat_sip): the address the expected connection goes to after NAT. */
    long savedHi;
    long savedLo;
    /** Jiffies, absolute once in the table. */
    long timeout;

    /** nf_ct_expect_init with the source address given in full and no source port (ftp, tftp, sane, amanda). */
    Expectation(Connection master, Family family, int protocol, long srcHi, long srcLo, long dstHi, long dstLo,
            int dstPort) {
        this(master, family, protocol, srcHi, srcLo, family == Family.IPV4 ? 0 : -1L, family == Family.IPV4 ? 0xFFFFFFFFL : -1L, 0, 0, dstHi,
                dstLo, dstPort, 0, 0);
    }

    /** An expectation with its source mask: {@code srcMask*} over the address, {@code srcIdMask} over the port. */
    Expectation(Connection master, Family family, int protocol, long srcHi, long srcLo, long srcMaskHi,
            long srcMaskLo, int srcId, int srcIdMask, long dstHi, long dstLo, int dstPort, int flags,
            int expectClass) {
        this.master = master;
        this.family = family;
        this.protocol = protocol;
        this.srcMaskHi = srcMaskHi;
        this.srcMaskLo = srcMaskLo;
        this.srcHi = srcHi;
        this.srcLo = srcLo;
        this.srcId = srcId;
        this.srcIdMask = srcIdMask;
        this.dstHi = dstHi;
        this.dstLo = dstLo;
        this.dstPort = dstPort;
        this.zone = master.zone;
        this.flags = flags;
        this.expectClass = expectClass;
    }

    public Connection master() {
        return master;
    }

    public int destinationPort() {
        return dstPort;
    }

    public int protocol() {
        return protocol;
    }

    /** Marks this expectation for nf_nat_follow_master: {@code dir} is exp->dir, {@code port} exp->saved_proto. */
    public void followMaster(int dir, int port) {
        natDirection = dir;
        savedPort = port;
    }

    /** The expected connection's direction in the master (exp->dir), -1 when it is not NATed. */
    public int natDirection() {
        return natDirection;
    }

    public int savedPort() {
        return savedPort;
    }

    public void destinationPort(int port) {
        dstPort = port;
    }

    /** Whether a new connection may match it (NF_CT_EXPECT_INACTIVE clear). */
    public boolean isActive() {
        return (flags & INACTIVE) == 0;
    }

    /** The expectation's class (exp->class). */
    public int expectClass() {
        return expectClass;
    }

    public boolean isPermanent() {
        return (flags & PERMANENT) != 0;
    }

    /** nf_ct_exp_equal: a new connection's original tuple matches under the mask. */
    boolean matches(Tuple t) {
        return t.family == family && t.protocol == protocol && t.dstHi == dstHi && t.dstLo == dstLo
                && t.dstId == dstPort && ((t.srcHi ^ srcHi) & srcMaskHi) == 0 && ((t.srcLo ^ srcLo) & srcMaskLo) == 0
                && ((t.srcId ^ srcId) & srcIdMask) == 0 && t.zone == zone;
    }

    /** expect_matches: same tuple and mask (and zone). */
    boolean sameAs(Expectation o) {
        return o.family == family && o.protocol == protocol && o.srcHi == srcHi && o.srcLo == srcLo
                && o.srcId == srcId && o.dstHi == dstHi && o.dstLo == dstLo && o.dstPort == dstPort
                && o.srcMaskHi == srcMaskHi && o.srcMaskLo == srcMaskLo && o.srcIdMask == srcIdMask && o.zone == zone;
    }

    /** expect_clash: equal on what both masks cover (the destination always). */
    boolean clashesWith(Expectation o) {
        long mHi = srcMaskHi & o.srcMaskHi;
        long mLo = srcMaskLo & o.srcMaskLo;
        int mId = srcIdMask & o.srcIdMask;
        return o.family == family && o.protocol == protocol && o.dstHi == dstHi && o.dstLo == dstLo
                && o.dstPort == dstPort && ((o.srcHi ^ srcHi) & mHi) == 0 && ((o.srcLo ^ srcLo) & mLo) == 0
                && ((o.srcId ^ srcId) & mId) == 0 && o.zone == zone;
    }

    /** Seconds left at jiffies {@code now}, as {@code conntrack -L expect} prints them. */
    long secondsLeft(long now) {
        long left = timeout - now;
        return left <= 0 ? 0 : left / Conntrack.HZ;
    }

    /**
     * {@code conntrack -L expect}'s line (libnetfilter_conntrack's default expectation output): timeout,
     * protocol, the tuple, the mask, the master's original tuple, flags, class and the helper.
     */
    String listLine(long now) {
        StringBuilder sb = new StringBuilder();
        sb.append(secondsLeft(now)).append(" proto=").append(protocol).append(' ');
        sb.append("src=").append(Tuple.address(family, srcHi, srcLo)).append(" dst=")
                .append(Tuple.address(family, dstHi, dstLo)).append(' ');
        appendIds(sb, protocol, srcId, dstPort);
        String full = family == Family.IPV4 ? "255.255.255.255" : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        sb.append("mask-src=").append(Tuple.address(family, srcMaskHi, srcMaskLo)).append(" mask-dst=")
                .append(full).append(' ');
        appendIds(sb, protocol, srcIdMask, 0xFFFF);
        Tuple m = master.original;
        sb.append("master-src=").append(Tuple.address(family, m.srcHi, m.srcLo)).append(" master-dst=")
                .append(Tuple.address(family, m.dstHi, m.dstLo)).append(' ');
        appendIds(sb, m.protocol, m.srcId, m.dstId);
        // libnetfilter_conntrack: the flags joined by commas
        if (isPermanent()) {
            sb.append("PERMANENT");
        }
        if ((flags & INACTIVE) != 0) {
            sb.append(isPermanent() ? "," : "").append("INACTIVE");
        }
        if ((flags & (PERMANENT | INACTIVE)) != 0) {
            sb.append(' ');
        }
        sb.append("class=").append(expectClass).append(" helper=").append(master.helper);
        return sb.toString();
    }

    private static void appendIds(StringBuilder sb, int protocol, int s, int d) {
        if (protocol == Protocol.GRE) {
            sb.append("srckey=0x").append(Integer.toHexString(s)).append(" dstkey=0x")
                    .append(Integer.toHexString(d)).append(' ');
        } else {
            sb.append("sport=").append(s).append(" dport=").append(d).append(' ');
        }
    }

    @Override
    public String toString() {
        return listLine(0);
    }
}
