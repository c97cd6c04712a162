package org.jnetfilter.core.conntrack;

import static org.jnetfilter.core.conntrack.H323Types.TRANSPORT_ADDRESS_SLOTS;

import org.jnetfilter.core.nat.HelperNat;
import org.jnetfilter.core.nat.Nat;
import org.jnetfilter.core.netfilter.PacketContext;

/**
 * nf_nat_h323 (Linux 6.18, IPv4 only): on a NATed H.323 connection the TransportAddresses a message names are
 * rewritten to what the other side sees, and the connections they announce are expected at the translated
 * address and a free port.
 *
 * <pre>
 *   hook                 rewrites                                         to
 *   set_h225/h245_addr   one TransportAddress (4-byte address, 2-byte port) the address and port given, in place
 *   set_sig_addr         the first call signalling address that is the     where the peer sends to (reply dst) /
 *                        sender's (or the receiver's) with sig_port[dir]   the receiver's real address, sig_port[!dir]
 *   set_ras_addr         the first RAS address that is the sender's own    where the peer sends to, its port
 *   nat_h245             h245Address                                      expected there at sig_port[!dir] when the
 *                                                                          port is sig_port[dir], else at a free port
 *                                                                          from the announced one
 *   nat_rtp_rtcp         media(Control)Channel                             an even/odd pair searched upward by 2 from
 *                                                                          the even port, kept in rtp_port[i][dir]
 *   nat_t120, nat_callforwarding, nat_q931 (RRQ)                           a free port from the announced one
 * </pre>
 *
 * A port is searched by nf_nat_exp_find_port ({@link HelperNat#expectWithFreePort}); none free: no expectation and
 * the message left as it is (the packet passes). The rewrite keeps the payload's length: on TCP no sequence
 * adjustment, the checksum recomputed; on UDP the checksum recomputed unless it is 0. What the message says after a
 * rewrite is what later reads see (the kernel reads on from the packet itself). The expected connections are
 * translated like their master (nf_nat_follow_master: {@link Expectation#followMaster}), a forwarded call's by
 * {@link #callForwardingExpected}.
 *
 * <p>Packet thread, under the connection's lock (the helper's); allocates nothing but what the expectation search
 * and NAT setup allocate.
 */
final class H323Nat {
    // Linux: H323_RTP_CHANNEL_MAX
    static final int RTP_CHANNEL_MAX = 4;

    private H323Nat() {
    }

    /**
     * set_addr: the TransportAddress whose address lies at {@code addressOffset} of the message (4 bytes, then the
     * 2-byte port) becomes {@code ip}:{@code port}, in the packet and in the decoder's copy; false when the packet
     * cannot be written.
     */
    static boolean setAddress(H323Helper.Signal s, int addressOffset, long ip, int port) {
        byte[] b = s.rewrite;
        b[0] = (byte) (ip >>> 24);
        b[1] = (byte) (ip >>> 16);
        b[2] = (byte) (ip >>> 8);
        b[3] = (byte) ip;
        b[4] = (byte) (port >>> 8);
        b[5] = (byte) port;
        int at = s.data + addressOffset;
        // Linux: nf_nat_mangle_tcp_packet / nf_nat_mangle_udp_packet with equal lengths: no sequence adjustment
        if (!HelperNat.mangleInPlace(s.pkt, s.ct, s.protoff, at, b)) {
            // Linux: "nf_nat_h323: nf_nat_mangle_tcp_packet error"
            return false;
        }
        byte[] copy = s.per.buffer;
        if (at >= 0 && at + 6 <= copy.length) {
            System.arraycopy(b, 0, copy, at, 6);
        }
        return true;
    }

    /** set_h225_addr: the H.225.0 TransportAddress at slot {@code at}. */
    static boolean setH225(H323Helper.Signal s, int at, long ip, int port) {
        return setAddress(s, s.per.slots[at + 2], ip, port);
    }

    /** set_h245_addr: the H.245 unicast TransportAddress at slot {@code at}. */
    static boolean setH245(H323Helper.Signal s, int at, long ip, int port) {
        return setAddress(s, s.per.slots[at + 3], ip, port);
    }

    /**
     * set_sig_addr: of {@code count} addresses from slot {@code first}, the first that is this direction's source
     * with the registered port becomes where the peer sends to (GW to GK; a loopback first address taken instead,
     * Gnomemeeting's), or the first that is this direction's destination the receiver's real address (GK to GW);
     * both with sig_port[!dir]. -1 when the packet cannot be written.
     */
    static int setSignalAddress(H323Helper.Signal s, int first, int count) {
        Connection ct = s.ct;
        Tuple t = ct.tuple(s.dir);
        Tuple r = ct.tuple(1 - s.dir);
        int[] sig = ct.h323SignalPort;
        for (int i = 0; i < count; i++) {
            int at = first + i * TRANSPORT_ADDRESS_SLOTS;
            if (!s.h225Address(at)) {
                continue;
            }
            if (s.addrLo == t.srcLo && s.port == sig[s.dir]) {
                int target = at;
                // Linux: "Fix for Gnomemeeting": a first address in 127/8 is rewritten instead
                if (i > 0 && s.h225Address(first) && (s.addrLo & 0xFF000000L) == 0x7F000000L) {
                    target = first;
                }
                return setH225(s, target, r.dstLo, sig[1 - s.dir]) ? 0 : -1;
            }
            if (s.addrLo == t.dstLo && s.port == sig[s.dir]) {
                return setH225(s, at, r.srcLo, sig[1 - s.dir]) ? 0 : -1;
            }
        }
        return 0;
    }

    /**
     * set_ras_addr: of {@code count} addresses from slot {@code first}, the first that is this direction's source
     * address and port becomes where the peer sends to.
     */
    static int setRasAddress(H323Helper.Signal s, int first, int count) {
        Tuple t = s.ct.tuple(s.dir);
        Tuple r = s.ct.tuple(1 - s.dir);
        for (int i = 0; i < count; i++) {
            int at = first + i * TRANSPORT_ADDRESS_SLOTS;
            if (s.h225Address(at) && s.addrLo == t.srcLo && s.port == t.srcId) {
                return setH225(s, at, r.dstLo, r.dstId) ? 0 : -1;
            }
        }
        return 0;
    }

    /**
     * nat_h245: the H.245 connection expected at where the peer sends to and a free port (the one this direction's
     * last h245Address was given when it names the same port), the h245Address at slot {@code at} rewritten to it.
     */
    static int h245(H323Helper.Signal s, int at, int port, Expectation exp) {
        Connection ct = s.ct;
        int[] sig = ct.h323SignalPort;
        exp.followMaster(1 - s.dir, exp.dstPort);
        int nated = sig[s.dir] == port ? sig[1 - s.dir] : port;
        nated = HelperNat.expectWithFreePort(exp, nated, s.now, s.pkt.random());
        if (nated == 0) {
            // Linux: "nf_nat_q931: out of TCP ports"
            return 0;
        }
        if (!setH225(s, at, ct.tuple(1 - s.dir).dstLo, nated)) {
            ct.owner.unexpectRelated(exp);
            return -1;
        }
        sig[s.dir] = port;
        sig[1 - s.dir] = nated;
        return 0;
    }

    /**
     * nat_rtp_rtcp: the channel's slot among the connection's four (the one that already holds this even port in
     * this direction, or the first free: none, nothing expected); from the even port up by two, the first pair whose
     * RTP and RTCP expectations both go in; the address at slot {@code at} rewritten to where the peer sends to and
     * the pair's even or odd port, as the announced one was. No pair free: nothing expected, nothing rewritten.
     */
    static int rtpRtcp(H323Helper.Signal s, int at, int port, int rtpPort, Expectation rtp, Expectation rtcp) {
        Connection ct = s.ct;
        int dir = s.dir;
        int[] kept = ct.h323RtpPort;
        if (kept == null) {
            kept = ct.h323RtpPort = new int[2 * RTP_CHANNEL_MAX];
        }
        rtp.followMaster(1 - dir, rtp.dstPort);
        rtcp.followMaster(1 - dir, rtcp.dstPort);
        int i = 0;
        for (; i < RTP_CHANNEL_MAX; i++) {
            int held = kept[i * 2 + dir];
            // Linux: "Use allocated ports first": the slot's port is the even port itself, the search starts there
            if (held == rtpPort || held == 0) {
                break;
            }
        }
        if (i >= RTP_CHANNEL_MAX) {
            // Linux: "nf_nat_h323: out of expectations"
            return 0;
        }
        Conntrack table = ct.owner;
        int nated = rtpPort;
        for (; nated != 0; nated = (nated + 2) & 0xFFFF) {
            rtp.dstPort = nated;
            int ret = table.expectRelated(rtp, s.now);
            if (ret == 0) {
                rtcp.dstPort = nated + 1;
                ret = table.expectRelated(rtcp, s.now);
                if (ret == 0) {
                    break;
                }
                table.unexpectRelated(rtp);
                if (ret != Conntrack.EBUSY) {
                    nated = 0;
                    break;
                }
            } else if (ret != Conntrack.EBUSY) {
                nated = 0;
                break;
            }
        }
        if (nated == 0) {
            // Linux: "nf_nat_h323: out of RTP ports"
            return 0;
        }
        if (!setH245(s, at, ct.tuple(1 - dir).dstLo, (port & 1) != 0 ? nated + 1 : nated)) {
            table.unexpectRelated(rtp);
            table.unexpectRelated(rtcp);
            return -1;
        }
        kept[i * 2 + dir] = rtpPort;
        kept[i * 2 + 1 - dir] = nated;
        return 0;
    }

    /** nat_t120: the T.120 connection expected at a free port, the address at slot {@code at} rewritten to it. */
    static int t120(H323Helper.Signal s, int at, int port, Expectation exp) {
        exp.followMaster(1 - s.dir, exp.dstPort);
        int nated = HelperNat.expectWithFreePort(exp, port, s.now, s.pkt.random());
        if (nated == 0) {
            // Linux: "nf_nat_h323: out of TCP ports"
            return 0;
        }
        if (!setH245(s, at, s.ct.tuple(1 - s.dir).dstLo, nated)) {
            s.ct.owner.unexpectRelated(exp);
            return -1;
        }
        return 0;
    }

    /**
     * nat_callforwarding: the second leg expected to where the peer sends to (not the forwarded-to address, which is
     * saved for the new connection's destination) at a free port; the alternativeAddress rewritten to it.
     */
    static int callForwarding(H323Helper.Signal s, int at, int port, Expectation exp) {
        Tuple r = s.ct.tuple(1 - s.dir);
        exp.savedHi = exp.dstHi;
        exp.savedLo = exp.dstLo;
        exp.dstHi = r.dstHi;
        exp.dstLo = r.dstLo;
        exp.followMaster(1 - s.dir, exp.dstPort);
        int nated = HelperNat.expectWithFreePort(exp, port, s.now, s.pkt.random());
        if (nated == 0) {
            // Linux: "nf_nat_q931: out of TCP ports"
            return 0;
        }
        if (!setH225(s, at, r.dstLo, nated)) {
            s.ct.owner.unexpectRelated(exp);
            return -1;
        }
        return 0;
    }

    /**
     * nat_q931 (an RRQ's call signalling address, item {@code index} of the list at slot {@code list}): calls
     * expected at where the gatekeeper sends to and a free port (the registered one again for the same port),
     * the address rewritten to it and the ports kept in sig_port; a loopback first address (Gnomemeeting)
     * rewritten too.
     */
    static int q931(H323Helper.Signal s, int list, int index, int port, Expectation exp) {
        Connection ct = s.ct;
        int[] sig = ct.h323SignalPort;
        Tuple r = ct.tuple(1 - s.dir);
        // Linux: exp->expectfn = ip_nat_q931_expect: with gkrouted_only the source is the gatekeeper's, so
        // nf_nat_follow_master
        exp.followMaster(1 - s.dir, exp.dstPort);
        int nated = sig[s.dir] == port ? sig[1 - s.dir] : port;
        nated = HelperNat.expectWithFreePort(exp, nated, s.now, s.pkt.random());
        if (nated == 0) {
            // Linux: "nf_nat_ras: out of TCP ports"
            return 0;
        }
        int first = list + 1;
        if (!setH225(s, first + index * TRANSPORT_ADDRESS_SLOTS, r.dstLo, nated)) {
            ct.owner.unexpectRelated(exp);
            return -1;
        }
        sig[s.dir] = port;
        sig[1 - s.dir] = nated;
        if (index > 0 && s.h225Address(first) && (s.addrLo & 0xFF000000L) == 0x7F000000L
                && !setH225(s, first, r.dstLo, sig[1 - s.dir])) {
            ct.owner.unexpectRelated(exp);
            return -1;
        }
        return 0;
    }

    /**
     * ip_nat_callforwarding_expect: the forwarded call's source mapped to the new connection's own address on the
     * master's side (its tuple of the expectation's other direction), its destination to the forwarded-to address
     * and port saved. For a Facility from the original direction's receiver that tuple is the new connection's reply,
     * so its source becomes its own destination (the call leaves from the address it was made to: checked on 6.18).
     */
    static void callForwardingExpected(PacketContext pkt, Connection ct, Expectation exp) {
        Tuple own = ct.tuple(1 - exp.natDirection);
        long hi = own.srcHi;
        long lo = own.srcLo;
        Nat.setupInfo(pkt, ct, Nat.MANIP_SRC, Nat.MAP_IPS, hi, lo, hi, lo, 0, 0, 0);
        Nat.setupInfo(pkt, ct, Nat.MANIP_DST, Nat.MAP_IPS | Nat.PROTO_SPECIFIED, exp.savedHi, exp.savedLo,
                exp.savedHi, exp.savedLo, exp.savedPort, exp.savedPort, 0);
    }
}
