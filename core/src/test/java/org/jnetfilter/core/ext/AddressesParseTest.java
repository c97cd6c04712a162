package org.jnetfilter.core.ext;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;
import org.junit.jupiter.api.Test;

/** The one-pass IPv4 readers give what the general readers give, on seeded random texts. */
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

    @Test
    void plainIpv4NetIsTheOneNetParseMultipleReadsOrLeavesTheTextToIt() {
        SplittableRandom rnd = new SplittableRandom(11);
        String[] pieces = {"0", "1", "2", "5", "8", "9", "10", "25", "255", "256", "010", "999", "1000", ".", ".", ".",
            "/", "/", "/0", "/8", "/08", "/16", "/24", "/32", "/33", "/255.255.0.0", ",", " ", "+", "x", "\u0663"};
        int plain = 0;
        for (int round = 0; round < 200_000; round++) {
            StringBuilder sb = new StringBuilder();
            if (rnd.nextInt(3) == 0) {
                // mostly the shape iptables-save writes, a piece changed now and then
                sb.append(rnd.nextInt(300)).append('.').append(rnd.nextInt(256)).append('.').append(rnd.nextInt(256))
                        .append('.').append(rnd.nextInt(256));
                if (rnd.nextBoolean()) {
                    sb.append('/').append(rnd.nextInt(36));
                }
                if (rnd.nextInt(4) == 0) {
                    sb.insert(rnd.nextInt(sb.length() + 1), pieces[rnd.nextInt(pieces.length)]);
                }
            } else {
                for (int i = rnd.nextInt(9); i > 0; i--) {
                    sb.append(pieces[rnd.nextInt(pieces.length)]);
                }
            }
            String s = sb.toString();
            IpNet fast = Addresses.plainIpv4Net(s);
            if (fast == null) {
                continue;
            }
            plain++;
            assertThat(List.of(fast)).as("'%s'", s).isEqualTo(Addresses.parseMultiple(Family.IPV4, s));
        }
        assertThat(plain).as("texts read by the plain reader").isGreaterThan(30_000);
        assertThat(Addresses.plainIpv4Net("10.244.0.0/16")).isEqualTo(IpNet.ipv4(0x0AF40000, 16));
        assertThat(Addresses.plainIpv4Net("10.96.0.1")).isEqualTo(IpNet.ipv4(0x0A600001, 32));
        // left to parseMultiple: octal lengths, short forms, masks, lists, names
        for (String other : List.of("10.0.0.0/08", "10.0.0/8", "10.0.0.0/255.0.0.0", "1.2.3.4,5.6.7.8", "localhost",
                "1.2.3.4/ 8", "1.2.3.4/+8", "1.2.3.4/33", "1.2.3.256")) {
            assertThat(Addresses.plainIpv4Net(other)).as(other).isNull();
        }
    }
}
