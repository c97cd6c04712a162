package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;
import org.junit.jupiter.api.Test;

/** osf (xt_osf, nfnetlink_osf) with no fingerprints loaded, as every Linux host has it until nfnl_osf runs. */
class OsfSemanticsTest {
    static final IpSpec TCP = IpSpec.any(Family.IPV4).withProtocol(Protocols.TCP);

    /** The SYN Linux 6.18 logged (recorded with dmesg): 10.98.0.2:60034 -> 10.98.0.1:80 on oo0. */
    static PacketContext syn(int flags) {
        ByteBuffer b = ByteBuffer.allocate(14 + 60);
        b.put(HexFormat.of().parseHex("d2298ed6909d2a252697f6620800"));
        b.put((byte) 0x45).put((byte) 0).putShort((short) 60).putShort((short) 58906).putShort((short) 0x4000)
                .put((byte) 64).put((byte) 6).putShort((short) 0).putInt(0x0A620002).putInt(0x0A620001);
        b.putShort((short) 60034).putShort((short) 80).putInt((int) 3825356091L).putInt(0).put((byte) 0xA0)
                .put((byte) flags).putShort((short) 64240).putShort((short) 0).putShort((short) 0);
        b.put(HexFormat.of().parseHex("020405B40402080AC28CD260000000000103030A"));
        return new PacketContext().ipv4(MemorySegment.ofArray(b.array()), 14).macSource(0x2a252697f662L)
                .inInterface("oo0").hook(org.jnetfilter.core.rules.Hook.PREROUTING);
    }

    static ExtensionData osf(String... words) {
        return Fixtures.parse(org.jnetfilter.core.ext.Extensions.standard().match("osf", Family.IPV4), Family.IPV4,
                TCP, words);
    }

    @Test
    void nothingMatchesInvertedOrNot() {
        assertThat(osf("--genre", "Linux").matches(syn(0x02))).isFalse();
        assertThat(osf("!", "--genre", "Linux").matches(syn(0x02))).isFalse();
        assertThat(osf("--genre", "Windows", "--ttl", "2").matches(syn(0x12))).isFalse();
    }

    @Test
    void withLogEverySynIsLoggedAsAnUnknownOs() {
        List<String> lines = new ArrayList<>();
        PacketContext p = syn(0x02).logSink((level, line) -> lines.add(level + " " + line));
        assertThat(osf("--genre", "Linux", "--log", "0").matches(p)).isFalse();
        assertThat(osf("--genre", "Linux", "--log", "2").matches(p)).isFalse();
        String kernel = "5 Remote OS is not known: 10.98.0.2:60034 -> 10.98.0.1:80\n"
                + "IN=oo0 OUT= MAC=d2:29:8e:d6:90:9d:2a:25:26:97:f6:62:08:00 SRC=10.98.0.2 DST=10.98.0.1 LEN=60 "
                + "TOS=0x00 PREC=0x00 TTL=64 ID=58906 DF PROTO=TCP SPT=60034 DPT=80 SEQ=3825356091 ACK=0 WINDOW=64240 "
                + "RES=0x00 SYN URGP=0 OPT (020405B40402080AC28CD260000000000103030A) ";
        assertThat(lines).containsExactly(kernel, kernel);
        // not a SYN: nf_osf_hdr_ctx_init gives up before logging
        lines.clear();
        PacketContext ack = syn(0x10).logSink((level, line) -> lines.add(line));
        osf("--genre", "Linux", "--log", "1").matches(ack);
        assertThat(lines).isEmpty();
    }
}
