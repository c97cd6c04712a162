package org.jnetfilter.core.testkit;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** PPTP control messages (RFC 2637) for the pptp helper's tests, as the TCP payload text a test segment carries. */
public final class PptpMessages {
    private PptpMessages() {
    }

    /**
     * A control message: the PPTP header (length, control packet 1, magic cookie 0x1A2B3C4D), {@code type}, a
     * reserved word, then a body of {@code bodyLength} bytes starting with {@code body}, the rest 0; as ISO-8859-1
     * text, one character a byte.
     */
    public static String control(int type, int bodyLength, int... body) {
        ByteBuffer b = ByteBuffer.allocate(12 + bodyLength);
        b.putShort((short) (12 + bodyLength)).putShort((short) 1).putInt(0x1A2B3C4D).putShort((short) type)
                .putShort((short) 0);
        for (int v : body) {
            b.put((byte) v);
        }
        return new String(b.array(), StandardCharsets.ISO_8859_1);
    }
}
