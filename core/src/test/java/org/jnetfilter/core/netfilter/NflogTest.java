package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.DatapathHarness.rules;
import static org.jnetfilter.core.netfilter.DatapathHarness.table;
import static org.jnetfilter.core.netfilter.Fixtures.builtin;
import static org.jnetfilter.core.netfilter.Fixtures.rule;
import static org.jnetfilter.core.netfilter.Fixtures.target;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.api.Test;

/**
 * NFLOG through {@link NfnetlinkLog}: the messages are the records {@code tcpdump -i nflog:5 -w} wrote on Linux
 * 6.18 for the same packets and rules (two namespaces: b with vba index 2 and vbc index 3, a at 10.9.0.1 and
 * fd00::1, c at 10.9.1.3), byte for byte; and the queue is delivered when the kernel delivers it.
 */
class NflogTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final IpSpec ANY4 = IpSpec.any(Family.IPV4);
    private static final IpSpec ANY6 = IpSpec.any(Family.IPV6);

    /** Namespace b of the recording; vba is index 2, vbc index 3 (lo is 1). */
    private static final String HOST_B = """
            link add vba address c6:be:a6:f0:f6:aa
            addr add 10.9.0.2/24 dev vba
            addr add fd00::2/64 dev vba
            link add vbc address 02:00:00:00:0b:0c
            addr add 10.9.1.2/24 dev vbc
            route add default via 10.9.0.1
            sysctl net.ipv4.ip_forward=1
            """;

    private record Delivered(int group, long nowNanos, String hex) {
    }

    private final List<Delivered> delivered = new ArrayList<>();
    private final NfnetlinkLog log = NfnetlinkLog.allGroups((g, t, m) -> delivered.add(new Delivered(g, t, HEX.formatHex(m))));
    private Datapath datapath;

    NflogTest() throws Exception {
        on(HOST_B);
    }

    /** The datapath on {@code hostFile}. */
    private void on(String hostFile) throws Exception {
        Host host = HostFile.parseRunning("b", hostFile);
        datapath = new Datapath(host, new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment packet) {
            }
        }).nflogSink(log);
    }

    private static long time(long seconds, long micros) {
        return seconds * 1_000_000_000L + micros * 1_000L;
    }

    private static Rule nflog(IpSpec ip, String... options) {
        return rule(ip, target(ip, "NFLOG", options));
    }

    /** The datapath's rules: one NFLOG rule with these options in {@code chain} of {@code kind}, nothing else. */
    private void nflogOnly(Family family, TableKind kind, String chain, String... options) {
        IpSpec any = IpSpec.any(family);
        datapath.rules(family, rules(family, table(kind, family, builtin(chain, "ACCEPT", nflog(any, options)))));
    }

    private static MemorySegment frame(String dst, String src, String type, String ip) {
        return MemorySegment.ofArray(HEX.parseHex(dst + src + type + ip));
    }

    /** The datagram as it left its sender (TTL 64), from the forwarded copy NFLOG saw at FORWARD (TTL 63). */
    private static String beforeForwarding(String ip) {
        MemorySegment s = MemorySegment.ofArray(HEX.parseHex(ip));
        Ipv4Header h = new Ipv4Header().wrap(s, 0);
        h.ttl(64);
        h.updateChecksum();
        return HEX.formatHex(s.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }

    private static final String UDP_TO_9999 = "45000024bf4b4000401167690a0900010a090002b9b3270f001014366162636465666768";

    @Test
    void inputMessageHasPrefixInterfaceMarkLinkHeaderTimestampAndThePacket() throws Exception {
        on(HOST_B.replace("c6:be:a6:f0:f6:aa", "e6:3f:bd:2d:91:3b"));
        datapath.rules(Family.IPV4, rules(Family.IPV4,
                table(TableKind.MANGLE, Family.IPV4, builtin("INPUT", "ACCEPT",
                        rule(ANY4, target(ANY4, "MARK", "--set-mark", "0x1234")))),
                table(TableKind.FILTER, Family.IPV4, builtin("INPUT", "ACCEPT",
                        nflog(ANY4, "--nflog-group", "5", "--nflog-prefix", "hello pfx", "--nflog-threshold", "1")))));
        datapath.receive("vba", frame("e63fbd2d913b", "da9e41c2299f", "0800", UDP_TO_9999), true,
                time(0x6b0d5e2eL, 0x0e1112), Trace.NONE);
        assertThat(delivered).singleElement().satisfies(d -> {
            assertThat(d.group()).isEqualTo(5);
            assertThat(d.hex()).isEqualTo(
                    "0200000508000100080001000e000a0068656c6c6f20706678000000080004000000000208000200000012341000"
                            + "080000060000da9e41c2299f000006000f000001000006001100000e000012001000e63fbd2d913bda9e41c2"
                            + "299f0800000014000300000000006b0d5e2e00000000000e1112280009" + "00" + UDP_TO_9999);
        });
    }

    @Test
    void nflogSizeCutsThePayloadAndAnEmptyPrefixIsStillSent() throws Exception {
        on(HOST_B.replace("c6:be:a6:f0:f6:aa", "e6:3f:bd:2d:91:3b"));
        datapath.rules(Family.IPV4, rules(Family.IPV4,
                table(TableKind.MANGLE, Family.IPV4, builtin("INPUT", "ACCEPT",
                        rule(ANY4, target(ANY4, "MARK", "--set-mark", "0x1234")))),
                table(TableKind.FILTER, Family.IPV4, builtin("INPUT", "ACCEPT",
                        nflog(ANY4, "--nflog-group", "5", "--nflog-size", "20", "--nflog-threshold", "1")))));
        String ip = "45000030bf4c40004011675c0a0900010a090002b9b3270e001c0000303132333435363738396162636465666768696a";
        datapath.receive("vba", frame("e63fbd2d913b", "da9e41c2299f", "0800", ip), true, time(0x6b0d5e2eL, 0x0e112c),
                Trace.NONE);
        assertThat(delivered).singleElement().extracting(Delivered::hex).isEqualTo(
                "02000005080001000800010005000a0000000000080004000000000208000200000012341000080000060000da9e41c2299f"
                        + "000006000f000001000006001100000e000012001000e63fbd2d913bda9e41c2299f08000000140003000000000"
                        + "06b0d5e2e00000000000e112c18000900" + ip.substring(0, 40));
    }

    @Test
    void sizeZeroSendsNoPayloadAttribute() {
        nflogOnly(Family.IPV4, TableKind.RAW, "PREROUTING",
                "--nflog-group", "5", "--nflog-prefix", "pre", "--nflog-size", "0", "--nflog-threshold", "1");
        String ip = beforeForwarding("45000020becc40003f1167eb0a0900010a090103d9f31b58000c153366776421");
        datapath.receive("vba", frame("c6bea6f0f6aa", "c21362a63157", "0800", ip), true, time(0x6b0d5e69L, 0x0f378a),
                Trace.NONE);
        assertThat(delivered).singleElement().extracting(Delivered::hex).isEqualTo(
                "02000005080001000800000008000a007072650008000400000000021000080000060000c21362a63157000006000f00000"
                        + "1000006001100000e000012001000c6bea6f0f6aac21362a631570800000014000300000000006b0d5e690000000"
                        + "0000f378a");
    }

    @Test
    void forwardMessageHasBothInterfacesAndTheDecrementedTtl() {
        nflogOnly(Family.IPV4, TableKind.FILTER, "FORWARD",
                "--nflog-group", "5", "--nflog-prefix", "fwd", "--nflog-threshold", "1");
        String forwarded = "45000020becc40003f1167eb0a0900010a090103d9f31b58000c153366776421";
        datapath.receive("vba", frame("c6bea6f0f6aa", "c21362a63157", "0800", beforeForwarding(forwarded)), true,
                time(0x6b0d5e69L, 0x0f3791), Trace.NONE);
        assertThat(delivered).singleElement().extracting(Delivered::hex).isEqualTo(
                "02000005080001000800020008000a0066776400080004000000000208000500000000031000080000060000c21362a63157"
                        + "000006000f000001000006001100000e000012001000c6bea6f0f6aac21362a631570800000014000300000000"
                        + "006b0d5e6900000000000f379124000900" + forwarded);
    }

    @Test
    void ipv6MessageHasFamilyTenAndTheIpv6Ethertype() {
        nflogOnly(Family.IPV6, TableKind.FILTER, "INPUT",
                "--nflog-group", "5", "--nflog-prefix", "in6", "--nflog-threshold", "1");
        String ip = "6005d692000c1140fd000000000000000000000000000001fd00000000000000000000000000000289031b59000cfa2173697836";
        datapath.receive("vba", frame("c6bea6f0f6aa", "c21362a63157", "86dd", ip), true, time(0x6b0d5e6aL, 0x030ed0),
                Trace.NONE);
        assertThat(delivered).singleElement().extracting(Delivered::hex).isEqualTo(
                "0a0000050800010086dd010008000a00696e360008000400000000021000080000060000c21362a63157000006000f0000"
                        + "01000006001100000e000012001000c6bea6f0f6aac21362a6315786dd00001400030000000000"
                        + "6b0d5e6a0000000000030ed038000900" + ip);
    }

    @Test
    void outputMessageHasTheSocketsUidAndGidAndNoTimestamp() {
        nflogOnly(Family.IPV4, TableKind.FILTER, "OUTPUT",
                "--nflog-group", "5", "--nflog-prefix", "out", "--nflog-threshold", "1");
        String ip = "4500002018bc400040110bfb0a0901020a090103d46d1b5a000c16346f757470";
        datapath.sendLocal(MemorySegment.ofArray(HEX.parseHex(ip)), time(0x6b0d5e6aL, 0), Trace.NONE, 65534, 65534);
        assertThat(delivered).singleElement().extracting(Delivered::hex).isEqualTo(
                "02000005080001000800030008000a006f757400080005000000000308000b000000fffe08000e000000fffe24000900" + ip);
    }

    @Test
    void aPacketTheHostSendsWithoutASocketHasNoUid() {
        nflogOnly(Family.IPV4, TableKind.FILTER, "OUTPUT", "--nflog-threshold", "1");
        String ip = "4500002018bc400040110bfb0a0901020a090103d46d1b5a000c16346f757470";
        datapath.sendLocal(MemorySegment.ofArray(HEX.parseHex(ip)), 0, Trace.NONE);
        assertThat(delivered).singleElement().extracting(Delivered::hex).isEqualTo(
                "02000000080001000800030005000a0000000000080005000000000324000900" + ip);
    }

    @Test
    void aPacketLoopedBackThroughLoHasLosZeroHeaderAndNoSocket() {
        nflogOnly(Family.IPV4, TableKind.FILTER, "INPUT", "--nflog-group", "8", "--nflog-threshold", "1");
        String ip = "4500001e1eea400040111de37f0000017f000001db0e1b6c000afe1d6c6f";
        datapath.sendLocal(MemorySegment.ofArray(HEX.parseHex(ip)), time(0x6b0d65b9L, 0x0078a7), Trace.NONE, 0, 0);
        assertThat(delivered).singleElement().extracting(Delivered::hex).isEqualTo(
                "02000008080001000800010005000a000000000008000400000000011000080000060000000000000000000006000f0003"
                        + "04000006001100000e0000120010000000000000000000000000000800000014000300000000006b0d65b9000000"
                        + "00000078a722000900" + ip + "0000");
    }

    // ---- delivery: nfulnl_log_packet's queue ----

    private void logAt(long nanos, String... options) {
        nflogOnly(Family.IPV4, TableKind.FILTER, "INPUT", options);
        datapath.receive("vba", frame("c6bea6f0f6aa", "c21362a63157", "0800", UDP_TO_9999),
                true, nanos, Trace.NONE);
    }

    @Test
    void withoutThresholdMessagesWaitForTheOneSecondFlushTimer() {
        logAt(time(100, 0), "--nflog-group", "5");
        logAt(time(100, 500_000), "--nflog-group", "5");
        assertThat(delivered).isEmpty();
        log.advance(time(100, 999_999));
        assertThat(delivered).isEmpty();
        log.advance(time(101, 0));
        assertThat(delivered).extracting(Delivered::nowNanos).containsExactly(time(101, 0), time(101, 0));
    }

    @Test
    void aRuleThresholdSendsTheWholeQueueWhenReached() {
        logAt(time(100, 0), "--nflog-group", "5");
        logAt(time(100, 1), "--nflog-group", "5", "--nflog-threshold", "3");
        assertThat(delivered).isEmpty();
        logAt(time(100, 2), "--nflog-group", "5", "--nflog-threshold", "3");
        assertThat(delivered).extracting(Delivered::nowNanos).containsExactly(time(100, 2), time(100, 2),
                time(100, 2));
    }

    @Test
    void theBufferHoldsThirtyOneSmallMessagesAsTheKernelsDoes() {
        // Linux 6.18, 80 UDP packets in a burst to a --nflog-size 0 rule: batches of 31, 31 and, at the timer, 18
        for (int i = 0; i < 80; i++) {
            logAt(time(100, i), "--nflog-group", "6", "--nflog-size", "0");
        }
        assertThat(delivered).hasSize(62);
        assertThat(delivered.get(30).nowNanos()).isEqualTo(time(100, 31));
        assertThat(delivered.get(31).nowNanos()).isEqualTo(time(100, 62));
        log.advance(time(101, 61));
        assertThat(delivered).hasSize(62);
        // the timer was armed by the first message after the second flush
        log.advance(time(101, 62));
        assertThat(delivered).hasSize(80);
        assertThat(delivered.get(79).nowNanos()).isEqualTo(time(101, 62));
    }

    @Test
    void aMessageThatDoesNotFitTheBufferSendsTheQueueFirst() {
        // about 1,460 bytes each: two fit the 3,776 bytes of NLMSG_GOODSIZE, the third does not
        String big = "450005b4000040004011000a0a0900010a090002" + "00".repeat(1460 - 20);
        MemorySegment ip = MemorySegment.ofArray(HEX.parseHex(big));
        new Ipv4Header().wrap(ip, 0).updateChecksum();
        String fixed = HEX.formatHex(ip.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        nflogOnly(Family.IPV4, TableKind.FILTER, "INPUT", "--nflog-group", "7");
        for (int i = 0; i < 3; i++) {
            datapath.receive("vba", frame("c6bea6f0f6aa", "c21362a63157", "0800", fixed), true, time(100, i),
                    Trace.NONE);
        }
        assertThat(delivered).extracting(Delivered::nowNanos).containsExactly(time(100, 2), time(100, 2));
        log.close();
        assertThat(delivered).extracting(Delivered::nowNanos).containsExactly(time(100, 2), time(100, 2),
                time(101, 2));
    }

    @Test
    void groupsNobodyListensToAreDropped() {
        List<Integer> groups = new ArrayList<>();
        datapath.nflogSink(NfnetlinkLog.groups((g, t, m) -> groups.add(g), 2));
        logAt(time(100, 0), "--nflog-group", "1", "--nflog-threshold", "1");
        logAt(time(100, 1), "--nflog-group", "2", "--nflog-threshold", "1");
        assertThat(groups).containsExactly(2);
    }
}
