package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.SemanticsPackets.bytes;
import static org.jnetfilter.core.netfilter.SemanticsPackets.concat;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ipv4;
import static org.jnetfilter.core.netfilter.SemanticsPackets.ipv6;
import static org.jnetfilter.core.netfilter.SemanticsPackets.load;
import static org.jnetfilter.core.netfilter.SemanticsPackets.loadTruncated;
import static org.jnetfilter.core.netfilter.SemanticsPackets.match;
import static org.jnetfilter.core.netfilter.SemanticsPackets.zeros;

import java.lang.foreign.MemorySegment;
import java.util.stream.Stream;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Protocols;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** sctp (ports, chunk types and flags; xt_sctp.c) and dccp (ports, types, options; xt_dccp.c). */
class TransportChunkSemanticsTest {
    static final Family V4 = Family.IPV4;
    static final Family V6 = Family.IPV6;
    static final int SCTP = Protocols.SCTP;
    static final int DCCP = Protocols.DCCP;

    // Linux: SCTP chunk ids; DATA flags E 0x01, B 0x02, U 0x04, I 0x08
    static final int DATA = 0;
    static final int INIT = 1;
    static final int SACK = 3;
    static final int ABORT = 6;

    /** An SCTP chunk: type, flags, length (header + body), body padded to 4 bytes. */
    static byte[] chunk(int type, int flags, int bodyLength) {
        int length = 4 + bodyLength;
        return concat(bytes(type, flags, length >> 8, length), zeros(((length + 3) & ~3) - 4));
    }

    static byte[] sctp(int sport, int dport, byte[]... chunks) {
        return concat(bytes(sport >> 8, sport, dport >> 8, dport, 1, 2, 3, 4, 0, 0, 0, 0), concat(chunks));
    }

    static byte[] sctp(byte[]... chunks) {
        return sctp(5000, 80, chunks);
    }

    static ExtensionData sctpMatch(String... words) {
        return match(V4, SCTP, "sctp", words);
    }

    // Linux: enum dccp_pkt_type
    static final int REQUEST = 0;
    static final int DATA_DCCP = 2;
    static final int ACK = 3;
    static final int RESET = 7;

    /**
     * A DCCP packet: generic header (12 bytes, 16 with X), {@code specific} type-specific bytes, options
     * padded to 4 bytes; Data Offset covers all of them unless {@code doffWords} is given (>= 0).
     */
    static byte[] dccp(int type, boolean x, int specific, int doffWords, int... options) {
        int header = 12 + (x ? 4 : 0) + specific;
        int optionsLength = (options.length + 3) & ~3;
        byte[] b = new byte[header + optionsLength + 4];
        b[0] = (byte) (40000 >> 8);
        b[1] = (byte) 40000;
        b[3] = 80;
        b[4] = (byte) (doffWords >= 0 ? doffWords : (header + optionsLength) / 4);
        b[8] = (byte) (type << 1 | (x ? 1 : 0));
        for (int i = 0; i < options.length; i++) {
            b[header + i] = (byte) options[i];
        }
        return b;
    }

    static ExtensionData dccpMatch(String... words) {
        return match(V4, DCCP, "dccp", words);
    }

    static Arguments c(String name, ExtensionData d, MemorySegment s, int length, boolean expected, boolean hotdrop) {
        return Arguments.of(name, d, s, length, expected, hotdrop);
    }

    static Arguments c(String name, ExtensionData d, MemorySegment s, boolean expected) {
        return c(name, d, s, -1, expected, false);
    }

    static Stream<Arguments> cases() {
        MemorySegment init = ipv4(SCTP, sctp(chunk(INIT, 0, 16)));
        MemorySegment dataSack = ipv4(SCTP, sctp(chunk(DATA, 0x03, 5), chunk(SACK, 0, 12)));
        MemorySegment dataData = ipv4(SCTP, sctp(chunk(DATA, 0x02, 8), chunk(DATA, 0x01, 8)));
        MemorySegment request = ipv4(DCCP, dccp(REQUEST, true, 4, -1, 32, 3, 9, 0));
        return Stream.of(
                // sctp ports
                c("sctp dport", sctpMatch("--dport", "80"), init, true),
                c("sctp sport range", sctpMatch("--sport", "4000:5000"), init, true),
                c("sctp ! dport", sctpMatch("!", "--dport", "80"), init, false),
                c("sctp IPv6 dport", match(V6, SCTP, "sctp", "--dport", "80"), ipv6(SCTP, sctp(chunk(INIT, 0, 16))),
                        true),
                // chunk types
                c("sctp any INIT", sctpMatch("--chunk-types", "any", "INIT"), init, true),
                c("sctp any DATA on INIT", sctpMatch("--chunk-types", "any", "DATA"), init, false),
                c("sctp ! any DATA on INIT", sctpMatch("!", "--chunk-types", "any", "DATA"), init, true),
                c("sctp any SACK after a padded DATA", sctpMatch("--chunk-types", "any", "SACK"), dataSack, true),
                c("sctp all DATA,SACK", sctpMatch("--chunk-types", "all", "DATA,SACK"), dataSack, true),
                c("sctp all DATA,SACK,ABORT", sctpMatch("--chunk-types", "all", "DATA,SACK,ABORT"), dataSack, false),
                c("sctp only DATA", sctpMatch("--chunk-types", "only", "DATA"), dataData, true),
                c("sctp only DATA with a SACK", sctpMatch("--chunk-types", "only", "DATA"), dataSack, false),
                c("sctp any DATA:E (E set)", sctpMatch("--chunk-types", "any", "DATA:E"), dataSack, true),
                c("sctp any DATA:e (E clear)", sctpMatch("--chunk-types", "any", "DATA:e"), dataSack, false),
                c("sctp any DATA:E, second chunk", sctpMatch("--chunk-types", "any", "DATA:E"), dataData, true),
                c("sctp all DATA:B,SACK: B set", sctpMatch("--chunk-types", "all", "DATA:B,SACK"), dataSack, true),
                c("sctp only DATA:B: second lacks B", sctpMatch("--chunk-types", "only", "DATA:B"), dataData, false),
                c("sctp zero chunk length drops", sctpMatch("--chunk-types", "any", "SACK"),
                        ipv4(SCTP, sctp(bytes(DATA, 0, 0, 0), chunk(SACK, 0, 12))), 0, false, true),
                c("sctp chunk header cut short drops", sctpMatch("--chunk-types", "any", "SACK"), dataSack, 46,
                        false, true),
                c("sctp common header cut short drops", sctpMatch("--dport", "80"), init, 31, false, true),
                c("sctp non-first fragment", sctpMatch("--dport", "80"), ipv4(0, SCTP, 0x0004, sctp(chunk(INIT, 0, 16))),
                        false),
                // dccp
                c("dccp dport", dccpMatch("--dport", "80"), request, true),
                c("dccp ! sport", dccpMatch("!", "--sport", "40000"), request, false),
                c("dccp type REQUEST", dccpMatch("--dccp-types", "REQUEST"), request, true),
                c("dccp types DATA,ACK on REQUEST", dccpMatch("--dccp-types", "DATA,ACK"), request, false),
                c("dccp ! types DATA,ACK", dccpMatch("!", "--dccp-types", "DATA,ACK"), request, true),
                c("dccp type INVALID (12)", dccpMatch("--dccp-types", "INVALID"), ipv4(DCCP, dccp(12, false, 12, -1)),
                        true),
                c("dccp option 32", dccpMatch("--dccp-option", "32"), request, true),
                c("dccp option 9 is a value byte, not an option", dccpMatch("--dccp-option", "9"), request, false),
                c("dccp ! option 33", dccpMatch("!", "--dccp-option", "33"), request, true),
                c("dccp option after the ACK part", dccpMatch("--dccp-option", "2"),
                        ipv4(DCCP, dccp(ACK, false, 8, -1, 1, 2)), true),
                c("dccp option on DATA (no type part)", dccpMatch("--dccp-option", "1"),
                        ipv4(DCCP, dccp(DATA_DCCP, false, 0, -1, 1)), true),
                c("dccp no options", dccpMatch("--dccp-option", "1"), ipv4(DCCP, dccp(RESET, false, 12, -1)), false),
                c("dccp data offset below the header drops", dccpMatch("--dccp-option", "1"),
                        ipv4(DCCP, dccp(REQUEST, true, 4, 4)), 0, false, true),
                c("dccp options cut short drop", dccpMatch("--dccp-option", "32"), request, 41, false, true),
                c("dccp generic header cut short drops", dccpMatch("--dport", "80"), request, 31, false, true),
                c("dccp non-first fragment", dccpMatch("--dport", "80"),
                        ipv4(0, DCCP, 0x0002, dccp(REQUEST, true, 4, -1)), false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesAsTheKernel(String name, ExtensionData d, MemorySegment s, int length, boolean expected,
                            boolean hotdrop) {
        PacketContext pkt = length <= 0 ? load(s) : loadTruncated(s, length);
        assertThat(d.matches(pkt)).isEqualTo(expected);
        assertThat(pkt.hotdrop()).isEqualTo(hotdrop);
    }
}
