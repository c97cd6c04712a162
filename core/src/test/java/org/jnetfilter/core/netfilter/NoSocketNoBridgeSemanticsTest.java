package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;

/**
 * owner, socket, cgroup, physdev and ipvs on a host as jnetfilter models it: no sockets, no bridges, no IPVS.
 * Each answers as the kernel's match does for such a packet (a forwarded packet, a packet the kernel sends).
 */
class NoSocketNoBridgeSemanticsTest {

    private static PacketContext tcp4() {
        return new PacketContext().ipv4(SemanticsPackets.ipv4(6, SemanticsPackets.tcp(0x02)), 0);
    }

    private static boolean matches(String name, String... args) {
        ExtensionData m = SemanticsPackets.match(Family.IPV4, 6, name, args);
        return m.matches(tcp4());
    }

    @Test
    void ownerMatchesAPacketWithoutASocketOnlyWhenEveryOptionIsNegated() {
        assertThat(matches("owner", "--uid-owner", "0")).isFalse();
        assertThat(matches("owner", "!", "--uid-owner", "0")).isTrue();
        assertThat(matches("owner", "--socket-exists")).isFalse();
        assertThat(matches("owner", "!", "--socket-exists")).isTrue();
        assertThat(matches("owner", "!", "--uid-owner", "0", "--gid-owner", "0")).isFalse();
        assertThat(matches("owner", "!", "--uid-owner", "0", "!", "--gid-owner", "0")).isTrue();
        // --suppl-groups is given and cannot be negated
        assertThat(matches("owner", "!", "--gid-owner", "0", "--suppl-groups")).isFalse();
    }

    @Test
    void socketAndCgroupNeverMatchWithoutASocket() {
        assertThat(matches("socket")).isFalse();
        assertThat(matches("socket", "--transparent")).isFalse();
        assertThat(matches("cgroup", "--cgroup", "1")).isFalse();
        assertThat(matches("cgroup", "!", "--cgroup", "1")).isFalse();
    }

    @Test
    void physdevOfAnUnbridgedPacketMatchesOnlyNegations() {
        assertThat(matches("physdev", "--physdev-is-bridged")).isFalse();
        assertThat(matches("physdev", "!", "--physdev-is-bridged")).isTrue();
        assertThat(matches("physdev", "--physdev-in", "eth0")).isFalse();
        assertThat(matches("physdev", "!", "--physdev-in", "eth0", "!", "--physdev-is-in")).isTrue();
        assertThat(matches("physdev", "!", "--physdev-in", "eth0", "--physdev-is-out")).isFalse();
    }

    @Test
    void ipvsWithoutIpvsMatchesOnlyNotIpvs() {
        assertThat(matches("ipvs", "--ipvs")).isFalse();
        assertThat(matches("ipvs", "!", "--ipvs")).isTrue();
        assertThat(matches("ipvs", "--ipvs", "--vproto", "6")).isFalse();
        assertThat(matches("ipvs", "!", "--vproto", "6")).isFalse();
        assertThat(matches("ipvs", "--vdir", "ORIGINAL")).isFalse();
    }
}
