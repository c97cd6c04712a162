package org.jnetfilter.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.IpReceive;
import org.jnetfilter.core.packet.ReceiveResult;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Protocols;
import org.junit.jupiter.api.Test;

class PacketSpecTest {

    private static int u8(MemorySegment s, long at) {
        return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at));
    }

    private static int u16(MemorySegment s, long at) {
        return (u8(s, at) << 8) | u8(s, at + 1);
    }

    @Test
    void defaultTcpPacketIsALinuxSynOfSixtyBytesWithValidChecksums() throws Exception {
        PacketSpec p = PacketSpec.parse("tcp 10.0.0.2:40000 -> 172.30.0.44:80 in eth0");
        MemorySegment s = p.bytes();
        assertThat(s.byteSize()).isEqualTo(60);
        assertThat(new IpReceive().ipv4(s, 0, s.byteSize())).isEqualTo(ReceiveResult.OK);
        assertThat(u8(s, 9)).isEqualTo(Protocols.TCP);
        assertThat(u16(s, 6)).isEqualTo(0x4000);
        assertThat(u16(s, 20)).isEqualTo(40000);
        assertThat(u16(s, 22)).isEqualTo(80);
        assertThat(u8(s, 33)).isEqualTo(0x02);
        assertThat(Checksums.tcpV4Valid(s, 20, 40, 0x0A000002, 0xAC1E002C)).isTrue();
        assertThat(p.describe()).isEqualTo("tcp 10.0.0.2:40000 -> 172.30.0.44:80 in eth0 flags S len 60 ttl 64");
        assertThat(p.locallyGenerated()).isFalse();
    }

    @Test
    void optionalWordsMayBeBracketedAsTheIssueWritesThem() throws Exception {
        PacketSpec p = PacketSpec.parse("tcp 10.0.0.2:40000 -> 172.30.0.44:80 in eth0 [flags S] [mark 0x4000] [len 60]");
        assertThat(p.mark()).isEqualTo(0x4000);
        assertThat(p.totalLength()).isEqualTo(60);
    }

    @Test
    void flagsLenAndMarkAreTaken() throws Exception {
        PacketSpec p = PacketSpec.parse("tcp 10.0.0.2:40000->10.0.0.1:22 in eth0 flags SYN,ACK mark 0x4000 len 100 ttl 1");
        MemorySegment s = p.bytes();
        assertThat(s.byteSize()).isEqualTo(100);
        assertThat(u8(s, 33)).isEqualTo(0x12);
        assertThat(u8(s, 8)).isEqualTo(1);
        assertThat(p.mark()).isEqualTo(0x4000);
        assertThat(Checksums.tcpV4Valid(s, 20, 80, 0x0A000002, 0x0A000001)).isTrue();
    }

    @Test
    void udpAndIcmpAndIpv6() throws Exception {
        MemorySegment udp = PacketSpec.parse("udp 10.0.0.2:5353 -> 10.0.0.255:53 in eth0").bytes();
        assertThat(udp.byteSize()).isEqualTo(28);
        assertThat(Checksums.udpV4Valid(udp, 20, 8, 0x0A000002, 0x0A0000FF)).isTrue();

        MemorySegment ping = PacketSpec.parse("icmp 10.0.0.2 -> 10.0.0.1 in eth0").bytes();
        assertThat(ping.byteSize()).isEqualTo(84);
        assertThat(u8(ping, 20)).isEqualTo(8);
        assertThat(Checksums.icmpValid(ping, 20, 64)).isTrue();

        PacketSpec v6 = PacketSpec.parse("tcp [2001:db8::2]:40000 -> [2001:db8::1]:443 in eth0");
        MemorySegment s6 = v6.bytes();
        assertThat(v6.family()).isEqualTo(Family.IPV6);
        assertThat(s6.byteSize()).isEqualTo(80);
        assertThat(new IpReceive().ipv6(s6, 0, s6.byteSize(), false)).isEqualTo(ReceiveResult.OK);
        assertThat(Checksums.tcpV6Valid(s6, 0, 40, 40)).isTrue();

        PacketSpec echo6 = PacketSpec.parse("icmp 2001:db8::2 -> 2001:db8::1 in eth0");
        assertThat(echo6.protocol()).isEqualTo(Protocols.ICMPV6);
        MemorySegment e6 = echo6.bytes();
        assertThat(u8(e6, 40)).isEqualTo(128);
        assertThat(Checksums.icmpv6Valid(e6, 0, 40, (int) e6.byteSize() - 40)).isTrue();
    }

    @Test
    void localPacketsEnterAtOutput() throws Exception {
        assertThat(PacketSpec.parse("udp 10.0.0.1:1000 -> 10.0.0.9:53 in @local").locallyGenerated()).isTrue();
        assertThat(PacketSpec.parse("udp 10.0.0.1:1000 -> 10.0.0.9:53 out eth1").locallyGenerated()).isTrue();
    }

    @Test
    void mistakesAreNamed() {
        assertThatThrownBy(() -> PacketSpec.parse("tcp 10.0.0.2 -> 10.0.0.1")).hasMessageContaining("destination port");
        assertThatThrownBy(() -> PacketSpec.parse("icmp 10.0.0.2:5 -> 10.0.0.1")).hasMessageContaining("has no ports");
        assertThatThrownBy(() -> PacketSpec.parse("tcp 10.0.0.2:1 -> ::1:80")).hasMessageContaining("different families");
        assertThatThrownBy(() -> PacketSpec.parse("tcp 10.0.0.2:1 -> 10.0.0.1:80 flags X")).hasMessageContaining("tcp flag");
        assertThatThrownBy(() -> PacketSpec.parse("tcp 10.0.0.2:1 -> 10.0.0.1:80 len 20")).hasMessageContaining("shorter");
        assertThatThrownBy(() -> PacketSpec.parse("bogus 10.0.0.2 -> 10.0.0.1")).hasMessageContaining("unknown protocol");
        assertThatThrownBy(() -> PacketSpec.parse("tcp 10.0.0.2:1 -> 10.0.0.1:80 colour red")).hasMessageContaining("unknown word");
    }
}
