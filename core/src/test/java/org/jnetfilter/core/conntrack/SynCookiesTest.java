package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** SYN cookies (net/ipv4/syncookies.c, net/ipv6/syncookies.c) with SipHash-2-4 under injected secrets. */
class SynCookiesTest {
    static final long MINUTE = 60_000_000_000L;

    @Test
    void sipHashGivesTheReferenceVectorsOfItsAuthors() {
        // key 00 01 .. 0f, message 00 01 .. (n - 1): the SipHash paper's test vectors for 16 bytes, and the
        // 40-byte message as an independent implementation of the paper's algorithm gives it
        long k0 = 0x0706050403020100L;
        long k1 = 0x0f0e0d0c0b0a0908L;
        assertThat(SynCookies.SipHash.hash(k0, k1, 16, 0x0706050403020100L, 0x0f0e0d0c0b0a0908L, 0, 0, 0))
                .isEqualTo(0x3f2acc7f57c29bdbL);
        assertThat(SynCookies.SipHash.hash(k0, k1, 40, 0x0706050403020100L, 0x0f0e0d0c0b0a0908L,
                0x1716151413121110L, 0x1f1e1d1c1b1a1918L, 0x2726252423222120L)).isEqualTo(0x0e3ea96b5304a7d0L);
    }

    @ParameterizedTest(name = "MSS {0}: IPv4 index {1}, IPv6 index {2}")
    @CsvSource({"0, 0, 0", "535, 0, 0", "536, 0, 0", "1299, 0, 0", "1300, 1, 0", "1440, 2, 2", "1459, 2, 2",
        "1460, 3, 2", "8940, 3, 3", "65535, 3, 3", "1220, 0, 0", "1420, 1, 1"})
    void theClientsMssIsRoundedDownToATableEntry(int mss, int v4, int v6) {
        assertThat(SynCookies.mssIndex(SynCookies.MSS_V4, mss)).isEqualTo(v4);
        assertThat(SynCookies.mssIndex(SynCookies.MSS_V6, mss)).isEqualTo(v6);
    }

    /** The reference: the table's largest entry not above the MSS, else its first. */
    static int referenceIndex(int[] table, int mss) {
        int best = 0;
        for (int i = 0; i < table.length; i++) {
            if (table[i] <= mss) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void aCookieDecodesToItsMssInItsMinuteAndTheNextAndToNothingLaterOrForAnotherFlow() {
        SplittableRandom r = new SplittableRandom(20261130);
        for (int round = 0; round < 2000; round++) {
            SynCookies c = new SynCookies(new long[] {r.nextLong(), r.nextLong(), r.nextLong(), r.nextLong()},
                    new long[] {r.nextLong(), r.nextLong(), r.nextLong(), r.nextLong()});
            int mss = r.nextInt(70000);
            long made = r.nextLong(1L << 50);
            long later = made + r.nextLong(MINUTE);
            int sport = r.nextInt(65536);
            int dport = r.nextInt(65536);
            int isn = r.nextInt();
            int saddr = r.nextInt();
            int daddr = r.nextInt();
            int i4 = SynCookies.mssIndex(SynCookies.MSS_V4, mss);
            assertThat(i4).isEqualTo(referenceIndex(SynCookies.MSS_V4, mss));
            int cookie = c.initV4(saddr, daddr, sport, dport, isn, i4, made);
            assertThat(c.checkV4(saddr, daddr, sport, dport, isn + 1, cookie + 1, later))
                    .isEqualTo(SynCookies.MSS_V4[i4]);
            assertThat(c.checkV4(saddr, daddr, sport, dport, isn + 1, cookie + 1, made + 2 * MINUTE + MINUTE / 2))
                    .as("two minutes on").isZero();
            assertThat(c.checkV4(saddr, daddr, sport ^ 1, dport, isn + 1, cookie + 1, later)).as("another port")
                    .isZero();

            long sHi = r.nextLong();
            long sLo = r.nextLong();
            long dHi = r.nextLong();
            long dLo = r.nextLong();
            int i6 = SynCookies.mssIndex(SynCookies.MSS_V6, mss);
            assertThat(i6).isEqualTo(referenceIndex(SynCookies.MSS_V6, mss));
            int cookie6 = c.initV6(sHi, sLo, dHi, dLo, sport, dport, isn, i6, made);
            assertThat(c.checkV6(sHi, sLo, dHi, dLo, sport, dport, isn + 1, cookie6 + 1, later))
                    .isEqualTo(SynCookies.MSS_V6[i6]);
            assertThat(c.checkV6(sHi, sLo ^ 1, dHi, dLo, sport, dport, isn + 1, cookie6 + 1, later))
                    .as("another source").isZero();
        }
    }
}
