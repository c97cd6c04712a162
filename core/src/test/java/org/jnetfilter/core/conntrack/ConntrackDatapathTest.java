package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ACK;
import static org.jnetfilter.core.conntrack.Packets.PSH;
import static org.jnetfilter.core.conntrack.Packets.SYN;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.PacketSink;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.core.rules.Target;
import org.junit.jupiter.api.Test;

/**
 * Conntrack and NAT plugged into the {@link Datapath} as a {@link ConntrackModule}: a stateful firewall with
 * masquerading on a router, and DNAT of locally generated packets that must be routed again.
 */
class ConntrackDatapathTest {
    static final String HOST = """
            link add eth0 address 02:00:00:00:00:01
            link set eth0 up
            addr add 10.0.1.1/24 dev eth0
            link add eth1 address 02:00:00:00:00:02
            link set eth1 up
            addr add 10.0.2.1/24 dev eth1
            neigh add 10.0.1.10 lladdr 02:00:00:00:01:0a dev eth0
            neigh add 10.0.2.20 lladdr 02:00:00:00:02:14 dev eth1
            neigh add 10.0.2.254 lladdr 02:00:00:00:02:fe dev eth1
            route add default via 10.0.2.254
            sysctl net.ipv4.ip_forward=1
            """;
    static final long ETH0_MAC = 0x020000000001L;
    static final long ETH1_MAC = 0x020000000002L;
    static final int CLIENT = ip("10.0.1.10");
    static final int SERVER = ip("10.0.2.20");
    static final IpSpec ANY = IpSpec.any(Family.IPV4);

    final Host host;
    final Datapath datapath;
    final Conntrack conntrack;
    final List<String> out = new ArrayList<>();
    final List<MemorySegment> frames = new ArrayList<>();

    ConntrackDatapathTest() throws Exception {
        host = HostFile.parse("test", HOST);
        datapath = new Datapath(host, new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
                frames.add(MemorySegment.ofArray(frame.toArray(ValueLayout.JAVA_BYTE)));
                out.add("tx " + ifname);
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment ipPacket) {
                frames.add(MemorySegment.ofArray(ipPacket.toArray(ValueLayout.JAVA_BYTE)));
                out.add("local " + ifname);
            }
        });
        conntrack = new Conntrack(host);
        datapath.module(new ConntrackModule(conntrack));
    }

    static MemorySegment frame(long dstMac, long srcMac, MemorySegment ip) {
        byte[] bytes = ip.toArray(ValueLayout.JAVA_BYTE);
        ByteBuffer b = ByteBuffer.allocate(14 + bytes.length);
        b.putShort((short) (dstMac >>> 32)).putInt((int) dstMac).putShort((short) (srcMac >>> 32)).putInt((int) srcMac)
                .putShort((short) 0x0800).put(bytes);
        return MemorySegment.ofArray(b.array());
    }

    static Rule accept(IpSpec ip, String... state) {
        return new Rule(new RuleSpec(ip, List.of(Rules.matchOf(ip, "state", state)), Target.verdictOrNull("ACCEPT")),
                Counters.zero());
    }

    static Chain chain(String name, String policy, Rule... rules) {
        return Chain.builtin(name).withPolicy(policy, Counters.zero()).withRules(RuleList.of(List.of(rules)));
    }

    /** FORWARD: policy DROP, accept ESTABLISHED,RELATED, and NEW from eth0; nat: MASQUERADE out of eth1. */
    void statefulMasqueradingRouter() {
        Table filter = Table.of(TableKind.FILTER, Family.IPV4, List.of(chain("INPUT", "ACCEPT"),
                chain("FORWARD", "DROP", accept(ANY, "--state", "ESTABLISHED,RELATED"),
                        accept(ANY.withInIface("eth0"), "--state", "NEW")), chain("OUTPUT", "ACCEPT")), List.of());
        Table nat = Rules.nat(Family.IPV4, List.of(), List.of(), List.of(),
                List.of(Rules.rule(ANY.withOutIface("eth1"), "MASQUERADE")));
        datapath.rules(Family.IPV4, Ruleset.empty(Family.IPV4).with(filter).with(nat));
    }

    static int ipU32(MemorySegment frame, int at) {
        return Packets.u32(frame, 14 + at);
    }

    /**
     * Linux 6.18 (difftest seeds 42 and 777: connlimit in raw PREROUTING and in a chain it jumps to): before
     * conntrack_in has run the packet has no entry, so xt_connlimit reads its tuple and asks the namespace's table
     * (nf_conntrack_find_get); the connections already counted are looked up there too, and stay while tracked.
     */
    @Test
    void connlimitInRawPreroutingCountsConnectionsTheTableAlreadyHolds() {
        Rule above1 = new Rule(new RuleSpec(ANY, List.of(Rules.matchOf(ANY, "connlimit", "--connlimit-above", "1",
                "--connlimit-mask", "32")), Target.verdictOrNull("ACCEPT")), Counters.zero());
        Table raw = Table.of(TableKind.RAW, Family.IPV4, List.of(chain("PREROUTING", "ACCEPT", above1),
                chain("OUTPUT", "ACCEPT")), List.of());
        datapath.rules(Family.IPV4, Ruleset.empty(Family.IPV4).with(raw));
        long t = Path.seconds(0);
        for (int port : new int[] {80, 81, 82}) {
            datapath.receive("eth0", frame(ETH0_MAC, 0x02000000010AL,
                    Packets.ipv4(CLIENT, SERVER, 6, Packets.tcp(40000 + port, port, 1000, 0, SYN, 0))), true, t,
                    Trace.NONE);
            t += 10_000_000L;
        }
        assertThat(out).containsExactly("tx eth1", "tx eth1", "tx eth1");
        assertThat(conntrack.list(Family.IPV4, t).lines()).hasSize(3);
        // the first SYN made the list (one); the second and third found the earlier connections tracked (two, three)
        assertThat(above1.counters().packets()).isEqualTo(2);
    }

    /**
     * Linux 6.18 (difftest seed 7 case 7000096): in raw PREROUTING a packet has no entry yet, so nf_conncount counts
     * the packet's own tuple and only asks the table about it (get_ct_or_tuple_from_skb); a reply whose tuple an
     * invalid packet already put in the list is found there again, through the table's reply tuple, and not
     * counted twice.
     */
    @Test
    void connlimitInRawPreroutingCountsAReplyByItsOwnTupleSoAnEntryForItIsNotAddedTwice() {
        Rule upto1 = new Rule(new RuleSpec(ANY, List.of(Rules.matchOf(ANY, "connlimit", "--connlimit-upto", "1",
                "--connlimit-mask", "32", "--connlimit-saddr")), Target.verdictOrNull("ACCEPT")), Counters.zero());
        Table raw = Table.of(TableKind.RAW, Family.IPV4, List.of(chain("PREROUTING", "ACCEPT", upto1),
                chain("OUTPUT", "ACCEPT")), List.of());
        datapath.rules(Family.IPV4, Ruleset.empty(Family.IPV4).with(raw));
        long t = Path.seconds(0);
        // an invalid SYN-ACK from the client: no connection, its tuple is the client's list's first entry
        datapath.receive("eth0", frame(ETH0_MAC, 0x02000000010AL,
                Packets.ipv4(CLIENT, SERVER, 6, Packets.tcp(53, 22, 1000, 5000, SYN | ACK, 0))), true, t, Trace.NONE);
        // data from the server: picked up mid-stream (server -> client is the connection's original direction)
        datapath.receive("eth1", frame(ETH1_MAC, 0x020000000214L,
                Packets.ipv4(SERVER, CLIENT, 6, Packets.tcp(22, 53, 5000, 1001, PSH | ACK, 10))), true,
                t + 10_000_000L, Trace.NONE);
        // the client's ACK: its tuple is the connection's reply tuple, already in the client's list
        datapath.receive("eth0", frame(ETH0_MAC, 0x02000000010AL,
                Packets.ipv4(CLIENT, SERVER, 6, Packets.tcp(53, 22, 1001, 5010, ACK, 0))), true, t + 20_000_000L,
                Trace.NONE);
        assertThat(conntrack.list(Family.IPV4, t + 20_000_000L).lines()).hasSize(1);
        assertThat(upto1.counters().packets()).as("one connection each for client and server").isEqualTo(3);
    }

    @Test
    void statefulFirewallWithMasqueradeForwardsRepliesAndDropsUnsolicitedPackets() {
        statefulMasqueradingRouter();
        long t = Path.seconds(0);
        datapath.receive("eth0", frame(ETH0_MAC, 0x02000000010AL,
                Packets.ipv4(CLIENT, SERVER, 6, Packets.tcp(40000, 80, 1000, 0, SYN, 0))), true, t, Trace.NONE);
        assertThat(out).containsExactly("tx eth1");
        MemorySegment syn = frames.get(0);
        assertThat(ipU32(syn, 12)).isEqualTo(ip("10.0.2.1"));

        datapath.receive("eth1", frame(ETH1_MAC, 0x020000000214L,
                Packets.ipv4(SERVER, ip("10.0.2.1"), 6, Packets.tcp(80, 40000, 5000, 1001, SYN | ACK, 0))), true,
                t + 1_000_000, Trace.NONE);
        assertThat(out).containsExactly("tx eth1", "tx eth0");
        MemorySegment synack = frames.get(1);
        assertThat(ipU32(synack, 16)).isEqualTo(CLIENT);
        PacketContext check = new PacketContext().ipv4(synack, 14);
        assertThat(Packets.checksumsValid(check)).isTrue();

        // a connection the server opens is NEW from eth1: dropped
        datapath.receive("eth1", frame(ETH1_MAC, 0x020000000214L,
                Packets.ipv4(SERVER, CLIENT, 6, Packets.tcp(81, 40001, 1, 0, SYN, 0))), true, t + 2_000_000,
                Trace.NONE);
        assertThat(out).hasSize(2);
        assertThat(conntrack.list(Family.IPV4, t + 3_000_000)).isEqualTo("tcp      6 60 SYN_RECV src=10.0.1.10 "
                + "dst=10.0.2.20 sport=40000 dport=80 src=10.0.2.20 dst=10.0.2.1 sport=80 dport=40000 mark=0 use=1\n");
    }

    @Test
    void dnatOfALocalPacketIsRoutedAgain() {
        Table nat = Rules.nat(Family.IPV4, List.of(), List.of(),
                List.of(Rules.rule(ANY.withProtocol(6), "DNAT", "--to-destination", "10.0.1.10")), List.of());
        datapath.rules(Family.IPV4, Ruleset.empty(Family.IPV4).with(nat));
        datapath.sendLocal(Packets.ipv4(ip("10.0.2.1"), ip("192.0.2.80"), 6, Packets.tcp(40000, 80, 1, 0, SYN, 0)),
                Path.seconds(0), Trace.NONE);
        // the default route would take eth1; the translated destination is on eth0
        assertThat(out).containsExactly("tx eth0");
        assertThat(ipU32(frames.get(0), 16)).isEqualTo(CLIENT);
    }

    @Test
    void rulesWithoutConntrackExtensionsOrNatLeaveConntrackOff() {
        Table filter = Table.of(TableKind.FILTER, Family.IPV4, List.of(chain("INPUT", "ACCEPT"),
                chain("FORWARD", "ACCEPT"), chain("OUTPUT", "ACCEPT")), List.of());
        datapath.rules(Family.IPV4, Ruleset.empty(Family.IPV4).with(filter));
        datapath.receive("eth0", frame(ETH0_MAC, 0x02000000010AL,
                Packets.ipv4(CLIENT, SERVER, 6, Packets.tcp(40000, 80, 1000, 0, SYN, 0))), true, Path.seconds(0),
                Trace.NONE);
        assertThat(out).containsExactly("tx eth1");
        assertThat(conntrack.count()).isZero();
    }
    /**
     * FORWARD: the server's SYN-ACK (FIN,RST,ACK = ACK) is refused with the given reject-with, the rest accepted,
     * with a state rule so that conntrack is on; then the client's SYN and the server's SYN-ACK go through.
     */
    List<String> synAckRejectedWith(String rejectWith) {
        Rule reject = Rules.rule(ANY.withProtocol(6),
                List.of(Rules.matchOf(ANY.withProtocol(6), "tcp", "--tcp-flags", "FIN,RST,ACK", "ACK")), "REJECT",
                "--reject-with", rejectWith);
        Table filter = Table.of(TableKind.FILTER, Family.IPV4, List.of(chain("INPUT", "ACCEPT"),
                chain("FORWARD", "ACCEPT", accept(ANY, "--state", "INVALID"), reject), chain("OUTPUT", "ACCEPT")),
                List.of());
        datapath.rules(Family.IPV4, Ruleset.empty(Family.IPV4).with(filter));
        long t = Path.seconds(0);
        datapath.receive("eth0", frame(ETH0_MAC, 0x02000000010AL,
                Packets.ipv4(CLIENT, SERVER, 6, Packets.tcp(40000, 80, 1000, 0, SYN, 0))), true, t, Trace.NONE);
        datapath.receive("eth1", frame(ETH1_MAC, 0x020000000214L,
                Packets.ipv4(SERVER, CLIENT, 6, Packets.tcp(80, 40000, 5000, 1001, SYN | ACK, 0))), true,
                t + 1_000_000, Trace.NONE);
        return List.of(conntrack.list(Family.IPV4, t + 2_000_000).split("\n"));
    }

    @Test
    void tcpResetOfRejectClosesTheConnectionItAnswers() {
        // Linux 6.18 (checked in a namespace): nf_send_reset sets the SYN-ACK's entry closing; CLOSE, 10 s
        assertThat(synAckRejectedWith("tcp-reset")).containsExactly("tcp      6 10 CLOSE src=10.0.1.10 dst=10.0.2.20 "
                + "sport=40000 dport=80 src=10.0.2.20 dst=10.0.1.10 sport=80 dport=40000 mark=0 use=1");
        assertThat(out).containsExactly("tx eth1", "tx eth1");
    }

    @Test
    void icmpRejectLeavesTheConnectionInItsState() {
        assertThat(synAckRejectedWith("icmp-port-unreachable")).containsExactly("tcp      6 60 SYN_RECV src=10.0.1.10 "
                + "dst=10.0.2.20 sport=40000 dport=80 src=10.0.2.20 dst=10.0.1.10 sport=80 dport=40000 mark=0 use=1");
    }
    @Test
    void anIcmpErrorRelatedToADestinationNattedConnectionIsRoutedAgainAfterItsTranslation() {
        // Linux 6.18 (checked in a namespace): a SYN from the server side to the client is DNATed back to the server
        // side; a SYN-ACK the client sends to the first SYN's source is refused in FORWARD. The port unreachable is
        // related to the DNATed connection (its quote inverted is that connection's original tuple), so nat in
        // OUTPUT sends it to the translated address, and nf_nat_ipv4_local_fn routes it again: out eth1
        IpSpec tcp = ANY.withProtocol(6);
        Table nat = Rules.nat(Family.IPV4, List.of(Rules.rule(tcp.withDst(IpNet.ipv4(CLIENT, 32)),
                "DNAT", "--to-destination", "10.0.2.254")), List.of(), List.of(), List.of());
        Rule reject = Rules.rule(tcp, List.of(Rules.matchOf(tcp, "tcp", "--tcp-flags", "FIN,RST,ACK", "ACK")),
                "REJECT");
        Table filter = Table.of(TableKind.FILTER, Family.IPV4, List.of(chain("INPUT", "ACCEPT"),
                chain("FORWARD", "ACCEPT", reject), chain("OUTPUT", "ACCEPT")), List.of());
        datapath.rules(Family.IPV4, Ruleset.empty(Family.IPV4).with(filter).with(nat));
        long t = Path.seconds(0);
        datapath.receive("eth1", frame(ETH1_MAC, 0x020000000214L,
                Packets.ipv4(SERVER, CLIENT, 6, Packets.tcp(22, 22, 1000, 0, SYN, 0))), true, t, Trace.NONE);
        assertThat(out).containsExactly("tx eth1");
        datapath.receive("eth0", frame(ETH0_MAC, 0x02000000010AL,
                Packets.ipv4(CLIENT, SERVER, 6, Packets.tcp(22, 22, 5000, 1001, SYN | ACK, 0))), true, t + 1_000_000,
                Trace.NONE);
        assertThat(out).containsExactly("tx eth1", "tx eth1");
        MemorySegment error = frames.get(1);
        assertThat(error.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 14 + 9)).isEqualTo((byte) 1);
        assertThat(ipU32(error, 16)).isEqualTo(ip("10.0.2.254"));
        // the quoted SYN-ACK is translated too: from the server side's address
        assertThat(ipU32(error, 28 + 12)).isEqualTo(ip("10.0.2.254"));
    }
}
