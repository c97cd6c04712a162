package org.jnetfilter.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jnetfilter.io.Captures.Packet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Files written by tcpdump 4.99.3 (libpcap 1.10.3), dumpcap and editcap (Wireshark 4.0.17),
 * captured in a scratch network namespace (veth pair, a tun device) with UDP, TCP, ICMP and
 * ICMPv6 traffic. Each {@code .expected.tsv} is what {@code tshark -r} reports for the file, an
 * oracle independent of this code.
 */
class RealCaptureFilesTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "eth-usec.pcap,             1",
        "eth-nsec.pcap,             1",
        "editcap-snaplen60.pcap,    1",
        "any-sll.pcap,              113",
        "tun-raw.pcap,              101",
        "editcap-nsec.pcapng,       1",
        "dumpcap-two-ifaces.pcapng, 1/101",
    })
    void readsWhatTsharkReads(String file, String linkTypes) throws Exception {
        List<Packet> packets = Captures.readAll(Captures.resource(file));
        List<String[]> expected = new String(Captures.resource(file + ".expected.tsv"), StandardCharsets.UTF_8)
                .lines().filter(l -> !l.startsWith("#")).map(l -> l.split("\t")).toList();
        String[] linkTypeByInterface = linkTypes.split("/");

        assertThat(packets).hasSize(expected.size());
        for (int i = 0; i < packets.size(); i++) {
            Packet p = packets.get(i);
            String[] row = expected.get(i);
            String where = file + " packet " + (i + 1);
            assertThat(p.interfaceIndex()).as(where).isEqualTo(Integer.parseInt(row[0]));
            String name = row[1].equals("-") || row[1].equals("unknown") ? "eth0" : row[1];
            assertThat(p.interfaceName()).as(where).isEqualTo(name);
            assertThat(p.timestampNanos()).as(where)
                    .isEqualTo(new BigDecimal(row[2]).movePointRight(9).longValueExact());
            assertThat(p.originalLength()).as(where).isEqualTo(Integer.parseInt(row[3]));
            assertThat(p.data()).as(where).hasSize(Integer.parseInt(row[4]));
            assertThat(p.linkType()).as(where).isEqualTo(Integer.parseInt(linkTypeByInterface[p.interfaceIndex()]));
            assertThat(networkProtocol(p)).as(where).isEqualTo(Integer.decode(row[5]));
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"eth-usec.pcap, MICROSECONDS", "eth-nsec.pcap, NANOSECONDS"})
    void classicPcapReportsPrecisionAndByteOrder(String file, TimestampPrecision precision) throws Exception {
        try (CaptureReader reader = Captures.open(Captures.resource(file))) {
            assertThat(reader).isInstanceOf(PcapReader.class);
            PcapReader pcap = (PcapReader) reader;
            assertThat(pcap.precision()).isEqualTo(precision);
            assertThat(pcap.byteOrder()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
            assertThat(pcap.snapLength()).isEqualTo(262144);
        }
    }

    /** The EtherType the packet carries, read from its link-layer header. */
    private static int networkProtocol(Packet p) {
        byte[] d = p.data();
        return switch (p.linkType()) {
            case LinkType.ETHERNET -> u16(d, 12);
            case LinkType.LINUX_SLL -> u16(d, 14);
            case LinkType.RAW -> (d[0] & 0xf0) == 0x40 ? 0x0800 : 0x86dd;
            default -> throw new AssertionError("link type " + p.linkType());
        };
    }

    private static int u16(byte[] d, int at) {
        return (d[at] & 0xff) << 8 | d[at + 1] & 0xff;
    }

}
