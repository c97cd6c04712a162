package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.rules.Family;

/**
 * A connection a helper expects ({@code struct nf_conntrack_expect}): the tuple of its first packet, with the
 * source port left open (the mask of the ftp and tftp helpers), the master connection whose
 * helper made it, and a timeout. A new connection whose original tuple it matches becomes EXPECTED: RELATED for
 * its first packet, a child of the master ({@link Connection#master()}), and, with NAT, translated as the master
 * tells ({@link #followMaster}).
 *
 * <pre>
 *   field          ftp (PORT/EPRT, 227/229)             tftp (RRQ/WRQ)
 *   source         the peer of the command's sender     the server (reply source)
 *   source port    any                                  any
 *   destination    the sender, as the peer sees it      the client, as the server sees it
 *   dest. port     the port in the command              the client's port
 * </pre>
 *
 * <p>Immutable once in the table but for its timeout; the table's monitor guards the set of expectations.
 */
public final class Expectation {
    final Connection master;
    final Family family;
    final int protocol;
    final long srcHi;
    final long srcLo;
    final long dstHi;
    final long dstLo;
    int dstPort;
    final int zone;
    /** nf_nat_follow_master: the expected connection is translated like its master; -1 without NAT. */
    int natDirection = -1;
    /** exp->saved_proto: the port the expected connection goes to after NAT. */
    int savedPort;
    /** Jiffies, absolute once in the table. */
    long timeout;

    Expectation(Connection master, Family family, int protocol, long srcHi, long srcLo, long dstHi, long dstLo,
            int dstPort) {
        this.master = master;
        this.family = family;
        this.protocol = protocol;
        this.srcHi = srcHi;
        this.srcLo = srcLo;
        this.dstHi = dstHi;
        this.dstLo = dstLo;
        this.dstPort = dstPort;
        this.zone = master.zone;
    }

    public Connection master() {
        return master;
    }

    public int destinationPort() {
        return dstPort;
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

    /** nf_ct_exp_equal: a new connection's original tuple matches (any source port). */
    boolean matches(Tuple t) {
        return t.family == family && t.protocol == protocol && t.dstHi == dstHi && t.dstLo == dstLo
                && t.dstId == dstPort && t.srcHi == srcHi && t.srcLo == srcLo && t.zone == zone;
    }

    /** expect_matches: same tuple and mask (and zone). */
    boolean sameAs(Expectation o) {
        return o.family == family && o.protocol == protocol && o.srcHi == srcHi && o.srcLo == srcLo && o.dstHi == dstHi && o.dstLo == dstLo
                && o.dstPort == dstPort && o.zone == zone;
    }

    /**
     * expect_clash: equal on what both masks cover. The ftp and tftp helpers mask addresses, protocol and
     * destination port fully and the source port not at all: a clash is an equal tuple of another master (or
     * class).
     */
    boolean clashesWith(Expectation o) {
        return sameAs(o);
    }

    /** Seconds left at jiffies {@code now}, as {@code conntrack -L expect} prints them. */
    long secondsLeft(long now) {
        long left = timeout - now;
        return left <= 0 ? 0 : left / Conntrack.HZ;
    }

    /**
     * {@code conntrack -L expect}'s line (libnetfilter_conntrack's default expectation output): timeout,
     * protocol, the tuple, the mask, the master's original tuple, class and the helper.
     */
    String listLine(long now) {
        StringBuilder sb = new StringBuilder();
        sb.append(secondsLeft(now)).append(" proto=").append(protocol).append(' ');
        sb.append("src=").append(Tuple.address(family, srcHi, srcLo)).append(" dst=")
                .append(Tuple.address(family, dstHi, dstLo)).append(" sport=0 dport=").append(dstPort).append(' ');
        String full = family == Family.IPV4 ? "255.255.255.255" : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        sb.append("mask-src=").append(full).append(" mask-dst=")
                .append(full).append(" sport=0 dport=65535 ");
        Tuple m = master.original;
        sb.append("master-src=").append(Tuple.address(family, m.srcHi, m.srcLo)).append(" master-dst=")
                .append(Tuple.address(family, m.dstHi, m.dstLo)).append(" sport=").append(m.srcId).append(" dport=")
                .append(m.dstId).append(' ');
        sb.append("class=0 helper=").append(master.helper);
        return sb.toString();
    }

    @Override
    public String toString() {
        return listLine(0);
    }
}
