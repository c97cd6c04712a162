package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Big-endian (network byte order) accessors shared by the header flyweights. Every read widens
 * the unsigned wire value to the next larger Java type so callers never see a negative port or
 * length.
 *
 * <p>Hot path: static, stateless, allocation-free; bounds are checked by the segment itself.
 */
final class NetworkOrder {
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private NetworkOrder() {
    }

    static int u8(MemorySegment s, long at) {
        return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at));
    }

    static void u8(MemorySegment s, long at, int v) {
        s.set(ValueLayout.JAVA_BYTE, at, (byte) v);
    }

    static int u16(MemorySegment s, long at) {
        return Short.toUnsignedInt(s.get(U16, at));
    }

    static void u16(MemorySegment s, long at, int v) {
        s.set(U16, at, (short) v);
    }

    static long u32(MemorySegment s, long at) {
        return Integer.toUnsignedLong(s.get(U32, at));
    }

    static void u32(MemorySegment s, long at, long v) {
        s.set(U32, at, (int) v);
    }

    /** A 32-bit field kept as its bit pattern (addresses, tags): compared and masked, never ordered. */
    static int bits32(MemorySegment s, long at) {
        return s.get(U32, at);
    }

    static void bits32(MemorySegment s, long at, int v) {
        s.set(U32, at, v);
    }

    static long u64(MemorySegment s, long at) {
        return s.get(U64, at);
    }

    static void u64(MemorySegment s, long at, long v) {
        s.set(U64, at, v);
    }

    /** A 48-bit MAC address in the low bits of a long. */
    static long mac(MemorySegment s, long at) {
        return ((long) u16(s, at) << 32) | u32(s, at + 2);
    }

    static void mac(MemorySegment s, long at, long v) {
        u16(s, at, (int) (v >>> 32));
        u32(s, at + 2, v & 0xFFFF_FFFFL);
    }
}
