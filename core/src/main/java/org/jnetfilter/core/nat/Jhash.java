package org.jnetfilter.core.nat;

/**
 * Bob Jenkins' lookup3 hash of 32-bit words (public domain), as the kernel's jhash2 (include/linux/jhash.h)
 * computes it: NAT picks addresses from a range with it (find_best_ips_proto), NFQUEUE balances flows with
 * jhash_3words, HMARK hashes its tuple with jhash_3words, the cluster match an address with jhash_1word.
 */
public final class Jhash {
    // Linux: JHASH_INITVAL
    private static final int INITVAL = 0xdeadbeef;

    private Jhash() {
    }

    public static int jhash2(int[] k, int length, int initval) {
        int a = INITVAL + (length << 2) + initval;
        int b = a;
        int c = a;
        int i = 0;
        while (length > 3) {
            a += k[i];
            b += k[i + 1];
            c += k[i + 2];
            // mix
            a -= c;
            a ^= Integer.rotateLeft(c, 4);
            c += b;
            b -= a;
            b ^= Integer.rotateLeft(a, 6);
            a += c;
            c -= b;
            c ^= Integer.rotateLeft(b, 8);
            b += a;
            a -= c;
            a ^= Integer.rotateLeft(c, 16);
            c += b;
            b -= a;
            b ^= Integer.rotateLeft(a, 19);
            a += c;
            c -= b;
            c ^= Integer.rotateLeft(b, 4);
            b += a;
            length -= 3;
            i += 3;
        }
        switch (length) {
            case 3:
                c += k[i + 2];
            case 2:
                b += k[i + 1];
            case 1:
                a += k[i];
                c = fin(a, b, c);
                break;
            default:
                break;
        }
        return c;
    }

    /** jhash_3words: three words, seeded with {@code initval}. */
    public static int jhash3(int a, int b, int c, int initval) {
        int seed = initval + INITVAL + (3 << 2);
        return fin(a + seed, b + seed, c + seed);
    }

    /** jhash_1word: one word, seeded with {@code initval} (the same as jhash2 of a one-word key). */
    public static int jhash1(int a, int initval) {
        int seed = initval + INITVAL + (1 << 2);
        return fin(a + seed, seed, seed);
    }

    /** reciprocal_scale: {@code hash} scaled into [0, n) by the high word of the 64-bit product. */
    public static int reciprocalScale(int hash, long n) {
        return (int) (((hash & 0xFFFFFFFFL) * (n & 0xFFFFFFFFL)) >>> 32);
    }

    /** __jhash_final: the last mix of lookup3; answers c. */
    private static int fin(int a, int b, int c) {
        c ^= b;
        c -= Integer.rotateLeft(b, 14);
        a ^= c;
        a -= Integer.rotateLeft(c, 11);
        b ^= a;
        b -= Integer.rotateLeft(a, 25);
        c ^= b;
        c -= Integer.rotateLeft(b, 16);
        a ^= c;
        a -= Integer.rotateLeft(c, 4);
        b ^= a;
        b -= Integer.rotateLeft(a, 14);
        c ^= b;
        c -= Integer.rotateLeft(b, 24);
        return c;
    }
}
