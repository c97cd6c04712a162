package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.packet.Checksums;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * IPv4 options of received datagrams, against what Linux 6.18 did with the same datagrams: UDP 10.9.0.1:4000 ->
 * 10.9.1.3:5000 sent to router b (vba 10.9.0.2, vbc 10.9.1.2), captured as they left b toward 10.9.1.3, or the ICMP
 * parameter problem b sent back. Timestamps are milliseconds since midnight UTC of the packet's time; the test gives
 * each datagram the time b received it.
 */
class Ipv4OptionsTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final String HOST_B = """
            link add vba address c6:be:a6:f0:f6:aa
            addr add 10.9.0.2/24 dev vba
            link add vbc address 02:00:00:00:0b:0c
            addr add 10.9.1.2/24 dev vbc
            sysctl net.ipv4.ip_forward=1
            """;

    private final List<String> sent = new ArrayList<>();
    private Datapath datapath;

    @BeforeEach
    void host() throws Exception {
        datapath = new Datapath(HostFile.parseRunning("b", HOST_B), new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
                sent.add(ifname + " " + HEX.formatHex(frame.asSlice(14).toArray(ValueLayout.JAVA_BYTE)));
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment packet) {
                sent.add("local " + HEX.formatHex(packet.toArray(ValueLayout.JAVA_BYTE)));
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment packet, int ipv4Options) {
                deliverLocal(ifname, packet);
                deliveredOptions.add(ipv4Options);
            }
        });
    }

    /** The compiled options each local delivery handed over, in order. */
    private final List<Integer> deliveredOptions = new ArrayList<>();

    /** The datagram a sent: header with {@code options} (padded with zeros), ID {@code id}, TTL 64. */
    static String datagram(String options, int id, String destination) {
        return datagram(options, id, destination, 64);
    }

    static String datagram(String options, int id, String destination, int ttl) {
        byte[] o = HEX.parseHex(options);
        int optLen = (o.length + 3) & ~3;
        int ihl = 20 + optLen;
        ByteBuffer b = ByteBuffer.allocate(ihl + 12);
        b.put((byte) (0x40 | ihl / 4)).put((byte) 0).putShort((short) (ihl + 12)).putShort((short) id).putShort((short) 0)
                .put((byte) ttl).put((byte) 17).putShort((short) 0).put(HEX.parseHex("0a090001")).put(HEX.parseHex(destination))
                .put(o).position(ihl);
        b.put(HEX.parseHex("0fa01388000c00006f707478"));
        MemorySegment s = MemorySegment.ofArray(b.array());
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 10,
                (short) Checksums.ipv4Header(s, 0));
        return HEX.formatHex(b.array());
    }

    private void receive(String datagram, long millisSinceMidnight) {
        MemorySegment frame = MemorySegment.ofArray(HEX.parseHex("c6bea6f0f6aac21362a631570800" + datagram));
        datapath.receive("vba", frame, true, millisSinceMidnight * 1_000_000L + 500_000L, Trace.NONE);
    }

    static Stream<Arguments> forwarded() {
        return Stream.of(
                Arguments.of("record route: the egress address", "070f04" + "00".repeat(12), 1, 0L,
                        "4900003000010000" + "3f11488d0a0900010a090103" + "070f080a090102" + "00".repeat(9)
                                + "0fa01388000c00006f707478"),
                Arguments.of("timestamps only", "440c0500" + "00".repeat(8), 4, 42693248L,
                        "4800002c000400003f11a1900a0900010a090103440c0900028b7280000000000fa01388000c00006f707478"),
                Arguments.of("a full record route passes unchanged", "07070801020304", 5, 0L,
                        "47000028000500003f114fa00a0900010a09010307070801020304000fa01388000c00006f707478"),
                Arguments.of("address and time: the receiving side's address", "44140d01".substring(0, 4) + "0501"
                        + "00".repeat(16), 7, 42693412L,
                        "4a000034000700003f1190cd0a0900010a09010344140d010a090002028b73240000000000000000"
                                + "0fa01388000c00006f707478"),
                Arguments.of("a full timestamp option counts an overflow", "44040500", 8, 0L,
                        "46000024000800003f111c980a0900010a09010344040510" + "0fa01388000c00006f707478"),
                Arguments.of("router alert passes", "94040000", 9, 0L,
                        "46000024000900003f11d1a60a0900010a09010394040000" + "0fa01388000c00006f707478"),
                Arguments.of("prespecified: stamped when the address is this host's", "44140503" + "0a090002" + "00000000"
                        + "0a090102" + "00000000", 11, 42693613L,
                        "4a000034000b00003f1184f30a0900010a09010344140d030a090002028b73ed0a09010200000000"
                                + "0fa01388000c00006f707478"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("forwarded")
    void forwardedDatagramsCarryWhatTheKernelRecorded(String name, String options, int id, long millis, String kernel) {
        receive(datagram(options, id, "0a090103"), millis);
        assertThat(sent).containsExactly("vbc " + kernel);
    }

    static Stream<Arguments> refused() {
        return Stream.of(
                Arguments.of("an option of length 1", "88010000", 2, 20),
                Arguments.of("a record route pointer below 4", "07070300000000", 6, 22),
                Arguments.of("a second record route", "07070400000000" + "07070400000000", 10, 27));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refused")
    void badOptionsGetAParameterProblemPointingAtTheOffendingByte(String name, String options, int id, int pointer) {
        receive(datagram(options, id, "0a090103"), 0);
        assertThat(sent).singleElement().satisfies(s -> {
            assertThat(s).startsWith("vba ");
            byte[] icmp = HEX.parseHex(s.substring(4));
            int ihl = (icmp[0] & 0xF) * 4;
            // from the receiving interface's address to the sender, type 12 code 0, the pointer in the first byte
            assertThat(HEX.formatHex(icmp, 12, 20)).isEqualTo("0a0900020a090001");
            assertThat(icmp[ihl]).isEqualTo((byte) 12);
            assertThat(icmp[ihl + 1]).isEqualTo((byte) 0);
            assertThat(Byte.toUnsignedInt(icmp[ihl + 4])).isEqualTo(pointer);
        });
    }

    static Stream<Arguments> echoed() {
        return Stream.of(
                Arguments.of("record route: one more entry, the error's source", "070f04" + "00".repeat(12), 21, 1,
                        43442119L, "070f0c0a0900020a09000200000000" + "00"),
                Arguments.of("timestamps: one more time", "440c0500" + "00".repeat(8), 22, 1, 43442119L,
                        "440c0d000296dfc70296dfc7"),
                Arguments.of("router alert: not echoed", "94040000", 23, 1, 43442119L, ""),
                Arguments.of("a parameter problem echoes what was compiled before the error",
                        "07070400000000" + "07070400000000", 10, 64, 0L, "070708" + "0a090002" + "00"));
    }

    /** Linux 6.18's ICMP errors (time exceeded for TTL 1, parameter problem) about datagrams with options. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("echoed")
    void icmpErrorsEchoTheCompiledOptions(String name, String options, int id, int ttl, long millis, String echo) {
        receive(datagram(options, id, "0a090103", ttl), millis);
        assertThat(sent).singleElement().satisfies(s -> {
            byte[] icmp = HEX.parseHex(s.substring(4));
            int ihl = (icmp[0] & 0xF) * 4;
            assertThat(HEX.formatHex(icmp, 20, ihl)).isEqualTo(echo);
            assertThat(icmp[ihl]).isEqualTo((byte) (ttl == 1 ? 11 : 12));
            assertThat(Checksums.ipv4Header(MemorySegment.ofArray(icmp), 0))
                    .isEqualTo(((icmp[10] & 0xFF) << 8) | (icmp[11] & 0xFF));
        });
    }

    @Test
    void aLooseSourceRouteIsDroppedSilentlyWhileSourceRoutesAreNotAccepted() {
        receive(datagram("8307040a090103", 3, "0a090103"), 0);
        assertThat(sent).isEmpty();
    }

    @Test
    void anAcceptedSourceRouteSendsTheDatagramToItsNextHopWhichPostroutingSeesAndForwardDoesNot() throws Exception {
        datapath = new Datapath(HostFile.parseRunning("b", HOST_B + "sysctl net.ipv4.conf.all.accept_source_route=1\n"),
                new PacketSink() {
                    @Override
                    public void transmit(String ifname, MemorySegment frame) {
                        sent.add(ifname + " " + HEX.formatHex(frame.asSlice(14).toArray(ValueLayout.JAVA_BYTE)));
                    }

                    @Override
                    public void deliverLocal(String ifname, MemorySegment packet) {
                        sent.add("local");
                    }
                });
        List<String> seen = new ArrayList<>();
        for (var hook : List.of(org.jnetfilter.core.rules.Hook.FORWARD, org.jnetfilter.core.rules.Hook.POSTROUTING)) {
            datapath.netfilter().register(org.jnetfilter.core.rules.Family.IPV4, hook, 0, "seen", p -> {
                seen.add(hook + " " + org.jnetfilter.core.host.IpAddress.ipv4((int) p.destinationLo()));
                return Verdict.ACCEPT;
            });
        }
        // to b (10.9.0.2), loose source route [10.9.1.3]
        receive(datagram("8307040a090103", 3, "0a090002"), 0);
        assertThat(seen).containsExactly("FORWARD 10.9.0.2", "POSTROUTING 10.9.1.3");
        String d = datagram("8307040a090103", 3, "0a090002");
        // destination 10.9.1.3, the entry replaced by the egress address 10.9.1.2, pointer 8, TTL 63, new checksum
        assertThat(sent).singleElement().satisfies(f -> {
            assertThat(f).startsWith("vbc ");
            byte[] ip = HEX.parseHex(f.substring(4));
            assertThat(HEX.formatHex(ip, 16, 20)).isEqualTo("0a090103");
            assertThat(HEX.formatHex(ip, 20, 27)).isEqualTo("8307080a090102");
            assertThat(ip[8]).isEqualTo((byte) 63);
            assertThat(HEX.formatHex(ip, 28, ip.length)).isEqualTo(d.substring(56));
            assertThat(Checksums.ipv4Header(MemorySegment.ofArray(ip), 0))
                    .isEqualTo(((ip[10] & 0xFF) << 8) | (ip[11] & 0xFF));
        });
    }

    @Test
    void aLocalDatagramRecordsItsDestinationAndKeepsItsChecksum() {
        String d = datagram("070f04" + "00".repeat(12), 12, "0a090002");
        receive(d, 0);
        // Linux: fib_compute_spec_dst gives a local datagram's destination; nothing recomputes the checksum
        String expected = d.substring(0, 40) + "070f080a090002" + d.substring(54);
        assertThat(sent).containsExactly("local " + expected);
    }
    /**
     * Linux 6.18 (difftest seed 20261130, ruleset 112): REJECT in FORWARD about a UDP datagram with a checksum and a
     * record route that receipt filled up; a CONNMARK rule turns conntrack on, whose check in PREROUTING marks the
     * checksum verified, so REJECT does not sum the header the option left stale and answers, echoing the option.
     */
    @Test
    void rejectInForwardAnswersADatagramWhoseRecordRouteReceiptFilledWhenConntrackVerifiedItsChecksum() {
        var v4 = org.jnetfilter.core.rules.Family.IPV4;
        var any = org.jnetfilter.core.rules.IpSpec.any(v4);
        datapath.module(new org.jnetfilter.core.conntrack.ConntrackModule(
                new org.jnetfilter.core.conntrack.Conntrack(datapath.host())));
        datapath.rules(v4, DatapathHarness.rules(v4, DatapathHarness.table(org.jnetfilter.core.rules.TableKind.FILTER, v4,
                Fixtures.builtin("INPUT", "ACCEPT",
                        Fixtures.rule(Fixtures.target(any, "CONNMARK", "--set-mark", "0x2"))),
                Fixtures.builtin("FORWARD", "ACCEPT", Fixtures.rule(Fixtures.target(any, "REJECT"))),
                Fixtures.builtin("OUTPUT", "ACCEPT"))));
        byte[] d = HEX.parseHex(datagram("0107070400000000", 13, "0a090103"));
        MemorySegment s = MemorySegment.ofArray(d);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 28 + 6,
                (short) Checksums.udpV4(s, 28, 12, 0x0a090001, 0x0a090103));
        receive(HEX.formatHex(d), 0);
        assertThat(sent).singleElement().satisfies(out -> {
            assertThat(out).startsWith("vba ");
            byte[] icmp = HEX.parseHex(out.substring(4));
            // the full record route as receipt left it, padded; then port unreachable
            assertThat(HEX.formatHex(icmp, 12, 28)).isEqualTo("0a0900020a090001" + "0707080a09000200");
            assertThat(icmp[28]).isEqualTo((byte) 3);
            assertThat(icmp[29]).isEqualTo((byte) 3);
        });
    }

    @Test
    void localDeliveryHandsTheCompiledOptionsToTheLocalStack() {
        receive(datagram("01" + "070b04" + "00".repeat(8) + "440c0500" + "00".repeat(8), 14, "0a090002"), 0);
        assertThat(deliveredOptions).singleElement().satisfies(state -> {
            assertThat(Ipv4Options.recordRouteAt(state)).isEqualTo(21);
            assertThat(Ipv4Options.recordRouteNeedsAddress(state)).isTrue();
            assertThat(Ipv4Options.timestampAt(state)).isEqualTo(32);
            assertThat(Ipv4Options.timestampNeedsTime(state)).isTrue();
            assertThat(Ipv4Options.timestampNeedsAddress(state)).isFalse();
            assertThat(Ipv4Options.hasSourceRoute(state)).isFalse();
        });
        sent.clear();
        deliveredOptions.clear();
        receive(datagram("", 15, "0a090002").replaceFirst("^46", "45"), 0);
        assertThat(deliveredOptions).containsExactly(0);
    }

    /**
     * The options Linux 6.18's local stack echoed into its answers to datagrams with options for one of its addresses
     * (a SYN to a closed port, a UDP datagram to a closed port and an echo request each got the same options; here the
     * host's address is 10.9.0.2 where the kernel's was 10.50.0.1, and its clock read T = 0x01020304 ms).
     */
    static Stream<Arguments> answered() {
        String t = "01020304";
        String me = "0a090002";
        return Stream.of(
                Arguments.of("record route: receipt's entry and the answer's", "070b04" + "00".repeat(8),
                        "070b0c" + me + me + "00"),
                Arguments.of("record route with one slot: receipt's entry only", "07070400000000", "070708" + me + "00"),
                Arguments.of("a full record route as it came", "07070801020304", "0707080102030400"),
                Arguments.of("timestamps: receipt's and the answer's", "440c0500" + "00".repeat(8), "440c0d00" + t + t),
                Arguments.of("a full timestamp option: one overflow, from receipt", "440c0d00" + "00".repeat(8),
                        "440c0d10" + "00".repeat(8)),
                Arguments.of("addresses and timestamps", "44140501" + "00".repeat(16),
                        "44141501" + me + t + me + t),
                Arguments.of("prespecified, this host first: stamped once", "44140503" + me + "00000000" + "0a090001"
                        + "00000000", "44140d03" + me + t + "0a090001" + "00000000"),
                Arguments.of("prespecified, another host first: nothing", "44140503" + "0a090001" + "00000000" + me
                        + "00000000", "44140503" + "0a090001" + "00000000" + me + "00000000"),
                Arguments.of("router alert: not echoed", "94040000", ""),
                Arguments.of("an unknown option: not echoed", "9f040000", ""),
                Arguments.of("security: not echoed", "820b" + "00".repeat(9), ""));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("answered")
    void theLocalStacksAnswersEchoTheOptionsAsLinuxDid(String name, String options, String echoed) throws Exception {
        long now = 0x01020304L * 1_000_000L;
        receive(datagram(options, 16, "0a090002"), 0x01020304L);
        assertThat(sent).singleElement().satisfies(s -> assertThat(s).startsWith("local "));
        byte[] d = HEX.parseHex(sent.get(0).substring(6));
        PacketContext original = new PacketContext().ipv4(MemorySegment.ofArray(d), 0, d.length)
                .host(datapath.host()).nowNanos(now).ipv4Options(deliveredOptions.get(0));
        byte[] answer = org.jnetfilter.core.reply.Ipv4OptionsEcho.options(original, 0x0a090002, datapath.host());
        assertThat(HEX.formatHex(answer)).isEqualTo(echoed);
    }

    /**
     * Linux 6.18: REJECT --reject-with tcp-reset about a SYN with a record route. In INPUT the reset goes when
     * conntrack checked the segment on receipt (its sum is kept) and not without conntrack (the segment is summed again
     * with the header receipt left stale); in FORWARD never, conntrack or not (ip_forward forgets the receive sum).
     */
    static Stream<Arguments> resets() {
        return Stream.of(
                Arguments.of("INPUT", false, "0a090002", false),
                Arguments.of("INPUT", true, "0a090002", true),
                Arguments.of("FORWARD", false, "0a090103", false),
                Arguments.of("FORWARD", true, "0a090103", false));
    }

    @ParameterizedTest(name = "REJECT in {0}, conntrack {1}: reset {3}")
    @MethodSource("resets")
    void aResetAboutASegmentWithARecordRouteGoesOnlyWhenItsReceiveSumIsKept(String chain, boolean conntrack,
            String destination, boolean answered) {
        var v4 = org.jnetfilter.core.rules.Family.IPV4;
        var tcp = org.jnetfilter.core.rules.IpSpec.any(v4).withProtocol(6);
        if (conntrack) {
            datapath.module(new org.jnetfilter.core.conntrack.ConntrackModule(
                    new org.jnetfilter.core.conntrack.Conntrack(datapath.host())));
        }
        var reject = Fixtures.rule(tcp, Fixtures.target(tcp, "REJECT", "--reject-with", "tcp-reset"));
        var mark = Fixtures.rule(Fixtures.target(org.jnetfilter.core.rules.IpSpec.any(v4), "CONNMARK", "--set-mark", "0x2"));
        datapath.rules(v4, DatapathHarness.rules(v4, DatapathHarness.table(org.jnetfilter.core.rules.TableKind.FILTER, v4,
                Fixtures.builtin("INPUT", "ACCEPT", chain.equals("INPUT") ? new org.jnetfilter.core.rules.Rule[] {reject}
                        : new org.jnetfilter.core.rules.Rule[0]),
                Fixtures.builtin("FORWARD", "ACCEPT", chain.equals("FORWARD") ? new org.jnetfilter.core.rules.Rule[] {reject}
                        : new org.jnetfilter.core.rules.Rule[0]),
                Fixtures.builtin("OUTPUT", "ACCEPT", conntrack ? new org.jnetfilter.core.rules.Rule[] {mark}
                        : new org.jnetfilter.core.rules.Rule[0]))));
        byte[] d = HEX.parseHex(datagram("070b04" + "00".repeat(8), 17, destination));
        // the datagram as a SYN 40000 -> 8080 with a valid TCP checksum
        int ihl = 32;
        byte[] syn = java.util.Arrays.copyOf(d, ihl + 20);
        MemorySegment s = MemorySegment.ofArray(syn);
        var u16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
        syn[9] = 6;
        s.set(u16, 2, (short) syn.length);
        s.set(u16, 10, (short) 0);
        s.set(u16, 10, (short) Checksums.ipv4Header(s, 0));
        s.set(u16, ihl, (short) 40000);
        s.set(u16, ihl + 2, (short) 8080);
        s.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), ihl + 4, 5000);
        syn[ihl + 12] = 0x50;
        syn[ihl + 13] = 0x02;
        s.set(u16, ihl + 14, (short) 64240);
        s.set(u16, ihl + 16, (short) Checksums.tcpV4(s, ihl, 20, 0x0a090001, (int) Long.parseLong(destination, 16)));
        receive(HEX.formatHex(syn), 0);
        List<String> resetsSent = sent.stream().filter(x -> x.startsWith("vba ")).toList();
        if (answered) {
            assertThat(resetsSent).singleElement().satisfies(x -> assertThat(HEX.parseHex(x.substring(4))[33])
                    .isEqualTo((byte) 0x14));
        } else {
            assertThat(resetsSent).isEmpty();
        }
    }

    /**
     * Linux 6.18: REJECT in OUTPUT about the host's own reset to a SYN that carried a timestamp option with addresses
     * (the reset echoed it: receipt's entry, then the reset's) answers with a port unreachable to the host itself that
     * echoes the reset's options once more, as ip_options_build left them with the reset (124 bytes; 96 without).
     */
    @Test
    void anErrorAboutADatagramTheHostSentWithOptionsEchoesThemInTurn() {
        var v4 = org.jnetfilter.core.rules.Family.IPV4;
        var tcp = org.jnetfilter.core.rules.IpSpec.any(v4).withProtocol(6);
        datapath.rules(v4, DatapathHarness.rules(v4, DatapathHarness.table(org.jnetfilter.core.rules.TableKind.FILTER, v4,
                Fixtures.builtin("INPUT", "ACCEPT"), Fixtures.builtin("FORWARD", "ACCEPT"),
                Fixtures.builtin("OUTPUT", "ACCEPT", Fixtures.rule(tcp, Fixtures.target(tcp, "REJECT"))))));
        // the reset 10.9.0.2:80 -> 10.9.0.1:40000 with the timestamp option as the host echoed it (two of three entries)
        String options = "441c1501" + "0a090002" + "01020304" + "0a090002" + "01020304" + "00".repeat(8);
        byte[] d = HEX.parseHex("4c000044" + "00004000" + "40060000" + "0a090002" + "0a090001" + options
                + "00509c40" + "00000000" + "000003e9" + "50140000" + "00000000");
        MemorySegment s = MemorySegment.ofArray(d);
        var u16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
        s.set(u16, 10, (short) Checksums.ipv4Header(s, 0));
        s.set(u16, 48 + 16, (short) Checksums.tcpV4(s, 48, 20, 0x0a090002, 0x0a090001));
        int built = Ipv4Options.built(0, false, 20, true, true, 0);
        datapath.sendLocal(MemorySegment.ofArray(d.clone()), 0x01020304L * 1_000_000L, Trace.NONE, -1, -1, built);
        assertThat(sent).singleElement().satisfies(out -> {
            assertThat(out).startsWith("local ");
            byte[] error = HEX.parseHex(out.substring(6));
            assertThat(error.length).isEqualTo(124);
            // the third entry filled with the error's source and time; its receipt over lo finds the option full and
            // counts an overflow
            assertThat(HEX.formatHex(error, 20, 48)).isEqualTo("441c1d11" + "0a090002" + "01020304" + "0a090002"
                    + "01020304" + "0a090002" + "01020304");
            assertThat(error[48]).isEqualTo((byte) 3);
        });
        sent.clear();
        datapath.sendLocal(MemorySegment.ofArray(d.clone()), 0x01020304L * 1_000_000L, Trace.NONE, -1, -1);
        assertThat(sent).singleElement().satisfies(out -> assertThat(HEX.parseHex(out.substring(6)).length).isEqualTo(96));
    }
}
