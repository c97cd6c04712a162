package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Hook;

/**
 * SCTP connection tracking as nf_conntrack_proto_sctp.c (Linux 6.x, as on this machine's 6.18): the chunk
 * checks of do_basic_checks, the direction-indexed state table driven by each chunk, verification tags
 * (RFC 9260 8.5: INIT's initiate tag for the other direction, ABORT and SHUTDOWN COMPLETE with the T flag,
 * COOKIE ECHO, HEARTBEAT on a secondary path), and the per-state timeouts (closed 10 s, cookie-wait and
 * cookie-echoed 3 s, established 210 s, shutdown states 3 s, heartbeat-sent 30 s). A retransmitted INIT does
 * not renew the entry's timeout. Packet thread; allocates nothing.
 */
final class SctpTracking {
    private SctpTracking() {
    }

    // Linux: enum sctp_conntrack
    static final int NONE = 0;
    static final int CLOSED = 1;
    static final int COOKIE_WAIT = 2;
    static final int COOKIE_ECHOED = 3;
    static final int ESTABLISHED = 4;
    static final int SHUTDOWN_SENT = 5;
    static final int SHUTDOWN_RECD = 6;
    static final int SHUTDOWN_ACK_SENT = 7;
    static final int HEARTBEAT_SENT = 8;
    static final int MAX = 9;
    static final String[] NAMES = {"NONE", "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED", "SHUTDOWN_SENT",
            "SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT", "HEARTBEAT_SENT"};

    // Linux: SCTP_CID_* (include/linux/sctp.h)
    static final int DATA = 0;
    static final int INIT = 1;
    static final int INIT_ACK = 2;
    static final int HEARTBEAT = 4;
    static final int HEARTBEAT_ACK = 5;
    static final int ABORT = 6;
    static final int SHUTDOWN = 7;
    static final int SHUTDOWN_ACK = 8;
    static final int ERROR = 9;
    static final int COOKIE_ECHO = 10;
    static final int COOKIE_ACK = 11;
    static final int SHUTDOWN_COMPLETE = 14;
    // Linux: SCTP_CHUNK_FLAG_T, SCTP_FLAG_HEARTBEAT_VTAG_FAILED
    private static final int FLAG_T = 1;
    private static final int HEARTBEAT_VTAG_FAILED = 1;

    private static final int NO = NONE;
    private static final int CL = CLOSED;
    private static final int CW = COOKIE_WAIT;
    private static final int CE = COOKIE_ECHOED;
    private static final int ES = ESTABLISHED;
    private static final int SS = SHUTDOWN_SENT;
    private static final int SR = SHUTDOWN_RECD;
    private static final int SA = SHUTDOWN_ACK_SENT;
    private static final int HS = HEARTBEAT_SENT;
    private static final int IV = MAX;

    /** Linux: sctp_conntracks[dir][chunk row][old state]; columns sNO sCL sCW sCE sES sSS sSR sSA sHS. */
    private static final int[][][] TRANSITIONS = {
        {
            /* init          */ {CL, CL, CW, CE, ES, CL, CL, SA, CW},
            /* init_ack      */ {CL, CL, CW, CE, ES, SS, SR, SA, CL},
            /* abort         */ {CL, CL, CL, CL, CL, CL, CL, CL, CL},
            /* shutdown      */ {CL, CL, CW, CE, SS, SS, SR, SA, CL},
            /* shutdown_ack  */ {SA, CL, CW, CE, ES, SA, SA, SA, SA},
            /* error         */ {CL, CL, CW, CE, ES, SS, SR, SA, CL},
            /* cookie_echo   */ {CL, CL, CE, CE, ES, SS, SR, SA, CL},
            /* cookie_ack    */ {CL, CL, CW, ES, ES, SS, SR, SA, CL},
            /* shutdown_comp */ {CL, CL, CW, CE, ES, SS, SR, CL, CL},
            /* heartbeat     */ {HS, CL, CW, CE, ES, SS, SR, SA, HS},
            /* heartbeat_ack */ {CL, CL, CW, CE, ES, SS, SR, SA, HS}
        },
        {
            /* init          */ {IV, CL, CW, CE, ES, SS, SR, SA, IV},
            /* init_ack      */ {IV, CW, CW, CE, ES, SS, SR, SA, IV},
            /* abort         */ {IV, CL, CL, CL, CL, CL, CL, CL, IV},
            /* shutdown      */ {IV, CL, CW, CE, SR, SS, SR, SA, IV},
            /* shutdown_ack  */ {IV, CL, CW, CE, ES, SA, SA, SA, IV},
            /* error         */ {IV, CL, CW, CL, ES, SS, SR, SA, IV},
            /* cookie_echo   */ {IV, CL, CE, CE, ES, SS, SR, SA, IV},
            /* cookie_ack    */ {IV, CL, CW, ES, ES, SS, SR, SA, IV},
            /* shutdown_comp */ {IV, CL, CW, CE, ES, SS, SR, CL, IV},
            /* heartbeat     */ {IV, CL, CW, CE, ES, SS, SR, SA, HS},
            /* heartbeat_ack */ {IV, CL, CW, CE, ES, SS, SR, SA, ES}
        }
    };

    /** sctp_new_state: the table's answer, or the current state for chunks that change nothing (DATA, SACK). */
    static int newState(int dir, int state, int chunk) {
        int row = switch (chunk) {
            case INIT -> 0;
            case INIT_ACK -> 1;
            case ABORT -> 2;
            case SHUTDOWN -> 3;
            case SHUTDOWN_ACK -> 4;
            case ERROR -> 5;
            case COOKIE_ECHO -> 6;
            case COOKIE_ACK -> 7;
            case SHUTDOWN_COMPLETE -> 8;
            case HEARTBEAT -> 9;
            case HEARTBEAT_ACK -> 10;
            default -> -1;
        };
        return row < 0 ? state : TRANSITIONS[dir][row][state];
    }

    private static int u32(PacketContext pkt, int at) {
        return pkt.transportU16(at) << 16 | pkt.transportU16(at + 2);
    }

    /**
     * do_basic_checks: the chunk types present as a bitmap (bits 0..63, what the checks need), or -1 when a
     * chunk has length 0, COOKIE ECHO/ACK is not first, INIT/INIT ACK/SHUTDOWN COMPLETE is not alone, or there
     * is no chunk.
     */
    private static long chunkMap(PacketContext pkt) {
        int len = pkt.length() - pkt.transportOffset();
        long map = 0;
        int count = 0;
        boolean flag = false;
        for (int at = 12; at < len && at + 4 <= len; count++) {
            int type = pkt.transportU8(at);
            int clen = pkt.transportU16(at + 2);
            if (type == INIT || type == INIT_ACK || type == SHUTDOWN_COMPLETE) {
                flag = true;
            }
            if (((type == COOKIE_ACK || type == COOKIE_ECHO || flag) && count != 0) || clen == 0) {
                return -1;
            }
            if (type < 64) {
                map |= 1L << type;
            }
            at += (clen + 3) & ~3;
        }
        return count == 0 ? -1 : map;
    }

    private static boolean has(long map, int type) {
        return (map >>> type & 1) != 0;
    }

    /** sctp_new: the first packet's chunks must be able to start an entry; the verification tags it sets. */
    private static boolean newConnection(PacketContext pkt, Connection c) {
        int len = pkt.length() - pkt.transportOffset();
        int vtag = u32(pkt, 4);
        c.sctpState = NONE;
        c.sctpVtag[0] = 0;
        c.sctpVtag[1] = 0;
        c.sctpInit[0] = false;
        c.sctpInit[1] = false;
        c.sctpFlags = 0;
        for (int at = 12; at < len && at + 4 <= len; at += (pkt.transportU16(at + 2) + 3) & ~3) {
            int type = pkt.transportU8(at);
            int st = newState(0, NONE, type);
            if (st == NONE || st == MAX) {
                return false;
            }
            if (type == INIT) {
                // RFC 9260 8.5.1 (A): an INIT carries vtag 0
                if (vtag != 0 || at + 8 > len) {
                    return false;
                }
                c.sctpVtag[1] = u32(pkt, at + 4);
            } else if (type == HEARTBEAT) {
                c.sctpVtag[0] = vtag;
            } else if (type == SHUTDOWN_ACK) {
                // an out-of-the-blue SHUTDOWN ACK expects a SHUTDOWN COMPLETE (or ABORT) with its vtag
                c.sctpVtag[1] = vtag;
            }
            c.sctpState = NONE;
        }
        return true;
    }

    static int packet(PacketContext pkt, Connection c, int ctinfo, Hook hook, long now, ConntrackSettings s) {
        int dir = CtInfo.direction(ctinfo);
        int len = pkt.length() - pkt.transportOffset();
        if (len < 12) {
            return Conntrack.INVALID_ACCEPT;
        }
        if (s.checksum && hook == Hook.PREROUTING) {
            long crc = Checksums.sctp(pkt.segment(), pkt.networkOffset() + pkt.transportOffset(), len);
            int stored = Integer.reverseBytes(u32(pkt, 8));
            if ((int) crc != stored) {
                return Conntrack.INVALID_ACCEPT;
            }
        }
        long map = chunkMap(pkt);
        if (map < 0) {
            return Conntrack.INVALID_ACCEPT;
        }
        if (!c.isConfirmed()) {
            // RFC 9260 8.4: out-of-the-blue ABORT, SHUTDOWN COMPLETE or COOKIE ACK start nothing
            if (has(map, ABORT) || has(map, SHUTDOWN_COMPLETE) || has(map, COOKIE_ACK)) {
                return Conntrack.INVALID_ACCEPT;
            }
            if (!newConnection(pkt, c)) {
                return Conntrack.INVALID_ACCEPT;
            }
        }
        int vtag = u32(pkt, 4);
        boolean ignore = false;
        int newState = NONE;
        synchronized (c) {
            if (!has(map, INIT) && !has(map, SHUTDOWN_COMPLETE) && !has(map, COOKIE_ECHO) && !has(map, ABORT)
                    && !has(map, SHUTDOWN_ACK) && !has(map, HEARTBEAT) && !has(map, HEARTBEAT_ACK)
                    && vtag != c.sctpVtag[dir]) {
                return Conntrack.INVALID_ACCEPT;
            }
            for (int at = 12; at < len && at + 4 <= len; at += (pkt.transportU16(at + 2) + 3) & ~3) {
                int type = pkt.transportU8(at);
                int flags = pkt.transportU8(at + 1);
                if (type == INIT) {
                    if (vtag != 0) {
                        return Conntrack.INVALID_ACCEPT;
                    }
                } else if (type == ABORT || type == SHUTDOWN_COMPLETE) {
                    int expected = (flags & FLAG_T) == 0 ? c.sctpVtag[dir] : c.sctpVtag[1 - dir];
                    if (vtag != expected) {
                        return Conntrack.INVALID_ACCEPT;
                    }
                } else if (type == COOKIE_ECHO) {
                    if (vtag != c.sctpVtag[dir]) {
                        return Conntrack.INVALID_ACCEPT;
                    }
                } else if (type == COOKIE_ACK) {
                    c.sctpInit[dir] = false;
                    c.sctpInit[1 - dir] = false;
                } else if (type == HEARTBEAT) {
                    if (c.sctpVtag[dir] == 0) {
                        c.sctpVtag[dir] = vtag;
                    } else if (vtag != c.sctpVtag[dir]) {
                        if (has(map, DATA) || ignore) {
                            return Conntrack.INVALID_ACCEPT;
                        }
                        c.sctpFlags |= HEARTBEAT_VTAG_FAILED;
                        c.sctpLastDir = dir;
                        ignore = true;
                        continue;
                    } else {
                        c.sctpFlags &= ~HEARTBEAT_VTAG_FAILED;
                    }
                } else if (type == HEARTBEAT_ACK) {
                    if (c.sctpVtag[dir] == 0) {
                        c.sctpVtag[dir] = vtag;
                    } else if (vtag != c.sctpVtag[dir]) {
                        if (has(map, DATA) || ignore) {
                            return Conntrack.INVALID_ACCEPT;
                        }
                        if ((c.sctpFlags & HEARTBEAT_VTAG_FAILED) == 0 || c.sctpLastDir == dir) {
                            return Conntrack.INVALID_ACCEPT;
                        }
                        c.sctpFlags &= ~HEARTBEAT_VTAG_FAILED;
                        c.sctpVtag[dir] = vtag;
                        c.sctpVtag[1 - dir] = 0;
                    } else {
                        c.sctpFlags &= ~HEARTBEAT_VTAG_FAILED;
                    }
                }
                int oldState = c.sctpState;
                newState = newState(dir, oldState, type);
                if (newState == MAX) {
                    return Conntrack.INVALID_ACCEPT;
                }
                if (type == INIT) {
                    if (at + 8 > len) {
                        return Conntrack.INVALID_ACCEPT;
                    }
                    if (c.sctpInit[dir] && c.sctpInit[1 - dir]) {
                        c.sctpInit[1 - dir] = false;
                    }
                    c.sctpInit[dir] = true;
                    c.sctpVtag[1 - dir] = u32(pkt, at + 4);
                    // a retransmitted INIT does not keep the entry alive
                    if (newState == CLOSED && oldState == CLOSED && c.isConfirmed()) {
                        ignore = true;
                    }
                } else if (type == INIT_ACK) {
                    if (at + 8 > len) {
                        return Conntrack.INVALID_ACCEPT;
                    }
                    int initTag = u32(pkt, at + 4);
                    int other = c.sctpVtag[1 - dir];
                    if (!c.sctpInit[1 - dir] && other != 0 && other != initTag) {
                        return Conntrack.INVALID_ACCEPT;
                    }
                    if (c.sctpInit[dir] && c.sctpInit[1 - dir] && other != initTag) {
                        // collision
                        return Conntrack.INVALID_ACCEPT;
                    }
                    c.sctpVtag[1 - dir] = initTag;
                }
                c.sctpState = newState;
                if (oldState != newState && newState == ESTABLISHED) {
                    c.status |= Connection.ASSURED;
                }
            }
        }
        if (ignore) {
            return Verdict.ACCEPT;
        }
        c.refresh(now, s.sctpTimeouts[newState], dir, pkt.length());
        return Verdict.ACCEPT;
    }
}
