package org.jnetfilter.core.netfilter;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.packet.Ipv6Header;
import org.jnetfilter.core.packet.TcpHeader;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * Packets for the per-extension semantics tests, built with the header flyweights and carrying
 * valid checksums (so a rewriting target's incremental fix can be compared with a recomputation),
 * and the extensions' options parsed by their own parsers.
 */
final class SemanticsPackets {
    static final int SRC4 = Fixtures.ip(192, 168, 1, 10);
    static final int DST4 = Fixtures.ip(10, 0, 0, 1);
    static final long SRC6_HI = 0x20010db800000000L;
    static final long SRC6_LO = 0x10L;
    static final long DST6_HI = 0x20010db800000001L;
    static final long DST6_LO = 0x1L;

    private SemanticsPackets() {
    }

    // ---- options ----

    static ExtensionData match(Family family, int protocol, String name, String... words) {
        IpSpec ip = protocol < 0 ? IpSpec.any(family) : IpSpec.any(family).withProtocol(protocol);
        return Fixtures.parse(Extensions.standard().match(name, family), family, ip, words);
    }

    static ExtensionData target(Family family, int protocol, String name, String... words) {
        IpSpec ip = protocol < 0 ? IpSpec.any(family) : IpSpec.any(family).withProtocol(protocol);
        return Fixtures.parse(Extensions.standard().target(name, family), family, ip, words);
    }

    // ---- bytes ----

    static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    static byte[] concat(byte[]... parts) {
        byte[] r = new byte[0];
        for (byte[] p : parts) {
            int n = r.length;
            r = Arrays.copyOf(r, n + p.length);
            System.arraycopy(p, 0, r, n, p.length);
        }
        return r;
    }

    static byte[] zeros(int n) {
        return new byte[n];
    }

    static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    /** A TCP header with {@code options} (padded with EOL to a multiple of 4), then {@code payload}. */
    static byte[] tcp(int sport, int dport, int flags, int[] options, byte[] payload) {
        int optLen = (options.length + 3) & ~3;
        byte[] b = new byte[20 + optLen + payload.length];
        MemorySegment s = MemorySegment.ofArray(b);
        new TcpHeader().wrap(s, 0).sourcePort(sport).destinationPort(dport).sequence(0x01020304L)
                .acknowledgment(0).dataOffset((20 + optLen) / 4).flags(flags).window(65535);
        for (int i = 0; i < options.length; i++) {
            b[20 + i] = (byte) options[i];
        }
        System.arraycopy(payload, 0, b, 20 + optLen, payload.length);
        return b;
    }

    static byte[] tcp(int flags, int... options) {
        return tcp(40000, 80, flags, options, new byte[0]);
    }

    /**
     * An IPv4 datagram: 20-byte header with these fields, then {@code payload}; the header checksum, and
     * for an unfragmented TCP segment the TCP checksum, are filled in.
     */
    static MemorySegment ipv4(int tos, int protocol, int fragWord, byte[] payload) {
        MemorySegment s = MemorySegment.ofArray(new byte[20 + payload.length]);
        MemorySegment.copy(payload, 0, s, ValueLayout.JAVA_BYTE, 20, payload.length);
        Ipv4Header ip = new Ipv4Header().wrap(s, 0).version(4).ihl(5).tos(tos).totalLength(20 + payload.length)
                .identification(0x1234).flagsAndFragmentOffset(fragWord).ttl(64).protocol(protocol)
                .source(SRC4).destination(DST4);
        if (protocol == Protocols.TCP && fragWord == 0 && payload.length >= 20) {
            TcpHeader t = new TcpHeader().wrap(s, 20).checksum(0);
            t.checksum(Checksums.tcpV4(s, 20, payload.length, SRC4, DST4));
        }
        ip.updateChecksum();
        return s;
    }

    static MemorySegment ipv4(int protocol, byte[] payload) {
        return ipv4(0, protocol, 0, payload);
    }

    /** An IPv6 packet with this traffic class and first next header; a TCP segment right after it gets its checksum. */
    static MemorySegment ipv6(int trafficClass, int nextHeader, byte[] rest) {
        MemorySegment s = MemorySegment.ofArray(new byte[40 + rest.length]);
        MemorySegment.copy(rest, 0, s, ValueLayout.JAVA_BYTE, 40, rest.length);
        new Ipv6Header().wrap(s, 0).version(6).trafficClass(trafficClass).flowLabel(0xABCDE)
                .payloadLength(rest.length).nextHeader(nextHeader).hopLimit(64)
                .source(SRC6_HI, SRC6_LO).destination(DST6_HI, DST6_LO);
        if (nextHeader == Protocols.TCP && rest.length >= 20) {
            TcpHeader t = new TcpHeader().wrap(s, 40).checksum(0);
            t.checksum(Checksums.tcpV6(s, 0, 40, rest.length));
        }
        return s;
    }

    static MemorySegment ipv6(int nextHeader, byte[] rest) {
        return ipv6(0, nextHeader, rest);
    }

    /** An IPv6 extension header of the options/routing shape: next header, length in 8-byte units beyond the first, body. */
    static byte[] ext(int nextHeader, byte[] body) {
        int total = (2 + body.length + 7) & ~7;
        byte[] b = new byte[total];
        b[0] = (byte) nextHeader;
        b[1] = (byte) (total / 8 - 1);
        System.arraycopy(body, 0, b, 2, body.length);
        return b;
    }

    /** Loads {@code s} by its version nibble. */
    static PacketContext load(MemorySegment s) {
        PacketContext pkt = new PacketContext();
        int version = Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, 0)) >>> 4;
        return version == 4 ? pkt.ipv4(s, 0) : pkt.ipv6(s, 0);
    }

    /** Loads only the first {@code length} bytes as the datagram (the packet cut short). */
    static PacketContext loadTruncated(MemorySegment s, int length) {
        PacketContext pkt = new PacketContext();
        int version = Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, 0)) >>> 4;
        return version == 4 ? pkt.ipv4(s, 0, length) : pkt.ipv6(s, 0, length);
    }

    static byte[] copy(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_BYTE);
    }
}
