package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.host.OsfFingerprints;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The osf match with fingerprints loaded, as Linux 6.18 matched on this machine (2026-11-30): {@link #FINGERPRINTS}
 * loaded with {@code nfnl_osf -f}, the {@link #RULES} in mangle PREROUTING of a namespace, each SYN of
 * {@link #probes()} sent from another over a veth pair, the rules whose counters moved recorded
 * ({@code KernelOsfDifferentialTest} repeats it live).
 */
class OsfFingerprintSemanticsTest {
    private static final HexFormat HEX = HexFormat.of();
    /** Shapes no real TCP stack sends: loading them into a kernel changes nothing for other traffic. */
    static final String FINGERPRINTS = """
            # jnetfilter probes: shapes no real stack sends
            31337:77:1:60:M*,S,T,N,W7:JnfA:1:x:jnf probe A
            S7:77:0:44:M*:JnfB:2:y:jnf probe B
            %1009:90:1:40:.:@JnfC:3:z:jnf probe C
            T3:77:0:44:M*:JnfB:4:w:jnf probe D
            31337:77:1:60:M*,S,T,N,W7:JnfE:5:v:jnf probe E
            """;
    /** The osf options of each rule ({@code -p tcp -m osf ...}), in order. */
    static final List<String> RULES = List.of(
            "--genre JnfA", "--genre JnfA --ttl 1", "--genre JnfA --ttl 2", "--genre JnfB", "--genre JnfB --ttl 2",
            "--genre JnfC --ttl 1", "! --genre JnfA", "--genre Nothing --log 1", "--genre JnfE",
            "--genre JnfE --log 0");
    static final String OPTIONS_A = "020405b4" + "0402" + "080a0000000100000000" + "01" + "030307";
    static final String OPTIONS_B = "020403e8";

    /** A TCP SYN (or {@code flags}) 10.55.0.1:40000 -> 10.55.0.2:80 with these TTL, DF, window and options. */
    static byte[] syn(int ttl, boolean df, int window, String options, int flags) {
        byte[] o = HEX.parseHex(options);
        ByteBuffer b = ByteBuffer.allocate(40 + o.length);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (40 + o.length)).putShort((short) 1)
                .putShort((short) (df ? 0x4000 : 0)).put((byte) ttl).put((byte) 6).putShort((short) 0)
                .putInt(0x0A370001).putInt(0x0A370002);
        b.putShort((short) 40000).putShort((short) 80).putInt(1000).putInt(0).put((byte) ((5 + o.length / 4) << 4))
                .put((byte) flags).putShort((short) window).putShort((short) 0).putShort((short) 0).put(o);
        MemorySegment s = MemorySegment.ofArray(b.array());
        s.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 10,
                (short) Checksums.ipv4Header(s, 0));
        return b.array();
    }

    static Stream<Arguments> probes() {
        return Stream.of(
                Arguments.of("A as it is", syn(77, true, 31337, OPTIONS_A, 0x02), List.of(1, 2, 3, 7, 8, 9, 10)),
                Arguments.of("A with TTL 70: only --ttl 1 and 2", syn(70, true, 31337, OPTIONS_A, 0x02), List.of(2, 3)),
                Arguments.of("A with TTL 80: only --ttl 2", syn(80, true, 31337, OPTIONS_A, 0x02), List.of(3)),
                Arguments.of("B, window 7 x MSS", syn(77, false, 7000, OPTIONS_B, 0x02), List.of(4, 5, 8, 10)),
                Arguments.of("B, window 7 x 1460", syn(77, false, 10220, OPTIONS_B, 0x02), List.of(4, 5, 8, 10)),
                Arguments.of("D, window 3 x (MSS + 40)", syn(77, false, 3120, OPTIONS_B, 0x02), List.of(4, 5, 8, 10)),
                Arguments.of("C, window a multiple of 1009", syn(90, true, 2018, "", 0x02), List.of(6, 8, 10)),
                Arguments.of("C, window no multiple", syn(90, true, 2019, "", 0x02), List.of()),
                Arguments.of("A as a SYN-ACK", syn(77, true, 31337, OPTIONS_A, 0x12), List.of(1, 2, 3, 7, 8, 9, 10)),
                Arguments.of("A as an ACK: no SYN", syn(77, true, 31337, OPTIONS_A, 0x10), List.of()),
                Arguments.of("A with its options reordered", syn(77, true, 31337, "0402" + "020405b4"
                        + "080a0000000100000000" + "01" + "030307", 0x02), List.of()),
                Arguments.of("A without DF", syn(77, false, 31337, OPTIONS_A, 0x02), List.of()));
    }

    static Host host() {
        Host h = new Host();
        h.addLink("ob", 0x0200000000B1L, 1500);
        h.loadOsfFingerprints(FINGERPRINTS, false);
        return h;
    }

    static PacketContext packet(byte[] datagram, Host host) {
        return new PacketContext().ipv4(MemorySegment.ofArray(datagram), 0).host(host).inInterface("ob")
                .hook(Hook.PREROUTING).macSource(0x0200000000A1L);
    }

    static ExtensionData rule(String options) {
        return OsfSemanticsTest.osf(options.split(" "));
    }

    /** The rules (numbered from 1) whose osf match is true for {@code datagram}. */
    static List<Integer> matching(byte[] datagram, Host host) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < RULES.size(); i++) {
            if (rule(RULES.get(i)).matches(packet(datagram, host))) {
                out.add(i + 1);
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}: rules {2}")
    @MethodSource("probes")
    void synsMatchTheRulesLinuxMatched(String name, byte[] datagram, List<Integer> rules) {
        assertThat(matching(datagram, host())).isEqualTo(rules);
    }

    @Test
    void logLevelZeroLogsEveryFittingFingerprintAndOneOnlyTheFirst() {
        List<String> lines = new ArrayList<>();
        PacketContext p = packet(syn(77, true, 31337, OPTIONS_A, 0x12), host())
                .logSink((level, line) -> lines.add(line.substring(0, line.indexOf('\n'))));
        assertThat(rule("--genre Nothing --log 1").matches(p)).isTrue();
        assertThat(rule("--genre JnfE --log 0").matches(p)).isTrue();
        // Linux 6.18's dmesg for the same SYN-ACK through the same two rules
        assertThat(lines).containsExactly("JnfA [1:x] : 10.55.0.1:40000 -> 10.55.0.2:80 hops=0",
                "JnfA [1:x] : 10.55.0.1:40000 -> 10.55.0.2:80 hops=0", "JnfE [5:v] : 10.55.0.1:40000 -> 10.55.0.2:80 hops=0");
        lines.clear();
        rule("--genre Nothing --log 1").matches(packet(syn(90, true, 2019, "", 0x02), host())
                .logSink((level, line) -> lines.add(line.substring(0, line.indexOf('\n')))));
        assertThat(lines).containsExactly("Remote OS is not known: 10.55.0.1:40000 -> 10.55.0.2:80");
    }

    @Test
    void hopsAreTheFingerprintsTtlLessThePackets() {
        List<String> lines = new ArrayList<>();
        PacketContext p = packet(syn(70, true, 31337, OPTIONS_A, 0x02), host())
                .logSink((level, line) -> lines.add(line.substring(0, line.indexOf('\n'))));
        assertThat(rule("--genre JnfA --ttl 1 --log 1").matches(p)).isTrue();
        assertThat(lines).containsExactly("JnfA [1:x] : 10.55.0.1:40000 -> 10.55.0.2:80 hops=7");
    }

    @Test
    void fingerprintFilesAreReadAsNfnlOsfReadsThem() {
        OsfFingerprints db = OsfFingerprints.EMPTY.load(FINGERPRINTS, false);
        assertThat(db.all()).hasSize(5);
        assertThat(db.withDf(true)).extracting(OsfFingerprints.Fingerprint::genre).containsExactly("JnfA", "JnfC",
                "JnfE");
        OsfFingerprints.Fingerprint c = db.all().get(2);
        // "@" dropped from the genre; "." is no option; "%1009" a modulo
        assertThat(c.genre()).isEqualTo("JnfC");
        assertThat(c.options()).isEmpty();
        assertThat(c.windowKind()).isEqualTo(OsfFingerprints.WSS_MODULO);
        assertThat(c.window()).isEqualTo(1009);
        // blanks after a separator skipped; "S*" any multiple of the MSS (0)
        OsfFingerprints.Fingerprint t = OsfFingerprints.EMPTY.load("S*:64:1:60:M*,S,T,N,W0:\tLinux:2.4:.18:Linux\n",
                false).all().get(0);
        assertThat(t.genre()).isEqualTo("Linux");
        assertThat(t.windowKind()).isEqualTo(OsfFingerprints.WSS_MSS);
        assertThat(t.window()).isZero();
        assertThat(t.optionsLength()).isEqualTo(20);
        // loading twice keeps one copy; -d removes
        assertThat(db.load(FINGERPRINTS, false).all()).hasSize(5);
        assertThat(db.load("S7:77:0:44:M*:JnfB:2:y:jnf probe B\n", true).all()).hasSize(4);
        assertThatThrownBy(() -> db.load("1:2:3\n", false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("must be 8");
    }

    @Test
    void aHostFileLoadsFingerprintsWithNfnlOsf() throws Exception {
        java.nio.file.Path file = java.nio.file.Files.createTempFile("jnf-osf", ".os");
        try {
            java.nio.file.Files.writeString(file, FINGERPRINTS);
            Host h = HostFile.parseRunning("host", "link add ob\nnfnl_osf -f " + file + "\n");
            assertThat(h.osfFingerprints().all()).hasSize(5);
            Host removed = HostFile.parseRunning("host", "nfnl_osf -f " + file + "\nnfnl_osf -f " + file + " -d\n");
            assertThat(removed.osfFingerprints().all()).isEmpty();
        } finally {
            java.nio.file.Files.delete(file);
        }
    }

    @Test
    void withoutFingerprintsNothingMatches() {
        assertThat(matching(syn(77, true, 31337, OPTIONS_A, 0x02), new Host())).isEmpty();
    }
}
