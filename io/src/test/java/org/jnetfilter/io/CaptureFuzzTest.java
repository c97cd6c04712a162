package org.jnetfilter.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Random mutations of valid files: every reading must end in records or a
 * {@link CaptureFormatException}, never another exception, and must end.
 */
class CaptureFuzzTest {

    private static final int ITERATIONS = 3000;
    private static final int[] INTERESTING = {0, 1, 4, 8, 12, 16, 20, 28, 32, 0x7fff_ffff, -1, -4, 0x8000_0000,
        0x0a0d0d0a, 0x1a2b3c4d, 0x4d3c2b1a, 0xa1b2c3d4, 0xd4c3b2a1, 0x0100_0000, 0x0600_0000};

    @ParameterizedTest
    @ValueSource(strings = {"eth-usec.pcap", "eth-nsec.pcap", "any-sll.pcap", "tun-raw.pcap",
        "dumpcap-two-ifaces.pcapng", "editcap-nsec.pcapng", "written-big-endian.pcapng",
        "written-big-endian.pcap"})
    void mutatedFilesYieldRecordsOrACaptureFormatException(String name) throws Exception {
        byte[] valid = source(name);
        assertThat(Captures.readAll(valid)).isNotEmpty();
        SplittableRandom random = new SplittableRandom(name.hashCode());
        int failures = 0;
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] mutated = mutate(valid, random);
            try {
                int records = 0;
                try (CaptureReader reader = Captures.open(mutated)) {
                    while (reader.next()) {
                        // Plain checks: AssertJ per record would dominate the run time.
                        if (reader.capturedLength() < 0 || reader.capturedLength() > mutated.length
                                || reader.packet().byteSize() != reader.capturedLength()
                                || reader.originalLength() < 0) {
                            throw new AssertionError("record at offset " + reader.recordOffset() + " captured "
                                    + reader.capturedLength() + " original " + reader.originalLength());
                        }
                        records++;
                    }
                }
                assertThat(records).isLessThanOrEqualTo(mutated.length / 12);
            } catch (CaptureFormatException expected) {
                assertThat(expected.getMessage()).contains("offset " + expected.offset());
                assertThat(expected.offset()).isBetween(0L, (long) mutated.length);
                failures++;
            } catch (IOException | RuntimeException | AssertionError e) {
                throw new AssertionError(name + " mutation " + i + " threw " + e, e);
            }
        }
        assertThat(failures).as("mutations that were refused").isPositive();
    }

    private static byte[] source(String name) throws Exception {
        if (!name.startsWith("written-")) {
            return Captures.resource(name);
        }
        if (name.endsWith(".pcapng")) {
            return PcapngRoundTripTest.replayCapture(ByteOrder.BIG_ENDIAN, 3, new ArrayList<>());
        }
        Captures.Sink sink = new Captures.Sink();
        try (PcapWriter writer = new PcapWriter(sink.channel, LinkType.IPV4, 96, TimestampPrecision.NANOSECONDS,
                ByteOrder.BIG_ENDIAN)) {
            for (int i = 0; i < 40; i++) {
                writer.write(i * 1_000_003L, new byte[i * 7]);
            }
        }
        return sink.bytes();
    }

    private static byte[] mutate(byte[] valid, SplittableRandom random) {
        byte[] b = valid.clone();
        int rounds = random.nextInt(1, 4);
        for (int r = 0; r < rounds; r++) {
            switch (random.nextInt(6)) {
                case 0 -> b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
                case 1 -> b[random.nextInt(b.length)] = (byte) random.nextInt(256);
                case 2 -> {
                    if (b.length >= 4) {
                        int at = random.nextInt(b.length - 3) & ~3;
                        int v = INTERESTING[random.nextInt(INTERESTING.length)];
                        if (random.nextBoolean()) {
                            v = Integer.reverseBytes(v);
                        }
                        b[at] = (byte) (v >>> 24);
                        b[at + 1] = (byte) (v >>> 16);
                        b[at + 2] = (byte) (v >>> 8);
                        b[at + 3] = (byte) v;
                    }
                }
                case 3 -> b = Arrays.copyOf(b, random.nextInt(b.length + 1));
                case 4 -> {
                    int from = random.nextInt(b.length + 1);
                    int to = random.nextInt(from, b.length + 1);
                    byte[] cut = new byte[b.length - (to - from)];
                    System.arraycopy(b, 0, cut, 0, from);
                    System.arraycopy(b, to, cut, from, b.length - to);
                    b = cut;
                }
                default -> {
                    int at = random.nextInt(b.length + 1);
                    int from = random.nextInt(b.length + 1);
                    int n = random.nextInt(0, Math.min(64, b.length - from) + 1);
                    byte[] grown = new byte[b.length + n];
                    System.arraycopy(b, 0, grown, 0, at);
                    System.arraycopy(b, from, grown, at, n);
                    System.arraycopy(b, at, grown, at + n, b.length - at);
                    b = grown;
                }
            }
            if (b.length == 0) {
                break;
            }
        }
        return b;
    }

}
