package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code -m srh} on IPv6 packets with a Segment Routing Header: for each packet, the rules among {@link #RULES}
 * that counted it on Linux 6.18 (ip6tables-legacy, raw PREROUTING, one rule per option set, packets sent over a
 * veth with an AF_PACKET socket) are exactly the ones jnetfilter's match accepts.
 */
class SrhSemanticsTest {
    static final String[] RULES = {"--srh-tag 258", "--srh-tag 513", "--srh-next-hdr 17", "! --srh-next-hdr 17",
        "--srh-hdr-len-eq 6", "--srh-hdr-len-gt 5", "--srh-hdr-len-lt 6", "--srh-segs-left-eq 1", "--srh-segs-left-gt 0",
        "--srh-segs-left-lt 1", "--srh-last-entry-eq 2", "--srh-last-entry-gt 1", "--srh-last-entry-lt 2",
        "--srh-psid fd00::a", "--srh-psid fd00::/16", "! --srh-psid fd00::a", "--srh-nsid fd00::d", "--srh-nsid fd00::c",
        "--srh-lsid fd00::d/128", "--srh-lsid fd01::/16", "! --srh-lsid fd01::/16", "! --srh-tag 1",
        "! --srh-nsid fd00::c"};

    /** IPv6 fd00::1 -> fd00::2, an SRH, UDP 1000 -> 2000 with 4 bytes; {@code cut} bytes removed from the end. */
    static MemorySegment packet(int segsLeft, int lastEntry, int tag, List<String> segments, int nextHeader, int type,
            int hdrlen, int cut) throws Exception {
        ByteArrayOutputStream pl = new ByteArrayOutputStream();
        pl.write(new byte[] {(byte) nextHeader, (byte) (hdrlen < 0 ? 2 * segments.size() : hdrlen), (byte) type,
            (byte) segsLeft, (byte) lastEntry, 0, (byte) (tag >>> 8), (byte) tag});
        for (String s : segments) {
            pl.write(InetAddress.getByName(s).getAddress());
        }
        pl.write(new byte[] {0x03, (byte) 0xe8, 0x07, (byte) 0xd0, 0, 12, 0, 0, 'a', 'b', 'c', 'd'});
        byte[] payload = pl.toByteArray();
        int n = payload.length - cut;
        ByteBuffer b = ByteBuffer.allocate(40 + n);
        b.putInt(0x60000000).putShort((short) n).put((byte) 43).put((byte) 64);
        b.put(InetAddress.getByName("fd00::1").getAddress()).put(InetAddress.getByName("fd00::2").getAddress());
        b.put(payload, 0, n);
        return MemorySegment.ofArray(b.array());
    }

    static Stream<Arguments> packets() throws Exception {
        List<String> three = List.of("fd00::d", "fd00::2", "fd00::a");
        return Stream.of(
                Arguments.of("segments left 1 of 3, tag bytes 01 02", packet(1, 2, 0x0102, three, 17, 4, -1, 0),
                        List.of("--srh-tag 513", "--srh-next-hdr 17", "--srh-hdr-len-eq 6", "--srh-hdr-len-gt 5",
                                "--srh-segs-left-eq 1", "--srh-segs-left-gt 0", "--srh-last-entry-eq 2",
                                "--srh-last-entry-gt 1", "--srh-psid fd00::a", "--srh-psid fd00::/16",
                                "--srh-nsid fd00::d", "--srh-lsid fd00::d/128", "! --srh-lsid fd01::/16", "! --srh-tag 1",
                                "! --srh-nsid fd00::c")),
                Arguments.of("one segment, none left: no previous or next id, even negated",
                        packet(0, 0, 0x0201, List.of("fd00::2"), 17, 4, -1, 0),
                        List.of("--srh-tag 258", "--srh-next-hdr 17", "--srh-hdr-len-lt 6", "--srh-segs-left-lt 1",
                                "--srh-last-entry-lt 2", "! --srh-lsid fd01::/16", "! --srh-tag 1")),
                Arguments.of("at the first segment: no previous id",
                        packet(2, 2, 0, List.of("fd00::d", "fd00::c", "fd00::2"), 17, 4, -1, 0),
                        List.of("--srh-next-hdr 17", "--srh-hdr-len-eq 6", "--srh-hdr-len-gt 5", "--srh-segs-left-gt 0",
                                "--srh-last-entry-eq 2", "--srh-last-entry-gt 1", "--srh-nsid fd00::c",
                                "--srh-lsid fd00::d/128", "! --srh-lsid fd01::/16", "! --srh-tag 1")),
                Arguments.of("routing header type 2: nothing", packet(1, 2, 0x0102, three, 17, 2, -1, 0), List.of()),
                Arguments.of("segments left past last entry: nothing",
                        packet(3, 2, 0, List.of("fd00::d", "fd00::c", "fd00::2"), 17, 4, -1, 0), List.of()),
                Arguments.of("a header length short of the list: ids read past it, within the packet",
                        packet(1, 2, 0, three, 6, 4, 4, 0),
                        List.of("! --srh-next-hdr 17", "--srh-hdr-len-lt 6", "--srh-segs-left-eq 1",
                                "--srh-segs-left-gt 0", "--srh-last-entry-eq 2", "--srh-last-entry-gt 1",
                                "--srh-psid fd00::a", "--srh-psid fd00::/16", "--srh-nsid fd00::d",
                                "--srh-lsid fd00::d/128", "! --srh-lsid fd01::/16", "! --srh-tag 1",
                                "! --srh-nsid fd00::c")),
                Arguments.of("a header cut short: nothing, and no drop", packet(1, 2, 0x0102, three, 17, 4, -1, 40),
                        List.of()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("packets")
    void matchesWhatTheKernelCounted(String name, MemorySegment packet, List<String> kernel) {
        List<String> ours = new ArrayList<>();
        for (String rule : RULES) {
            ExtensionData m = SemanticsPackets.match(Family.IPV6, -1, "srh", rule.split(" "));
            PacketContext pkt = new PacketContext().ipv6(packet, 0);
            if (m.matches(pkt)) {
                ours.add(rule);
            }
            assertThat(pkt.hotdrop()).as(rule).isFalse();
        }
        assertThat(ours).isEqualTo(kernel);
    }
}
