package org.jnetfilter.core.conntrack;

import static org.jnetfilter.core.conntrack.H323Types.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.RouteResult;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;

/**
 * The helpers of nf_conntrack_h323 (IPv4 and IPv6): {@code Q.931} on the call signalling connection (TCP 1720),
 * {@code H.245} on the control connection a Q.931 message announces, {@code RAS} on registration and admission
 * (UDP 1719).
 *
 * <pre>
 *   TCP payload      TPKTs (RFC 1006: 0x03 0x00, 16-bit length counting the 4-byte header), several per segment;
 *                    a segment of only a TPKT header announces its data in the next segment of that direction
 *                    (NetMeeting), a TPKT cut by the segment's end ends the reading
 *   Q.931 TPKT       protocol discriminator 8, call reference, message type, IEs; the User-user IE (0x7E) holds
 *                    the H.225.0 H323-UserInformation ({@link H323Per#decodeQ931})
 *   Setup, CallProceeding, Connect, Alerting, Progress, Facility:
 *                    h245Address of the sender's own address: the H.245 connection is expected from the other
 *                    side to that address and port (TCP, helper H.245); each fastStart OpenLogicalChannel as H.245's
 *   Facility with reason callForwarded and an alternativeAddress: the second call leg is expected (TCP, helper
 *                    Q.931) from the other side to that address, unless (callforward_filter=1) both lie behind the
 *                    same route (gateway and device)
 *   h245Control      tunnelled H.245 messages, as on an H.245 connection
 *   H.245 TPKT       MultimediaSystemControlMessage: OpenLogicalChannel and OpenLogicalChannelAck's
 *                    H2250LogicalChannel(Ack)Parameters mediaChannel / mediaControlChannel of the sender's address:
 *                    RTP (even port) and RTCP (odd port) expected, UDP, from the other side; a T.120 separate LAN
 *                    stack's address: TCP expected, PERMANENT
 * </pre>
 *
 * RAS (every datagram, one RasMessage):
 * <pre>
 *   RRQ   the first callSignalAddress that is the sender's own: calls to it expected (TCP, helper Q.931,
 *         PERMANENT), from the gatekeeper only (gkrouted_only=1); its port kept; timeToLive or default_rrq_ttl (300)
 *   RCF   its timeToLive (if any) or the RRQ's becomes the RAS connection's timeout (and that of the call's
 *         expectation found from the unspecified address: with gkrouted_only none is)
 *   URQ   the connection's expectations removed, 30 s for the UCF/URJ
 *   ACF   a destCallSignalAddress other than the sender's peer: the call expected (TCP, helper Q.931, PERMANENT)
 *   LCF   the callSignalAddress: the call expected likewise
 *   GCF   a rasAddress other than the sender's own address and port: RAS expected there (UDP, helper RAS), unless
 *         the connection is itself expected
 * </pre>
 *
 * Every expectation is of class 0 from the other side's address (mask /32 or /128; an RRQ's without gkrouted_only
 * from any), any source port. A decoding error ends the reading (the packet passes); an expectation the table
 * refuses drops the packet. Q.931 and H.245 read ESTABLISHED packets only. Q.931: max_expected 20, H.245: 18, RAS:
 * 32, all 240 s.
 *
 * <p>On a NATed IPv4 connection nf_nat_h323's hooks ({@link H323Nat}) make the expectations whose address is the
 * translated sender's at the translated address and a free port and rewrite the message to say so; Setup's
 * destCallSignalAddress and sourceCallSignalAddress, RAS addresses (GRQ, RRQ, LRQ, IRR) and call signalling
 * addresses (RCF, URQ, ARQ, an answering ACF, IRR) are rewritten too. IPv6 is never translated (as Linux).
 *
 * <p>Packet thread, under the connection's lock; the payload is copied into the thread's decoder buffer; allocates
 * only the expectations.
 */
final class H323Helper extends ConntrackHelper {
    // Linux: Q931_PORT, H323_RTP_CHANNEL_MAX
    static final int Q931_PORT = 1720;
    private static final int RTP_CHANNEL_MAX = 4;
    /** Linux: callforward_filter module parameter (default 1). */
    static final boolean CALLFORWARD_FILTER = true;

    /** Linux: default_rrq_ttl module parameter (seconds), gkrouted_only (default 1). */
    static final int DEFAULT_RRQ_TTL = 300;
    static final boolean GKROUTED_ONLY = true;

    static final H323Helper H245 = new H323Helper("H.245", Protocol.UDP, RTP_CHANNEL_MAX * 4 + 2);
    static final H323Helper Q931 = new H323Helper("Q.931", Protocol.TCP, RTP_CHANNEL_MAX * 4 + 4);
    static final H323Helper RAS = new H323Helper("RAS", Protocol.UDP, 32);

    private final boolean q931;
    private final boolean ras;
    /** One reader per packet thread, reused: nothing but the expectations is allocated per packet. */
    private final ThreadLocal<Signal> signals = ThreadLocal.withInitial(Signal::new);

    private H323Helper(String name, int protocol, int maxExpected) {
        // Linux: q931_exp_policy, h245_exp_policy and ras_exp_policy: timeout 240 s; the H.245 helper is registered
        // for UDP (its tuple's protonum), it is only ever given by an expectation to a TCP connection
        super(name, protocol, true, maxExpected, 240);
        this.q931 = name.equals("Q.931");
        this.ras = name.equals("RAS");
    }

    @Override
    int help(PacketContext pkt, Connection ct, int ctinfo, int protoff, long now) {
        if (ras) {
            return rasHelp(pkt, ct, ctinfo, protoff, now);
        }
        if (ctinfo != CtInfo.ESTABLISHED && ctinfo != CtInfo.ESTABLISHED_REPLY) {
            return Verdict.ACCEPT;
        }
        int len = pkt.length();
        if (protoff + 20 > len) {
            return Verdict.ACCEPT;
        }
        int payload = protoff + (pkt.networkU8(protoff + 12) >>> 4) * 4;
        H323Per per = H323Per.get();
        int tcpLength = copyPayload(pkt, payload, per);
        int dir = CtInfo.direction(ctinfo);
        synchronized (ct) {
            Signal s = signals.get().reset(pkt, ct, dir, per, now, protoff);
            int dataoff = -1;
            int datalen = 0;
            while (true) {
                // get_tpkt_data
                if (tcpLength <= 0) {
                    ct.h323TpktLength[dir] = 0;
                    break;
                }
                int tpkt;
                int remaining;
                if (dataoff < 0) {
                    if (tcpLength < 4 || per.buffer[0] != 0x03 || per.buffer[1] != 0) {
                        int announced = ct.h323TpktLength[dir];
                        ct.h323TpktLength[dir] = 0;
                        if (announced > 0 && announced <= tcpLength) {
                            // Linux: NetMeeting sent the TPKT header alone in the previous segment
                            dataoff = 0;
                            datalen = announced;
                            if (s.message(0, announced) < 0) {
                                return Verdict.DROP;
                            }
                            if (s.stopped) {
                                break;
                            }
                            continue;
                        }
                        break;
                    }
                    tpkt = 0;
                    remaining = tcpLength;
                } else {
                    tpkt = dataoff + datalen;
                    remaining = tcpLength - tpkt;
                    if (remaining <= 4 || per.buffer[tpkt] != 0x03 || per.buffer[tpkt + 1] != 0) {
                        ct.h323TpktLength[dir] = 0;
                        break;
                    }
                }
                int tpktLength = (per.buffer[tpkt + 2] & 0xFF) << 8 | per.buffer[tpkt + 3] & 0xFF;
                if (tpktLength < 4) {
                    ct.h323TpktLength[dir] = 0;
                    break;
                }
                if (tpktLength > remaining) {
                    // Linux: a segment of only a TPKT header announces its data; a TPKT cut short is not read
                    ct.h323TpktLength[dir] = remaining == 4 ? tpktLength - 4 : 0;
                    break;
                }
                dataoff = tpkt + 4;
                datalen = tpktLength - 4;
                ct.h323TpktLength[dir] = 0;
                if (s.message(dataoff, datalen) < 0) {
                    return Verdict.DROP;
                }
                if (s.stopped) {
                    break;
                }
            }
        }
        return Verdict.ACCEPT;
    }

    /**
     * ras_help: every datagram (no ESTABLISHED check) is a RasMessage; a decoding error lets it pass, an
     * expectation the table refuses drops it.
     */
    private int rasHelp(PacketContext pkt, Connection ct, int ctinfo, int protoff, long now) {
        int len = pkt.length();
        int payload = protoff + 8;
        if (payload >= len) {
            return Verdict.ACCEPT;
        }
        H323Per per = H323Per.get();
        int length = copyPayload(pkt, payload, per);
        if (per.decodeRas(0, length) < 0) {
            return Verdict.ACCEPT;
        }
        synchronized (ct) {
            Signal s = signals.get().reset(pkt, ct, CtInfo.direction(ctinfo), per, now, protoff);
            return s.rasMessage() < 0 ? Verdict.DROP : Verdict.ACCEPT;
        }
    }

    /**
     * The payload from {@code payload} (an offset in the network header) into the decoder's buffer, as much of it
     * as the buffer holds; its length there.
     */
    private static int copyPayload(PacketContext pkt, int payload, H323Per per) {
        int length = Math.min(pkt.length() - payload, per.buffer.length);
        MemorySegment.copy(pkt.segment(), ValueLayout.JAVA_BYTE, pkt.networkOffset() + payload, per.buffer, 0, length);
        return length;
    }

    /**
     * exp->expectfn: a forwarded call's second leg is translated by ip_nat_callforwarding_expect, every other
     * expectation nf_nat_h323 set up follows its master (ip_nat_q931_expect with gkrouted_only, whose source is the
     * gatekeeper's, is nf_nat_follow_master too).
     */
    @Override
    void expectationMet(PacketContext pkt, Connection ct, Expectation exp, long now) {
        if (exp.natDirection < 0) {
            return;
        }
        if (q931 && exp.helper == Q931) {
            H323Nat.callForwardingExpected(pkt, ct, exp);
        } else {
            super.expectationMet(pkt, ct, exp, now);
        }
    }

    /** One segment's messages: decodes each and makes the expectations it announces. */
    final class Signal {
        PacketContext pkt;
        Connection ct;
        int dir;
        H323Per per;
        long now;
        Family family;
        /** A decoding error ended the reading of the segment. */
        boolean stopped;
        int data;
        long addrHi;
        long addrLo;
        int port;
        int protoff;
        /** nf_nat_h323 applies: an IPv4 connection with source or destination NAT. */
        boolean natted;
        /** set_addr's 6 bytes, reused. */
        final byte[] rewrite = new byte[6];

        Signal reset(PacketContext pkt, Connection ct, int dir, H323Per per, long now, int protoff) {
            this.pkt = pkt;
            this.ct = ct;
            this.dir = dir;
            this.per = per;
            this.now = now;
            this.protoff = protoff;
            this.family = ct.family();
            this.natted = family == Family.IPV4 && (ct.status & Connection.NAT_MASK) != 0;
            this.stopped = false;
            return this;
        }

        /**
         * The condition of the expect_* functions for their NAT hook: this direction's source is translated (it is
         * not what the peer sends to) on a NATed IPv4 connection.
         */
        private boolean senderTranslated() {
            Tuple t = ct.tuple(dir);
            Tuple r = ct.tuple(1 - dir);
            return natted && (t.srcHi != r.dstHi || t.srcLo != r.dstLo);
        }

        /** A TPKT's data at {@code off} in the payload: -1 to drop the packet. */
        int message(int off, int length) {
            data = off;
            if (q931) {
                if (per.decodeQ931(off, length) < 0) {
                    // Linux: "We don't drop when decoding error"
                    stopped = true;
                    return 0;
                }
                return q931Message();
            }
            if (per.decodeH245(off, length) < 0) {
                stopped = true;
                return 0;
            }
            return controlMessage(0);
        }

        /** process_ras: GRQ, ARQ, LRQ and IRR only matter to nf_nat_h323. */
        int rasMessage() {
            int[] slots = per.slots;
            int m = RAS_AT;
            data = 0;
            return switch (slots[0]) {
                case GRQ -> natted ? H323Nat.setRasAddress(this, m + 1, 1) : 0;
                case LRQ -> natted ? H323Nat.setRasAddress(this, m + 1, 1) : 0;
                case ARQ -> natted ? admissionRequest(m) : 0;
                case IRR -> {
                    if (natted && (H323Nat.setRasAddress(this, m + 1, 1) < 0
                            || H323Nat.setSignalAddress(this, m + 5, slots[m + 4]) < 0)) {
                        yield -1;
                    }
                    yield 0;
                }
                case GCF -> {
                    // process_gcf: a gatekeeper's RAS address other than this one: a new RAS "connection"
                    if (!h225Address(m + 1)) {
                        yield 0;
                    }
                    Tuple t = ct.tuple(dir);
                    if (addrHi == t.srcHi && addrLo == t.srcLo && port == t.srcId
                            || (ct.status & Connection.EXPECTED) != 0) {
                        // Linux: "Avoid RAS expectation loops. A GCF is never expected."
                        yield 0;
                    }
                    Expectation exp = expect(Protocol.UDP, addrHi, addrLo, port, 0);
                    exp.helper = RAS;
                    yield ct.owner.expectRelated(exp, now) != 0 ? -1 : 0;
                }
                case RRQ -> {
                    if (expectQ931(m + 1) < 0) {
                        yield -1;
                    }
                    if (natted && H323Nat.setRasAddress(this, m + RRQ_RAS_ADDRESS_AT + 1,
                            slots[m + RRQ_RAS_ADDRESS_AT]) < 0) {
                        yield -1;
                    }
                    ct.h323Timeout = has(REGISTRATION_REQUEST, m, "timeToLive") ? slots[m + RRQ_TIME_TO_LIVE_AT]
                            : DEFAULT_RRQ_TTL;
                    yield 0;
                }
                case RCF -> {
                    if (natted && H323Nat.setSignalAddress(this, m + 2, slots[m + 1]) < 0) {
                        yield -1;
                    }
                    if (has(REGISTRATION_CONFIRM, m, "timeToLive")) {
                        ct.h323Timeout = slots[m + RCF_TIME_TO_LIVE_AT];
                    }
                    if (ct.h323Timeout > 0) {
                        // the registration's time to live becomes the RAS connection's timeout and that of the
                        // call signalling expectation; with gkrouted_only that expectation has the gatekeeper's
                        // source address, which find_expect's unspecified source never matches
                        ct.refreshTimeout(now, (long) ct.h323Timeout * Conntrack.HZ);
                        Tuple t = ct.tuple(dir);
                        ct.owner.retimeExpectation(ct, t.dstHi, t.dstLo, ct.h323SignalPort[1 - dir], now,
                                ct.h323Timeout);
                    }
                    yield 0;
                }
                case URQ -> {
                    if (natted && H323Nat.setSignalAddress(this, m + 2, slots[m + 1]) < 0) {
                        yield -1;
                    }
                    // process_urq: the old expectations go, 30 s for the UCF or URJ
                    ct.owner.removeExpectationsOf(ct);
                    ct.h323SignalPort[0] = 0;
                    ct.h323SignalPort[1] = 0;
                    ct.refreshTimeout(now, 30L * Conntrack.HZ);
                    yield 0;
                }
                case ACF -> {
                    if (!h225Address(m + 1)) {
                        yield 0;
                    }
                    Tuple t = ct.tuple(dir);
                    if (addrHi == t.dstHi && addrLo == t.dstLo) {
                        // Linux: "Answering ACF": nf_nat_h323's set_sig_addr
                        yield natted ? H323Nat.setSignalAddress(this, m + 1, 1) : 0;
                    }
                    yield expectCall(addrHi, addrLo, port);
                }
                case LCF -> h225Address(m + 1) ? expectCall(addrHi, addrLo, port) : 0;
                default -> 0;
            };
        }

        /**
         * process_arq behind NAT: a destCallSignalAddress that is the sender's registered address (answering)
         * becomes where the gatekeeper sends to and the translated port; else a srcCallSignalAddress of the
         * sender's address (calling) becomes where the gatekeeper sends to, its port kept.
         */
        private int admissionRequest(int m) {
            int[] sig = ct.h323SignalPort;
            Tuple t = ct.tuple(dir);
            Tuple r = ct.tuple(1 - dir);
            if (has(ADMISSION_REQUEST, m, "destCallSignalAddress") && h225Address(m + 1) && fromSender()
                    && port == sig[dir]) {
                return H323Nat.setH225(this, m + 1, r.dstLo, sig[1 - dir]) ? 0 : -1;
            }
            if (has(ADMISSION_REQUEST, m, "srcCallSignalAddress") && h225Address(m + 4) && addrLo == t.srcLo) {
                return H323Nat.setH225(this, m + 4, r.dstLo, port) ? 0 : -1;
            }
            return 0;
        }

        /** process_acf/process_lcf's expectation of a call to {@code addr}:{@code port}, helper Q.931. */
        private int expectCall(long hi, long lo, int dport) {
            Expectation exp = expect(Protocol.TCP, hi, lo, dport, Expectation.PERMANENT);
            exp.helper = Q931;
            return ct.owner.expectRelated(exp, now) != 0 ? -1 : 0;
        }

        /**
         * expect_q931: the first of an RRQ's call signalling addresses that is the sender's own, with a port: calls
         * to it are expected (TCP, helper Q.931, PERMANENT), with gkrouted_only only from the gatekeeper.
         */
        private int expectQ931(int list) {
            int count = per.slots[list];
            int i = 0;
            for (; i < count; i++) {
                if (h225Address(list + 1 + i * TRANSPORT_ADDRESS_SLOTS) && fromSender() && port != 0) {
                    break;
                }
            }
            if (i >= count) {
                return 0;
            }
            Tuple other = ct.tuple(1 - dir);
            boolean v4 = family == Family.IPV4;
            long maskHi = GKROUTED_ONLY ? (v4 ? 0 : -1L) : 0;
            long maskLo = GKROUTED_ONLY ? (v4 ? 0xFFFFFFFFL : -1L) : 0;
            Expectation exp = new Expectation(ct, family, Protocol.TCP, GKROUTED_ONLY ? other.srcHi : 0,
                    GKROUTED_ONLY ? other.srcLo : 0, maskHi, maskLo, 0, 0, other.dstHi, other.dstLo, port,
                    Expectation.PERMANENT, 0);
            exp.helper = Q931;
            if (natted) {
                return H323Nat.q931(this, list, i, port, exp);
            }
            if (ct.owner.expectRelated(exp, now) != 0) {
                return -1;
            }
            // Linux: "Save port for looking up expect in processing RCF"
            ct.h323SignalPort[dir] = port;
            return 0;
        }

        /** process_q931 */
        private int q931Message() {
            int[] slots = per.slots;
            int body = BODY_AT;
            int ret = switch (slots[BODY_INDEX_AT]) {
                case SETUP_BODY -> {
                    if (has(SETUP, body, "h245Address") && expectH245(body + 1) < 0) {
                        yield -1;
                    }
                    if (natted && setupCallSignalAddresses(body) < 0) {
                        yield -1;
                    }
                    yield has(SETUP, body, "fastStart") ? fastStart(body + SETUP_FAST_START_AT) : 0;
                }
                case CALL_PROCEEDING_BODY -> channels(CALL_PROCEEDING, body);
                case CONNECT_BODY -> channels(CONNECT, body);
                case ALERTING_BODY -> channels(ALERTING, body);
                case PROGRESS_BODY -> channels(PROGRESS, body);
                case FACILITY_BODY -> {
                    if (slots[body + FACILITY_REASON_AT] == CALL_FORWARDED) {
                        yield has(FACILITY, body, "alternativeAddress") ? expectCallForwarding(body + 1) : 0;
                    }
                    if (has(FACILITY, body, "h245Address") && expectH245(body + FACILITY_H245_AT) < 0) {
                        yield -1;
                    }
                    yield has(FACILITY, body, "fastStart") ? fastStart(body + FACILITY_FAST_START_AT) : 0;
                }
                default -> 0;
            };
            if (ret < 0) {
                return -1;
            }
            if (has(UU_PDU, PDU_AT, "h245Control")) {
                int count = slots[H245_CONTROL_AT];
                for (int i = 0; i < count; i++) {
                    if (controlMessage(H245_CONTROL_AT + 1 + i * CONTROL_MESSAGE_SLOTS) < 0) {
                        return -1;
                    }
                }
            }
            return 0;
        }

        /**
         * process_setup behind NAT: a destCallSignalAddress other than the callee's real address becomes it (and
         * its port), a sourceCallSignalAddress other than where the callee sends to becomes that (and its port).
         */
        private int setupCallSignalAddresses(int body) {
            Tuple r = ct.tuple(1 - dir);
            int dest = body + SETUP_DEST_CALL_SIGNAL_AT;
            if (has(SETUP, body, "destCallSignalAddress") && h225Address(dest)
                    && (addrHi != r.srcHi || addrLo != r.srcLo) && !H323Nat.setH225(this, dest, r.srcLo, r.srcId)) {
                return -1;
            }
            int source = body + SETUP_SOURCE_CALL_SIGNAL_AT;
            if (has(SETUP, body, "sourceCallSignalAddress") && h225Address(source)
                    && (addrHi != r.dstHi || addrLo != r.dstLo)
                    && !H323Nat.setH225(this, source, r.dstLo, r.dstId)) {
                return -1;
            }
            return 0;
        }

        private int channels(H323Types.Type uuie, int body) {
            if (has(uuie, body, "h245Address") && expectH245(body + 1) < 0) {
                return -1;
            }
            return has(uuie, body, "fastStart") ? fastStart(body + FAST_START_AT) : 0;
        }

        private int fastStart(int at) {
            int count = per.slots[at];
            for (int i = 0; i < count; i++) {
                if (openLogicalChannel(at + 1 + i * OLC_SLOTS) < 0) {
                    return -1;
                }
            }
            return 0;
        }

        private boolean has(H323Types.Type seq, int at, String component) {
            return (per.slots[at] & seq.bit(component)) != 0;
        }

        /** process_h245 */
        private int controlMessage(int at) {
            int[] slots = per.slots;
            if (slots[at] == 0 && slots[at + 1] == OPEN_LOGICAL_CHANNEL_REQUEST) {
                return openLogicalChannel(at + 2);
            }
            if (slots[at] == 1 && slots[at + 1] == OPEN_LOGICAL_CHANNEL_ACK_RESPONSE) {
                return openLogicalChannelAck(at + 2);
            }
            return 0;
        }

        /** process_olc */
        private int openLogicalChannel(int olc) {
            int[] slots = per.slots;
            int forwardMux = olc + OLC_FORWARD_MULTIPLEX_AT;
            if (slots[forwardMux] == FORWARD_H2250 && logicalChannel(forwardMux + 1) < 0) {
                return -1;
            }
            int reverse = olc + OLC_REVERSE_AT;
            if (has(OPEN_LOGICAL_CHANNEL, olc, "reverseLogicalChannelParameters")
                    && (slots[reverse] & 0x80000000) != 0 && slots[reverse + 1] == REVERSE_H2250
                    && logicalChannel(reverse + 2) < 0) {
                return -1;
            }
            int stack = olc + OLC_SEPARATE_STACK_AT;
            if (has(OPEN_LOGICAL_CHANNEL, olc, "separateStack") && slots[olc + OLC_FORWARD_DATA_TYPE_AT] == DATA
                    && slots[olc + OLC_FORWARD_APPLICATION_AT] == T120
                    && slots[olc + OLC_FORWARD_T120_AT] == SEPARATE_LAN_STACK
                    && slots[stack + 1] == LOCAL_AREA_ADDRESS && expectT120(stack + 2) < 0) {
                return -1;
            }
            return 0;
        }

        /** process_olca */
        private int openLogicalChannelAck(int olca) {
            int[] slots = per.slots;
            int reverse = olca + OLCA_REVERSE_AT;
            // OpenLogicalChannelAck's reverseLogicalChannelParameters: multiplexParameters is its second option
            if (has(OPEN_LOGICAL_CHANNEL_ACK, olca, "reverseLogicalChannelParameters")
                    && (slots[reverse] & 0x40000000) != 0 && slots[reverse + 1] == 1
                    && logicalChannel(reverse + 2) < 0) {
                return -1;
            }
            int mux = olca + OLCA_FORWARD_MULTIPLEX_AT;
            if (has(OPEN_LOGICAL_CHANNEL_ACK, olca, "forwardMultiplexAckParameters") && slots[mux] == 0) {
                int ack = mux + 1;
                if (has(H2250_ACK, ack, "mediaChannel") && expectRtpRtcp(ack + 1) < 0) {
                    return -1;
                }
                if (has(H2250_ACK, ack, "mediaControlChannel") && expectRtpRtcp(ack + 5) < 0) {
                    return -1;
                }
            }
            int stack = olca + OLCA_SEPARATE_STACK_AT;
            if (has(OPEN_LOGICAL_CHANNEL_ACK, olca, "separateStack") && slots[stack + 1] == LOCAL_AREA_ADDRESS
                    && expectT120(stack + 2) < 0) {
                return -1;
            }
            return 0;
        }

        /** process_h245_channel */
        private int logicalChannel(int h2250) {
            if (has(H2250_PARAMETERS, h2250, "mediaChannel") && expectRtpRtcp(h2250 + 1) < 0) {
                return -1;
            }
            if (has(H2250_PARAMETERS, h2250, "mediaControlChannel") && expectRtpRtcp(h2250 + 5) < 0) {
                return -1;
            }
            return 0;
        }

        /** get_h225_addr: an H.225.0 TransportAddress of the connection's family into addr/port. */
        boolean h225Address(int at) {
            int[] slots = per.slots;
            if (slots[at] == IP_ADDRESS && family == Family.IPV4) {
                return read(slots[at + 2], 4);
            }
            if (slots[at] == IP6_ADDRESS && family == Family.IPV6) {
                return read(slots[at + 2], 16);
            }
            return false;
        }

        /** get_h245_addr: an H.245 unicast TransportAddress of the connection's family. */
        private boolean h245Address(int at) {
            int[] slots = per.slots;
            if (slots[at] != 0) {
                return false;
            }
            if (slots[at + 1] == UNICAST_IP && family == Family.IPV4) {
                return read(slots[at + 3], 4);
            }
            if (slots[at + 1] == UNICAST_IP6 && family == Family.IPV6) {
                return read(slots[at + 3], 16);
            }
            return false;
        }

        private boolean read(int offset, int length) {
            int p = data + offset;
            long hi = 0;
            long lo = 0;
            for (int i = 0; i < length; i++) {
                int b = per.buffer[(p + i) & 0xFFFF] & 0xFF;
                if (length == 16 && i < 8) {
                    hi = hi << 8 | b;
                } else {
                    lo = lo << 8 | b;
                }
            }
            addrHi = hi;
            addrLo = lo;
            port = (per.buffer[(p + length) & 0xFFFF] & 0xFF) << 8 | per.buffer[(p + length + 1) & 0xFFFF] & 0xFF;
            return true;
        }

        /** Whether the address read is this direction's source (the sender announcing itself). */
        private boolean fromSender() {
            Tuple t = ct.tuple(dir);
            return addrHi == t.srcHi && addrLo == t.srcLo;
        }

        /** An expectation from the other side to {@code dstHi/dstLo}:{@code dport}, any source port. */
        private Expectation expect(int protocol, long dstHi, long dstLo, int dport, int flags) {
            Tuple other = ct.tuple(1 - dir);
            boolean v4 = family == Family.IPV4;
            return new Expectation(ct, family, protocol, other.srcHi, other.srcLo, v4 ? 0 : -1L,
                    v4 ? 0xFFFFFFFFL : -1L, 0, 0, dstHi, dstLo, dport, flags, 0);
        }

        /** expect_rtp_rtcp */
        private int expectRtpRtcp(int at) {
            if (!h245Address(at) || !fromSender() || port == 0) {
                return 0;
            }
            Tuple other = ct.tuple(1 - dir);
            Expectation rtp = expect(Protocol.UDP, other.dstHi, other.dstLo, port & ~1, 0);
            Expectation rtcp = expect(Protocol.UDP, other.dstHi, other.dstLo, port | 1, 0);
            if (senderTranslated()) {
                return H323Nat.rtpRtcp(this, at, port, port & ~1, rtp, rtcp);
            }
            Conntrack table = ct.owner;
            if (table.expectRelated(rtp, now) != 0) {
                return -1;
            }
            if (table.expectRelated(rtcp, now) != 0) {
                table.unexpectRelated(rtp);
                return -1;
            }
            return 0;
        }

        /** expect_t120 */
        private int expectT120(int at) {
            if (!h245Address(at) || !fromSender() || port == 0) {
                return 0;
            }
            Tuple other = ct.tuple(1 - dir);
            // Linux: "Accept multiple channels"
            Expectation exp = expect(Protocol.TCP, other.dstHi, other.dstLo, port, Expectation.PERMANENT);
            if (senderTranslated()) {
                return H323Nat.t120(this, at, port, exp);
            }
            return ct.owner.expectRelated(exp, now) != 0 ? -1 : 0;
        }

        /** expect_h245 */
        private int expectH245(int at) {
            if (!h225Address(at) || !fromSender() || port == 0) {
                return 0;
            }
            Tuple other = ct.tuple(1 - dir);
            Expectation exp = expect(Protocol.TCP, other.dstHi, other.dstLo, port, 0);
            exp.helper = H245;
            if (senderTranslated()) {
                return H323Nat.h245(this, at, port, exp);
            }
            return ct.owner.expectRelated(exp, now) != 0 ? -1 : 0;
        }

        /** expect_callforwarding */
        private int expectCallForwarding(int at) {
            if (!h225Address(at) || port == 0) {
                return 0;
            }
            Tuple other = ct.tuple(1 - dir);
            if (CALLFORWARD_FILTER && sameRoute(other)) {
                // Linux: "If the calling party is on the same side of the forward-to party, we don't need to
                // track the second call"
                return 0;
            }
            Expectation exp = expect(Protocol.TCP, addrHi, addrLo, port, 0);
            exp.helper = Q931;
            if (senderTranslated()) {
                return H323Nat.callForwarding(this, at, port, exp);
            }
            return ct.owner.expectRelated(exp, now) != 0 ? -1 : 0;
        }

        /** callforward_do_filter: both addresses routed through the same gateway and device. */
        private boolean sameRoute(Tuple other) {
            Host host = pkt.host();
            if (host == null) {
                return false;
            }
            RouteResult a = host.lookup(family, address(addrHi, addrLo), null, 0, null, null);
            RouteResult b = host.lookup(family, address(other.srcHi, other.srcLo), null, 0, null, null);
            if (a == null || b == null || a.errno() != 0 || b.errno() != 0) {
                return false;
            }
            return Objects.equals(a.gateway(), b.gateway()) && Objects.equals(a.dev(), b.dev());
        }

        private IpAddress address(long hi, long lo) {
            return family == Family.IPV4 ? IpAddress.ipv4((int) lo) : new IpAddress(Family.IPV6, hi, lo);
        }
    }
}
