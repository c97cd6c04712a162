package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;

/**
 * TCP header (RFC 9293) with its options (RFC 7323 window scale and timestamps, RFC 2018 SACK).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |     |A|C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrv|E|W|C|R|C|S|S|Y|I|            Window             |
 * |       |     | |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options (data offset > 5)  |    Padding    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * <p>Options are walked with a cursor: {@code for (int at = tcp.firstOption(); at >= 0; at =
 * tcp.nextOption(at))}, ending in {@link #END} or {@link #MALFORMED}; like Linux's
 * tcp_parse_options the walk stops at an option whose length is below 2 or runs past the header.
 * The typed getters ({@link #mss()}, ...) return -1 when the option is absent or has the wrong
 * length, which is when Linux ignores it.
 *
 * <p>Hot path: one instance per packet thread, re-pointed with {@link #wrap}; no allocation.
 * Field accessors assume {@link #MIN_LENGTH} bytes, the option walk {@link #headerLength()}
 * bytes (Linux: nf_conntrack_proto_tcp checks both before looking). Setters do not fix the
 * checksum: use {@link Checksums#update16} / {@link Checksums#update32}.
 */
public final class TcpHeader {
    public static final int SOURCE_PORT = 0;
    public static final int DESTINATION_PORT = 2;
    public static final int SEQUENCE = 4;
    public static final int ACKNOWLEDGMENT = 8;
    public static final int DATA_OFFSET_FLAGS = 12;
    public static final int FLAGS = 13;
    public static final int WINDOW = 14;
    public static final int CHECKSUM = 16;
    public static final int URGENT_POINTER = 18;
    public static final int OPTIONS = 20;
    public static final int MIN_LENGTH = 20;
    public static final int MAX_LENGTH = 60;

    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;
    public static final int URG = 0x20;
    public static final int ECE = 0x40;
    public static final int CWR = 0x80;
    /** AccECN (RFC 9768), formerly NS: the low bit of the byte before the flags. */
    public static final int AE = 0x100;

    /** Linux: TCPOPT_* and TCPOLEN_* (include/net/tcp.h). */
    public static final int OPT_EOL = 0;
    public static final int OPT_NOP = 1;
    public static final int OPT_MSS = 2;
    public static final int OPT_WINDOW = 3;
    public static final int OPT_SACK_PERM = 4;
    public static final int OPT_SACK = 5;
    public static final int OPT_TIMESTAMP = 8;
    public static final int OPT_MD5SIG = 19;
    public static final int OPT_MPTCP = 30;
    public static final int OPT_FASTOPEN = 34;
    public static final int OPTLEN_MSS = 4;
    public static final int OPTLEN_WINDOW = 3;
    public static final int OPTLEN_SACK_PERM = 2;
    public static final int OPTLEN_TIMESTAMP = 10;
    public static final int OPTLEN_SACK_BASE = 2;
    public static final int OPTLEN_SACK_PERBLOCK = 8;
    /** Linux: TCP_MAX_WSCALE; larger shifts are clamped with "Illegal window scaling value". */
    public static final int MAX_WSCALE = 14;

    public static final int END = OptionWalk.END;
    public static final int MALFORMED = OptionWalk.MALFORMED;

    private MemorySegment segment;
    private long offset;

    public TcpHeader wrap(MemorySegment segment, long offset) {
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

    public int sourcePort() {
        return NetworkOrder.u16(segment, offset + SOURCE_PORT);
    }

    public TcpHeader sourcePort(int v) {
        NetworkOrder.u16(segment, offset + SOURCE_PORT, v);
        return this;
    }

    public int destinationPort() {
        return NetworkOrder.u16(segment, offset + DESTINATION_PORT);
    }

    public TcpHeader destinationPort(int v) {
        NetworkOrder.u16(segment, offset + DESTINATION_PORT, v);
        return this;
    }

    public long sequence() {
        return NetworkOrder.u32(segment, offset + SEQUENCE);
    }

    public TcpHeader sequence(long v) {
        NetworkOrder.u32(segment, offset + SEQUENCE, v);
        return this;
    }

    public long acknowledgment() {
        return NetworkOrder.u32(segment, offset + ACKNOWLEDGMENT);
    }

    public TcpHeader acknowledgment(long v) {
        NetworkOrder.u32(segment, offset + ACKNOWLEDGMENT, v);
        return this;
    }

    /** Data offset in 32-bit words. */
    public int dataOffset() {
        return NetworkOrder.u8(segment, offset + DATA_OFFSET_FLAGS) >>> 4;
    }

    public TcpHeader dataOffset(int v) {
        int b = NetworkOrder.u8(segment, offset + DATA_OFFSET_FLAGS);
        NetworkOrder.u8(segment, offset + DATA_OFFSET_FLAGS, (b & 0x0F) | ((v & 0x0F) << 4));
        return this;
    }

    /** Header length in bytes (data offset * 4). */
    public int headerLength() {
        return dataOffset() << 2;
    }

    /** The nine flag bits: {@link #AE} and CWR..FIN. */
    public int flags() {
        return NetworkOrder.u16(segment, offset + DATA_OFFSET_FLAGS) & 0x1FF;
    }

    public TcpHeader flags(int v) {
        int w = NetworkOrder.u16(segment, offset + DATA_OFFSET_FLAGS);
        NetworkOrder.u16(segment, offset + DATA_OFFSET_FLAGS, (w & ~0x1FF) | (v & 0x1FF));
        return this;
    }

    public boolean hasFlags(int mask) {
        return (flags() & mask) == mask;
    }

    public int window() {
        return NetworkOrder.u16(segment, offset + WINDOW);
    }

    public TcpHeader window(int v) {
        NetworkOrder.u16(segment, offset + WINDOW, v);
        return this;
    }

    public int checksum() {
        return NetworkOrder.u16(segment, offset + CHECKSUM);
    }

    public TcpHeader checksum(int v) {
        NetworkOrder.u16(segment, offset + CHECKSUM, v);
        return this;
    }

    public int urgentPointer() {
        return NetworkOrder.u16(segment, offset + URGENT_POINTER);
    }

    public TcpHeader urgentPointer(int v) {
        NetworkOrder.u16(segment, offset + URGENT_POINTER, v);
        return this;
    }

    // ---- options ----

    public int firstOption() {
        return checkOption(OPTIONS);
    }

    public int nextOption(int at) {
        return checkOption(at + optionLength(at));
    }

    public int optionType(int at) {
        return NetworkOrder.u8(segment, offset + at);
    }

    /** Length of the option at {@code at} including kind and length bytes; 1 for NOP and EOL. */
    public int optionLength(int at) {
        return OptionWalk.length(segment, offset, at);
    }

    /** Cursor of the first option of {@code kind} with exactly {@code length} bytes, or -1. */
    public int findOption(int kind, int length) {
        for (int at = firstOption(); at >= 0; at = nextOption(at)) {
            if (optionType(at) == kind && optionLength(at) == length) {
                return at;
            }
        }
        return -1;
    }

    /** Maximum segment size, or -1. */
    public int mss() {
        int at = findOption(OPT_MSS, OPTLEN_MSS);
        return at < 0 ? -1 : NetworkOrder.u16(segment, offset + at + 2);
    }

    /** Rewrites an existing MSS option (as TCPMSS does); returns false when there is none. */
    public boolean mss(int v) {
        int at = findOption(OPT_MSS, OPTLEN_MSS);
        if (at < 0) {
            return false;
        }
        NetworkOrder.u16(segment, offset + at + 2, v);
        return true;
    }

    /** Window scale shift as sent (not clamped), or -1. */
    public int windowScale() {
        int at = findOption(OPT_WINDOW, OPTLEN_WINDOW);
        return at < 0 ? -1 : NetworkOrder.u8(segment, offset + at + 2);
    }

    /** The shift Linux uses: the sent value clamped to {@link #MAX_WSCALE}, or -1. */
    public int effectiveWindowScale() {
        int ws = windowScale();
        return ws < 0 ? -1 : Math.min(ws, MAX_WSCALE);
    }

    public boolean sackPermitted() {
        return findOption(OPT_SACK_PERM, OPTLEN_SACK_PERM) >= 0;
    }

    /** Cursor of the timestamps option, or -1; read it with {@link #tsVal} / {@link #tsEcr}. */
    public int timestampOption() {
        return findOption(OPT_TIMESTAMP, OPTLEN_TIMESTAMP);
    }

    public long tsVal(int at) {
        return NetworkOrder.u32(segment, offset + at + 2);
    }

    public long tsEcr(int at) {
        return NetworkOrder.u32(segment, offset + at + 6);
    }

    /** Cursor of a well-formed SACK option (2 + 8n bytes, n >= 1), or -1. */
    public int sackOption() {
        for (int at = firstOption(); at >= 0; at = nextOption(at)) {
            int len = optionLength(at);
            if (optionType(at) == OPT_SACK && len >= OPTLEN_SACK_BASE + OPTLEN_SACK_PERBLOCK
                    && (len - OPTLEN_SACK_BASE) % OPTLEN_SACK_PERBLOCK == 0) {
                return at;
            }
        }
        return -1;
    }

    public int sackBlockCount(int at) {
        return (optionLength(at) - OPTLEN_SACK_BASE) / OPTLEN_SACK_PERBLOCK;
    }

    public long sackLeft(int at, int block) {
        return NetworkOrder.u32(segment, offset + at + 2 + block * OPTLEN_SACK_PERBLOCK);
    }

    public long sackRight(int at, int block) {
        return NetworkOrder.u32(segment, offset + at + 6 + block * OPTLEN_SACK_PERBLOCK);
    }

    private int checkOption(int at) {
        return OptionWalk.check(segment, offset, at, headerLength());
    }
}
