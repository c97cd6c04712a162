package org.jnetfilter.core.conntrack;

/**
 * TCP SYN cookies as the kernel computes them for SYNPROXY (net/ipv4/syncookies.c __cookie_v4_init_sequence and
 * __cookie_v4_check, net/ipv6/syncookies.c __cookie_v6_init_sequence and __cookie_v6_check): the proxy's initial
 * sequence number encodes the client's MSS as an index into a small table and a minute counter, keyed by a
 * secret, so that the client's ACK proves it saw the SYN-ACK without the proxy keeping any state.
 *
 * <pre>
 *   cookie = H0(addresses, ports) + client ISN + (count &lt;&lt; 24) + ((H1(addresses, ports, count) + mssind) mod 2^24)
 * </pre>
 * H0 and H1 are SipHash-2-4 under two 128-bit secrets (siphash_4u32 of the IPv4 addresses and ports; siphash of
 * the 40-byte struct of IPv6 addresses, count and ports); {@code count} is {@code tcp_cookie_time()}, jiffies / (60
 * HZ): a cookie is valid in the minute it was made and the next ({@code MAX_SYNCOOKIE_AGE} 2).
 *
 * <p>The secrets are the kernel's boot-random {@code syncookie_secret} / {@code syncookie6_secret}: here they come
 * from the caller (drawn from {@link org.jnetfilter.core.netfilter.PacketContext#random()} on first use by
 * {@link Synproxy}), so cookie values differ from the kernel's and are compared by what they decode to. Immutable;
 * any thread; allocates nothing.
 */
public final class SynCookies {
    // Linux: COOKIEBITS 24, COOKIEMASK
    private static final int COOKIE_BITS = 24;
    private static final int COOKIE_MASK = (1 << COOKIE_BITS) - 1;
    // Linux: MAX_SYNCOOKIE_AGE 2 (include/net/tcp.h)
    static final int MAX_AGE = 2;
    // Linux: msstab of net/ipv4/syncookies.c
    static final int[] MSS_V4 = {536, 1300, 1440, 1460};
    // Linux: msstab of net/ipv6/syncookies.c (1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60)
    static final int[] MSS_V6 = {1220, 1420, 1440, 8940};

    private final long[] key4 = new long[4];
    private final long[] key6 = new long[4];

    /** Secrets: {@code [k0, k1]} of secret 0 and of secret 1 for each family (the kernel's two siphash keys). */
    public SynCookies(long[] v4, long[] v6) {
        System.arraycopy(v4, 0, key4, 0, 4);
        System.arraycopy(v6, 0, key6, 0, 4);
    }

    /** tcp_cookie_time: minutes of jiffies, as the 32-bit counter the cookie carries. */
    static int cookieTime(long nowNanos) {
        return (int) (Conntrack.jiffies(nowNanos) / (60 * Conntrack.HZ));
    }

    /** The index of the largest table entry not above {@code mss} (0 when below them all). */
    static int mssIndex(int[] table, int mss) {
        int i = table.length - 1;
        while (i > 0 && mss < table[i]) {
            i--;
        }
        return i;
    }

    // ---- IPv4 ----

    private long hash4(int saddr, int daddr, int sport, int dport, int count, int c) {
        // Linux: siphash_4u32(saddr, daddr, sport << 16 | dport, count): four 32-bit words, two 64-bit blocks
        long m0 = (saddr & 0xFFFFFFFFL) | ((long) daddr << 32);
        long m1 = ((sport << 16 | dport) & 0xFFFFFFFFL) | ((long) count << 32);
        return SipHash.hash(key4[2 * c], key4[2 * c + 1], 16, m0, m1, 0, 0, 0);
    }

    /** __cookie_v4_init_sequence for a SYN of these addresses, ports and ISN; {@code mssind} from {@link #mssIndex}. */
    public int initV4(int saddr, int daddr, int sport, int dport, int isn, int mssind, long nowNanos) {
        int count = cookieTime(nowNanos);
        return (int) hash4(saddr, daddr, sport, dport, 0, 0) + isn + (count << COOKIE_BITS)
                + (((int) hash4(saddr, daddr, sport, dport, count, 1) + mssind) & COOKIE_MASK);
    }

    /**
     * __cookie_v4_check: the MSS a client's ACK proves (its ack - 1 the cookie, its seq - 1 the ISN), or 0 when
     * the cookie is not valid now.
     */
    public int checkV4(int saddr, int daddr, int sport, int dport, int seq, int ackSeq, long nowNanos) {
        int cookie = ackSeq - 1;
        int isn = seq - 1;
        int count = cookieTime(nowNanos);
        cookie -= (int) hash4(saddr, daddr, sport, dport, 0, 0) + isn;
        int diff = (count - (cookie >>> COOKIE_BITS)) & (-1 >>> COOKIE_BITS);
        if (diff >= MAX_AGE) {
            return 0;
        }
        int mssind = (cookie - (int) hash4(saddr, daddr, sport, dport, count - diff, 1)) & COOKIE_MASK;
        return mssind < MSS_V4.length ? MSS_V4[mssind] : 0;
    }

    // ---- IPv6 ----

    private long hash6(long sHi, long sLo, long dHi, long dLo, int sport, int dport, int count, int c) {
        // Linux: siphash over {saddr, daddr, u32 count, be16 sport, be16 dport}: 40 bytes, five 64-bit blocks
        long m4 = (count & 0xFFFFFFFFL) | ((long) (sport << 16 | dport) << 32);
        return SipHash.hash(key6[2 * c], key6[2 * c + 1], 40, sHi, sLo, dHi, dLo, m4);
    }

    /** __cookie_v6_init_sequence. */
    public int initV6(long sHi, long sLo, long dHi, long dLo, int sport, int dport, int isn, int mssind,
            long nowNanos) {
        int count = cookieTime(nowNanos);
        return (int) hash6(sHi, sLo, dHi, dLo, sport, dport, 0, 0) + isn + (count << COOKIE_BITS)
                + (((int) hash6(sHi, sLo, dHi, dLo, sport, dport, count, 1) + mssind) & COOKIE_MASK);
    }

    /** __cookie_v6_check: the MSS the ACK proves, or 0. */
    public int checkV6(long sHi, long sLo, long dHi, long dLo, int sport, int dport, int seq, int ackSeq,
            long nowNanos) {
        int cookie = ackSeq - 1;
        int isn = seq - 1;
        int count = cookieTime(nowNanos);
        cookie -= (int) hash6(sHi, sLo, dHi, dLo, sport, dport, 0, 0) + isn;
        int diff = (count - (cookie >>> COOKIE_BITS)) & (-1 >>> COOKIE_BITS);
        if (diff >= MAX_AGE) {
            return 0;
        }
        int mssind = (cookie - (int) hash6(sHi, sLo, dHi, dLo, sport, dport, count - diff, 1)) & COOKIE_MASK;
        return mssind < MSS_V6.length ? MSS_V6[mssind] : 0;
    }

    /**
     * SipHash-2-4 (Aumasson and Bernstein; lib/siphash.c) of up to five 64-bit little-endian message words whose
     * byte length is 16 or 40, as the kernel hashes the cookie inputs. One small state object per hash (scalar-replaced
     * by the JIT).
     */
    static final class SipHash {
        private long v0;
        private long v1;
        private long v2;
        private long v3;

        private SipHash(long k0, long k1) {
            v0 = 0x736f6d6570736575L ^ k0;
            v1 = 0x646f72616e646f6dL ^ k1;
            v2 = 0x6c7967656e657261L ^ k0;
            v3 = 0x7465646279746573L ^ k1;
        }

        private void rounds(int n) {
            for (int r = 0; r < n; r++) {
                v0 += v1;
                v1 = Long.rotateLeft(v1, 13) ^ v0;
                v0 = Long.rotateLeft(v0, 32);
                v2 += v3;
                v3 = Long.rotateLeft(v3, 16) ^ v2;
                v0 += v3;
                v3 = Long.rotateLeft(v3, 21) ^ v0;
                v2 += v1;
                v1 = Long.rotateLeft(v1, 17) ^ v2;
                v2 = Long.rotateLeft(v2, 32);
            }
        }

        private void block(long m) {
            v3 ^= m;
            rounds(2);
            v0 ^= m;
        }

        static long hash(long k0, long k1, int length, long m0, long m1, long m2, long m3, long m4) {
            SipHash h = new SipHash(k0, k1);
            int words = length / 8;
            h.block(m0);
            h.block(m1);
            if (words > 2) {
                h.block(m2);
                h.block(m3);
                h.block(m4);
            }
            h.block((long) length << 56);
            h.v2 ^= 0xff;
            h.rounds(4);
            return h.v0 ^ h.v1 ^ h.v2 ^ h.v3;
        }
    }
}
