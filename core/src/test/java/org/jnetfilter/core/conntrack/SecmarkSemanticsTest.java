package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.junit.jupiter.api.Test;

/** SECMARK sets the packet's security id; CONNSECMARK saves it to the connection and restores it from there. */
class SecmarkSemanticsTest {
    static final int A = ip("10.0.0.2");
    static final int B = ip("10.0.0.1");
    static final IpSpec V4 = IpSpec.any(Family.IPV4);

    final Conntrack table = new Conntrack();
    final Path path = new Path(table);

    static MemorySegment udp(int sport) {
        return Packets.ipv4(A, B, 17, Packets.udp(sport, 53, 0));
    }

    static ExtensionData target(String name, String... words) {
        return Rules.target("security", V4, name, words);
    }

    @Test
    void secmarkGivesEachContextItsOwnNonZeroId() {
        PacketContext p = path.forward(udp(1), 0);
        assertThat(p.secmark()).isZero();
        assertThat(target("SECMARK", "--selctx", "system_u:object_r:http_packet_t:s0").apply(p))
                .isEqualTo(Verdict.CONTINUE);
        long http = p.secmark();
        assertThat(http).isNotZero();
        target("SECMARK", "--selctx", "system_u:object_r:dns_packet_t:s0").apply(p);
        assertThat(p.secmark()).isNotZero().isNotEqualTo(http);
        target("SECMARK", "--selctx", "system_u:object_r:http_packet_t:s0").apply(p);
        assertThat(p.secmark()).isEqualTo(http);
    }

    @Test
    void connsecmarkSavesOnlyIntoAnUnmarkedConnectionAndRestoresOnlyOntoAnUnmarkedPacket() {
        PacketContext p = path.forward(udp(2), 0);
        Connection c = p.conntrack();
        // nothing to save from a packet without a secmark
        target("CONNSECMARK", "--save").apply(p);
        assertThat(c.secmark()).isZero();
        p.secmark(7);
        assertThat(target("CONNSECMARK", "--save").apply(p)).isEqualTo(Verdict.CONTINUE);
        assertThat(c.secmark()).isEqualTo(7);
        // the connection keeps its first secmark
        p.secmark(9);
        target("CONNSECMARK", "--save").apply(p);
        assertThat(c.secmark()).isEqualTo(7);
        // a packet with a secmark keeps it; one without gets the connection's
        target("CONNSECMARK", "--restore").apply(p);
        assertThat(p.secmark()).isEqualTo(9);
        PacketContext next = path.forward(udp(2), 0.1);
        assertThat(next.conntrack()).isSameAs(c);
        assertThat(next.secmark()).isZero();
        target("CONNSECMARK", "--restore").apply(next);
        assertThat(next.secmark()).isEqualTo(7);
    }

    @Test
    void connsecmarkWithoutAConnectionChangesNothing() {
        PacketContext invalid = path.forward(Packets.ipv4(A, B, 1, Packets.icmpEcho(0, 1, 1)), 0);
        assertThat(invalid.conntrack()).isNull();
        invalid.secmark(3);
        target("CONNSECMARK", "--save").apply(invalid);
        target("CONNSECMARK", "--restore").apply(invalid);
        assertThat(invalid.secmark()).isEqualTo(3);
    }
}
