package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.host.IpAddress;
import org.junit.jupiter.api.Test;

/**
 * The ftp helper's command parser (nf_conntrack_ftp.c find_pattern and its number readers), table-driven: what
 * each text in each direction gives: a command (address, port, where the text to rewrite is), nothing, or
 * "partial" (the kernel drops the packet). The odd cases are the kernel's: a second space, a missing '\r', five
 * numbers or a port of 0 make a segment that starts like a command partial; numbers above 255 overflow into the
 * neighbouring byte.
 */
class FtpCommandTest {
    static final int NONE = 0;
    static final int PARTIAL = -1;
    static final int FOUND = 1;

    record Case(String name, int dir, Family family, String text, int result, String address, int port, int offset,
            int length) {
    }

    static Case found(String name, int dir, Family f, String text, String address, int port, int offset, int length) {
        return new Case(name, dir, f, text, FOUND, address, port, offset, length);
    }

    static Case not(String name, int dir, Family f, String text, int result) {
        return new Case(name, dir, f, text, result, null, 0, 0, 0);
    }

    static final Family V4 = Family.IPV4;
    static final Family V6 = Family.IPV6;

    static final List<Case> CASES = List.of(
            found("PORT", 0, V4, "PORT 10,0,1,2,156,64\r\n", "10.0.1.2", 40000, 5, 15),
            found("port in lower case", 0, V4, "port 10,0,1,2,156,64\r\n", "10.0.1.2", 40000, 5, 15),
            found("PORT with text before the space", 0, V4, "PORTX 10,0,1,2,0,21\r\n", "10.0.1.2", 21, 6, 13),
            found("numbers above 255 overflow", 0, V4, "PORT 300,0,1,2,1,256\r\n", "44.0.1.2", 256, 5, 15),
            not("a second space", 0, V4, "PORT  10,0,1,2,156,64\r\n", PARTIAL),
            not("no carriage return", 0, V4, "PORT 10,0,1,2,156,64\n", PARTIAL),
            not("five numbers", 0, V4, "PORT 10,0,1,2,156\r\n", PARTIAL),
            not("seven numbers", 0, V4, "PORT 10,0,1,2,156,64,1\r\n", PARTIAL),
            not("no space at all", 0, V4, "PORT10,0,1,2,156,64\r\n", PARTIAL),
            not("cut after the keyword", 0, V4, "PORT", PARTIAL),
            not("cut inside the keyword", 0, V4, "PO", PARTIAL),
            not("another command", 0, V4, "USER anonymous\r\n", NONE),
            not("a reply code in the original direction", 0, V4, "227 (10,0,1,2,1,1)\r\n", NONE),
            found("EPRT IPv4", 0, V4, "EPRT |1|10.0.1.2|40000|\r\n", "10.0.1.2", 40000, 5, 18),
            found("EPRT with another delimiter", 0, V4, "EPRT !1!10.0.1.2!21!\r\n", "10.0.1.2", 21, 5, 15),
            found("EPRT IPv6", 0, V6, "EPRT |2|fd01::2|40100|\r\n", "fd01::2", 40100, 5, 17),
            found("EPRT IPv6 with an IPv4 tail", 0, V6, "EPRT |2|::ffff:10.0.0.1|21|\r\n", "::ffff:10.0.0.1", 21, 5,
                    22),
            not("EPRT of the other family", 0, V4, "EPRT |2|fd01::2|40100|\r\n", PARTIAL),
            not("EPRT with a digit as delimiter", 0, V4, "EPRT 111.0.0.1121\r\n", PARTIAL),
            not("EPRT to port 0", 0, V4, "EPRT |1|10.0.1.2|0|\r\n", PARTIAL),
            not("EPRT with a bad IPv6 address", 0, V6, "EPRT |2|fd01:::2|21|\r\n", PARTIAL),
            found("227 with parentheses", 1, V4, "227 Entering Passive Mode (10,0,2,2,195,80).\r\n", "10.0.2.2",
                    50000, 27, 15),
            found("227 without parentheses (RFC 1123)", 1, V4, "227 Entering Passive Mode 10,0,2,2,195,80\r\n",
                    "10.0.2.2", 50000, 26, 15),
            not("227 without numbers", 1, V4, "227 ok\r\n", PARTIAL),
            not("227 whose numbers end the segment", 1, V4, "227 =10,0,2,2,195,80", PARTIAL),
            found("229", 1, V4, "229 Entering Extended Passive Mode (|||50001|)\r\n", null, 50001, 36, 9),
            found("229 with another delimiter", 1, V6, "229 (!!!21!)\r\n", null, 21, 5, 6),
            not("229 to port 0", 1, V4, "229 (|||0|)\r\n", PARTIAL),
            not("229 without its parenthesis", 1, V4, "229 |||50001|\r\n", PARTIAL),
            not("another reply", 1, V4, "230 Logged in\r\n", NONE),
            not("a command in the reply direction", 1, V4, "PORT 10,0,1,2,156,64\r\n", NONE),
            not("a short reply", 1, V4, "22", PARTIAL));

    @Test
    void commandsAreFoundWhereTheKernelFindsThem() {
        for (Case c : CASES) {
            byte[] bytes = c.text().getBytes(StandardCharsets.ISO_8859_1);
            FtpHelper.Command cmd = new FtpHelper.Command(c.family(), 7, 7);
            FtpHelper.Text data = new FtpHelper.Text(MemorySegment.ofArray(bytes), 0, bytes.length);
            int r = FtpHelper.find(data, c.dir(), cmd);
            assertThat(r).as(c.name()).isEqualTo(c.result());
            if (r != FOUND) {
                continue;
            }
            assertThat(cmd.port).as(c.name() + ": port").isEqualTo(c.port());
            assertThat(cmd.matchOffset).as(c.name() + ": offset").isEqualTo(c.offset());
            assertThat(cmd.matchLength).as(c.name() + ": length").isEqualTo(c.length());
            if (c.address() == null) {
                // EPSV names no address: the sender's stays
                assertThat(cmd.addrLo).as(c.name()).isEqualTo(7);
            } else {
                IpAddress a = IpAddress.parse(c.address());
                assertThat(new long[] {cmd.addrHi, cmd.addrLo}).as(c.name() + ": address")
                        .containsExactly(a.hi(), a.lo());
            }
        }
    }

    @Test
    void ipv6TextIsReadAsIn6PtonReadsIt() {
        String[][] good = {{"::1", "0", "1"}, {"fd01::2", "fd01000000000000", "2"},
                {"1:2:3:4:5:6:7:8", "0001000200030004", "0005000600070008"}, {"::", "0", "0"},
                {"::ffff:10.0.0.1", "0", "0000ffff0a000001"}, {"fd01::", "fd01000000000000", "0"}};
        for (String[] g : good) {
            long[] out = new long[2];
            assertThat(FtpHelper.parseIpv6(g[0], out)).as(g[0]).isTrue();
            assertThat(out).as(g[0]).containsExactly(Long.parseUnsignedLong(g[1], 16), Long.parseUnsignedLong(g[2], 16));
        }
        for (String bad : new String[] {"1:::2", "12345::", ":1::2", "1:2:3:4:5:6:7", "1::2::3", "1:2:3:4:5:6:7:8:9",
                "g::1", "::1.2.3"}) {
            assertThat(FtpHelper.parseIpv6(bad, new long[2])).as(bad).isFalse();
        }
    }
}
