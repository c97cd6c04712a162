package org.jnetfilter.core.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.Test;

/**
 * Every setter round-trips through its getter, at an odd (unaligned) offset, and leaves every
 * other field of the header as it was.
 */
class HeaderFieldsTest {
    private static final int OFFSET = 3;
    private static final int ROUNDS = 200;

    record Field<H>(String name, int bits, ToLongFunction<H> get, BiConsumer<H, Long> set) {
        static <H> Field<H> of(String name, int bits, ToLongFunction<H> get, BiConsumer<H, Long> set) {
            return new Field<>(name, bits, get, set);
        }
    }

    /** Fields in {@code isolated} must not disturb one another; {@code overlapping} only round-trip. */
    private static <H> void check(H header, Consumer<H> prepare, List<Field<H>> isolated, List<Field<H>> overlapping) {
        SplittableRandom rnd = new SplittableRandom(0x5EED);
        for (int round = 0; round < ROUNDS; round++) {
            prepare.accept(header);
            for (Field<H> f : isolated) {
                long[] before = new long[isolated.size()];
                for (int j = 0; j < isolated.size(); j++) {
                    before[j] = isolated.get(j).get.applyAsLong(header);
                }
                long v = value(rnd, f.bits);
                f.set.accept(header, v);
                assertThat(f.get.applyAsLong(header)).as(f.name).isEqualTo(v);
                for (int j = 0; j < isolated.size(); j++) {
                    Field<H> other = isolated.get(j);
                    if (other != f) {
                        assertThat(other.get.applyAsLong(header))
                                .as("%s after setting %s", other.name, f.name).isEqualTo(before[j]);
                    }
                }
            }
            for (Field<H> f : overlapping) {
                long v = value(rnd, f.bits);
                f.set.accept(header, v);
                assertThat(f.get.applyAsLong(header)).as(f.name).isEqualTo(v);
            }
        }
    }

    private static long value(SplittableRandom rnd, int bits) {
        long v = rnd.nextLong();
        return bits == 64 ? v : v & ((1L << bits) - 1);
    }

    private static MemorySegment randomSegment(long seed) {
        byte[] b = new byte[OFFSET + 80];
        new SplittableRandom(seed).nextBytes(b);
        return MemorySegment.ofArray(b);
    }

    private static long u32(int v) {
        return Integer.toUnsignedLong(v);
    }

    @Test
    void ethernetFieldsRoundTripWithoutTouchingTheirNeighbours() {
        EthernetHeader h = new EthernetHeader().wrap(randomSegment(1), OFFSET);
        check(h, x -> { }, List.of(
                Field.of("destination", 48, EthernetHeader::destination, (x, v) -> x.destination(v)),
                Field.of("source", 48, EthernetHeader::source, (x, v) -> x.source(v)),
                Field.of("etherType", 16, EthernetHeader::etherType, (x, v) -> x.etherType(v.intValue())),
                Field.of("vlanId", 12, EthernetHeader::vlanId, (x, v) -> x.vlanId(v.intValue())),
                Field.of("vlanPriority", 3, EthernetHeader::vlanPriority, (x, v) -> x.vlanPriority(v.intValue()))),
                List.of());
    }

    @Test
    void arpFieldsRoundTripWithoutTouchingTheirNeighbours() {
        ArpHeader h = new ArpHeader().wrap(randomSegment(2), OFFSET);
        check(h, x -> { }, List.of(
                Field.of("hardwareType", 16, ArpHeader::hardwareType, (x, v) -> x.hardwareType(v.intValue())),
                Field.of("protocolType", 16, ArpHeader::protocolType, (x, v) -> x.protocolType(v.intValue())),
                Field.of("hardwareLength", 8, ArpHeader::hardwareLength, (x, v) -> x.hardwareLength(v.intValue())),
                Field.of("protocolLength", 8, ArpHeader::protocolLength, (x, v) -> x.protocolLength(v.intValue())),
                Field.of("operation", 16, ArpHeader::operation, (x, v) -> x.operation(v.intValue())),
                Field.of("senderMac", 48, ArpHeader::senderMac, (x, v) -> x.senderMac(v)),
                Field.of("senderIp", 32, x -> u32(x.senderIp()), (x, v) -> x.senderIp(v.intValue())),
                Field.of("targetMac", 48, ArpHeader::targetMac, (x, v) -> x.targetMac(v)),
                Field.of("targetIp", 32, x -> u32(x.targetIp()), (x, v) -> x.targetIp(v.intValue()))),
                List.of());
    }

    @Test
    void ipv4FieldsRoundTripWithoutTouchingTheirNeighbours() {
        Ipv4Header h = new Ipv4Header().wrap(randomSegment(3), OFFSET);
        check(h, x -> { }, List.of(
                Field.of("version", 4, Ipv4Header::version, (x, v) -> x.version(v.intValue())),
                Field.of("ihl", 4, Ipv4Header::ihl, (x, v) -> x.ihl(v.intValue())),
                Field.of("tos", 8, Ipv4Header::tos, (x, v) -> x.tos(v.intValue())),
                Field.of("totalLength", 16, Ipv4Header::totalLength, (x, v) -> x.totalLength(v.intValue())),
                Field.of("identification", 16, Ipv4Header::identification, (x, v) -> x.identification(v.intValue())),
                Field.of("flagsAndFragmentOffset", 16, Ipv4Header::flagsAndFragmentOffset,
                        (x, v) -> x.flagsAndFragmentOffset(v.intValue())),
                Field.of("ttl", 8, Ipv4Header::ttl, (x, v) -> x.ttl(v.intValue())),
                Field.of("protocol", 8, Ipv4Header::protocol, (x, v) -> x.protocol(v.intValue())),
                Field.of("checksum", 16, Ipv4Header::checksum, (x, v) -> x.checksum(v.intValue())),
                Field.of("source", 32, x -> u32(x.source()), (x, v) -> x.source(v.intValue())),
                Field.of("destination", 32, x -> u32(x.destination()), (x, v) -> x.destination(v.intValue()))),
                List.of(
                Field.of("dscp", 6, Ipv4Header::dscp, (x, v) -> x.dscp(v.intValue())),
                Field.of("ecn", 2, Ipv4Header::ecn, (x, v) -> x.ecn(v.intValue())),
                Field.of("dontFragment", 1, x -> x.dontFragment() ? 1 : 0, (x, v) -> x.dontFragment(v == 1)),
                Field.of("moreFragments", 1, x -> x.moreFragments() ? 1 : 0, (x, v) -> x.moreFragments(v == 1)),
                Field.of("fragmentOffset", 13, Ipv4Header::fragmentOffset, (x, v) -> x.fragmentOffset(v.intValue()))));
    }

    @Test
    void ipv4FlagSettersKeepTheOtherFlagsAndTheOffset() {
        Ipv4Header h = new Ipv4Header().wrap(randomSegment(4), OFFSET);
        h.flagsAndFragmentOffset(Ipv4Header.FLAG_RESERVED | 1234);
        h.dontFragment(true).moreFragments(true);
        assertThat(h.flagsAndFragmentOffset())
                .isEqualTo(Ipv4Header.FLAG_RESERVED | Ipv4Header.FLAG_DF | Ipv4Header.FLAG_MF | 1234);
        assertThat(h.isFragment()).isTrue();
        h.moreFragments(false).fragmentOffset(0);
        assertThat(h.isFragment()).isFalse();
        assertThat(h.dontFragment()).isTrue();
    }

    @Test
    void ipv6FieldsRoundTripWithoutTouchingTheirNeighbours() {
        Ipv6Header h = new Ipv6Header().wrap(randomSegment(5), OFFSET);
        check(h, x -> { }, List.of(
                Field.of("version", 4, Ipv6Header::version, (x, v) -> x.version(v.intValue())),
                Field.of("trafficClass", 8, Ipv6Header::trafficClass, (x, v) -> x.trafficClass(v.intValue())),
                Field.of("flowLabel", 20, Ipv6Header::flowLabel, (x, v) -> x.flowLabel(v.intValue())),
                Field.of("payloadLength", 16, Ipv6Header::payloadLength, (x, v) -> x.payloadLength(v.intValue())),
                Field.of("nextHeader", 8, Ipv6Header::nextHeader, (x, v) -> x.nextHeader(v.intValue())),
                Field.of("hopLimit", 8, Ipv6Header::hopLimit, (x, v) -> x.hopLimit(v.intValue())),
                Field.of("sourceHigh", 64, Ipv6Header::sourceHigh, (x, v) -> x.source(v, x.sourceLow())),
                Field.of("sourceLow", 64, Ipv6Header::sourceLow, (x, v) -> x.source(x.sourceHigh(), v)),
                Field.of("destinationHigh", 64, Ipv6Header::destinationHigh,
                        (x, v) -> x.destination(v, x.destinationLow())),
                Field.of("destinationLow", 64, Ipv6Header::destinationLow,
                        (x, v) -> x.destination(x.destinationHigh(), v))),
                List.of());
    }

    @Test
    void tcpFieldsRoundTripWithoutTouchingTheirNeighbours() {
        TcpHeader h = new TcpHeader().wrap(randomSegment(6), OFFSET);
        check(h, x -> { }, List.of(
                Field.of("sourcePort", 16, TcpHeader::sourcePort, (x, v) -> x.sourcePort(v.intValue())),
                Field.of("destinationPort", 16, TcpHeader::destinationPort, (x, v) -> x.destinationPort(v.intValue())),
                Field.of("sequence", 32, TcpHeader::sequence, (x, v) -> x.sequence(v)),
                Field.of("acknowledgment", 32, TcpHeader::acknowledgment, (x, v) -> x.acknowledgment(v)),
                Field.of("dataOffset", 4, TcpHeader::dataOffset, (x, v) -> x.dataOffset(v.intValue())),
                Field.of("flags", 9, TcpHeader::flags, (x, v) -> x.flags(v.intValue())),
                Field.of("window", 16, TcpHeader::window, (x, v) -> x.window(v.intValue())),
                Field.of("checksum", 16, TcpHeader::checksum, (x, v) -> x.checksum(v.intValue())),
                Field.of("urgentPointer", 16, TcpHeader::urgentPointer, (x, v) -> x.urgentPointer(v.intValue()))),
                List.of());
    }

    @Test
    void udpFieldsRoundTripWithoutTouchingTheirNeighbours() {
        UdpHeader h = new UdpHeader().wrap(randomSegment(7), OFFSET);
        check(h, x -> { }, List.of(
                Field.of("sourcePort", 16, UdpHeader::sourcePort, (x, v) -> x.sourcePort(v.intValue())),
                Field.of("destinationPort", 16, UdpHeader::destinationPort, (x, v) -> x.destinationPort(v.intValue())),
                Field.of("length", 16, UdpHeader::length, (x, v) -> x.length(v.intValue())),
                Field.of("checksum", 16, UdpHeader::checksum, (x, v) -> x.checksum(v.intValue()))),
                List.of(Field.of("checksumCoverage", 16, UdpHeader::checksumCoverage,
                        (x, v) -> x.checksumCoverage(v.intValue()))));
    }

    @Test
    void icmpFieldsRoundTripWithoutTouchingTheirNeighbours() {
        IcmpHeader h = new IcmpHeader().wrap(randomSegment(8), OFFSET);
        check(h, x -> { }, List.of(
                Field.of("type", 8, IcmpHeader::type, (x, v) -> x.type(v.intValue())),
                Field.of("code", 8, IcmpHeader::code, (x, v) -> x.code(v.intValue())),
                Field.of("checksum", 16, IcmpHeader::checksum, (x, v) -> x.checksum(v.intValue())),
                Field.of("identifier", 16, IcmpHeader::identifier, (x, v) -> x.identifier(v.intValue())),
                Field.of("sequence", 16, IcmpHeader::sequence, (x, v) -> x.sequence(v.intValue()))),
                List.of(
                Field.of("gateway", 32, x -> u32(x.gateway()), (x, v) -> x.gateway(v.intValue())),
                Field.of("pointer", 8, IcmpHeader::pointer, (x, v) -> x.pointer(v.intValue())),
                Field.of("nextHopMtu", 16, IcmpHeader::nextHopMtu, (x, v) -> x.nextHopMtu(v.intValue()))));
    }

    @Test
    void icmpv6FieldsRoundTripWithoutTouchingTheirNeighbours() {
        Icmpv6Header h = new Icmpv6Header().wrap(randomSegment(9), OFFSET);
        check(h, x -> { }, List.of(
                Field.of("type", 8, Icmpv6Header::type, (x, v) -> x.type(v.intValue())),
                Field.of("code", 8, Icmpv6Header::code, (x, v) -> x.code(v.intValue())),
                Field.of("checksum", 16, Icmpv6Header::checksum, (x, v) -> x.checksum(v.intValue())),
                Field.of("identifier", 16, Icmpv6Header::identifier, (x, v) -> x.identifier(v.intValue())),
                Field.of("sequence", 16, Icmpv6Header::sequence, (x, v) -> x.sequence(v.intValue()))),
                List.of(
                Field.of("mtu", 32, Icmpv6Header::mtu, (x, v) -> x.mtu(v)),
                Field.of("pointer", 32, Icmpv6Header::pointer, (x, v) -> x.pointer(v))));
    }

    @Test
    void sctpFieldsRoundTripWithoutTouchingTheirNeighbours() {
        SctpHeader h = new SctpHeader().wrap(randomSegment(10), OFFSET);
        int chunk = SctpHeader.LENGTH;
        check(h, x -> { }, List.of(
                Field.of("sourcePort", 16, SctpHeader::sourcePort, (x, v) -> x.sourcePort(v.intValue())),
                Field.of("destinationPort", 16, SctpHeader::destinationPort, (x, v) -> x.destinationPort(v.intValue())),
                Field.of("verificationTag", 32, SctpHeader::verificationTag, (x, v) -> x.verificationTag(v)),
                Field.of("checksum", 32, SctpHeader::checksum, (x, v) -> x.checksum(v)),
                Field.of("chunkType", 8, x -> x.chunkType(chunk), (x, v) -> x.chunkType(chunk, v.intValue())),
                Field.of("chunkFlags", 8, x -> x.chunkFlags(chunk), (x, v) -> x.chunkFlags(chunk, v.intValue())),
                Field.of("chunkLength", 16, x -> x.chunkLength(chunk), (x, v) -> x.chunkLength(chunk, v.intValue()))),
                List.of());
    }

    @Test
    void greOptionalFieldsRoundTripWhenAllArePresent() {
        GreHeader h = new GreHeader().wrap(randomSegment(11), OFFSET);
        int all = GreHeader.FLAG_CSUM | GreHeader.FLAG_KEY | GreHeader.FLAG_SEQ | GreHeader.FLAG_ACK
                | GreHeader.VERSION_PPTP;
        check(h, x -> x.flagsAndVersion(all), List.of(
                Field.of("protocolType", 16, GreHeader::protocolType, (x, v) -> x.protocolType(v.intValue())),
                Field.of("checksum", 16, GreHeader::checksum, (x, v) -> x.checksum(v.intValue())),
                Field.of("payloadLength", 16, GreHeader::payloadLength, (x, v) -> x.payloadLength(v.intValue())),
                Field.of("callId", 16, GreHeader::callId, (x, v) -> x.callId(v.intValue())),
                Field.of("sequence", 32, GreHeader::sequence, (x, v) -> x.sequence(v)),
                Field.of("acknowledgment", 32, GreHeader::acknowledgment, (x, v) -> x.acknowledgment(v))),
                List.of(Field.of("key", 32, GreHeader::key, (x, v) -> x.key(v))));
        assertThat(h.headerLength()).isEqualTo(20);
    }

    @Test
    void greOffsetsFollowTheFlags() {
        GreHeader h = new GreHeader().wrap(MemorySegment.ofArray(new byte[32]), 0);
        assertThat(h.headerLength()).isEqualTo(4);
        assertThat(h.key()).isEqualTo(-1);
        assertThat(h.checksum()).isEqualTo(-1);
        h.flagsAndVersion(GreHeader.FLAG_KEY);
        assertThat(h.keyOffset()).isEqualTo(4);
        h.flagsAndVersion(GreHeader.FLAG_CSUM | GreHeader.FLAG_KEY | GreHeader.FLAG_SEQ);
        assertThat(h.keyOffset()).isEqualTo(8);
        assertThat(h.sequenceOffset()).isEqualTo(12);
        assertThat(h.acknowledgmentOffset()).as("A is a PPTP (version 1) field").isEqualTo(-1);
        h.flagsAndVersion(GreHeader.FLAG_KEY | GreHeader.FLAG_ACK).version(GreHeader.VERSION_PPTP);
        assertThat(h.version()).isEqualTo(1);
        assertThat(h.acknowledgmentOffset()).isEqualTo(8);
        assertThat(h.headerLength()).isEqualTo(12);
    }

    @Test
    void wrapRepointsTheSameFlyweightAtAnotherPacket() {
        MemorySegment a = Bytes.hex("0001 0002 0003 0004");
        MemorySegment b = Bytes.hex("00ff 00fe 0003 0004");
        UdpHeader udp = new UdpHeader();
        assertThat(udp.wrap(a, 0).sourcePort()).isEqualTo(1);
        assertThat(udp.wrap(b, 0).sourcePort()).isEqualTo(255);
        assertThat(udp.segment()).isSameAs(b);
        assertThat(udp.wrap(b, 2).offset()).isEqualTo(2);
        assertThat(udp.sourcePort()).isEqualTo(254);
    }

    @Test
    void unsignedFieldsAreWidenedNeverNegative() {
        MemorySegment ff = MemorySegment.ofArray(new byte[64]).fill((byte) 0xFF);
        assertThat(new TcpHeader().wrap(ff, 0).sequence()).isEqualTo(0xFFFF_FFFFL);
        assertThat(new TcpHeader().wrap(ff, 0).sourcePort()).isEqualTo(65535);
        assertThat(new Ipv4Header().wrap(ff, 0).ttl()).isEqualTo(255);
        assertThat(new EthernetHeader().wrap(ff, 0).destination()).isEqualTo(EthernetHeader.BROADCAST);
        assertThat(new Icmpv6Header().wrap(ff, 0).mtu()).isEqualTo(0xFFFF_FFFFL);
        assertThat(new SctpHeader().wrap(ff, 0).verificationTag()).isEqualTo(0xFFFF_FFFFL);
    }
}
