package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;

/** xt_addrtype on the packet's host: the packets come from 192.168.1.10 to 10.0.0.1. */
class AddrtypeSemanticsTest {
    private static Host host() throws Exception {
        return HostFile.parse("test", """
                link add eth0 address 02:00:00:00:00:01
                link set eth0 up
                addr add 10.0.0.1/24 dev eth0
                link add eth1 address 02:00:00:00:00:02
                link set eth1 up
                addr add 192.168.1.1/24 dev eth1
                """);
    }

    private static boolean matches(String... words) throws Exception {
        ExtensionData d = SemanticsPackets.match(Family.IPV4, 6, "addrtype", words);
        PacketContext pkt = new PacketContext().host(host());
        pkt.ipv4(SemanticsPackets.ipv4(6, SemanticsPackets.tcp(0x02)), 0);
        pkt.inInterface("eth1");
        return d.matches(pkt);
    }

    @Test
    void destinationOnAnInterfaceOfTheHostIsLocal() throws Exception {
        assertThat(matches("--dst-type", "LOCAL")).isTrue();
        assertThat(matches("!", "--dst-type", "LOCAL")).isFalse();
        assertThat(matches("--dst-type", "UNICAST")).isFalse();
    }

    @Test
    void sourceFromTheNetworkIsUnicast() throws Exception {
        assertThat(matches("--src-type", "UNICAST")).isTrue();
        assertThat(matches("--src-type", "LOCAL,BROADCAST")).isFalse();
        assertThat(matches("--src-type", "UNICAST", "--dst-type", "LOCAL")).isTrue();
    }

    @Test
    void limitIfaceInLooksTheAddressUpOnTheInputInterfaceOnly() throws Exception {
        // 10.0.0.1 is local through eth0; the packet came in on eth1, where it is not
        assertThat(matches("--dst-type", "LOCAL", "--limit-iface-in")).isFalse();
        assertThat(matches("--dst-type", "UNICAST", "--limit-iface-in")).isTrue();
    }

    @Test
    void withoutAHostOnlyLoopbackIsLocal() throws Exception {
        ExtensionData d = SemanticsPackets.match(Family.IPV4, 6, "addrtype", "--dst-type", "LOCAL");
        PacketContext pkt = new PacketContext();
        pkt.ipv4(SemanticsPackets.ipv4(6, SemanticsPackets.tcp(0x02)), 0);
        assertThat(d.matches(pkt)).isFalse();
    }
}
