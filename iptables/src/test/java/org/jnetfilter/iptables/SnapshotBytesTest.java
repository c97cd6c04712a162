package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** A snapshot's rule text is written escaped and UTF-8 encoded in one pass: the bytes of escape(s).getBytes(UTF-8). */
class SnapshotBytesTest {

    @Test
    void escapedTextIsEncodedAsTheJdkEncodesTheEscapedString() {
        SplittableRandom rnd = new SplittableRandom(7);
        char[] alphabet = {'a', 'Z', ' ', '"', '\\', '\t', '\n', '\r', '\u0001', '\u007f', '\u0080', '\u00e9', '\u07ff',
            '\u0800', '\u20ac', '\uffff', '\ud83d', '\ude00', '\udbff', '\udc00'};
        // one scratch for all buffers, as a formatting thread has: short at first, so that texts grow it
        char[][] scratch = {new char[4]};
        for (int round = 0; round < 20000; round++) {
            // several texts into one buffer: each starts where the one before ended, the buffer grows as it fills
            StateFiles.Bytes b = new StateFiles.Bytes(1 + rnd.nextInt(64), scratch);
            // each text encoded on its own: a surrogate pair split between two texts is two lone surrogates
            java.io.ByteArrayOutputStream want = new java.io.ByteArrayOutputStream();
            StringBuilder all = new StringBuilder();
            for (int text = 1 + rnd.nextInt(3); text > 0; text--) {
                StringBuilder sb = new StringBuilder();
                int n = rnd.nextInt(round % 2 == 0 ? 24 : 300);
                boolean plain = rnd.nextInt(3) == 0;
                for (int i = 0; i < n; i++) {
                    // mostly plain ASCII in a third of the texts, so that the plain copy runs to the end
                    sb.append(plain && rnd.nextInt(40) != 0 ? (char) ('a' + rnd.nextInt(26)) : alphabet[rnd.nextInt(alphabet.length)]);
                }
                String s = sb.toString();
                b.addEscaped(s);
                want.writeBytes(StateFiles.escape(s).getBytes(StandardCharsets.UTF_8));
                all.append(s);
            }
            ByteBuffer buf = b.buffer();
            byte[] out = new byte[buf.remaining()];
            buf.get(out);
            assertThat(out).as("%s", all.chars().mapToObj(Integer::toHexString).toList())
                    .isEqualTo(want.toByteArray());
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
