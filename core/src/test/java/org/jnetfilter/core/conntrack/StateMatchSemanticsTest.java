package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ACK;
import static org.jnetfilter.core.conntrack.Packets.SYN;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.netfilter.PacketContext;
import org.junit.jupiter.api.Test;

/** state and conntrack matches on packets conntrack has classified. */
class StateMatchSemanticsTest {
    static final int A = ip("10.0.0.2");
    static final int B = ip("10.0.0.1");

    final Conntrack table = new Conntrack();
    final Path path = new Path(table);

    PacketContext syn() {
        return path.forward(Packets.ipv4(A, B, 6, Packets.tcp(40000, 80, 1000, 0, SYN, 0)), 0);
    }

    PacketContext synAck() {
        return path.forward(Packets.ipv4(B, A, 6, Packets.tcp(80, 40000, 5000, 1001, SYN | ACK, 0)), 0.1);
    }

    PacketContext invalid() {
        return path.forward(Packets.ipv4(A, B, 6, Packets.tcp(1, 2, 1000, 0, SYN | Packets.FIN, 0)), 0);
    }

    static boolean m(PacketContext p, String name, String... words) {
        ExtensionData d = Rules.match(name, words);
        return d.matches(p);
    }

    @Test
    void stateMatchesNewEstablishedInvalidUntrackedAndNegation() {
        PacketContext s = syn();
        assertThat(m(s, "state", "--state", "NEW")).isTrue();
        assertThat(m(s, "state", "--state", "ESTABLISHED,RELATED")).isFalse();
        assertThat(m(s, "state", "!", "--state", "NEW")).isFalse();
        PacketContext r = synAck();
        assertThat(m(r, "state", "--state", "ESTABLISHED")).isTrue();
        PacketContext bad = invalid();
        assertThat(m(bad, "state", "--state", "INVALID")).isTrue();
        assertThat(m(bad, "state", "--state", "NEW,ESTABLISHED,RELATED,UNTRACKED")).isFalse();
        PacketContext u = Packets.load(Packets.ipv4(A, B, 17, Packets.udp(1, 2, 0))).untracked(true);
        assertThat(m(u, "state", "--state", "UNTRACKED")).isTrue();
        assertThat(m(u, "state", "--state", "INVALID")).isFalse();
    }

    @Test
    void relatedIcmpErrorMatchesRelated() {
        MemorySegment synBytes = Packets.ipv4(A, B, 6, Packets.tcp(40000, 80, 1000, 0, SYN, 0));
        path.forward(synBytes, 0);
        PacketContext err = path.forward(Packets.ipv4(ip("10.9.9.9"), A, 1, Packets.icmpError(11, 0, synBytes, 28)), 1);
        assertThat(m(err, "state", "--state", "RELATED")).isTrue();
        assertThat(m(err, "conntrack", "--ctstate", "RELATED", "--ctdir", "REPLY")).isTrue();
    }

    @Test
    void conntrackStateStatusAndDirection() {
        PacketContext s = syn();
        assertThat(m(s, "conntrack", "--ctstate", "NEW")).isTrue();
        assertThat(m(s, "conntrack", "!", "--ctstate", "NEW")).isFalse();
        assertThat(m(s, "conntrack", "--ctstate", "SNAT")).isFalse();
        assertThat(m(s, "conntrack", "--ctstatus", "CONFIRMED")).isTrue();
        assertThat(m(s, "conntrack", "--ctstatus", "SEEN_REPLY")).isFalse();
        assertThat(m(s, "conntrack", "--ctdir", "ORIGINAL")).isTrue();
        assertThat(m(s, "conntrack", "--ctdir", "REPLY")).isFalse();
        PacketContext r = synAck();
        assertThat(m(r, "conntrack", "--ctdir", "REPLY")).isTrue();
        assertThat(m(r, "conntrack", "--ctstatus", "SEEN_REPLY")).isTrue();
        assertThat(m(invalid(), "conntrack", "--ctstate", "INVALID")).isTrue();
        // without an entry only a state option can match
        assertThat(m(invalid(), "conntrack", "--ctproto", "tcp")).isFalse();
        assertThat(m(invalid(), "conntrack", "!", "--ctproto", "tcp")).isFalse();
    }

    @Test
    void conntrackTupleAddressesProtocolAndPorts() {
        PacketContext r = synAck();
        assertThat(r.conntrack()).isNull();
        syn();
        r = synAck();
        assertThat(m(r, "conntrack", "--ctorigsrc", "10.0.0.2", "--ctorigdst", "10.0.0.0/24")).isTrue();
        assertThat(m(r, "conntrack", "--ctreplsrc", "10.0.0.1", "--ctrepldst", "10.0.0.2")).isTrue();
        assertThat(m(r, "conntrack", "!", "--ctorigsrc", "10.0.0.2")).isFalse();
        assertThat(m(r, "conntrack", "--ctproto", "tcp", "--ctorigsrcport", "40000", "--ctorigdstport", "80")).isTrue();
        assertThat(m(r, "conntrack", "--ctreplsrcport", "80", "--ctrepldstport", "39000:41000")).isTrue();
        assertThat(m(r, "conntrack", "--ctproto", "udp")).isFalse();
        assertThat(m(r, "conntrack", "!", "--ctorigdstport", "80")).isFalse();
    }

    @Test
    void conntrackExpireComparesTheSecondsLeft() {
        PacketContext s = syn();
        assertThat(m(s, "conntrack", "--ctexpire", "100:120")).isTrue();
        assertThat(m(s, "conntrack", "--ctexpire", "121:200")).isFalse();
        assertThat(m(s, "conntrack", "!", "--ctexpire", "121:200")).isTrue();
    }
}
