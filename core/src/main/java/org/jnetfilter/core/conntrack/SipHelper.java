package org.jnetfilter.core.conntrack;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jnetfilter.core.conntrack.SipParser.Match;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.ModuleParameters;
import org.jnetfilter.core.host.RouteResult;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;

/**
 * The sip helper (nf_conntrack_sip.c, Linux 6.18, module parameters from the host's {@link ModuleParameters}:
 * sip_direct_media, sip_direct_signalling, sip_external_media, sip_timeout): reads the SIP messages of a UDP or TCP
 * signalling connection and expects the RTP/RTCP media its SDP bodies announce and the incoming signalling a
 * REGISTER announces.
 *
 * <pre>
 *   message                   does
 *   INVITE request            media expectations flushed, then the SDP's expected; the CSeq remembered
 *   INVITE/UPDATE/PRACK 1xx 2xx  the SDP's media expected
 *   ... other responses       media flushed when the CSeq is the INVITE's
 *   UPDATE, ACK, PRACK        the SDP's media expected
 *   BYE                       media expectations flushed
 *   REGISTER                  the Contact (the sender's own address, transport matching) expected for incoming
 *                             signalling: PERMANENT and INACTIVE, expires from Expires: or ;expires= (0: none)
 *   REGISTER 2xx (same CSeq)  the registration's expectation refreshed to the Contact's expiry and activated;
 *                             without a matching Contact, or on a failure, it is removed
 *
 *   class  name        max  timeout   expectation
 *   0      signalling  1    180 s     from the registrar (any port; any address with sip_direct_signalling=0) to
 *                                     the Contact's address, port, transport
 *   1      audio       4    180 s     from the peer (any port; any address with sip_direct_media=0) to the c=
 *                                     address, the m= port rounded down to even
 *   2      video       4    180 s       (RTP) and the next odd port (RTCP), both UDP
 *   3      image       2    180 s
 * </pre>
 *
 * With sip_direct_media, media is expected only when the SDP's address is the sender's own; without it, from any
 * source to any address, except (sip_external_media) an address the host routes by the device the signalling
 * packet leaves by (the peer reaches it without us). An SDP naming the same media another SIP connection of the
 * same helper already expects (same class) is not expected again. The master's timeout is set to sip_timeout on
 * every packet with a payload. On TCP, only ESTABLISHED packets are read, and a
 * segment may carry several messages, each framed by its Content-Length (a message cut short ends the reading).
 * Malformed messages: a request without a parsable CSeq, a response without a status code or CSeq, an SDP media
 * port outside 1024-65535, an m= line without a c= address, a Contact that does not parse: DROP (as Linux); other
 * oddities are let through unread.
 *
 * <p>On a NATed connection {@link SipNat} rewrites the messages (nf_nat_sip). Not modelled: the per-port helpers
 * {@code sip-N} (ports=).
 *
 * <p>Packet thread. The payload is copied into a per-thread buffer (no allocation after the first packet);
 * allocates the expectations it creates, and the text of IPv6 addresses.
 */
final class SipHelper extends ConntrackHelper {
    // Linux: SIP_PORT
    static final int SIP_PORT = 5060;
    // Linux: enum sip_expectation_classes
    static final int EXPECT_SIGNALLING = 0;
    static final int EXPECT_AUDIO = 1;
    static final int EXPECT_VIDEO = 2;
    static final int EXPECT_IMAGE = 3;
    // Linux: sip_exp_policy: max_expected per class (IP_CT_DIR_MAX = 2), all 3 * 60 s
    private static final int[] MAX_EXPECTED = {1, 2 * 2, 2 * 2, 2};
    private static final long EXPECT_TIMEOUT = 3 * 60;
    // Linux: sdp_media_types
    private static final String[] MEDIA = {"audio ", "video ", "image "};
    private static final int[] MEDIA_CLASS = {EXPECT_AUDIO, EXPECT_VIDEO, EXPECT_IMAGE};
    // Linux: strlen("SIP/2.0 200")
    private static final int MIN_LENGTH = 11;
    // Linux: the device of a locally delivered packet's input route as skb_dst shows it (net->loopback_dev)
    private static final String LOOPBACK = "lo";

    private static final ThreadLocal<byte[]> BUFFER = ThreadLocal.withInitial(() -> new byte[65536]);
    private static final ThreadLocal<Match> MATCH = ThreadLocal.withInitial(Match::new);

    SipHelper(int protocol) {
        super("sip", protocol, true, 1, EXPECT_TIMEOUT);
    }

    @Override
    public int maxExpected(int cls) {
        return MAX_EXPECTED[cls];
    }

    @Override
    public long timeoutSeconds(int cls) {
        return EXPECT_TIMEOUT;
    }

    /**
     * One message being read: the connection, the packet and its direction, the payload's bytes (a copy, refreshed
     * after every rewrite), where the message starts and ends in them.
     */
    static final class Message {
        final Connection ct;
        final PacketContext pkt;
        final int ctinfo;
        final int dir;
        final int protoff;
        final int dataoff;
        final boolean expected;
        final byte[] b;
        final long now;
        int start;
        int limit;
        /** process_sdp's rtp_addr: the media address (after nf_nat_sdp_media, the one announced). */
        long rtpHi;
        long rtpLo;

        Message(Connection ct, PacketContext pkt, int ctinfo, int protoff, int dataoff, byte[] b, long now) {
            this.ct = ct;
            this.pkt = pkt;
            this.ctinfo = ctinfo;
            this.dir = CtInfo.direction(ctinfo);
            this.protoff = protoff;
            this.dataoff = dataoff;
            this.expected = ct.hasStatus(Connection.EXPECTED);
            this.b = b;
            this.now = now;
        }

        Family family() {
            return ct.family();
        }

        boolean natted() {
            return (ct.status & Connection.NAT_MASK) != 0;
        }

        /** The payload copied again from the packet (after a rewrite). */
        void reload() {
            MemorySegment.copy(pkt.segment(), ValueLayout.JAVA_BYTE, pkt.networkOffset() + dataoff, b, 0,
                    pkt.length() - dataoff);
        }
    }

    @Override
    int help(PacketContext pkt, Connection ct, int ctinfo, int protoff, long now) {
        int len = pkt.length();
        int dataoff;
        if (protocol() == Protocol.TCP) {
            dataoff = tcpPayload(pkt, ctinfo, protoff);
            if (dataoff < 0) {
                return Verdict.ACCEPT;
            }
        } else {
            dataoff = protoff + 8;
            if (dataoff >= len) {
                return Verdict.ACCEPT;
            }
        }
        // Linux: nf_ct_refresh(ct, sip_timeout * HZ), an unsigned int product
        long timeout = (ct.owner.host().moduleParameters().sipTimeout() * Conntrack.HZ) & 0xFFFFFFFFL;
        synchronized (ct) {
            ct.refreshTimeout(now, timeout);
        }
        int datalen = len - dataoff;
        if (datalen < MIN_LENGTH) {
            return Verdict.ACCEPT;
        }
        byte[] b = BUFFER.get();
        Message msg = new Message(ct, pkt, ctinfo, protoff, dataoff, b, now);
        msg.reload();
        Match m = MATCH.get();
        synchronized (ct) {
            if (protocol() == Protocol.UDP) {
                msg.start = 0;
                msg.limit = datalen;
                return message(msg, m);
            }
            return tcpMessages(msg, datalen, m);
        }
    }

    /** sip_help_tcp's loop: the messages of a segment, each ended by its Content-Length. */
    private int tcpMessages(Message msg, int datalen, Match m) {
        byte[] b = msg.b;
        int start = 0;
        int ret = Verdict.ACCEPT;
        int tdiff = 0;
        Family family = msg.family();
        while (true) {
            if (SipParser.header(family, b, start, start, datalen, SipParser.HDR_CONTENT_LENGTH, m) <= 0) {
                break;
            }
            SipParser.strtoul(b, m.off, datalen, 10, m);
            if (m.end == m.off) {
                break;
            }
            long clen = m.value;
            int end = m.end;
            boolean term = false;
            for (; end + 4 <= datalen; end++) {
                if (b[end] == '\r' && b[end + 1] == '\n' && b[end + 2] == '\r' && b[end + 3] == '\n') {
                    term = true;
                    break;
                }
            }
            if (!term) {
                break;
            }
            long msgEnd = end + 4L + (clen & 0xFFFFFFFFL);
            if (msgEnd - start > datalen - start) {
                // Linux: a message beyond the segment: the rest is not read (nor sequence-adjusted)
                return Verdict.ACCEPT;
            }
            msg.start = start;
            msg.limit = (int) msgEnd;
            ret = message(msg, m);
            if (ret != Verdict.ACCEPT) {
                break;
            }
            int diff = msg.limit - (int) msgEnd;
            tdiff += diff;
            datalen += diff;
            start = msg.limit;
        }
        if (ret == Verdict.ACCEPT && msg.natted() && tdiff != 0) {
            // Linux: nf_nat_sip_seq_adjust: the segment's length change, once
            int seq = (int) u32(msg.pkt, msg.protoff + 4);
            SeqAdjust.set(msg.ct, msg.dir, seq, (short) tdiff);
        }
        return ret;
    }

    /** process_sip_msg: a response starts with "SIP/2.0 ", anything else is a request. */
    private int message(Message msg, Match m) {
        int ret = SipParser.startsIgnoringCase(msg.b, msg.start, msg.limit, "SIP/2.0 ") ? response(msg, m)
                : request(msg, m);
        if (ret == Verdict.ACCEPT && msg.natted() && !SipNat.message(msg, m)) {
            // Linux: "cannot NAT SIP message"
            ret = Verdict.DROP;
        }
        return ret;
    }

    /** The CSeq number of a message: -1 when it has none (the message is dropped). */
    private static long cseq(Message msg, Match m) {
        if (SipParser.header(msg.family(), msg.b, msg.start, msg.start, msg.limit, SipParser.HDR_CSEQ, m) <= 0) {
            // Linux: "cannot parse cseq"
            return -1;
        }
        int off = m.off;
        long cseq = SipParser.number(msg.b, off, msg.limit, m) & 0xFFFFFFFFL;
        if (cseq == 0 && msg.b[off] != '0') {
            // Linux: "cannot get cseq"
            return -1;
        }
        m.off = off;
        return cseq;
    }

    private static final String[] METHODS = {"INVITE", "UPDATE", "ACK", "PRACK", "BYE", "REGISTER"};

    /** process_sip_request: the handler of the method (followed by a space and a letter). */
    private int request(Message msg, Match m) {
        byte[] b = msg.b;
        int datalen = msg.limit - msg.start;
        // Linux: a phone sending from another port than its Via's gets its responses there (forced_dport, for NAT)
        Tuple sender = msg.ct.tuple(msg.dir);
        if (SipParser.headerUri(msg.family(), b, msg.start, msg.limit, SipParser.HDR_VIA_UDP, null, m) > 0
                && m.port != sender.srcId && m.hi == sender.srcHi && m.lo == sender.srcLo) {
            msg.ct.sipForcedPort = m.port;
        }
        for (String method : METHODS) {
            int n = method.length();
            if (datalen < n + 2 || !SipParser.startsIgnoringCase(b, msg.start, msg.limit, method)) {
                continue;
            }
            if (b[msg.start + n] != ' ' || !SipParser.isAlpha(b[msg.start + n + 1] & 0xFF)) {
                continue;
            }
            long cseq = cseq(msg, m);
            if (cseq < 0) {
                return Verdict.DROP;
            }
            return switch (method) {
                case "INVITE" -> {
                    flushMedia(msg);
                    int ret = sdp(msg, m);
                    if (ret == Verdict.ACCEPT) {
                        msg.ct.sipInviteCseq = cseq;
                    }
                    yield ret;
                }
                case "BYE" -> {
                    flushMedia(msg);
                    yield Verdict.ACCEPT;
                }
                case "REGISTER" -> register(msg, cseq, m);
                default -> sdp(msg, m);
            };
        }
        return Verdict.ACCEPT;
    }

    /** process_sip_response: the status code, the CSeq and the method after it. */
    private int response(Message msg, Match m) {
        byte[] b = msg.b;
        int datalen = msg.limit - msg.start;
        if (datalen < MIN_LENGTH) {
            return Verdict.ACCEPT;
        }
        long code = SipParser.number(b, msg.start + 8, msg.limit, m) & 0xFFFFFFFFL;
        if (code == 0) {
            // Linux: "cannot get code"
            return Verdict.DROP;
        }
        long cseq = cseq(msg, m);
        if (cseq < 0) {
            return Verdict.DROP;
        }
        int matchend = m.off + m.len + 1;
        for (String method : METHODS) {
            if (method.equals("ACK") || method.equals("BYE")) {
                // Linux: no response handler
                continue;
            }
            if (msg.limit < matchend + method.length()
                    || !SipParser.startsIgnoringCase(b, matchend, msg.limit, method)) {
                continue;
            }
            if (method.equals("REGISTER")) {
                return registerResponse(msg, cseq, code, m);
            }
            // Linux: process_invite_response, process_update_response, process_prack_response
            if ((code >= 100 && code <= 199) || (code >= 200 && code <= 299)) {
                return sdp(msg, m);
            }
            if (msg.ct.sipInviteCseq == cseq) {
                flushMedia(msg);
            }
            return Verdict.ACCEPT;
        }
        return Verdict.ACCEPT;
    }

    private static void flushMedia(Message msg) {
        msg.ct.owner.flushExpectations(msg.ct, EXPECT_SIGNALLING, true, msg.now);
    }

    // ---- SDP ----

    /** process_sdp: every audio, video and image m= line with a port expects its RTP and RTCP. */
    private int sdp(Message msg, Match m) {
        Family family = msg.family();
        byte[] b = msg.b;
        if (SipParser.sdpHeader(family, b, msg.start, msg.limit, SipParser.SDP_VERSION, SipParser.SDP_UNSPEC, m)
                <= 0) {
            return Verdict.ACCEPT;
        }
        int sdpoff = m.off;
        boolean session = SipParser.sdpAddrHeader(family, b, sdpoff, msg.limit, SipParser.SDP_CONNECTION,
                SipParser.SDP_MEDIA, m) > 0;
        long sessionHi = m.hi;
        long sessionLo = m.lo;
        // Linux 6.18 (stable, "nf_conntrack_sip: fix uninit rtp_addr"): the media address starts as the session's
        // c= when there is one; without it and without a media line, o= and c= are left alone (have_rtp_addr)
        boolean haveRtpAddr = session;
        msg.rtpHi = session ? sessionHi : 0;
        msg.rtpLo = session ? sessionLo : 0;
        int ret = Verdict.ACCEPT;
        int mediaoff = sdpoff;
        for (int i = 0; i < MEDIA.length;) {
            if (SipParser.sdpHeader(family, b, mediaoff, msg.limit, SipParser.SDP_MEDIA, SipParser.SDP_UNSPEC, m)
                    <= 0) {
                break;
            }
            mediaoff = m.off;
            int medialen = m.len;
            int t = mediaType(b, mediaoff, msg.limit, medialen);
            if (t < 0) {
                mediaoff += medialen;
                continue;
            }
            mediaoff += MEDIA[t].length();
            medialen -= MEDIA[t].length();
            long port = SipParser.number(b, mediaoff, msg.limit, m);
            if (port == 0) {
                // Linux: an inactive stream
                continue;
            }
            if (Long.compareUnsigned(port, 1024) < 0 || Long.compareUnsigned(port, 65535) > 0) {
                // Linux: "wrong port %u"
                return Verdict.DROP;
            }
            boolean own = SipParser.sdpAddrHeader(family, b, mediaoff, msg.limit, SipParser.SDP_CONNECTION,
                    SipParser.SDP_MEDIA, m) > 0;
            if (own) {
                msg.rtpHi = m.hi;
                msg.rtpLo = m.lo;
                haveRtpAddr = true;
            } else if (session) {
                msg.rtpHi = sessionHi;
                msg.rtpLo = sessionLo;
            } else {
                // Linux: "cannot parse SDP message"
                return Verdict.DROP;
            }
            ret = expectRtpRtcp(msg, (int) port, MEDIA_CLASS[t], mediaoff, medialen);
            if (ret != Verdict.ACCEPT) {
                // Linux: "cannot add expectation for voice"
                return ret;
            }
            if (own && msg.natted()) {
                // Linux: nf_nat_sdp_addr: the media's own c= becomes the announced address
                ret = SipNat.sdpAddr(msg, mediaoff, m) ? Verdict.ACCEPT : Verdict.DROP;
                if (ret != Verdict.ACCEPT) {
                    // Linux: "cannot mangle SDP"
                    return ret;
                }
            }
            i++;
        }
        if (msg.natted() && haveRtpAddr) {
            // Linux: nf_nat_sdp_session: o= and the session's c=
            ret = SipNat.sdpSession(msg, sdpoff, m) ? Verdict.ACCEPT : Verdict.DROP;
        }
        return ret;
    }

    /** sdp_media_type: the index of the media type the m= value starts with, or -1. */
    private static int mediaType(byte[] b, int off, int limit, int len) {
        for (int t = 0; t < MEDIA.length; t++) {
            String name = MEDIA[t];
            if (len < name.length()) {
                continue;
            }
            boolean same = true;
            for (int k = 0; k < name.length() && same; k++) {
                same = b[off + k] == name.charAt(k);
            }
            if (same) {
                return t;
            }
        }
        return -1;
    }

    /**
     * set_expected_rtp_rtcp: RTP on the even port and RTCP on the odd one from the peer to the SDP's address
     * ({@code msg.rtp*}), unless that is not the sender's own (sip_direct_media) or another SIP connection already
     * expects it; on a NATed connection nf_nat_sdp_media sets them up (or, when another connection's NATed
     * expectation is found, the media goes straight to where that one leads: the SDP's port is rewritten to it).
     */
    private int expectRtpRtcp(Message msg, int port, int cls, int mediaoff, int medialen) {
        Connection ct = msg.ct;
        Tuple mine = ct.tuple(msg.dir);
        Tuple peer = ct.tuple(1 - msg.dir);
        ModuleParameters params = ct.owner.host().moduleParameters();
        boolean direct = params.sipDirectMedia();
        if (direct) {
            if (msg.rtpHi != mine.srcHi || msg.rtpLo != mine.srcLo) {
                // Linux: sip_direct_media: media between the signalling endpoints only
                return Verdict.ACCEPT;
            }
        } else if (params.sipExternalMedia() && reachedBySignallingDevice(msg)) {
            // Linux: sip_external_media: the peer reaches the media by the device it is reached by; nothing to expect
            return Verdict.ACCEPT;
        }
        // Linux: without sip_direct_media the media is expected from any source (saddr NULL)
        long fromHi = direct ? peer.srcHi : 0;
        long fromLo = direct ? peer.srcLo : 0;
        Conntrack table = ct.owner;
        Tuple probe = new Tuple().set(ct.family(), Protocol.UDP, fromHi, fromLo, msg.rtpHi, msg.rtpLo, 0, port,
                ct.zone);
        boolean directRtp = false;
        boolean skipExpect = false;
        do {
            Expectation e = table.findExpectation(probe, msg.now);
            if (e == null || e.master == ct || e.master.helperFunction != this || e.expectClass != cls) {
                break;
            }
            if (!directRtp && (e.savedHi != e.dstHi || e.savedLo != e.dstLo || e.savedPort != e.dstPort)
                    && msg.natted()) {
                // Linux: both ends NATed: the media may go straight to where the other expectation leads
                msg.rtpHi = e.savedHi;
                msg.rtpLo = e.savedLo;
                probe.set(ct.family(), Protocol.UDP, fromHi, fromLo, e.savedHi, e.savedLo, 0, e.savedPort, ct.zone);
                directRtp = true;
            } else {
                skipExpect = true;
            }
        } while (!skipExpect);
        int base = probe.dstId & ~1;
        if (directRtp && !SipNat.sdpPort(msg, mediaoff, medialen, base, MATCH.get())) {
            return Verdict.DROP;
        }
        if (skipExpect) {
            return Verdict.ACCEPT;
        }
        Expectation rtp = media(ct, direct, peer, msg.rtpHi, msg.rtpLo, base, cls);
        Expectation rtcp = media(ct, direct, peer, msg.rtpHi, msg.rtpLo, base + 1, cls);
        if (msg.natted() && !directRtp) {
            return SipNat.sdpMedia(msg, rtp, rtcp, mediaoff, medialen, MATCH.get());
        }
        // Linux: -EALREADY counts as added (the same media on another connection, or of another type)
        int errp = table.expectRelated(rtp, msg.now, true);
        if (errp == 0 || errp == Conntrack.EALREADY) {
            int errcp = table.expectRelated(rtcp, msg.now, true);
            if (errcp == 0 || errcp == Conntrack.EALREADY) {
                return Verdict.ACCEPT;
            }
            if (errp == 0) {
                table.unexpectRelated(rtp);
            }
        }
        return Verdict.DROP;
    }

    private static Expectation media(Connection ct, boolean fromPeer, Tuple peer, long hi, long lo, int port,
            int cls) {
        return new Expectation(ct, ct.family(), Protocol.UDP, fromPeer ? peer.srcHi : 0, fromPeer ? peer.srcLo : 0,
                fromPeer ? hostMaskHi(ct.family()) : 0, fromPeer ? hostMaskLo(ct.family()) : 0, 0, 0, hi, lo, port, 0,
                cls);
    }

    private static long hostMaskHi(Family f) {
        return f == Family.IPV4 ? 0 : -1L;
    }

    private static long hostMaskLo(Family f) {
        return f == Family.IPV4 ? 0xFFFFFFFFL : -1L;
    }

    /**
     * sip_external_media's test: the route to the media address (nf_ip_route / nf_ip6_route: an output lookup by
     * destination only) leaves by the device of the signalling packet's own route (skb_dst's: at POSTROUTING the
     * output device; delivered to the host, the loopback: checked on 6.18 in a netns, media behind the receiving
     * device is still expected, media at one of the host's addresses is not). No route: false.
     */
    private static boolean reachedBySignallingDevice(Message msg) {
        Host host = msg.ct.owner.host();
        Family f = msg.family();
        RouteResult media = host.lookup(f, address(f, msg.rtpHi, msg.rtpLo), null, 0, null, null);
        if (media == null || media.isError() || media.dev() == null) {
            return false;
        }
        String dev = msg.pkt.hook() == Hook.POSTROUTING ? msg.pkt.outInterface() : LOOPBACK;
        return media.dev().equals(dev);
    }


    private static IpAddress address(Family f, long hi, long lo) {
        return f == Family.IPV4 ? IpAddress.ipv4((int) lo) : new IpAddress(Family.IPV6, hi, lo);
    }

    /** exp->expectfn: nf_nat_sip_expected for what nf_nat_sip set up. */
    @Override
    void expectationMet(PacketContext pkt, Connection ct, Expectation exp, long now) {
        if (exp.natDirection >= 0) {
            SipNat.expected(pkt, ct, exp, now);
        }
    }

    // ---- REGISTER ----

    /** The Expires: header's number, 0 without one. */
    private static long expiresHeader(Message msg, Match m) {
        if (SipParser.header(msg.family(), msg.b, msg.start, msg.start, msg.limit, SipParser.HDR_EXPIRES, m) > 0) {
            return SipParser.number(msg.b, m.off, msg.limit, m) & 0xFFFFFFFFL;
        }
        return 0;
    }

    /** process_register_request. */
    private int register(Message msg, long cseq, Match m) {
        if (msg.expected) {
            // Linux: expected connections can not register again
            return Verdict.ACCEPT;
        }
        Connection ct = msg.ct;
        Family family = msg.family();
        byte[] b = msg.b;
        long expires = expiresHeader(msg, m);
        int r = SipParser.headerUri(family, b, msg.start, msg.limit, SipParser.HDR_CONTACT, null, m);
        if (r < 0) {
            // Linux: "cannot parse contact"
            return Verdict.DROP;
        } else if (r == 0) {
            return Verdict.ACCEPT;
        }
        Tuple mine = ct.tuple(msg.dir);
        if (m.hi != mine.srcHi || m.lo != mine.srcLo) {
            // Linux: no third-party registrations
            return Verdict.ACCEPT;
        }
        long hi = m.hi;
        long lo = m.lo;
        int port = m.port;
        int contactOff = m.off;
        int contactLen = m.len;
        int after = m.off + m.len;
        int proto = SipParser.transport(b, after, msg.limit, ct.protocol(), m);
        if (proto == 0) {
            return Verdict.ACCEPT;
        }
        int n = SipParser.numericalParam(b, after, msg.limit, "expires=", m);
        if (n < 0) {
            // Linux: "cannot parse expires"
            return Verdict.DROP;
        }
        if (n > 0) {
            expires = m.value & 0xFFFFFFFFL;
        }
        int ret = Verdict.ACCEPT;
        if (expires != 0) {
            Tuple registrar = ct.tuple(1 - msg.dir);
            Family f = ct.family();
            // Linux: sip_direct_signalling: incoming calls from the registrar only (else from anywhere, saddr NULL);
            // the expected connection gets the helper; PERMANENT | INACTIVE until the registrar accepts
            boolean direct = ct.owner.host().moduleParameters().sipDirectSignalling();
            Expectation exp = new Expectation(ct, f, proto, direct ? registrar.srcHi : 0, direct ? registrar.srcLo : 0,
                    direct ? hostMaskHi(f) : 0, direct ? hostMaskLo(f) : 0, 0, 0, hi, lo, port,
                    Expectation.PERMANENT | Expectation.INACTIVE, EXPECT_SIGNALLING);
            exp.helper = this;
            if (msg.natted()) {
                ret = SipNat.expect(msg, exp, contactOff, contactLen, m);
            } else if (ct.owner.expectRelated(exp, msg.now) != 0) {
                // Linux: "cannot add expectation"
                ret = Verdict.DROP;
            }
        }
        if (ret == Verdict.ACCEPT) {
            ct.sipRegisterCseq = cseq;
        }
        return ret;
    }

    /** process_register_response. */
    private int registerResponse(Message msg, long cseq, long code, Match m) {
        Connection ct = msg.ct;
        if (ct.sipRegisterCseq != cseq) {
            // Linux: a late answer to an earlier REGISTER
            return Verdict.ACCEPT;
        }
        if (code >= 100 && code <= 199) {
            return Verdict.ACCEPT;
        }
        if (code >= 200 && code <= 299) {
            Family family = msg.family();
            byte[] b = msg.b;
            long expires = expiresHeader(msg, m);
            Tuple toward = ct.tuple(msg.dir);
            SipParser.Walk walk = new SipParser.Walk(msg.start);
            while (true) {
                long cExpires = expires;
                int r = SipParser.headerUri(family, b, msg.start, msg.limit, SipParser.HDR_CONTACT, walk, m);
                if (r < 0) {
                    // Linux: "cannot parse contact"
                    return Verdict.DROP;
                } else if (r == 0) {
                    break;
                }
                if (m.hi != toward.dstHi || m.lo != toward.dstLo) {
                    continue;
                }
                long hi = m.hi;
                long lo = m.lo;
                int port = m.port;
                int after = m.off + m.len;
                int proto = SipParser.transport(b, after, msg.limit, ct.protocol(), m);
                if (proto == 0) {
                    continue;
                }
                int n = SipParser.numericalParam(b, after, msg.limit, "expires=", m);
                if (n < 0) {
                    // Linux: "cannot parse expires"
                    return Verdict.DROP;
                }
                if (n > 0) {
                    cExpires = m.value & 0xFFFFFFFFL;
                }
                if (cExpires == 0) {
                    break;
                }
                // Linux: jiffies + expires * HZ in unsigned int
                long ticks = (cExpires * Conntrack.HZ) & 0xFFFFFFFFL;
                if (ct.owner.refreshExpectation(ct, EXPECT_SIGNALLING, hi, lo, proto, port, msg.now + ticks,
                        msg.now)) {
                    return Verdict.ACCEPT;
                }
            }
        }
        ct.owner.flushExpectations(ct, EXPECT_SIGNALLING, false, msg.now);
        return Verdict.ACCEPT;
    }
}
