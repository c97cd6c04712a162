package org.jnetfilter.difftest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.EthernetHeader;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.packet.TcpHeader;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.iptables.SaveFiles;
import org.junit.jupiter.api.Test;

/** The harness's parts that need no kernel: generators, shrinking, comparison, counters, gaps. */
class HarnessTest {

    @Test
    void bucketsRefilledByTheSecondAreDrawnOnlyWhenRefillsAreComparedAndGetShortPauses() {
        RulesetGenerator.Features noRefills = RulesetGenerator.Features.ALL.without("limit-refill");
        int refilling = 0;
        for (long seed = 1; seed <= 60; seed++) {
            String all = new RulesetGenerator(seed, seed % 2 == 0, RulesetGenerator.Features.ALL).generate(3);
            String without = new RulesetGenerator(seed, seed % 2 == 0, noRefills).generate(3);
            refilling += RulesetGenerator.refills(all) ? 1 : 0;
            assertThat(RulesetGenerator.refills(without)).as("seed %d", seed).isFalse();
            // the later draws come from a stream of their own: without refills a seed's rules are as they were
            assertThat(without.lines().filter(l -> !l.contains("limit")).toList())
                    .isEqualTo(all.lines().filter(l -> !l.contains("limit")).toList());
        }
        assertThat(refilling).isPositive();
        List<Injection> in = new PacketSequenceGenerator(3).pauses(true).refills(true).generate(50);
        List<Injection> plain = new PacketSequenceGenerator(3).pauses(true).generate(50);
        assertThat(in.stream().filter(i -> i.pauseMillis() >= 100 && i.pauseMillis() <= 400).count())
                .isEqualTo(PacketSequenceGenerator.SHORT_PAUSES);
        assertThat(in.stream().filter(i -> i.pauseMillis() == PacketSequenceGenerator.PAUSE_MILLIS)).hasSize(1);
        // the same packets, only paused
        assertThat(in.stream().map(Injection::label).toList()).isEqualTo(plain.stream().map(Injection::label).toList());
    }

    @Test
    void generatedRulesetsAreReadByJnetfilterForBothFamilies() throws Exception {
        SetCatalogue.install(0L);
        for (long seed = 0; seed < 200; seed++) {
            for (boolean v6 : new boolean[] {false, true}) {
                String text = new RulesetGenerator(seed, v6, RulesetGenerator.Features.ALL).generate(3);
                SaveFiles.read(v6 ? Family.IPV6 : Family.IPV4, Rulesets.withAllTables(text));
            }
        }
    }

    /** The rulesets of seeds 0 to {@code seeds - 1} of one family, one after the other. */
    private static String generated(boolean v6, int seeds) {
        StringBuilder all = new StringBuilder();
        for (long seed = 0; seed < seeds; seed++) {
            all.append(new RulesetGenerator(seed, v6, RulesetGenerator.Features.ALL).generate(3));
        }
        return all.toString();
    }

    @Test
    void generatedRulesetsDrawConnbytesAndNetmapInBothFamilies() {
        for (boolean v6 : new boolean[] {false, true}) {
            String all = generated(v6, 200);
            assertThat(all).as(v6 ? "IPv6" : "IPv4").contains(" -m connbytes ", " -j NETMAP --to ");
        }
    }

    @Test
    void generatedRulesetsDrawEveryExtensionOfTheSecondRoundWhereTheKernelTakesIt() {
        for (boolean v6 : new boolean[] {false, true}) {
            String all = generated(v6, 300);
            assertThat(all).as(v6 ? "IPv6" : "IPv4").contains(" -m limit --limit ", " -m hashlimit --hashlimit-upto ",
                    " --hashlimit-above ", " -m recent --set ", " --rcheck ", " --update ", " --seconds 1 ", " --hitcount ",
                    " -m time --datestart ", " --timestart ", " --weekdays ", " --monthdays ", " -m connlimit ",
                    " -m set --match-set ", " -m set ! --match-set ", " -j SET --add-set ", " -j SET --del-set ",
                    " -m owner ", " -m cluster ", " -j HMARK ", " -m bpf --bytecode ", " -j TEE --gateway ",
                    " -j CT --helper ftp", " -j CT --helper tftp", " -m helper ", "# ipset add ");
            if (v6) {
                assertThat(all).contains(" -j SNPT --src-pfx ", " -j DNPT --src-pfx ", " -m srh ")
                        .doesNotContain(" -m osf ");
            } else {
                assertThat(all).contains(" -m osf ", " -j SET --map-set dt4-map ").doesNotContain(" -m srh ");
            }
            // owner only where locally generated packets pass (xt_owner: LOCAL_OUT and POST_ROUTING)
            for (String line : all.split("\n")) {
                if (line.contains(" -m owner ")) {
                    assertThat(line).as(line).containsPattern("^-A (OUTPUT|POSTROUTING|C\\d+-(OUT|POS)) ");
                }
            }
        }
    }

    @Test
    void theKernelSidesNamesOfHashlimitTablesAndRecentListsAreOwnedByOneRunAndReadBackAsGenerated() {
        String rules = "-A INPUT -m recent --rcheck --seconds 1 --name dtr4a --mask 255.255.255.255 --rsource\n"
                + "-A INPUT -m hashlimit --hashlimit-upto 1/sec --hashlimit-name dth3 -j DROP\n";
        String salted = KernelDut.salted(rules, 0x1f);
        assertThat(salted).contains("--name dtr4a-1f ", "--hashlimit-name dth3-1f ");
        assertThat(KernelDut.unsalted(salted, 0x1f)).isEqualTo(rules);
        assertThat(KernelDut.unsalted(salted, 0x20)).isEqualTo(salted);
    }

    @Test
    void setMembersTravelInTheRulesetAsCommentsAndRefillEverySetOfTheCatalogue() {
        String v4 = "# ipset add dt4-ip 10.1.0.3\n# ipset add dt-list dt4-ip\n*filter\n:INPUT ACCEPT [0:0]\n"
                + "-A INPUT -m set --match-set dt-list src -j DROP\nCOMMIT\n";
        String refill = SetCatalogue.refill(v4, "# ipset add dt6-ip 2001:db8:1::3\n");
        assertThat(refill).startsWith("flush dt-list\n").contains("flush dt4-add\n", "flush dt-port\n")
                .endsWith("add dt4-ip 10.1.0.3\nadd dt-list dt4-ip\nadd dt6-ip 2001:db8:1::3\n");
        for (String n : SetCatalogue.NAMES) {
            assertThat(SetCatalogue.CREATE).contains("create " + n + " ");
        }
        // the members survive shrinking: only -A lines are dropped
        assertThat(Shrinker.withRules(v4, List.of())).contains("# ipset add dt4-ip 10.1.0.3");
        SetCatalogue.install(0L, v4);
        assertThat(org.jnetfilter.core.ipset.Ipsets.current().get("dt4-ip")).isNotNull();
    }

    @Test
    void aTimeSensitiveRulesetsPacketsHaveOnePauseWhichTheEnginesOwnClockKeeps() {
        List<Injection> in = new PacketSequenceGenerator(3).pauses(true).generate(50);
        assertThat(in.stream().filter(i -> i.pauseMillis() > 0)).hasSize(1);
        assertThat(new PacketSequenceGenerator(3).generate(50)).allMatch(i -> i.pauseMillis() == 0);
        long[] at = JnetfilterEngine.clock(in, List.of());
        int paused = 0;
        while (in.get(paused).pauseMillis() == 0) {
            paused++;
        }
        assertThat(paused).isPositive();
        assertThat(at[paused] - at[paused - 1]).isEqualTo(PacketSequenceGenerator.PAUSE_MILLIS * 1_000_000L + 1_000_000L);
        // with the kernel side's clock the engine takes its times as they are; the run puts them on the kernel's
        // jiffies first, less than a jiffy back
        List<Long> kernel = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) {
            kernel.add(1_800_000_000_000_000_000L + i * 70_000L);
        }
        assertThat(JnetfilterEngine.clock(in, kernel)[7]).isEqualTo(1_800_000_000_000_000_000L + 7 * 70_000L);
        List<Long> aligned = KernelJiffies.onKernelJiffies(kernel, true);
        assertThat(kernel.get(7) - aligned.get(7)).isEqualTo(kernel.get(0) - aligned.get(0))
                .isBetween(0L, KernelJiffies.NANOS_PER_JIFFY - 1);
        assertThat(KernelJiffies.onKernelJiffies(kernel, false)).isEqualTo(kernel);
        // connlimit rulesets: every packet in a jiffy of its own, the pause kept
        List<Injection> spaced = new PacketSequenceGenerator(3).pauses(true).spacing(5).generate(50);
        assertThat(spaced.subList(1, spaced.size())).allMatch(i -> i.pauseMillis() >= 5);
        assertThat(spaced.stream().filter(i -> i.pauseMillis() == PacketSequenceGenerator.PAUSE_MILLIS)).hasSize(1);
        assertThat(RulesetGenerator.jiffySensitive("-A FORWARD -m connlimit --connlimit-upto 1 -j DROP\n")).isTrue();
        assertThat(RulesetGenerator.timeSensitive("-A INPUT -m limit --limit 2/sec --limit-burst 1\n")).isTrue();
        assertThat(RulesetGenerator.timeSensitive("-A INPUT -m limit --limit 3/hour --limit-burst 1\n")).isFalse();
    }

    @Test
    void realisticRulesetsAreReadByJnetfilterAndNameTheirServices() throws Exception {
        for (long seed = 0; seed < 20; seed++) {
            String docker = RealisticRulesets.docker(seed);
            SaveFiles.read(Family.IPV4, docker);
            assertThat(RealisticRulesets.targets(docker)).isNotEmpty();
        }
    }

    @Test
    void craftedPacketsCarryValidChecksums() {
        List<Injection> in = new PacketSequenceGenerator(7).generate(500);
        int checked = 0;
        for (Injection i : in) {
            if (i.label().contains("bad IPv4") || i.label().contains("IHL") || i.label().contains("beyond")
                    || i.label().contains("truncated") || i.label().contains("offset 3")) {
                continue;
            }
            MemorySegment s = MemorySegment.ofArray(i.frame());
            int type = new EthernetHeader().wrap(s, 0).etherType();
            if (type == EthernetHeader.ETH_P_IP) {
                Ipv4Header ip = new Ipv4Header().wrap(s, EthernetHeader.LENGTH);
                assertThat(ip.checksumValid()).as(i.label()).isTrue();
                int l4 = EthernetHeader.LENGTH + ip.headerLength();
                int len = ip.totalLength() - ip.headerLength();
                if (!ip.isFragment() && ip.protocol() == Checksums.PROTO_TCP) {
                    assertThat(Checksums.tcpV4Valid(s, l4, len, ip.source(), ip.destination())).as(i.label()).isTrue();
                    checked++;
                } else if (!ip.isFragment() && ip.protocol() == Checksums.PROTO_UDP) {
                    assertThat(Checksums.udpV4Valid(s, l4, len, ip.source(), ip.destination())).as(i.label()).isTrue();
                    checked++;
                } else if (!ip.isFragment() && ip.protocol() == Checksums.PROTO_ICMP) {
                    assertThat(Checksums.icmpValid(s, l4, len)).as(i.label()).isTrue();
                    checked++;
                }
            } else if (type == EthernetHeader.ETH_P_IPV6) {
                int next = i.frame()[EthernetHeader.LENGTH + 6] & 0xFF;
                int len = s.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN),
                        EthernetHeader.LENGTH + 4) & 0xFFFF;
                long l4 = EthernetHeader.LENGTH + 40;
                if (next == Checksums.PROTO_TCP) {
                    assertThat(Checksums.tcpV6Valid(s, EthernetHeader.LENGTH, l4, len)).as(i.label()).isTrue();
                    checked++;
                } else if (next == Checksums.PROTO_UDP) {
                    assertThat(Checksums.udpV6Valid(s, EthernetHeader.LENGTH, l4, len)).as(i.label()).isTrue();
                    checked++;
                } else if (next == Checksums.PROTO_ICMPV6) {
                    assertThat(Checksums.icmpv6Valid(s, EthernetHeader.LENGTH, l4, len)).as(i.label()).isTrue();
                    checked++;
                }
            }
        }
        assertThat(checked).isGreaterThan(300);
    }

    @Test
    void fragmentsReassembleToTheOriginalPayload() {
        byte[] whole = PacketCrafter.ip(PacketCrafter.Ip.of(PacketCrafter.Address.v4(Topology.HOST_A_V4),
                PacketCrafter.Address.v4(Topology.HOST_B_V4)).flags(0), Checksums.PROTO_UDP, PacketCrafter.udp(1, 2, 61));
        List<byte[]> frags = PacketCrafter.fragments(whole, 24, 99);
        assertThat(frags).hasSize(3);
        java.io.ByteArrayOutputStream payload = new java.io.ByteArrayOutputStream();
        for (byte[] f : frags) {
            Ipv4Header ip = new Ipv4Header().wrap(MemorySegment.ofArray(f), 0);
            assertThat(ip.checksumValid()).isTrue();
            assertThat(ip.fragmentOffset() * 8).isEqualTo(payload.size());
            payload.write(f, 20, f.length - 20);
        }
        assertThat(payload.toByteArray()).isEqualTo(java.util.Arrays.copyOfRange(whole, 20, whole.length));
    }

    @Test
    void shrinkingFindsTheSmallestFailingSubsetOfARandomPredicate() {
        SplittableRandom rnd = new SplittableRandom(42);
        for (int round = 0; round < 200; round++) {
            List<Integer> items = new ArrayList<>();
            for (int i = 0; i < 1 + rnd.nextInt(40); i++) {
                items.add(i);
            }
            // fails when it holds all of a hidden set of 1-3 items: the minimum is exactly that set
            List<Integer> culprit = new ArrayList<>();
            for (int k = 0; k < 1 + rnd.nextInt(3); k++) {
                Integer c = items.get(rnd.nextInt(items.size()));
                if (!culprit.contains(c)) {
                    culprit.add(c);
                }
            }
            culprit.sort(null);
            List<Integer> min = Shrinker.minimise(items, l -> l.containsAll(culprit));
            assertThat(min).isEqualTo(culprit);
        }
    }

    @Test
    void shrinkingKeepsChainDeclarationsAndDropsOnlyRules() {
        String text = "*filter\n:INPUT ACCEPT [0:0]\n:X - [0:0]\n-A INPUT -j X\n-A X -j DROP\n-A X -j DROP\nCOMMIT\n";
        List<String> lines = Shrinker.ruleLines(text);
        assertThat(lines).hasSize(3);
        assertThat(Shrinker.withRules(text, List.of(lines.get(2))))
                .isEqualTo("*filter\n:INPUT ACCEPT [0:0]\n:X - [0:0]\n-A X -j DROP\nCOMMIT\n");
    }

    @Test
    void countersAreReadPerRuleAndPolicyWithPositions() {
        Map<String, String> c = Rulesets.counters("""
                *filter
                :INPUT ACCEPT [3:120]
                :X - [0:0]
                [1:40] -A INPUT -j X
                [2:80] -A INPUT -j X
                [0:0] -A X -j DROP
                COMMIT
                """);
        assertThat(c).containsExactly(Map.entry("filter INPUT policy ACCEPT", "3 120"),
                Map.entry("filter INPUT #1 -j X", "1 40"), Map.entry("filter INPUT #2 -j X", "2 80"),
                Map.entry("filter X #1 -j DROP", "0 0"));
    }

    private static Observation oneFrame(byte[] frame) {
        return new Observation(List.of(List.of(new Observation.Emitted(Topology.DUT_B, frame))), Map.of(), Map.of(),
                List.of());
    }

    @Test
    void comparesTheIpIdOfAGeneratedPacketOnlyWhenTheKernelCopiedIt() {
        byte[] injected = PacketCrafter.frame(Topology.A, PacketCrafter.ip(PacketCrafter.Ip.of(
                PacketCrafter.Address.v4(Topology.HOST_A_V4), PacketCrafter.Address.v4(Topology.HOST_B_V4)).id(5),
                Checksums.PROTO_UDP, PacketCrafter.udp(1, 2, 3)));
        List<Injection> in = List.of(new Injection(Topology.A, injected, "udp"));
        byte[] kernelGenerated = withId(injected, 777);
        byte[] engineGenerated = withId(injected, 12);
        KnownGaps none = KnownGaps.parse("");
        assertThat(Comparison.compare(in, oneFrame(kernelGenerated), oneFrame(engineGenerated), none)).isEmpty();
        // a forwarded packet keeps its ID in the kernel: then the engine must keep it too
        assertThat(Comparison.compare(in, oneFrame(withId(injected, 5)), oneFrame(engineGenerated), none)).hasSize(1);
        // a TTL difference is never masked
        byte[] ttl = withId(injected, 777);
        ttl[EthernetHeader.LENGTH + Ipv4Header.TTL]--;
        fixChecksum(ttl);
        assertThat(Comparison.compare(in, oneFrame(kernelGenerated), oneFrame(ttl), none)).hasSize(1);
        // a broken header checksum is a difference even where the ID is masked
        byte[] broken = engineGenerated.clone();
        broken[EthernetHeader.LENGTH + Ipv4Header.CHECKSUM] ^= 1;
        assertThat(Comparison.compare(in, oneFrame(kernelGenerated), oneFrame(broken), none)).hasSize(1);
    }

    @Test
    void anIcmpErrorWhoseRandomIpIdEqualsTheInjectedOneIsNotTakenForACopy() {
        byte[] injected = PacketCrafter.frame(Topology.A, PacketCrafter.ip(PacketCrafter.Ip.of(
                PacketCrafter.Address.v4(Topology.HOST_A_V4), PacketCrafter.Address.v4(Topology.HOST_B_V4)).id(49),
                Checksums.PROTO_UDP, PacketCrafter.udp(1, 2, 3)));
        List<Injection> in = List.of(new Injection(Topology.A, injected, "udp"));
        // the kernel's port unreachable drew 49, the injected datagram's ID; the engine's drew another
        byte[] kernelError = icmpError(injected, 49);
        byte[] engineError = icmpError(injected, 17392);
        KnownGaps none = KnownGaps.parse("");
        assertThat(Comparison.compare(in, oneFrame(kernelError), oneFrame(engineError), none)).isEmpty();
        // a forwarded copy of the datagram (same protocol) that changed the ID is still a difference
        assertThat(Comparison.compare(in, oneFrame(withId(injected, 49)), oneFrame(withId(injected, 50)), none))
                .hasSize(1);
    }

    /** {@code injected} turned into an ICMP datagram of type 3 with {@code id}: the fields the comparison reads. */
    private static byte[] icmpError(byte[] injected, int id) {
        byte[] f = withId(injected, id);
        int l3 = EthernetHeader.LENGTH;
        f[l3 + Ipv4Header.PROTOCOL] = (byte) Checksums.PROTO_ICMP;
        f[l3 + (f[l3] & 0xF) * 4] = 3;
        fixChecksum(f);
        return f;
    }

    private static byte[] withId(byte[] frame, int id) {
        byte[] f = frame.clone();
        new Ipv4Header().wrap(MemorySegment.ofArray(f), EthernetHeader.LENGTH).identification(id);
        fixChecksum(f);
        return f;
    }

    private static void fixChecksum(byte[] f) {
        new Ipv4Header().wrap(MemorySegment.ofArray(f), EthernetHeader.LENGTH).updateChecksum();
    }


    /** Linux 6.18 answered a SYN and a UDP datagram to closed ports of its own with the options echoed. */
    @Test
    void dutsResetsAndPortUnreachablesEchoTheOptionsOfWhatTheyAnswer() {
        var client = PacketCrafter.Address.v4(Topology.HOST_A_V4 + 3);
        var dut = PacketCrafter.Address.v4(Topology.DUT_A_V4);
        byte[] syn = PacketCrafter.withIpv4Options(PacketCrafter.ip(PacketCrafter.Ip.of(client, dut), Checksums.PROTO_TCP,
                PacketCrafter.tcpSyn(40000, 80, 7, 0, TcpHeader.SYN, 1460)), "070b04" + "00".repeat(9));
        byte[] udp = PacketCrafter.withIpv4Options(PacketCrafter.ip(PacketCrafter.Ip.of(client, dut), Checksums.PROTO_UDP,
                PacketCrafter.udp(40001, 9999, 5)), "440c0500" + "00".repeat(8));
        byte[] alert = PacketCrafter.withIpv4Options(PacketCrafter.ip(PacketCrafter.Ip.of(client, dut), Checksums.PROTO_TCP,
                PacketCrafter.tcpSyn(40002, 80, 7, 0, TcpHeader.SYN, 1460)), "94040000");
        List<Injection> in = List.of(new Injection(Topology.A, PacketCrafter.frame(Topology.A, syn), "syn"),
                new Injection(Topology.A, PacketCrafter.frame(Topology.A, udp), "udp"),
                new Injection(Topology.A, PacketCrafter.frame(Topology.A, alert), "syn with router alert"));
        long now = 1_000_000L * 0x01020304L;
        Observation o = Engines.jnetfilter(KnownGaps.load("/packet-known-gaps.txt")).run("", "", in,
                List.of(now, now, now));
        java.util.HexFormat hex = java.util.HexFormat.of();
        int l3 = EthernetHeader.LENGTH;
        assertThat(o.emitted().get(0)).singleElement().satisfies(e -> {
            byte[] f = e.frame();
            // receipt's entry and the reset's: dut's address on veth-a twice; a reset of a SYN
            assertThat(hex.formatHex(f, l3 + 20, l3 + 32)).isEqualTo("070b0c0a0100010a01000100");
            assertThat(f[l3 + 32 + 13]).isEqualTo((byte) (TcpHeader.RST | TcpHeader.ACK));
            assertThat(Checksums.ipv4HeaderValid(MemorySegment.ofArray(f), l3)).isTrue();
        });
        assertThat(o.emitted().get(1)).singleElement().satisfies(e -> {
            byte[] f = e.frame();
            // receipt's time and the error's, then the port unreachable quoting the datagram as receipt left it
            assertThat(hex.formatHex(f, l3 + 20, l3 + 32)).isEqualTo("440c0d000102030401020304");
            assertThat(f[l3 + 32]).isEqualTo((byte) 3);
            assertThat(f[l3 + 33]).isEqualTo((byte) 3);
            assertThat(hex.formatHex(f, l3 + 32 + 8 + 20, l3 + 32 + 8 + 32)).isEqualTo("440c09000102030400000000");
        });
        assertThat(o.emitted().get(2)).singleElement().satisfies(e -> assertThat(e.frame()[l3]).isEqualTo((byte) 0x45));
    }

    @Test
    void timesOfDayInTimestampOptionsAreComparedByRuleAndTheChecksumsOverThemByValidity() {
        var client = PacketCrafter.Address.v4(Topology.HOST_A_V4 + 3);
        var dut = PacketCrafter.Address.v4(Topology.DUT_A_V4);
        byte[] injected = PacketCrafter.frame(Topology.A, PacketCrafter.withIpv4Options(PacketCrafter.ip(
                PacketCrafter.Ip.of(client, dut), Checksums.PROTO_UDP, PacketCrafter.udp(1, 2, 5)),
                "440c0500" + "00".repeat(8)));
        java.util.function.IntFunction<byte[]> error = time -> {
            // the datagram as receipt left it: its time written, its checksum the sender's (stale)
            byte[] quoted = java.util.Arrays.copyOfRange(injected, EthernetHeader.LENGTH, injected.length);
            quoted[22] = 9;
            MemorySegment.ofArray(quoted).set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED
                    .withOrder(java.nio.ByteOrder.BIG_ENDIAN), 24, time);
            byte[] icmp = PacketCrafter.icmpError(false, 3, 3, 0, quoted);
            return PacketCrafter.frame(Topology.A, PacketCrafter.withIpv4Options(PacketCrafter.ip(
                    PacketCrafter.Ip.of(dut, client).flags(0), Checksums.PROTO_ICMP, icmp),
                    String.format("440c0d00%08x%08x", time, time)));
        };
        int midnight = 86_400_000;
        byte[] kernel = error.apply(61_990_645);
        assertThat(Comparison.normalise(error.apply(61_990_647), kernel, injected, false))
                .isEqualTo(Comparison.normalise(kernel, error.apply(61_990_647), injected, true));
        // a second apart across midnight: still the same moment by the rule
        assertThat(Comparison.normalise(error.apply(midnight - 400), error.apply(300), injected, false))
                .isEqualTo(Comparison.normalise(error.apply(300), error.apply(midnight - 400), injected, true));
        // five seconds apart, or a time against none: different
        assertThat(Comparison.normalise(error.apply(61_995_645), kernel, injected, false))
                .isNotEqualTo(Comparison.normalise(kernel, error.apply(61_995_645), injected, true));
        assertThat(Comparison.normalise(error.apply(0), kernel, injected, false))
                .isNotEqualTo(Comparison.normalise(kernel, error.apply(0), injected, true));
        // a wrong ICMP checksum over the times is still seen
        byte[] broken = error.apply(61_990_647);
        broken[broken.length - 1] ^= 1;
        assertThat(Comparison.normalise(broken, kernel, injected, false))
                .isNotEqualTo(Comparison.normalise(kernel, broken, injected, true));
    }

    @Test
    void knownGapsRefuseUnknownKeysAndMissingReasons() {
        assertThatThrownBy(() -> KnownGaps.parse("compare.everything: no")).hasMessageContaining("unknown key");
        assertThatThrownBy(() -> KnownGaps.parse("compare.conntrack:")).hasMessageContaining("no reason");
        KnownGaps g = KnownGaps.parse("# c\ngenerate.nat: no NAT yet\n");
        assertThat(g.has("generate.nat")).isTrue();
        assertThat(g.features().nat()).isFalse();
        assertThat(g.features().conntrack()).isTrue();
    }

    @Test
    void theShippedKnownGapsFileParses() {
        KnownGaps.load("/packet-known-gaps.txt");
    }

    @Test
    void theHostFileIsReadByJnetfilter() throws Exception {
        var host = org.jnetfilter.core.host.HostFile.parse("difftest", Topology.hostFile());
        assertThat(host).isNotNull();
    }

    @Test
    void dutAnswersReassembledIpv6UdpFragmentsWithOnePortUnreachable() {
        var client = PacketCrafter.Address.v6(Topology.NET_A_V6, 6);
        var dut = PacketCrafter.Address.v6(Topology.NET_A_V6, 1);
        byte[] whole = PacketCrafter.ip(PacketCrafter.Ip.of(client, dut), Checksums.PROTO_UDP,
                PacketCrafter.udp(443, 1024, 40));
        List<Injection> in = new ArrayList<>();
        for (byte[] f : PacketCrafter.fragments(whole, 24, 5)) {
            in.add(new Injection(Topology.A, PacketCrafter.frame(Topology.A, f), "fragment"));
        }
        // the engine as the harness runs it (the known gaps decide its workarounds)
        Observation o = Engines.jnetfilter(KnownGaps.load("/packet-known-gaps.txt")).run("", "", in);
        assertThat(o.emitted().get(0)).isEmpty();
        assertThat(o.emitted().get(1)).hasSize(1);
        assertThat(o.emitted().get(1).get(0).toString())
                .isEqualTo("veth-a IPv6 2001:db8:1::1 > 2001:db8:1::6 hlim 64 plen 96 icmp6 1/4 id 0 seq 0");
        // INPUT saw both fragments (Linux reassembles IPv6 after the hook)
        assertThat(o.counters6()).containsEntry("filter INPUT policy ACCEPT", "2 " + (in.get(0).frame().length
                + in.get(1).frame().length - 2 * EthernetHeader.LENGTH));
    }

    @Test
    void aFragmentSaltChangesOnlyFragmentIdentifications() {
        byte[] whole = PacketCrafter.ip(PacketCrafter.Ip.of(PacketCrafter.Address.v4(Topology.HOST_A_V4),
                PacketCrafter.Address.v4(Topology.HOST_B_V4)).flags(0).id(9), Checksums.PROTO_UDP,
                PacketCrafter.udp(1, 2, 40));
        Injection plain = new Injection(Topology.A, PacketCrafter.frame(Topology.A, whole), "whole");
        assertThat(plain.withFragmentSalt(100)).isSameAs(plain);
        Injection frag = new Injection(Topology.A, PacketCrafter.frame(Topology.A,
                PacketCrafter.fragments(whole, 16, 9).get(0)), "fragment");
        Injection salted = frag.withFragmentSalt(100);
        Ipv4Header ip = new Ipv4Header().wrap(MemorySegment.ofArray(salted.frame()), EthernetHeader.LENGTH);
        assertThat(ip.identification()).isEqualTo(109);
        assertThat(ip.checksumValid()).isTrue();
    }
    @Test
    void eachRunSendsTheNoRoutePacketsFromItsOwnBlockOfPoolSendersWithChecksumsKept() {
        int sender = (Topology.HOST_A_V4 & 0xFFFFFF00) | (Topology.NO_ROUTE_FIRST + 1);
        byte[] syn = PacketCrafter.ip(PacketCrafter.Ip.of(PacketCrafter.Address.v4(sender),
                PacketCrafter.Address.v4(0x0a090001)), Checksums.PROTO_TCP,
                PacketCrafter.tcpSyn(30000, 80, 7, 0, TcpHeader.SYN, 1460));
        Injection in = new Injection(Topology.A, PacketCrafter.frame(Topology.A, syn), "no route");
        java.util.Set<Integer> senders = new java.util.HashSet<>();
        int runs = Topology.NO_ROUTE_POOL / Topology.NO_ROUTE_SENDERS;
        for (int run = 0; run < runs; run++) {
            MemorySegment s = MemorySegment.ofArray(in.salted(0, run).frame());
            Ipv4Header ip = new Ipv4Header().wrap(s, EthernetHeader.LENGTH);
            assertThat(ip.checksumValid()).isTrue();
            assertThat(Checksums.tcpV4Valid(s, EthernetHeader.LENGTH + 20, ip.totalLength() - 20, ip.source(),
                    ip.destination())).isTrue();
            int host = ip.source() & 0xFF;
            assertThat(ip.source() & 0xFFFFFF00).isEqualTo(Topology.HOST_A_V4 & 0xFFFFFF00);
            assertThat(host).isBetween(Topology.NO_ROUTE_FIRST, Topology.NO_ROUTE_FIRST + Topology.NO_ROUTE_POOL - 1);
            assertThat(Math.floorMod(host - Topology.NO_ROUTE_FIRST, Topology.NO_ROUTE_SENDERS)).isEqualTo(1);
            senders.add(ip.source());
        }
        // a sender comes back only after the whole pool was used
        assertThat(senders).hasSize(runs);
        assertThat(in.salted(0, runs).frame()).isEqualTo(in.salted(0, 0).frame());
        // hosts 2-9 and dut are never moved
        Injection host = new Injection(Topology.A, PacketCrafter.frame(Topology.A, PacketCrafter.ip(PacketCrafter.Ip.of(
                PacketCrafter.Address.v4(Topology.HOST_A_V4), PacketCrafter.Address.v4(0x0a090001)),
                Checksums.PROTO_TCP, PacketCrafter.tcpSyn(30000, 80, 7, 0, TcpHeader.SYN, 1460))), "host");
        assertThat(host.salted(0, 5).frame()).isEqualTo(host.frame());
    }
    @Test
    void anEchoIdentifierTheKernelsNatChoseIsComparedByRuleWithItsChecksumByValidity() {
        PacketCrafter.Ip ip = PacketCrafter.Ip.of(PacketCrafter.Address.v4(Topology.DUT_B_V4),
                PacketCrafter.Address.v4(Topology.HOST_B_V4 + 7)).id(39);
        byte[] injected = PacketCrafter.frame(Topology.A, PacketCrafter.ip(ip, Checksums.PROTO_ICMP,
                PacketCrafter.echo(8, 39819, 1, 16)));
        byte[] kernel = PacketCrafter.frame(Topology.A, PacketCrafter.ip(ip, Checksums.PROTO_ICMP,
                PacketCrafter.echo(8, 55891, 1, 16)));
        byte[] engine = PacketCrafter.frame(Topology.A, PacketCrafter.ip(ip, Checksums.PROTO_ICMP,
                PacketCrafter.echo(8, 58346, 1, 16)));
        assertThat(Comparison.normalise(engine, kernel, injected, false))
                .isEqualTo(Comparison.normalise(kernel, engine, injected, true)).endsWith("ICMP checksum ok>");
        byte[] broken = engine.clone();
        broken[broken.length - 1] ^= 1;
        assertThat(Comparison.normalise(broken, kernel, injected, false))
                .isNotEqualTo(Comparison.normalise(kernel, broken, injected, true));
        // kept by the kernel: compared byte for byte
        assertThat(Comparison.normalise(engine, injected, injected, false))
                .isNotEqualTo(Comparison.normalise(injected, engine, injected, true));
        assertThat(Comparison.natPortsByClass(List.of("icmp 1 src=10.1.0.2 dst=10.2.0.9 type=8 code=0 id=39819 "
                + "[UNREPLIED] src=10.2.0.9 dst=10.2.0.1 type=0 code=0 id=55891 mark=0 use=1"))).containsExactly(
                "icmp 1 src=10.1.0.2 dst=10.2.0.9 type=8 code=0 id=39819 [UNREPLIED] src=10.2.0.9 dst=10.2.0.1 type=0 "
                        + "code=0 id=<id> mark=0 use=1");
    }
    @Test
    void underRandomNatAPortTheKernelDrewBackAsTheOriginalIsComparedByRuleAndAFirstFragmentsChecksumByThePortsDifference() {
        PacketCrafter.Ip ip = PacketCrafter.Ip.of(PacketCrafter.Address.v4(Topology.DUT_B_V4),
                PacketCrafter.Address.v4(Topology.HOST_B_V4 + 4)).id(7).flags(0);
        byte[] injectedIp = PacketCrafter.ip(ip, Checksums.PROTO_UDP, PacketCrafter.udp(22, 53, 60));
        byte[] kernelIp = PacketCrafter.ip(ip, Checksums.PROTO_UDP, PacketCrafter.udp(22, 53, 60));
        byte[] engineIp = PacketCrafter.ip(ip, Checksums.PROTO_UDP, PacketCrafter.udp(272, 53, 60));
        byte[] injected = PacketCrafter.frame(Topology.B, injectedIp);
        byte[] kernel = PacketCrafter.frame(Topology.B, kernelIp);
        byte[] engine = PacketCrafter.frame(Topology.B, engineIp);
        // the kernel kept 22 (a --random-fully draw can give it back): by rule only when the rules draw at random
        assertThat(Comparison.normalise(engine, kernel, injected, false, true))
                .isEqualTo(Comparison.normalise(kernel, engine, injected, true, true));
        assertThat(Comparison.normalise(engine, kernel, injected, false, false))
                .isNotEqualTo(Comparison.normalise(kernel, engine, injected, true, false));
        // first fragments: the checksum must differ from the kernel's by the ports alone
        byte[] kernelFirst = PacketCrafter.frame(Topology.B, PacketCrafter.fragments(
                PacketCrafter.ip(ip, Checksums.PROTO_UDP, PacketCrafter.udp(41049, 53, 60)), 24, 7).get(0));
        byte[] engineFirst = PacketCrafter.frame(Topology.B, PacketCrafter.fragments(
                PacketCrafter.ip(ip, Checksums.PROTO_UDP, PacketCrafter.udp(62958, 53, 60)), 24, 7).get(0));
        byte[] injectedFirst = PacketCrafter.frame(Topology.B, PacketCrafter.fragments(injectedIp, 24, 7).get(0));
        assertThat(Comparison.normalise(engineFirst, kernelFirst, injectedFirst, false, true))
                .isEqualTo(Comparison.normalise(kernelFirst, engineFirst, injectedFirst, true, true))
                .contains("transport checksum ok");
        byte[] wrong = engineFirst.clone();
        wrong[EthernetHeader.LENGTH + 20 + 6] ^= 0x10;
        assertThat(Comparison.normalise(wrong, kernelFirst, injectedFirst, false, true))
                .isNotEqualTo(Comparison.normalise(kernelFirst, wrong, injectedFirst, true, true));
        assertThat(Comparison.natPortsByClass(List.of("udp 17 src=10.1.0.7 dst=10.96.0.2 sport=22 dport=53 "
                + "src=10.244.0.2 dst=10.2.0.1 sport=53 dport=22 mark=0 use=1"), true)).containsExactly(
                "udp 17 src=10.1.0.7 dst=10.96.0.2 sport=22 dport=53 src=10.244.0.2 dst=10.2.0.1 sport=53 dport=<1-511> "
                        + "mark=0 use=1");
    }
}
