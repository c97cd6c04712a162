package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;

/**
 * The kind-length option lists IPv4 and TCP share: kind 0 ends the list, kind 1 is a one-byte pad,
 * every other option carries its length (kind and length bytes included) in its second byte. Linux
 * refuses an option shorter than 2 bytes or running past the header (__ip_options_compile,
 * tcp_parse_options), which is {@link #MALFORMED} here.
 */
final class OptionWalk {
    /** The walk ended normally (end-of-list option, or the end of the header). */
    static final int END = -1;
    /** An option with a bad length: the walk cannot go on. */
    static final int MALFORMED = -2;

    private OptionWalk() {
    }

    /**
     * {@code at} when a whole option starts there, else END or MALFORMED.
     *
     * @param base where the header starts in {@code segment}
     * @param end  the header's length: options live in [first option, end)
     */
    static int check(MemorySegment segment, long base, int at, int end) {
        if (at >= end) {
            return END;
        }
        int kind = NetworkOrder.u8(segment, base + at);
        if (kind == 0) {
            return END;
        }
        if (kind == 1) {
            return at;
        }
        if (at + 1 >= end) {
            return MALFORMED;
        }
        int len = NetworkOrder.u8(segment, base + at + 1);
        return len < 2 || at + len > end ? MALFORMED : at;
    }

    /** Length of the option at {@code at}: 1 for the end and pad options, else its length byte. */
    static int length(MemorySegment segment, long base, int at) {
        int kind = NetworkOrder.u8(segment, base + at);
        return kind == 0 || kind == 1 ? 1 : NetworkOrder.u8(segment, base + at + 1);
    }
}
