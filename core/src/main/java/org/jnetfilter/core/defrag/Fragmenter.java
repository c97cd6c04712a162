package org.jnetfilter.core.defrag;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Fragmentation on output as Linux does it for datagrams that are too big for the route or that netfilter
 * reassembled ({@code frag_max_size} set): IPv4 {@code ip_fragment}/{@code ip_do_fragment}
 * (net/ipv4/ip_output.c), IPv6 {@code ip6_fragment} (net/ipv6/ip6_output.c).
 *
 * <p>A reassembled datagram leaves as the fragments it arrived in: the MTU is lowered to frag_max_size
 * (the largest fragment received), and when the kernel still holds the fragments (its frag_list) and each
 * fits, the fast path sends each original fragment's data again ({@code geometry}: the payload lengths
 * {@link Defrag.Result#fragmentPayloads()} gives). Otherwise the slow path cuts the largest multiple of 8
 * that fits. A rule that rewrites the payload makes the kernel linearise the datagram (the frag_list is
 * gone): pass {@code geometry} null then.
 *
 * <p>IPv4 headers: the first fragment keeps the header and its options; later fragments copy it with the
 * options that are not to be copied (copied bit clear: RR, timestamp) overwritten by NOPs
 * (ip_options_fragment); ID, TOS, TTL as the datagram. Fast path: MF on all but the last, DF cleared
 * (ip_fraglist_init writes IP_MF alone); slow path: DF kept when all the largest fragments had it
 * (IPSKB_FRAG_PMTU). With DF set on a datagram the kernel may not fragment (not reassembled, or
 * frag_max_size above the MTU): nothing is sent and the caller sends ICMP fragmentation needed with
 * {@link Output#tooBigMtu()}.
 *
 * <p>IPv6: the unfragmentable part (Hop-by-Hop, Routing, and Destination Options up to a Routing header,
 * ip6_find_1stfragopt) is repeated in each fragment, followed by a Fragment header with the caller's
 * identification (the kernel draws a new one, ipv6_select_ident). frag_max_size above the MTU: nothing is
 * sent, the caller sends Packet Too Big.
 *
 * <p>Allocates the fragments; stateless.
 */
public final class Fragmenter {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int IP_DF = 0x4000;
    private static final int IP_MF = 0x2000;
    private static final int IP_OFFSET = 0x1FFF;
    // Linux: IPV6_MIN_MTU
    private static final int IPV6_MIN_MTU = 1280;

    private Fragmenter() {
    }

    /** The datagrams to send, or none and the MTU for ICMP fragmentation needed / Packet Too Big. */
    public record Output(List<MemorySegment> fragments, int tooBigMtu) {
        public boolean tooBig() {
            return tooBigMtu > 0;
        }
    }

    /** A datagram reassembled by {@link Defrag}, out through a route of {@code mtu}, the fast path possible. */
    public static Output refragment(Defrag.Result reassembled, int mtu, boolean ipv4, int ipv6FragmentId) {
        return ipv4 ? ipv4(reassembled.datagram(), mtu, reassembled.fragMaxSize(), reassembled.dontFragment(), true,
                reassembled.fragmentPayloads())
                : ipv6(reassembled.datagram(), mtu, reassembled.fragMaxSize(), reassembled.fragmentPayloads(),
                        ipv6FragmentId);
    }

    // ---- IPv4 ----

    /**
     * __ip_finish_output and ip_fragment for the IPv4 datagram {@code d}: unchanged when it fits and was not
     * reassembled ({@code fragMaxSize} 0), else fragmented.
     *
     * @param pmtu IPSKB_FRAG_PMTU: every largest fragment had DF (slow-path fragments keep DF)
     * @param ignoreDf skb->ignore_df: set on reassembled datagrams
     * @param geometry payload lengths of the fragments the kernel still holds, or null
     */
    public static Output ipv4(MemorySegment d, int mtu, int fragMaxSize, boolean pmtu, boolean ignoreDf,
            int[] geometry) {
        int len = Short.toUnsignedInt(d.get(U16, 2));
        if (len <= mtu && fragMaxSize == 0) {
            return new Output(List.of(d), 0);
        }
        int fragOff = Short.toUnsignedInt(d.get(U16, 6));
        if ((fragOff & IP_DF) != 0 && (!ignoreDf || (fragMaxSize != 0 && fragMaxSize > mtu))) {
            return new Output(List.of(), mtu);
        }
        int ihl = (d.get(ValueLayout.JAVA_BYTE, 0) & 0x0F) << 2;
        int space = (fragMaxSize != 0 && fragMaxSize < mtu ? fragMaxSize : mtu) - ihl;
        byte[] header = new byte[ihl];
        MemorySegment.copy(d, ValueLayout.JAVA_BYTE, 0, header, 0, ihl);
        if (geometry != null && fitsFastPath(geometry, space) && (fragOff & (IP_MF | IP_OFFSET)) == 0) {
            return new Output(fast4(d, header, geometry), 0);
        }
        return new Output(slow4(d, header, len, space, pmtu), 0);
    }

    private static boolean fitsFastPath(int[] geometry, int space) {
        for (int i = 0; i < geometry.length; i++) {
            if (geometry[i] > space || ((geometry[i] & 7) != 0 && i < geometry.length - 1)) {
                return false;
            }
        }
        return true;
    }

    private static List<MemorySegment> fast4(MemorySegment d, byte[] header, int[] geometry) {
        List<MemorySegment> out = new ArrayList<>(geometry.length);
        int ihl = header.length;
        int offset = 0;
        for (int i = 0; i < geometry.length; i++) {
            boolean last = i == geometry.length - 1;
            int flags = (offset >>> 3) | (last ? 0 : IP_MF);
            out.add(fragment4(d, header, offset, geometry[i], flags));
            if (i == 0) {
                stripUncopiedOptions(header, ihl);
            }
            offset += geometry[i];
        }
        return out;
    }

    private static List<MemorySegment> slow4(MemorySegment d, byte[] header, int len, int space, boolean pmtu) {
        int ihl = header.length;
        int fragOff = Short.toUnsignedInt(d.get(U16, 6));
        boolean notLast = (fragOff & IP_MF) != 0;
        int base = (fragOff & IP_OFFSET) << 3;
        int left = len - ihl;
        int ptr = 0;
        List<MemorySegment> out = new ArrayList<>();
        while (left > 0) {
            int n = Math.min(left, space);
            if (n < left) {
                n &= ~7;
            }
            left -= n;
            int flags = ((base + ptr) >>> 3) | (pmtu ? IP_DF : 0) | (left > 0 || notLast ? IP_MF : 0);
            out.add(fragment4(d, header, ptr, n, flags));
            if (ptr == 0) {
                stripUncopiedOptions(header, ihl);
            }
            ptr += n;
        }
        return out;
    }

    private static MemorySegment fragment4(MemorySegment d, byte[] header, int dataOffset, int n, int fragOff) {
        int ihl = header.length;
        byte[] f = new byte[ihl + n];
        System.arraycopy(header, 0, f, 0, ihl);
        MemorySegment.copy(d, ValueLayout.JAVA_BYTE, ihl + dataOffset, f, ihl, n);
        MemorySegment s = MemorySegment.ofArray(f);
        s.set(U16, 2, (short) (ihl + n));
        s.set(U16, 6, (short) fragOff);
        s.set(U16, 10, (short) 0);
        s.set(U16, 10, (short) checksum(s, ihl));
        return s;
    }

    /** ip_options_fragment: options without the copied bit become NOPs in fragments after the first. */
    static void stripUncopiedOptions(byte[] header, int ihl) {
        int at = 20;
        while (at < ihl) {
            int type = Byte.toUnsignedInt(header[at]);
            if (type == 0) {
                return;
            }
            if (type == 1) {
                at++;
                continue;
            }
            if (at + 1 >= ihl) {
                return;
            }
            int optlen = Byte.toUnsignedInt(header[at + 1]);
            if (optlen < 2 || at + optlen > ihl) {
                return;
            }
            if ((type & 0x80) == 0) {
                for (int i = 0; i < optlen; i++) {
                    header[at + i] = 1;
                }
            }
            at += optlen;
        }
    }

    private static int checksum(MemorySegment s, int ihl) {
        long sum = 0;
        for (int i = 0; i < ihl; i += 2) {
            sum += Short.toUnsignedInt(s.get(U16, i));
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) (~sum & 0xFFFF);
    }

    // ---- IPv6 ----

    /**
     * ip6_finish_output / ip6_fragment for the IPv6 datagram {@code d}: unchanged when it fits and is not
     * larger than {@code fragMaxSize} (if set), else fragmented with identification {@code fragmentId}.
     */
    public static Output ipv6(MemorySegment d, int mtu, int fragMaxSize, int[] geometry, int fragmentId) {
        int len = 40 + Short.toUnsignedInt(d.get(U16, 4));
        if (len <= mtu && (fragMaxSize == 0 || len <= fragMaxSize)) {
            return new Output(List.of(d), 0);
        }
        if (fragMaxSize == 0 && len > mtu) {
            // Linux: only reassembled (ignore_df) or locally generated datagrams are fragmented here
            return new Output(List.of(), mtu);
        }
        if (fragMaxSize > mtu) {
            return new Output(List.of(), mtu);
        }
        int effective = Math.max(fragMaxSize, IPV6_MIN_MTU);
        int[] unfrag = unfragmentablePart(d, len);
        int hlen = unfrag[0];
        int space = effective - hlen - 8;
        if (geometry != null && fitsFastPath(geometry, space)) {
            List<MemorySegment> out = new ArrayList<>(geometry.length);
            int offset = 0;
            for (int i = 0; i < geometry.length; i++) {
                out.add(fragment6(d, unfrag, offset, geometry[i], i < geometry.length - 1, fragmentId));
                offset += geometry[i];
            }
            return new Output(out, 0);
        }
        List<MemorySegment> out = new ArrayList<>();
        int left = len - hlen;
        int offset = 0;
        while (left > 0) {
            int n = Math.min(left, space);
            if (n < left) {
                n &= ~7;
            }
            left -= n;
            out.add(fragment6(d, unfrag, offset, n, left > 0, fragmentId));
            offset += n;
        }
        return new Output(out, 0);
    }

    /**
     * ip6_find_1stfragopt: {@code [length of the unfragmentable part, offset of the Next Header that ends
     * it]}. Hop-by-Hop and Routing are unfragmentable; Destination Options are too unless a Routing header
     * came before them.
     */
    static int[] unfragmentablePart(MemorySegment d, int len) {
        int offset = 40;
        int nextAt = 6;
        boolean routing = false;
        while (offset + 2 <= len) {
            int next = Byte.toUnsignedInt(d.get(ValueLayout.JAVA_BYTE, nextAt));
            if (next == 43) {
                routing = true;
            } else if (next == 60) {
                if (routing) {
                    return new int[] {offset, nextAt};
                }
            } else if (next != 0) {
                return new int[] {offset, nextAt};
            }
            int hdrlen = (Byte.toUnsignedInt(d.get(ValueLayout.JAVA_BYTE, offset + 1)) + 1) << 3;
            nextAt = offset;
            offset += hdrlen;
        }
        return new int[] {offset, nextAt};
    }

    private static MemorySegment fragment6(MemorySegment d, int[] unfrag, int offset, int n, boolean more, int id) {
        int hlen = unfrag[0];
        byte[] f = new byte[hlen + 8 + n];
        MemorySegment.copy(d, ValueLayout.JAVA_BYTE, 0, f, 0, hlen);
        MemorySegment s = MemorySegment.ofArray(f);
        int original = Byte.toUnsignedInt(d.get(ValueLayout.JAVA_BYTE, unfrag[1]));
        f[unfrag[1]] = 44;
        f[hlen] = (byte) original;
        s.set(U16, hlen + 2, (short) (offset | (more ? 1 : 0)));
        s.set(U32, hlen + 4, id);
        MemorySegment.copy(d, ValueLayout.JAVA_BYTE, hlen + offset, f, hlen + 8, n);
        s.set(U16, 4, (short) (f.length - 40));
        return s;
    }
}
