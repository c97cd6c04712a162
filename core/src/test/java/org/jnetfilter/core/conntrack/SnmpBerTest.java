package org.jnetfilter.core.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.testkit.SnmpMessages.GET_REQUEST;
import static org.jnetfilter.core.testkit.SnmpMessages.INTEGER;
import static org.jnetfilter.core.testkit.SnmpMessages.IP_ADDRESS;
import static org.jnetfilter.core.testkit.SnmpMessages.NULL;
import static org.jnetfilter.core.testkit.SnmpMessages.RESPONSE;
import static org.jnetfilter.core.testkit.SnmpMessages.SEQUENCE;
import static org.jnetfilter.core.testkit.SnmpMessages.TRAP_V2;
import static org.jnetfilter.core.testkit.SnmpMessages.addressAt;
import static org.jnetfilter.core.testkit.SnmpMessages.addressBinding;
import static org.jnetfilter.core.testkit.SnmpMessages.concat;
import static org.jnetfilter.core.testkit.SnmpMessages.integer;
import static org.jnetfilter.core.testkit.SnmpMessages.ipAddress;
import static org.jnetfilter.core.testkit.SnmpMessages.message;
import static org.jnetfilter.core.testkit.SnmpMessages.octets;
import static org.jnetfilter.core.testkit.SnmpMessages.oid;
import static org.jnetfilter.core.testkit.SnmpMessages.pdu;
import static org.jnetfilter.core.testkit.SnmpMessages.tlv;
import static org.jnetfilter.core.testkit.SnmpMessages.trapV1;
import static org.jnetfilter.core.testkit.SnmpMessages.varbind;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.testkit.SnmpMessages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The BER walk of nf_nat_snmp_basic ({@link SnmpBer}): which messages Linux's ASN.1 decoder takes, which it fails
 * (the helper then drops the datagram), and which IpAddress values it hands to the rewrite. The cases marked
 * (kernel) are also sessions of KernelConntrackHelpersDifferentialTest, where Linux 6.18 forwards or drops them.
 */
class SnmpBerTest {
    static final byte[] COMMUNITY = concat(integer(1), octets("public"));
    static final byte[] PDU_HEAD = concat(integer(7), integer(0), integer(0));
    static final byte[] BINDING = addressBinding(10, 0, 1, 2);

    /** The result and the offsets (from the message's start) of the IpAddress values the walk reported. */
    record Walk(int result, List<Integer> addresses) {
    }

    static Walk walk(byte[] message) {
        byte[] udp = concat(new byte[] {(byte) 0x9C, 0x42, 0, (byte) 162, (byte) ((8 + message.length) >>> 8),
                (byte) (8 + message.length), 0, 0}, message);
        PacketContext pkt = Packets.load(Packets.ipv4(Packets.ip("10.0.1.2"), Packets.ip("10.0.2.2"), 17, udp));
        List<Integer> seen = new ArrayList<>();
        int r = SnmpBer.decode(pkt, 28, message.length, (p, at, offset, length) -> {
            assertThat(at).isEqualTo(28 + offset);
            if (length != 4) {
                return SnmpBer.EINVAL;
            }
            seen.add(offset);
            return 0;
        });
        return new Walk(r, seen);
    }

    static Stream<Arguments> messages() {
        byte[][] header = SnmpMessages.v2TrapHeader();
        byte[] v2Trap = message(1, pdu(TRAP_V2, 7, header[0], header[1], BINDING, addressBinding(10, 0, 1, 3)));
        byte[] v1Trap = message(0, trapV1(new int[] {10, 0, 1, 2}, BINDING));
        byte[] v1Response = message(0, pdu(RESPONSE, 300, varbind(oid(1, 3, 6, 1, 2, 1, 1, 5, 0), octets("agent")),
                BINDING));
        byte[] indefiniteBindings = concat(new byte[] {0x30, (byte) 0x80}, BINDING, BINDING, new byte[] {0, 0});
        byte[] bindingsIndefinite = tlv(SEQUENCE, COMMUNITY, tlv(TRAP_V2, PDU_HEAD, indefiniteBindings));
        byte[] messageIndefinite = concat(new byte[] {0x30, (byte) 0x80}, COMMUNITY, tlv(TRAP_V2, PDU_HEAD,
                indefiniteBindings), new byte[] {0, 0});
        byte[] integerThenAddress = message(1, pdu(TRAP_V2, 7, tlv(SEQUENCE, oid(1, 3, 6, 1, 2, 1, 4, 20, 1, 1),
                integer(5), ipAddress(10, 0, 1, 2))));
        byte[] longForm = concat(new byte[] {0x30, (byte) 0x82, 0, (byte) (COMMUNITY.length + 3 + PDU_HEAD.length
                + 2 + BINDING.length)}, COMMUNITY, new byte[] {(byte) TRAP_V2, (byte) 0x81,
                        (byte) (PDU_HEAD.length + 2 + BINDING.length)}, PDU_HEAD, tlv(SEQUENCE, BINDING));
        byte[] response = pdu(RESPONSE, 1, BINDING);
        byte[] trap = pdu(TRAP_V2, 2, addressBinding(10, 0, 1, 2));
        return Stream.of(
                Arguments.of("v2c trap: both addresses handed over (kernel)", v2Trap, 0,
                        List.of(addressAt(v2Trap, 0), addressAt(v2Trap, 1))),
                Arguments.of("v1 trap: [4] is no PDU of the grammar, the choice fails (kernel)", v1Trap,
                        SnmpBer.EBADMSG, List.of()),
                Arguments.of("v1 response (kernel)", v1Response, 0, List.of(addressAt(v1Response, 0))),
                Arguments.of("get request with NULL values", message(1, pdu(GET_REQUEST, 1,
                        varbind(oid(1, 3, 6, 1, 2, 1, 1, 5, 0), tlv(NULL)))), 0, List.of()),
                Arguments.of("SNMPv3: version 3 (kernel)", message(3, pdu(TRAP_V2, 7)), SnmpBer.ENOTSUPP, List.of()),
                Arguments.of("version of two bytes", tlv(SEQUENCE, tlv(INTEGER, new byte[] {0, 1}), octets("p")),
                        SnmpBer.EINVAL, List.of()),
                Arguments.of("IpAddress of 5 bytes (kernel)", message(1, pdu(TRAP_V2, 7, varbind(oid(1, 3, 6),
                        tlv(IP_ADDRESS, new byte[] {10, 0, 1, 2, 0})))), SnmpBer.EINVAL, List.of()),
                Arguments.of("constructed IpAddress tag 0x60: no value matches", message(1, pdu(TRAP_V2, 7,
                        varbind(oid(1, 3, 6), tlv(0x60, new byte[] {10, 0, 1, 2})))), SnmpBer.EBADMSG, List.of()),
                Arguments.of("name, INTEGER, IpAddress: the application types are still tried (kernel)",
                        integerThenAddress, 0, List.of(addressAt(integerThenAddress, 0))),
                Arguments.of("binding list of indefinite length (kernel)", bindingsIndefinite, 0,
                        List.of(addressAt(bindingsIndefinite, 0), addressAt(bindingsIndefinite, 1))),
                Arguments.of("message of indefinite length: its end-of-contents read as a PDU tag (kernel)",
                        messageIndefinite, SnmpBer.EBADMSG,
                        List.of(addressAt(messageIndefinite, 0), addressAt(messageIndefinite, 1))),
                Arguments.of("one- and two-byte long forms", longForm, 0, List.of(addressAt(longForm, 0))),
                Arguments.of("three-byte length (kernel)", concat(new byte[] {0x30, (byte) 0x83, 0, 0,
                        (byte) COMMUNITY.length}, COMMUNITY), SnmpBer.EBADMSG, List.of()),
                Arguments.of("long-form length past the message (kernel)", concat(new byte[] {0x30, (byte) 0x81, 0x7F},
                        COMMUNITY), SnmpBer.EBADMSG, List.of()),
                Arguments.of("long form with nothing after it", new byte[] {0x30, (byte) 0x81, 0}, SnmpBer.EBADMSG,
                        List.of()),
                Arguments.of("cut after the community: the rest passed over (kernel)", tlv(SEQUENCE, COMMUNITY), 0,
                        List.of()),
                Arguments.of("cut after the version", tlv(SEQUENCE, integer(0)), 0, List.of()),
                Arguments.of("bytes after the message ignored (kernel)", concat(v1Response, new byte[] {1, 2, 3}), 0,
                        List.of(addressAt(v1Response, 0))),
                Arguments.of("empty binding list: the skipped binding pops the list's end (kernel)",
                        message(1, pdu(TRAP_V2, 7)), SnmpBer.EBADMSG, List.of()),
                Arguments.of("empty datagram: nothing matched (kernel)", new byte[0], SnmpBer.EBADMSG, List.of()),
                Arguments.of("one byte", new byte[] {0x30}, SnmpBer.EBADMSG, List.of()),
                Arguments.of("not SNMP (kernel)", "hello\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                        SnmpBer.EBADMSG, List.of()),
                Arguments.of("high tag number form", new byte[] {0x3F, 0x01, 0x00}, SnmpBer.EBADMSG, List.of()),
                Arguments.of("message tagged 0x10, the primitive form of SEQUENCE (kernel)",
                        concat(new byte[] {0x10}, java.util.Arrays.copyOfRange(v1Response, 1, v1Response.length)), 0,
                        List.of(addressAt(v1Response, 0))),
                Arguments.of("a response then a v2 trap: both PDUs read (kernel)",
                        tlv(SEQUENCE, COMMUNITY, response, trap), 0,
                        List.of(COMMUNITY.length + 2 + addressAt(response, 0),
                                COMMUNITY.length + 2 + response.length + addressAt(trap, 0))),
                Arguments.of("a v2 trap then a response: the choice's last try fails (kernel)",
                        tlv(SEQUENCE, COMMUNITY, trap, response), SnmpBer.EBADMSG,
                        List.of(COMMUNITY.length + 2 + addressAt(trap, 0))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("messages")
    void walksMessagesAsLinuxsAsn1DecoderDoes(String name, byte[] message, int result, List<Integer> addresses) {
        Walk w = walk(message);
        assertThat(w.result()).as("result").isEqualTo(result);
        assertThat(w.addresses()).as("IpAddress offsets").isEqualTo(addresses);
    }

    /**
     * Well-formed SNMPv1/v2c messages of random bindings (values of every type the grammar knows, lengths in short
     * or long form, the binding list sometimes of indefinite length) decode, and the walk hands over exactly the
     * IpAddress values the generator put in, in order.
     */
    @Test
    void everyWellFormedMessageDecodesAndEveryAddressIsHandedOver() {
        SplittableRandom random = new SplittableRandom(20261130);
        int[] pduTags = {0xA0, 0xA1, 0xA2, 0xA3, 0xA5, 0xA6, 0xA7, 0xA8};
        for (int round = 0; round < 2000; round++) {
            int n = random.nextInt(1, 8);
            List<byte[]> bindings = new ArrayList<>();
            List<Boolean> isAddress = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int kind = random.nextInt(12);
                byte[] value = switch (kind) {
                    case 0 -> ipAddress(10, 0, random.nextInt(256), random.nextInt(256));
                    case 1 -> integer(random.nextInt(-30000, 30000));
                    case 2 -> octets("x".repeat(random.nextInt(0, 200)));
                    case 3 -> oid(1, 3, 6, 1, random.nextInt(128));
                    case 4 -> tlv(0x41, new byte[] {1, 2});
                    case 5 -> tlv(0x42, new byte[] {3});
                    case 6 -> tlv(0x43, new byte[] {4, 5, 6});
                    case 7 -> tlv(0x44, new byte[random.nextInt(0, 10)]);
                    case 8 -> tlv(0x46, new byte[] {7, 8, 9, 10, 11});
                    case 9 -> tlv(NULL);
                    case 10 -> tlv(0x80 | random.nextInt(3));
                    default -> octets("");
                };
                isAddress.add(kind == 0);
                bindings.add(varbind(oid(1, 3, 6, 1, 2, 1, random.nextInt(128)), value));
            }
            byte[] list = random.nextInt(4) == 0
                    ? concat(new byte[] {0x30, (byte) 0x80}, concat(bindings.toArray(byte[][]::new)), new byte[2])
                    : tlv(SEQUENCE, bindings.toArray(byte[][]::new));
            byte[] m = tlv(SEQUENCE, integer(random.nextInt(2)), octets("community"),
                    tlv(pduTags[random.nextInt(pduTags.length)], PDU_HEAD, list));
            Walk w = walk(m);
            List<Integer> expected = new ArrayList<>();
            int k = 0;
            for (boolean a : isAddress) {
                if (a) {
                    expected.add(addressAt(m, k++));
                }
            }
            assertThat(w.result()).as("round %d", round).isZero();
            assertThat(w.addresses()).as("round %d", round).isEqualTo(expected);
        }
    }
}
