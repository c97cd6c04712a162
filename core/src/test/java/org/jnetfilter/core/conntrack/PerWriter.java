package org.jnetfilter.core.conntrack;

import java.io.ByteArrayOutputStream;
import java.util.function.Consumer;

/**
 * A small aligned-PER writer for tests: bits, alignment, length determinants and open types, enough to build the
 * H.225.0 and H.245 messages the h323 helpers read (each test spells its message field by field).
 */
final class PerWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private int partial;
    private int used;

    PerWriter bit(boolean one) {
        partial = partial << 1 | (one ? 1 : 0);
        if (++used == 8) {
            out.write(partial);
            partial = 0;
            used = 0;
        }
        return this;
    }

    PerWriter bits(int value, int n) {
        for (int i = n - 1; i >= 0; i--) {
            bit((value >>> i & 1) != 0);
        }
        return this;
    }

    /** The option bitmap given as a string of 0 and 1. */
    PerWriter bitmap(String ones) {
        for (char c : ones.toCharArray()) {
            bit(c == '1');
        }
        return this;
    }

    PerWriter align() {
        while (used != 0) {
            bit(false);
        }
        return this;
    }

    PerWriter bytes(int... values) {
        align();
        for (int v : values) {
            out.write(v);
        }
        return this;
    }

    PerWriter u16(int v) {
        return bytes(v >>> 8 & 0xFF, v & 0xFF);
    }

    /** An aligned length determinant (one byte below 128, else two). */
    PerWriter length(int n) {
        return n < 128 ? bytes(n) : bytes(0x80 | n >>> 8, n & 0xFF);
    }

    /** An open type or extension: its own aligned encoding, preceded by its length. */
    PerWriter open(Consumer<PerWriter> content) {
        PerWriter inner = new PerWriter();
        content.accept(inner);
        byte[] b = inner.toBytes();
        length(b.length);
        for (byte x : b) {
            out.write(x & 0xFF);
        }
        return this;
    }

    PerWriter ipv4(int address, int port) {
        return bytes(address >>> 24, address >>> 16 & 0xFF, address >>> 8 & 0xFF, address & 0xFF).u16(port);
    }

    byte[] toBytes() {
        align();
        return out.toByteArray();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    /** A TPKT (RFC 1006) around {@code data}. */
    static byte[] tpkt(byte[] data) {
        int n = data.length + 4;
        return concat(new byte[] {3, 0, (byte) (n >>> 8), (byte) n}, data);
    }

    /** A Q.931 message (call reference 1 from the originating side) with a Bearer capability and the User-user IE. */
    static byte[] q931(int messageType, byte[] userInformation) {
        int n = userInformation.length + 1;
        return concat(new byte[] {0x08, 0x02, 0x00, 0x01, (byte) messageType, 0x04, 0x03, (byte) 0x88, (byte) 0x93,
                (byte) 0xA5, 0x7E, (byte) (n >>> 8), (byte) n, 0x05}, userInformation);
    }
}
