package org.jnetfilter.core.nat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.ConntrackHooks;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.conntrack.Packets;
import org.jnetfilter.core.conntrack.Rules;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.Netfilter;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.testkit.SnmpMessages;
import org.junit.jupiter.api.Test;

/**
 * nf_nat_snmp_basic on a forwarding path (PREROUTING, POSTROUTING) with the snmp and snmp_trap helpers:
 * behind SNAT the agent's or manager's own address in the message becomes the SNAT address, with a valid UDP
 * checksum; what the decoder fails is dropped; with DNAT only, or no NAT, nothing is read.
 * KernelConntrackHelpersDifferentialTest compares the same kinds of datagram with Linux byte for byte.
 */
class SnmpNatTest {
    static final int AGENT = ip("10.0.1.2");
    static final int MANAGER = ip("10.0.2.2");
    static final int OUTSIDE = ip("10.0.2.100");

    final Conntrack table = new Conntrack(new Host());
    final Netfilter netfilter = new Netfilter();
    final SplittableRandom random = new SplittableRandom(11);
    Table nat = snat();
    double clock;

    SnmpNatTest() {
        ConntrackHooks.register(netfilter, Family.IPV4, table, () -> nat);
    }

    static Table snat() {
        return Rules.nat(Family.IPV4, List.of(), List.of(), List.of(),
                List.of(Rules.rule(IpSpec.any(Family.IPV4), "SNAT", "--to-source", "10.0.2.100")));
    }

    static Table dnat() {
        Rule r = Rules.rule(IpSpec.any(Family.IPV4), "DNAT", "--to-destination", "10.0.2.22");
        return Rules.nat(Family.IPV4, List.of(r), List.of(), List.of(), List.of());
    }

    static Table none() {
        return Rules.nat(Family.IPV4, List.of(), List.of(), List.of(), List.of());
    }

    static MemorySegment udp(int src, int dst, int sport, int dport, byte[] message) {
        byte[] u = SnmpMessages.concat(new byte[] {(byte) (sport >>> 8), (byte) sport, (byte) (dport >>> 8),
                (byte) dport, (byte) ((8 + message.length) >>> 8), (byte) (8 + message.length), 0, 0}, message);
        return Packets.ipv4(src, dst, 17, u);
    }

    /** PREROUTING then POSTROUTING; the verdict of the first hook function that did not accept, else ACCEPT. */
    int forward(PacketContext p, String helper) {
        clock += 0.01;
        p.nowNanos((long) (clock * 1e9) + 1_700_000_000_000_000_000L).host(table.host()).random(random);
        if (helper != null) {
            p.conntrack(Connection.template(0, false, helper), CtInfo.NEW);
        }
        return SnatForwarding.verdict(netfilter, p);
    }

    static byte[] message(PacketContext p) {
        return p.segment().asSlice(p.networkOffset() + 28, p.length() - 28).toArray(ValueLayout.JAVA_BYTE);
    }

    static byte[] v2Trap(int... lastOctets) {
        byte[][] h = SnmpMessages.v2TrapHeader();
        byte[][] bindings = new byte[2 + lastOctets.length][];
        bindings[0] = h[0];
        bindings[1] = h[1];
        for (int i = 0; i < lastOctets.length; i++) {
            bindings[2 + i] = SnmpMessages.addressBinding(10, 0, 1, lastOctets[i]);
        }
        return SnmpMessages.message(1, SnmpMessages.pdu(SnmpMessages.TRAP_V2, 7, bindings));
    }

    @Test
    void datagramWithItsChecksumLeftToTheDeviceLeavesWithTheChecksumOfTheMessageBeforeTheRewrite() {
        // Linux 6.18: a local SNMP datagram through SNAT on a veth with checksum offload; fast_csum updates the
        // partial sum as a full one, and completing it (skb_checksum_help) gives the checksum of the unrewritten
        // message: 0xf5dd on the wire where 0xf5dc is right. The addresses' change (NAT's) is accounted for.
        byte[] trap = v2Trap(2);
        PacketContext p = Packets.load(udp(AGENT, MANAGER, 40162, 162, trap));
        p.transportChecksumPartial(true);
        assertThat(forward(p, "snmp_trap")).isEqualTo(Verdict.ACCEPT);
        byte[] rewritten = message(p);
        assertThat(rewritten).isNotEqualTo(trap);
        assertThat(Packets.checksumsValid(p)).isFalse();
        int wire = p.networkU16(26);
        // the same datagram with the message as it was: its checksum is the one the device wrote
        p.segment().asSlice(p.networkOffset() + 28, trap.length).copyFrom(MemorySegment.ofArray(trap));
        assertThat(Packets.checksumsValid(p)).isTrue();
        assertThat(p.networkU16(26)).isEqualTo(wire);
    }

    @Test
    void offloadedDatagramGetsTheChecksumLinuxPutOnTheWire() {
        // recorded from Linux 6.18: host b sends this SNMPv2c response from 10.0.1.1:40000 to 10.0.3.3:161 by a UDP
        // socket out of a veth (checksum offload), raw OUTPUT -j CT --helper snmp, nat POSTROUTING -j SNAT
        // --to-source 10.0.2.1; a router completing the checksum (skb_checksum_help, tx offload off) sends
        // 0xf5dd, the correct one being 0xf5dc
        byte[] response = java.util.HexFormat.of().parseHex("302f02010104067075626c6963a2220201050201000201003017"
                + "3015060d2b0601020104140101" + "0a0001014004" + "0a000101");
        nat = Rules.nat(Family.IPV4, List.of(), List.of(), List.of(),
                List.of(Rules.rule(IpSpec.any(Family.IPV4), "SNAT", "--to-source", "10.0.2.1")));
        PacketContext p = Packets.load(udp(ip("10.0.1.1"), ip("10.0.3.3"), 40000, 161, response));
        p.transportChecksumPartial(true);
        assertThat(forward(p, "snmp")).isEqualTo(Verdict.ACCEPT);
        assertThat(message(p)).isEqualTo(java.util.HexFormat.of().parseHex("302f02010104067075626c6963a2220201050201"
                + "0002010030173015060d2b06010201041401010a0001014004" + "0a000201"));
        assertThat(p.networkU16(26)).isEqualTo(0xf5dd);
        // the same datagram with its checksum computed by the socket (no offload): the correct one
        PacketContext full = Packets.load(udp(ip("10.0.1.1"), ip("10.0.3.3"), 40001, 161, response));
        assertThat(forward(full, "snmp")).isEqualTo(Verdict.ACCEPT);
        assertThat(Packets.checksumsValid(full)).isTrue();
    }

    @Test
    void trapBehindSnatHasTheAgentsAddressRewrittenAndTheOthersKept() {
        PacketContext p = Packets.load(udp(AGENT, MANAGER, 40162, 162, v2Trap(2, 3)));
        assertThat(forward(p, "snmp_trap")).isEqualTo(Verdict.ACCEPT);
        assertThat((int) p.sourceLo()).isEqualTo(OUTSIDE);
        byte[] m = message(p);
        byte[] expected = v2Trap(2, 3);
        int at = SnmpMessages.addressAt(expected, 0);
        expected[at + 2] = 2;
        expected[at + 3] = 100;
        expected[at] = 10;
        expected[at + 1] = 0;
        assertThat(m).isEqualTo(expected);
        assertThat(Packets.checksumsValid(p)).isTrue();
        assertThat(p.conntrack().hasStatus(Connection.SRC_NAT)).isTrue();
    }

    @Test
    void snmpV1TrapBehindSnatIsDroppedAsTheGrammarHasNoTrapPdu() {
        byte[] v1 = SnmpMessages.message(0, SnmpMessages.trapV1(new int[] {10, 0, 1, 2}));
        assertThat(forward(Packets.load(udp(AGENT, MANAGER, 40163, 162, v1)), "snmp_trap")).isEqualTo(Verdict.DROP);
        nat = none();
        PacketContext plain = Packets.load(udp(AGENT, MANAGER, 40164, 162, v1));
        assertThat(forward(plain, "snmp_trap")).as("no NAT: not read").isEqualTo(Verdict.ACCEPT);
        assertThat(message(plain)).isEqualTo(v1);
    }

    @Test
    void destinationNatOnlyLeavesTheMessageUnread() {
        nat = dnat();
        byte[] v3 = SnmpMessages.message(3, SnmpMessages.pdu(SnmpMessages.TRAP_V2, 1));
        PacketContext p = Packets.load(udp(AGENT, ip("10.0.1.1"), 40165, 162, v3));
        assertThat(forward(p, "snmp_trap")).isEqualTo(Verdict.ACCEPT);
        assertThat((int) p.destinationLo()).isEqualTo(ip("10.0.2.22"));
        assertThat(message(p)).isEqualTo(v3);
    }

    @Test
    void responseToAManagerBehindSnatNamesTheSnatAddressAndGarbageIsDropped() {
        byte[] get = SnmpMessages.message(1, SnmpMessages.pdu(SnmpMessages.GET_REQUEST, 5,
                SnmpMessages.varbind(SnmpMessages.oid(1, 3, 6, 1, 2, 1, 1, 5, 0), SnmpMessages.tlv(SnmpMessages.NULL))));
        PacketContext request = Packets.load(udp(AGENT, MANAGER, 40166, 161, get));
        assertThat(forward(request, "snmp")).isEqualTo(Verdict.ACCEPT);
        byte[] answer = SnmpMessages.message(1, SnmpMessages.pdu(SnmpMessages.RESPONSE, 5,
                SnmpMessages.addressBinding(10, 0, 1, 2)));
        PacketContext response = Packets.load(udp(MANAGER, OUTSIDE, 161, 40166, answer));
        assertThat(forward(response, null)).isEqualTo(Verdict.ACCEPT);
        assertThat(response.ctInfo()).isEqualTo(CtInfo.ESTABLISHED_REPLY);
        assertThat((int) response.destinationLo()).isEqualTo(AGENT);
        int at = SnmpMessages.addressAt(answer, 0);
        assertThat(Packets.u32(response.segment(), 28 + at)).isEqualTo(OUTSIDE);
        assertThat(Packets.checksumsValid(response)).isTrue();
        assertThat(forward(Packets.load(udp(MANAGER, OUTSIDE, 161, 40166, new byte[] {1, 2, 3, 4})), null))
                .isEqualTo(Verdict.DROP);
    }

    /**
     * Not read: a datagram from port 161 in the original direction, one to port 162 in the reply direction
     * (between port 161, or 162, on both ends, non-SNMP data then passes that way only).
     */
    @Test
    void portsDecideWhichDirectionIsRead() {
        byte[] junk = {1, 2, 3, 4};
        assertThat(forward(Packets.load(udp(AGENT, MANAGER, 161, 161, junk)), "snmp")).isEqualTo(Verdict.ACCEPT);
        assertThat(forward(Packets.load(udp(MANAGER, OUTSIDE, 161, 161, junk)), null)).isEqualTo(Verdict.DROP);
        assertThat(forward(Packets.load(udp(AGENT, MANAGER, 162, 162, junk)), "snmp_trap")).isEqualTo(Verdict.DROP);
        assertThat(forward(Packets.load(udp(AGENT, MANAGER, 162, 162, v2Trap(2))), "snmp_trap"))
                .isEqualTo(Verdict.ACCEPT);
        assertThat(forward(Packets.load(udp(MANAGER, OUTSIDE, 162, 162, junk)), null)).isEqualTo(Verdict.ACCEPT);
    }

    @Test
    void datagramLongerThanItsUdpLengthIsDroppedBehindNat() {
        MemorySegment s = udp(AGENT, MANAGER, 40167, 162, v2Trap(2));
        int udpLength = (int) s.byteSize() - 20 - 3;
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 24, (short) udpLength);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 26, (short) 0);
        assertThat(forward(Packets.load(s), "snmp_trap")).isEqualTo(Verdict.DROP);
    }

    /**
     * The checksum update (fast_csum, on either byte parity) against a full recomputation: random messages whose
     * agent address sits at odd and even offsets, rewritten behind SNAT to random addresses, always verify.
     */
    @Test
    void checksumAfterEveryRewriteEqualsAFullRecomputation() {
        SplittableRandom r = new SplittableRandom(20261130);
        for (int round = 0; round < 500; round++) {
            String outside = "10.0.2." + r.nextInt(1, 255);
            nat = Rules.nat(Family.IPV4, List.of(), List.of(), List.of(),
                    List.of(Rules.rule(IpSpec.any(Family.IPV4), "SNAT", "--to-source", outside)));
            byte[] pad = SnmpMessages.octets("p".repeat(r.nextInt(0, 6)));
            byte[] m = SnmpMessages.message(r.nextInt(2), SnmpMessages.pdu(SnmpMessages.TRAP_V2, r.nextInt(100),
                    SnmpMessages.varbind(SnmpMessages.oid(1, 3, 6, 1), pad), SnmpMessages.addressBinding(10, 0, 1, 2),
                    SnmpMessages.addressBinding(10, 0, 1, r.nextInt(3, 255))));
            PacketContext p = Packets.load(udp(AGENT, MANAGER, 20000 + round, 162, m));
            assertThat(forward(p, "snmp_trap")).isEqualTo(Verdict.ACCEPT);
            int at = SnmpMessages.addressAt(m, 0);
            assertThat(Packets.u32(p.segment(), 28 + at)).as("round %d", round).isEqualTo(ip(outside));
            assertThat(Packets.checksumsValid(p)).as("round %d, address at offset %d", round, at).isTrue();
        }
    }

    @Test
    void fastChecksumMatchesTheKernelsWordLayoutOnBothParities() {
        // 0x1234 with 10.0.1.2 -> 10.0.2.100 at an even offset: ~(~0x1234 + ~0x0a00 + ~0x0102 + 0x0a00 + 0x0264)
        assertThat(HelperNat.snmpChecksum(0x1234, ip("10.0.1.2"), ip("10.0.2.100"), false)).isEqualTo(0x10D2);
        // at an odd offset every word is byte-swapped: the update swapped as well
        assertThat(HelperNat.snmpChecksum(0x1234, ip("10.0.1.2"), ip("10.0.2.100"), true)).isEqualTo(0xB032);
    }
}
