package org.jnetfilter.core.ext;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The one-pass IPv4 reader gives what the split-and-check reader gives, on seeded random texts. */
class AddressesParseTest {
    @Test
    void onePassIpv4ReadingEqualsSplitReading() {
        SplittableRandom rnd = new SplittableRandom(3);
        String alphabet = "0123456789...25" + "\u0663x+- ";
        int valid = 0;
        for (int round = 0; round < 200_000; round++) {
            StringBuilder sb = new StringBuilder();
            int n = rnd.nextInt(16);
            for (int i = 0; i < n; i++) {
                sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
            }
            String s = sb.toString();
            long expected = Addresses.parseIpv4Split(s);
            assertThat(Addresses.parseIpv4(s)).as("'%s'", s).isEqualTo(expected);
            if (expected >= 0) {
                valid++;
            }
        }
        assertThat(valid).as("texts that were addresses").isGreaterThan(1000);
    }
}
