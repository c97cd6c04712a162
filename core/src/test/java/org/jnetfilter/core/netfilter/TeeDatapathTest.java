package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.DatapathHarness.CLIENT;
import static org.jnetfilter.core.netfilter.DatapathHarness.CLIENT_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH0_ADDR;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH0_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH1_ADDR;
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
import static org.jnetfilter.core.netfilter.Fixtures.jump;
import static org.jnetfilter.core.netfilter.Fixtures.user;
import static org.jnetfilter.core.netfilter.Fixtures.rule;
import static org.jnetfilter.core.netfilter.Fixtures.target;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.api.Test;

/** TEE (xt_TEE, nf_dup_ipv4): a copy to the gateway through OUTPUT and POSTROUTING; the original goes on. */
class TeeDatapathTest {
    static final IpSpec ANY = IpSpec.any(Family.IPV4);
    final DatapathHarness h = new DatapathHarness();

    /** mangle with a TEE to {@code gateway} in PREROUTING and one in OUTPUT, both counted. */
    Ruleset teeIn(String chain, String gateway) {
        return rules(Family.IPV4, table(TableKind.MANGLE, Family.IPV4,
                builtin("PREROUTING", "ACCEPT", chain.equals("PREROUTING")
                        ? new org.jnetfilter.core.rules.Rule[] {rule(target(ANY, "TEE", "--gateway", gateway))}
                        : new org.jnetfilter.core.rules.Rule[0]),
                builtin("INPUT", "ACCEPT"), builtin("FORWARD", "ACCEPT"),
                builtin("OUTPUT", "ACCEPT", rule(target(ANY, "TEE", "--gateway", gateway))),
                builtin("POSTROUTING", "ACCEPT", rule(ANY, new org.jnetfilter.core.rules.Target.None()))));
    }

    @Test
    void aCopyGoesToTheGatewayWithDfAndOneTtlLessWhileTheOriginalIsForwarded() {
        Ruleset r = teeIn("PREROUTING", "10.0.2.20");
        h.datapath.rules(Family.IPV4, r);
        // to 192.0.2.7, forwarded by the default route via 10.0.2.254
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, org.jnetfilter.core.netfilter.Fixtures.ip(
                192, 0, 2, 7))));
        assertThat(h.out).containsExactly("tx eth1", "tx eth1");
        MemorySegment copy = h.frames.get(0);
        assertThat(u48(copy, 0)).as("to the gateway's MAC").isEqualTo(SERVER_MAC);
        assertThat(u48(copy, 6)).isEqualTo(ETH1_MAC);
        Ipv4Header ip = ipOf(copy);
        assertThat(ip.destination()).isEqualTo(org.jnetfilter.core.netfilter.Fixtures.ip(192, 0, 2, 7));
        assertThat(ip.ttl()).isEqualTo(63);
        assertThat(ip.dontFragment()).isTrue();
        assertThat(ip.checksumValid()).isTrue();
        Ipv4Header original = ipOf(h.frames.get(1));
        assertThat(u48(h.frames.get(1), 0)).as("the original to the default gateway").isEqualTo(0x026A6E0002FEL);
        assertThat(original.ttl()).isEqualTo(63);
        assertThat(original.dontFragment()).isFalse();
        // the copy met the OUTPUT TEE (counted, no second copy) and POSTROUTING, as the original did
        assertThat(r.table(TableKind.MANGLE).chain("OUTPUT").rules().get(0).counters().packets()).isEqualTo(1);
        assertThat(r.table(TableKind.MANGLE).chain("POSTROUTING").rules().get(0).counters().packets()).isEqualTo(2);
    }

    @Test
    void aCopyWalkedInsideTheOriginalsWalkLeavesTheOriginalsJumpStackToTheCompiledClassifiers() {
        // Linux: the copy is walked at once, nested in the original's ipt_do_table, on a jump stack of its own
        // (offset by nf_skb_duplicated); the original then returns from its user chain and goes on
        org.jnetfilter.core.rules.Rule mark = rule(target(ANY, "MARK", "--set-mark", "7"));
        Ruleset r = rules(Family.IPV4, table(TableKind.MANGLE, Family.IPV4,
                builtin("PREROUTING", "ACCEPT", rule(ANY, jump("TEEING")), mark),
                builtin("INPUT", "ACCEPT"), builtin("FORWARD", "ACCEPT"),
                builtin("OUTPUT", "ACCEPT", rule(ANY, jump("OUT1"))),
                builtin("POSTROUTING", "ACCEPT", rule(ANY, new org.jnetfilter.core.rules.Target.None())),
                user("TEEING", rule(target(ANY, "TEE", "--gateway", "10.0.2.20"))),
                user("OUT1", rule(ANY, jump("OUT2"))),
                user("OUT2", rule(ANY, new org.jnetfilter.core.rules.Target.None()))));
        h.datapath.walker(TableWalker.CLASSIFIED);
        h.datapath.rules(Family.IPV4, r);
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, org.jnetfilter.core.netfilter.Fixtures.ip(
                192, 0, 2, 7))));
        assertThat(h.out).containsExactly("tx eth1", "tx eth1");
        var mangle = r.table(TableKind.MANGLE);
        assertThat(mangle.chain("OUT2").rules().get(0).counters().packets()).as("the copy's nested walk").isEqualTo(1);
        assertThat(mangle.chain("PREROUTING").rules().get(1).counters().packets()).as("the original, back from TEEING")
                .isEqualTo(1);
        assertThat(mangle.chain("POSTROUTING").rules().get(0).counters().packets()).isEqualTo(2);
    }

    @Test
    void anErrorAboutACopyToALocalAddressComesFromTheAddressTheRouteBackSelectsNotFromTheCopysDestination() {
        // Linux 6.18 (difftest seeds 1 and 7): __icmp_send takes the original's destination as the source only when
        // the skb's route is RTCF_LOCAL; a TEE copy of a packet for this host is routed to its gateway, so REJECT
        // of the copy in OUTPUT answers from what the route back to the sender selects (eth0's 10.0.1.1), while the
        // original, delivered locally, would be answered from its destination (eth1's 10.0.2.1)
        org.jnetfilter.core.rules.Rule reject = rule(target(ANY, "REJECT", "--reject-with", "icmp-host-prohibited"),
                Fixtures.match(ANY, "length", "--length", "28"));
        Ruleset r = rules(Family.IPV4,
                table(TableKind.MANGLE, Family.IPV4, builtin("PREROUTING", "ACCEPT"),
                        builtin("INPUT", "ACCEPT", rule(target(ANY, "TEE", "--gateway", "10.0.1.20"))),
                        builtin("FORWARD", "ACCEPT"), builtin("OUTPUT", "ACCEPT"), builtin("POSTROUTING", "ACCEPT")),
                table(TableKind.FILTER, Family.IPV4, builtin("INPUT", "ACCEPT"), builtin("FORWARD", "ACCEPT"),
                        builtin("OUTPUT", "ACCEPT", reject)));
        h.datapath.replies(Replies.kernel(h.host, 0));
        h.datapath.rules(Family.IPV4, r);
        MemorySegment udp = Fixtures.ipv4(CLIENT, ETH1_ADDR, 17, 0, 64, Fixtures.udp(30006, 53));
        new Ipv4Header().wrap(udp, 0).updateChecksum();
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, udp));
        assertThat(h.out).containsExactly("tx eth0", "local eth0");
        Ipv4Header error = ipOf(h.frames.get(0));
        assertThat(error.protocol()).isEqualTo(1);
        assertThat(Byte.toUnsignedInt(h.frames.get(0).get(java.lang.foreign.ValueLayout.JAVA_BYTE, 14 + 20)))
                .as("ICMP destination unreachable").isEqualTo(3);
        assertThat(Byte.toUnsignedInt(h.frames.get(0).get(java.lang.foreign.ValueLayout.JAVA_BYTE, 14 + 21)))
                .as("host prohibited").isEqualTo(10);
        assertThat(error.source()).as("the route back to the sender selects eth0's address").isEqualTo(ETH0_ADDR);
        assertThat(error.destination()).isEqualTo(CLIENT);
    }

    @Test
    void anErrorSentToAnAddressLeavesItsNextPacketWithoutARouteUnansweredForASecond() {
        // Linux 6.18 (difftest seeds 7 and 9, checked in a netns with icmp_ratelimit 0): ip_error's limit is the
        // inet_peer of the sender, the peer icmp_send's per-destination limit keeps for errors sent to it. REJECT of
        // a TEE copy answers the sender first (its peer's tokens capped at 6 * icmp_ratelimit = 0, rate_last now), so
        // ip_error sends no host unreachable for the original; a second later the sender's next such packet is
        // answered, and one right after it is not (less than a second's tokens)
        DatapathHarness h = new DatapathHarness(DatapathHarness.HOST + "route add unreachable 198.51.100.0/24\n");
        IpSpec tcp = ANY.withProtocol(6);
        Ruleset r = rules(Family.IPV4,
                table(TableKind.MANGLE, Family.IPV4,
                        builtin("PREROUTING", "ACCEPT", rule(tcp, target(tcp, "TEE", "--gateway", "10.0.1.20"))),
                        builtin("INPUT", "ACCEPT"), builtin("FORWARD", "ACCEPT"), builtin("OUTPUT", "ACCEPT"),
                        builtin("POSTROUTING", "ACCEPT")),
                table(TableKind.FILTER, Family.IPV4, builtin("INPUT", "ACCEPT"), builtin("FORWARD", "ACCEPT"),
                        builtin("OUTPUT", "ACCEPT", rule(tcp, target(tcp, "REJECT")))));
        org.jnetfilter.core.reply.IcmpErrors icmp = new org.jnetfilter.core.reply.IcmpErrors(h.host, 0)
                .sysctl("net.ipv4.icmp_ratelimit", 0);
        org.jnetfilter.core.reply.RejectReplies reject = new org.jnetfilter.core.reply.RejectReplies(icmp);
        h.datapath.replies(new Replies() {
            @Override
            public org.jnetfilter.core.reply.Reply reject(PacketContext pkt, int rejectWith) {
                return reject.reply(pkt, rejectWith);
            }

            @Override
            public org.jnetfilter.core.reply.Reply icmpError(PacketContext pkt, int type, int code, int info) {
                return icmp.send(pkt, type, code, info);
            }

            @Override
            public boolean ipErrorAllowed(PacketContext pkt) {
                return icmp.ipErrorAllow(pkt);
            }
        });
        h.datapath.rules(Family.IPV4, r);
        int nowhere = Fixtures.ip(198, 51, 100, 7);
        h.datapath.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, nowhere)), true, 1_000_000_000L, Trace.NONE);
        assertThat(h.out).as("the copy's port unreachable only").containsExactly("tx eth0");
        assertThat(icmpTypeCode(h.frames.get(0))).isEqualTo("3/3");
        MemorySegment udp = Fixtures.ipv4(CLIENT, nowhere, 17, 0, 64, Fixtures.udp(30012, 53));
        new Ipv4Header().wrap(udp, 0).updateChecksum();
        h.datapath.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, udp), true, 2_100_000_000L, Trace.NONE);
        assertThat(h.out).containsExactly("tx eth0", "tx eth0");
        assertThat(icmpTypeCode(h.frames.get(1))).as("host unreachable a second later").isEqualTo("3/1");
        h.datapath.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, udp), true, 2_110_000_000L, Trace.NONE);
        assertThat(h.out).as("nothing 10 ms after").containsExactly("tx eth0", "tx eth0");
    }

    static String icmpTypeCode(MemorySegment frame) {
        int at = 14 + ipOf(frame).headerLength();
        return Byte.toUnsignedInt(frame.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at)) + "/"
                + Byte.toUnsignedInt(frame.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at + 1));
    }

    @Test
    void anErrorAboutALocallyDeliveredPacketComesFromItsDestination() {
        // the same REJECT in INPUT: the route is local, the source is the destination the sender chose (eth1's)
        org.jnetfilter.core.rules.Rule reject = rule(target(ANY, "REJECT", "--reject-with", "icmp-host-prohibited"));
        Ruleset r = rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4, builtin("INPUT", "ACCEPT", reject),
                builtin("FORWARD", "ACCEPT"), builtin("OUTPUT", "ACCEPT")));
        h.datapath.replies(Replies.kernel(h.host, 0));
        h.datapath.rules(Family.IPV4, r);
        MemorySegment udp = Fixtures.ipv4(CLIENT, ETH1_ADDR, 17, 0, 64, Fixtures.udp(30006, 53));
        new Ipv4Header().wrap(udp, 0).updateChecksum();
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, udp));
        assertThat(h.out).containsExactly("tx eth0");
        assertThat(ipOf(h.frames.get(0)).source()).isEqualTo(ETH1_ADDR);
    }

    @Test
    void aLocallySentPacketIsCopiedWithItsTtl() {
        h.datapath.rules(Family.IPV4, teeIn("OUTPUT", "10.0.1.10"));
        h.datapath.sendLocal(tcp(ETH0_ADDR, SERVER), 0, Trace.NONE);
        assertThat(h.out).containsExactly("tx eth0", "tx eth1");
        assertThat(u48(h.frames.get(0), 0)).isEqualTo(CLIENT_MAC);
        assertThat(ipOf(h.frames.get(0)).ttl()).isEqualTo(ipOf(h.frames.get(1)).ttl());
        assertThat(ipOf(h.frames.get(0)).destination()).isEqualTo(SERVER);
    }

    @Test
    void aCopyOfABroadcastIsStillABroadcastToPkttypeInOutputAndPostrouting() {
        // Linux 6.18 (difftest, TEE in INPUT of a UDP broadcast): pskb_copy keeps pkt_type, so the copy on its way to
        // the gateway is no unicast to -m pkttype in OUTPUT
        // (counted without a mark: a mark changed in OUTPUT would route the copy again by its destination, to the
        // limited broadcast, and loop it back: aCopyOfABroadcastRoutedAgainToTheBroadcastAddressByItsMarkIsLooped...)
        org.jnetfilter.core.rules.Rule unicast = rule(new org.jnetfilter.core.rules.Target.None(),
                Fixtures.match(ANY, "pkttype", "--pkt-type", "unicast"));
        org.jnetfilter.core.rules.Rule broadcast = rule(new org.jnetfilter.core.rules.Target.None(),
                Fixtures.match(ANY, "pkttype", "--pkt-type", "broadcast"));
        Ruleset r = rules(Family.IPV4, table(TableKind.MANGLE, Family.IPV4, builtin("PREROUTING", "ACCEPT"),
                builtin("INPUT", "ACCEPT", rule(target(ANY, "TEE", "--gateway", "10.0.2.20"))),
                builtin("FORWARD", "ACCEPT"), builtin("OUTPUT", "ACCEPT", unicast, broadcast),
                builtin("POSTROUTING", "ACCEPT")));
        h.datapath.rules(Family.IPV4, r);
        MemorySegment udp = org.jnetfilter.core.netfilter.Fixtures.ipv4(CLIENT, 0xFFFFFFFF, 17, 0, 64,
                org.jnetfilter.core.netfilter.Fixtures.udp(40000, 53));
        new Ipv4Header().wrap(udp, 0).updateChecksum();
        h.receive("eth0", frame(0xFFFFFFFFFFFFL, CLIENT_MAC, udp));
        assertThat(h.out).containsExactly("tx eth1", "local eth0");
        assertThat(r.table(TableKind.MANGLE).chain("OUTPUT").rules().get(0).counters().packets()).isZero();
        assertThat(r.table(TableKind.MANGLE).chain("OUTPUT").rules().get(1).counters().packets()).isEqualTo(1);
    }

    @Test
    void noRouteToTheGatewayFreesTheCopy() {
        DatapathHarness noDefault = new DatapathHarness(DatapathHarness.HOST.replace("route add default via 10.0.2.254\n",
                "").replace("route add default via 10.0.3.254 table 100\n", ""));
        noDefault.datapath.rules(Family.IPV4, teeIn("PREROUTING", "198.51.100.1"));
        noDefault.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(noDefault.out).containsExactly("tx eth1");
        assertThat(u48(noDefault.lastFrame(), 0)).isEqualTo(SERVER_MAC);
    }

    /** mangle: TEE to 10.0.1.10 in INPUT, OUTPUT marking (or not), counted in PREROUTING, INPUT and POSTROUTING. */
    Ruleset teeInInputMarkedInOutput(boolean mark) {
        return rules(Family.IPV4, table(TableKind.MANGLE, Family.IPV4,
                builtin("PREROUTING", "ACCEPT", rule(ANY, new org.jnetfilter.core.rules.Target.None())),
                builtin("INPUT", "ACCEPT", rule(ANY, new org.jnetfilter.core.rules.Target.None()),
                        // the looped-back clone keeps the copy's mark: not copied again
                        rule(target(ANY, "TEE", "--gateway", "10.0.1.10"), Fixtures.match(ANY, "mark", "--mark", "0"))),
                builtin("FORWARD", "ACCEPT"),
                mark ? builtin("OUTPUT", "ACCEPT", rule(target(ANY, "MARK", "--or-mark", "0x4")))
                        : builtin("OUTPUT", "ACCEPT"),
                builtin("POSTROUTING", "ACCEPT", rule(ANY, new org.jnetfilter.core.rules.Target.None()))));
    }

    /**
     * A broadcast from 10.0.2.20 to 10.0.2.255 received on eth1 through {@link #teeInInputMarkedInOutput}; the
     * packets counted in PREROUTING, INPUT and POSTROUTING, and the device the copy left by.
     */
    String copyOfABroadcast(boolean markedInOutput) {
        Ruleset r = teeInInputMarkedInOutput(markedInOutput);
        h.datapath.rules(Family.IPV4, r);
        h.receive("eth1", frame(0xffffffffffffL, SERVER_MAC, tcp(SERVER, org.jnetfilter.core.netfilter.Fixtures.ip(
                10, 0, 2, 255))));
        StringBuilder seen = new StringBuilder();
        for (String chain : new String[] {"PREROUTING", "INPUT", "POSTROUTING"}) {
            seen.append(chain).append(' ')
                    .append(r.table(TableKind.MANGLE).chain(chain).rules().get(0).counters().packets()).append(", ");
        }
        return seen.append(h.out.stream().filter(e -> e.startsWith("tx ")).toList()).toString();
    }

    @Test
    void aCopyOfABroadcastRoutedAgainToTheBroadcastAddressByItsMarkIsLoopedBackToThisHost() {
        // Linux 6.18 (difftest seed 11 case 11000199): mangle OUTPUT changing the copy's mark routes it again by its
        // destination (ip_route_me_harder), 10.0.2.255 gets a broadcast route by eth1, and ip_mc_output loops a
        // clone of it back: PREROUTING, INPUT and POSTROUTING count two packets each, the copy leaves by eth1
        assertThat(copyOfABroadcast(true)).isEqualTo("PREROUTING 2, INPUT 2, POSTROUTING 2, [tx eth1]");
    }

    @Test
    void aCopyOfABroadcastLeftRoutedToItsGatewayIsNotLoopedBack() {
        assertThat(copyOfABroadcast(false)).isEqualTo("PREROUTING 1, INPUT 1, POSTROUTING 1, [tx eth0]");
    }
}
