package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.nat.HelperNat;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;

/**
 * The pptp helper (nf_conntrack_pptp.c, IPv4, TCP): follows the control connection of a PPTP session (RFC 2637),
 * always taken to be opened by the PNS (client) to the PAC (server), and, when a call is set up, expects its GRE
 * version 1 data flows in both directions, keyed by the call ids, and tells the GRE tracker which source key a
 * flow's packets stand for (the keymap: an enhanced-GRE packet carries only its receiver's call id).
 *
 * <pre>
 *   PPTP message (after TCP)   8 bytes: length, type (1 = control), magic cookie 0x1A2B3C4D
 *                              4 bytes: control message type, reserved; then the message (at least its size)
 *   PNS -> PAC                 start-session request    session NONE -> REQUESTED
 *                              stop-session request     session -> STOPREQ
 *                              outgoing-call request    (session CONFIRMED) call OUT_REQ, pns call id = its call id
 *                              incoming-call reply      (call IN_REQ/IN_REP, its peer's id = pac call id) accepted:
 *                                                       call IN_REP, pns call id = its call id; else NONE
 *                              call-clear request       (session CONFIRMED) call CLEAR_REQ
 *   PAC -> PNS                 start-session reply      (session REQUESTED or later) ok: CONFIRMED, else ERROR
 *                              stop-session reply       (session STOPREQ or before) ok: NONE, else ERROR
 *                              outgoing-call reply      (CONFIRMED, call OUT_REQ/OUT_CONF, peer id = pns call id)
 *                                                       connected: call OUT_CONF, pac call id, GRE expected
 *                              incoming-call request    (CONFIRMED) call IN_REQ, pac call id
 *                              incoming-call connected  (CONFIRMED, call IN_REP/IN_CONF, peer id = pns call id)
 *                                                       call IN_CONF, GRE expected
 *                              call-disconnect notify   call NONE; the call's GRE flows killed, or their
 *                                                       expectations removed; the keymap dropped
 * </pre>
 *
 * Messages out of order are ignored (the packet passes). The GRE expectations: from the PNS (source key its call
 * id) to the PAC at the PAC's call id, and the other way round (max_expected 2, 300 s); the first flow that
 * comes removes the other direction's expectation (pptp_expectfn: its reply is that flow). Only ESTABLISHED
 * packets are read. GRE flows time out as the GRE tracker says (30 s, 180 s once replied: pptp_expectfn's longer
 * timeouts are overwritten by the tracker's for the new entry).
 *
 * <p>On a NATed control connection nf_nat_pptp rewrites the PNS's call id to the control connection's NATed
 * port (outgoing calls; one call per session, as in Linux) and back in the PAC's answers, the expectations carry
 * the keys each side uses, and the GRE flow is translated like its master with the key rewritten on the way to the
 * PNS ({@link HelperNat#pptpCallId}, {@link HelperNat#pptpExpected}).
 *
 * <p>Packet thread, under the connection's lock; allocates the expectations and keymap entries.
 */
final class PptpHelper extends ConntrackHelper {
    // Linux: PPTP_CONTROL_PACKET, PPTP_MAGIC_COOKIE, PPTP_MSG_MAX
    private static final int CONTROL_PACKET = 1;
    private static final long MAGIC_COOKIE = 0x1A2B3C4DL;
    private static final int MESSAGE_MAX = 15;
    // Linux: enum PptpControlMessageType
    static final int START_SESSION_REQUEST = 1;
    static final int START_SESSION_REPLY = 2;
    static final int STOP_SESSION_REQUEST = 3;
    static final int STOP_SESSION_REPLY = 4;
    static final int ECHO_REQUEST = 5;
    static final int ECHO_REPLY = 6;
    static final int OUT_CALL_REQUEST = 7;
    static final int OUT_CALL_REPLY = 8;
    static final int IN_CALL_REQUEST = 9;
    static final int IN_CALL_REPLY = 10;
    static final int IN_CALL_CONNECT = 11;
    static final int CALL_CLEAR_REQUEST = 12;
    static final int CALL_DISCONNECT_NOTIFY = 13;
    static final int WAN_ERROR_NOTIFY = 14;
    static final int SET_LINK_INFO = 15;
    /** Linux: pptp_msg_size, the sizes of struct Pptp*: a shorter message is not read. */
    private static final int[] MESSAGE_SIZE = {0, 144, 144, 4, 4, 0, 0, 156, 20, 208, 12, 16, 4, 136, 28, 12};
    // Linux: PPTP_START_OK, PPTP_STOP_OK, PPTP_OUTCALL_CONNECT, PPTP_INCALL_ACCEPT
    private static final int RESULT_OK = 1;
    // Linux: enum pptp_ctrlsess_state
    static final int SESSION_NONE = 0;
    static final int SESSION_ERROR = 1;
    static final int SESSION_STOPREQ = 2;
    static final int SESSION_REQUESTED = 3;
    static final int SESSION_CONFIRMED = 4;
    // Linux: enum pptp_ctrlcall_state
    static final int CALL_NONE = 0;
    static final int CALL_OUT_REQ = 2;
    static final int CALL_OUT_CONF = 3;
    static final int CALL_IN_REQ = 4;
    static final int CALL_IN_REP = 5;
    static final int CALL_IN_CONF = 6;
    static final int CALL_CLEAR_REQ = 7;

    PptpHelper() {
        // Linux: pptp_exp_policy: max_expected 2, timeout 5 * 60 s
        super("pptp", Protocol.TCP, false, 2, 5 * 60);
    }

    @Override
    int help(PacketContext pkt, Connection ct, int ctinfo, int protoff, long now) {
        int len = pkt.length();
        int at = tcpPayload(pkt, ctinfo, protoff);
        if (at < 0 || at + 8 + 4 > len) {
            return Verdict.ACCEPT;
        }
        if (pkt.networkU16(at + 2) != CONTROL_PACKET || u32(pkt, at + 4) != MAGIC_COOKIE) {
            return Verdict.ACCEPT;
        }
        int msg = pkt.networkU16(at + 8);
        int req = at + 12;
        int reqlen = len - req;
        if (msg > 0 && msg <= MESSAGE_MAX && reqlen < MESSAGE_SIZE[msg]) {
            return Verdict.ACCEPT;
        }
        synchronized (ct) {
            boolean nat = (ct.status & Connection.NAT_MASK) != 0;
            if (CtInfo.direction(ctinfo) == 0) {
                if (outbound(pkt, ct, msg, req) && nat) {
                    return natOutbound(pkt, ct, ctinfo, protoff, msg, req - at);
                }
            } else if (inbound(pkt, ct, msg, req, now) && nat) {
                return natInbound(pkt, ct, ctinfo, protoff, msg, req - at);
            }
        }
        return Verdict.ACCEPT;
    }

    /**
     * nf_nat_pptp's pptp_outbound_pkt: an outgoing-call request's call id becomes the control connection's port on
     * the PAC's side (the NATed source port; the original is kept), an incoming-call reply and a call-clear request
     * get the PNS call id the helper holds. {@code reqOffset}: the message's offset in the TCP payload.
     */
    private static int natOutbound(PacketContext pkt, Connection ct, int ctinfo, int protoff, int msg,
            int reqOffset) {
        int newCallId = ct.pptpPnsCallId;
        switch (msg) {
            case OUT_CALL_REQUEST -> {
                // Linux: "For now we use TCP source port. This breaks multiple calls within one control session"
                ct.natPptpPnsCallId = ct.pptpPnsCallId;
                newCallId = ct.reply.dstId;
                ct.pptpPnsCallId = newCallId;
            }
            case IN_CALL_REPLY, CALL_CLEAR_REQUEST -> {
            }
            default -> {
                return Verdict.ACCEPT;
            }
        }
        return HelperNat.pptpCallId(pkt, ct, ctinfo, protoff, reqOffset, newCallId);
    }

    /**
     * nf_nat_pptp's pptp_inbound_pkt: the peer's call id of an outgoing-call reply, incoming-call connected, WAN
     * error notify and set-link-info, and the call id of a call-disconnect notify (sic), become the PNS's original
     * call id.
     */
    private static int natInbound(PacketContext pkt, Connection ct, int ctinfo, int protoff, int msg,
            int reqOffset) {
        int offset;
        switch (msg) {
            case OUT_CALL_REPLY -> offset = 2;
            case IN_CALL_CONNECT, WAN_ERROR_NOTIFY, CALL_DISCONNECT_NOTIFY, SET_LINK_INFO -> offset = 0;
            default -> {
                return Verdict.ACCEPT;
            }
        }
        return HelperNat.pptpCallId(pkt, ct, ctinfo, protoff, reqOffset + offset, ct.natPptpPnsCallId);
    }

    /** pptp_outbound_pkt: PNS to PAC; false for a message out of order or unknown (NAT leaves it alone). */
    private static boolean outbound(PacketContext pkt, Connection ct, int msg, int req) {
        switch (msg) {
            case START_SESSION_REQUEST -> {
                if (ct.pptpSession != SESSION_NONE) {
                    return false;
                }
                ct.pptpSession = SESSION_REQUESTED;
            }
            case STOP_SESSION_REQUEST -> ct.pptpSession = SESSION_STOPREQ;
            case OUT_CALL_REQUEST -> {
                if (ct.pptpSession != SESSION_CONFIRMED) {
                    return false;
                }
                ct.pptpCall = CALL_OUT_REQ;
                ct.pptpPnsCallId = pkt.networkU16(req);
            }
            case IN_CALL_REPLY -> {
                if ((ct.pptpCall != CALL_IN_REQ && ct.pptpCall != CALL_IN_REP)
                        || ct.pptpPacCallId != pkt.networkU16(req + 2)) {
                    return false;
                }
                if (pkt.networkU8(req + 4) == RESULT_OK) {
                    ct.pptpCall = CALL_IN_REP;
                    ct.pptpPnsCallId = pkt.networkU16(req);
                } else {
                    ct.pptpCall = CALL_NONE;
                }
            }
            case CALL_CLEAR_REQUEST -> {
                if (ct.pptpSession != SESSION_CONFIRMED) {
                    return false;
                }
                ct.pptpCall = CALL_CLEAR_REQ;
            }
            case SET_LINK_INFO, ECHO_REQUEST, ECHO_REPLY -> {
            }
            default -> {
                return false;
            }
        }
        return true;
    }

    /** pptp_inbound_pkt: PAC to PNS; false for a message out of order or unknown (NAT leaves it alone). */
    private static boolean inbound(PacketContext pkt, Connection ct, int msg, int req, long now) {
        switch (msg) {
            case START_SESSION_REPLY -> {
                if (ct.pptpSession < SESSION_REQUESTED) {
                    return false;
                }
                ct.pptpSession = pkt.networkU8(req + 2) == RESULT_OK ? SESSION_CONFIRMED : SESSION_ERROR;
            }
            case STOP_SESSION_REPLY -> {
                if (ct.pptpSession > SESSION_STOPREQ) {
                    return false;
                }
                ct.pptpSession = pkt.networkU8(req) == RESULT_OK ? SESSION_NONE : SESSION_ERROR;
            }
            case OUT_CALL_REPLY -> {
                int cid = pkt.networkU16(req);
                int pcid = pkt.networkU16(req + 2);
                if (ct.pptpSession != SESSION_CONFIRMED
                        || (ct.pptpCall != CALL_OUT_REQ && ct.pptpCall != CALL_OUT_CONF) || ct.pptpPnsCallId != pcid) {
                    return false;
                }
                if (pkt.networkU8(req + 4) == RESULT_OK) {
                    ct.pptpCall = CALL_OUT_CONF;
                    ct.pptpPacCallId = cid;
                    expectGre(ct, cid, pcid, now);
                } else {
                    ct.pptpCall = CALL_NONE;
                }
            }
            case IN_CALL_REQUEST -> {
                if (ct.pptpSession != SESSION_CONFIRMED) {
                    return false;
                }
                ct.pptpCall = CALL_IN_REQ;
                ct.pptpPacCallId = pkt.networkU16(req);
            }
            case IN_CALL_CONNECT -> {
                int pcid = pkt.networkU16(req);
                if (ct.pptpSession != SESSION_CONFIRMED
                        || (ct.pptpCall != CALL_IN_REP && ct.pptpCall != CALL_IN_CONF) || ct.pptpPnsCallId != pcid) {
                    return false;
                }
                ct.pptpCall = CALL_IN_CONF;
                expectGre(ct, ct.pptpPacCallId, pcid, now);
            }
            case CALL_DISCONNECT_NOTIFY -> {
                ct.pptpCall = CALL_NONE;
                ct.owner.destroyPptpSiblings(ct, now);
            }
            case WAN_ERROR_NOTIFY, ECHO_REQUEST, ECHO_REPLY -> {
            }
            default -> {
                return false;
            }
        }
        return true;
    }

    /**
     * exp_gre: the GRE flows of the call with the PAC's call id {@code cid} and the PNS's {@code pcid}, each way,
     * and the keymap entries that give their packets their source keys.
     */
    private static void expectGre(Connection ct, int cid, int pcid, long now) {
        Tuple o = ct.original;
        Tuple r = ct.reply;
        Expectation fromPns;
        Expectation fromPac;
        if ((ct.status & Connection.NAT_MASK) == 0) {
            fromPns = new Expectation(ct, Family.IPV4, Protocol.GRE, 0, o.srcLo, 0, 0xFFFFFFFFL, pcid, 0xFFFF, 0,
                    o.dstLo, cid, 0, 0);
            fromPac = new Expectation(ct, Family.IPV4, Protocol.GRE, 0, r.srcLo, 0, 0xFFFFFFFFL, cid, 0xFFFF, 0,
                    r.dstLo, pcid, 0, 0);
        } else {
            // Linux: nf_nat_pptp's pptp_exp_gre: the PNS's original call id on its side, the rewritten one on the
            // PAC's; each flow remembers the key it is to have after NAT (saved_proto) and its direction
            ct.natPptpPacCallId = ct.pptpPacCallId;
            fromPns = new Expectation(ct, Family.IPV4, Protocol.GRE, 0, o.srcLo, 0, 0xFFFFFFFFL,
                    ct.natPptpPnsCallId, 0xFFFF, 0, o.dstLo, ct.pptpPacCallId, 0, 0);
            fromPns.followMaster(0, ct.pptpPnsCallId);
            fromPac = new Expectation(ct, Family.IPV4, Protocol.GRE, 0, r.srcLo, 0, 0xFFFFFFFFL,
                    ct.natPptpPacCallId, 0xFFFF, 0, r.dstLo, ct.pptpPnsCallId, 0, 0);
            fromPac.followMaster(1, ct.natPptpPnsCallId);
        }
        Conntrack table = ct.owner;
        if (table.expectRelated(fromPns, now) != 0) {
            return;
        }
        if (table.expectRelated(fromPac, now) != 0) {
            table.unexpectRelated(fromPns);
            return;
        }
        if (!table.addGreKeymap(ct, 0, fromPns) || !table.addGreKeymap(ct, 1, fromPac)) {
            table.unexpectRelated(fromPac);
            table.unexpectRelated(fromPns);
        }
    }

    /**
     * pptp_expectfn: the flow's reply direction is no longer expected separately; on a NATed control connection
     * nf_nat_pptp's pptp_nat_expected also sets the flow's bindings ({@link HelperNat#pptpExpected}).
     */
    @Override
    void expectationMet(PacketContext pkt, Connection ct, Expectation exp, long now) {
        if ((exp.master.status & Connection.NAT_MASK) != 0) {
            HelperNat.pptpExpected(pkt, ct, exp, now);
        } else {
            ct.owner.unexpectInverse(exp, now);
        }
    }

}
