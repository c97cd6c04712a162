package org.jnetfilter.core.defrag;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Test datagrams and a plain fragmenter to feed {@link Defrag}: byte arrays, headers written by hand. */
final class Datagrams {
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private Datagrams() {
    }

    /** An IPv4 UDP datagram 10.0.0.1 -> 10.0.0.2 with {@code payload} bytes after the UDP header. */
    static byte[] ipv4(int id, int tos, boolean df, int payload, SplittableRandom r) {
        byte[] b = new byte[20 + 8 + payload];
        r.nextBytes(b);
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x45);
        s.set(ValueLayout.JAVA_BYTE, 1, (byte) tos);
        s.set(U16, 2, (short) b.length);
        s.set(U16, 4, (short) id);
        s.set(U16, 6, (short) (df ? 0x4000 : 0));
        s.set(ValueLayout.JAVA_BYTE, 8, (byte) 64);
        s.set(ValueLayout.JAVA_BYTE, 9, (byte) 17);
        s.set(U32, 12, 0x0A000001);
        s.set(U32, 16, 0x0A000002);
        setChecksum(b, 20);
        return b;
    }

    static void setChecksum(byte[] b, int ihl) {
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(U16, 10, (short) 0);
        long sum = 0;
        for (int i = 0; i < ihl; i += 2) {
            sum += Short.toUnsignedInt(s.get(U16, i));
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        s.set(U16, 10, (short) ~sum);
    }

    /** One IPv4 fragment of {@code d}: data [from, to) with MF as given; DF and TOS as {@code d}'s. */
    static byte[] fragment4(byte[] d, int from, int to, boolean more) {
        int ihl = (d[0] & 0x0F) << 2;
        byte[] f = new byte[ihl + to - from];
        System.arraycopy(d, 0, f, 0, ihl);
        System.arraycopy(d, ihl + from, f, ihl, to - from);
        MemorySegment s = MemorySegment.ofArray(f);
        int df = Short.toUnsignedInt(MemorySegment.ofArray(d).get(U16, 6)) & 0x4000;
        s.set(U16, 2, (short) f.length);
        s.set(U16, 6, (short) (df | (more ? 0x2000 : 0) | (from >>> 3)));
        setChecksum(f, ihl);
        return f;
    }

    /** Cuts the payload of {@code d} at random multiples of 8 (at least 8 bytes each). */
    static List<int[]> cuts(int payload, SplittableRandom r) {
        List<int[]> out = new ArrayList<>();
        int at = 0;
        while (at < payload) {
            int n = Math.min(payload - at, 8 * (1 + r.nextInt(Math.max(1, payload / 8 / 3 + 1))));
            out.add(new int[] {at, at + n});
            at += n;
        }
        return out;
    }

    /**
     * An IPv6 UDP datagram fd00::1 -> fd00::2 with an optional Hop-by-Hop header (8 bytes) and {@code payload}
     * bytes after the UDP header.
     */
    static byte[] ipv6(int trafficClass, boolean hopByHop, int payload, SplittableRandom r) {
        int ext = hopByHop ? 8 : 0;
        byte[] b = new byte[40 + ext + 8 + payload];
        r.nextBytes(b);
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(U32, 0, (6 << 28) | (trafficClass << 20));
        s.set(U16, 4, (short) (b.length - 40));
        s.set(ValueLayout.JAVA_BYTE, 6, (byte) (hopByHop ? 0 : 17));
        s.set(ValueLayout.JAVA_BYTE, 7, (byte) 64);
        byte[] src = {(byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        System.arraycopy(src, 0, b, 8, 16);
        src[15] = 2;
        System.arraycopy(src, 0, b, 24, 16);
        if (hopByHop) {
            b[40] = 17;
            b[41] = 0;
            b[42] = 1;
            b[43] = 4;
            b[44] = b[45] = b[46] = b[47] = 0;
        }
        return b;
    }

    /** One IPv6 fragment of {@code d} (unfragmentable part {@code hlen} bytes): data [from, to). */
    static byte[] fragment6(byte[] d, int hlen, int nextAt, int from, int to, boolean more, int id) {
        byte[] f = new byte[hlen + 8 + to - from];
        System.arraycopy(d, 0, f, 0, hlen);
        int next = d[nextAt];
        f[nextAt] = 44;
        MemorySegment s = MemorySegment.ofArray(f);
        f[hlen] = (byte) next;
        s.set(U16, hlen + 2, (short) (from | (more ? 1 : 0)));
        s.set(U32, hlen + 4, id);
        System.arraycopy(d, hlen + from, f, hlen + 8, to - from);
        s.set(U16, 4, (short) (f.length - 40));
        return f;
    }
}
