package org.jnetfilter.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.iptables.SaveFiles;
import org.junit.jupiter.api.Test;

class DerivedHostTest {
    private static final String DOCKER = """
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            :DOCKER - [0:0]
            -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
            -A DOCKER -i docker0 -j RETURN
            -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
            COMMIT
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -i br-1234 -o eth+ -j ACCEPT
            COMMIT
            """;

    @Test
    void aClientOnTheNodesLanTalksToTheNodeAndDockersBridgeGetsItsSubnet() throws Exception {
        Ruleset rules = SaveFiles.read(Family.IPV4, DOCKER);
        String text = DerivedHost.forPacket(PacketSpec.parse("tcp 192.168.1.5:5000 -> 192.168.1.20:8080 in eth0"), List.of(rules));
        assertThat(text).contains("addr add 192.168.1.20/24 dev eth0", "addr add 172.17.0.1/16 dev docker0", "link add br-1234")
                .doesNotContain("eth+").doesNotContain("route add default");
        Host h = HostFile.parseRunning("derived", text);
        assertThat(h.isLocalAddress(IpAddress.parse("192.168.1.20"))).isTrue();
        assertThat(h.isLocalAddress(IpAddress.parse("172.17.0.1"))).isTrue();
        assertThat(h.ipv4Forwarding()).isTrue();
    }

    @Test
    void aPacketForAnotherSubnetIsRoutedBackThroughAGatewayOfTheSource() throws Exception {
        String text = DerivedHost.forPacket(PacketSpec.parse("tcp 10.0.0.2:40000 -> 172.30.0.44:80 in eth0"), List.of());
        assertThat(text).contains("addr add 10.0.0.1/24 dev eth0", "route add default via 10.0.0.254 dev eth0");
        Host h = HostFile.parseRunning("derived", text);
        assertThat(h.lookup(Family.IPV4, IpAddress.parse("172.30.0.44"), null, 0, null, null).toString()).contains("eth0");
    }

    @Test
    void localAndIpv6PacketsGetHostsToo() throws Exception {
        String local = DerivedHost.forPacket(PacketSpec.parse("udp 10.1.0.1:1000 -> 8.8.8.8:53 in @local"), List.of());
        assertThat(local).contains("addr add 10.1.0.1/24 dev eth0", "route add default via 10.1.0.254 dev eth0");
        HostFile.parseRunning("derived", local);
        String v6 = DerivedHost.forPacket(PacketSpec.parse("tcp [2001:db8::2]:1 -> [2001:db8:1::9]:80 in eth0 out eth1"), List.of());
        assertThat(v6).contains("addr add 2001:db8::1/64 dev eth0", "route add default via 2001:db8::fe dev eth0",
                "addr add 2001:db8:1::1/64 dev eth1");
        HostFile.parseRunning("derived", v6);
    }
}
