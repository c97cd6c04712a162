package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jnetfilter.core.netfilter.Fixtures.builtin;
import static org.jnetfilter.core.netfilter.Fixtures.filter;
import static org.jnetfilter.core.netfilter.Fixtures.goTo;
import static org.jnetfilter.core.netfilter.Fixtures.icmp;
import static org.jnetfilter.core.netfilter.Fixtures.ip;
import static org.jnetfilter.core.netfilter.Fixtures.ipv4;
import static org.jnetfilter.core.netfilter.Fixtures.jump;
import static org.jnetfilter.core.netfilter.Fixtures.match;
import static org.jnetfilter.core.netfilter.Fixtures.rule;
import static org.jnetfilter.core.netfilter.Fixtures.target;
import static org.jnetfilter.core.netfilter.Fixtures.tcp;
import static org.jnetfilter.core.netfilter.Fixtures.tcp4;
import static org.jnetfilter.core.netfilter.Fixtures.udp;
import static org.jnetfilter.core.netfilter.Fixtures.user;
import static org.jnetfilter.core.netfilter.Fixtures.verdict;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Protocols;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.Target;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** ipt_do_table's walk, scenario by scenario. */
class TableWalkTest {
    static final IpSpec ANY = IpSpec.any(Family.IPV4);
    static final IpSpec TCP = ANY.withProtocol(Protocols.TCP);
    static final IpSpec UDP = ANY.withProtocol(Protocols.UDP);
    static final int CLIENT = ip(192, 168, 1, 10);
    static final int SERVER = ip(10, 0, 0, 1);
    /** A 40-byte TCP SYN to port 22. */
    static final MemorySegment SSH_SYN = tcp4(CLIENT, SERVER, 40000, 22, 0x02);

    private final PacketContext pkt = new PacketContext();
    private final List<String> events = new ArrayList<>();
    private final Trace recorder = new Trace() {
        public void rule(Table t, Chain c, int n, Rule r) {
            events.add("rule " + c.name() + ":" + n);
        }

        public void verdict(Table t, Chain c, int n, int v) {
            events.add("verdict " + Verdict.toString(v));
        }

        public void jump(Table t, Chain from, int n, Chain to, boolean isGoto) {
            events.add((isGoto ? "goto " : "jump ") + to.name());
        }

        public void returned(Table t, Chain from, int n, Chain to, int toRule) {
            events.add("return " + from.name() + ":" + n + " -> " + (to == null ? "policy" : to.name() + ":" + toRule));
        }

        public void policy(Table t, Chain c, int v) {
            events.add("policy " + c.name() + " " + Verdict.toString(v));
        }

        public void hotdrop(Table t, Chain c, int n) {
            events.add("hotdrop " + c.name() + ":" + n);
        }

        public void stackExhausted(Table t, Chain c, int n) {
            events.add("stack full " + c.name() + ":" + n);
        }
    };

    private int walk(Table table, MemorySegment packet) {
        return walk(table, packet, "eth0");
    }

    private int walk(Table table, MemorySegment packet, String in) {
        pkt.ipv4(packet, 0).inInterface(in);
        return TableWalk.run(table, Hook.INPUT, pkt, recorder);
    }

    @Test
    void firstMatchingRuleDecidesAndIsCountedWithTheIpLength() {
        Rule fromTen = rule(ANY.withSrc(IpNet.ipv4(ip(10, 0, 0, 0), 8)), verdict("DROP"));
        Rule ssh = rule(TCP, verdict("ACCEPT"), match(TCP, "tcp", "--dport", "22"));
        Rule later = rule(verdict("DROP"));
        Table t = filter(builtin("INPUT", "DROP", fromTen, ssh, later));

        assertThat(walk(t, SSH_SYN)).isEqualTo(Verdict.ACCEPT);
        assertThat(fromTen.counters().packets()).isZero();
        assertThat(ssh.counters().packets()).isEqualTo(1);
        assertThat(ssh.counters().bytes()).isEqualTo(40);
        assertThat(later.counters().packets()).isZero();
        assertThat(t.chain("INPUT").policyCounters().packets()).isZero();
        assertThat(events).containsExactly("rule INPUT:2", "verdict ACCEPT");
    }

    @Test
    void fallingOffTheBuiltinChainTakesThePolicyAndCountsOnIt() {
        Table t = filter(builtin("INPUT", "DROP", rule(UDP, verdict("ACCEPT"))));
        assertThat(walk(t, SSH_SYN)).isEqualTo(Verdict.DROP);
        assertThat(t.chain("INPUT").policyCounters().packets()).isEqualTo(1);
        assertThat(t.chain("INPUT").policyCounters().bytes()).isEqualTo(40);
        assertThat(events).containsExactly("policy INPUT DROP");
    }

    @Test
    void aRuleWithoutTargetOnlyCounts() {
        Rule count = rule(new Target.None());
        Table t = filter(builtin("INPUT", "ACCEPT", count));
        assertThat(walk(t, SSH_SYN)).isEqualTo(Verdict.ACCEPT);
        assertThat(count.counters().packets()).isEqualTo(1);
        assertThat(events).containsExactly("rule INPUT:1", "policy INPUT ACCEPT");
    }

    @Test
    void jumpReturnsToTheRuleAfterItWhenTheUserChainEnds() {
        Rule toA = rule(jump("A"));
        Rule udpInA = rule(UDP, verdict("DROP"));
        Rule after = rule(verdict("QUEUE"));
        Table t = filter(builtin("INPUT", "ACCEPT", toA, after), user("A", udpInA));

        assertThat(walk(t, SSH_SYN)).isEqualTo(Verdict.QUEUE);
        assertThat(toA.counters().packets()).isEqualTo(1);
        assertThat(after.counters().packets()).isEqualTo(1);
        assertThat(events).containsExactly("rule INPUT:1", "jump A", "return A:2 -> INPUT:1", "rule INPUT:2",
                "verdict QUEUE");
    }

    @Test
    void returnInAUserChainResumesTheCaller() {
        Table t = filter(builtin("INPUT", "DROP", rule(jump("A")), rule(verdict("ACCEPT"))),
                user("A", rule(TCP, verdict("RETURN")), rule(verdict("DROP"))));
        assertThat(walk(t, SSH_SYN)).isEqualTo(Verdict.ACCEPT);
        assertThat(events).containsExactly("rule INPUT:1", "jump A", "rule A:1", "return A:1 -> INPUT:1",
                "rule INPUT:2", "verdict ACCEPT");
    }

    @Test
    void nestedJumpsUnwindOneFrameAtATime() {
        Table t = filter(builtin("INPUT", "DROP", rule(jump("A")), rule(verdict("ACCEPT"))),
                user("A", rule(jump("B")), rule(TCP, verdict("RETURN")), rule(verdict("DROP"))),
                user("B", rule(verdict("RETURN"))));
        assertThat(walk(t, SSH_SYN)).isEqualTo(Verdict.ACCEPT);
        assertThat(events).containsExactly("rule INPUT:1", "jump A", "rule A:1", "jump B", "rule B:1",
                "return B:1 -> A:1", "rule A:2", "return A:2 -> INPUT:1", "rule INPUT:2", "verdict ACCEPT");
    }

    @Test
    void gotoPushesNothingSoTheEndOfItsChainReturnsToTheLastJump() {
        Rule after = rule(verdict("DROP"));
        Table t = filter(builtin("INPUT", "ACCEPT", rule(jump("A")), after),
                user("A", rule(goTo("B")), rule(verdict("ACCEPT"))),
                user("B"));
        assertThat(walk(t, SSH_SYN)).isEqualTo(Verdict.DROP);
        assertThat(after.counters().packets()).isEqualTo(1);
        assertThat(events).containsExactly("rule INPUT:1", "jump A", "rule A:1", "goto B",
                "return B:1 -> INPUT:1", "rule INPUT:2", "verdict DROP");
    }

    @Test
    void gotoFromTheBuiltinChainEndsInThePolicy() {
        Rule after = rule(verdict("ACCEPT"));
        Table t = filter(builtin("INPUT", "DROP", rule(goTo("A")), after), user("A", rule(UDP, verdict("ACCEPT"))));
        assertThat(walk(t, SSH_SYN)).isEqualTo(Verdict.DROP);
        assertThat(after.counters().packets()).isZero();
        assertThat(t.chain("INPUT").policyCounters().packets()).isEqualTo(1);
        assertThat(events).containsExactly("rule INPUT:1", "goto A", "return A:2 -> policy", "policy INPUT DROP");
    }

    @Test
    void returnInTheBuiltinChainTakesThePolicy() {
        Rule ret = rule(verdict("RETURN"));
        Rule accept = rule(verdict("ACCEPT"));
        Table t = filter(builtin("INPUT", "DROP", ret, accept));
        assertThat(walk(t, SSH_SYN)).isEqualTo(Verdict.DROP);
        assertThat(ret.counters().packets()).isEqualTo(1);
        assertThat(accept.counters().packets()).isZero();
        assertThat(t.chain("INPUT").policyCounters().packets()).isEqualTo(1);
        assertThat(events).containsExactly("rule INPUT:1", "return INPUT:1 -> policy", "policy INPUT DROP");
    }

    @Test
    void aJumpLoopEndsInDropWhenTheStackIsFull() {
        // a committed table cannot loop (mark_source_chains); the stack bound is the kernel's last guard
        Table t = filter(builtin("INPUT", "ACCEPT", rule(jump("A"))), user("A", rule(jump("A"))));
        assertThat(walk(t, SSH_SYN)).isEqualTo(Verdict.DROP);
        // stacksize = user chains + 1: INPUT->A, then A->A once more, then the third push fails
        assertThat(events).containsExactly("rule INPUT:1", "jump A", "rule A:1", "jump A", "rule A:1",
                "stack full A:1");
    }

    @Test
    void aJumpToAMissingChainIsABrokenInvariant() {
        Table t = filter(builtin("INPUT", "ACCEPT", rule(jump("GONE"))));
        assertThatThrownBy(() -> walk(t, SSH_SYN)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("GONE");
    }

    @Test
    void aHookTheTableDoesNotHaveIsRefused() {
        Table t = filter(builtin("INPUT", "ACCEPT"));
        pkt.ipv4(SSH_SYN, 0);
        assertThatThrownBy(() -> TableWalk.run(t, Hook.PREROUTING, pkt, Trace.NONE))
                .isInstanceOf(IllegalArgumentException.class);
    }

    // ---- the fixed part ----

    static Stream<Arguments> fixedPart() {
        IpNet ten = IpNet.ipv4(ip(10, 0, 0, 0), 8);
        IpNet client = IpNet.ipv4(CLIENT, 32);
        return Stream.of(
                Arguments.of("-s 192.168.1.10", ANY.withSrc(client), "eth0", true),
                Arguments.of("! -s 192.168.1.10", ANY.withSrc(client).withInverted(IpSpec.INV_SRCIP, true), "eth0", false),
                Arguments.of("-s 10/8", ANY.withSrc(ten), "eth0", false),
                Arguments.of("! -s 10/8", ANY.withSrc(ten).withInverted(IpSpec.INV_SRCIP, true), "eth0", true),
                Arguments.of("-d 10/8", ANY.withDst(ten), "eth0", true),
                Arguments.of("! -d 10/8", ANY.withDst(ten).withInverted(IpSpec.INV_DSTIP, true), "eth0", false),
                Arguments.of("-p tcp", TCP, "eth0", true),
                Arguments.of("-p udp", UDP, "eth0", false),
                Arguments.of("! -p udp", UDP.withInverted(IpSpec.INV_PROTO, true), "eth0", true),
                Arguments.of("! -p tcp", TCP.withInverted(IpSpec.INV_PROTO, true), "eth0", false),
                Arguments.of("-i eth0", ANY.withInIface("eth0"), "eth0", true),
                Arguments.of("-i eth0 (eth0.5)", ANY.withInIface("eth0"), "eth0.5", false),
                Arguments.of("-i eth (eth0)", ANY.withInIface("eth"), "eth0", false),
                Arguments.of("-i eth+ (eth0)", ANY.withInIface("eth+"), "eth0", true),
                Arguments.of("-i eth+ (eth)", ANY.withInIface("eth+"), "eth", true),
                Arguments.of("-i eth+ (et)", ANY.withInIface("eth+"), "et", false),
                Arguments.of("-i eth+ (no device)", ANY.withInIface("eth+"), "", false),
                Arguments.of("-i + (no device)", ANY.withInIface("+"), "", true),
                Arguments.of("! -i + (no device)", ANY.withInIface("+").withInverted(IpSpec.INV_VIA_IN, true), "", false),
                Arguments.of("! -i eth+ (eth1)", ANY.withInIface("eth+").withInverted(IpSpec.INV_VIA_IN, true), "eth1", false),
                Arguments.of("! -i eth+ (wlan0)", ANY.withInIface("eth+").withInverted(IpSpec.INV_VIA_IN, true), "wlan0", true),
                Arguments.of("-i eth0 (no device)", ANY.withInIface("eth0"), "", false),
                Arguments.of("-o eth0 (no out device at INPUT)", ANY.withOutIface("eth0"), "eth0", false),
                Arguments.of("! -o eth0 (no out device at INPUT)",
                        ANY.withOutIface("eth0").withInverted(IpSpec.INV_VIA_OUT, true), "eth0", true),
                Arguments.of("-f (first fragment)", ANY.withFragment(true), "eth0", false),
                Arguments.of("! -f (unfragmented)",
                        ANY.withFragment(true).withInverted(IpSpec.INV_FRAG, true), "eth0", true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixedPart")
    void fixedPartOfARule(String what, IpSpec spec, String in, boolean matches) {
        Table t = filter(builtin("INPUT", "DROP", rule(spec, verdict("ACCEPT"))));
        assertThat(walk(t, SSH_SYN, in)).isEqualTo(matches ? Verdict.ACCEPT : Verdict.DROP);
    }

    // ---- fragments ----

    /** A non-first fragment (offset 185 * 8 bytes) of a TCP datagram: its bytes are payload, not a header. */
    static final MemorySegment TCP_FRAGMENT = ipv4(CLIENT, SERVER, 6, 185, 64, tcp(40000, 22, 0x02));

    @Test
    void dashFMatchesOnlyNonFirstFragments() {
        Table t = filter(builtin("INPUT", "DROP", rule(ANY.withFragment(true), verdict("ACCEPT"))));
        assertThat(walk(t, TCP_FRAGMENT)).isEqualTo(Verdict.ACCEPT);
        MemorySegment first = ipv4(CLIENT, SERVER, 6, 0x2000, 64, tcp(40000, 22, 0x02));
        assertThat(walk(t, first)).isEqualTo(Verdict.DROP);
        Table notFrag = filter(builtin("INPUT", "DROP",
                rule(ANY.withFragment(true).withInverted(IpSpec.INV_FRAG, true), verdict("ACCEPT"))));
        assertThat(walk(notFrag, first)).isEqualTo(Verdict.ACCEPT);
        assertThat(walk(notFrag, TCP_FRAGMENT)).isEqualTo(Verdict.DROP);
    }

    @Test
    void portMatchesNeverMatchNonFirstFragmentsButProtocolDoes() {
        Rule ports = rule(TCP, verdict("DROP"), match(TCP, "tcp", "--dport", "22"));
        Rule negatedPorts = rule(TCP, verdict("DROP"), match(TCP, "tcp", "!", "--dport", "22"));
        Rule proto = rule(TCP, verdict("ACCEPT"));
        Table t = filter(builtin("INPUT", "DROP", ports, negatedPorts, proto));
        assertThat(walk(t, TCP_FRAGMENT)).isEqualTo(Verdict.ACCEPT);
        assertThat(ports.counters().packets()).isZero();
        assertThat(negatedPorts.counters().packets()).isZero();
    }

    @Test
    void aTcpFragmentAtOffsetEightBytesIsDroppedAtOnce() {
        MemorySegment evil = ipv4(CLIENT, SERVER, 6, 1, 64, tcp(40000, 22, 0x02));
        Rule ports = rule(TCP, verdict("ACCEPT"), match(TCP, "tcp", "--dport", "22"));
        Table t = filter(builtin("INPUT", "ACCEPT", ports));
        assertThat(walk(t, evil)).isEqualTo(Verdict.DROP);
        assertThat(ports.counters().packets()).isZero();
        assertThat(t.chain("INPUT").policyCounters().packets()).isZero();
        assertThat(events).containsExactly("hotdrop INPUT:1");
    }

    @Test
    void aTcpHeaderCutShortIsDroppedAtOnce() {
        MemorySegment tiny = ipv4(CLIENT, SERVER, 6, 0, 64, new byte[] {(byte) 0x9c, 0x40, 0, 22});
        Table t = filter(builtin("INPUT", "ACCEPT", rule(TCP, verdict("ACCEPT"), match(TCP, "tcp", "--dport", "22"))));
        assertThat(walk(t, tiny)).isEqualTo(Verdict.DROP);
        // a rule that does not look at ports lets it through
        Table plain = filter(builtin("INPUT", "DROP", rule(TCP, verdict("ACCEPT"))));
        assertThat(walk(plain, tiny)).isEqualTo(Verdict.ACCEPT);
    }

    // ---- matches ----

    static Stream<Arguments> tcpMatches() {
        return Stream.of(
                Arguments.of(new String[] {"--dport", "22"}, true),
                Arguments.of(new String[] {"--dport", "20:21"}, false),
                Arguments.of(new String[] {"!", "--dport", "20:21"}, true),
                Arguments.of(new String[] {"--sport", "1024:65535"}, true),
                Arguments.of(new String[] {"--syn"}, true),
                Arguments.of(new String[] {"!", "--syn"}, false),
                Arguments.of(new String[] {"--tcp-flags", "SYN,ACK", "ACK"}, false),
                Arguments.of(new String[] {"--tcp-option", "2"}, true),
                Arguments.of(new String[] {"!", "--tcp-option", "2"}, false),
                Arguments.of(new String[] {"--tcp-option", "8"}, false),
                Arguments.of(new String[] {"!", "--tcp-option", "8"}, true));
    }

    @ParameterizedTest
    @MethodSource("tcpMatches")
    void tcpMatch(String[] options, boolean matches) {
        // SYN with MSS option (kind 2, len 4)
        MemorySegment syn = ipv4(CLIENT, SERVER, 6, 0, 64, tcp(40000, 22, 0x02, 2, 4, 5, 180));
        Table t = filter(builtin("INPUT", "DROP", rule(TCP, verdict("ACCEPT"), match(TCP, "tcp", options))));
        assertThat(walk(t, syn)).isEqualTo(matches ? Verdict.ACCEPT : Verdict.DROP);
    }

    static Stream<Arguments> otherMatches() {
        IpSpec icmp = ANY.withProtocol(Protocols.ICMP);
        IpSpec mp = TCP;
        return Stream.of(
                Arguments.of(UDP, "udp", new String[] {"--dport", "53"}, ipv4(CLIENT, SERVER, 17, 0, 64, udp(5353, 53)), true),
                Arguments.of(UDP, "udp", new String[] {"--sport", "53"}, ipv4(CLIENT, SERVER, 17, 0, 64, udp(5353, 53)), false),
                Arguments.of(icmp, "icmp", new String[] {"--icmp-type", "echo-request"}, ipv4(CLIENT, SERVER, 1, 0, 64, icmp(8, 0)), true),
                Arguments.of(icmp, "icmp", new String[] {"--icmp-type", "any"}, ipv4(CLIENT, SERVER, 1, 0, 64, icmp(3, 3)), true),
                Arguments.of(icmp, "icmp", new String[] {"--icmp-type", "port-unreachable"}, ipv4(CLIENT, SERVER, 1, 0, 64, icmp(3, 3)), true),
                Arguments.of(icmp, "icmp", new String[] {"--icmp-type", "destination-unreachable"}, ipv4(CLIENT, SERVER, 1, 0, 64, icmp(3, 1)), true),
                Arguments.of(icmp, "icmp", new String[] {"!", "--icmp-type", "echo-request"}, ipv4(CLIENT, SERVER, 1, 0, 64, icmp(8, 0)), false),
                Arguments.of(mp, "multiport", new String[] {"--dports", "80,443,20:23"}, SSH_SYN, true),
                Arguments.of(mp, "multiport", new String[] {"--sports", "80,443,20:23"}, SSH_SYN, false),
                Arguments.of(mp, "multiport", new String[] {"--ports", "40000"}, SSH_SYN, true),
                Arguments.of(mp, "multiport", new String[] {"!", "--ports", "22"}, SSH_SYN, false),
                Arguments.of(ANY, "comment", new String[] {"--comment", "hi"}, SSH_SYN, true),
                Arguments.of(ANY, "length", new String[] {"--length", "40"}, SSH_SYN, true),
                Arguments.of(ANY, "length", new String[] {"--length", "41:1500"}, SSH_SYN, false),
                Arguments.of(ANY, "length", new String[] {"!", "--length", "41:1500"}, SSH_SYN, true),
                Arguments.of(ANY, "ttl", new String[] {"--ttl-eq", "64"}, SSH_SYN, true),
                Arguments.of(ANY, "ttl", new String[] {"!", "--ttl-eq", "64"}, SSH_SYN, false),
                Arguments.of(ANY, "ttl", new String[] {"--ttl-lt", "64"}, SSH_SYN, false),
                Arguments.of(ANY, "ttl", new String[] {"--ttl-gt", "63"}, SSH_SYN, true),
                Arguments.of(ANY, "iprange", new String[] {"--src-range", "192.168.1.1-192.168.1.10"}, SSH_SYN, true),
                Arguments.of(ANY, "iprange", new String[] {"--src-range", "192.168.1.11-192.168.1.20"}, SSH_SYN, false),
                Arguments.of(ANY, "iprange", new String[] {"!", "--dst-range", "10.0.0.0-10.0.0.0"}, SSH_SYN, true),
                Arguments.of(ANY, "pkttype", new String[] {"--pkt-type", "unicast"}, SSH_SYN, true),
                Arguments.of(ANY, "pkttype", new String[] {"!", "--pkt-type", "unicast"}, SSH_SYN, false),
                Arguments.of(ANY, "mark", new String[] {"--mark", "0"}, SSH_SYN, true),
                Arguments.of(ANY, "mark", new String[] {"--mark", "1/1"}, SSH_SYN, false));
    }

    @ParameterizedTest(name = "{1} {2}")
    @MethodSource("otherMatches")
    void extensionMatch(IpSpec ip, String name, String[] options, MemorySegment packet, boolean matches) {
        Table t = filter(builtin("INPUT", "DROP", rule(ip, verdict("ACCEPT"), match(ip, name, options))));
        assertThat(walk(t, packet)).isEqualTo(matches ? Verdict.ACCEPT : Verdict.DROP);
    }

    @Test
    void loopedBackPacketsToAMulticastAddressAreMulticast() {
        MemorySegment mcast = ipv4(CLIENT, ip(224, 0, 0, 251), 17, 0, 1, udp(5353, 5353));
        Table t = filter(builtin("INPUT", "DROP",
                rule(verdict("ACCEPT"), match(ANY, "pkttype", "--pkt-type", "multicast"))));
        pkt.ipv4(mcast, 0).packetType(PacketContext.PACKET_LOOPBACK);
        assertThat(TableWalk.run(t, Hook.INPUT, pkt, Trace.NONE)).isEqualTo(Verdict.ACCEPT);
        pkt.ipv4(SSH_SYN, 0).packetType(PacketContext.PACKET_LOOPBACK);
        assertThat(TableWalk.run(t, Hook.INPUT, pkt, Trace.NONE)).isEqualTo(Verdict.DROP);
    }

    @Test
    void allMatchesOfARuleMustMatch() {
        Table t = filter(builtin("INPUT", "DROP", rule(TCP, verdict("ACCEPT"),
                match(TCP, "tcp", "--dport", "22"), match(TCP, "length", "--length", "0:39"))));
        assertThat(walk(t, SSH_SYN)).isEqualTo(Verdict.DROP);
    }

    // ---- targets ----

    @Test
    void markAndLogGoOnWithTheNextRule() {
        Rule log = rule(target(ANY, "LOG", "--log-prefix", "in: "));
        Rule setMark = rule(target(ANY, "MARK", "--set-mark", "0x10/0xff"));
        Rule marked = rule(verdict("ACCEPT"), match(ANY, "mark", "--mark", "0x10/0xff"));
        Table t = filter(builtin("INPUT", "DROP", log, setMark, marked));
        pkt.ipv4(SSH_SYN, 0).mark(0xAB01);
        assertThat(TableWalk.run(t, Hook.INPUT, pkt, recorder)).isEqualTo(Verdict.ACCEPT);
        assertThat(pkt.mark()).isEqualTo(0xAB10);
        assertThat(log.counters().packets()).isEqualTo(1);
        assertThat(setMark.counters().packets()).isEqualTo(1);
        assertThat(events).containsExactly("rule INPUT:1", "verdict CONTINUE", "rule INPUT:2", "verdict CONTINUE",
                "rule INPUT:3", "verdict ACCEPT");
    }

    @Test
    void markTargetForms() {
        assertThat(markAfter(0xF0F0, "--set-xmark", "0x1/0xff")).isEqualTo(0xF001);
        assertThat(markAfter(0xF0F0, "--and-mark", "0xff")).isEqualTo(0xF0);
        assertThat(markAfter(0xF0F0, "--or-mark", "0x1")).isEqualTo(0xF0F1);
        assertThat(markAfter(0xF0F0, "--xor-mark", "0xff")).isEqualTo(0xF00F);
        assertThat(markAfter(0xF0F0, "--set-mark", "7")).isEqualTo(7);
    }

    private long markAfter(long mark, String... options) {
        Table t = filter(builtin("INPUT", "ACCEPT", rule(target(ANY, "MARK", options))));
        pkt.ipv4(SSH_SYN, 0).mark(mark);
        TableWalk.run(t, Hook.INPUT, pkt, Trace.NONE);
        return pkt.mark();
    }

    @Test
    void rejectDropsAndRecordsTheReplyToSend() {
        Table t = filter(builtin("INPUT", "ACCEPT",
                rule(TCP, target(TCP, "REJECT", "--reject-with", "tcp-reset"))));
        assertThat(walk(t, SSH_SYN)).isEqualTo(Verdict.DROP);
        assertThat(pkt.rejectWith()).isEqualTo(7);
        pkt.ipv4(SSH_SYN, 0);
        assertThat(pkt.rejectWith()).isEqualTo(-1);
    }

    /** Options of an extension that gives no packet test: an embedder's new match before it has one. */
    record NoPacketTest() implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
        }
    }

    @Test
    void anExtensionWithoutPacketSemanticsSaysSo() {
        Table t = filter(builtin("INPUT", "ACCEPT", rule(verdict("ACCEPT"),
                new Match(Extensions.standard().match("comment", Family.IPV4), new NoPacketTest()))));
        assertThatThrownBy(() -> walk(t, SSH_SYN)).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("no packet semantics yet: TableWalkTest");
    }

    @Test
    void verdictNames() {
        assertThat(Verdict.toString(Verdict.queue(3))).isEqualTo("QUEUE(3)");
        assertThat(Verdict.queueNumber(Verdict.queue(3))).isEqualTo(3);
        assertThat(Verdict.kind(Verdict.queue(3))).isEqualTo(Verdict.QUEUE);
        assertThat(Verdict.toString(Verdict.CONTINUE)).isEqualTo("CONTINUE");
        assertThat(Verdict.toString(Verdict.STOLEN)).isEqualTo("STOLEN");
    }
}
