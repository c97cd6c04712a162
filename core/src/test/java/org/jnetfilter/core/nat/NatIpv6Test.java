package org.jnetfilter.core.nat;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.conntrack.Packets;
import org.jnetfilter.core.conntrack.Rules;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.Route;
import org.jnetfilter.core.host.RouteType;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Table;
import org.junit.jupiter.api.Test;

class NatIpv6Test {
    static final long LAN_HI = 0xfd00000000000001L;
    static final long WAN_HI = 0x20010db800000000L;
    static final IpSpec V6 = IpSpec.any(Family.IPV6);

    static Host router() {
        Host host = new Host();
        host.addLink("eth0", 0x020000000001L, 1500);
        host.setUp("eth0", true);
        host.addAddress("eth0", IpAddress.parse("2001:db8::7"), 64);
        host.addRoute(new Route(Host.TABLE_MAIN, RouteType.UNICAST, IpAddress.parse("::").net(0), 1024,
                IpAddress.parse("2001:db8::1"), "eth0", null, false));
        host.addLink("eth1", 0x020000000002L, 1500);
        host.setUp("eth1", true);
        host.addAddress("eth1", IpAddress.parse("fd00:0:0:1::1"), 64);
        return host;
    }

    @Test
    void masqueradeUsesTheSourceAddressTheRouteSelectsAndIcmpv6ErrorsAreTranslatedBack() {
        Table nat = Rules.nat(Family.IPV6, List.of(), List.of(), List.of(),
                List.of(Rules.rule(V6.withOutIface("eth0"), "MASQUERADE")));
        NatPath path = new NatPath(router(), nat);
        MemorySegment udp = Packets.ipv6(LAN_HI, 10, WAN_HI | 0xffL << 16, 53, 17, Packets.udp(40000, 53, 8));
        PacketContext out = path.forward(udp, 0, "eth1", "eth0");
        assertThat(out.sourceHi()).isEqualTo(WAN_HI);
        assertThat(out.sourceLo()).isEqualTo(7);
        assertThat(Packets.checksumsValid(out)).isTrue();

        // port unreachable from the server about the translated datagram
        byte[] quoted = out.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        byte[] icmp = java.nio.ByteBuffer.allocate(8 + quoted.length).put((byte) 1).put((byte) 4)
                .putShort((short) 0).putInt(0).put(quoted).array();
        MemorySegment err = Packets.ipv6(WAN_HI | 0xffL << 16, 53, WAN_HI, 7, 58, icmp);
        PacketContext e = path.forward(err, 0.1, "eth0", "eth1");
        assertThat(e.ctInfo()).isEqualTo(CtInfo.RELATED_REPLY);
        assertThat(e.destinationHi()).isEqualTo(LAN_HI);
        assertThat(e.destinationLo()).isEqualTo(10);
        MemorySegment s = e.segment();
        // the quoted packet's source is the client's again
        assertThat(s.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN),
                40 + 8 + 8)).isEqualTo(LAN_HI);
        assertThat(Packets.checksumsValid(e)).isTrue();
    }

    @Test
    void redirectTakesTheIncomingInterfacesGlobalAddress() {
        Table nat = Rules.nat(Family.IPV6, List.of(Rules.rule(V6.withProtocol(6), "REDIRECT", "--to-ports", "8080")),
                List.of(), List.of(), List.of());
        NatPath path = new NatPath(router(), nat);
        PacketContext in = path.localIn(Packets.ipv6(LAN_HI, 10, WAN_HI, 0x80, 6,
                Packets.tcp(40000, 80, 1, 0, Packets.SYN, 0)), 0, "eth1");
        assertThat(in.destinationHi()).isEqualTo(0xfd00000000000001L);
        assertThat(in.destinationLo()).isEqualTo(1);
        assertThat(in.transportU16(2)).isEqualTo(8080);
        assertThat(Packets.checksumsValid(in)).isTrue();
    }

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> icmpErrorChecksums() {
        // hook, summed before (conntrack on receipt or NAT in OUTPUT), checksum valid, translated (else dropped)
        return java.util.stream.Stream.of(
                org.junit.jupiter.params.provider.Arguments.of(org.jnetfilter.core.rules.Hook.OUTPUT, false, false, false),
                org.junit.jupiter.params.provider.Arguments.of(org.jnetfilter.core.rules.Hook.OUTPUT, false, true, true),
                // Linux 6.18 (difftest seed 9): SNPT broke the sum after it was taken; POSTROUTING does not sum again
                org.junit.jupiter.params.provider.Arguments.of(org.jnetfilter.core.rules.Hook.POSTROUTING, true, false, true),
                org.junit.jupiter.params.provider.Arguments.of(org.jnetfilter.core.rules.Hook.POSTROUTING, false, false, false),
                // PREROUTING and INPUT sum a CHECKSUM_COMPLETE packet again
                org.junit.jupiter.params.provider.Arguments.of(org.jnetfilter.core.rules.Hook.PREROUTING, true, false, false),
                org.junit.jupiter.params.provider.Arguments.of(org.jnetfilter.core.rules.Hook.INPUT, true, false, false),
                org.junit.jupiter.params.provider.Arguments.of(org.jnetfilter.core.rules.Hook.INPUT, true, true, true));
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0}, summed before {1}, valid {2}: translated {3}")
    @org.junit.jupiter.params.provider.MethodSource("icmpErrorChecksums")
    void anIcmpv6ErrorsChecksumIsSummedOnlyWhereNfIp6ChecksumSumsIt(org.jnetfilter.core.rules.Hook hook,
            boolean summedBefore, boolean valid, boolean translated) {
        Table nat = Rules.nat(Family.IPV6, List.of(), List.of(), List.of(),
                List.of(Rules.rule(V6.withOutIface("eth0"), "MASQUERADE")));
        NatPath path = new NatPath(router(), nat);
        PacketContext out = path.forward(Packets.ipv6(LAN_HI, 10, WAN_HI | 0xffL << 16, 53, 17,
                Packets.udp(40000, 53, 8)), 0, "eth1", "eth0");
        byte[] quoted = out.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        byte[] icmp = java.nio.ByteBuffer.allocate(8 + quoted.length).put((byte) 1).put((byte) 4)
                .putShort((short) 0).putInt(0).put(quoted).array();
        MemorySegment err = Packets.ipv6(WAN_HI | 0xffL << 16, 53, WAN_HI, 7, 58, icmp);
        if (!valid) {
            // one more in the last word of the source address, as a prefix translation outside its prefix leaves it
            err.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 23, (byte) (err.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 23) + 1));
        }
        PacketContext e = Packets.load(err).checksumVerified(summedBefore);
        assertThat(Nat.icmpReplyTranslation(e, out.conntrack(), CtInfo.RELATED_REPLY, hook)).isEqualTo(translated);
        if (translated) {
            assertThat(e.checksumVerified()).as("summed now or before: CHECKSUM_COMPLETE").isTrue();
        }
    }
}
