package org.jnetfilter.core.conntrack;

import static org.jnetfilter.core.conntrack.Connection.TCP_CLOSE;
import static org.jnetfilter.core.conntrack.Connection.TCP_CLOSE_WAIT;
import static org.jnetfilter.core.conntrack.Connection.TCP_ESTABLISHED;
import static org.jnetfilter.core.conntrack.Connection.TCP_FIN_WAIT;
import static org.jnetfilter.core.conntrack.Connection.TCP_LAST_ACK;
import static org.jnetfilter.core.conntrack.Connection.TCP_NONE;
import static org.jnetfilter.core.conntrack.Connection.TCP_SYN_RECV;
import static org.jnetfilter.core.conntrack.Connection.TCP_SYN_SENT;
import static org.jnetfilter.core.conntrack.Connection.TCP_SYN_SENT2;
import static org.jnetfilter.core.conntrack.Connection.TCP_TIME_WAIT;

import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Hook;

/**
 * TCP connection tracking as nf_conntrack_proto_tcp.c (Linux 6.x): the flag checks of tcp_error, the
 * direction-indexed state transition table, window tracking after Guido van Rooij's "Real Stateful TCP
 * Packet Filtering in IP Filter" as the kernel adapted it (td_end, td_maxend, td_maxwin, td_scale, SACK),
 * mid-stream pickup (tcp_loose), the RST checks, the retransmission counter and the per-state timeouts.
 *
 * <p>Design note. The four window conditions, for a segment [seq, end) acknowledging sack:
 * <pre>
 *   I.   seq &lt;= sender.td_maxend                      (upper bound for data)
 *   II.  end &gt;= sender.td_end - receiver.td_maxwin     (lower bound for data)
 *   III. sack &lt;= receiver.td_end                      (no ack of unseen data)
 *   IV.  sack &gt;= receiver.td_end - MAXACKWINDOW        (no overly delayed ack)
 * </pre>
 * I and III failing make the packet INVALID; II and IV make it "ignored" (accepted, state unchanged), as
 * 6.x does; tcp_be_liberal (or a picked-up connection's BE_LIBERAL flag) accepts them all.
 *
 * <p>Hot path: runs under the connection's lock on the packet thread; allocates nothing. Sequence arithmetic
 * is on 32-bit ints with the kernel's before()/after().
 */
final class TcpTracking {
    private TcpTracking() {
    }

    // Linux: enum tcp_bit_set
    static final int SYN_SET = 0;
    static final int SYNACK_SET = 1;
    static final int FIN_SET = 2;
    static final int ACK_SET = 3;
    static final int RST_SET = 4;
    static final int NONE_SET = 5;

    // Linux: TCP_CONNTRACK_MAX (sIV), TCP_CONNTRACK_IGNORE (sIG), and the extra timeout slots
    static final int IV = 10;
    static final int IG = 11;
    static final int RETRANS = 12;
    static final int UNACK = 13;

    // Linux: IP_CT_TCP_FLAG_* (nf_conntrack_tcp.h) and the tracker's private last_flags bits
    static final int FLAG_WINDOW_SCALE = 0x01;
    static final int FLAG_SACK_PERM = 0x02;
    static final int FLAG_CLOSE_INIT = 0x04;
    static final int FLAG_BE_LIBERAL = 0x08;
    static final int FLAG_DATA_UNACKNOWLEDGED = 0x10;
    static final int FLAG_MAXACK_SET = 0x20;
    static final int EXP_CHALLENGE_ACK = 0x40;
    static final int SIMULTANEOUS_OPEN = 0x80;

    // Linux: TCP_MAX_WSCALE = 14, MAXACKWINCONST = 66000
    private static final int MAX_WSCALE = 14;
    private static final int MAX_ACK_WIN_CONST = 66000;

    private static final int NO = TCP_NONE;
    private static final int SS = TCP_SYN_SENT;
    private static final int SR = TCP_SYN_RECV;
    private static final int ES = TCP_ESTABLISHED;
    private static final int FW = TCP_FIN_WAIT;
    private static final int CW = TCP_CLOSE_WAIT;
    private static final int LA = TCP_LAST_ACK;
    private static final int TW = TCP_TIME_WAIT;
    private static final int CL = TCP_CLOSE;
    private static final int S2 = TCP_SYN_SENT2;

    /** Linux: tcp_conntracks[dir][index][old state]; columns sNO sSS sSR sES sFW sCW sLA sTW sCL sS2. */
    static final int[][][] TRANSITIONS = {
        {
            /* syn    */ {SS, SS, IG, IG, IG, IG, IG, SS, SS, S2},
            /* synack */ {IV, IV, SR, IV, IV, IV, IV, IV, IV, SR},
            /* fin    */ {IV, IV, FW, FW, LA, LA, LA, TW, CL, IV},
            /* ack    */ {ES, IV, ES, ES, CW, CW, TW, TW, CL, IV},
            /* rst    */ {IV, CL, CL, CL, CL, CL, CL, CL, CL, CL},
            /* none   */ {IV, IV, IV, IV, IV, IV, IV, IV, IV, IV}
        },
        {
            /* syn    */ {IV, S2, IV, IV, IV, IV, IV, SS, IV, S2},
            /* synack */ {IV, SR, IG, IG, IG, IG, IG, IG, IG, SR},
            /* fin    */ {IV, IV, FW, FW, LA, LA, LA, TW, CL, IV},
            /* ack    */ {IV, IG, SR, ES, CW, CW, TW, TW, CL, IG},
            /* rst    */ {IV, CL, CL, CL, CL, CL, CL, CL, CL, CL},
            /* none   */ {IV, IV, IV, IV, IV, IV, IV, IV, IV, IV}
        }
    };

    // Linux: TCPHDR_FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80
    static final int FIN = 0x01;
    static final int SYN = 0x02;
    static final int RST = 0x04;
    static final int PSH = 0x08;
    static final int ACK = 0x10;
    static final int URG = 0x20;
    static final int ECE = 0x40;
    static final int CWR = 0x80;

    /** Linux: tcp_valid_flags, indexed by the flags without PSH, ECE and CWR. */
    private static final boolean[] VALID_FLAGS = new boolean[64];

    static {
        for (int f : new int[] {SYN, SYN | URG, SYN | ACK, RST, RST | ACK, FIN | ACK, FIN | ACK | URG, ACK,
                ACK | URG}) {
            VALID_FLAGS[f] = true;
        }
    }

    static boolean before(int a, int b) {
        return a - b < 0;
    }

    static boolean after(int a, int b) {
        return b - a < 0;
    }

    /** get_conntrack_index. */
    static int index(int flags) {
        if ((flags & RST) != 0) {
            return RST_SET;
        }
        if ((flags & SYN) != 0) {
            return (flags & ACK) != 0 ? SYNACK_SET : SYN_SET;
        }
        if ((flags & FIN) != 0) {
            return FIN_SET;
        }
        return (flags & ACK) != 0 ? ACK_SET : NONE_SET;
    }

    /**
     * tcp_error: a header shorter than its data offset says, a bad checksum (PREROUTING, with
     * nf_conntrack_checksum) or an invalid flag combination make the packet INVALID.
     */
    static boolean error(PacketContext pkt, Hook hook, ConntrackSettings s) {
        if (!pkt.transportAvailable(20)) {
            return true;
        }
        int doff = (pkt.transportU8(12) >>> 4) * 4;
        if (doff < 20 || pkt.length() - pkt.transportOffset() < doff) {
            return true;
        }
        if (s.checksum && hook == Hook.PREROUTING && !Checksum.verifiedOnReceipt(pkt)) {
            return true;
        }
        int flags = pkt.transportU8(13) & ~(ECE | CWR | PSH);
        return !VALID_FLAGS[flags];
    }

    static int seq(PacketContext pkt) {
        return pkt.transportU16(4) << 16 | pkt.transportU16(6);
    }

    static int ackSeq(PacketContext pkt) {
        return pkt.transportU16(8) << 16 | pkt.transportU16(10);
    }

    /** segment_seq_plus_len: seq + payload length + SYN + FIN. */
    static int end(PacketContext pkt, int seq, int flags) {
        int doff = (pkt.transportU8(12) >>> 4) * 4;
        return seq + pkt.length() - pkt.transportOffset() - doff + ((flags & SYN) != 0 ? 1 : 0)
                + ((flags & FIN) != 0 ? 1 : 0);
    }

    /** tcp_options: window scale and SACK-permitted into {@code c}'s side {@code dir}. */
    static void options(PacketContext pkt, Connection c, int dir) {
        int length = (pkt.transportU8(12) >>> 4) * 4 - 20;
        if (length <= 0) {
            return;
        }
        c.tdScale[dir] = 0;
        c.tcpFlags[dir] &= FLAG_BE_LIBERAL;
        int at = 20;
        while (length > 0) {
            int opcode = pkt.transportU8(at++);
            if (opcode == 0) {
                return;
            }
            if (opcode == 1) {
                length--;
                continue;
            }
            if (length < 2) {
                return;
            }
            int opsize = pkt.transportU8(at++);
            if (opsize < 2 || opsize > length) {
                return;
            }
            if (opcode == 4 && opsize == 2) {
                c.tcpFlags[dir] |= FLAG_SACK_PERM;
            } else if (opcode == 3 && opsize == 3) {
                c.tdScale[dir] = Math.min(pkt.transportU8(at), MAX_WSCALE);
                c.tcpFlags[dir] |= FLAG_WINDOW_SCALE;
            }
            at += opsize - 2;
            length -= opsize;
        }
    }

    /** The window-scale option of a SYN into {out[0] = flags, out[1] = scale}, without touching state. */
    private static int optionsFlags(PacketContext pkt) {
        int length = (pkt.transportU8(12) >>> 4) * 4 - 20;
        int flags = 0;
        int scale = 0;
        int at = 20;
        while (length > 0) {
            int opcode = pkt.transportU8(at++);
            if (opcode == 0) {
                break;
            }
            if (opcode == 1) {
                length--;
                continue;
            }
            if (length < 2) {
                break;
            }
            int opsize = pkt.transportU8(at++);
            if (opsize < 2 || opsize > length) {
                break;
            }
            if (opcode == 4 && opsize == 2) {
                flags |= FLAG_SACK_PERM;
            } else if (opcode == 3 && opsize == 3) {
                scale = Math.min(pkt.transportU8(at), MAX_WSCALE);
                flags |= FLAG_WINDOW_SCALE;
            }
            at += opsize - 2;
            length -= opsize;
        }
        return flags | scale << 8;
    }

    /** tcp_sack: the highest right edge of the SACK blocks, or {@code sack} when there are none. */
    static int sack(PacketContext pkt, int sack) {
        int length = (pkt.transportU8(12) >>> 4) * 4 - 20;
        if (length <= 0) {
            return sack;
        }
        // Linux: fast path for a timestamp-only option block (NOP NOP TS 10)
        if (length == 12 && pkt.transportU16(20) == 0x0101 && pkt.transportU16(22) == 0x080A) {
            return sack;
        }
        int at = 20;
        while (length > 0) {
            int opcode = pkt.transportU8(at++);
            if (opcode == 0) {
                return sack;
            }
            if (opcode == 1) {
                length--;
                continue;
            }
            if (length < 2) {
                return sack;
            }
            int opsize = pkt.transportU8(at++);
            if (opsize < 2 || opsize > length) {
                return sack;
            }
            if (opcode == 5 && opsize >= 10 && (opsize - 2) % 8 == 0) {
                for (int i = 0; i < opsize - 2; i += 8) {
                    int right = pkt.transportU16(at + i + 4) << 16 | pkt.transportU16(at + i + 6);
                    if (after(right, sack)) {
                        sack = right;
                    }
                }
                return sack;
            }
            at += opsize - 2;
            length -= opsize;
        }
        return sack;
    }

    /** tcp_new: false when the first packet cannot start a connection (INVALID, no entry). */
    static boolean newConnection(PacketContext pkt, Connection c, ConntrackSettings s) {
        int flags = pkt.transportU8(13);
        int state = TRANSITIONS[0][index(flags)][TCP_NONE];
        if (state >= IV) {
            return false;
        }
        int seq = seq(pkt);
        int win = pkt.transportU16(14);
        resetTcp(c);
        if (state == TCP_SYN_SENT) {
            c.tdEnd[0] = end(pkt, seq, flags);
            c.tdMaxWin[0] = win == 0 ? 1 : win;
            c.tdMaxEnd[0] = c.tdEnd[0];
            options(pkt, c, 0);
        } else if (!s.tcpLoose) {
            return false;
        } else {
            // Linux: mid-stream pickup; SACK and liberal window checking assumed (window scaling is unknown)
            c.tdEnd[0] = end(pkt, seq, flags);
            c.tdMaxWin[0] = win == 0 ? 1 : win;
            c.tdMaxEnd[0] = c.tdEnd[0] + c.tdMaxWin[0];
            c.tcpFlags[0] = FLAG_SACK_PERM | FLAG_BE_LIBERAL;
            c.tcpFlags[1] = FLAG_SACK_PERM | FLAG_BE_LIBERAL;
        }
        c.lastIndex = NONE_SET;
        return true;
    }

    private static void resetTcp(Connection c) {
        c.tcpState = TCP_NONE;
        for (int d = 0; d < 2; d++) {
            c.tdEnd[d] = 0;
            c.tdMaxEnd[d] = 0;
            c.tdMaxWin[d] = 0;
            c.tdMaxAck[d] = 0;
            c.tdScale[d] = 0;
            c.tcpFlags[d] = 0;
        }
        c.lastDir = 0;
        c.lastIndex = 0;
        c.lastSeq = 0;
        c.lastAck = 0;
        c.lastEnd = 0;
        c.lastWin = 0;
        c.lastWscale = 0;
        c.lastFlags = 0;
        c.retrans = 0;
    }

    private static void initSender(PacketContext pkt, Connection c, int dir, int end, int win) {
        c.tdEnd[dir] = end;
        c.tdMaxEnd[dir] = end;
        c.tdMaxWin[dir] = win == 0 ? 1 : win;
        options(pkt, c, dir);
        // Linux: RFC 1323, both sides must send the window scale option for scaling to apply
        if (dir == 1 && !((c.tcpFlags[1] & FLAG_WINDOW_SCALE) != 0 && (c.tcpFlags[0] & FLAG_WINDOW_SCALE) != 0)) {
            c.tdScale[1] = 0;
            c.tdScale[0] = 0;
        }
    }

    // Linux: enum nf_ct_tcp_action
    static final int ACCEPT = 0;
    static final int IGNORE = 1;
    static final int INVALID = 2;

    private static int invalid(Connection c, int sender, ConntrackSettings s, int action) {
        boolean liberal = (c.tcpFlags[sender] & FLAG_BE_LIBERAL) != 0 || s.tcpBeLiberal;
        return liberal ? ACCEPT : action;
    }

    private static int maxAckWindow(Connection c, int sender) {
        return Integer.compareUnsigned(c.tdMaxWin[sender], MAX_ACK_WIN_CONST) > 0 ? c.tdMaxWin[sender]
                : MAX_ACK_WIN_CONST;
    }

    /** tcp_in_window. */
    static int inWindow(PacketContext pkt, Connection c, int dir, int index, ConntrackSettings s) {
        int sender = dir;
        int receiver = 1 - dir;
        int flags = pkt.transportU8(13);
        boolean syn = (flags & SYN) != 0;
        boolean hasAck = (flags & ACK) != 0;
        boolean rst = (flags & RST) != 0;
        int seq = seq(pkt);
        int ack = ackSeq(pkt);
        int sack = ack;
        int winRaw = pkt.transportU16(14);
        int win = winRaw;
        int end = end(pkt, seq, flags);
        if ((c.tcpFlags[receiver] & FLAG_SACK_PERM) != 0) {
            sack = sack(pkt, sack);
        }
        // Linux: a helper's payload rewrite moved the receiver's sequence numbers (nf_ct_seq_offset): the ack is
        // taken back into the space the receiver's own packets were tracked in
        int receiverOffset = SeqAdjust.offset(c, receiver, ack - 1);
        ack -= receiverOffset;
        sack -= receiverOffset;
        if (c.tdMaxWin[sender] == 0) {
            if (syn) {
                initSender(pkt, c, sender, end, win);
                if (!hasAck) {
                    // simultaneous open
                    return ACCEPT;
                }
            } else {
                // mid-stream: the history is lost, take what the packet says
                c.tdEnd[sender] = end;
                int swin = win << c.tdScale[sender];
                c.tdMaxWin[sender] = swin == 0 ? 1 : swin;
                c.tdMaxEnd[sender] = end + c.tdMaxWin[sender];
                if (c.tdMaxWin[receiver] == 0) {
                    c.tdEnd[receiver] = sack;
                    c.tdMaxEnd[receiver] = sack;
                } else if (sack == c.tdEnd[receiver] + 1) {
                    // likely the answer to a keepalive
                    c.tdEnd[receiver]++;
                }
            }
        } else if (syn && after(end, c.tdEnd[sender])
                && (c.tcpState == TCP_SYN_SENT || c.tcpState == TCP_SYN_RECV)) {
            // RFC 793: a reinitialised TCP may reuse the connection with higher sequence numbers
            initSender(pkt, c, sender, end, win);
            if (dir == 1 && !hasAck) {
                return ACCEPT;
            }
        }
        if (!hasAck) {
            ack = c.tdEnd[receiver];
            sack = ack;
        } else if (rst && ack == 0) {
            // broken stacks that set ACK on a RST with ack 0
            ack = c.tdEnd[receiver];
            sack = ack;
        }
        if (rst && seq == 0 && c.tcpState == TCP_SYN_SENT) {
            // a RST answering a SYN
            seq = c.tdEnd[sender];
            end = seq;
        }
        boolean seqOk = before(seq, c.tdMaxEnd[sender] + 1);
        if (!seqOk) {
            int overshot = end - c.tdMaxEnd[sender] + 1;
            boolean ackOk = after(sack, c.tdEnd[receiver] - maxAckWindow(c, sender) - 1);
            boolean inRecvWin = c.tdMaxWin[receiver] != 0
                    && after(end, c.tdEnd[sender] - c.tdMaxWin[receiver] - 1);
            if (inRecvWin && ackOk && Integer.compareUnsigned(overshot, c.tdMaxWin[receiver]) <= 0
                    && before(sack, c.tdEnd[receiver] + 1)) {
                // Linux: TCPs that send more than the window allows; let the ACK for it update the state
                c.tdEnd[sender] = end;
                c.tcpFlags[sender] |= FLAG_DATA_UNACKNOWLEDGED;
                return invalid(c, sender, s, IGNORE);
            }
            return invalid(c, sender, s, INVALID);
        }
        if (!before(sack, c.tdEnd[receiver] + 1)) {
            // ACK is over upper bound (ACKed data not seen yet)
            return invalid(c, sender, s, INVALID);
        }
        boolean inRecvWin = c.tdMaxWin[receiver] == 0 || after(end, c.tdEnd[sender] - c.tdMaxWin[receiver] - 1);
        if (!inRecvWin) {
            // SEQ is under the lower bound (already ACKed data retransmitted)
            return invalid(c, sender, s, IGNORE);
        }
        if (!after(sack, c.tdEnd[receiver] - maxAckWindow(c, sender) - 1)) {
            // ignored ACK under the lower bound (possibly overly delayed)
            return invalid(c, sender, s, IGNORE);
        }
        if (!syn) {
            win <<= c.tdScale[sender];
        }
        int swin = win + (sack - ack);
        if (Integer.compareUnsigned(c.tdMaxWin[sender], swin) < 0) {
            c.tdMaxWin[sender] = swin;
        }
        if (after(end, c.tdEnd[sender])) {
            c.tdEnd[sender] = end;
            c.tcpFlags[sender] |= FLAG_DATA_UNACKNOWLEDGED;
        }
        if (hasAck) {
            if ((c.tcpFlags[sender] & FLAG_MAXACK_SET) == 0) {
                c.tdMaxAck[sender] = ack;
                c.tcpFlags[sender] |= FLAG_MAXACK_SET;
            } else if (after(ack, c.tdMaxAck[sender])) {
                c.tdMaxAck[sender] = ack;
            }
        }
        if (c.tdMaxWin[receiver] != 0 && after(end, c.tdMaxEnd[sender])) {
            c.tdMaxWin[receiver] += end - c.tdMaxEnd[sender];
        }
        if (after(sack + win, c.tdMaxEnd[receiver] - 1)) {
            c.tdMaxEnd[receiver] = sack + win;
            if (win == 0) {
                c.tdMaxEnd[receiver]++;
            }
        }
        if (ack == c.tdEnd[receiver]) {
            c.tcpFlags[receiver] &= ~FLAG_DATA_UNACKNOWLEDGED;
        }
        if (index == ACK_SET) {
            if (c.lastDir == dir && c.lastSeq == seq && c.lastAck == ack && c.lastEnd == end
                    && c.lastWin == winRaw) {
                c.retrans++;
            } else {
                c.lastDir = dir;
                c.lastSeq = seq;
                c.lastAck = ack;
                c.lastEnd = end;
                c.lastWin = winRaw;
                c.retrans = 0;
            }
        }
        return ACCEPT;
    }

    /**
     * nf_conntrack_tcp_set_closing: a confirmed entry's state becomes CLOSE; unless it was CLOSE already or its
     * timeout is fixed, its timeout becomes the CLOSE timeout from now. Unconfirmed entries are left alone.
     */
    static void setClosing(Connection c, long now, ConntrackSettings s) {
        if (!c.isConfirmed()) {
            return;
        }
        synchronized (c) {
            int old = c.tcpState;
            c.tcpState = TCP_CLOSE;
            if (old == TCP_CLOSE || c.hasStatus(Connection.FIXED_TIMEOUT)) {
                return;
            }
            // Linux: timeouts[TCP_CONNTRACK_CLOSE] (10 s) + nfct_time_stamp
            c.timeout = now + s.tcpTimeouts[TCP_CLOSE];
        }
    }

    /** nf_tcp_handle_invalid: an out-of-window FIN or RST answering one shortens an assured entry's life. */
    private static void handleInvalid(Connection c, int dir, int index, long now, ConntrackSettings s) {
        if (!c.hasStatus(Connection.ASSURED) || c.hasStatus(Connection.FIXED_TIMEOUT)) {
            return;
        }
        if (index != RST_SET && index != FIN_SET) {
            return;
        }
        if (c.lastDir != dir && (c.lastIndex == FIN_SET || c.lastIndex == RST_SET)) {
            long expires = c.isConfirmed() ? c.timeout - now : c.timeout;
            if (expires < 120 * Conntrack.HZ) {
                return;
            }
            long timeout = s.tcpTimeouts[UNACK];
            if (expires > timeout) {
                c.timeout = c.isConfirmed() ? now + timeout : timeout;
            }
        } else {
            c.lastIndex = index;
            c.lastDir = dir;
        }
    }

    /** nf_conntrack_tcp_established. */
    private static boolean established(Connection c) {
        return c.tcpState == TCP_ESTABLISHED && c.hasStatus(Connection.ASSURED);
    }

    private static boolean canEarlyDrop(Connection c) {
        int st = c.tcpState;
        return st == TCP_FIN_WAIT || st == TCP_LAST_ACK || st == TCP_TIME_WAIT || st == TCP_CLOSE
                || st == TCP_CLOSE_WAIT;
    }

    /**
     * nf_conntrack_tcp_packet: the verdict for a packet of connection {@code c} in direction {@code dir};
     * {@link Conntrack#INVALID_ACCEPT} for an invalid packet (detached from the entry, accepted),
     * {@link Conntrack#REPEAT} to look the packet up again after the entry was killed (a SYN reopening a
     * closed connection).
     */
    static int packet(PacketContext pkt, Connection c, int ctinfo, Hook hook, long now, ConntrackSettings s) {
        if (error(pkt, hook, s)) {
            return Conntrack.INVALID_ACCEPT;
        }
        if (!c.isConfirmed() && !newConnection(pkt, c, s)) {
            return Conntrack.INVALID_ACCEPT;
        }
        int flags = pkt.transportU8(13);
        int dir = ctinfo >= 3 ? 1 : 0;
        int index = index(flags);
        long timeout;
        int oldState;
        int newState;
        synchronized (c) {
            oldState = c.tcpState;
            newState = TRANSITIONS[dir][index][oldState];
            boolean skipWindow = false;
            switch (newState) {
                case TCP_SYN_SENT -> {
                    if (oldState >= TCP_TIME_WAIT) {
                        // RFC 1122: a SYN may reopen a connection in TIME_WAIT; also an aborted one
                        if (((c.tcpFlags[dir] | c.tcpFlags[1 - dir]) & FLAG_CLOSE_INIT) != 0
                                || (c.lastDir == dir && c.lastIndex == RST_SET)) {
                            c.owner.kill(c);
                            return Conntrack.REPEAT;
                        }
                        int r = ignored(pkt, c, dir, index, oldState);
                        if (r >= 0) {
                            return r;
                        }
                        oldState = TCP_SYN_SENT;
                        newState = TCP_SYN_RECV;
                    }
                }
                case IG -> {
                    int r = ignored(pkt, c, dir, index, oldState);
                    if (r >= 0) {
                        return r;
                    }
                    oldState = TCP_SYN_SENT;
                    newState = TCP_SYN_RECV;
                }
                case IV -> {
                    return Conntrack.INVALID_ACCEPT;
                }
                case TCP_TIME_WAIT -> {
                    // RFC 5961 challenge ACK in LAST_ACK must not be taken for the last ACK
                    if (oldState == TCP_LAST_ACK && index == ACK_SET && c.lastDir != dir && c.lastIndex == SYN_SET
                            && (c.lastFlags & EXP_CHALLENGE_ACK) != 0) {
                        c.lastFlags &= ~EXP_CHALLENGE_ACK;
                        return org.jnetfilter.core.netfilter.Verdict.ACCEPT;
                    }
                }
                case TCP_SYN_SENT2 -> c.lastFlags |= SIMULTANEOUS_OPEN;
                case TCP_SYN_RECV -> {
                    if (dir == 1 && index == ACK_SET && (c.lastFlags & SIMULTANEOUS_OPEN) != 0) {
                        newState = TCP_ESTABLISHED;
                    }
                }
                case TCP_CLOSE -> {
                    if (index == RST_SET) {
                        int r = rstChecks(pkt, c, dir, oldState, s);
                        if (r == RST_INVALID) {
                            return Conntrack.INVALID_ACCEPT;
                        }
                        if (r == RST_KEEP_STATE || r == RST_KEEP_SKIP_WINDOW) {
                            newState = oldState;
                        }
                        if (r == RST_SKIP_WINDOW || r == RST_KEEP_SKIP_WINDOW) {
                            skipWindow = true;
                        }
                    }
                }
                default -> {
                }
            }
            if (!skipWindow) {
                int res = inWindow(pkt, c, dir, index, s);
                if (res == IGNORE) {
                    return org.jnetfilter.core.netfilter.Verdict.ACCEPT;
                }
                if (res == INVALID) {
                    handleInvalid(c, dir, index, now, s);
                    return Conntrack.INVALID_ACCEPT;
                }
            }
            c.lastIndex = index;
            c.lastDir = dir;
            c.tcpState = newState;
            if (oldState != newState && newState == TCP_FIN_WAIT) {
                c.tcpFlags[dir] |= FLAG_CLOSE_INIT;
            }
            long[] t = s.tcpTimeouts;
            if (c.retrans >= s.tcpMaxRetrans && t[newState] > t[RETRANS]) {
                timeout = t[RETRANS];
            } else if (index == RST_SET) {
                timeout = t[TCP_CLOSE];
            } else if (((c.tcpFlags[0] | c.tcpFlags[1]) & FLAG_DATA_UNACKNOWLEDGED) != 0 && t[newState] > t[UNACK]) {
                timeout = t[UNACK];
            } else if (c.lastWin == 0 && t[newState] > t[RETRANS]) {
                timeout = t[RETRANS];
            } else {
                timeout = t[newState];
            }
        }
        if (!c.hasStatus(Connection.SEEN_REPLY)) {
            if ((flags & RST) != 0) {
                // the only answer was a RST: no connection; the entry goes at once
                c.account(dir, pkt.length());
                c.owner.kill(c);
                return org.jnetfilter.core.netfilter.Verdict.ACCEPT;
            }
            if (index == SYN_SET && oldState == TCP_SYN_SENT) {
                // a retransmitted SYN does not renew the timeout
                return org.jnetfilter.core.netfilter.Verdict.ACCEPT;
            }
            if (newState == TCP_ESTABLISHED && timeout > s.tcpTimeouts[UNACK]) {
                // mid-stream pickup without a reply yet
                timeout = s.tcpTimeouts[UNACK];
            }
        } else if (!c.hasStatus(Connection.ASSURED) && (oldState == TCP_SYN_RECV || oldState == TCP_ESTABLISHED)
                && newState == TCP_ESTABLISHED) {
            c.addStatus(Connection.ASSURED);
        }
        c.refresh(now, timeout, dir, pkt.length());
        return org.jnetfilter.core.netfilter.Verdict.ACCEPT;
    }

    private static final int RST_PASS = 0;
    private static final int RST_INVALID = 1;
    private static final int RST_KEEP_STATE = 2;
    private static final int RST_SKIP_WINDOW = 3;
    private static final int RST_KEEP_SKIP_WINDOW = 4;

    /**
     * The RST checks of the CLOSE case: whether the RST is invalid (a sequence before what the other side
     * acknowledged), keeps the state (an inexact sequence on an established connection: a challenge ACK may
     * follow), and whether it skips the window check (closing states; a RST answering a SYN or ACK let
     * through, or a challenge ACK). As the kernel, the checks of the first block end the case when they pass.
     */
    private static int rstChecks(PacketContext pkt, Connection c, int dir, int oldState, ConntrackSettings s) {
        if (canEarlyDrop(c)) {
            return RST_SKIP_WINDOW;
        }
        boolean keep = false;
        if ((c.tcpFlags[1 - dir] & FLAG_MAXACK_SET) != 0 && c.lastIndex != SYN_SET) {
            int seq = seq(pkt);
            if (seq == 0 && !established(c)) {
                // most likely the answer to a SYN let through
                return RST_PASS;
            }
            if (before(seq, c.tdMaxAck[1 - dir]) && !s.tcpIgnoreInvalidRst) {
                return RST_INVALID;
            }
            if (!established(c) || seq == c.tdMaxAck[1 - dir]) {
                return RST_PASS;
            }
            if (c.lastIndex == ACK_SET && c.lastDir == dir && seq == c.lastEnd) {
                // the RST ends a train of segments
                return RST_PASS;
            }
            keep = true;
        }
        int ackSeq = ackSeq(pkt);
        if (((c.hasStatus(Connection.SEEN_REPLY) && c.lastIndex == SYN_SET)
                || (!c.hasStatus(Connection.ASSURED) && c.lastIndex == ACK_SET)) && ackSeq == c.lastEnd) {
            // a RST to an invalid SYN or ACK let through: delete the entry, skip the window check
            return keep ? RST_KEEP_SKIP_WINDOW : RST_SKIP_WINDOW;
        }
        if (oldState == TCP_SYN_SENT && c.lastIndex == ACK_SET && c.lastDir == 1 && seq(pkt) == c.lastAck) {
            // the reset answering a challenge ACK let through
            return keep ? RST_KEEP_SKIP_WINDOW : RST_SKIP_WINDOW;
        }
        return keep ? RST_KEEP_STATE : RST_PASS;
    }

    /**
     * The ignored-packet case: annotate the packet and accept it without touching the state; or, for a
     * SYN/ACK answering a SYN ignored before, resynchronise (answers -1: continue as SYN_SENT -> SYN_RECV).
     */
    private static int ignored(PacketContext pkt, Connection c, int dir, int index, int oldState) {
        int ackSeq = ackSeq(pkt);
        if (index == SYNACK_SET && c.lastIndex == SYN_SET && c.lastDir != dir && ackSeq == c.lastEnd) {
            int ld = c.lastDir;
            c.tdEnd[ld] = c.lastEnd;
            c.tdMaxEnd[ld] = c.lastEnd;
            c.tdMaxWin[ld] = c.lastWin == 0 ? 1 : c.lastWin;
            c.tdScale[ld] = c.lastWscale;
            c.lastFlags &= ~EXP_CHALLENGE_ACK;
            c.tcpFlags[ld] = c.lastFlags;
            // nf_ct_tcp_state_reset of this direction
            c.tdEnd[dir] = 0;
            c.tdMaxEnd[dir] = 0;
            c.tdMaxWin[dir] = 0;
            c.tdMaxAck[dir] = 0;
            c.tdScale[dir] = 0;
            c.tcpFlags[dir] &= FLAG_BE_LIBERAL;
            return -1;
        }
        int flags = pkt.transportU8(13);
        int seq = seq(pkt);
        c.lastIndex = index;
        c.lastDir = dir;
        c.lastSeq = seq;
        c.lastEnd = end(pkt, seq, flags);
        c.lastWin = pkt.transportU16(14);
        if (index == SYN_SET && dir == 0) {
            int o = optionsFlags(pkt);
            c.lastFlags = 0;
            c.lastWscale = 0;
            if ((o & FLAG_WINDOW_SCALE) != 0) {
                c.lastFlags |= FLAG_WINDOW_SCALE;
                c.lastWscale = o >>> 8;
            }
            if ((o & FLAG_SACK_PERM) != 0) {
                c.lastFlags |= FLAG_SACK_PERM;
            }
            if (oldState == TCP_LAST_ACK) {
                c.lastFlags |= EXP_CHALLENGE_ACK;
            }
        }
        if (oldState == TCP_SYN_SENT && index == ACK_SET && dir == 1) {
            c.lastAck = ackSeq;
        }
        return org.jnetfilter.core.netfilter.Verdict.ACCEPT;
    }
}
