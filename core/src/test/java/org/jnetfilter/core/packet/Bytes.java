package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;
import java.util.HexFormat;

/** Test packets: hex strings to heap segments. */
final class Bytes {
    private Bytes() {
    }

    static MemorySegment hex(String hex) {
        return MemorySegment.ofArray(HexFormat.of().parseHex(hex.replaceAll("\\s+", "")));
    }

    /** The same bytes placed at {@code offset} in a larger segment, to catch offset mistakes. */
    static MemorySegment at(int offset, String hex) {
        byte[] body = HexFormat.of().parseHex(hex.replaceAll("\\s+", ""));
        byte[] all = new byte[offset + body.length];
        System.arraycopy(body, 0, all, offset, body.length);
        return MemorySegment.ofArray(all);
    }

    static int ip(int a, int b, int c, int d) {
        return a << 24 | b << 16 | c << 8 | d;
    }
}
