package org.jnetfilter.core.conntrack;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Family;

/**
 * IPv4 and IPv6 packets for the conntrack and NAT tests, built with valid checksums (conntrack checks them at
 * PREROUTING as the kernel does), and the checks that a rewritten packet's checksums are still valid.
 */
public final class Packets {
    private Packets() {
    }

    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;

    public static int ip(String dotted) {
        String[] p = dotted.split("\\.");
        return Integer.parseInt(p[0]) << 24 | Integer.parseInt(p[1]) << 16 | Integer.parseInt(p[2]) << 8
                | Integer.parseInt(p[3]);
    }

    public static MemorySegment ipv4(int src, int dst, int protocol, byte[] transport) {
        ByteBuffer b = ByteBuffer.allocate(20 + transport.length);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + transport.length)).putShort((short) 0x1234)
                .putShort((short) 0x4000).put((byte) 64).put((byte) protocol).putShort((short) 0)
                .putInt(src).putInt(dst).put(transport);
        MemorySegment s = MemorySegment.ofArray(b.array());
        s.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 10,
                (short) Checksums.ipv4Header(s, 0));
        int len = transport.length;
        int at = switch (protocol) {
            case 6 -> 16;
            case 17 -> 6;
            case 1 -> 2;
            default -> -1;
        };
        if (protocol == 132) {
            s.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 28,
                    (int) Checksums.sctp(s, 20, len));
        }
        if (at >= 0) {
            int sum = switch (protocol) {
                case 6 -> Checksums.tcpV4(s, 20, len, src, dst);
                case 17 -> Checksums.udpV4(s, 20, len, src, dst);
                default -> Checksums.icmp(s, 20, len);
            };
            put16(s, 20 + at, sum);
        }
        return s;
    }

    public static MemorySegment ipv6(long srcHi, long srcLo, long dstHi, long dstLo, int nextHeader, byte[] rest) {
        ByteBuffer b = ByteBuffer.allocate(40 + rest.length);
        b.putInt(0x60000000).putShort((short) rest.length).put((byte) nextHeader).put((byte) 64)
                .putLong(srcHi).putLong(srcLo).putLong(dstHi).putLong(dstLo).put(rest);
        MemorySegment s = MemorySegment.ofArray(b.array());
        int len = rest.length;
        int at = switch (nextHeader) {
            case 6 -> 16;
            case 17 -> 6;
            case 58 -> 2;
            default -> -1;
        };
        if (at >= 0) {
            int sum = switch (nextHeader) {
                case 6 -> Checksums.tcpV6(s, 0, 40, len);
                case 17 -> Checksums.udpV6(s, 0, 40, len);
                default -> Checksums.icmpv6(s, 0, 40, len);
            };
            put16(s, 40 + at, sum);
        }
        return s;
    }

    private static void put16(MemorySegment s, long at, int v) {
        s.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), at,
                (short) v);
    }

    public static byte[] tcp(int sport, int dport, int seq, int ack, int flags, int window, byte[] options,
            int payload) {
        int optLen = (options.length + 3) & ~3;
        ByteBuffer b = ByteBuffer.allocate(20 + optLen + payload);
        b.putShort((short) sport).putShort((short) dport).putInt(seq).putInt(ack)
                .put((byte) (((20 + optLen) / 4) << 4)).put((byte) flags).putShort((short) window)
                .putShort((short) 0).putShort((short) 0).put(options);
        return b.array();
    }

    public static byte[] tcp(int sport, int dport, int seq, int ack, int flags, int payload) {
        return tcp(sport, dport, seq, ack, flags, 64240, new byte[0], payload);
    }

    /** An IPv4 TCP segment carrying {@code data} (ASCII), checksums filled in. */
    public static MemorySegment tcpText(int src, int dst, int sport, int dport, int seq, int ack, int flags,
            String data) {
        byte[] text = data.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] t = tcp(sport, dport, seq, ack, flags, text.length);
        System.arraycopy(text, 0, t, 20, text.length);
        return ipv4(src, dst, 6, t);
    }

    /** An SCTP packet: common header with {@code vtag}, then chunks given as {type, flags, body...} arrays. */
    public static byte[] sctp(int sport, int dport, int vtag, byte[]... chunks) {
        int len = 12;
        for (byte[] c : chunks) {
            len += (c.length + 3) & ~3;
        }
        ByteBuffer b = ByteBuffer.allocate(len).putShort((short) sport).putShort((short) dport).putInt(vtag).putInt(0);
        for (byte[] c : chunks) {
            b.put(c);
            b.position(b.position() + (((c.length + 3) & ~3) - c.length));
        }
        return b.array();
    }

    /** One SCTP chunk: type, flags, the length field, then {@code body}. */
    public static byte[] chunk(int type, int flags, byte[] body) {
        return ByteBuffer.allocate(4 + body.length).put((byte) type).put((byte) flags)
                .putShort((short) (4 + body.length)).put(body).array();
    }

    /** INIT or INIT ACK with an initiate tag. */
    public static byte[] init(int type, int initTag) {
        return chunk(type, 0, ByteBuffer.allocate(16).putInt(initTag).putInt(65535).putShort((short) 10)
                .putShort((short) 10).putInt(1).array());
    }

    public static byte[] udp(int sport, int dport, int payload) {
        return ByteBuffer.allocate(8 + payload).putShort((short) sport).putShort((short) dport)
                .putShort((short) (8 + payload)).putShort((short) 0).array();
    }

    /** An ICMP echo request (8) or reply (0), or another query/answer type, with an id and sequence. */
    public static byte[] icmpEcho(int type, int id, int seq) {
        return ByteBuffer.allocate(16).put((byte) type).put((byte) 0).putShort((short) 0).putShort((short) id)
                .putShort((short) seq).array();
    }

    /** An ICMP error quoting {@code quoted} (its first {@code quotedBytes} bytes). */
    public static byte[] icmpError(int type, int code, MemorySegment quoted, int quotedBytes) {
        byte[] q = quoted.asSlice(0, Math.min(quotedBytes, quoted.byteSize())).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        return ByteBuffer.allocate(8 + q.length).put((byte) type).put((byte) code).putShort((short) 0).putInt(0)
                .put(q).array();
    }

    public static PacketContext load(MemorySegment s) {
        PacketContext p = new PacketContext();
        return s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0) >>> 4 == 4 ? p.ipv4(s, 0) : p.ipv6(s, 0);
    }

    /** Whether the IP header (IPv4) and the transport checksum verify. */
    public static boolean checksumsValid(PacketContext pkt) {
        if (pkt.family() == Family.IPV4 && !Checksums.ipv4HeaderValid(pkt.segment(), pkt.networkOffset())) {
            return false;
        }
        return Checksum.transportValid(pkt);
    }

    public static int u16(MemorySegment s, long at) {
        return Short.toUnsignedInt(
                s.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), at));
    }

    public static int u32(MemorySegment s, long at) {
        return s.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), at);
    }
}
