package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.jnetfilter.core.AllocationMeter;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ipset.CreateOptions;
import org.jnetfilter.core.ipset.Element;
import org.jnetfilter.core.ipset.IpSet;
import org.jnetfilter.core.ipset.Ipsets;
import org.jnetfilter.core.ipset.SetType;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * xt_set's set match and SET target on packets, over sets installed as this JVM's namespace. The packets go
 * from 192.168.1.10:40000 to 10.0.0.1:80 (TCP) unless said otherwise.
 */
class SetSemanticsTest {
    private static final long S = 1_000_000_000L;
    private final SplittableRandom random = new SplittableRandom(5);
    private Ipsets sets;

    @BeforeEach
    void install() {
        sets = new Ipsets();
        Ipsets.install(sets);
    }

    @AfterEach
    void uninstall() {
        Ipsets.install(new Ipsets());
    }

    private static CreateOptions options(Family f, long timeout, boolean counters) {
        return new CreateOptions(f, 1024, 65536, f.addressBits(), timeout, counters, false, false, false, 12, 1, -1,
                -1, 8);
    }

    private IpSet create(String name, SetType type, CreateOptions o, String... elements) {
        IpSet s = sets.create(name, type, o, false, random);
        for (String e : elements) {
            add(s, e, false);
        }
        return s;
    }

    private void add(IpSet s, String text, boolean nomatch) {
        for (Element e : s.parseElements(text)) {
            sets.add(s, e, new IpSet.AddParams(-1, -1, -1, -1, null, nomatch, -1, 0, -1, -1), false, 0, random, 0,
                    null);
        }
    }

    private static PacketContext tcp(long now) {
        return SemanticsPackets.load(SemanticsPackets.ipv4(6, SemanticsPackets.tcp(0x02))).nowNanos(now);
    }

    private static boolean matches(PacketContext pkt, String... words) {
        ExtensionData d = SemanticsPackets.match(Family.IPV4, 6, "set", words);
        return d.matches(pkt);
    }

    @Test
    void hashIpMatchesTheSourceOrTheDestinationAsTheFlagsSay() {
        create("h", SetType.HASH_IP, options(Family.IPV4, -1, false), "192.168.1.10");
        assertThat(matches(tcp(0), "--match-set", "h", "src")).isTrue();
        assertThat(matches(tcp(0), "--match-set", "h", "dst")).isFalse();
        assertThat(matches(tcp(0), "!", "--match-set", "h", "dst")).isTrue();
        // more directions than the type has dimensions: the first ones are used
        assertThat(matches(tcp(0), "--match-set", "h", "src,dst")).isTrue();
    }

    @Test
    void hashIpPortTakesEachDimensionFromItsOwnDirection() {
        create("p", SetType.HASH_IP_PORT, options(Family.IPV4, -1, false), "10.0.0.1,tcp:80", "192.168.1.10,udp:80");
        assertThat(matches(tcp(0), "--match-set", "p", "dst,dst")).isTrue();
        assertThat(matches(tcp(0), "--match-set", "p", "src,dst")).isFalse();
        // fewer directions than the type's dimensions never match (ip_set_test)
        assertThat(matches(tcp(0), "--match-set", "p", "dst")).isFalse();
    }

    @Test
    void returnNomatchTurnsNomatchElementsIntoMatchesAndMatchesIntoNone() {
        IpSet n = create("n", SetType.HASH_NET, options(Family.IPV4, -1, false), "10.0.0.0/8");
        add(n, "10.0.0.0/24", true);
        assertThat(matches(tcp(0), "--match-set", "n", "dst")).isFalse();
        assertThat(matches(tcp(0), "--match-set", "n", "dst", "--return-nomatch")).isTrue();
        create("m", SetType.HASH_NET, options(Family.IPV4, -1, false), "192.168.0.0/16");
        assertThat(matches(tcp(0), "--match-set", "m", "src")).isTrue();
        assertThat(matches(tcp(0), "--match-set", "m", "src", "--return-nomatch")).isFalse();
    }

    @Test
    void countersCountMatchedPacketsThenCompare() {
        IpSet c = create("c", SetType.HASH_IP, options(Family.IPV4, -1, true), "192.168.1.10");
        ExtensionData gt2 = SemanticsPackets.match(Family.IPV4, 6, "set", "--match-set", "c", "src", "--packets-gt", "2");
        // Linux: the counter is updated before it is compared
        assertThat(gt2.matches(tcp(0))).isFalse();
        assertThat(gt2.matches(tcp(0))).isFalse();
        assertThat(gt2.matches(tcp(0))).isTrue();
        assertThat(c.elements(0).get(0).getValue().packets()).isEqualTo(3);
        assertThat(c.elements(0).get(0).getValue().bytes()).isEqualTo(3L * tcp(0).length());
        ExtensionData quiet = SemanticsPackets.match(Family.IPV4, 6, "set", "--match-set", "c", "src", "!",
                "--update-counters", "!", "--packets-eq", "3");
        assertThat(quiet.matches(tcp(0))).isFalse();
        assertThat(c.elements(0).get(0).getValue().packets()).isEqualTo(3);
    }

    @Test
    void anElementStopsMatchingWhenItsTimeoutRunsOutOnThePacketClock() {
        create("t", SetType.HASH_IP, options(Family.IPV4, 10, false), "192.168.1.10");
        assertThat(matches(tcp(9 * S), "--match-set", "t", "src")).isTrue();
        assertThat(matches(tcp(10 * S), "--match-set", "t", "src")).isFalse();
    }

    @Test
    void aSetOfTheOtherFamilyNeverMatches() {
        create("six", SetType.HASH_IP, options(Family.IPV6, -1, false), "2001:db8::10");
        PacketContext v6 = SemanticsPackets.load(SemanticsPackets.ipv6(6, SemanticsPackets.tcp(0x02)));
        assertThat(SemanticsPackets.match(Family.IPV6, 6, "set", "--match-set", "six", "src").matches(v6)).isTrue();
        create("four", SetType.HASH_NET, options(Family.IPV4, -1, false), "0.0.0.0/1");
        create("l", SetType.LIST_SET, options(Family.IPV4, -1, false), "four", "six");
        assertThat(SemanticsPackets.match(Family.IPV6, 6, "set", "--match-set", "l", "src").matches(v6)).isTrue();
    }

    @Test
    void listSetMatchesWhenAMemberDoes() {
        create("a", SetType.HASH_IP, options(Family.IPV4, -1, false), "1.2.3.4");
        create("b", SetType.BITMAP_PORT, new CreateOptions(Family.IPV4, 0, 0, 32, -1, false, false, false, false, 12, 0,
                1, 1024, 8), "80");
        create("l", SetType.LIST_SET, options(Family.IPV4, -1, false), "a", "b");
        assertThat(matches(tcp(0), "--match-set", "l", "dst")).isTrue();
        assertThat(matches(tcp(0), "--match-set", "l", "src")).isFalse();
    }

    @Test
    void setTargetAddsWithTheGivenTimeoutAndRefreshesOnlyWithExist() {
        IpSet t = create("t", SetType.HASH_IP, options(Family.IPV4, 100, false));
        ExtensionData add = SemanticsPackets.target(Family.IPV4, 6, "SET", "--add-set", "t", "src", "--timeout", "5");
        assertThat(add.apply(tcp(0))).isEqualTo(Verdict.CONTINUE);
        assertThat(matches(tcp(4 * S), "--match-set", "t", "src")).isTrue();
        add.apply(tcp(4 * S));
        assertThat(matches(tcp(5 * S), "--match-set", "t", "src")).isFalse();
        ExtensionData refresh = SemanticsPackets.target(Family.IPV4, 6, "SET", "--add-set", "t", "src", "--exist",
                "--timeout", "5");
        refresh.apply(tcp(6 * S));
        refresh.apply(tcp(10 * S));
        assertThat(matches(tcp(14 * S), "--match-set", "t", "src")).isTrue();
        ExtensionData del = SemanticsPackets.target(Family.IPV4, 6, "SET", "--del-set", "t", "src");
        del.apply(tcp(14 * S));
        assertThat(t.size(14 * S)).isZero();
    }

    @Test
    void setTargetAddsNetworksWithTheMostSpecificPrefixInUse() {
        IpSet n = create("n", SetType.HASH_NET, options(Family.IPV4, -1, false), "172.16.0.0/16", "10.0.0.0/24");
        SemanticsPackets.target(Family.IPV4, 6, "SET", "--add-set", "n", "src").apply(tcp(0));
        assertThat(n.elements(0).stream().map(e -> n.format(e.getKey())).toList()).contains("192.168.1.0/24");
    }

    @Test
    void rulesNamingAMissingSetOrASetOfTheOtherFamilyAreRefused() {
        create("six", SetType.HASH_IP, options(Family.IPV6, -1, false));
        assertThatThrownBy(() -> SemanticsPackets.match(Family.IPV4, 6, "set", "--match-set", "nosuch", "src"))
                .hasMessage("Set nosuch doesn't exist.\n");
        assertThatThrownBy(() -> SemanticsPackets.match(Family.IPV4, 6, "set", "--match-set", "six", "src"))
                .hasMessage("The protocol family of set six is IPv6, which is not applicable.\n");
        create("h", SetType.HASH_IP, options(Family.IPV4, -1, false));
        assertThatThrownBy(() -> SemanticsPackets.match(Family.IPV4, 6, "set", "--match-set", "h", "src,foo"))
                .hasMessage("You must spefify (the comma separated list of) 'src' or 'dst'.");
        assertThatThrownBy(() -> SemanticsPackets.match(Family.IPV4, 6, "set", "--match-set", "h",
                "src,dst,src,dst,src,dst,src")).hasMessage("Can't be more src/dst options than 6.");
        assertThatThrownBy(() -> SemanticsPackets.target(Family.IPV4, 6, "SET", "--add-set", "nosuch", "src"))
                .hasMessage("Set nosuch doesn't exist.\n");
    }

    @Test
    void matchingAllocatesNothingPerPacket() {
        create("n", SetType.HASH_NET, options(Family.IPV4, 1000, true), "10.0.0.0/8", "10.0.0.0/24", "192.168.0.0/16");
        create("p", SetType.HASH_IP_PORT, options(Family.IPV4, -1, false), "10.0.0.1,tcp:80");
        create("l", SetType.LIST_SET, options(Family.IPV4, -1, false), "p", "n");
        ExtensionData[] rules = {
            SemanticsPackets.match(Family.IPV4, 6, "set", "--match-set", "n", "dst", "--packets-gt", "1"),
            SemanticsPackets.match(Family.IPV4, 6, "set", "--match-set", "p", "dst,dst"),
            SemanticsPackets.match(Family.IPV4, 6, "set", "--match-set", "l", "src,dst"),
        };
        MemorySegment syn = SemanticsPackets.ipv4(6, SemanticsPackets.tcp(0x02));
        PacketContext pkt = new PacketContext();
        long[] sink = {0};
        Runnable one = () -> {
            pkt.ipv4(syn, 0).nowNanos(S);
            for (ExtensionData r : rules) {
                sink[0] += r.matches(pkt) ? 1 : 0;
            }
        };
        long allocated = AllocationMeter.leastOfThreeRounds(one, 20_000, 100_000);
        assertThat(sink[0]).isGreaterThan(0);
        assertThat(allocated).as("bytes allocated for 100k packets").isLessThan(100_000);
    }
}
