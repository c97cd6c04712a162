package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;

/**
 * rpfilter against what Linux 6.18 answered on this machine: a router with veth0 10.0.1.1/24 and eth1
 * 10.0.2.1/24, UDP from 10.0.1.2's side (arriving on veth0) with spoofed sources, counted by five rules
 * {@code -m rpfilter}, {@code --loose}, {@code --accept-local}, {@code --loose --accept-local}, {@code --invert}.
 */
class RpfilterSemanticsTest {
    private static final String[][] OPTIONS = {{}, {"--loose"}, {"--accept-local"}, {"--loose", "--accept-local"}, {"--invert"}};

    private static String counts(Host host, String source) {
        MemorySegment p = SemanticsPackets.ipv4(17, SemanticsPackets.bytes(0x03, 0xe8, 0x07, 0xd0, 0, 8, 0, 0));
        p.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 12, (int) IpAddress.parse(source).lo());
        p.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 16, (int) IpAddress.parse("10.0.1.1").lo());
        StringBuilder sb = new StringBuilder();
        for (String[] o : OPTIONS) {
            ExtensionData m = SemanticsPackets.match(Family.IPV4, 17, "rpfilter", o);
            PacketContext pkt = new PacketContext().ipv4(p, 0).host(host).inInterface("veth0").hook(org.jnetfilter.core.rules.Hook.PREROUTING);
            sb.append(m.matches(pkt) ? "1 " : "0 ");
        }
        return sb.toString().trim();
    }

    @Test
    void answersAsLinuxForOnLinkOtherInterfaceLocalAndUnroutableSources() throws Exception {
        Host host = HostFile.parseRunning("router", """
                link add veth0
                addr add 10.0.1.1/24 dev veth0
                link add eth1
                addr add 10.0.2.1/24 dev eth1
                """);
        assertThat(counts(host, "10.0.1.2")).isEqualTo("1 1 1 1 0");
        assertThat(counts(host, "10.0.2.9")).isEqualTo("0 1 0 1 1");
        assertThat(counts(host, "10.0.1.1")).isEqualTo("0 0 1 1 1");
        assertThat(counts(host, "10.0.2.1")).isEqualTo("0 0 0 1 1");
        assertThat(counts(host, "192.0.2.1")).isEqualTo("0 0 0 0 1");
        Host withDefault = HostFile.parseRunning("router", """
                link add veth0
                addr add 10.0.1.1/24 dev veth0
                link add eth1
                addr add 10.0.2.1/24 dev eth1
                route add default via 10.0.2.254 dev eth1
                """);
        assertThat(counts(withDefault, "192.0.2.1")).isEqualTo("0 1 0 1 1");
    }

    @Test
    void loopedBackPacketsPass() throws Exception {
        ExtensionData strict = SemanticsPackets.match(Family.IPV4, 17, "rpfilter");
        PacketContext pkt = new PacketContext().ipv4(SemanticsPackets.ipv4(17, SemanticsPackets.bytes(0, 1, 0, 2, 0, 8, 0, 0)), 0).inInterface("lo");
        assertThat(strict.matches(pkt)).isTrue();
    }
}
