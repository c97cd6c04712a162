package org.jnetfilter.core.rules;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.MatchExtension;
import org.junit.jupiter.api.Test;

/**
 * The written-out equals and hashCode of the values rules share (IpNet, IpSpec, Match) are a record's: equal
 * exactly when every component is, and equal values hash alike. Seeded pairs from small domains, so that
 * equal and nearly equal pairs are both common.
 */
class ValueEqualityTest {
    private final SplittableRandom rnd = new SplittableRandom(20261130);

    private IpNet net() {
        return new IpNet(rnd.nextBoolean() ? Family.IPV4 : Family.IPV6, rnd.nextInt(2), rnd.nextInt(2), rnd.nextInt(2),
                rnd.nextInt(2));
    }

    private IpSpec spec() {
        // nets from two of them (copies, not shared instances), so that whole fixed parts repeat
        IpNet one = new IpNet(Family.IPV4, 0, 1, 0, 1);
        return new IpSpec(rnd.nextBoolean() ? Family.IPV4 : Family.IPV6, rnd.nextBoolean() ? one : IpNet.any(Family.IPV4),
                rnd.nextBoolean() ? new IpNet(Family.IPV4, 0, 1, 0, 1) : one, rnd.nextBoolean() ? "" : "eth0",
                rnd.nextBoolean() ? "" : "eth1", rnd.nextInt(2) * 6, rnd.nextBoolean(), rnd.nextInt(2) * IpSpec.INV_SRCIP);
    }

    private static List<Object> components(IpNet n) {
        return List.of(n.family(), n.hi(), n.lo(), n.maskHi(), n.maskLo());
    }

    private static List<Object> components(IpSpec s) {
        return List.of(s.family(), components(s.src()), components(s.dst()), s.inIface(), s.outIface(), s.protocol(),
                s.fragment(), s.invFlags());
    }

    @Test
    void ipNetsAndIpSpecsAreEqualExactlyWhenTheirComponentsAre() {
        int equalPairs = 0;
        for (int i = 0; i < 20_000; i++) {
            IpNet a = net();
            IpNet b = net();
            assertThat(a.equals(b)).as("%s %s", a, b).isEqualTo(components(a).equals(components(b)));
            IpSpec s = spec();
            IpSpec t = spec();
            boolean same = components(s).equals(components(t));
            assertThat(s.equals(t)).as("%s %s", s, t).isEqualTo(same);
            if (same) {
                assertThat(s.hashCode()).isEqualTo(t.hashCode());
                equalPairs++;
            }
            if (a.equals(b)) {
                assertThat(a.hashCode()).isEqualTo(b.hashCode());
            }
            assertThat(s.equals(null)).isFalse();
            assertThat(a.equals("x")).isFalse();
        }
        assertThat(equalPairs).as("equal fixed parts drawn").isGreaterThan(5);
    }

    @Test
    void matchesAreEqualExactlyWhenExtensionAndDataAre() {
        MatchExtension tcp = Extensions.standard().match("tcp", Family.IPV4);
        MatchExtension udp = Extensions.standard().match("udp", Family.IPV4);
        Match a = new Match(tcp, new org.jnetfilter.core.ext.matches.CommentMatch.Data("x"));
        Match b = new Match(tcp, new org.jnetfilter.core.ext.matches.CommentMatch.Data("x"));
        Match c = new Match(udp, new org.jnetfilter.core.ext.matches.CommentMatch.Data("x"));
        Match d = new Match(tcp, new org.jnetfilter.core.ext.matches.CommentMatch.Data("y"));
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b).isNotEqualTo(c).isNotEqualTo(d);
    }
}
