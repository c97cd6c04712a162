package org.jnetfilter.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.io.Captures.Packet;
import org.jnetfilter.io.Captures.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PcapngRoundTripTest {

    static byte[] replayCapture(ByteOrder order, long seed, List<Packet> written) throws Exception {
        SplittableRandom random = new SplittableRandom(seed);
        Sink sink = new Sink();
        try (PcapngWriter writer = new PcapngWriter(sink.channel, order, LinkType.ETHERNET,
                List.of("eth0", "eth1", PcapngWriter.LOCAL))) {
            long nanos = 1_764_000_000_000_000_001L;
            for (int i = 0; i < 300; i++) {
                if (i == 150) {
                    assertThat(writer.addInterface("wg0", LinkType.RAW, 0)).isEqualTo(3);
                }
                int index = random.nextInt(i < 150 ? 3 : 4);
                byte[] data = new byte[random.nextInt(0, 1600)];
                random.nextBytes(data);
                int original = data.length + (random.nextInt(4) == 0 ? random.nextInt(1, 9000) : 0);
                nanos += random.nextLong(1, 2_000_000_000L);
                writer.write(index, nanos, original, MemorySegment.ofArray(data));
                written.add(new Packet(index, writer.interfaceNames().get(index),
                        index == 3 ? LinkType.RAW : LinkType.ETHERNET, nanos, original, data));
            }
        }
        return sink.bytes();
    }

    @ParameterizedTest
    @ValueSource(strings = {"LITTLE_ENDIAN", "BIG_ENDIAN"})
    void readsBackEveryInterfaceNameAndNanosecondTimestamp(String order) throws Exception {
        ByteOrder byteOrder = order.equals("BIG_ENDIAN") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        List<Packet> written = new ArrayList<>();
        byte[] file = replayCapture(byteOrder, 7, written);

        try (CaptureReader reader = Captures.open(file)) {
            assertThat(reader).isInstanceOf(PcapngReader.class);
            assertThat(((PcapngReader) reader).byteOrder()).isEqualTo(byteOrder);
            assertThat(Captures.drain(reader)).usingRecursiveFieldByFieldElementComparator().isEqualTo(written);
            assertThat(((PcapngReader) reader).interfaceCount()).isEqualTo(4);
        }
    }

    @Test
    void startsANewInterfaceTableAtEachSectionEvenInTheOtherByteOrder() throws Exception {
        List<Packet> first = new ArrayList<>();
        List<Packet> second = new ArrayList<>();
        byte[] a = replayCapture(ByteOrder.LITTLE_ENDIAN, 1, first);
        byte[] b = replayCapture(ByteOrder.BIG_ENDIAN, 2, second);
        byte[] both = new byte[a.length + b.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        List<Packet> expected = new ArrayList<>(first);
        expected.addAll(second);
        assertThat(Captures.readAll(both)).usingRecursiveFieldByFieldElementComparator().isEqualTo(expected);
    }

    @Test
    void refusesDuplicateNamesAndUndescribedInterfaces() throws Exception {
        Sink sink = new Sink();
        try (PcapngWriter writer = new PcapngWriter(sink.channel, ByteOrder.LITTLE_ENDIAN, LinkType.ETHERNET,
                List.of("eth0"))) {
            assertThat(writer.interfaceIndex("eth0")).isZero();
            assertThat(writer.interfaceIndex("eth9")).isEqualTo(-1);
            assertThatThrownBy(() -> writer.addInterface("eth0", LinkType.ETHERNET, 0))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> writer.write(1, 0, MemorySegment.ofArray(new byte[1])))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    /**
     * Hand-assembled big-endian section: an IDB with if_tsresol 2^-10 s and if_tsoffset 100 s,
     * then an unknown block, a Name Resolution Block, an Obsolete Packet Block, a Simple Packet
     * Block and an Interface Statistics Block.
     */
    @Test
    void readsBlocksNoWriterHereProduces() throws Exception {
        byte[] file = Captures.hex("""
                0a0d0d0a 0000001c 1a2b3c4d 0001 0000 ffffffff ffffffff 0000001c
                00000001 00000034 0065 0000 00000008
                  0002 0004 74756e30
                  0009 0001 8a000000
                  000e 0008 00000000 00000064
                  0000 0000
                  00000034
                00000bad 00000010 deadbeef 00000010
                00000004 00000014 0000 0000 00000000 00000014
                00000002 00000024 0000 0000 00000000 00000c00 00000004 00000006 45000014 00000024
                00000003 00000014 00000009 45000014 00000014
                00000005 00000018 00000000 00000000 00000000 00000018
                """);
        List<Packet> packets = Captures.readAll(file);
        assertThat(packets).hasSize(2);
        Packet opb = packets.get(0);
        assertThat(opb.interfaceName()).isEqualTo("tun0");
        assertThat(opb.linkType()).isEqualTo(LinkType.RAW);
        // 0xc00 units of 2^-10 s = 3 s, plus the 100 s offset.
        assertThat(opb.timestampNanos()).isEqualTo(103_000_000_000L);
        assertThat(opb.originalLength()).isEqualTo(6);
        assertThat(opb.data()).containsExactly(0x45, 0, 0, 0x14);
        Packet spb = packets.get(1);
        assertThat(spb.originalLength()).isEqualTo(9);
        // Simple Packet Block: captured = min(original 9, snaplen 8, body 4).
        assertThat(spb.data()).hasSize(4);
        assertThat(spb.timestampNanos()).isZero();
    }

    @Test
    void convertsFractionalBinaryResolution() throws Exception {
        // if_tsresol 0x81: units of 2^-1 s; 3 units = 1.5 s.
        byte[] file = Captures.hex("""
                0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffff ffffffff 1c000000
                01000000 1c000000 0100 0000 00000000 0900 0100 81000000 1c000000
                06000000 20000000 00000000 00000000 03000000 00000000 00000000 20000000
                """);
        assertThat(Captures.readAll(file)).singleElement()
                .satisfies(p -> assertThat(p.timestampNanos()).isEqualTo(1_500_000_000L));
    }
}
