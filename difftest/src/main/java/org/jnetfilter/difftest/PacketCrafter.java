package org.jnetfilter.difftest;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.EthernetHeader;
import org.jnetfilter.core.packet.IcmpHeader;
import org.jnetfilter.core.packet.Icmpv6Header;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.packet.Ipv6Header;
import org.jnetfilter.core.packet.TcpHeader;
import org.jnetfilter.core.packet.UdpHeader;

/**
 * Builds the frames the harness injects, with the project's own header flyweights and checksums: the
 * Ethernet header of the side (wire MAC to dut's MAC), IPv4 or IPv6, then TCP, UDP, ICMP or ICMPv6 with
 * correct checksums unless a caller breaks them on purpose. Addresses are {@link Address} values.
 * Not a hot path: one byte array per frame.
 */
public final class PacketCrafter {
    /** An IPv4 (in {@code lo}) or IPv6 ({@code hi}, {@code lo}) address. */
    public record Address(boolean v6, long hi, long lo) {
        public static Address v4(int a) {
            return new Address(false, 0, a & 0xFFFF_FFFFL);
        }

        public static Address v6(long hi, long lo) {
            return new Address(true, hi, lo);
        }

        int v4() {
            return (int) lo;
        }

        @Override
        public String toString() {
            if (!v6) {
                return ((lo >>> 24) & 255) + "." + ((lo >>> 16) & 255) + "." + ((lo >>> 8) & 255) + "." + (lo & 255);
            }
            try {
                byte[] b = new byte[16];
                for (int i = 0; i < 8; i++) {
                    b[i] = (byte) (hi >>> (56 - 8 * i));
                    b[8 + i] = (byte) (lo >>> (56 - 8 * i));
                }
                return java.net.InetAddress.getByAddress(b).getHostAddress().replaceAll("(^|:)0(:0)+(:|$)", "::")
                        .replaceAll(":::+", "::");
            } catch (java.net.UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** The L3 header fields a case sets; the rest get defaults. */
    public record Ip(Address source, Address destination, int ttl, int tos, int id, int flags) {
        public static Ip of(Address source, Address destination) {
            return new Ip(source, destination, 64, 0, 0x1234, Ipv4Header.FLAG_DF);
        }

        public Ip ttl(int v) {
            return new Ip(source, destination, v, tos, id, flags);
        }

        public Ip tos(int v) {
            return new Ip(source, destination, ttl, v, id, flags);
        }

        public Ip id(int v) {
            return new Ip(source, destination, ttl, tos, v, flags);
        }

        public Ip flags(int v) {
            return new Ip(source, destination, ttl, tos, id, v);
        }

        boolean v6() {
            return source.v6();
        }
    }

    private PacketCrafter() {
    }

    static long wireMac(String side) {
        return side.equals(Topology.A) ? Topology.MAC_A : Topology.MAC_B;
    }

    static long dutMac(String side) {
        return side.equals(Topology.A) ? Topology.MAC_DUT_A : Topology.MAC_DUT_B;
    }

    /** An IP packet (no Ethernet header) with {@code l4} as payload of protocol {@code proto}; checksums done. */
    public static byte[] ip(Ip ip, int proto, byte[] l4) {
        int hl = ip.v6() ? Ipv6Header.LENGTH : Ipv4Header.MIN_LENGTH;
        MemorySegment s = MemorySegment.ofArray(new byte[hl + l4.length]);
        MemorySegment.copy(l4, 0, s, ValueLayout.JAVA_BYTE, hl, l4.length);
        if (ip.v6()) {
            new Ipv6Header().wrap(s, 0).version(6).trafficClass(ip.tos()).flowLabel(0).payloadLength(l4.length)
                    .nextHeader(proto).hopLimit(ip.ttl()).source(ip.source().hi(), ip.source().lo())
                    .destination(ip.destination().hi(), ip.destination().lo());
        } else {
            new Ipv4Header().wrap(s, 0).version(4).ihl(5).tos(ip.tos()).totalLength(hl + l4.length)
                    .identification(ip.id()).flagsAndFragmentOffset(ip.flags()).ttl(ip.ttl()).protocol(proto)
                    .source(ip.source().v4()).destination(ip.destination().v4()).updateChecksum();
        }
        transportChecksum(s, 0, ip.v6(), proto, hl, l4.length);
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    /** Recomputes the transport checksum of a packet whose L4 starts at {@code l4} (not for fragments). */
    static void transportChecksum(MemorySegment s, long ipAt, boolean v6, int proto, int l4, int length) {
        long at = ipAt + l4;
        int src = v6 ? 0 : Be.s32(s, ipAt + Ipv4Header.SOURCE);
        int dst = v6 ? 0 : Be.s32(s, ipAt + Ipv4Header.DESTINATION);
        switch (proto) {
            case Checksums.PROTO_TCP -> {
                if (length >= TcpHeader.MIN_LENGTH) {
                    Be.u16(s, at + TcpHeader.CHECKSUM, v6 ? Checksums.tcpV6(s, ipAt, at, length)
                            : Checksums.tcpV4(s, at, length, src, dst));
                }
            }
            case Checksums.PROTO_UDP -> {
                if (length >= UdpHeader.LENGTH) {
                    Be.u16(s, at + UdpHeader.CHECKSUM, v6 ? Checksums.udpV6(s, ipAt, at, length)
                            : Checksums.udpV4(s, at, length, src, dst));
                }
            }
            case Checksums.PROTO_ICMP -> {
                if (length >= 4) {
                    Be.u16(s, at + 2, 0);
                    Be.u16(s, at + 2, Checksums.icmp(s, at, length));
                }
            }
            case Checksums.PROTO_ICMPV6 -> {
                if (length >= 4) {
                    Be.u16(s, at + 2, Checksums.icmpv6(s, ipAt, at, length));
                }
            }
            default -> {
            }
        }
    }

    /**
     * An IPv4 packet with {@code options} (hex, a multiple of 4 bytes, at most 40) inserted after its 20-byte header:
     * the header length, total length and header checksum follow.
     */
    public static byte[] withIpv4Options(byte[] ip, String options) {
        byte[] o = java.util.HexFormat.of().parseHex(options);
        byte[] p = new byte[ip.length + o.length];
        System.arraycopy(ip, 0, p, 0, Ipv4Header.MIN_LENGTH);
        System.arraycopy(o, 0, p, Ipv4Header.MIN_LENGTH, o.length);
        int hl = Ipv4Header.MIN_LENGTH;
        System.arraycopy(ip, hl, p, hl + o.length, ip.length - hl);
        new Ipv4Header().wrap(MemorySegment.ofArray(p), 0).ihl((Ipv4Header.MIN_LENGTH + o.length) / 4)
                .totalLength(p.length).updateChecksum();
        return p;
    }

    /** The frame around an IP packet, from {@code side}'s wire end to dut. */
    public static byte[] frame(String side, byte[] ipPacket) {
        return frame(side, dutMac(side), ipPacket);
    }

    public static byte[] frame(String side, long destinationMac, byte[] ipPacket) {
        MemorySegment s = MemorySegment.ofArray(new byte[EthernetHeader.LENGTH + ipPacket.length]);
        int version = ipPacket.length > 0 ? (ipPacket[0] >> 4) & 0xF : 4;
        new EthernetHeader().wrap(s, 0).destination(destinationMac).source(wireMac(side))
                .etherType(version == 6 ? EthernetHeader.ETH_P_IPV6 : EthernetHeader.ETH_P_IP);
        MemorySegment.copy(ipPacket, 0, s, ValueLayout.JAVA_BYTE, EthernetHeader.LENGTH, ipPacket.length);
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    public static byte[] tcp(int sport, int dport, long seq, long ack, int flags, int window, int payload) {
        MemorySegment s = MemorySegment.ofArray(new byte[TcpHeader.MIN_LENGTH + payload]);
        new TcpHeader().wrap(s, 0).sourcePort(sport).destinationPort(dport).sequence(seq).acknowledgment(ack)
                .dataOffset(5).flags(flags).window(window);
        fillPayload(s, TcpHeader.MIN_LENGTH, payload);
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    /** A SYN's header with an MSS option (4 bytes) and window scale (3 + NOP), as stacks send. */
    public static byte[] tcpSyn(int sport, int dport, long seq, long ack, int flags, int mss) {
        MemorySegment s = MemorySegment.ofArray(new byte[TcpHeader.MIN_LENGTH + 8]);
        new TcpHeader().wrap(s, 0).sourcePort(sport).destinationPort(dport).sequence(seq).acknowledgment(ack)
                .dataOffset(7).flags(flags).window(64240);
        long o = TcpHeader.MIN_LENGTH;
        s.set(ValueLayout.JAVA_BYTE, o, (byte) TcpHeader.OPT_MSS);
        s.set(ValueLayout.JAVA_BYTE, o + 1, (byte) 4);
        Be.u16(s, o + 2, mss);
        s.set(ValueLayout.JAVA_BYTE, o + 4, (byte) TcpHeader.OPT_NOP);
        s.set(ValueLayout.JAVA_BYTE, o + 5, (byte) TcpHeader.OPT_WINDOW);
        s.set(ValueLayout.JAVA_BYTE, o + 6, (byte) 3);
        s.set(ValueLayout.JAVA_BYTE, o + 7, (byte) 7);
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    public static byte[] udp(int sport, int dport, int payload) {
        MemorySegment s = MemorySegment.ofArray(new byte[UdpHeader.LENGTH + payload]);
        new UdpHeader().wrap(s, 0).sourcePort(sport).destinationPort(dport).length(UdpHeader.LENGTH + payload);
        fillPayload(s, UdpHeader.LENGTH, payload);
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    /** ICMP or ICMPv6 echo request/reply (type given) with {@code payload} bytes of data. */
    public static byte[] echo(int type, int id, int seq, int payload) {
        MemorySegment s = MemorySegment.ofArray(new byte[8 + payload]);
        new IcmpHeader().wrap(s, 0).type(type).code(0).identifier(id).sequence(seq);
        fillPayload(s, 8, payload);
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    /** An ICMP(v6) error of {@code type}/{@code code} quoting {@code quoted} (an IP packet), cut as a router would. */
    public static byte[] icmpError(boolean v6, int type, int code, int extra, byte[] quoted) {
        int keep = Math.min(quoted.length, v6 ? 1232 : 28 + 20);
        MemorySegment s = MemorySegment.ofArray(new byte[8 + keep]);
        if (v6) {
            new Icmpv6Header().wrap(s, 0).type(type).code(code);
        } else {
            new IcmpHeader().wrap(s, 0).type(type).code(code);
        }
        Be.u32(s, 4, extra & 0xFFFF_FFFFL);
        MemorySegment.copy(quoted, 0, s, ValueLayout.JAVA_BYTE, 8, keep);
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    private static void fillPayload(MemorySegment s, long from, int n) {
        for (int i = 0; i < n; i++) {
            s.set(ValueLayout.JAVA_BYTE, from + i, (byte) ('a' + i % 26));
        }
    }

    /**
     * Splits an IP packet into fragments carrying at most {@code chunk} bytes (a multiple of 8) of its
     * payload each: IPv4 by offset and MF; IPv6 with a Fragment header (identification {@code id}).
     */
    public static List<byte[]> fragments(byte[] packet, int chunk, int id) {
        boolean v6 = ((packet[0] >> 4) & 0xF) == 6;
        int hl = v6 ? Ipv6Header.LENGTH : Ipv4Header.MIN_LENGTH;
        int payload = packet.length - hl;
        List<byte[]> out = new ArrayList<>();
        for (int off = 0; off < payload; off += chunk) {
            int n = Math.min(chunk, payload - off);
            boolean more = off + n < payload;
            if (v6) {
                MemorySegment s = MemorySegment.ofArray(new byte[hl + 8 + n]);
                MemorySegment.copy(packet, 0, s, ValueLayout.JAVA_BYTE, 0, hl);
                Ipv6Header ip = new Ipv6Header().wrap(s, 0);
                int next = ip.nextHeader();
                ip.nextHeader(Ipv6Header.NEXTHDR_FRAGMENT).payloadLength(8 + n);
                s.set(ValueLayout.JAVA_BYTE, hl, (byte) next);
                Be.u16(s, hl + 2, (off & ~7) | (more ? 1 : 0));
                Be.u32(s, hl + 4, id & 0xFFFF_FFFFL);
                MemorySegment.copy(packet, hl + off, s, ValueLayout.JAVA_BYTE, hl + 8, n);
                out.add(s.toArray(ValueLayout.JAVA_BYTE));
            } else {
                MemorySegment s = MemorySegment.ofArray(new byte[hl + n]);
                MemorySegment.copy(packet, 0, s, ValueLayout.JAVA_BYTE, 0, hl);
                MemorySegment.copy(packet, hl + off, s, ValueLayout.JAVA_BYTE, hl, n);
                new Ipv4Header().wrap(s, 0).totalLength(hl + n).identification(id & 0xFFFF)
                        .flagsAndFragmentOffset((more ? Ipv4Header.FLAG_MF : 0) | (off >> 3)).updateChecksum();
                out.add(s.toArray(ValueLayout.JAVA_BYTE));
            }
        }
        return out;
    }
}
