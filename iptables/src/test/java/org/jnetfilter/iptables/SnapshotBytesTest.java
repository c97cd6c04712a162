package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** A snapshot's rule text is written escaped and UTF-8 encoded in one pass: the bytes of escape(s).getBytes(UTF-8). */
class SnapshotBytesTest {

    private static byte[] written(String s) {
        StateFiles.Bytes b = new StateFiles.Bytes(1);
        b.addEscaped(s);
        ByteBuffer buf = b.buffer();
        byte[] out = new byte[buf.remaining()];
        buf.get(out);
        return out;
    }

    @Test
    void escapedTextIsEncodedAsTheJdkEncodesTheEscapedString() {
        SplittableRandom rnd = new SplittableRandom(7);
        char[] alphabet = {'a', 'Z', ' ', '"', '\\', '\t', '\n', '\r', '\u0001', '\u007f', '\u0080', '\u00e9', '\u07ff',
            '\u0800', '\u20ac', '\uffff', '\ud83d', '\ude00', '\udbff', '\udc00'};
        for (int round = 0; round < 20000; round++) {
            StringBuilder sb = new StringBuilder();
            // short texts take the character loop, from 16 characters the byte copy when nothing needs escaping
            int n = rnd.nextInt(round % 2 == 0 ? 24 : 80);
            boolean plain = rnd.nextInt(3) == 0;
            for (int i = 0; i < n; i++) {
                // mostly plain ASCII in a third of the rounds, so that the copy is taken
                sb.append(plain && rnd.nextInt(40) != 0 ? (char) ('a' + rnd.nextInt(26)) : alphabet[rnd.nextInt(alphabet.length)]);
            }
            String s = sb.toString();
            assertThat(written(s)).as("%s", s.chars().mapToObj(Integer::toHexString).toList())
                    .isEqualTo(StateFiles.escape(s).getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void countersAreWrittenAsUnsignedDecimals() {
        for (long v : new long[] {0, 9, 10, 12345, Long.MAX_VALUE, -1, Long.MIN_VALUE}) {
            StateFiles.Bytes b = new StateFiles.Bytes(1);
            b.unsigned(v);
            ByteBuffer buf = b.buffer();
            byte[] out = new byte[buf.remaining()];
            buf.get(out);
            assertThat(new String(out, StandardCharsets.US_ASCII)).isEqualTo(Long.toUnsignedString(v));
        }
    }
}
