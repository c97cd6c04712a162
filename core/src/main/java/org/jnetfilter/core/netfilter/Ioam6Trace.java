package org.jnetfilter.core.netfilter;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.jnetfilter.core.host.Ioam6;

/**
 * A transit or receiving node's data written into an IOAM pre-allocated trace (RFC 9197 section 4.4; Linux 6.18
 * ioam6_fill_trace_data, called by ipv6_hop_ioam on receive with is_input set):
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Namespace-ID          |NodeLen  | Flags | RemainingLen|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               IOAM-Trace-Type                 |  Reserved     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   free space (RemainingLen words)  ...  | this node | earlier nodes ...
 * </pre>
 *
 * A node writes its NodeLen words (plus the opaque state snapshot's, bit 22) just below the end of the free space and
 * takes them off RemainingLen; without room it sets the Overflow flag (the first flag bit) and writes nothing; a trace
 * already overflowed is left alone. The fields, in trace-type bit order: 0 hop limit (as received, less one) and
 * node id (net.ipv6.ioam6_id); 1 ingress and egress interface ids (conf.IF.ioam6_id; the egress one unavailable when
 * the route is local); 2, 3 the receive time in seconds and microseconds; 4 transit delay (unavailable); 5 the
 * namespace's data; 6 queue depth (no queues here: 0; unavailable toward lo); 7 checksum complement (unavailable); 8,
 * 9, 10 the wide forms of 0, 1, 5 (ioam6_id_wide); 11 and the undefined 12..21: unavailable; 22 the namespace's
 * schema (its header and data) or 0x00FFFFFF without one. Checked against Linux 6.18 (KernelIoam6DifferentialTest).
 *
 * <p>Packet thread; static, no allocation.
 */
final class Ioam6Trace {
    private Ioam6Trace() {
    }

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    // Linux: IOAM6_U16_UNAVAILABLE, IOAM6_U32_UNAVAILABLE
    static final int U16_UNAVAILABLE = 0xFFFF;
    static final int U32_UNAVAILABLE = 0xFFFFFFFF;
    // Linux: IOAM6_TRACE_FLAG_OVERFLOW, the first of the four flag bits
    private static final int OVERFLOW = 0x04;
    private static final int HEADER = 8;

    /** The namespace id of the trace header at {@code trace}. */
    static int namespaceId(MemorySegment s, long trace) {
        return Short.toUnsignedInt(s.get(U16, trace));
    }

    /**
     * Fills this node's data into the trace header at {@code trace} of the datagram ending at {@code end}, for
     * namespace {@code ns}: {@code in} is the input interface, {@code out} the route's egress interface (null when
     * it is local: lo), {@code hopLimit} the IPv6 header's, {@code nodeId}/{@code nodeIdWide} the host's sysctls.
     * IpReceive has checked NodeLen against the trace type; writes stop at the datagram's end all the same.
     */
    static void fill(MemorySegment s, long trace, long end, Ioam6.Namespace ns, Datapath.Interface in,
            Datapath.Interface out, int hopLimit, long nodeId, long nodeIdWide, long nowNanos) {
        int flagsAndLength = Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, trace + 2));
        if ((flagsAndLength & OVERFLOW) != 0) {
            return;
        }
        int nodeLen = flagsAndLength >>> 3;
        int remaining = Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, trace + 3)) & 0x7F;
        int type = s.get(U32, trace + 4) >>> 8;
        Ioam6.Schema schema = ns.schema();
        int schemaLen = 0;
        if (bit(type, 22)) {
            schemaLen = 1 + (schema == null ? 0 : schema.words());
        }
        if (remaining == 0 || remaining < nodeLen + schemaLen) {
            s.set(ValueLayout.JAVA_BYTE, trace + 2, (byte) (flagsAndLength | OVERFLOW));
            return;
        }
        long at = trace + HEADER + 4L * (remaining - nodeLen - schemaLen);
        int hop = (hopLimit - 1) & 0xFF;
        boolean local = out == null;
        if (bit(type, 0)) {
            at = put32(s, at, end, hop << 24 | (int) nodeId);
        }
        if (bit(type, 1)) {
            at = put32(s, at, end, (in.ioam6Id & 0xFFFF) << 16 | (local ? U16_UNAVAILABLE : out.ioam6Id & 0xFFFF));
        }
        if (bit(type, 2)) {
            at = put32(s, at, end, (int) Math.floorDiv(nowNanos, 1_000_000_000L));
        }
        if (bit(type, 3)) {
            at = put32(s, at, end, (int) (Math.floorMod(nowNanos, 1_000_000_000L) / 1000));
        }
        if (bit(type, 4)) {
            at = put32(s, at, end, U32_UNAVAILABLE);
        }
        if (bit(type, 5)) {
            at = put32(s, at, end, (int) ns.data());
        }
        if (bit(type, 6)) {
            // Linux: the egress queue's qdisc backlog in bytes; nothing queues here
            at = put32(s, at, end, local ? U32_UNAVAILABLE : 0);
        }
        if (bit(type, 7)) {
            at = put32(s, at, end, U32_UNAVAILABLE);
        }
        if (bit(type, 8)) {
            at = put64(s, at, end, (long) hop << 56 | nodeIdWide);
        }
        if (bit(type, 9)) {
            at = put32(s, at, end, (int) in.ioam6IdWide);
            at = put32(s, at, end, local ? U32_UNAVAILABLE : (int) out.ioam6IdWide);
        }
        if (bit(type, 10)) {
            at = put64(s, at, end, ns.wide());
        }
        for (int b = 11; b <= 21; b++) {
            if (bit(type, b)) {
                at = put32(s, at, end, U32_UNAVAILABLE);
            }
        }
        if (bit(type, 22)) {
            if (schema == null) {
                put32(s, at, end, U32_UNAVAILABLE >>> 8);
            } else {
                at = put32(s, at, end, schema.words() << 24 | schema.id());
                for (int i = 0; i < schema.words() * 4 && at < end; i++, at++) {
                    s.set(ValueLayout.JAVA_BYTE, at, (byte) schema.byteAt(i));
                }
            }
        }
        s.set(ValueLayout.JAVA_BYTE, trace + 3, (byte) (remaining - nodeLen - schemaLen
                | Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, trace + 3)) & 0x80));
    }

    private static boolean bit(int type, int bit) {
        return (type & 1 << (23 - bit)) != 0;
    }

    private static long put32(MemorySegment s, long at, long end, int v) {
        if (at + 4 <= end) {
            s.set(U32, at, v);
        }
        return at + 4;
    }

    private static long put64(MemorySegment s, long at, long end, long v) {
        if (at + 8 <= end) {
            s.set(U64, at, v);
        }
        return at + 8;
    }
}
