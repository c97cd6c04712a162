package org.jnetfilter.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class MalformedCaptureTest {

    private static final String SHB_LE = "0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffff ffffffff 1c000000";
    private static final String IDB_LE = "01000000 14000000 0100 0000 00000000 14000000";

    private static CaptureFormatException failure(byte[] file) {
        try {
            Captures.readAll(file);
        } catch (CaptureFormatException e) {
            return e;
        } catch (Exception e) {
            throw new AssertionError("expected CaptureFormatException", e);
        }
        throw new AssertionError("expected CaptureFormatException, read the file");
    }

    @Test
    void namesTheOffsetOfABlockShorterThanItsMinimum() {
        byte[] file = Captures.hex(SHB_LE.replace("1c000000", "0c000000"));
        assertThat(failure(file)).hasMessage("block length 12 at offset 0 is shorter than the minimum 28")
                .satisfies(e -> assertThat(e.offset()).isZero());

        byte[] shortIdb = Captures.hex(SHB_LE + "01000000 10000000 0100 0000 10000000");
        assertThat(failure(shortIdb)).hasMessage("block length 16 at offset 28 is shorter than the minimum 20");
    }

    @Test
    void refusesBlockLengthsThatAreNotMultiplesOfFourOrThatExceedTheMaximum() {
        assertThat(failure(Captures.hex(SHB_LE + "06000000 21000000"))).hasMessage(
                "block length 33 at offset 28 is not a multiple of 4");
        assertThat(failure(Captures.hex(SHB_LE + "06000000 fcffffff"))).hasMessage(
                "block length 4294967292 at offset 28 exceeds the maximum 16777216");
    }

    @Test
    void detectsATruncatedLastBlockAndRecord() {
        byte[] pcapng = Captures.hex(SHB_LE + IDB_LE
                + "06000000 24000000 00000000 00000000 00000000 04000000 04000000 45000014 24000000");
        assertThat(Captures.readAllUnchecked(pcapng)).hasSize(1);
        assertThat(failure(Arrays.copyOf(pcapng, pcapng.length - 1))).hasMessage(
                "truncated block at offset 48: 36 bytes needed, 35 present");
        assertThat(failure(Arrays.copyOf(pcapng, 48 + 5))).hasMessage(
                "truncated block header at offset 48: 8 bytes needed, 5 present");

        byte[] pcap = Captures.hex("d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000"
                + "01000000 00000000 04000000 04000000 01020304");
        assertThat(Captures.readAllUnchecked(pcap)).hasSize(1);
        assertThat(failure(Arrays.copyOf(pcap, pcap.length - 2))).hasMessage(
                "truncated record at offset 24: 20 bytes needed, 18 present");
        assertThat(failure(Arrays.copyOf(pcap, 30))).hasMessage(
                "truncated record header at offset 24: 16 bytes needed, 6 present");
        assertThat(failure(Arrays.copyOf(pcap, 10))).hasMessage(
                "truncated pcap file header at offset 0: 24 bytes needed, 10 present");
    }

    @Test
    void refusesAnUnknownMagicAndAnEmptyFile() {
        assertThat(failure(Captures.hex("7f454c46 02010100 00000000 00000000 00000000 00000000"))).hasMessage(
                "magic 0x7f454c46 at offset 0 is neither pcap (a1b2c3d4, a1b23c4d, either byte order)"
                        + " nor pcapng (0a0d0d0a)");
        assertThat(failure(new byte[0])).hasMessage(
                "truncated capture header at offset 0: 4 bytes needed, 0 present");
        assertThat(failure(Captures.hex(SHB_LE.replace("4d3c2b1a", "01020304")))).hasMessage(
                "byte-order magic 0x01020304 at offset 8 is not 1a2b3c4d in either byte order");
    }

    @Test
    void refusesPacketsForInterfacesTheSectionNeverDescribed() {
        byte[] file = Captures.hex(SHB_LE + IDB_LE
                + "06000000 20000000 01000000 00000000 00000000 00000000 00000000 20000000");
        assertThat(failure(file)).hasMessage(
                "Enhanced Packet Block at offset 48 names interface 1 but its section describes 1");
        byte[] spb = Captures.hex(SHB_LE + "03000000 10000000 00000000 10000000");
        assertThat(failure(spb)).hasMessage(
                "Simple Packet Block at offset 28 comes before any Interface Description Block");
    }

    @Test
    void refusesMismatchedTrailingLengthsAndOverrunningContents() {
        byte[] trailer = Captures.hex(SHB_LE + "01000000 14000000 0100 0000 00000000 18000000");
        assertThat(failure(trailer)).hasMessage(
                "trailing block length 24 at offset 44 does not match the leading length 20 of the block at offset 28");
        byte[] overrun = Captures.hex(SHB_LE + IDB_LE
                + "06000000 20000000 00000000 00000000 00000000 01000000 01000000 20000000");
        assertThat(failure(overrun)).hasMessage(
                "captured length 1 of the Enhanced Packet Block at offset 48 overruns its block length 32");
        byte[] option = Captures.hex(SHB_LE + "01000000 18000000 0100 0000 00000000 0200 0800 18000000");
        assertThat(failure(option)).hasMessage(
                "option 2 of length 8 at offset 44 overruns its block, which ends at offset 48");
    }

    @Test
    void refusesACapturedLengthNoPacketCanHave() {
        byte[] pcap = Captures.hex("d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000"
                + "01000000 00000000 ffffff7f 04000000");
        assertThat(failure(pcap)).hasMessage("captured length 2147483647 at offset 24 exceeds the maximum 16777216");
    }

    @Test
    void offsetsAreFileOffsetsEvenFarIntoALargeFile() throws Exception {
        Captures.Sink sink = new Captures.Sink();
        try (PcapngWriter writer = new PcapngWriter(sink.channel, java.nio.ByteOrder.LITTLE_ENDIAN,
                LinkType.ETHERNET, List.of("eth0"))) {
            for (int i = 0; i < 2000; i++) {
                writer.write(0, i, java.lang.foreign.MemorySegment.ofArray(new byte[1000]));
            }
        }
        byte[] file = sink.bytes();
        int last = file.length - 1032;
        file[last + 4] = 12;
        file[last + 5] = 0;
        assertThat(failure(file)).hasMessage("block length 12 at offset " + last
                + " is shorter than the minimum 32");
    }
}
