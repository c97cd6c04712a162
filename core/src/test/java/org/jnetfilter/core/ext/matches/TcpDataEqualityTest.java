package org.jnetfilter.core.ext.matches;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** tcp's match data and port ranges compare as records do (equal exactly when every component is). */
class TcpDataEqualityTest {
    private final SplittableRandom rnd = new SplittableRandom(7);

    private PortRange range() {
        return new PortRange(rnd.nextInt(2) * 80, 80 + rnd.nextInt(2), rnd.nextBoolean());
    }

    private TcpMatch.Data data() {
        return new TcpMatch.Data(range(), range(), rnd.nextInt(2), rnd.nextBoolean(), rnd.nextInt(2) * 0x12,
                rnd.nextInt(2) * 0x02, rnd.nextBoolean());
    }

    private static List<Object> components(TcpMatch.Data d) {
        return List.of(d.sport().lo(), d.sport().hi(), d.sport().inverted(), d.dport().lo(), d.dport().hi(),
                d.dport().inverted(), d.option(), d.optionInverted(), d.flagMask(), d.flagComp(), d.flagsInverted());
    }

    @Test
    void tcpDataAreEqualExactlyWhenTheirComponentsAre() {
        int equalPairs = 0;
        for (int i = 0; i < 50_000; i++) {
            TcpMatch.Data a = data();
            TcpMatch.Data b = data();
            boolean same = components(a).equals(components(b));
            assertThat(a.equals(b)).as("%s %s", a, b).isEqualTo(same);
            if (same) {
                assertThat(a.hashCode()).isEqualTo(b.hashCode());
                equalPairs++;
            }
        }
        assertThat(equalPairs).as("equal pairs drawn").isGreaterThan(5);
    }
}
