package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;

/**
 * GRE header: version 0 (RFC 2784, key and sequence from RFC 2890) and version 1, the enhanced
 * GRE of PPTP (RFC 2637) that Linux's nf_conntrack_proto_gre tracks by call ID.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |C|R|K|S|s|Recur|A| Flags | Ver |         Protocol Type         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Checksum (if C)          |       Reserved1 (if C)        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Key (if K; v1: Payload Length (16) | Call ID (16))           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Sequence Number (if S)                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Acknowledgment Number (v1, if A)              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * <p>Optional fields move with the flags, so their offsets are computed ({@link #keyOffset()}
 * ...). Getters of absent fields return -1.
 *
 * <p>Hot path: one instance per packet thread, re-pointed with {@link #wrap}; no allocation.
 * Assumes {@link #headerLength()} bytes are present (check {@link #MIN_LENGTH} first, then that).
 */
public final class GreHeader {
    public static final int FLAGS_VERSION = 0;
    public static final int PROTOCOL_TYPE = 2;
    public static final int OPTIONAL = 4;
    public static final int MIN_LENGTH = 4;

    public static final int FLAG_CSUM = 0x8000;
    public static final int FLAG_ROUTING = 0x4000;
    public static final int FLAG_KEY = 0x2000;
    public static final int FLAG_SEQ = 0x1000;
    public static final int FLAG_ACK = 0x0080;
    public static final int VERSION_MASK = 0x0007;
    /** Linux: GRE_VERSION_1701 (0) and GRE_VERSION_PPTP (1). */
    public static final int VERSION_0 = 0;
    public static final int VERSION_PPTP = 1;
    /** Protocol type of PPTP's enhanced GRE (PPP). */
    public static final int PROTO_PPP = 0x880B;

    private MemorySegment segment;
    private long offset;

    public GreHeader wrap(MemorySegment segment, long offset) {
        this.segment = segment;
        this.offset = offset;
        return this;
    }

    public MemorySegment segment() {
        return segment;
    }

    public long offset() {
        return offset;
    }

    public int flagsAndVersion() {
        return NetworkOrder.u16(segment, offset + FLAGS_VERSION);
    }

    public GreHeader flagsAndVersion(int v) {
        NetworkOrder.u16(segment, offset + FLAGS_VERSION, v);
        return this;
    }

    public int version() {
        return flagsAndVersion() & VERSION_MASK;
    }

    public GreHeader version(int v) {
        return flagsAndVersion((flagsAndVersion() & ~VERSION_MASK) | (v & VERSION_MASK));
    }

    public boolean has(int flag) {
        return (flagsAndVersion() & flag) != 0;
    }

    public int protocolType() {
        return NetworkOrder.u16(segment, offset + PROTOCOL_TYPE);
    }

    public GreHeader protocolType(int v) {
        NetworkOrder.u16(segment, offset + PROTOCOL_TYPE, v);
        return this;
    }

    /** Offset of the key word, or -1 without K. */
    public int keyOffset() {
        return has(FLAG_KEY) ? OPTIONAL + (has(FLAG_CSUM) ? 4 : 0) : -1;
    }

    /** Offset of the sequence number, or -1 without S. */
    public int sequenceOffset() {
        if (!has(FLAG_SEQ)) {
            return -1;
        }
        return OPTIONAL + (has(FLAG_CSUM) ? 4 : 0) + (has(FLAG_KEY) ? 4 : 0);
    }

    /** Offset of the acknowledgment number (version 1 with A), or -1. */
    public int acknowledgmentOffset() {
        if (version() != VERSION_PPTP || !has(FLAG_ACK)) {
            return -1;
        }
        return OPTIONAL + (has(FLAG_CSUM) ? 4 : 0) + (has(FLAG_KEY) ? 4 : 0) + (has(FLAG_SEQ) ? 4 : 0);
    }

    /** Length of the header with its optional fields. */
    public int headerLength() {
        int len = OPTIONAL;
        if (has(FLAG_CSUM)) {
            len += 4;
        }
        if (has(FLAG_KEY)) {
            len += 4;
        }
        if (has(FLAG_SEQ)) {
            len += 4;
        }
        if (version() == VERSION_PPTP && has(FLAG_ACK)) {
            len += 4;
        }
        return len;
    }

    /** The checksum (with C), or -1. */
    public int checksum() {
        return has(FLAG_CSUM) ? NetworkOrder.u16(segment, offset + OPTIONAL) : -1;
    }

    /** Writes the checksum; the C flag must be set. */
    public GreHeader checksum(int v) {
        NetworkOrder.u16(segment, offset + OPTIONAL, v);
        return this;
    }

    public long key() {
        int at = keyOffset();
        return at < 0 ? -1 : NetworkOrder.u32(segment, offset + at);
    }

    /** Writes the key; the K flag must be set. */
    public GreHeader key(long v) {
        NetworkOrder.u32(segment, offset + keyOffset(), v);
        return this;
    }

    /** PPTP call ID: the low half of the key word (Linux: pptp_gre_header.call_id). */
    public int callId() {
        int at = keyOffset();
        return at < 0 ? -1 : NetworkOrder.u16(segment, offset + at + 2);
    }

    public GreHeader callId(int v) {
        NetworkOrder.u16(segment, offset + keyOffset() + 2, v);
        return this;
    }

    /** PPTP payload length: the high half of the key word. */
    public int payloadLength() {
        int at = keyOffset();
        return at < 0 ? -1 : NetworkOrder.u16(segment, offset + at);
    }

    public GreHeader payloadLength(int v) {
        NetworkOrder.u16(segment, offset + keyOffset(), v);
        return this;
    }

    public long sequence() {
        int at = sequenceOffset();
        return at < 0 ? -1 : NetworkOrder.u32(segment, offset + at);
    }

    public GreHeader sequence(long v) {
        NetworkOrder.u32(segment, offset + sequenceOffset(), v);
        return this;
    }

    public long acknowledgment() {
        int at = acknowledgmentOffset();
        return at < 0 ? -1 : NetworkOrder.u32(segment, offset + at);
    }

    public GreHeader acknowledgment(long v) {
        NetworkOrder.u32(segment, offset + acknowledgmentOffset(), v);
        return this;
    }
}
