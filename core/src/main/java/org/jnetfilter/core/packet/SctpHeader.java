package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;

/**
 * SCTP common header and chunks (RFC 9260).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Source Port Number        |     Destination Port Number   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      Verification Tag                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Checksum (CRC32c, little-endian)               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Chunk (repeated, each padded to a multiple of 4 bytes):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Chunk Type  |  Chunk Flags  |        Chunk Length           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          Chunk Value ...                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * <p>The checksum is the raw 32-bit field as stored; Linux stores the CRC32c little-endian
 * ({@code sctp_compute_cksum} returns {@code __le32}), see {@link Checksums#sctp}.
 *
 * <p>Chunks are walked with a cursor over an SCTP packet of {@code length} bytes:
 * {@code for (int at = sctp.firstChunk(len); at >= 0; at = sctp.nextChunk(at, len))}, ending in
 * {@link #END} or {@link #MALFORMED} (a chunk shorter than 4 bytes or running past the packet;
 * Linux conntrack's do_basic_checks rejects the packet then).
 *
 * <p>Hot path: one instance per packet thread, re-pointed with {@link #wrap}; no allocation.
 * Assumes {@link #LENGTH} bytes are present.
 */
public final class SctpHeader {
    public static final int SOURCE_PORT = 0;
    public static final int DESTINATION_PORT = 2;
    public static final int VERIFICATION_TAG = 4;
    public static final int CHECKSUM = 8;
    public static final int LENGTH = 12;
    public static final int CHUNK_TYPE = 0;
    public static final int CHUNK_FLAGS = 1;
    public static final int CHUNK_LENGTH = 2;
    public static final int CHUNK_HEADER_LENGTH = 4;

    public static final int DATA = 0;
    public static final int INIT = 1;
    public static final int INIT_ACK = 2;
    public static final int SACK = 3;
    public static final int HEARTBEAT = 4;
    public static final int HEARTBEAT_ACK = 5;
    public static final int ABORT = 6;
    public static final int SHUTDOWN = 7;
    public static final int SHUTDOWN_ACK = 8;
    public static final int ERROR = 9;
    public static final int COOKIE_ECHO = 10;
    public static final int COOKIE_ACK = 11;
    public static final int SHUTDOWN_COMPLETE = 14;

    public static final int END = -1;
    public static final int MALFORMED = -2;

    private MemorySegment segment;
    private long offset;

    public SctpHeader wrap(MemorySegment segment, long offset) {
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

    public SctpHeader sourcePort(int v) {
        NetworkOrder.u16(segment, offset + SOURCE_PORT, v);
        return this;
    }

    public int destinationPort() {
        return NetworkOrder.u16(segment, offset + DESTINATION_PORT);
    }

    public SctpHeader destinationPort(int v) {
        NetworkOrder.u16(segment, offset + DESTINATION_PORT, v);
        return this;
    }

    public long verificationTag() {
        return NetworkOrder.u32(segment, offset + VERIFICATION_TAG);
    }

    public SctpHeader verificationTag(long v) {
        NetworkOrder.u32(segment, offset + VERIFICATION_TAG, v);
        return this;
    }

    /** The CRC32c as Linux computes it (the field read little-endian). */
    public long checksum() {
        return Integer.toUnsignedLong(segment.get(Checksums.LE32, offset + CHECKSUM));
    }

    public SctpHeader checksum(long v) {
        segment.set(Checksums.LE32, offset + CHECKSUM, (int) v);
        return this;
    }

    /** Computes and stores the CRC32c over the {@code length}-byte packet. */
    public SctpHeader updateChecksum(int length) {
        return checksum(Checksums.sctp(segment, offset, length));
    }

    public boolean checksumValid(int length) {
        return Checksums.sctp(segment, offset, length) == checksum();
    }

    public int firstChunk(int length) {
        return checkChunk(LENGTH, length);
    }

    public int nextChunk(int at, int length) {
        return checkChunk(at + ((chunkLength(at) + 3) & ~3), length);
    }

    public int chunkType(int at) {
        return NetworkOrder.u8(segment, offset + at + CHUNK_TYPE);
    }

    public SctpHeader chunkType(int at, int v) {
        NetworkOrder.u8(segment, offset + at + CHUNK_TYPE, v);
        return this;
    }

    public int chunkFlags(int at) {
        return NetworkOrder.u8(segment, offset + at + CHUNK_FLAGS);
    }

    public SctpHeader chunkFlags(int at, int v) {
        NetworkOrder.u8(segment, offset + at + CHUNK_FLAGS, v);
        return this;
    }

    /** Chunk length without padding. */
    public int chunkLength(int at) {
        return NetworkOrder.u16(segment, offset + at + CHUNK_LENGTH);
    }

    public SctpHeader chunkLength(int at, int v) {
        NetworkOrder.u16(segment, offset + at + CHUNK_LENGTH, v);
        return this;
    }

    private int checkChunk(int at, int length) {
        if (at >= length) {
            return END;
        }
        if (at + CHUNK_HEADER_LENGTH > length) {
            return MALFORMED;
        }
        int len = chunkLength(at);
        if (len < CHUNK_HEADER_LENGTH || at + len > length) {
            return MALFORMED;
        }
        return at;
    }
}
