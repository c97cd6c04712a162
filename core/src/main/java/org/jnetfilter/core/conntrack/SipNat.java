package org.jnetfilter.core.conntrack;

import java.nio.charset.StandardCharsets;
import org.jnetfilter.core.conntrack.SipHelper.Message;
import org.jnetfilter.core.conntrack.SipParser.Match;
import org.jnetfilter.core.nat.HelperNat;
import org.jnetfilter.core.nat.Nat;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;

/**
 * nf_nat_sip (Linux 6.18): on a NATed SIP connection, the addresses a message names are rewritten to what the
 * other side sees, and the connections it announces are expected at the translated address.
 *
 * <pre>
 *   where                          rewritten when it names                     to
 *   Request-URI, Contact, From, To the sender (address and port)               where the peer sends to (reply dst)
 *                                  the receiver (address and port)             the receiver's real address and port
 *                                                                              (forced_dport when the phone set one)
 *   topmost Via (the connection's  the sender (request) / receiver (response) as above
 *   transport)   maddr=            the sender's address                        where the peer sends to
 *                received=         the receiver's address (seen by the peer)   its real address
 *                rport=            the receiver's port                         its real port
 *   SDP m= port                    -                                           the expectation's port (changed
 *                                                                              when the pair is taken: +2 up)
 *   SDP c= (media, session), o=    -                                           the media address announced
 *   Content-Length                 -                                           the SDP's new length
 * </pre>
 *
 * Addresses are printed as the kernel prints them ({@code %pI4:%u}, {@code [%pI6c]:%u}); the payload grows or
 * shrinks in place ({@link HelperNat#mangleSip}), the message's bounds follow, and on TCP the segment's total change
 * is given to sequence adjustment once. The expected media and signalling connections are translated by
 * {@link #expected} (nf_nat_sip_expected): to the saved address and port, and from where the paired expectation
 * says (or from where the master sends to). A reply of a phone that set forced_dport has its UDP destination port
 * rewritten to it. Offsets are not moved after a rewrite where the kernel does not move them.
 *
 * <p>forced_dport on a TCP connection (a request whose {@code Via: SIP/2.0/UDP} names another port): its replies are
 * dropped, as Linux 6.18 drops them. Packet thread; allocates the texts it writes.
 */
final class SipNat {
    private SipNat() {
    }

    /** sip_sprintf_addr: %pI4, or %pI6c (in brackets with {@code delim}). */
    static String address(Family family, long hi, long lo, boolean delim) {
        String a = Tuple.address(family, hi, lo);
        return family == Family.IPV4 || !delim ? a : "[" + a + "]";
    }

    /** sip_sprintf_addr_port. */
    static String addressPort(Family family, long hi, long lo, int port) {
        return address(family, hi, lo, true) + ":" + port;
    }

    /**
     * mangle_packet: {@code len} bytes at {@code off} of the payload copy replaced by {@code text} in the packet;
     * the copy reloaded and the message's end moved. False when the packet cannot take it.
     */
    static boolean mangle(Message msg, int off, int len, String text) {
        byte[] t = text.getBytes(StandardCharsets.US_ASCII);
        if (!HelperNat.mangleSip(msg.pkt, msg.ct, msg.protoff, off, len, t)) {
            return false;
        }
        msg.reload();
        msg.limit += t.length - len;
        return true;
    }

    /** map_addr: an address and port naming one end of the connection become what the other side sees. */
    static boolean mapAddr(Message msg, int off, int len, long hi, long lo, int port) {
        Connection ct = msg.ct;
        Tuple t = ct.tuple(msg.dir);
        Tuple r = ct.tuple(1 - msg.dir);
        long newHi;
        long newLo;
        int newPort;
        if (t.srcHi == hi && t.srcLo == lo && t.srcId == port) {
            newHi = r.dstHi;
            newLo = r.dstLo;
            newPort = r.dstId;
        } else if (t.dstHi == hi && t.dstLo == lo && t.dstId == port) {
            newHi = r.srcHi;
            newLo = r.srcLo;
            newPort = ct.sipForcedPort != 0 ? ct.sipForcedPort : r.srcId;
        } else {
            return true;
        }
        if (newHi == hi && newLo == lo && newPort == port) {
            return true;
        }
        return mangle(msg, off, len, addressPort(msg.family(), newHi, newLo, newPort));
    }

    /** map_sip_addr: the first header of {@code type}'s URI. */
    private static boolean mapSipAddr(Message msg, int type, Match m) {
        if (SipParser.headerUri(msg.family(), msg.b, msg.start, msg.limit, type, null, m) <= 0) {
            return true;
        }
        return mapAddr(msg, m.off, m.len, m.hi, m.lo, m.port);
    }

    /** nf_nat_sip: the Request-URI, the topmost Via and its parameters, Contacts, From and To. */
    static boolean message(Message msg, Match m) {
        Connection ct = msg.ct;
        Family family = msg.family();
        Tuple t = ct.tuple(msg.dir);
        Tuple r = ct.tuple(1 - msg.dir);
        boolean request = !SipParser.startsIgnoringCase(msg.b, msg.start, msg.limit, "SIP/2.0");
        if (request && SipParser.request(family, msg.b, msg.start, msg.limit, m) > 0
                && !mapAddr(msg, m.off, m.len, m.hi, m.lo, m.port)) {
            // Linux: "cannot mangle SIP message"
            return false;
        }
        int via = ct.protocol() == Protocol.TCP ? SipParser.HDR_VIA_TCP : SipParser.HDR_VIA_UDP;
        if (SipParser.headerUri(family, msg.b, msg.start, msg.limit, via, null, m) > 0) {
            boolean ours = request ? m.hi == t.srcHi && m.lo == t.srcLo && m.port == t.srcId
                    : m.hi == t.dstHi && m.lo == t.dstLo && m.port == t.dstId;
            if (ours) {
                int olen = msg.limit;
                int matchoff = m.off;
                int matchlen = m.len;
                if (!mapAddr(msg, matchoff, matchlen, m.hi, m.lo, m.port)) {
                    // Linux: "cannot mangle Via header"
                    return false;
                }
                int matchend = matchoff + matchlen + msg.limit - olen;
                if (addressParam(msg, matchend, "maddr=", true, m) && m.hi == t.srcHi && m.lo == t.srcLo
                        && !(m.hi == r.dstHi && m.lo == r.dstLo)
                        && !mangle(msg, m.off, m.len, address(family, r.dstHi, r.dstLo, true))) {
                    return false;
                }
                if (addressParam(msg, matchend, "received=", false, m) && m.hi == t.dstHi && m.lo == t.dstLo
                        && !(m.hi == r.srcHi && m.lo == r.srcLo)
                        && !mangle(msg, m.off, m.len, address(family, r.srcHi, r.srcLo, false))) {
                    return false;
                }
                if (numericalParam(msg, matchend, "rport=", m)) {
                    // Linux: htons(n): the number's low 16 bits
                    int n = (int) (m.value & 0xFFFF);
                    if (n == t.dstId && n != r.srcId && !mangle(msg, m.off, m.len, Integer.toString(r.srcId))) {
                        return false;
                    }
                }
            }
        }
        SipParser.Walk walk = new SipParser.Walk(msg.start);
        while (SipParser.headerUri(family, msg.b, msg.start, msg.limit, SipParser.HDR_CONTACT, walk, m) > 0) {
            if (!mapAddr(msg, m.off, m.len, m.hi, m.lo, m.port)) {
                // Linux: "cannot mangle contact"
                return false;
            }
        }
        if (!mapSipAddr(msg, SipParser.HDR_FROM, m) || !mapSipAddr(msg, SipParser.HDR_TO, m)) {
            return false;
        }
        if (msg.dir == 1 && ct.sipForcedPort != 0) {
            if (ct.protocol() != Protocol.UDP) {
                // Linux 6.18 (stable, "forced_dport only expected with UDP"): a reply on a TCP connection is dropped;
                // before, the UDP header's fields were written over the TCP header
                return false;
            }
            // Linux: the reply goes to the port the phone's Via named; the checksum recomputed
            msg.pkt.segment().set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(
                    java.nio.ByteOrder.BIG_ENDIAN), msg.pkt.networkOffset() + msg.protoff + 2,
                    (short) ct.sipForcedPort);
            return HelperNat.mangleSip(msg.pkt, ct, msg.protoff, 0, 0, new byte[0]);
        }
        return true;
    }

    /** ct_sip_parse_address_param: an address after {@code name} up to the value's comma; into {@code m}. */
    private static boolean addressParam(Message msg, int from, String name, boolean delim, Match m) {
        int l = SipParser.headerSearch(msg.b, from, msg.limit, ",");
        int limit = l < 0 ? msg.limit : l;
        int s = SipParser.headerSearch(msg.b, from, limit, name);
        if (s < 0) {
            return false;
        }
        s += name.length();
        if (!SipParser.sipAddr(msg.family(), msg.b, s, limit, delim, m)) {
            return false;
        }
        m.off = s;
        m.len = m.end - s;
        return true;
    }

    /** ct_sip_parse_numerical_param with its match: true when found with a number. */
    private static boolean numericalParam(Message msg, int from, String name, Match m) {
        if (SipParser.numericalParam(msg.b, from, msg.limit, name, m) <= 0) {
            return false;
        }
        // the number's text: from after the name to where strtoul stopped
        int end = m.end;
        int l = SipParser.headerSearch(msg.b, from, msg.limit, ",");
        int s = SipParser.headerSearch(msg.b, from, l < 0 ? msg.limit : l, name) + name.length();
        m.off = s;
        m.len = end - s;
        return true;
    }

    // ---- SDP ----

    /**
     * mangle_content_len: Content-Length becomes the SDP's length (from its v= to the message's end). False when
     * there is no v= or no Content-Length (the message is then dropped).
     */
    static boolean contentLength(Message msg, Match m) {
        Family family = msg.family();
        if (SipParser.sdpHeader(family, msg.b, msg.start, msg.limit, SipParser.SDP_VERSION, SipParser.SDP_UNSPEC, m)
                <= 0) {
            return false;
        }
        int length = msg.limit - m.off + 2;
        if (SipParser.header(family, msg.b, msg.start, msg.start, msg.limit, SipParser.HDR_CONTENT_LENGTH, m) <= 0) {
            return false;
        }
        return mangle(msg, m.off, m.len, Integer.toString(length));
    }

    /** mangle_sdp_packet: 0 rewritten, -1 no such line (ENOENT), -2 not rewritten (EINVAL). */
    private static int sdpLine(Message msg, int from, int type, int term, String text, Match m) {
        if (SipParser.sdpHeader(msg.family(), msg.b, from, msg.limit, type, term, m) <= 0) {
            return -1;
        }
        return mangle(msg, m.off, m.len, text) ? 0 : -2;
    }

    /** nf_nat_sdp_addr: the media's c= becomes the announced media address. */
    static boolean sdpAddr(Message msg, int mediaoff, Match m) {
        String a = address(msg.family(), msg.rtpHi, msg.rtpLo, false);
        if (sdpLine(msg, mediaoff, SipParser.SDP_CONNECTION, SipParser.SDP_MEDIA, a, m) != 0) {
            return false;
        }
        return contentLength(msg, m);
    }

    /** nf_nat_sdp_port: the m= line's port. */
    static boolean sdpPort(Message msg, int mediaoff, int medialen, int port, Match m) {
        if (!mangle(msg, mediaoff, medialen, Integer.toString(port))) {
            return false;
        }
        return contentLength(msg, m);
    }

    /** nf_nat_sdp_session: o= (which must be there) and the session's c= (if any) become the media address. */
    static boolean sdpSession(Message msg, int sdpoff, Match m) {
        String a = address(msg.family(), msg.rtpHi, msg.rtpLo, false);
        if (sdpLine(msg, sdpoff, SipParser.SDP_OWNER, SipParser.SDP_MEDIA, a, m) != 0) {
            return false;
        }
        int r = sdpLine(msg, sdpoff, SipParser.SDP_CONNECTION, SipParser.SDP_MEDIA, a, m);
        if (r == -2) {
            return false;
        }
        return contentLength(msg, m);
    }

    /**
     * nf_nat_sdp_media: RTP and RTCP expected at the address the peer sees (the packet's translated source, unless
     * this side is not translated), on the first even port pair from the announced one that is free; the m= port
     * rewritten when it changed. DROP when no pair is free or the SDP cannot be rewritten.
     */
    static int sdpMedia(Message msg, Expectation rtp, Expectation rtcp, int mediaoff, int medialen, Match m) {
        Connection ct = msg.ct;
        Tuple t = ct.tuple(msg.dir);
        Tuple r = ct.tuple(1 - msg.dir);
        if (t.srcHi == r.dstHi && t.srcLo == r.dstLo) {
            msg.rtpHi = rtp.dstHi;
            msg.rtpLo = rtp.dstLo;
        } else {
            msg.rtpHi = r.dstHi;
            msg.rtpLo = r.dstLo;
        }
        for (Expectation e : new Expectation[] {rtp, rtcp}) {
            e.savedHi = e.dstHi;
            e.savedLo = e.dstLo;
            e.dstHi = msg.rtpHi;
            e.dstLo = msg.rtpLo;
            e.followMaster(1 - msg.dir, e.dstPort);
        }
        Conntrack table = ct.owner;
        int port;
        for (port = rtp.dstPort; port != 0; port = (port + 2) & 0xFFFF) {
            rtp.dstPort = port;
            int ret = table.expectRelated(rtp, msg.now, true);
            if (ret == Conntrack.EBUSY) {
                continue;
            } else if (ret < 0) {
                port = 0;
                break;
            }
            rtcp.dstPort = port + 1;
            ret = table.expectRelated(rtcp, msg.now, true);
            if (ret == 0) {
                break;
            } else if (ret == Conntrack.EBUSY) {
                table.unexpectRelated(rtp);
                continue;
            } else {
                table.unexpectRelated(rtp);
                port = 0;
                break;
            }
        }
        if (port == 0) {
            // Linux: "all ports in use for SDP media"
            return Verdict.DROP;
        }
        if (rtp.dstPort != rtp.savedPort && !sdpPort(msg, mediaoff, medialen, port, m)) {
            // Linux: "cannot mangle SDP message"
            table.unexpectRelated(rtp);
            table.unexpectRelated(rtcp);
            return Verdict.DROP;
        }
        return Verdict.ACCEPT;
    }

    /**
     * nf_nat_sip_expect: a REGISTER's signalling expectation at the address the registrar sees and a free port
     * (the connection's own port pair kept when the Contact names it), the Contact rewritten to it.
     */
    static int expect(Message msg, Expectation exp, int matchoff, int matchlen, Match m) {
        Connection ct = msg.ct;
        Tuple t = ct.tuple(msg.dir);
        Tuple r = ct.tuple(1 - msg.dir);
        long newHi;
        long newLo;
        if (t.srcHi == r.dstHi && t.srcLo == r.dstLo) {
            newHi = exp.dstHi;
            newLo = exp.dstLo;
        } else {
            newHi = r.dstHi;
            newLo = r.dstLo;
        }
        int srcport = ct.sipForcedPort != 0 ? ct.sipForcedPort : t.srcId;
        int port = exp.dstPort == srcport ? r.dstId : exp.dstPort;
        exp.savedHi = exp.dstHi;
        exp.savedLo = exp.dstLo;
        exp.dstHi = newHi;
        exp.dstLo = newLo;
        exp.followMaster(1 - msg.dir, exp.dstPort);
        port = HelperNat.expectWithFreePort(exp, port, msg.now, msg.pkt.random());
        if (port == 0) {
            // Linux: "all ports in use for SIP"
            return Verdict.DROP;
        }
        if (exp.dstHi != exp.savedHi || exp.dstLo != exp.savedLo || exp.dstPort != exp.savedPort) {
            if (!mangle(msg, matchoff, matchlen, addressPort(msg.family(), newHi, newLo, port))) {
                ct.owner.unexpectRelated(exp);
                return Verdict.DROP;
            }
        }
        return Verdict.ACCEPT;
    }

    /**
     * nf_nat_sip_expected: the expected connection goes to the saved address and port; media comes from where its
     * paired expectation (the other direction's, whose saved address and port are this one's source) is announced,
     * or, when the connection comes from the master's peer, from where the master sends to.
     */
    static void expected(PacketContext pkt, Connection ct, Expectation exp, long now) {
        Nat.setupInfo(pkt, ct, Nat.MANIP_DST, Nat.MAP_IPS | Nat.PROTO_SPECIFIED, exp.savedHi, exp.savedLo,
                exp.savedHi, exp.savedLo, exp.savedPort, exp.savedPort, 0);
        Tuple o = ct.original;
        Connection master = exp.master;
        if (exp.expectClass != SipHelper.EXPECT_SIGNALLING) {
            java.util.List<Expectation> all = master.owner.expectations(pkt.nowNanos());
            // Linux: the master's list, newest first
            for (int i = all.size() - 1; i >= 0; i--) {
                Expectation pair = all.get(i);
                if (pair.master == master && pair.family == ct.family() && pair.protocol == o.protocol
                        && o.srcHi == pair.savedHi && o.srcLo == pair.savedLo && o.srcId == pair.savedPort) {
                    Nat.setupInfo(pkt, ct, Nat.MANIP_SRC, Nat.MAP_IPS | Nat.PROTO_SPECIFIED, pair.dstHi,
                            pair.dstLo, pair.dstHi, pair.dstLo, pair.dstPort, pair.dstPort, 0);
                    return;
                }
            }
        }
        Tuple from = master.tuple(exp.natDirection);
        if (o.srcHi == from.srcHi && o.srcLo == from.srcLo) {
            Tuple to = master.tuple(1 - exp.natDirection);
            Nat.setupInfo(pkt, ct, Nat.MANIP_SRC, Nat.MAP_IPS, to.dstHi, to.dstLo, to.dstHi, to.dstLo, 0, 0, 0);
        }
    }
}
