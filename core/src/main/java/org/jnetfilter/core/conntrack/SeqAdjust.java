package org.jnetfilter.core.conntrack;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.packet.Checksums;

/**
 * TCP sequence number adjustment after a helper changed a payload's length (nf_conntrack_seqadj.c): when NAT
 * rewrites an FTP command to a longer or shorter text, every later segment of that direction has its sequence
 * number moved by the difference, and every segment of the other direction has its acknowledgement (and SACK
 * blocks) moved back, so both ends see a consistent stream.
 *
 * <p>Per direction the connection keeps {@code correction_pos} (the sequence number of the last rewritten
 * segment), {@code offset_before} (the offset for data up to it) and {@code offset_after} (for data after it):
 * a retransmission of a segment before the rewrite keeps the old offset.
 *
 * <p>Design note: {@link #set} is nf_ct_seqadj_set (a new rewrite moves the offsets only when it is after the
 * last one, or when no rewrite is pending); {@link #adjust} is nf_ct_seq_adjust (run at the confirm hooks for
 * connections with SEQ_ADJUST, after the helper); {@link #offset} is nf_ct_seq_offset, which the TCP tracker
 * takes off an acknowledgement before its window checks. Packet thread, under the connection's lock;
 * allocates nothing.
 */
public final class SeqAdjust {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    // Linux: TCPOPT_EOL, TCPOPT_NOP, TCPOPT_SACK, TCPOLEN_SACK_PERBLOCK
    private static final int OPT_EOL = 0;
    private static final int OPT_NOP = 1;
    private static final int OPT_SACK = 5;
    private static final int SACK_PER_BLOCK = 8;

    private SeqAdjust() {
    }

    /** after(a, b) of TCP sequence space. */
    static boolean after(int a, int b) {
        return a - b > 0;
    }

    /**
     * nf_ct_seqadj_set: the payload of the segment at {@code seq} in {@code dir} changed its length by
     * {@code off}; sets SEQ_ADJUST on the connection.
     */
    public static void set(Connection ct, int dir, int seq, int off) {
        if (off == 0) {
            return;
        }
        synchronized (ct) {
            ct.status |= Connection.SEQ_ADJUST;
            if (ct.seqOffsetBefore[dir] == ct.seqOffsetAfter[dir] || after(seq, ct.seqCorrectionPos[dir])) {
                ct.seqCorrectionPos[dir] = seq;
                ct.seqOffsetBefore[dir] = ct.seqOffsetAfter[dir];
                ct.seqOffsetAfter[dir] += off;
            }
        }
    }

    /**
     * nf_ct_seqadj_init: every segment of direction {@code dir} has its sequence number moved by {@code off} from
     * now on (SYNPROXY splicing its cookie ISN to the server's); sets SEQ_ADJUST. An offset of 0 changes nothing,
     * as in the kernel.
     */
    public static void init(Connection ct, int dir, int off) {
        if (off == 0) {
            return;
        }
        synchronized (ct) {
            ct.status |= Connection.SEQ_ADJUST;
            ct.seqOffsetBefore[dir] = off;
            ct.seqOffsetAfter[dir] = off;
        }
    }

    /** nf_ct_seq_offset: the offset of {@code dir} for a sequence number {@code seq}; 0 without a rewrite. */
    static int offset(Connection ct, int dir, int seq) {
        if ((ct.status & Connection.SEQ_ADJUST) == 0) {
            return 0;
        }
        return after(seq, ct.seqCorrectionPos[dir]) ? ct.seqOffsetAfter[dir] : ct.seqOffsetBefore[dir];
    }

    /**
     * nf_ct_seq_adjust: moves the segment's sequence number by its direction's offset and its acknowledgement
     * (and SACK blocks) back by the other direction's, updating the TCP checksum. {@code protoff} is the TCP
     * header's network offset. False when the options are malformed (the kernel drops the packet then).
     */
    static boolean adjust(PacketContext pkt, Connection ct, int dir, int protoff) {
        if (protoff + 20 > pkt.length()) {
            return false;
        }
        MemorySegment s = pkt.segment();
        long tcp = pkt.networkOffset() + protoff;
        synchronized (ct) {
            int seq = s.get(U32, tcp + 4);
            int seqoff = after(seq, ct.seqCorrectionPos[dir]) ? ct.seqOffsetAfter[dir] : ct.seqOffsetBefore[dir];
            int newSeq = seq + seqoff;
            int check = Short.toUnsignedInt(s.get(U16, tcp + 16));
            check = Checksums.update32(check, seq, newSeq);
            s.set(U32, tcp + 4, newSeq);
            boolean ok = true;
            if ((Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, tcp + 13)) & 0x10) != 0) {
                int other = 1 - dir;
                int ack = s.get(U32, tcp + 8);
                int ackoff = after(ack - ct.seqOffsetBefore[other], ct.seqCorrectionPos[other])
                        ? ct.seqOffsetAfter[other] : ct.seqOffsetBefore[other];
                int newAck = ack - ackoff;
                check = Checksums.update32(check, ack, newAck);
                s.set(U32, tcp + 8, newAck);
                s.set(U16, tcp + 16, (short) check);
                ok = sackAdjust(pkt, ct, other, protoff);
            } else {
                s.set(U16, tcp + 16, (short) check);
            }
            return ok;
        }
    }

    /** nf_ct_sack_adjust: SACK blocks of the options moved back by {@code other}'s offsets. */
    private static boolean sackAdjust(PacketContext pkt, Connection ct, int other, int protoff) {
        MemorySegment s = pkt.segment();
        long base = pkt.networkOffset();
        int doff = (Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, base + protoff + 12)) >>> 4) * 4;
        int optoff = protoff + 20;
        int optend = protoff + doff;
        if (optend > pkt.length()) {
            return false;
        }
        while (optoff < optend) {
            int kind = Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, base + optoff));
            if (kind == OPT_EOL) {
                return true;
            }
            if (kind == OPT_NOP) {
                optoff++;
                continue;
            }
            int len = optoff + 1 == optend ? 0 : Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, base + optoff + 1));
            if (optoff + 1 == optend || optoff + len > optend || len < 2) {
                // Linux: no partial options
                return false;
            }
            if (kind == OPT_SACK && len >= 2 + SACK_PER_BLOCK && (len - 2) % SACK_PER_BLOCK == 0) {
                for (int at = optoff + 2; at < optoff + len; at += 4) {
                    long p = base + at;
                    int edge = s.get(U32, p);
                    int off = after(edge - ct.seqOffsetBefore[other], ct.seqCorrectionPos[other])
                            ? ct.seqOffsetAfter[other] : ct.seqOffsetBefore[other];
                    int moved = edge - off;
                    long checkAt = base + protoff + 16;
                    int check = Short.toUnsignedInt(s.get(U16, checkAt));
                    s.set(U16, checkAt, (short) Checksums.update32(check, edge, moved));
                    s.set(U32, p, moved);
                }
            }
            optoff += len;
        }
        return true;
    }
}
