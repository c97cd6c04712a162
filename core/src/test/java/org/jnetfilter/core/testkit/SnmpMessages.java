package org.jnetfilter.core.testkit;

import java.io.ByteArrayOutputStream;

/**
 * SNMP messages in BER for the tests of the snmp and snmp_trap helpers (SnmpBerTest, SnmpNatTest,
 * KernelConntrackHelpersDifferentialTest), definite lengths in the shortest form unless a test builds its own.
 */
public final class SnmpMessages {
    public static final int SEQUENCE = 0x30;
    public static final int INTEGER = 0x02;
    public static final int OCTET_STRING = 0x04;
    public static final int NULL = 0x05;
    public static final int OID = 0x06;
    public static final int IP_ADDRESS = 0x40;
    public static final int TIMETICKS = 0x43;
    public static final int GET_REQUEST = 0xA0;
    public static final int RESPONSE = 0xA2;
    public static final int SET_REQUEST = 0xA3;
    /** The SNMPv1 Trap-PDU. */
    public static final int TRAP_V1 = 0xA4;
    public static final int TRAP_V2 = 0xA7;

    private SnmpMessages() {
    }

    /** A tag, a definite length (short form, or 0x81/0x82 long form), and the parts concatenated. */
    public static byte[] tlv(int tag, byte[]... parts) {
        byte[] content = concat(parts);
        int n = content.length;
        byte[] header = n < 0x80 ? new byte[] {(byte) tag, (byte) n}
                : n < 0x100 ? new byte[] {(byte) tag, (byte) 0x81, (byte) n}
                        : new byte[] {(byte) tag, (byte) 0x82, (byte) (n >>> 8), (byte) n};
        return concat(header, content);
    }

    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    public static byte[] integer(int v) {
        return v >= -128 && v < 128 ? tlv(INTEGER, new byte[] {(byte) v})
                : tlv(INTEGER, new byte[] {(byte) (v >>> 8), (byte) v});
    }

    public static byte[] octets(String s) {
        return tlv(OCTET_STRING, s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    }

    /** An OBJECT IDENTIFIER of arcs below 128 after the first two (1.3 is 0x2B). */
    public static byte[] oid(int... arcs) {
        byte[] b = new byte[arcs.length - 1];
        b[0] = (byte) (arcs[0] * 40 + arcs[1]);
        for (int i = 2; i < arcs.length; i++) {
            b[i - 1] = (byte) arcs[i];
        }
        return tlv(OID, b);
    }

    public static byte[] ipAddress(int a, int b, int c, int d) {
        return tlv(IP_ADDRESS, new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
    }

    public static byte[] varbind(byte[] name, byte[] value) {
        return tlv(SEQUENCE, name, value);
    }

    /** request-id, error-status 0, error-index 0, then the bindings, under {@code pduTag}. */
    public static byte[] pdu(int pduTag, int requestId, byte[]... varbinds) {
        return tlv(pduTag, integer(requestId), integer(0), integer(0), tlv(SEQUENCE, varbinds));
    }

    /** Message ::= SEQUENCE { version, community "public", pdu }. */
    public static byte[] message(int version, byte[] pdu) {
        return tlv(SEQUENCE, integer(version), octets("public"), pdu);
    }

    /** An SNMPv1 Trap-PDU: enterprise, agent-addr, generic-trap, specific-trap, time-stamp, bindings. */
    public static byte[] trapV1(int[] agent, byte[]... varbinds) {
        return tlv(TRAP_V1, oid(1, 3, 6, 1, 4, 1, 99), ipAddress(agent[0], agent[1], agent[2], agent[3]),
                integer(6), integer(1), tlv(TIMETICKS, new byte[] {0x10}), tlv(SEQUENCE, varbinds));
    }

    /** An SNMPv2 trap's two first bindings: sysUpTime.0 and snmpTrapOID.0. */
    public static byte[][] v2TrapHeader() {
        return new byte[][] {varbind(oid(1, 3, 6, 1, 2, 1, 1, 3, 0), tlv(TIMETICKS, new byte[] {0x10})),
                varbind(oid(1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0), oid(1, 3, 6, 1, 4, 1, 99, 2, 3, 0, 1))};
    }

    /** ipAdEntAddr.a.b.c.d, a binding whose value is an IpAddress. */
    public static byte[] addressBinding(int a, int b, int c, int d) {
        return varbind(oid(1, 3, 6, 1, 2, 1, 4, 20, 1, 1, a & 0x7F, b & 0x7F, c & 0x7F, d & 0x7F),
                ipAddress(a, b, c, d));
    }

    /** The offset of the message's n-th (0-based) IpAddress value: tag 0x40, length 4, 10.0.x.x. */
    public static int addressAt(byte[] m, int n) {
        for (int i = 0; i + 3 < m.length; i++) {
            if (m[i] == IP_ADDRESS && m[i + 1] == 4 && m[i + 2] == 10 && m[i + 3] == 0 && n-- == 0) {
                return i + 2;
            }
        }
        throw new AssertionError("no address " + n);
    }
}
