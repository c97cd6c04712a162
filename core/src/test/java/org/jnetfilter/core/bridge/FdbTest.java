package org.jnetfilter.core.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.jnetfilter.core.host.HostFile;
import org.junit.jupiter.api.Test;

/** The forwarding database (br_fdb.c): learning, ageing on the packet clock, local and static entries. */
class FdbTest {
    private static final long SECOND = 1_000_000_000L;
    private static final long AGEING = 300 * SECOND;

    @Test
    void learnsASourceOnItsPortAndFollowsItWhenItMoves() {
        Fdb fdb = new Fdb(AGEING);
        assertThat(fdb.lookup(0x0A0000000001L, 0)).isEqualTo(Fdb.UNKNOWN);
        fdb.learn(0x0A0000000001L, 3, 0);
        assertThat(fdb.lookup(0x0A0000000001L, SECOND)).isEqualTo(3);
        fdb.learn(0x0A0000000001L, 4, 2 * SECOND);
        assertThat(fdb.lookup(0x0A0000000001L, 3 * SECOND)).isEqualTo(4);
    }

    @Test
    void aLearnedEntryAgesOutThreeHundredSecondsAfterItsSourceWasLastSeen() {
        Fdb fdb = new Fdb(AGEING);
        fdb.learn(0x0A0000000001L, 3, 10 * SECOND);
        fdb.learn(0x0A0000000001L, 3, 100 * SECOND);
        // Linux: has_expired: updated + ageing_time <= now
        assertThat(fdb.lookup(0x0A0000000001L, 100 * SECOND + AGEING - 1)).isEqualTo(3);
        assertThat(fdb.lookup(0x0A0000000001L, 100 * SECOND + AGEING)).isEqualTo(Fdb.UNKNOWN);
        fdb.learn(0x0A0000000001L, 5, 500 * SECOND);
        assertThat(fdb.lookup(0x0A0000000001L, 500 * SECOND)).isEqualTo(5);
    }

    @Test
    void localEntriesAreNeverLearnedOverAndStaticOnesNeverAgeButMove() {
        Fdb fdb = new Fdb(AGEING);
        fdb.addLocal(0x020000000011L, 0);
        fdb.addStatic(0x0A0000000009L, 2);
        fdb.learn(0x020000000011L, 3, 0);
        fdb.learn(0x0A0000000009L, 3, 0);
        assertThat(fdb.lookup(0x020000000011L, 0)).isEqualTo(Fdb.LOCAL);
        assertThat(fdb.lookup(0x0A0000000009L, 1000 * AGEING)).as("br_fdb_update moves a static entry")
                .isEqualTo(3);
    }

    @Test
    void agreesWithAMapOfLastSightingsOnRandomTraffic() {
        SplittableRandom random = new SplittableRandom(20261130);
        for (int round = 0; round < 20; round++) {
            long ageing = (1 + random.nextInt(50)) * SECOND;
            Fdb fdb = new Fdb(ageing);
            record Sighting(int port, long at) {
            }
            Map<Long, Sighting> reference = new HashMap<>();
            long now = 0;
            int addresses = 1 + random.nextInt(2000);
            for (int i = 0; i < 5000; i++) {
                now += random.nextLong(SECOND);
                long mac = 0x0A0000000000L + random.nextInt(addresses);
                if (random.nextBoolean()) {
                    int port = 1 + random.nextInt(8);
                    fdb.learn(mac, port, now);
                    reference.put(mac, new Sighting(port, now));
                } else {
                    Sighting s = reference.get(mac);
                    int expected = s == null || now - s.at() >= ageing ? Fdb.UNKNOWN : s.port();
                    assertThat(fdb.lookup(mac, now)).as("round %d step %d", round, i).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void aBridgeTakesTheLowestPortMacUnlessGivenOneAndKnowsItsPortsAddressesAsLocal() throws Exception {
        var host = HostFile.parseRunning("t", """
                link add p1 address 02:00:00:00:00:09
                link add p2 address 02:00:00:00:00:05
                link add br0 type bridge
                link set p1 master br0
                link set p2 master br0
                link add br1 address 02:00:00:00:00:01 type bridge
                bridge fdb add 0a:00:00:00:00:07 dev p1 master static
                bridge fdb add 0a:00:00:00:00:08 dev p2 master
                """);
        assertThat(host.link("br0").mac()).isEqualTo(0x020000000005L);
        assertThat(host.link("br1").mac()).isEqualTo(0x020000000001L);
        Bridge br = new Bridge(host, host.link("br0"), null);
        assertThat(br.ports()).extracting(Bridge.Port::name).as("br_add_if puts a new port first")
                .containsExactly("p2", "p1");
        assertThat(br.fdb().lookup(0x020000000009L, 0)).isEqualTo(Fdb.LOCAL);
        assertThat(br.fdb().lookup(0x0A0000000008L, 0)).as("permanent: local").isEqualTo(Fdb.LOCAL);
        assertThat(br.fdb().lookup(0x0A0000000007L, 0)).isEqualTo(host.link("p1").index());
        host.setMaster("p2", null);
        assertThat(host.link("br0").mac()).isEqualTo(0x020000000009L);
    }

    @Test
    void decidesAsBrHandleFrameFinish() throws Exception {
        var host = HostFile.parseRunning("t", """
                link add p1 address 02:00:00:00:00:01
                link add p2 address 02:00:00:00:00:02
                link add br0 type bridge
                link set p1 master br0
                link set p2 master br0
                """);
        Bridge br = new Bridge(host, host.link("br0"), null);
        int p1 = host.link("p1").index();
        long a = 0x0A0000000001L;
        long b = 0x0A0000000002L;
        assertThat(br.admit(br.port(p1), 0x010000000001L, b, 0)).as("multicast source").isEqualTo(Bridge.DROP);
        assertThat(br.admit(br.port(p1), a, 0x0180C2000001L, 0)).as("pause frame").isEqualTo(Bridge.DROP);
        assertThat(br.admit(br.port(p1), a, 0x0180C200000EL, 0)).as("LLDP").isEqualTo(Bridge.UP);
        assertThat(br.admit(br.port(p1), a, 0x0180C2000000L, 0)).as("STP group with STP off").isZero();
        assertThat(br.decide(br.port(p1), a, b, 0)).as("unknown unicast").isEqualTo(Bridge.FLOOD);
        assertThat(br.decide(br.port(p1), a, 0xFFFFFFFFFFFFL, 0)).isEqualTo(Bridge.FLOOD_AND_UP);
        assertThat(br.decide(br.port(p1), a, 0x01005E000001L, 0)).isEqualTo(Bridge.FLOOD_AND_UP);
        assertThat(br.decide(br.port(p1), a, br.mac(), 0)).isEqualTo(Bridge.UP);
        assertThat(br.decide(br.port(p1), a, 0x020000000002L, 0)).as("a port's own address").isEqualTo(Bridge.UP);
        assertThat(br.decide(br.port(host.link("p2").index()), b, a, 0)).as("learned on p1").isEqualTo(p1);
        assertThat(br.transmit(b, 0)).as("br_dev_xmit, learned on p2").isEqualTo(host.link("p2").index());
        assertThat(br.transmit(0x0A00000000FFL, 0)).isEqualTo(Bridge.FLOOD);
        assertThat(Bridge.shouldDeliver(br.port(p1), p1)).isFalse();
        host.setHairpin("p1", true);
        Bridge hairpin = new Bridge(host, host.link("br0"), br);
        assertThat(Bridge.shouldDeliver(hairpin.port(p1), p1)).isTrue();
        assertThat(hairpin.fdb().lookup(b, 0)).as("learned entries kept across a change").isEqualTo(
                host.link("p2").index());
    }
}
