package org.jnetfilter.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.io.Captures.Packet;
import org.jnetfilter.io.Captures.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PcapRoundTripTest {

    @ParameterizedTest(name = "{0} {1} link type {2}")
    @CsvSource({
        "MICROSECONDS, LITTLE_ENDIAN, 1",
        "MICROSECONDS, BIG_ENDIAN,    101",
        "NANOSECONDS,  LITTLE_ENDIAN, 113",
        "NANOSECONDS,  BIG_ENDIAN,    228",
        "NANOSECONDS,  LITTLE_ENDIAN, 229",
    })
    void readsBackWhatItWrote(TimestampPrecision precision, String order, int linkType) throws Exception {
        ByteOrder byteOrder = order.equals("BIG_ENDIAN") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        SplittableRandom random = new SplittableRandom(42);
        List<Packet> written = new ArrayList<>();
        Sink sink = new Sink();
        try (PcapWriter writer = new PcapWriter(sink.channel, linkType, 65535, precision, byteOrder)) {
            long nanos = 1_700_000_000_123_456_789L;
            for (int i = 0; i < 500; i++) {
                byte[] data = new byte[random.nextInt(0, 1600)];
                random.nextBytes(data);
                int original = data.length + (random.nextInt(4) == 0 ? random.nextInt(1, 9000) : 0);
                nanos += random.nextLong(1, 5_000_000_000L);
                writer.write(nanos, original, MemorySegment.ofArray(data));
                long expectedNanos = nanos - nanos % precision.nanosPerUnit;
                written.add(new Packet(0, "eth0", linkType, expectedNanos, original, data));
            }
        }

        try (CaptureReader reader = Captures.open(sink.bytes())) {
            PcapReader pcap = (PcapReader) reader;
            assertThat(pcap.byteOrder()).isEqualTo(byteOrder);
            assertThat(pcap.precision()).isEqualTo(precision);
            assertThat(pcap.snapLength()).isEqualTo(65535);
            List<Packet> read = Captures.drain(reader);
            assertThat(read).usingRecursiveFieldByFieldElementComparator().isEqualTo(written);
        }
    }

    @Test
    void cutsPacketsToSnaplenAndKeepsTheirOriginalLength() throws Exception {
        Sink sink = new Sink();
        byte[] data = new byte[200];
        data[63] = 7;
        try (PcapWriter writer = new PcapWriter(sink.channel, LinkType.ETHERNET, 64,
                TimestampPrecision.NANOSECONDS, ByteOrder.LITTLE_ENDIAN)) {
            writer.write(5, data);
        }
        List<Packet> read = Captures.readAll(sink.bytes());
        assertThat(read).singleElement().satisfies(p -> {
            assertThat(p.originalLength()).isEqualTo(200);
            assertThat(p.data()).hasSize(64).endsWith(7);
            assertThat(p.timestampNanos()).isEqualTo(5);
        });
    }

    @Test
    void readsThroughAPlainPcapReaderToo() throws Exception {
        Sink sink = new Sink();
        try (PcapWriter writer = new PcapWriter(sink.channel, LinkType.RAW, 1500, TimestampPrecision.MICROSECONDS,
                ByteOrder.BIG_ENDIAN)) {
            writer.write(3_000_001_000L, new byte[] {0x45, 0, 0, 20});
        }
        try (PcapReader reader = new PcapReader(Channels.newChannel(new ByteArrayInputStream(sink.bytes())), "tun0")) {
            assertThat(reader.next()).isTrue();
            assertThat(reader.interfaceName()).isEqualTo("tun0");
            assertThat(reader.timestampNanos()).isEqualTo(3_000_001_000L);
            assertThat(reader.packet().byteSize()).isEqualTo(4);
            assertThat(reader.recordOffset()).isEqualTo(24);
            assertThat(reader.next()).isFalse();
        }
    }

    @Test
    void refusesTimestampsOutsidePcapsRange() throws Exception {
        Sink sink = new Sink();
        try (PcapWriter writer = new PcapWriter(sink.channel, LinkType.ETHERNET, 1500,
                TimestampPrecision.NANOSECONDS, ByteOrder.LITTLE_ENDIAN)) {
            assertThatThrownBy(() -> writer.write(-1, new byte[1])).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> writer.write(0x1_0000_0000L * 1_000_000_000L, new byte[1]))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
