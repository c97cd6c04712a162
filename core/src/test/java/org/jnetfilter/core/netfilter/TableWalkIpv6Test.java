package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.Fixtures.builtin;
import static org.jnetfilter.core.netfilter.Fixtures.concat;
import static org.jnetfilter.core.netfilter.Fixtures.filter;
import static org.jnetfilter.core.netfilter.Fixtures.fragment;
import static org.jnetfilter.core.netfilter.Fixtures.icmp;
import static org.jnetfilter.core.netfilter.Fixtures.ipv6;
import static org.jnetfilter.core.netfilter.Fixtures.match;
import static org.jnetfilter.core.netfilter.Fixtures.rule;
import static org.jnetfilter.core.netfilter.Fixtures.tcp;
import static org.jnetfilter.core.netfilter.Fixtures.udp;
import static org.jnetfilter.core.netfilter.Fixtures.verdict;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;
import org.junit.jupiter.api.Test;

/** ip6t_do_table: ip6_packet_match finds the protocol past extension headers, as ipv6_find_hdr does. */
class TableWalkIpv6Test {
    static final IpSpec ANY = IpSpec.any(Family.IPV6);
    static final IpSpec TCP = ANY.withProtocol(Protocols.TCP);
    static final long DOC = 0x20010db800000000L;
    static final int DEST_OPTS = 60;
    static final int FRAG = 44;
    static final int HOP = 0;

    private final PacketContext pkt = new PacketContext();

    private int walk(Table t, MemorySegment packet) {
        pkt.ipv6(packet, 0).inInterface("eth0");
        return TableWalk.run(t, Hook.INPUT, pkt, Trace.NONE);
    }

    private static MemorySegment fromDoc(int next, byte[] rest) {
        return ipv6(DOC, 1, DOC | 0xFF, 2, next, 64, rest);
    }

    private static Table ssh() {
        return filter(Family.IPV6, builtin("INPUT", "DROP",
                rule(TCP, verdict("ACCEPT"), match(TCP, "tcp", "--dport", "22"))));
    }

    @Test
    void findsTcpBehindExtensionHeaders() {
        byte[] destOpts = {6, 0, 1, 4, 0, 0, 0, 0};
        MemorySegment p = fromDoc(DEST_OPTS, concat(destOpts, tcp(40000, 22, 2)));
        assertThat(walk(ssh(), p)).isEqualTo(Verdict.ACCEPT);
        assertThat(pkt.transportOffset()).isEqualTo(48);
        MemorySegment firstFragment = fromDoc(FRAG, fragment(6, 0, true, tcp(40000, 22, 2)));
        assertThat(walk(ssh(), firstFragment)).isEqualTo(Verdict.ACCEPT);
    }

    @Test
    void aNonFirstFragmentHasTheProtocolButNoPorts() {
        MemorySegment later = fromDoc(FRAG, fragment(6, 100, false, tcp(40000, 22, 2)));
        assertThat(walk(ssh(), later)).isEqualTo(Verdict.DROP);
        assertThat(pkt.hotdrop()).isFalse();
        Table proto = filter(Family.IPV6, builtin("INPUT", "DROP", rule(TCP, verdict("ACCEPT"))));
        assertThat(walk(proto, later)).isEqualTo(Verdict.ACCEPT);
        // no evil-offset drop for IPv6: the kernel's IPv6 fragoff is in bytes, never 1
        MemorySegment eight = fromDoc(FRAG, fragment(6, 1, false, tcp(40000, 22, 2)));
        assertThat(walk(ssh(), eight)).isEqualTo(Verdict.DROP);
        assertThat(pkt.hotdrop()).isFalse();
    }

    @Test
    void aProtocolThatCannotBeFoundDropsRulesThatAskForOne() {
        // a non-first fragment whose next header is an extension header: ipv6_find_hdr gives up
        MemorySegment hidden = fromDoc(FRAG, fragment(DEST_OPTS, 100, false, new byte[16]));
        Table proto = filter(Family.IPV6, builtin("INPUT", "ACCEPT", rule(TCP, verdict("ACCEPT"))));
        assertThat(walk(proto, hidden)).isEqualTo(Verdict.DROP);
        assertThat(pkt.hotdrop()).isTrue();
        Table any = filter(Family.IPV6, builtin("INPUT", "DROP", rule(ANY, verdict("ACCEPT"))));
        assertThat(walk(any, hidden)).isEqualTo(Verdict.ACCEPT);
        // an extension header cut short
        MemorySegment cut = fromDoc(HOP, new byte[] {6});
        assertThat(walk(proto, cut)).isEqualTo(Verdict.DROP);
        assertThat(walk(any, cut)).isEqualTo(Verdict.ACCEPT);
    }

    @Test
    void protocolNegationAndAddresses() {
        MemorySegment dns = fromDoc(17, udp(5353, 53));
        IpNet doc32 = IpNet.of(Family.IPV6, DOC, 0, 0xFFFFFFFF00000000L, 0);
        IpNet other = IpNet.of(Family.IPV6, 0x20010db900000000L, 0, 0xFFFFFFFF00000000L, 0);
        assertThat(walk(filter(Family.IPV6, builtin("INPUT", "DROP",
                rule(TCP.withInverted(IpSpec.INV_PROTO, true), verdict("ACCEPT")))), dns)).isEqualTo(Verdict.ACCEPT);
        assertThat(walk(filter(Family.IPV6, builtin("INPUT", "DROP",
                rule(ANY.withSrc(doc32), verdict("ACCEPT")))), dns)).isEqualTo(Verdict.ACCEPT);
        assertThat(walk(filter(Family.IPV6, builtin("INPUT", "DROP",
                rule(ANY.withDst(other).withInverted(IpSpec.INV_DSTIP, true), verdict("ACCEPT")))), dns))
                .isEqualTo(Verdict.ACCEPT);
        assertThat(walk(filter(Family.IPV6, builtin("INPUT", "DROP",
                rule(ANY.withSrc(other), verdict("ACCEPT")))), dns)).isEqualTo(Verdict.DROP);
    }

    @Test
    void everyLoopedBackIpv6PacketIsMulticastToPkttype() {
        Table t = filter(Family.IPV6, builtin("INPUT", "DROP",
                rule(verdict("ACCEPT"), match(ANY, "pkttype", "--pkt-type", "multicast"))));
        pkt.ipv6(fromDoc(17, udp(5353, 53)), 0).packetType(PacketContext.PACKET_LOOPBACK);
        assertThat(TableWalk.run(t, Hook.INPUT, pkt, Trace.NONE)).isEqualTo(Verdict.ACCEPT);
        pkt.ipv6(fromDoc(17, udp(5353, 53)), 0);
        assertThat(TableWalk.run(t, Hook.INPUT, pkt, Trace.NONE)).isEqualTo(Verdict.DROP);
    }

    @Test
    void hopLimitIcmpv6AndLength() {
        IpSpec icmp6 = ANY.withProtocol(Protocols.ICMPV6);
        MemorySegment echo = fromDoc(58, icmp(128, 0));
        Rule hl = rule(ANY, verdict("ACCEPT"), match(ANY, "hl", "--hl-eq", "64"));
        assertThat(walk(filter(Family.IPV6, builtin("INPUT", "DROP", hl)), echo)).isEqualTo(Verdict.ACCEPT);
        assertThat(walk(filter(Family.IPV6, builtin("INPUT", "DROP",
                rule(ANY, verdict("ACCEPT"), match(ANY, "hl", "--hl-lt", "64")))), echo)).isEqualTo(Verdict.DROP);
        assertThat(walk(filter(Family.IPV6, builtin("INPUT", "DROP",
                rule(icmp6, verdict("ACCEPT"), match(icmp6, "icmp6", "--icmpv6-type", "echo-request")))), echo))
                .isEqualTo(Verdict.ACCEPT);
        assertThat(walk(filter(Family.IPV6, builtin("INPUT", "DROP",
                rule(icmp6, verdict("ACCEPT"), match(icmp6, "icmp6", "--icmpv6-type", "echo-reply")))), echo))
                .isEqualTo(Verdict.DROP);
        assertThat(walk(filter(Family.IPV6, builtin("INPUT", "DROP",
                rule(ANY, verdict("ACCEPT"), match(ANY, "length", "--length", "48")))), echo)).isEqualTo(Verdict.ACCEPT);
        assertThat(pkt.length()).isEqualTo(48);
    }
}
