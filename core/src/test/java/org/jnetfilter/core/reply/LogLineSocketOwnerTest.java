package org.jnetfilter.core.reply;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.api.Test;

/**
 * LOG --log-uid: the lines Linux 6.18 logged for UDP datagrams a socket of user nobody (65534) sent, with
 * {@code -j LOG --log-uid --log-prefix "extbuid: "} in OUTPUT and mark 7 set in mangle OUTPUT.
 */
class LogLineSocketOwnerTest {
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
}
