package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.conntrack.Packets.ACK;
import static org.jnetfilter.core.conntrack.Packets.PSH;
import static org.jnetfilter.core.conntrack.Packets.SYN;
import static org.jnetfilter.core.conntrack.Packets.ip;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.function.Consumer;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;

/**
 * The Q.931 and H.245 helpers on a forwarding path without NAT: a caller's call signalling connection to port
 * 1720 with {@code CT --helper Q.931}, H.225.0 messages built field by field with {@link PerWriter}, and the
 * expectations they leave as {@code conntrack -L expect} lists them.
 */
class H323HelperTest {
    static final int CALLER = ip("10.0.1.2");
    static final int CALLEE = ip("10.0.2.2");
    final ConntrackHelpersTest path = new ConntrackHelpersTest();
    final Conntrack table = path.table;
    int verdict;
    int callerSeq;
    int calleeSeq;

    PacketContext forward(MemorySegment packet, double seconds, String helper) {
        PacketContext pkt = path.forward(packet, seconds, helper);
        verdict = path.verdict;
        return pkt;
    }

    static MemorySegment tcp(int src, int dst, int sport, int dport, int seq, int ack, int flags, byte[] data) {
        byte[] t = Packets.tcp(sport, dport, seq, ack, flags, data.length);
        System.arraycopy(data, 0, t, 20, data.length);
        return Packets.ipv4(src, dst, 6, t);
    }

    /** A connection from {@code from}:{@code sport} to {@code to}:{@code dport}, its first packet with {@code helper}. */
    PacketContext handshake(int from, int to, int sport, int dport, String helper) {
        callerSeq = 1000;
        calleeSeq = 5000;
        PacketContext syn = forward(tcp(from, to, sport, dport, callerSeq++, 0, SYN, new byte[0]), 0, helper);
        forward(tcp(to, from, dport, sport, calleeSeq++, callerSeq, SYN | ACK, new byte[0]), 0, null);
        forward(tcp(from, to, sport, dport, callerSeq, calleeSeq, ACK, new byte[0]), 0, null);
        return syn;
    }

    PacketContext send(int from, int to, int sport, int dport, byte[] data) {
        PacketContext p = forward(tcp(from, to, sport, dport, callerSeq, calleeSeq, PSH | ACK, data), 1, null);
        callerSeq += data.length;
        return p;
    }

    PacketContext answer(int from, int to, int sport, int dport, byte[] data) {
        PacketContext p = forward(tcp(from, to, sport, dport, calleeSeq, callerSeq, PSH | ACK, data), 1, null);
        calleeSeq += data.length;
        return p;
    }

    // ---- H.225.0 and H.245 messages ----

    static void transportAddress(PerWriter w, int address, int port) {
        w.bit(false).bits(0, 3).ipv4(address, port);
    }

    /** An H.225.0 ip6Address (an extensible SEQUENCE: its extension bit first). */
    static void transportAddress6(PerWriter w, long hi, long lo, int port) {
        w.bit(false).bits(3, 3).bit(false).align();
        for (int i = 56; i >= 0; i -= 8) {
            w.bytes((int) (hi >>> i) & 0xFF);
        }
        for (int i = 56; i >= 0; i -= 8) {
            w.bytes((int) (lo >>> i) & 0xFF);
        }
        w.u16(port);
    }

    static void endpointType(PerWriter w) {
        w.bit(false).bitmap("000000").bit(false).bit(false);
    }

    /** H.245 unicast iPAddress. */
    static void h245Address(PerWriter w, int address, int port) {
        w.bit(false).bit(false).bit(false).bits(0, 3).bit(false).ipv4(address, port);
    }

    /** An OpenLogicalChannel for G.711 audio whose H.225.0 parameters give a mediaControlChannel. */
    static Consumer<PerWriter> audioChannel(int address, int rtcpPort) {
        return w -> {
            w.bit(false).bitmap("0").u16(0);
            w.bit(false).bitmap("0");
            w.bit(false).bits(3, 3).bit(false).bits(3, 4).bytes(19);
            w.bit(true).bits(0, 7).align().open(h -> {
                h.bit(false).bitmap("0000100000").bytes(1);
                h245Address(h, address, rtcpPort);
            });
        };
    }

    /** An OpenLogicalChannel asking for a T.120 separate LAN stack at {@code address}:{@code port}. */
    static Consumer<PerWriter> t120Channel(int address, int port) {
        return w -> {
            w.bit(true).bitmap("0").u16(2);
            w.bit(false).bitmap("0");
            // dataType data: application t120 (separateLANStack, an extension alternative), maxBitRate
            w.bit(false).bits(4, 3).bit(false).bit(false).bits(1, 4).bit(true).bits(10 - 7, 7).align().open(x -> { });
            w.bits(0, 2).bytes(0);
            // multiplexParameters none (an extension alternative)
            w.bit(true).bits(4 - 3, 7).align().open(x -> { });
            // extensions: separateStack
            w.bits(0, 7).bitmap("1").align().open(s -> {
                s.bit(false).bitmap("00").bit(false).bits(2, 2);
                h245Address(s, address, port);
                s.bit(true);
            });
        };
    }

    /** H323-UserInformation with the message body {@code index}, optionally H.245 messages tunnelled. */
    @SafeVarargs
    static byte[] userInformation(int index, Consumer<PerWriter> body, Consumer<PerWriter>... tunnelled) {
        PerWriter w = new PerWriter();
        w.bit(false).bitmap("0");
        w.bit(tunnelled.length > 0).bitmap("0");
        w.bit(false).bits(index, 3);
        body.accept(w);
        if (tunnelled.length > 0) {
            w.bits(2, 7).bitmap("001").align().open(c -> {
                c.length(tunnelled.length);
                for (Consumer<PerWriter> m : tunnelled) {
                    c.open(m);
                }
            });
        }
        return w.toBytes();
    }

    static Consumer<PerWriter> setup(int h245, int h245Port) {
        return w -> {
            w.bit(false).bitmap(h245 != 0 ? "1000000" : "0000000").bytes(6, 0, 8, 0x91, 0x4A, 0, 4);
            if (h245 != 0) {
                transportAddress(w, h245, h245Port);
            }
            endpointType(w);
            w.bit(false).bytes(new int[16]).bit(false).bits(0, 2).bit(false).bits(0, 2);
        };
    }

    static Consumer<PerWriter> setup6(long hi, long lo, int h245Port) {
        return w -> {
            w.bit(false).bitmap("1000000").bytes(6, 0, 8, 0x91, 0x4A, 0, 4);
            transportAddress6(w, hi, lo, h245Port);
            endpointType(w);
            w.bit(false).bytes(new int[16]).bit(false).bits(0, 2).bit(false).bits(0, 2);
        };
    }

    /** A Facility with reason {@code reason} (1: callForwarded) and an alternativeAddress. */
    static Consumer<PerWriter> facility(int reason, int address, int port) {
        return w -> {
            w.bit(false).bitmap("100").bytes(6, 0, 8, 0x91, 0x4A, 0, 4);
            transportAddress(w, address, port);
            w.bit(false).bits(reason, 2);
        };
    }

    @SafeVarargs
    static Consumer<PerWriter> connect(int h245, int h245Port, Consumer<PerWriter>... fastStart) {
        return w -> {
            w.bit(fastStart.length > 0).bitmap("1").bytes(6, 0, 8, 0x91, 0x4A, 0, 4);
            transportAddress(w, h245, h245Port);
            endpointType(w);
            w.bytes(new int[16]);
            if (fastStart.length > 0) {
                w.bits(4, 7).bitmap("00001").align().open(f -> {
                    f.length(fastStart.length);
                    for (Consumer<PerWriter> olc : fastStart) {
                        f.open(olc);
                    }
                });
            }
        };
    }

    static Consumer<PerWriter> openLogicalChannelRequest(Consumer<PerWriter> olc) {
        return w -> {
            w.bit(false).bits(0, 2).bit(false).bits(3, 4);
            olc.accept(w);
        };
    }

    static byte[] q931Tpkt(int type, byte[] uuie) {
        return PerWriter.tpkt(PerWriter.q931(type, uuie));
    }

    static byte[] h245Tpkt(Consumer<PerWriter> message) {
        PerWriter w = new PerWriter();
        message.accept(w);
        return PerWriter.tpkt(w.toBytes());
    }

    static final String H245_EXPECTED = "240 proto=6 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=4000 "
            + "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.1.2 "
            + "master-dst=10.0.2.2 sport=40000 dport=1720 class=0 helper=Q.931\n";

    String expectations() {
        return table.listExpectations(Family.IPV4, Path.seconds(1));
    }

    // ---- the decoder ----

    @Test
    void decodesTheSetupsH245AddressAsTheOffsetOfItsIpv4AddressInTheQ931Message() {
        byte[] q931 = PerWriter.q931(0x05, userInformation(0, setup(CALLER, 4000)));
        H323Per per = H323Per.get();
        System.arraycopy(q931, 0, per.buffer, 0, q931.length);
        assertThat(per.decodeQ931(0, q931.length)).isGreaterThanOrEqualTo(H323Per.OK);
        assertThat(per.messageType).isEqualTo(0x05);
        int[] s = per.slots;
        assertThat(s[H323Types.BODY_INDEX_AT]).isEqualTo(H323Types.SETUP_BODY);
        assertThat(s[H323Types.BODY_AT] & H323Types.SETUP.bit("h245Address")).isNotZero();
        assertThat(s[H323Types.BODY_AT] & H323Types.SETUP.bit("fastStart")).isZero();
        assertThat(s[H323Types.BODY_AT + 1]).isEqualTo(H323Types.IP_ADDRESS);
        int at = s[H323Types.BODY_AT + 3];
        assertThat(Arrays.copyOfRange(q931, at, at + 6)).containsExactly(10, 0, 1, 2, 4000 >>> 8, 4000 & 0xFF);
    }

    @Test
    void optionBitsCountRootOptionalsFirstThenExtensionsAfterTheBitmapWidth() {
        assertThat(H323Types.SETUP.bit("h245Address")).isEqualTo(0x80000000);
        assertThat(H323Types.SETUP.bit("destCallSignalAddress")).isEqualTo(0x10000000);
        // seven root optionals, then extension 0 (sourceCallSignalAddress) and 6 (fastStart)
        assertThat(H323Types.SETUP.bit("sourceCallSignalAddress")).isEqualTo(0x80000000 >>> 7);
        assertThat(H323Types.SETUP.bit("fastStart")).isEqualTo(0x80000000 >>> 13);
    }

    @Test
    void aMessageCutShortIsOutOfBoundAndAnUnknownProtocolDiscriminatorOutOfRange() {
        byte[] q931 = PerWriter.q931(0x05, userInformation(0, setup(CALLER, 4000)));
        H323Per per = H323Per.get();
        System.arraycopy(q931, 0, per.buffer, 0, q931.length);
        assertThat(per.decodeQ931(0, q931.length - 20)).isEqualTo(H323Per.BOUND);
        per.buffer[0] = 0x09;
        assertThat(per.decodeQ931(0, q931.length)).isEqualTo(H323Per.RANGE);
    }

    @Test
    void aRootChoiceIndexPastTheRootAlternativesIsOutOfRange() {
        // MultimediaSystemControlMessage: not extended, index 2 of 2 bits is "command" (STOP), index 3 indication;
        // RequestMessage index 15 of 4 bits is past its 11 root alternatives
        H323Per per = H323Per.get();
        per.buffer[0] = (byte) 0b0000_1111;
        per.buffer[1] = 0;
        assertThat(per.decodeH245(0, 2)).isEqualTo(H323Per.RANGE);
        per.buffer[0] = (byte) 0b0100_0000;
        assertThat(per.decodeH245(0, 2)).as("command: the kernel stops reading, not an error")
                .isEqualTo(H323Per.STOPPED);
    }

    // ---- Q.931 ----

    @Test
    void setupsH245AddressExpectsTheH245ConnectionFromTheCalleeWithTheH245Helper() {
        Connection call = handshake(CALLER, CALLEE, 40000, 1720, "Q.931").conntrack();
        send(CALLER, CALLEE, 40000, 1720, q931Tpkt(0x05, userInformation(0, setup(CALLER, 4000))));
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(expectations()).isEqualTo(H245_EXPECTED);

        PacketContext syn = forward(tcp(CALLEE, CALLER, 50000, 4000, 9000, 0, SYN, new byte[0]), 2, null);
        assertThat(syn.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat(syn.conntrack().master()).isSameAs(call);
        assertThat(syn.conntrack().helper()).isEqualTo("H.245");
    }

    @Test
    void anH245AddressOtherThanTheSendersOwnIsNotExpected() {
        handshake(CALLER, CALLEE, 40000, 1720, "Q.931");
        send(CALLER, CALLEE, 40000, 1720, q931Tpkt(0x05, userInformation(0, setup(ip("10.0.1.99"), 4000))));
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(expectations()).isEmpty();
    }

    @Test
    void theSynAndTheFirstAnswerAreNotReadOnlyEstablishedPackets() {
        callerSeq = 1000;
        byte[] setup = q931Tpkt(0x05, userInformation(0, setup(CALLER, 4000)));
        forward(tcp(CALLER, CALLEE, 40000, 1720, callerSeq, 0, SYN, setup), 0, "Q.931");
        assertThat(expectations()).isEmpty();
    }

    @Test
    void readsEveryTpktOfASegment() {
        handshake(CALLER, CALLEE, 40000, 1720, "Q.931");
        byte[] two = PerWriter.concat(q931Tpkt(0x05, userInformation(0, setup(0, 0))),
                q931Tpkt(0x05, userInformation(0, setup(CALLER, 4000))));
        send(CALLER, CALLEE, 40000, 1720, two);
        assertThat(expectations()).isEqualTo(H245_EXPECTED);
    }

    @Test
    void aLoneTpktHeaderAnnouncesTheDataOfTheNextSegment() {
        handshake(CALLER, CALLEE, 40000, 1720, "Q.931");
        byte[] tpkt = q931Tpkt(0x05, userInformation(0, setup(CALLER, 4000)));
        send(CALLER, CALLEE, 40000, 1720, Arrays.copyOf(tpkt, 4));
        assertThat(expectations()).isEmpty();
        send(CALLER, CALLEE, 40000, 1720, Arrays.copyOfRange(tpkt, 4, tpkt.length));
        assertThat(expectations()).isEqualTo(H245_EXPECTED);
    }

    @Test
    void aTpktCutByTheSegmentsEndIsNotRead() {
        handshake(CALLER, CALLEE, 40000, 1720, "Q.931");
        byte[] tpkt = q931Tpkt(0x05, userInformation(0, setup(CALLER, 4000)));
        send(CALLER, CALLEE, 40000, 1720, Arrays.copyOf(tpkt, 30));
        send(CALLER, CALLEE, 40000, 1720, Arrays.copyOfRange(tpkt, 30, tpkt.length));
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(expectations()).isEmpty();
    }

    @Test
    void connectsFastStartChannelsExpectRtpAndRtcpFromTheCaller() {
        handshake(CALLER, CALLEE, 40000, 1720, "Q.931");
        answer(CALLEE, CALLER, 1720, 40000, q931Tpkt(0x07, userInformation(2, connect(CALLEE, 4001,
                audioChannel(CALLEE, 7001)))));
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(expectations()).contains(
                "proto=6 src=10.0.1.2 dst=10.0.2.2 sport=0 dport=4001 ",
                "proto=17 src=10.0.1.2 dst=10.0.2.2 sport=0 dport=7000 ",
                "proto=17 src=10.0.1.2 dst=10.0.2.2 sport=0 dport=7001 ");
        assertThat(expectations().lines()).hasSize(3).allMatch(l -> l.startsWith("240 ") && l.contains(" class=0 "));
    }

    @Test
    void tunnelledH245OpenLogicalChannelIsReadLikeOneOnTheH245Connection() {
        handshake(CALLER, CALLEE, 40000, 1720, "Q.931");
        send(CALLER, CALLEE, 40000, 1720, q931Tpkt(0x05, userInformation(0, setup(0, 0),
                openLogicalChannelRequest(audioChannel(CALLER, 6001)))));
        assertThat(expectations().lines()).containsExactly(
                "240 proto=17 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=6000 mask-src=255.255.255.255 "
                        + "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.1.2 master-dst=10.0.2.2 "
                        + "sport=40000 dport=1720 class=0 helper=Q.931",
                "240 proto=17 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=6001 mask-src=255.255.255.255 "
                        + "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.1.2 master-dst=10.0.2.2 "
                        + "sport=40000 dport=1720 class=0 helper=Q.931");
    }

    @Test
    void facilityCallForwardedExpectsTheSecondCallLegFromTheCallerWithTheQ931Helper() {
        handshake(CALLER, CALLEE, 40000, 1720, "Q.931");
        answer(CALLEE, CALLER, 1720, 40000, q931Tpkt(0x62, userInformation(6, facility(1, ip("10.0.3.3"), 1720))));
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(expectations()).isEqualTo("240 proto=6 src=10.0.1.2 dst=10.0.3.3 sport=0 dport=1720 "
                + "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.1.2 "
                + "master-dst=10.0.2.2 sport=40000 dport=1720 class=0 helper=Q.931\n");
        PacketContext syn = forward(tcp(CALLER, ip("10.0.3.3"), 40001, 1720, 1, 0, SYN, new byte[0]), 2, null);
        assertThat(syn.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat(syn.conntrack().helper()).isEqualTo("Q.931");
    }

    @Test
    void aFacilityForAnotherReasonExpectsNoSecondCallLeg() {
        handshake(CALLER, CALLEE, 40000, 1720, "Q.931");
        answer(CALLEE, CALLER, 1720, 40000, q931Tpkt(0x62, userInformation(6, facility(0, ip("10.0.3.3"), 1720))));
        assertThat(expectations()).isEmpty();
    }

    @Test
    void anIpv6AddressOnAnIpv4ConnectionIsNotRead() {
        handshake(CALLER, CALLEE, 40000, 1720, "Q.931");
        send(CALLER, CALLEE, 40000, 1720, q931Tpkt(0x05, userInformation(0, setup6(0xfd01L << 48, 2, 4000))));
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(expectations()).isEmpty();
    }

    // ---- RAS ----

    static final int GATEKEEPER = CALLEE;

    static void protocolIdentifier(PerWriter w) {
        w.bytes(6, 0, 8, 0x91, 0x4A, 0, 4);
    }

    static void timeToLive(PerWriter w, int seconds) {
        w.open(t -> t.bits(0, 2).align().bytes(seconds - 1));
    }

    /**
     * A RegistrationRequest: call signalling and RAS addresses, a vendor, optionally a timeToLive followed by
     * keepAlive (with {@code ttlLast} the timeToLive ends the message).
     */
    static byte[] registrationRequest(int callSignal, int callPort, int ttl) {
        return registrationRequest(callSignal, callPort, ttl, false);
    }

    static byte[] registrationRequest(int callSignal, int callPort, int ttl, boolean ttlLast) {
        PerWriter w = new PerWriter();
        w.bit(false).bits(3, 5);
        w.bit(ttl > 0).bitmap("000").u16(0);
        protocolIdentifier(w);
        w.bit(true).length(1);
        transportAddress(w, callSignal, callPort);
        w.length(1);
        transportAddress(w, CALLER, 1719);
        endpointType(w);
        w.bit(false).bitmap("00").bit(false).bytes(0xB5, 0).u16(1);
        if (ttl > 0 && ttlLast) {
            w.bits(1, 7).bitmap("01").align();
            timeToLive(w, ttl);
        } else if (ttl > 0) {
            w.bits(5, 7).bitmap("010001").align();
            timeToLive(w, ttl);
            w.open(k -> k.bit(true));
        }
        return w.toBytes();
    }

    static byte[] registrationConfirm(int ttl) {
        PerWriter w = new PerWriter();
        w.bit(false).bits(4, 5);
        w.bit(ttl > 0).bitmap("000").u16(0);
        protocolIdentifier(w);
        w.length(1);
        transportAddress(w, CALLER, 1720);
        w.bits(1, 7).bytes(0, 'e', 0, 'p');
        if (ttl > 0) {
            // alternateGatekeeper absent, timeToLive, willRespondToIRR (where the kernel stops)
            w.bits(5, 7).bitmap("010001").align();
            timeToLive(w, ttl);
            w.open(k -> k.bit(false));
        }
        return w.toBytes();
    }

    static byte[] admissionConfirm(int address, int port) {
        PerWriter w = new PerWriter();
        w.bit(false).bits(10, 5);
        w.bit(false).bitmap("00").u16(1).bits(0, 2).bytes(100).bit(false).bit(true);
        transportAddress(w, address, port);
        return w.toBytes();
    }

    static byte[] unregistrationRequest() {
        PerWriter w = new PerWriter();
        w.bit(false).bits(6, 5);
        w.bit(false).bitmap("000").u16(2).length(1);
        transportAddress(w, CALLER, 1720);
        return w.toBytes();
    }

    static byte[] gatekeeperConfirm(int address, int port) {
        PerWriter w = new PerWriter();
        w.bit(false).bits(1, 5);
        w.bit(false).bitmap("00").u16(0);
        protocolIdentifier(w);
        transportAddress(w, address, port);
        return w.toBytes();
    }

    static MemorySegment udp(int src, int dst, int sport, int dport, byte[] data) {
        return ConntrackHelpersTest.udp(src, dst, sport, dport, data);
    }

    PacketContext ras(int src, int dst, byte[] message, double t, String helper) {
        return forward(udp(src, dst, 1719, 1719, message), t, helper);
    }

    @Test
    void registrationExpectsCallsFromTheGatekeeperAndItsConfirmSetsTheRasTimeout() {
        Connection reg = ras(CALLER, GATEKEEPER, registrationRequest(CALLER, 1720, 0), 0, "RAS").conntrack();
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(expectations()).isEqualTo("239 proto=6 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=1720 "
                + "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.1.2 "
                + "master-dst=10.0.2.2 sport=1719 dport=1719 PERMANENT class=0 helper=RAS\n");
        ras(GATEKEEPER, CALLER, registrationConfirm(60), 1, null);
        // the RAS connection lives as long as the registration; the expectation keeps its 240 s (with
        // gkrouted_only find_expect's unspecified source does not match it)
        assertThat(reg.listLine(Path.seconds(1))).startsWith("udp      17 60 ");
        assertThat(expectations()).startsWith("239 proto=6 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=1720 ");

        PacketContext call = forward(tcp(GATEKEEPER, CALLER, 40000, 1720, 1, 0, SYN, new byte[0]), 2, null);
        assertThat(call.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat(call.conntrack().helper()).isEqualTo("Q.931");
        assertThat(expectations()).as("PERMANENT: it stays for more calls").contains("dport=1720");
    }

    @Test
    void anRrqWithoutTimeToLiveGivesTheDefaultRrqTtlAtTheConfirm() {
        Connection reg = ras(CALLER, GATEKEEPER, registrationRequest(CALLER, 1720, 0), 0, "RAS").conntrack();
        ras(GATEKEEPER, CALLER, registrationConfirm(0), 1, null);
        assertThat(reg.listLine(Path.seconds(1))).startsWith("udp      17 300 ");
    }

    @Test
    void aTimeToLiveEndingTheMessageIsOutOfBoundAsTheKernelReadsPastItTwice() {
        // Linux: decode_int reads a decoded CONS integer (get_uint) and then moves past its length once more
        ras(CALLER, GATEKEEPER, registrationRequest(CALLER, 1720, 60, true), 0, "RAS");
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(expectations()).isEmpty();
    }

    @Test
    void aCallSignalAddressOtherThanTheSendersIsNotExpected() {
        ras(CALLER, GATEKEEPER, registrationRequest(ip("10.0.1.77"), 1720, 0), 0, "RAS");
        assertThat(expectations()).isEmpty();
    }

    @Test
    void admissionConfirmExpectsTheCallToTheAdmittedAddress() {
        ras(CALLER, GATEKEEPER, registrationRequest(CALLER, 1720, 60), 0, "RAS");
        ras(GATEKEEPER, CALLER, admissionConfirm(ip("10.0.2.5"), 1720), 1, null);
        assertThat(expectations()).contains("proto=6 src=10.0.1.2 dst=10.0.2.5 sport=0 dport=1720 "
                + "mask-src=255.255.255.255");
        assertThat(expectations().lines()).hasSize(2).allMatch(l -> l.contains(" PERMANENT class=0 helper=RAS"));
    }

    @Test
    void unregistrationRemovesTheExpectationsAndGivesTheRasConnection30Seconds() {
        Connection reg = ras(CALLER, GATEKEEPER, registrationRequest(CALLER, 1720, 60), 0, "RAS").conntrack();
        ras(GATEKEEPER, CALLER, registrationConfirm(60), 1, null);
        ras(CALLER, GATEKEEPER, unregistrationRequest(), 2, null);
        assertThat(expectations()).isEmpty();
        assertThat(reg.listLine(Path.seconds(2))).startsWith("udp      17 30 ");
    }

    @Test
    void aGatekeeperConfirmNamingAnotherRasPortExpectsThatRasFlow() {
        ras(CALLER, GATEKEEPER, new byte[] {0x00}, 0, "RAS");
        ras(GATEKEEPER, CALLER, gatekeeperConfirm(GATEKEEPER, 1719), 1, null);
        assertThat(expectations()).as("the discovery port is the registration port").isEmpty();
        ras(GATEKEEPER, CALLER, gatekeeperConfirm(GATEKEEPER, 1718), 1, null);
        assertThat(expectations()).isEqualTo("240 proto=17 src=10.0.1.2 dst=10.0.2.2 sport=0 dport=1718 "
                + "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.1.2 "
                + "master-dst=10.0.2.2 sport=1719 dport=1719 class=0 helper=RAS\n");
    }

    // ---- H.245 ----

    @Test
    void theH245ConnectionsOpenLogicalChannelExpectsRtpAndRtcpToTheSender() {
        handshake(CALLER, CALLEE, 40000, 1720, "Q.931");
        send(CALLER, CALLEE, 40000, 1720, q931Tpkt(0x05, userInformation(0, setup(CALLER, 4000))));
        int q931Caller = callerSeq;
        int q931Callee = calleeSeq;
        Connection h245 = handshake(CALLEE, CALLER, 50000, 4000, null).conntrack();
        assertThat(h245.helper()).isEqualTo("H.245");
        // the caller, the H.245 connection's answering side, opens a channel
        answer(CALLER, CALLEE, 4000, 50000, h245Tpkt(openLogicalChannelRequest(audioChannel(CALLER, 5001))));
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(expectations()).contains(
                "proto=17 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=5000 ",
                "proto=17 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=5001 ",
                "master-src=10.0.2.2 master-dst=10.0.1.2 sport=50000 dport=4000 class=0 helper=H.245");
        assertThat(q931Caller).isPositive();
        assertThat(q931Callee).isPositive();

        PacketContext rtp = forward(Packets.ipv4(CALLEE, CALLER, 17, Packets.udp(5004, 5000, 20)), 2, null);
        assertThat(rtp.ctInfo()).isEqualTo(CtInfo.RELATED);
        assertThat(rtp.conntrack().master()).isSameAs(h245);
    }

    @Test
    void aT120SeparateStackIsExpectedPermanently() {
        handshake(CALLER, CALLEE, 40000, 1720, "Q.931");
        send(CALLER, CALLEE, 40000, 1720, q931Tpkt(0x05, userInformation(0, setup(0, 0),
                openLogicalChannelRequest(t120Channel(CALLER, 1503)))));
        assertThat(verdict).isEqualTo(Verdict.ACCEPT);
        assertThat(expectations()).contains("proto=6 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=1503 ")
                .contains("PERMANENT");
    }
}
