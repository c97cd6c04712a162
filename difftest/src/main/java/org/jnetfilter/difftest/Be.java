package org.jnetfilter.difftest;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Network-order reads and writes for the harness's own framing (the core's NetworkOrder is package-private). */
final class Be {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private Be() {
    }

    static int u8(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    static int u16(MemorySegment s, long at) {
        return s.get(U16, at) & 0xFFFF;
    }

    static void u16(MemorySegment s, long at, int v) {
        s.set(U16, at, (short) v);
    }

    static int s32(MemorySegment s, long at) {
        return s.get(U32, at);
    }

    static void u32(MemorySegment s, long at, long v) {
        s.set(U32, at, (int) v);
    }
}
