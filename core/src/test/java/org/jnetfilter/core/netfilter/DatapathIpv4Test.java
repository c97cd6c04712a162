package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.DatapathHarness.CLIENT;
import static org.jnetfilter.core.netfilter.DatapathHarness.CLIENT_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH0_ADDR;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH0_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH1_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.SERVER;
import static org.jnetfilter.core.netfilter.DatapathHarness.SERVER_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.frame;
import static org.jnetfilter.core.netfilter.DatapathHarness.ipOf;
import static org.jnetfilter.core.netfilter.DatapathHarness.rules;
import static org.jnetfilter.core.netfilter.DatapathHarness.table;
import static org.jnetfilter.core.netfilter.DatapathHarness.tcp;
import static org.jnetfilter.core.netfilter.DatapathHarness.u48;
import static org.jnetfilter.core.netfilter.Fixtures.builtin;
import static org.jnetfilter.core.netfilter.Fixtures.ip;
import static org.jnetfilter.core.netfilter.Fixtures.rule;
import static org.jnetfilter.core.netfilter.Fixtures.target;
import static org.jnetfilter.core.netfilter.Fixtures.verdict;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.api.Test;

/** The IPv4 paths through the datapath of {@link DatapathHarness}'s router, scenario by scenario. */
class DatapathIpv4Test {
    static final IpSpec ANY = IpSpec.any(Family.IPV4);
    static final IpSpec TCP = ANY.withProtocol(Protocols.TCP);

    private final DatapathHarness h = new DatapathHarness();

    private static Ruleset filterForwardDrop() {
        return rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4, builtin("FORWARD", "DROP")));
    }

    @Test
    void forwardsToTheNeighbourOfTheEgressInterfaceWithTtlDecremented() {
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4),
                table(TableKind.MANGLE, Family.IPV4), table(TableKind.RAW, Family.IPV4)));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));

        assertThat(h.out).containsExactly("tx eth1");
        MemorySegment f = h.lastFrame();
        assertThat(u48(f, 0)).isEqualTo(SERVER_MAC);
        assertThat(u48(f, 6)).isEqualTo(ETH1_MAC);
        Ipv4Header ip = ipOf(f);
        assertThat(ip.ttl()).isEqualTo(63);
        assertThat(ip.checksumValid()).isTrue();
        assertThat(h.events).containsExactly(
                "PREROUTING raw", "PREROUTING mangle", "route forward dev eth1 via 10.0.2.20",
                "FORWARD mangle", "FORWARD filter", "POSTROUTING mangle");
    }

    @Test
    void tablesAbsentFromTheRulesetRegisterNoHookFunctions() {
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4)));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.events).containsExactly("route forward dev eth1 via 10.0.2.20", "FORWARD filter");
    }

    @Test
    void forwardPolicyDropCountsAndDrops() {
        Ruleset r = filterForwardDrop();
        h.datapath.rules(Family.IPV4, r);
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.out).isEmpty();
        assertThat(h.events).endsWith("FORWARD filter DROP", "dropped NETFILTER_DROP");
        assertThat(r.table(TableKind.FILTER).chain("FORWARD").policyCounters().packets()).isEqualTo(1);
    }

    @Test
    void nextHopWithoutNeighbourEntryGetsTheMadeUpMac() {
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ip(192, 0, 2, 7))));
        assertThat(h.out).containsExactly("tx eth1");
        // default via 10.0.2.254: 02:6a:6e + the gateway's last three bytes
        assertThat(u48(h.lastFrame(), 0)).isEqualTo(0x026A6E0002FEL);
    }

    @Test
    void localDestinationGoesThroughInputToTheLocalSink() {
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4)));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ETH0_ADDR)));
        assertThat(h.out).containsExactly("local eth0");
        assertThat(h.events).containsExactly("route local", "INPUT filter");
        assertThat(ipOf(frame(0, 0, h.lastFrame())).ttl()).isEqualTo(64);
    }

    @Test
    void addressOfAnotherInterfaceIsLocalToo() {
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, DatapathHarness.ETH1_ADDR)));
        assertThat(h.out).containsExactly("local eth0");
    }

    @Test
    void framesForAnotherMacAreDroppedBeforePrerouting() {
        h.receive("eth0", frame(0x02AAAAAAAAAAL, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.out).isEmpty();
        assertThat(h.events).containsExactly("dropped OTHERHOST");
    }

    @Test
    void linkLayerBroadcastOfAUnicastDatagramIsNotForwarded() {
        h.receive("eth0", frame(0xFFFFFFFFFFFFL, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.events).containsExactly("route forward dev eth1 via 10.0.2.20", "dropped NOT_PACKET_HOST");
    }

    @Test
    void badHeaderChecksumIsDroppedByIpRcv() {
        MemorySegment p = tcp(CLIENT, SERVER);
        p.set(ValueLayout.JAVA_BYTE, 10, (byte) (p.get(ValueLayout.JAVA_BYTE, 10) ^ 1));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, p));
        assertThat(h.events).containsExactly("dropped IP_CSUM");
    }

    @Test
    void arpIsNotAnswered() {
        MemorySegment f = frame(0xFFFFFFFFFFFFL, CLIENT_MAC, tcp(CLIENT, SERVER));
        f.set(ValueLayout.JAVA_BYTE, 12, (byte) 0x08);
        f.set(ValueLayout.JAVA_BYTE, 13, (byte) 0x06);
        h.receive("eth0", f);
        assertThat(h.events).containsExactly("dropped ARP_NOT_ANSWERED");
    }

    @Test
    void withoutForwardingPacketsForOthersAreDroppedSilently() {
        h.host.sysctl("net.ipv4.ip_forward", "0");
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.out).isEmpty();
        assertThat(h.replyRequests).isEmpty();
        assertThat(h.events).containsExactly("route error unreachable errno 113", "dropped IP_INADDRERRORS");
    }

    @Test
    void ttlOneSendsTimeExceededBackToTheSource() {
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER, 1, 0, 0)));
        assertThat(h.replyRequests).containsExactly("icmp 11/0 info 0");
        assertThat(h.out).containsExactly("tx eth0");
        Ipv4Header icmp = ipOf(h.lastFrame());
        assertThat(icmp.destination()).isEqualTo(CLIENT);
        assertThat(icmp.source()).isEqualTo(ETH0_ADDR);
        assertThat(icmp.checksumValid()).isTrue();
        assertThat(u48(h.lastFrame(), 0)).isEqualTo(CLIENT_MAC);
        assertThat(h.events).endsWith("generated ICMP time exceeded", "route output dev eth0 via 10.0.1.10",
                "dropped TTL_EXPIRED");
    }

    @Test
    void dontFragmentLargerThanTheEgressMtuSendsFragmentationNeededWithTheMtu() {
        h.host.setMtu("eth1", 1000);
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER, 64, Ipv4Header.FLAG_DF, 1200)));
        assertThat(h.replyRequests).containsExactly("icmp 3/4 info 1000");
        assertThat(h.out).containsExactly("tx eth0");
        assertThat(h.events).endsWith("dropped PKT_TOO_BIG");
    }

    @Test
    void largerThanTheMtuWithoutDontFragmentIsFragmented() {
        h.host.setMtu("eth1", 1000);
        MemorySegment original = tcp(CLIENT, SERVER, 64, 0, 2400);
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, original));
        assertThat(h.out).containsExactly("tx eth1", "tx eth1", "tx eth1");
        byte[] payload = new byte[(int) original.byteSize() - 20];
        int at = 0;
        for (int i = 0; i < 3; i++) {
            MemorySegment f = h.frames.get(i);
            Ipv4Header ip = ipOf(f);
            assertThat(ip.checksumValid()).isTrue();
            assertThat(ip.totalLength()).isLessThanOrEqualTo(1000);
            assertThat(ip.fragmentOffset() * 8).isEqualTo(at);
            assertThat(ip.moreFragments()).isEqualTo(i < 2);
            assertThat(ip.ttl()).isEqualTo(63);
            int n = ip.totalLength() - 20;
            if (i < 2) {
                assertThat(n).isEqualTo(976);
            }
            MemorySegment.copy(f, 34, MemorySegment.ofArray(payload), at, n);
            at += n;
        }
        assertThat(at).isEqualTo(payload.length);
        assertThat(payload).isEqualTo(original.asSlice(20).toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void noRouteWithForwardingSendsNetUnreachable() {
        DatapathHarness noDefault = new DatapathHarness(DatapathHarness.HOST.replace("route add default via 10.0.2.254\n", ""));
        noDefault.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ip(192, 0, 2, 7))));
        assertThat(noDefault.replyRequests).containsExactly("icmp 3/0 info 0");
        assertThat(noDefault.events).endsWith("dropped IP_INNOROUTES");
    }

    @Test
    void prohibitRouteSendsAdministrativelyProhibited() {
        DatapathHarness p = new DatapathHarness(DatapathHarness.HOST + "route add prohibit 192.0.2.0/24\n");
        p.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ip(192, 0, 2, 7))));
        assertThat(p.replyRequests).containsExactly("icmp 3/13 info 0");
    }

    @Test
    void blackholeRouteDropsWithoutAnswer() {
        DatapathHarness p = new DatapathHarness(DatapathHarness.HOST + "route add blackhole 192.0.2.0/24\n");
        p.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ip(192, 0, 2, 7))));
        assertThat(p.replyRequests).isEmpty();
        assertThat(p.events).endsWith("dropped BLACKHOLE");
    }

    @Test
    void strictReversePathFilterDropsASourceRoutedElsewhere() {
        h.host.sysctl("net.ipv4.conf.eth0.rp_filter", "1");
        // 10.0.2.20 is reached through eth1, not eth0
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(SERVER, ip(192, 0, 2, 7))));
        assertThat(h.out).isEmpty();
        assertThat(h.replyRequests).isEmpty();
        assertThat(h.events).containsExactly("route error unspec errno 22", "dropped IP_RPFILTER");
        h.events.clear();
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ip(192, 0, 2, 7))));
        assertThat(h.out).containsExactly("tx eth1");
    }

    @Test
    void martianSourceIsDroppedSilently() {
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(ip(127, 0, 0, 1), SERVER)));
        assertThat(h.events).containsExactly("route error unspec errno 22", "dropped IP_INVALID_SOURCE");
    }

    @Test
    void leavingByTheIngressInterfaceToAnOnLinkSourceSendsARedirectAndForwards() {
        DatapathHarness r = new DatapathHarness(DatapathHarness.HOST + "route add 192.0.2.0/24 via 10.0.1.254\n");
        r.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ip(192, 0, 2, 7))));
        // gateway 10.0.1.254 = 0x0a0001fe
        assertThat(r.replyRequests).containsExactly("icmp 5/1 info " + 0x0A0001FEL);
        assertThat(r.out).containsExactly("tx eth0", "tx eth0");
        r.host.sysctl("net.ipv4.conf.all.send_redirects", "0");
        r.host.sysctl("net.ipv4.conf.eth0.send_redirects", "0");
        r.replyRequests.clear();
        r.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ip(192, 0, 2, 7))));
        assertThat(r.replyRequests).isEmpty();
    }

    @Test
    void localOutputSelectsTheSourceAndLeavesByTheRoutedInterface() {
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4),
                table(TableKind.MANGLE, Family.IPV4)));
        h.sendLocal(tcp(0, SERVER));
        assertThat(h.out).containsExactly("tx eth1");
        Ipv4Header ip = ipOf(h.lastFrame());
        assertThat(ip.source()).isEqualTo(DatapathHarness.ETH1_ADDR);
        assertThat(ip.checksumValid()).isTrue();
        assertThat(ip.ttl()).isEqualTo(64);
        assertThat(h.events).containsExactly("route output dev eth1 via 10.0.2.20", "OUTPUT mangle",
                "OUTPUT filter", "POSTROUTING mangle");
    }

    @Test
    void localToLocalLoopsThroughLo() {
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4),
                table(TableKind.RAW, Family.IPV4)));
        h.sendLocal(tcp(0, ETH0_ADDR));
        assertThat(h.out).containsExactly("local lo");
        assertThat(h.events).containsExactly("route local dev lo", "OUTPUT raw", "OUTPUT filter",
                "looped back", "PREROUTING raw", "route local dev lo", "INPUT filter");
        assertThat(ipOf(frame(0, 0, h.lastFrame())).source()).isEqualTo(ETH0_ADDR);
    }

    @Test
    void localPacketWithoutRouteIsDropped() {
        DatapathHarness noDefault = new DatapathHarness(DatapathHarness.HOST.replace("route add default via 10.0.2.254\n", ""));
        noDefault.sendLocal(tcp(0, ip(192, 0, 2, 7)));
        assertThat(noDefault.events).containsExactly("route error unreachable errno 101", "dropped IP_OUTNOROUTES");
    }

    @Test
    void markSetByMangleOutputReroutesByFwmarkRule() {
        var mark = rule(ANY, target(ANY, "MARK", "--set-mark", "1"));
        h.datapath.rules(Family.IPV4, rules(Family.IPV4,
                table(TableKind.MANGLE, Family.IPV4, builtin("OUTPUT", "ACCEPT", mark))));
        h.sendLocal(tcp(0, ip(192, 0, 2, 7)));
        assertThat(h.out).containsExactly("tx eth2");
        assertThat(h.events).containsSubsequence("route output dev eth1 via 10.0.2.254", "OUTPUT mangle",
                "route output dev eth2 via 10.0.3.254", "POSTROUTING mangle");
        // the source was chosen for eth1 before the re-route, as a socket's is
        assertThat(ipOf(h.lastFrame()).source()).isEqualTo(DatapathHarness.ETH1_ADDR);
    }

    @Test
    void markSetInTheFilterTableDoesNotReroute() {
        var mark = rule(ANY, target(ANY, "MARK", "--set-mark", "1"));
        h.datapath.rules(Family.IPV4, rules(Family.IPV4,
                table(TableKind.FILTER, Family.IPV4, builtin("OUTPUT", "ACCEPT", mark))));
        h.sendLocal(tcp(0, ip(192, 0, 2, 7)));
        assertThat(h.out).containsExactly("tx eth1");
    }

    @Test
    void markSetInPreroutingSelectsThePolicyRoute() {
        var mark = rule(ANY, target(ANY, "MARK", "--set-mark", "1"));
        h.datapath.rules(Family.IPV4, rules(Family.IPV4,
                table(TableKind.MANGLE, Family.IPV4, builtin("PREROUTING", "ACCEPT", mark))));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ip(192, 0, 2, 7))));
        assertThat(h.out).containsExactly("tx eth2");
    }

    @Test
    void rejectInForwardSendsTheReplyThroughOutputAndDropsTheOriginal() {
        var reject = rule(TCP, target(TCP, "REJECT"));
        Ruleset r = rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4, builtin("FORWARD", "ACCEPT", reject)));
        h.datapath.rules(Family.IPV4, r);
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        // ipt_reject_with IPT_ICMP_PORT_UNREACHABLE = 3, the default
        assertThat(h.replyRequests).containsExactly("reject 3 at FORWARD");
        assertThat(h.out).containsExactly("tx eth0");
        assertThat(h.events).containsSubsequence("FORWARD filter DROP", "generated REJECT",
                "route output dev eth0 via 10.0.1.10", "OUTPUT filter", "dropped NETFILTER_DROP");
        Ipv4Header reply = ipOf(h.lastFrame());
        assertThat(reply.source()).isEqualTo(SERVER);
        assertThat(reply.destination()).isEqualTo(CLIENT);
    }

    @Test
    void aLocalDatagramWithDontFragmentAndNoIdKeepsIdZeroAsIpSelectIdentWithoutASocketLeavesIt() {
        // Linux 6.18 (difftest seed 11 case 11000138): dut's own TCP reset (DF, no connected socket) carries ID 0,
        // quoted so by the port unreachable a REJECT in OUTPUT sends about it; raw_send_hdrinc's ip_select_ident
        // without a socket draws an ID only when DF is clear
        MemorySegment df = tcp(ETH0_ADDR, CLIENT, 64, 0x4000, 0);
        Ipv4Header ip = new Ipv4Header().wrap(df, 0);
        ip.identification(0);
        ip.updateChecksum();
        h.sendLocal(df);
        assertThat(h.out).containsExactly("tx eth0");
        assertThat(ipOf(h.lastFrame()).identification()).isZero();
        assertThat(ipOf(h.lastFrame()).checksumValid()).isTrue();
    }

    @Test
    void rejectWithoutAReplyBuilderOnlyDrops() {
        var reject = rule(TCP, target(TCP, "REJECT"));
        h.datapath.replies(Replies.NONE);
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4,
                builtin("FORWARD", "ACCEPT", reject))));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.out).isEmpty();
        assertThat(h.events).endsWith("dropped NETFILTER_DROP");
    }

    @Test
    void rulesPublishedLaterApplyToTheNextPacket() {
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        h.datapath.rules(Family.IPV4, filterForwardDrop());
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4)));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.out).containsExactly("tx eth1", "tx eth1");
    }

    @Test
    void rawIpIngressIsTakenAsAddressedToTheHost() {
        h.datapath.receive("eth0", tcp(CLIENT, SERVER), false, 0, h.trace);
        assertThat(h.out).containsExactly("tx eth1");
    }

    @Test
    void hostChangesAreSeenByTheRouteCache() {
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ip(192, 0, 2, 7))));
        h.host.addRoute(new org.jnetfilter.core.host.Route(org.jnetfilter.core.host.Host.TABLE_MAIN,
                org.jnetfilter.core.host.RouteType.UNICAST, org.jnetfilter.core.rules.IpNet.ipv4(ip(192, 0, 2, 0), 24),
                0, null, "eth2", null, false));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ip(192, 0, 2, 7))));
        assertThat(h.out).containsExactly("tx eth1", "tx eth2");
    }

    @Test
    void embedderHookFunctionsRunInPriorityOrderBesideTheTables() {
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4)));
        h.datapath.netfilter().register(Family.IPV4, org.jnetfilter.core.rules.Hook.FORWARD, 10, "after", p -> Verdict.ACCEPT);
        h.datapath.netfilter().register(Family.IPV4, org.jnetfilter.core.rules.Hook.FORWARD, -10, "before", p -> Verdict.ACCEPT);
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.events).containsSubsequence("FORWARD before", "FORWARD filter", "FORWARD after");
    }

    @Test
    void aStolenPacketGoesNoFurther() {
        h.datapath.netfilter().register(Family.IPV4, org.jnetfilter.core.rules.Hook.PREROUTING, 0, "thief",
                p -> Verdict.STOLEN);
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.out).isEmpty();
        assertThat(h.events).containsExactly("PREROUTING thief", "PREROUTING thief STOLEN");
    }

    @Test
    void hookModulesAreRegisteredWhileTheRulesNeedThem() {
        List<String> registered = new java.util.ArrayList<>();
        h.datapath.module(new HookModule() {
            @Override
            public boolean needed(Family family, Ruleset rules) {
                return rules.table(TableKind.NAT) != null;
            }

            @Override
            public List<Netfilter.Registration> register(Netfilter nf, Family family,
                    java.util.function.Supplier<Ruleset> rules) {
                registered.add(family.name());
                return List.of(nf.register(family, org.jnetfilter.core.rules.Hook.PREROUTING, Priorities.CONNTRACK,
                        "conntrack", p -> Verdict.ACCEPT));
            }
        });
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.events).doesNotContain("PREROUTING conntrack");
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.NAT, Family.IPV4)));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.events).contains("PREROUTING conntrack");
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4)));
        h.events.clear();
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.events).doesNotContain("PREROUTING conntrack");
        assertThat(registered).containsExactly("IPV4");
    }

    @Test
    void rejectWithTcpResetSendsTheKernelsResetFromTheOriginalDestination() {
        h.datapath.replies(Replies.kernel(h.host, 0));
        var reject = rule(TCP, target(TCP, "REJECT", "--reject-with", "tcp-reset"));
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4,
                builtin("FORWARD", "ACCEPT", reject))));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.out).containsExactly("tx eth0");
        MemorySegment f = h.lastFrame();
        Ipv4Header ip = ipOf(f);
        assertThat(ip.source()).isEqualTo(SERVER);
        assertThat(ip.destination()).isEqualTo(CLIENT);
        assertThat(ip.protocol()).isEqualTo(6);
        assertThat(ip.checksumValid()).isTrue();
        // RST|ACK to the SYN: ports swapped
        assertThat(Byte.toUnsignedInt(f.get(ValueLayout.JAVA_BYTE, 34 + 13))).isEqualTo(0x14);
        assertThat(Short.toUnsignedInt(f.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN),
                34 + 2))).isEqualTo(40000);
        assertThat(h.events).containsSubsequence("FORWARD filter DROP", "generated REJECT", "dropped NETFILTER_DROP");
    }

    @Test
    void rejectsIcmpAnswerLeavesOnTheKernelsControlSocketAndItsTcpResetOnNone() {
        // Linux 6.18 (the packet differential test): icmp_send answers from the namespace's ICMP socket, which
        // xt_owner --socket-exists finds; nf_send_reset builds its reset without a socket
        h.datapath.replies(Replies.kernel(h.host, 0));
        var socketless = rule(ANY, verdict("DROP"), Fixtures.match(ANY, "owner", "--socket-exists"));
        for (String with : List.of("icmp-port-unreachable", "tcp-reset")) {
            h.out.clear();
            h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4,
                    builtin("FORWARD", "ACCEPT", rule(TCP, target(TCP, "REJECT", "--reject-with", with))),
                    builtin("OUTPUT", "ACCEPT", socketless))));
            h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
            assertThat(h.out).as(with).isEqualTo(with.equals("tcp-reset") ? List.of("tx eth0") : List.of());
        }
    }

    @Test
    void anIcmpErrorAboutRejectsTcpResetQuotesItsPartialChecksum() {
        // Linux 6.18 (checked in a namespace): the reset leaves nf_send_reset with CHECKSUM_PARTIAL, the field holding
        // the pseudo-header's sum; REJECT in OUTPUT quotes it so, while the reset itself would leave complete
        h.datapath.replies(Replies.kernel(h.host, 0));
        var reset = rule(TCP, target(TCP, "REJECT", "--reject-with", "tcp-reset"));
        var unreachable = rule(TCP, target(TCP, "REJECT"));
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4,
                builtin("FORWARD", "ACCEPT", reset), builtin("OUTPUT", "ACCEPT", unreachable))));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.out).containsExactly("tx eth1");
        MemorySegment f = h.lastFrame();
        Ipv4Header ip = ipOf(f);
        assertThat(ip.protocol()).isEqualTo(1);
        assertThat(ip.destination()).isEqualTo(SERVER);
        var u16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
        int quote = 14 + 20 + 8;
        assertThat(Short.toUnsignedInt(f.get(u16, quote + 20 + 16))).isEqualTo(
                org.jnetfilter.core.packet.Checksums.pseudoV4(SERVER, CLIENT, 6, 20));
        assertThat(org.jnetfilter.core.packet.Checksums.icmpValid(f, 14 + 20, ip.totalLength() - 20)).isTrue();
    }

    @Test
    void tcpmssClampToPmtuInForwardUsesTheEgressMtu() {
        h.host.setMtu("eth1", 1000);
        var clamp = rule(TCP, target(TCP, "TCPMSS", "--clamp-mss-to-pmtu"),
                Fixtures.match(TCP, "tcp", "--tcp-flags", "SYN,RST", "SYN"));
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.MANGLE, Family.IPV4,
                builtin("FORWARD", "ACCEPT", clamp))));
        byte[] syn = Fixtures.tcp(40000, 80, 0x02, 2, 4, 0x05, 0xb4);
        MemorySegment p = Fixtures.ipv4(CLIENT, SERVER, 6, 0, 64, syn);
        new Ipv4Header().wrap(p, 0).updateChecksum();
        var u16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
        p.set(u16, 36, (short) org.jnetfilter.core.packet.Checksums.tcpV4(p, 20, syn.length, CLIENT, SERVER));
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, p));
        MemorySegment f = h.lastFrame();
        // min(1000, route back to 10.0.1.10 by eth0: 1500) - 40
        assertThat(Short.toUnsignedInt(f.get(u16, 14 + 20 + 22))).isEqualTo(960);
        assertThat(org.jnetfilter.core.packet.Checksums.tcpV4Valid(f, 34, syn.length, CLIENT, SERVER)).isTrue();
    }

    @Test
    void routeErrorsShareTheSendersPeerWithTheErrorsPerDestinationLimitSoTwoAreAnsweredThenNoneForSeconds() {
        // Linux 6.18 with its default sysctls (checked in a netns: five packets to no route from one sender at 0,
        // 5 and 10 ms, 1.3 s and 1.305 s: two net unreachables, then none): ip_error takes a second's tokens from the
        // sender's inet_peer (a burst of five seconds) and icmp_send's per-destination limit, icmp_ratelimit 1000 ms,
        // takes another from the same peer
        DatapathHarness noDefault = new DatapathHarness(DatapathHarness.HOST.replace("route add default via 10.0.2.254\n", ""));
        noDefault.datapath.replies(Replies.kernel(noDefault.host, 0));
        MemorySegment f = frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ip(192, 0, 2, 7)));
        MemorySegment other = frame(ETH0_MAC, CLIENT_MAC, tcp(ip(10, 0, 1, 11), ip(192, 0, 2, 7)));
        for (long at : new long[] {0, 5, 10, 1300, 1305}) {
            noDefault.datapath.receive("eth0", f, true, 1_000_000_000L + at * 1_000_000L, noDefault.trace);
        }
        assertThat(noDefault.out).hasSize(2);
        assertThat(noDefault.events).containsSubsequence("generated ICMP net unreachable", "generated ICMP net unreachable");
        // another sender has a peer of its own
        noDefault.datapath.receive("eth0", other, true, 2_310_000_000L, noDefault.trace);
        assertThat(noDefault.out).hasSize(3);
    }

    @Test
    void withNoIcmpTypeRateLimitedRouteErrorsMeetOnlyIpErrorsOwnBurstOfFive() {
        // Linux 6.18 with icmp_ratemask 0 and icmp_ratelimit 0 (checked in a netns, 3 runs: packets to no route from
        // one sender at 0, 5, ..., 30 ms, 1.3 s and 1.305 s: six net unreachables): icmp_send neither consults nor
        // stamps the sender's peer, so ip_error's bucket of five seconds, a second per error, is all that limits
        DatapathHarness noDefault = new DatapathHarness(DatapathHarness.HOST.replace("route add default via 10.0.2.254\n", ""));
        noDefault.datapath.replies(Replies.kernel(new org.jnetfilter.core.reply.IcmpErrors(noDefault.host, 0)
                .sysctl("net.ipv4.icmp_ratemask", 0).sysctl("net.ipv4.icmp_ratelimit", 0)));
        MemorySegment f = frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ip(192, 0, 2, 7)));
        for (long at : new long[] {0, 5, 10, 15, 20, 25, 30, 1300, 1305}) {
            noDefault.datapath.receive("eth0", f, true, 1_000_000_000L + at * 1_000_000L, noDefault.trace);
        }
        assertThat(noDefault.out).hasSize(6);
    }
}
