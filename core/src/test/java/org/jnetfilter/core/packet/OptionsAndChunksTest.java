package org.jnetfilter.core.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Cursor walks over IPv4 options, TCP options and SCTP chunks; Ethernet VLAN tags; ARP. */
class OptionsAndChunksTest {
    private final Ipv4Header ip = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private final SctpHeader sctp = new SctpHeader();

    private static final String TCP_FIXED = "04d20050 00000001 00000000";

    private TcpHeader tcpWithOptions(String options) {
        String opts = options.replaceAll("\\s+", "");
        int words = 5 + opts.length() / 8;
        return tcp.wrap(Bytes.at(1, TCP_FIXED + String.format("%x002ffff", words) + "00000000" + opts), 1);
    }

    @Test
    void ipv4OptionsAreWalkedUpToEndOfOptionList() {
        // NOP, Router Alert (4 bytes), Record Route (7 bytes, one slot), EOL.
        ip.wrap(Bytes.hex("48000028000000004006000001020304050607 08"
                + "01 94040000 070704000000 00"), 0);
        StringBuilder seen = new StringBuilder();
        for (int at = ip.firstOption(); at >= 0; at = ip.nextOption(at)) {
            seen.append(ip.optionType(at)).append('@').append(at).append(' ');
        }
        assertThat(seen.toString()).isEqualTo("1@20 148@21 7@25 ");
        assertThat(ip.findOption(Ipv4Header.OPT_RA)).isEqualTo(21);
        assertThat(ip.findOption(Ipv4Header.OPT_LSRR)).isEqualTo(Ipv4Header.END);
    }

    @Test
    void ipv4OptionWithALengthBelowTwoOrPastTheHeaderIsMalformed() {
        ip.wrap(Bytes.hex("46000018000000004006000001020304050607 08 07010000"), 0);
        assertThat(ip.firstOption()).isEqualTo(Ipv4Header.MALFORMED);
        ip.wrap(Bytes.hex("46000018000000004006000001020304050607 08 01 070800"), 0);
        assertThat(ip.nextOption(ip.firstOption())).isEqualTo(Ipv4Header.MALFORMED);
        ip.wrap(Bytes.hex("46000018000000004006000001020304050607 08 010101 07"), 0);
        assertThat(ip.findOption(7)).as("type without a length byte").isEqualTo(Ipv4Header.MALFORMED);
    }

    @Test
    void tcpSackBlocksAreReadFromASackOption() {
        tcpWithOptions("0101 050a 00000064 000000c8 00000000");
        int at = tcp.sackOption();
        assertThat(at).isEqualTo(22);
        assertThat(tcp.sackBlockCount(at)).isEqualTo(1);
        assertThat(tcp.sackLeft(at, 0)).isEqualTo(100);
        assertThat(tcp.sackRight(at, 0)).isEqualTo(200);
        assertThat(tcp.mss()).isEqualTo(-1);
        assertThat(tcp.timestampOption()).isEqualTo(-1);
    }

    @Test
    void tcpOptionsWithTheWrongLengthAreIgnoredLikeLinuxDoes() {
        // MSS with length 3 is not an MSS; window scale 15 is clamped to 14.
        tcpWithOptions("0203ff 030 30f 00 000000");
        assertThat(tcp.mss()).isEqualTo(-1);
        assertThat(tcp.windowScale()).isEqualTo(15);
        assertThat(tcp.effectiveWindowScale()).isEqualTo(TcpHeader.MAX_WSCALE);
    }

    @Test
    void tcpOptionWalkStopsAtSillyOrPartialOptions() {
        tcpWithOptions("0101 0801 00000000");
        assertThat(tcp.nextOption(tcp.nextOption(tcp.firstOption()))).isEqualTo(TcpHeader.MALFORMED);
        tcpWithOptions("01 0204 05b4 080a 00");
        assertThat(tcp.mss()).isEqualTo(1460);
        assertThat(tcp.timestampOption()).as("timestamps cut by the data offset").isEqualTo(-1);
    }

    @Test
    void mssCanBeRewrittenInPlaceAsTcpmssDoes() {
        tcpWithOptions("020405b4 01030307");
        int old = tcp.mss();
        assertThat(tcp.mss(1400)).isTrue();
        assertThat(tcp.mss()).isEqualTo(1400);
        assertThat(old).isEqualTo(1460);
        tcpWithOptions("01010101");
        assertThat(tcp.mss(1400)).isFalse();
    }

    @Test
    void tcpOptionWalkOverRandomBytesNeverThrows() {
        SplittableRandom rnd = new SplittableRandom(7323);
        byte[] b = new byte[60];
        for (int round = 0; round < 10_000; round++) {
            rnd.nextBytes(b);
            tcp.wrap(MemorySegment.ofArray(b), 0);
            int steps = 0;
            int at = tcp.firstOption();
            for (; at >= 0; at = tcp.nextOption(at)) {
                assertThat(at).isBetween(TcpHeader.OPTIONS, tcp.headerLength() - 1);
                steps++;
            }
            assertThat(steps).isLessThanOrEqualTo(40);
            tcp.mss();
            tcp.sackPermitted();
            tcp.sackOption();
            ip.wrap(MemorySegment.ofArray(b), 0);
            for (at = ip.firstOption(); at >= 0; at = ip.nextOption(at)) {
                assertThat(at).isBetween(Ipv4Header.OPTIONS, ip.headerLength() - 1);
            }
        }
    }

    @Test
    void sctpChunksAreWalkedWithTheirPadding() {
        // DATA chunk of 17 bytes (padded to 20), then a COOKIE_ACK chunk of 4.
        MemorySegment s = Bytes.hex("13880050 00000001 00000000"
                + "00030011 00000001 00000000 00000000 41000000"
                + "0b000004");
        sctp.wrap(s, 0);
        int first = sctp.firstChunk(36);
        assertThat(first).isEqualTo(12);
        assertThat(sctp.chunkType(first)).isEqualTo(SctpHeader.DATA);
        assertThat(sctp.chunkFlags(first)).isEqualTo(3);
        assertThat(sctp.chunkLength(first)).isEqualTo(17);
        int second = sctp.nextChunk(first, 36);
        assertThat(second).isEqualTo(32);
        assertThat(sctp.chunkType(second)).isEqualTo(SctpHeader.COOKIE_ACK);
        assertThat(sctp.nextChunk(second, 36)).isEqualTo(SctpHeader.END);
    }

    @Test
    void sctpChunkShorterThanItsHeaderOrPastThePacketIsMalformed() {
        sctp.wrap(Bytes.hex("13880050 00000001 00000000 01000002"), 0);
        assertThat(sctp.firstChunk(16)).isEqualTo(SctpHeader.MALFORMED);
        sctp.wrap(Bytes.hex("13880050 00000001 00000000 01000020 00000000"), 0);
        assertThat(sctp.firstChunk(20)).isEqualTo(SctpHeader.MALFORMED);
        sctp.wrap(Bytes.hex("13880050 00000001 00000000 0100"), 0);
        assertThat(sctp.firstChunk(14)).isEqualTo(SctpHeader.MALFORMED);
        assertThat(sctp.firstChunk(12)).as("no chunks at all").isEqualTo(SctpHeader.END);
    }

    @Test
    void vlanTagsAreSkippedToFindThePayloadType() {
        EthernetHeader eth = new EthernetHeader().wrap(Bytes.hex("ffffffffffff 020000000001 88a8 0064 8100 a00a 86dd"
                + "60000000"), 0);
        assertThat(eth.vlanTagged()).isTrue();
        assertThat(eth.vlanId()).isEqualTo(100);
        assertThat(eth.headerLength(26)).isEqualTo(22);
        assertThat(eth.payloadType(26)).isEqualTo(EthernetHeader.ETH_P_IPV6);
        assertThat(eth.headerLength(20)).as("a tag cut short is not followed").isEqualTo(18);
        assertThat(EthernetHeader.isMulticast(eth.destination())).isTrue();
        assertThat(EthernetHeader.isMulticast(eth.source())).isFalse();
        EthernetHeader inner = new EthernetHeader().wrap(eth.segment(), 4);
        assertThat(inner.vlanPriority()).isEqualTo(5);
        assertThat(inner.vlanId()).isEqualTo(10);
    }

    @Test
    void arpRequestForAnIpv4Address() {
        // who-has 192.0.2.1 tell 192.0.2.2 from 02:00:00:00:00:02
        ArpHeader arp = new ArpHeader().wrap(Bytes.hex("0001 0800 06 04 0001 020000000002 c0000202"
                + "000000000000 c0000201"), 0);
        assertThat(arp.isEthernetIpv4()).isTrue();
        assertThat(arp.length()).isEqualTo(ArpHeader.ETHERNET_IPV4_LENGTH);
        assertThat(arp.operation()).isEqualTo(ArpHeader.OP_REQUEST);
        assertThat(arp.senderMac()).isEqualTo(0x0200_0000_0002L);
        assertThat(arp.senderIp()).isEqualTo(Bytes.ip(192, 0, 2, 2));
        assertThat(arp.targetIp()).isEqualTo(Bytes.ip(192, 0, 2, 1));
    }
}
