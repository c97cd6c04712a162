package org.jnetfilter.iptables;

import java.nio.ByteBuffer;
import java.util.HexFormat;

/**
 * A TCP segment in an Ethernet frame, built or read field by field, for the SYNPROXY tests: IPv4 (ID, DF, TTL) or
 * IPv6 (hop limit), the TCP header with its options as raw bytes, checksums computed when built.
 */
record TcpSegment(boolean v6, byte[] src, byte[] dst, int ttl, int id, boolean df, int sport, int dport, int seq,
        int ack, int flags, int window, byte[] options, byte[] payload) {
    static final int FIN = 0x01;
    static final int SYN = 0x02;
    static final int RST = 0x04;
    static final int PSH = 0x08;
    static final int ACK = 0x10;
    static final int ECE = 0x40;
    static final int CWR = 0x80;

    static byte[] hex(String h) {
        return HexFormat.of().parseHex(h.replace(" ", ""));
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    TcpSegment withSeqAck(int newSeq, int newAck) {
        return new TcpSegment(v6, src, dst, ttl, id, df, sport, dport, newSeq, newAck, flags, window, options,
                payload);
    }

    TcpSegment withFlags(int newFlags) {
        return new TcpSegment(v6, src, dst, ttl, id, df, sport, dport, seq, ack, newFlags, window, options, payload);
    }

    TcpSegment withPayload(String text) {
        return new TcpSegment(v6, src, dst, ttl, id, df, sport, dport, seq, ack, flags, window, options,
                text.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }

    TcpSegment withOptions(byte[] newOptions) {
        return new TcpSegment(v6, src, dst, ttl, id, df, sport, dport, seq, ack, flags, window, newOptions, payload);
    }

    /** The frame from {@code srcMac} to {@code dstMac}. */
    byte[] frame(long dstMac, long srcMac) {
        byte[] ip = datagram();
        ByteBuffer b = ByteBuffer.allocate(14 + ip.length);
        b.putShort((short) (dstMac >>> 32)).putInt((int) dstMac).putShort((short) (srcMac >>> 32)).putInt((int) srcMac);
        b.putShort((short) (v6 ? 0x86DD : 0x0800)).put(ip);
        return b.array();
    }

    byte[] datagram() {
        int tcpLen = 20 + options.length + payload.length;
        ByteBuffer t = ByteBuffer.allocate(tcpLen);
        t.putShort((short) sport).putShort((short) dport).putInt(seq).putInt(ack)
                .putShort((short) (((20 + options.length) / 4) << 12 | flags)).putShort((short) window).putInt(0)
                .put(options).put(payload);
        byte[] tcp = t.array();
        long sum = 0;
        for (int i = 0; i < src.length; i += 2) {
            sum += ((src[i] & 0xFF) << 8 | (src[i + 1] & 0xFF)) + ((dst[i] & 0xFF) << 8 | (dst[i + 1] & 0xFF));
        }
        sum += 6 + tcpLen;
        int c = ~fold(sum(tcp, sum)) & 0xFFFF;
        tcp[16] = (byte) (c >> 8);
        tcp[17] = (byte) c;
        ByteBuffer b;
        if (v6) {
            b = ByteBuffer.allocate(40 + tcpLen);
            b.putInt(6 << 28).putShort((short) tcpLen).put((byte) 6).put((byte) ttl).put(src).put(dst);
        } else {
            b = ByteBuffer.allocate(20 + tcpLen);
            b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + tcpLen)).putShort((short) id)
                    .putShort((short) (df ? 0x4000 : 0)).put((byte) ttl).put((byte) 6).putShort((short) 0).put(src)
                    .put(dst);
            byte[] h = b.array();
            int hc = ~fold(sum(java.util.Arrays.copyOf(h, 20), 0)) & 0xFFFF;
            b.putShort(10, (short) hc);
        }
        b.put(tcp);
        return b.array();
    }

    private static long sum(byte[] b, long sum) {
        for (int i = 0; i + 1 < b.length; i += 2) {
            sum += (b[i] & 0xFF) << 8 | (b[i + 1] & 0xFF);
        }
        if (b.length % 2 == 1) {
            sum += (b[b.length - 1] & 0xFF) << 8;
        }
        return sum;
    }

    private static int fold(long sum) {
        while (sum >>> 16 != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) sum;
    }

    /** Reads an IP datagram; null when it is not TCP. */
    static TcpSegment parseDatagram(byte[] ip) {
        byte[] f = new byte[14 + ip.length];
        int type = (ip[0] & 0xF0) == 0x60 ? 0x86DD : 0x0800;
        f[12] = (byte) (type >> 8);
        f[13] = (byte) type;
        System.arraycopy(ip, 0, f, 14, ip.length);
        return parse(f);
    }

    /** Reads a frame; null when it is not TCP. Checks nothing. */
    static TcpSegment parse(byte[] f) {
        ByteBuffer b = ByteBuffer.wrap(f);
        int type = b.getShort(12) & 0xFFFF;
        int ip = 14;
        boolean v6 = type == 0x86DD;
        byte[] src;
        byte[] dst;
        int ttl;
        int id = 0;
        boolean df = false;
        int th;
        int end;
        if (type == 0x0800) {
            if (f[ip + 9] != 6) {
                return null;
            }
            src = java.util.Arrays.copyOfRange(f, ip + 12, ip + 16);
            dst = java.util.Arrays.copyOfRange(f, ip + 16, ip + 20);
            ttl = f[ip + 8] & 0xFF;
            id = b.getShort(ip + 4) & 0xFFFF;
            df = (b.getShort(ip + 6) & 0x4000) != 0;
            th = ip + (f[ip] & 0x0F) * 4;
            end = ip + (b.getShort(ip + 2) & 0xFFFF);
        } else if (v6) {
            if (f[ip + 6] != 6) {
                return null;
            }
            src = java.util.Arrays.copyOfRange(f, ip + 8, ip + 24);
            dst = java.util.Arrays.copyOfRange(f, ip + 24, ip + 40);
            ttl = f[ip + 7] & 0xFF;
            th = ip + 40;
            end = th + (b.getShort(ip + 4) & 0xFFFF);
        } else {
            return null;
        }
        int doff = ((f[th + 12] & 0xFF) >>> 4) * 4;
        return new TcpSegment(v6, src, dst, ttl, id, df, b.getShort(th) & 0xFFFF, b.getShort(th + 2) & 0xFFFF,
                b.getInt(th + 4), b.getInt(th + 8), f[th + 13] & 0xFF, b.getShort(th + 14) & 0xFFFF,
                java.util.Arrays.copyOfRange(f, th + 20, th + doff), java.util.Arrays.copyOfRange(f, th + doff, end));
    }

    /** Where the timestamp option (kind 8, length 10) starts in the options, or -1. */
    private int timestampAt() {
        for (int i = 0; i < options.length;) {
            int kind = options[i] & 0xFF;
            if (kind == 0) {
                break;
            }
            if (kind == 1) {
                i++;
                continue;
            }
            int len = options[i + 1] & 0xFF;
            if (kind == 8 && len == 10) {
                return i;
            }
            i += Math.max(len, 2);
        }
        return -1;
    }

    /** The timestamp option's value and echo, or null. */
    int[] timestamps() {
        int at = timestampAt();
        if (at < 0) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(options, at + 2, 8);
        return new int[] {b.getInt(), b.getInt()};
    }

    /** The options with the timestamp option's value and echo zeroed, as hex: what is compared byte for byte. */
    String optionsWithoutTimestamps() {
        byte[] o = options.clone();
        int at = timestampAt();
        if (at >= 0) {
            java.util.Arrays.fill(o, at + 2, at + 10, (byte) 0);
        }
        return hex(o);
    }

    /** The fields compared byte for byte, sequence numbers and timestamps aside. */
    String fixedFields() {
        return (v6 ? "ip6 " : "ip ") + hex(src) + " > " + hex(dst) + " ttl " + ttl + (v6 ? "" : " id " + id + (df ? " DF" : ""))
                + " tcp " + sport + " > " + dport + " flags " + Integer.toHexString(flags) + " win " + window
                + " opts " + optionsWithoutTimestamps() + " payload " + hex(payload);
    }
}
