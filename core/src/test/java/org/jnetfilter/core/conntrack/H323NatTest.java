package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.H323HelperTest.CALLEE;
import static org.jnetfilter.core.conntrack.H323HelperTest.CALLER;
import static org.jnetfilter.core.conntrack.H323HelperTest.audioChannel;
import static org.jnetfilter.core.conntrack.H323HelperTest.openLogicalChannelRequest;
import static org.jnetfilter.core.conntrack.H323HelperTest.q931Tpkt;
import static org.jnetfilter.core.conntrack.H323HelperTest.setup;
import static org.jnetfilter.core.conntrack.H323HelperTest.userInformation;
import static org.jnetfilter.core.conntrack.Packets.ACK;
import static org.jnetfilter.core.conntrack.Packets.PSH;
import static org.jnetfilter.core.conntrack.Packets.SYN;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.jnetfilter.core.nat.SnatForwarding;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * nf_nat_h323 on a forwarding path without the kernel: callers at 10.0.1.x behind {@code SNAT --to-source
 * 10.0.2.100} call 10.0.2.2; what leaves names the translated address where the caller named itself, and the
 * connections it announced are expected at the translated address and reach the caller
 * (KernelConntrackHelpersDifferentialTest compares sessions with Linux 6.18 byte for byte).
 */
class H323NatTest {
    static final int OUTSIDE = ip("10.0.2.100");
    final SnatForwarding path = new SnatForwarding();
    final Conntrack table = path.table;
    int seq = 1000;
    int peerSeq = 5000;

    PacketContext forward(MemorySegment packet, String helper) {
        return path.forward(packet, helper, 64);
    }

    /** A call signalling connection from {@code caller}:{@code sport} to the callee's 1720 through its handshake. */
    void call(int caller, int sport) {
        seq = 1000;
        peerSeq = 5000;
        forward(H323HelperTest.tcp(caller, CALLEE, sport, 1720, seq++, 0, SYN, new byte[0]), "Q.931");
        forward(H323HelperTest.tcp(CALLEE, OUTSIDE, 1720, sport, peerSeq++, seq, SYN | ACK, new byte[0]), null);
        forward(H323HelperTest.tcp(caller, CALLEE, sport, 1720, seq, peerSeq, ACK, new byte[0]), null);
    }

    PacketContext send(int caller, int sport, byte[] data) {
        PacketContext p = forward(H323HelperTest.tcp(caller, CALLEE, sport, 1720, seq, peerSeq, PSH | ACK, data),
                null);
        seq += data.length;
        return p;
    }

    /** The 6 bytes (address, port) at {@code offset} of the TCP payload of a packet that left. */
    static byte[] addressAt(PacketContext p, int offset) {
        int payload = p.transportOffset() + (p.networkU8(p.transportOffset() + 12) >>> 4) * 4;
        return p.segment().asSlice(p.networkOffset() + payload + offset, 6).toArray(ValueLayout.JAVA_BYTE);
    }

    static int indexOf(byte[] data, byte[] part) {
        for (int i = 0; i + part.length <= data.length; i++) {
            if (Arrays.equals(data, i, i + part.length, part, 0, part.length)) {
                return i;
            }
        }
        throw new AssertionError("not in the message");
    }

    static byte[] address(int ip, int port) {
        return new byte[] {(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip, (byte) (port >>> 8),
            (byte) port};
    }

    String expectations() {
        return table.listExpectations(Family.IPV4, path.nowNanos());
    }

    @Test
    void setupsH245AddressLeavesAsTheTranslatedAddressAndTheH245ConnectionReachesTheCaller() {
        call(CALLER, 40000);
        byte[] tpkt = q931Tpkt(0x05, userInformation(0, setup(CALLER, 4000)));
        int at = indexOf(tpkt, address(CALLER, 4000));
        PacketContext out = send(CALLER, 40000, tpkt);
        assertThat(addressAt(out, at)).containsExactly(address(OUTSIDE, 4000));
        assertThat(Packets.checksumsValid(out)).isTrue();
        assertThat(out.length()).as("the length kept").isEqualTo(40 + tpkt.length);
        assertThat((out.transportU16(4) << 16 | out.transportU16(6))).as("no sequence adjustment").isEqualTo(1001);
        assertThat(expectations()).isEqualTo("240 proto=6 src=10.0.2.2 dst=10.0.2.100 sport=0 dport=4000 "
                + "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.1.2 "
                + "master-dst=10.0.2.2 sport=40000 dport=1720 class=0 helper=Q.931\n");

        PacketContext syn = forward(H323HelperTest.tcp(CALLEE, OUTSIDE, 50000, 4000, 9000, 0, SYN, new byte[0]),
                null);
        assertThat(syn.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat((syn.networkU16(16) << 16 | syn.networkU16(18))).as("to the caller").isEqualTo(CALLER);
        assertThat(syn.transportU16(2)).isEqualTo(4000);
        assertThat(syn.conntrack().helper()).isEqualTo("H.245");
    }

    @Test
    void aSecondH245AddressOfTheSamePortKeepsTheTranslatedPort() {
        call(CALLER, 40000);
        send(CALLER, 40000, q931Tpkt(0x05, userInformation(0, setup(CALLER, 4000))));
        byte[] again = q931Tpkt(0x05, userInformation(0, setup(CALLER, 4000)));
        PacketContext out = send(CALLER, 40000, again);
        assertThat(addressAt(out, indexOf(again, address(CALLER, 4000)))).containsExactly(address(OUTSIDE, 4000));
        assertThat(expectations().lines()).hasSize(1);
    }

    /**
     * Two callers behind the same address announce the same media pair: the second finds 10.0.2.100's pair taken
     * and gets the next one up, its announced RTCP port rewritten to the new pair's odd port.
     */
    @ParameterizedTest(name = "announced {0}: the second call gets {1}")
    @CsvSource({"5001, 5003", "5000, 5002"})
    void secondCallNamingATakenMediaPairGetsTheNextPairUp(int announced, int second) {
        byte[] first = q931Tpkt(0x05, userInformation(0, setup(0, 0), openLogicalChannelRequest(
                audioChannel(CALLER, announced))));
        call(CALLER, 40000);
        PacketContext out = send(CALLER, 40000, first);
        assertThat(addressAt(out, indexOf(first, address(CALLER, announced))))
                .containsExactly(address(OUTSIDE, announced));

        int other = ip("10.0.1.3");
        byte[] tpkt = q931Tpkt(0x05, userInformation(0, setup(0, 0), openLogicalChannelRequest(
                audioChannel(other, announced))));
        call(other, 40001);
        out = send(other, 40001, tpkt);
        assertThat(addressAt(out, indexOf(tpkt, address(other, announced)))).containsExactly(address(OUTSIDE, second));
        int even = second & ~1;
        assertThat(expectations()).contains(
                "proto=17 src=10.0.2.2 dst=10.0.2.100 sport=0 dport=" + (announced & ~1) + " ",
                "proto=17 src=10.0.2.2 dst=10.0.2.100 sport=0 dport=" + even + " ",
                "proto=17 src=10.0.2.2 dst=10.0.2.100 sport=0 dport=" + (even + 1) + " ");
        assertThat(expectations().lines()).hasSize(4);

        PacketContext rtp = forward(ConntrackHelpersTest.udp(CALLEE, OUTSIDE, 30000, even, new byte[12]), null);
        assertThat(rtp.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat((rtp.networkU16(16) << 16 | rtp.networkU16(18))).as("to the second caller").isEqualTo(other);
        assertThat(rtp.transportU16(2)).as("at the port it announced").isEqualTo(announced & ~1);
    }

    @Test
    void registrationRequestsCallSignalAndRasAddressesLeaveTranslatedAndCallsReachTheEndpoint() {
        byte[] rrq = H323HelperTest.registrationRequest(CALLER, 1720, 0);
        int signal = indexOf(rrq, address(CALLER, 1720));
        int rasAddress = indexOf(rrq, address(CALLER, 1719));
        PacketContext out = forward(ConntrackHelpersTest.udp(CALLER, CALLEE, 1719, 1719, rrq), "RAS");
        int payload = out.transportOffset() + 8;
        byte[] sent = out.segment().asSlice(out.networkOffset() + payload, rrq.length)
                .toArray(ValueLayout.JAVA_BYTE);
        assertThat(Arrays.copyOfRange(sent, signal, signal + 6)).containsExactly(address(OUTSIDE, 1720));
        assertThat(Arrays.copyOfRange(sent, rasAddress, rasAddress + 6)).containsExactly(address(OUTSIDE, 1719));
        assertThat(Packets.checksumsValid(out)).isTrue();
        assertThat(expectations()).startsWith("240 proto=6 src=10.0.2.2 dst=10.0.2.100 sport=0 dport=1720 ")
                .contains(" helper=RAS\n").contains("PERMANENT");

        PacketContext syn = forward(H323HelperTest.tcp(CALLEE, OUTSIDE, 40060, 1720, 1, 0, SYN, new byte[0]), null);
        assertThat(syn.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat((syn.networkU16(16) << 16 | syn.networkU16(18))).isEqualTo(CALLER);
        assertThat(syn.conntrack().helper()).isEqualTo("Q.931");
        assertThat(syn.transportU16(2)).isEqualTo(1720);
    }

    @Test
    void aFifthMediaChannelOfAConnectionIsNeitherExpectedNorRewritten() {
        call(CALLER, 40000);
        byte[] tpkt = q931Tpkt(0x05, userInformation(0, setup(0, 0),
                openLogicalChannelRequest(audioChannel(CALLER, 5001)),
                openLogicalChannelRequest(audioChannel(CALLER, 5003)),
                openLogicalChannelRequest(audioChannel(CALLER, 5005)),
                openLogicalChannelRequest(audioChannel(CALLER, 5007)),
                openLogicalChannelRequest(audioChannel(CALLER, 5009))));
        PacketContext out = send(CALLER, 40000, tpkt);
        for (int port = 5001; port <= 5007; port += 2) {
            assertThat(addressAt(out, indexOf(tpkt, address(CALLER, port)))).containsExactly(address(OUTSIDE, port));
        }
        assertThat(addressAt(out, indexOf(tpkt, address(CALLER, 5009)))).as("out of expectations: left")
                .containsExactly(address(CALLER, 5009));
        assertThat(expectations().lines()).hasSize(8).noneMatch(l -> l.contains("dport=5008 ") || l.contains(
                "dport=5009 "));
    }

    @Test
    void aCallForwardedFromBehindSnatIsExpectedAtTheTranslatedAddressAndReachesTheForwardedToAddress() {
        call(CALLER, 40000);
        int forwardedTo = ip("10.0.1.5");
        byte[] tpkt = q931Tpkt(0x62, userInformation(6, H323HelperTest.facility(1, forwardedTo, 1721)));
        PacketContext out = send(CALLER, 40000, tpkt);
        assertThat(addressAt(out, indexOf(tpkt, address(forwardedTo, 1721)))).containsExactly(address(OUTSIDE, 1721));
        assertThat(expectations()).startsWith("240 proto=6 src=10.0.2.2 dst=10.0.2.100 sport=0 dport=1721 ");

        PacketContext syn = forward(H323HelperTest.tcp(CALLEE, OUTSIDE, 40070, 1721, 1, 0, SYN, new byte[0]), null);
        assertThat(syn.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat(syn.networkU16(12) << 16 | syn.networkU16(14)).as("the source kept").isEqualTo(CALLEE);
        assertThat(syn.networkU16(16) << 16 | syn.networkU16(18)).as("to the forwarded-to address")
                .isEqualTo(forwardedTo);
        assertThat(syn.transportU16(2)).isEqualTo(1721);
        assertThat(syn.conntrack().helper()).isEqualTo("Q.931");
    }

    /**
     * An H.245 OpenLogicalChannelAck whose forwardMultiplexAckParameters (an extension) name the acknowledging
     * side's mediaChannel {@code address}:{@code rtp} and mediaControlChannel {@code address}:{@code rtcp}.
     */
    static byte[] openLogicalChannelAck(int address, int rtp, int rtcp) {
        return H323HelperTest.h245Tpkt(w -> {
            w.bit(false).bits(1, 2).bit(false).bits(5, 5);
            w.bit(true).bitmap("0").u16(0);
            w.bits(1, 7).bitmap("01").align().open(f -> {
                f.bit(false);
                f.bit(false).bitmap("00110");
                H323HelperTest.h245Address(f, address, rtp);
                H323HelperTest.h245Address(f, address, rtcp);
            });
        });
    }

    /**
     * The callee opens a channel on the H.245 connection to the caller behind SNAT; the caller's
     * OpenLogicalChannelAck names its RTP and RTCP ports: both leave as 10.0.2.100's, the RTCP port finding the pair
     * the RTP port took (rtp_port: the same channel), and the callee's RTP reaches the caller.
     */
    @Test
    void openLogicalChannelAckFromBehindSnatNamesTheTranslatedPairForBothPorts() {
        call(CALLER, 40000);
        send(CALLER, 40000, q931Tpkt(0x05, userInformation(0, setup(CALLER, 4000))));
        seq = 9000;
        peerSeq = 7000;
        forward(H323HelperTest.tcp(CALLEE, OUTSIDE, 50000, 4000, peerSeq++, 0, SYN, new byte[0]), null);
        forward(H323HelperTest.tcp(CALLER, CALLEE, 4000, 50000, seq++, peerSeq, SYN | ACK, new byte[0]), null);
        forward(H323HelperTest.tcp(CALLEE, OUTSIDE, 50000, 4000, peerSeq, seq, ACK, new byte[0]), null);
        byte[] ack = openLogicalChannelAck(CALLER, 5000, 5001);
        PacketContext out = forward(H323HelperTest.tcp(CALLER, CALLEE, 4000, 50000, seq, peerSeq, PSH | ACK, ack),
                null);
        assertThat(addressAt(out, indexOf(ack, address(CALLER, 5000)))).containsExactly(address(OUTSIDE, 5000));
        assertThat(addressAt(out, indexOf(ack, address(CALLER, 5001)))).containsExactly(address(OUTSIDE, 5001));
        assertThat(Packets.checksumsValid(out)).isTrue();
        assertThat(expectations()).contains(
                "proto=17 src=10.0.2.2 dst=10.0.2.100 sport=0 dport=5000 ",
                "proto=17 src=10.0.2.2 dst=10.0.2.100 sport=0 dport=5001 ");
        assertThat(expectations().lines()).as("the pair once, the H.245 connection's own taken").hasSize(2);

        PacketContext rtp = forward(ConntrackHelpersTest.udp(CALLEE, OUTSIDE, 6000, 5000, new byte[12]), null);
        assertThat(rtp.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat(rtp.networkU16(16) << 16 | rtp.networkU16(18)).isEqualTo(CALLER);
    }

    /**
     * Seeded calls from different callers behind the one address announce RTCP ports in a narrow range: each gets
     * the pair a simple reference gives (from the announced port's even port up by two, the first whose two ports no
     * earlier call holds), announced back with the announced port's parity.
     */
    @Test
    void mediaPairsOfManyCallsAreTheFirstFreeOnesUpwardAsAReferenceFinds() {
        SplittableRandom random = new SplittableRandom(20261201);
        Set<Integer> taken = new HashSet<>();
        for (int call = 0; call < 24; call++) {
            int caller = ip("10.0.1." + (10 + call));
            int announced = 5000 + random.nextInt(12);
            int expected = announced & ~1;
            while (taken.contains(expected) || taken.contains(expected + 1)) {
                expected += 2;
            }
            taken.add(expected);
            taken.add(expected + 1);
            byte[] tpkt = q931Tpkt(0x05, userInformation(0, setup(0, 0), openLogicalChannelRequest(
                    audioChannel(caller, announced))));
            call(caller, 40000 + call);
            PacketContext out = send(caller, 40000 + call, tpkt);
            assertThat(addressAt(out, indexOf(tpkt, address(caller, announced)))).as("call %d announcing %d", call,
                    announced).containsExactly(address(OUTSIDE, expected | (announced & 1)));
        }
        assertThat(expectations().lines()).hasSize(48);
    }

    /**
     * An AdmissionRequest (point to point, endpointIdentifier "ep", no srcInfo aliases, bandWidth 100) with a
     * destCallSignalAddress and a srcCallSignalAddress when their address is not 0.
     */
    static byte[] admissionRequest(int dest, int destPort, int src, int srcPort) {
        PerWriter w = new PerWriter();
        w.bit(false).bits(9, 5);
        w.bit(false).bit(false).bit(false).bit(dest != 0).bit(false).bit(src != 0).bit(false).bit(false).u16(3);
        w.bit(false).bits(0, 2);
        w.bits(1, 7).bytes(0, 'e', 0, 'p');
        if (dest != 0) {
            H323HelperTest.transportAddress(w, dest, destPort);
        }
        w.length(0);
        if (src != 0) {
            H323HelperTest.transportAddress(w, src, srcPort);
        }
        // bandWidth 100, where the kernel's decoder stops
        w.bits(0, 2).bytes(100);
        return w.toBytes();
    }

    /**
     * After an RRQ behind SNAT registered 10.0.1.2:1720 (translated 10.0.2.100:1720), an admission message's
     * address: an ARQ answering a call names the registered address (it becomes the translated one), a calling ARQ
     * names its own address with any port (the address translated, the port kept), an ACF to the endpoint naming the
     * translated registered address (it becomes the endpoint's own), one naming another address (left, expected).
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "answering ARQ,          true,  10.0.1.2,   1720,  0,        0,     10.0.2.100, 1720",
        "calling ARQ,            true,  10.0.2.9,   1720,  10.0.1.2, 40000, 10.0.2.100, 40000",
        "ARQ naming neither,     true,  10.0.2.9,   1720,  10.0.1.9, 40000, 10.0.1.9,   40000",
        "answering ACF,          false, 10.0.2.100, 1720,  0,        0,     10.0.1.2,   1720",
        "ACF of another address, false, 10.0.2.9,   1720,  0,        0,     10.0.2.9,   1720"})
    void admissionMessagesNameTheTranslatedRegistration(String name, boolean request, String dest, int destPort,
            String src, int srcPort, String becomes, int becomesPort) {
        forward(ConntrackHelpersTest.udp(CALLER, CALLEE, 1719, 1719,
                H323HelperTest.registrationRequest(CALLER, 1720, 0)), "RAS");
        int destIp = ip(dest);
        int srcIp = src.equals("0") ? 0 : ip(src);
        byte[] message = request ? admissionRequest(destIp, destPort, srcIp, srcPort)
                : H323HelperTest.admissionConfirm(destIp, destPort);
        byte[] named = srcIp != 0 ? address(srcIp, srcPort) : address(destIp, destPort);
        int at = indexOf(message, named);
        PacketContext out = request
                ? forward(ConntrackHelpersTest.udp(CALLER, CALLEE, 1719, 1719, message), null)
                : forward(ConntrackHelpersTest.udp(CALLEE, OUTSIDE, 1719, 1719, message), null);
        int payload = out.transportOffset() + 8 + at;
        assertThat(out.segment().asSlice(out.networkOffset() + payload, 6).toArray(ValueLayout.JAVA_BYTE))
                .containsExactly(address(ip(becomes), becomesPort));
        assertThat(Packets.checksumsValid(out)).isTrue();
    }

    /** A LocationRequest for no alias whose replyAddress is {@code address}:{@code port}. */
    static byte[] locationRequest(int address, int port) {
        PerWriter w = new PerWriter();
        w.bit(false).bits(18, 5);
        w.bit(false).bitmap("00").u16(4).length(0);
        H323HelperTest.transportAddress(w, address, port);
        // sourceInfo (where the kernel's decoder stops): no alias
        w.bit(false).length(0);
        return w.toBytes();
    }

    /** An InfoRequestResponse: rasAddress, one callSignalAddress, endpointIdentifier "ep". */
    static byte[] infoRequestResponse(int address, int rasPort, int callPort) {
        PerWriter w = new PerWriter();
        w.bit(false).bits(22, 5);
        w.bit(false).bitmap("000").u16(5);
        H323HelperTest.endpointType(w);
        w.bits(1, 7).bytes(0, 'e', 0, 'p');
        H323HelperTest.transportAddress(w, address, rasPort);
        w.length(1);
        H323HelperTest.transportAddress(w, address, callPort);
        // perCallInfo absent, then the extensions (where the kernel's decoder stops)
        w.bit(false);
        return w.toBytes();
    }

    /**
     * After an RRQ behind SNAT registered 10.0.1.2:1720, an LRQ's replyAddress (the endpoint's RAS address and port)
     * and an IRR's rasAddress and registered callSignalAddress leave as 10.0.2.100's.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"LRQ, 1719, 0", "IRR, 1719, 1720"})
    void rasRequestsFromBehindSnatNameTheTranslatedAddresses(String name, int rasPort, int callPort) {
        forward(ConntrackHelpersTest.udp(CALLER, CALLEE, 1719, 1719,
                H323HelperTest.registrationRequest(CALLER, 1720, 0)), "RAS");
        byte[] message = callPort == 0 ? locationRequest(CALLER, rasPort)
                : infoRequestResponse(CALLER, rasPort, callPort);
        PacketContext out = forward(ConntrackHelpersTest.udp(CALLER, CALLEE, 1719, 1719, message), null);
        int payload = out.transportOffset() + 8;
        byte[] sent = out.segment().asSlice(out.networkOffset() + payload, message.length)
                .toArray(ValueLayout.JAVA_BYTE);
        int ras = indexOf(message, address(CALLER, rasPort));
        assertThat(Arrays.copyOfRange(sent, ras, ras + 6)).containsExactly(address(OUTSIDE, rasPort));
        if (callPort != 0) {
            int call = indexOf(message, address(CALLER, callPort));
            assertThat(Arrays.copyOfRange(sent, call, call + 6)).containsExactly(address(OUTSIDE, callPort));
        }
        assertThat(Packets.checksumsValid(out)).isTrue();
    }
}
