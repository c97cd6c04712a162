package org.jnetfilter.core.reply;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.api.Test;

/**
 * LOG's --log-uid and --log-macdecode, the lines Linux 6.18 logged: for UDP datagrams a socket of user nobody
 * (65534) sent, with {@code -j LOG --log-uid --log-prefix "extbuid: "} in OUTPUT and mark 7 set in mangle
 * OUTPUT; for datagrams received on vba with {@code -j LOG --log-macdecode --log-prefix "extbmac: "} in INPUT.
 * (--log-tcp-sequence, --log-tcp-options and --log-ip-options: {@link LogLineKernelGoldenTest}.)
 */
class LogLineFlagsKernelTest {
    private static final HexFormat HEX = HexFormat.of();

    private static PacketContext udp4(long uid, long gid) {
        MemorySegment s = MemorySegment.ofArray(HEX.parseHex("450000203d0840004011000" + "00a0901020a090103a98b1b5a000c0000"
                + "6f757470"));
        new Ipv4Header().wrap(s, 0).updateChecksum();
        return new PacketContext().ipv4(s, 0).hook(Hook.OUTPUT).outInterface("vbc").mark(7).socket(uid, gid);
    }

    @Test
    void uidAndGidOfTheSendingSocketComeBeforeTheMark() {
        assertThat(LogLine.format(udp4(65534, 65534), "extbuid: ", LogLine.UID)).isEqualTo(
                "extbuid: IN= OUT=vbc SRC=10.9.1.2 DST=10.9.1.3 LEN=32 TOS=0x00 PREC=0x00 TTL=64 ID=15624 DF "
                        + "PROTO=UDP SPT=43403 DPT=7002 LEN=12 UID=65534 GID=65534 MARK=0x7 ");
    }

    @Test
    void withoutASocketOrWithoutTheFlagNothingIsPrinted() {
        assertThat(LogLine.format(udp4(-1, -1), "", LogLine.UID)).doesNotContain("UID=").endsWith("LEN=12 MARK=0x7 ");
        assertThat(LogLine.format(udp4(65534, 65534), "", 0)).doesNotContain("UID=");
    }

    @Test
    void ipv6LineHasTheOwnerAfterTheTransportHeader() {
        MemorySegment s = MemorySegment.ofArray(HEX.parseHex("60091a81000c1140fd000000000000000000000000000002"
                + "fd000000000000000000000000000001805c1b5a000c00006f757470"));
        PacketContext pkt = new PacketContext().ipv6(s, 0).hook(Hook.OUTPUT).outInterface("vba").socket(65534, 65534);
        assertThat(LogLine.format(pkt, "extbuid6: ", LogLine.UID)).isEqualTo("extbuid6: IN= OUT=vba "
                + "SRC=fd00:0000:0000:0000:0000:0000:0000:0002 DST=fd00:0000:0000:0000:0000:0000:0000:0001 LEN=52 TC=0 "
                + "HOPLIMIT=64 FLOWLBL=596609 PROTO=UDP SPT=32860 DPT=7002 LEN=12 UID=65534 GID=65534 ");
    }

    /** {@code datagram} behind an Ethernet header from c2:13:62:a6:31:57 to c6:be:a6:f0:f6:aa, received on vba. */
    private static PacketContext received(String datagram, boolean v6) {
        MemorySegment s = MemorySegment.ofArray(HEX.parseHex("c6bea6f0f6aac21362a63157" + (v6 ? "86dd" : "0800")
                + datagram));
        PacketContext pkt = v6 ? new PacketContext().ipv6(s, 14) : new PacketContext().ipv4(s, 14);
        return pkt.hook(Hook.INPUT).inInterface("vba").macSource(0xc21362a63157L);
    }

    @Test
    void macdecodeNamesTheAddressesAndTheProtocol() {
        MemorySegment ip = MemorySegment.ofArray(HEX.parseHex("4500001ec828400040110000" + "0a0900010a090002"
                + "c2d11b62000a00006d34"));
        new Ipv4Header().wrap(ip, 0).updateChecksum();
        assertThat(LogLine.format(received(HEX.formatHex(ip.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)), false),
                "extbmac: ", LogLine.MACDECODE)).isEqualTo("extbmac: IN=vba OUT= MACSRC=c2:13:62:a6:31:57 "
                        + "MACDST=c6:be:a6:f0:f6:aa MACPROTO=0800 SRC=10.9.0.1 DST=10.9.0.2 LEN=30 TOS=0x00 PREC=0x00 "
                        + "TTL=64 ID=51240 DF PROTO=UDP SPT=49873 DPT=7010 LEN=10 ");
        assertThat(LogLine.format(received("600c488a000a1140fd000000000000000000000000000001"
                + "fd000000000000000000000000000002c2c41b63000a00006d36", true), "extbmac6: ", LogLine.MACDECODE))
                .isEqualTo("extbmac6: IN=vba OUT= MACSRC=c2:13:62:a6:31:57 MACDST=c6:be:a6:f0:f6:aa MACPROTO=86dd "
                        + "SRC=fd00:0000:0000:0000:0000:0000:0000:0001 DST=fd00:0000:0000:0000:0000:0000:0000:0002 "
                        + "LEN=50 TC=0 HOPLIMIT=64 FLOWLBL=805002 PROTO=UDP SPT=49860 DPT=7011 LEN=10 ");
    }

    @Test
    void aPacketLoopedBackThroughLoShowsLosZeroHeaderEvenWithMacdecode() throws Exception {
        MemorySegment ip = MemorySegment.ofArray(HEX.parseHex("4500001e1eea400040111de37f0000017f000001db0e1b6c000afe1d6c6f"));
        PacketContext pkt = new PacketContext().ipv4(ip, 0).hook(Hook.INPUT).inInterface("lo")
                .host(org.jnetfilter.core.host.HostFile.parseRunning("h", ""));
        String tail = "IN=lo OUT= MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00 SRC=127.0.0.1 DST=127.0.0.1 LEN=30 "
                + "TOS=0x00 PREC=0x00 TTL=64 ID=7914 DF PROTO=UDP SPT=56078 DPT=7020 LEN=10 ";
        assertThat(LogLine.format(pkt, "extblo: ", 0)).isEqualTo("extblo: " + tail);
        assertThat(LogLine.format(pkt, "extblomd: ", LogLine.MACDECODE)).isEqualTo("extblomd: " + tail);
    }

    @Test
    void ipv6SynWithEveryFlag() {
        String frame = "c6bea6f0f6aac21362a6315786dd6009050600280640fd000000000000000000000000000001fd0000000000000000"
                + "00000000000002875a1bbce38204b400000000a002fd20fa320000020405a00402080a9b627c44000000000103030a";
        MemorySegment s = MemorySegment.ofArray(HEX.parseHex(frame));
        PacketContext pkt = new PacketContext().ipv6(s, 14).hook(Hook.INPUT).inInterface("vba").macSource(0xc21362a63157L);
        assertThat(LogLine.format(pkt, "extb6t: ", LogLine.TCPSEQ | LogLine.TCPOPT | LogLine.IPOPT | LogLine.MACDECODE))
                .isEqualTo("extb6t: IN=vba OUT= MACSRC=c2:13:62:a6:31:57 MACDST=c6:be:a6:f0:f6:aa MACPROTO=86dd "
                        + "SRC=fd00:0000:0000:0000:0000:0000:0000:0001 DST=fd00:0000:0000:0000:0000:0000:0000:0002 "
                        + "LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=591110 PROTO=TCP SPT=34650 DPT=7100 SEQ=3816948916 ACK=0 "
                        + "WINDOW=64800 RES=0x00 SYN URGP=0 OPT (020405A00402080A9B627C44000000000103030A) ");
    }
}
