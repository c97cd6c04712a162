package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;

/**
 * IPv4 header (RFC 791) with its options.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |   DSCP    |ECN|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |R|D|M|    Fragment Offset      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options (IHL > 5)          |    Padding    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * <p>Addresses are {@code int} bit patterns (10.0.0.1 is {@code 0x0A000001}): they are compared
 * and masked, never ordered, so widening them would only cost conversions.
 *
 * <p>Options are walked with a cursor and no allocation:
 * {@code for (int at = ip.firstOption(); at >= 0; at = ip.nextOption(at))}; the walk ends with
 * {@link #END} or {@link #MALFORMED}. Cursors are offsets from the start of the header.
 *
 * <p>Hot path: one instance per packet thread, re-pointed with {@link #wrap}; no allocation.
 * Field accessors assume {@link #MIN_LENGTH} bytes; the option walk assumes
 * {@link #headerLength()} bytes, both as checked by {@link IpReceive#ipv4}. Setters do not fix
 * the checksum: use {@link #updateChecksum()} or {@link Checksums#update16}.
 */
public final class Ipv4Header {
    public static final int VERSION_IHL = 0;
    public static final int TOS = 1;
    public static final int TOTAL_LENGTH = 2;
    public static final int IDENTIFICATION = 4;
    public static final int FLAGS_FRAGMENT_OFFSET = 6;
    public static final int TTL = 8;
    public static final int PROTOCOL = 9;
    public static final int CHECKSUM = 10;
    public static final int SOURCE = 12;
    public static final int DESTINATION = 16;
    public static final int OPTIONS = 20;
    public static final int MIN_LENGTH = 20;
    public static final int MAX_LENGTH = 60;

    /** Linux: IP_CE (reserved, "evil bit"), IP_DF, IP_MF, IP_OFFSET. */
    public static final int FLAG_RESERVED = 0x8000;
    public static final int FLAG_DF = 0x4000;
    public static final int FLAG_MF = 0x2000;
    public static final int OFFSET_MASK = 0x1FFF;

    public static final int OPT_END = 0;
    public static final int OPT_NOOP = 1;
    public static final int OPT_RR = 7;
    public static final int OPT_TIMESTAMP = 68;
    public static final int OPT_SECURITY = 130;
    public static final int OPT_LSRR = 131;
    public static final int OPT_CIPSO = 134;
    public static final int OPT_SSRR = 137;
    public static final int OPT_RA = 148;

    /** Option walk finished normally (end of header or End of Option List). */
    public static final int END = OptionWalk.END;
    /** Option walk stopped: an option's length is below 2 or runs past the header. */
    public static final int MALFORMED = OptionWalk.MALFORMED;

    private MemorySegment segment;
    private long offset;

    public Ipv4Header wrap(MemorySegment segment, long offset) {
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

    public int version() {
        return NetworkOrder.u8(segment, offset + VERSION_IHL) >>> 4;
    }

    public Ipv4Header version(int v) {
        int b = NetworkOrder.u8(segment, offset + VERSION_IHL);
        NetworkOrder.u8(segment, offset + VERSION_IHL, (b & 0x0F) | ((v & 0x0F) << 4));
        return this;
    }

    /** Header length in 32-bit words. */
    public int ihl() {
        return NetworkOrder.u8(segment, offset + VERSION_IHL) & 0x0F;
    }

    public Ipv4Header ihl(int v) {
        int b = NetworkOrder.u8(segment, offset + VERSION_IHL);
        NetworkOrder.u8(segment, offset + VERSION_IHL, (b & 0xF0) | (v & 0x0F));
        return this;
    }

    /** Header length in bytes (IHL * 4). */
    public int headerLength() {
        return ihl() << 2;
    }

    public int tos() {
        return NetworkOrder.u8(segment, offset + TOS);
    }

    public Ipv4Header tos(int v) {
        NetworkOrder.u8(segment, offset + TOS, v);
        return this;
    }

    public int dscp() {
        return tos() >>> 2;
    }

    public Ipv4Header dscp(int v) {
        return tos((tos() & 0x03) | ((v & 0x3F) << 2));
    }

    public int ecn() {
        return tos() & 0x03;
    }

    public Ipv4Header ecn(int v) {
        return tos((tos() & 0xFC) | (v & 0x03));
    }

    public int totalLength() {
        return NetworkOrder.u16(segment, offset + TOTAL_LENGTH);
    }

    public Ipv4Header totalLength(int v) {
        NetworkOrder.u16(segment, offset + TOTAL_LENGTH, v);
        return this;
    }

    public int identification() {
        return NetworkOrder.u16(segment, offset + IDENTIFICATION);
    }

    public Ipv4Header identification(int v) {
        NetworkOrder.u16(segment, offset + IDENTIFICATION, v);
        return this;
    }

    /** The whole 16-bit flags and fragment offset word, as Linux's {@code iph->frag_off}. */
    public int flagsAndFragmentOffset() {
        return NetworkOrder.u16(segment, offset + FLAGS_FRAGMENT_OFFSET);
    }

    public Ipv4Header flagsAndFragmentOffset(int v) {
        NetworkOrder.u16(segment, offset + FLAGS_FRAGMENT_OFFSET, v);
        return this;
    }

    public boolean dontFragment() {
        return (flagsAndFragmentOffset() & FLAG_DF) != 0;
    }

    public Ipv4Header dontFragment(boolean v) {
        return flag(FLAG_DF, v);
    }

    public boolean moreFragments() {
        return (flagsAndFragmentOffset() & FLAG_MF) != 0;
    }

    public Ipv4Header moreFragments(boolean v) {
        return flag(FLAG_MF, v);
    }

    /** Fragment offset in 8-byte units. */
    public int fragmentOffset() {
        return flagsAndFragmentOffset() & OFFSET_MASK;
    }

    public Ipv4Header fragmentOffset(int v) {
        return flagsAndFragmentOffset((flagsAndFragmentOffset() & ~OFFSET_MASK) | (v & OFFSET_MASK));
    }

    /** Linux: ip_is_fragment, MF set or a non-zero offset. */
    public boolean isFragment() {
        return (flagsAndFragmentOffset() & (FLAG_MF | OFFSET_MASK)) != 0;
    }

    private Ipv4Header flag(int bit, boolean on) {
        int w = flagsAndFragmentOffset();
        return flagsAndFragmentOffset(on ? w | bit : w & ~bit);
    }

    public int ttl() {
        return NetworkOrder.u8(segment, offset + TTL);
    }

    public Ipv4Header ttl(int v) {
        NetworkOrder.u8(segment, offset + TTL, v);
        return this;
    }

    public int protocol() {
        return NetworkOrder.u8(segment, offset + PROTOCOL);
    }

    public Ipv4Header protocol(int v) {
        NetworkOrder.u8(segment, offset + PROTOCOL, v);
        return this;
    }

    public int checksum() {
        return NetworkOrder.u16(segment, offset + CHECKSUM);
    }

    public Ipv4Header checksum(int v) {
        NetworkOrder.u16(segment, offset + CHECKSUM, v);
        return this;
    }

    public int source() {
        return NetworkOrder.bits32(segment, offset + SOURCE);
    }

    public Ipv4Header source(int v) {
        NetworkOrder.bits32(segment, offset + SOURCE, v);
        return this;
    }

    public int destination() {
        return NetworkOrder.bits32(segment, offset + DESTINATION);
    }

    public Ipv4Header destination(int v) {
        NetworkOrder.bits32(segment, offset + DESTINATION, v);
        return this;
    }

    /** Recomputes the header checksum over {@link #headerLength()} bytes. */
    public Ipv4Header updateChecksum() {
        return checksum(Checksums.ipv4Header(segment, offset));
    }

    /** True when the header checksum verifies (Linux: ip_fast_csum returns 0). */
    public boolean checksumValid() {
        return Checksums.ipv4HeaderValid(segment, offset);
    }

    /** Linux: ip_decrease_ttl, decrements TTL and patches the checksum incrementally. */
    public Ipv4Header decrementTtl() {
        int oldWord = NetworkOrder.u16(segment, offset + TTL);
        ttl(ttl() - 1);
        int newWord = NetworkOrder.u16(segment, offset + TTL);
        return checksum(Checksums.update16(checksum(), oldWord, newWord));
    }

    // ---- options ----

    /** Cursor of the first option, or {@link #END} / {@link #MALFORMED}. */
    public int firstOption() {
        return checkOption(OPTIONS);
    }

    /** Cursor of the option after {@code at}, or {@link #END} / {@link #MALFORMED}. */
    public int nextOption(int at) {
        return checkOption(at + optionLength(at));
    }

    public int optionType(int at) {
        return NetworkOrder.u8(segment, offset + at);
    }

    /** Length of the option at {@code at}, type and length bytes included; 1 for NOP and EOL. */
    public int optionLength(int at) {
        return OptionWalk.length(segment, offset, at);
    }

    /** Cursor of the first option of {@code type}, or a negative walk result. */
    public int findOption(int type) {
        int at = firstOption();
        while (at >= 0 && optionType(at) != type) {
            at = nextOption(at);
        }
        return at;
    }

    private int checkOption(int at) {
        return OptionWalk.check(segment, offset, at, headerLength());
    }
}
