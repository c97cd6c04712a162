package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.chunk;
import static org.jnetfilter.core.conntrack.Packets.init;
import static org.jnetfilter.core.conntrack.Packets.ip;
import static org.jnetfilter.core.conntrack.Packets.sctp;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.netfilter.PacketContext;
import org.junit.jupiter.api.Test;

class SctpTrackingTest {
    static final int A = ip("10.0.0.2");
    static final int B = ip("10.0.0.1");
    static final int TAG_A = 0x11111111;
    static final int TAG_B = 0x22222222;

    final Conntrack table = new Conntrack();
    final Path path = new Path(table);

    static MemorySegment a2b(int vtag, byte[]... chunks) {
        return Packets.ipv4(A, B, 132, sctp(5000, 36412, vtag, chunks));
    }

    static MemorySegment b2a(int vtag, byte[]... chunks) {
        return Packets.ipv4(B, A, 132, sctp(36412, 5000, vtag, chunks));
    }

    static byte[] data() {
        return chunk(0, 3, new byte[16]);
    }

    Connection associate() {
        path.forward(a2b(0, init(1, TAG_A)), 0);
        path.forward(b2a(TAG_A, init(2, TAG_B)), 0.01);
        path.forward(a2b(TAG_B, chunk(10, 0, new byte[8])), 0.02);
        return path.forward(b2a(TAG_A, chunk(11, 0, new byte[0])), 0.03).conntrack();
    }

    @Test
    void initStartsAClosedEntryAndTheFourWayHandshakeEstablishesIt() {
        PacketContext init = path.forward(a2b(0, init(1, TAG_A)), 0);
        Connection c = init.conntrack();
        assertThat(c.sctpState()).isEqualTo(SctpTracking.CLOSED);
        assertThat(c.listLine(Path.seconds(0))).isEqualTo("sctp     132 10 CLOSED src=10.0.0.2 dst=10.0.0.1 "
                + "sport=5000 dport=36412 [UNREPLIED] src=10.0.0.1 dst=10.0.0.2 sport=36412 dport=5000 mark=0 use=1");
        path.forward(b2a(TAG_A, init(2, TAG_B)), 0.01);
        assertThat(c.sctpState()).isEqualTo(SctpTracking.COOKIE_WAIT);
        assertThat(c.secondsLeft(Path.seconds(0.01))).isEqualTo(3);
        path.forward(a2b(TAG_B, chunk(10, 0, new byte[8])), 0.02);
        assertThat(c.sctpState()).isEqualTo(SctpTracking.COOKIE_ECHOED);
        path.forward(b2a(TAG_A, chunk(11, 0, new byte[0])), 0.03);
        assertThat(c.sctpState()).isEqualTo(SctpTracking.ESTABLISHED);
        assertThat(c.hasStatus(Connection.ASSURED)).isTrue();
        assertThat(c.secondsLeft(Path.seconds(0.03))).isEqualTo(210);
    }

    @Test
    void dataWithTheWrongVerificationTagIsInvalid() {
        associate();
        assertThat(path.forward(a2b(TAG_B, data()), 1).conntrack()).isNotNull();
        assertThat(path.forward(a2b(TAG_A, data()), 1).conntrack()).isNull();
        assertThat(path.forward(b2a(TAG_A, data()), 1).ctInfo()).isEqualTo(CtInfo.ESTABLISHED_REPLY);
    }

    @Test
    void shutdownSequenceClosesTheAssociation() {
        Connection c = associate();
        path.forward(a2b(TAG_B, chunk(7, 0, new byte[4])), 1);
        assertThat(c.sctpState()).isEqualTo(SctpTracking.SHUTDOWN_SENT);
        path.forward(b2a(TAG_A, chunk(8, 0, new byte[0])), 1.1);
        assertThat(c.sctpState()).isEqualTo(SctpTracking.SHUTDOWN_ACK_SENT);
        path.forward(a2b(TAG_B, chunk(14, 0, new byte[0])), 1.2);
        assertThat(c.sctpState()).isEqualTo(SctpTracking.CLOSED);
        assertThat(c.secondsLeft(Path.seconds(1.2))).isEqualTo(10);
    }

    @Test
    void outOfTheBluePacketsAndMalformedChunksStartNothing() {
        assertThat(path.forward(a2b(TAG_B, data()), 0).conntrack()).as("DATA").isNull();
        assertThat(path.forward(a2b(TAG_B, chunk(6, 0, new byte[0])), 0).conntrack()).as("ABORT").isNull();
        assertThat(path.forward(a2b(TAG_B, chunk(11, 0, new byte[0])), 0).conntrack()).as("COOKIE ACK").isNull();
        assertThat(path.forward(a2b(7, init(1, TAG_A)), 0).conntrack()).as("INIT with a vtag").isNull();
        assertThat(path.forward(a2b(0, init(1, TAG_A), data()), 0).conntrack()).as("INIT bundled").isNull();
        assertThat(table.count()).isZero();
    }

    @Test
    void abortWithTheTFlagCarriesThePeersTag() {
        Connection c = associate();
        // T set: the sender reflects the peer's tag (its own vtag for this direction is TAG_B)
        assertThat(path.forward(a2b(TAG_A, chunk(6, 1, new byte[0])), 1).conntrack()).isSameAs(c);
        assertThat(c.sctpState()).isEqualTo(SctpTracking.CLOSED);
    }

    @Test
    void retransmittedInitDoesNotRenewTheTimeout() {
        path.forward(a2b(0, init(1, TAG_A)), 0);
        PacketContext again = path.forward(a2b(0, init(1, TAG_A)), 5);
        assertThat(again.conntrack().secondsLeft(Path.seconds(5))).isEqualTo(5);
    }

    @Test
    void badCrcAtPreroutingIsInvalid() {
        MemorySegment p = a2b(0, init(1, TAG_A));
        p.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 40, (byte) 0x5A);
        assertThat(path.forward(p, 0).conntrack()).isNull();
    }
}
