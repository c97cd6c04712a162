package org.jnetfilter.core.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * Frames captured with tcpdump on lo inside a scratch network namespace (Linux 6.x, Python
 * sockets). On lo, TCP and UDP leave with CHECKSUM_PARTIAL, so their captured checksum fields
 * hold only the pseudo-header sum; the expected full values are the ones tcpdump computed
 * ("cksum 0xfe30 (incorrect -> 0xaee6)"). IPv4 header, ICMP and ICMPv6 checksums are complete.
 */
class LinuxCapturesTest {
    /** 127.0.0.1.34766 > 127.0.0.1.5555: Flags [S], seq 2053087702, win 65495,
     *  options [mss 65495,sackOK,TS val 567592332 ecr 0,nop,wscale 10]. */
    static final String SYN = "000000000000 000000000000 0800"
            + "4500003cd5ec4000400666cd7f0000017f000001"
            + "87ce15b37a5fa1d600000000a002ffd7fe300000 0204ffd7 0402 080a21d4c58c00000000 01 03030a";
    /** 127.0.0.1 > 127.0.0.1: ICMP echo request, id 26702, seq 1, length 16. */
    static final String ICMP_ECHO = "000000000000 000000000000 0800"
            + "4500002416e84000400125ef7f0000017f000001 0800fe1a684e0001 6162636465666768";
    /** ::1 > ::1: ICMP6 echo request, id 26703, seq 1, flowlabel 0x8d47d, hlim 64. */
    static final String ICMP6_ECHO = "000000000000 000000000000 86dd"
            + "6008d47d00103a40 00000000000000000000000000000001 00000000000000000000000000000001"
            + "800085cd684f0001 6162636465666768";
    /** 127.0.0.1.52944 > 127.0.0.1.53: UDP "jnetfilter", correct checksum 0x2a8f. */
    static final String UDP4 = "000000000000 000000000000 0800"
            + "450000269f6c400040119d587f0000017f000001 ced000350012fe25 6a6e657466696c746572";
    /** ::1.55250 > ::1.53: UDP "jnetfilter", correct checksum 0x1f8e. */
    static final String UDP6 = "000000000000 000000000000 86dd"
            + "600c519100121140 00000000000000000000000000000001 00000000000000000000000000000001"
            + "d7d2003500120025 6a6e657466696c746572";
    /** ICMP port unreachable (tos 0xc0) quoting the UDP4 datagram above. */
    static final String ICMP_PORT_UNREACHABLE = "000000000000 000000000000 0800"
            + "45c0004217020000400164f77f0000017f000001 0303278c00000000"
            + "450000269f6c400040119d587f0000017f000001 ced000350012fe25 6a6e657466696c746572";

    private static final int LOCALHOST = Bytes.ip(127, 0, 0, 1);
    private static final int ETH = EthernetHeader.LENGTH;

    private final EthernetHeader eth = new EthernetHeader();
    private final Ipv4Header ip = new Ipv4Header();
    private final Ipv6Header ip6 = new Ipv6Header();
    private final TcpHeader tcp = new TcpHeader();
    private final UdpHeader udp = new UdpHeader();
    private final IcmpHeader icmp = new IcmpHeader();
    private final Icmpv6Header icmp6 = new Icmpv6Header();
    private final IpReceive receive = new IpReceive();

    @Test
    void linuxSynCarriesMssSackPermittedTimestampsAndWindowScale() {
        MemorySegment frame = Bytes.hex(SYN);
        eth.wrap(frame, 0);
        assertThat(eth.destination()).isZero();
        assertThat(eth.etherType()).isEqualTo(EthernetHeader.ETH_P_IP);
        assertThat(eth.headerLength((int) frame.byteSize())).isEqualTo(ETH);

        assertThat(receive.ipv4(frame, ETH, frame.byteSize() - ETH)).isEqualTo(ReceiveResult.OK);
        assertThat(receive.length()).isEqualTo(60);
        ip.wrap(frame, ETH);
        assertThat(ip.version()).isEqualTo(4);
        assertThat(ip.headerLength()).isEqualTo(20);
        assertThat(ip.totalLength()).isEqualTo(60);
        assertThat(ip.identification()).isEqualTo(0xd5ec);
        assertThat(ip.dontFragment()).isTrue();
        assertThat(ip.isFragment()).isFalse();
        assertThat(ip.ttl()).isEqualTo(64);
        assertThat(ip.protocol()).isEqualTo(Checksums.PROTO_TCP);
        assertThat(ip.checksum()).isEqualTo(0x66cd);
        assertThat(ip.checksumValid()).isTrue();
        assertThat(ip.source()).isEqualTo(LOCALHOST);
        assertThat(ip.firstOption()).isEqualTo(Ipv4Header.END);

        tcp.wrap(frame, ETH + 20);
        assertThat(tcp.sourcePort()).isEqualTo(34766);
        assertThat(tcp.destinationPort()).isEqualTo(5555);
        assertThat(tcp.sequence()).isEqualTo(2053087702L);
        assertThat(tcp.acknowledgment()).isZero();
        assertThat(tcp.headerLength()).isEqualTo(40);
        assertThat(tcp.flags()).isEqualTo(TcpHeader.SYN);
        assertThat(tcp.window()).isEqualTo(65495);
        assertThat(tcp.mss()).isEqualTo(65495);
        assertThat(tcp.sackPermitted()).isTrue();
        int ts = tcp.timestampOption();
        assertThat(tcp.tsVal(ts)).isEqualTo(567592332L);
        assertThat(tcp.tsEcr(ts)).isZero();
        assertThat(tcp.windowScale()).isEqualTo(10);
        assertThat(tcp.sackOption()).isEqualTo(-1);

        assertThat(tcp.checksum()).as("CHECKSUM_PARTIAL on lo").isEqualTo(0xfe30);
        assertThat(Checksums.tcpV4(frame, ETH + 20, 40, LOCALHOST, LOCALHOST)).isEqualTo(0xaee6);
        assertThat(Checksums.tcpV4Valid(frame, ETH + 20, 40, LOCALHOST, LOCALHOST)).isFalse();
        tcp.checksum(0xaee6);
        assertThat(Checksums.tcpV4Valid(frame, ETH + 20, 40, LOCALHOST, LOCALHOST)).isTrue();
    }

    @Test
    void tcpOptionsWalkInWireOrder() {
        MemorySegment frame = Bytes.hex(SYN);
        tcp.wrap(frame, ETH + 20);
        StringBuilder seen = new StringBuilder();
        int at = tcp.firstOption();
        for (; at >= 0; at = tcp.nextOption(at)) {
            seen.append(tcp.optionType(at)).append('/').append(tcp.optionLength(at)).append(' ');
        }
        assertThat(seen.toString().trim()).isEqualTo("2/4 4/2 8/10 1/1 3/3");
        assertThat(at).isEqualTo(TcpHeader.END);
    }

    @Test
    void icmpEchoRequestFromAPingSocketVerifies() {
        MemorySegment frame = Bytes.hex(ICMP_ECHO);
        assertThat(receive.ipv4(frame, ETH, frame.byteSize() - ETH)).isEqualTo(ReceiveResult.OK);
        icmp.wrap(frame, ETH + 20);
        assertThat(icmp.type()).isEqualTo(IcmpHeader.ECHO_REQUEST);
        assertThat(icmp.code()).isZero();
        assertThat(icmp.identifier()).isEqualTo(26702);
        assertThat(icmp.sequence()).isEqualTo(1);
        assertThat(IcmpHeader.isError(icmp.type())).isFalse();
        assertThat(Checksums.icmpValid(frame, ETH + 20, 16)).isTrue();
        assertThat(Checksums.icmp(frame, ETH + 20, 16)).isEqualTo(0xfe1a);
    }

    @Test
    void icmpErrorQuotesTheOffendingDatagram() {
        MemorySegment frame = Bytes.hex(ICMP_PORT_UNREACHABLE);
        assertThat(receive.ipv4(frame, ETH, frame.byteSize() - ETH)).isEqualTo(ReceiveResult.OK);
        ip.wrap(frame, ETH);
        assertThat(ip.dscp()).isEqualTo(48);
        assertThat(ip.ecn()).isZero();
        icmp.wrap(frame, ETH + 20);
        assertThat(icmp.type()).isEqualTo(IcmpHeader.DEST_UNREACH);
        assertThat(icmp.code()).isEqualTo(3);
        assertThat(IcmpHeader.isError(icmp.type())).isTrue();
        assertThat(Checksums.icmpValid(frame, ETH + 20, 46)).isTrue();
        Ipv4Header inner = new Ipv4Header().wrap(frame, ETH + 20 + IcmpHeader.ERROR_PAYLOAD);
        assertThat(inner.protocol()).isEqualTo(Checksums.PROTO_UDP);
        assertThat(inner.checksumValid()).isTrue();
        udp.wrap(frame, ETH + 20 + 8 + 20);
        assertThat(udp.sourcePort()).isEqualTo(52944);
        assertThat(udp.destinationPort()).isEqualTo(53);
    }

    @Test
    void icmpv6EchoVerifiesOverTheIpv6PseudoHeader() {
        MemorySegment frame = Bytes.hex(ICMP6_ECHO);
        assertThat(receive.ipv6(frame, ETH, frame.byteSize() - ETH, true)).isEqualTo(ReceiveResult.OK);
        assertThat(receive.length()).isEqualTo(56);
        ip6.wrap(frame, ETH);
        assertThat(ip6.version()).isEqualTo(6);
        assertThat(ip6.trafficClass()).isZero();
        assertThat(ip6.flowLabel()).isEqualTo(0x8d47d);
        assertThat(ip6.payloadLength()).isEqualTo(16);
        assertThat(ip6.nextHeader()).isEqualTo(Ipv6Header.NEXTHDR_ICMP);
        assertThat(ip6.hopLimit()).isEqualTo(64);
        assertThat(Ipv6Header.isLoopback(ip6.sourceHigh(), ip6.sourceLow())).isTrue();
        icmp6.wrap(frame, ETH + 40);
        assertThat(icmp6.type()).isEqualTo(Icmpv6Header.ECHO_REQUEST);
        assertThat(icmp6.identifier()).isEqualTo(26703);
        assertThat(Checksums.icmpv6Valid(frame, ETH, ETH + 40, 16)).isTrue();
        assertThat(Checksums.icmpv6(frame, ETH, ETH + 40, 16)).isEqualTo(0x85cd);
    }

    @Test
    void loopbackAddressesAreDroppedWhenNotReceivedOnLo() {
        MemorySegment frame = Bytes.hex(ICMP6_ECHO);
        assertThat(receive.ipv6(frame, ETH, frame.byteSize() - ETH, false))
                .isEqualTo(ReceiveResult.IPV6_LOOPBACK_ADDRESS);
    }

    @Test
    void udpChecksumsMatchWhatTcpdumpComputed() {
        MemorySegment v4 = Bytes.hex(UDP4);
        udp.wrap(v4, ETH + 20);
        assertThat(udp.length()).isEqualTo(18);
        assertThat(Checksums.udpV4(v4, ETH + 20, 18, LOCALHOST, LOCALHOST)).isEqualTo(0x2a8f);

        MemorySegment v6 = Bytes.hex(UDP6);
        udp.wrap(v6, ETH + 40);
        assertThat(udp.sourcePort()).isEqualTo(55250);
        assertThat(Checksums.udpV6(v6, ETH, ETH + 40, 18)).isEqualTo(0x1f8e);
        udp.checksum(0x1f8e);
        assertThat(Checksums.udpV6Valid(v6, ETH, ETH + 40, 18)).isTrue();
    }
}
