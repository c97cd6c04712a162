package org.jnetfilter.cli;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Protocols;

/**
 * One-line descriptions of packets for {@code jnf trace} and {@code jnf replay}, and the fields whose
 * changes a trace reports (addresses, ports, TTL, TOS). Reads the bytes directly, so it shows what the
 * packet is, whatever a cache says.
 */
final class PacketText {
    private PacketText() {
    }

    private static int u8(MemorySegment s, long at) {
        return at < s.byteSize() ? Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at)) : 0;
    }

    private static int u16(MemorySegment s, long at) {
        return (u8(s, at) << 8) | u8(s, at + 1);
    }

    private static long u64(MemorySegment s, long at) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | u8(s, at + i);
        }
        return v;
    }

    /** Where the IP header of an Ethernet frame starts (after the header and any VLAN tags), or -1. */
    static long ipOfFrame(MemorySegment frame) {
        long at = 12;
        while (at + 2 <= frame.byteSize()) {
            int type = u16(frame, at);
            if (type == 0x8100 || type == 0x88A8) {
                at += 4;
                continue;
            }
            return type == 0x0800 || type == 0x86DD ? at + 2 : -1;
        }
        return -1;
    }

    /** The fields a trace follows, read from the IP datagram at {@code at}. */
    record Fields(Family family, int protocol, IpAddress source, int sourcePort, IpAddress destination,
            int destinationPort, int ttl, int tos, int length, int icmpType, int icmpCode) {

        String endpoints() {
            return endpoint(source, sourcePort) + " -> " + endpoint(destination, destinationPort);
        }

        String endpoint(IpAddress a, int port) {
            if (port < 0) {
                return a.text();
            }
            return family == Family.IPV6 ? "[" + a.text() + "]:" + port : a.text() + ":" + port;
        }

        String describe() {
            StringBuilder sb = new StringBuilder(Protocols.name(protocol)).append(' ').append(endpoints());
            if (icmpType >= 0) {
                sb.append(" type ").append(icmpType).append(" code ").append(icmpCode);
            }
            return sb.append(" len ").append(length).append(family == Family.IPV4 ? " ttl " : " hl ").append(ttl).toString();
        }
    }

    static Fields fields(MemorySegment s, long at) {
        int version = u8(s, at) >>> 4;
        Family family;
        int protocol;
        IpAddress src;
        IpAddress dst;
        int ttl;
        int tos;
        int length;
        long l4;
        boolean firstFragment = true;
        if (version == 4) {
            family = Family.IPV4;
            protocol = u8(s, at + 9);
            src = IpAddress.ipv4((int) ((long) u16(s, at + 12) << 16 | u16(s, at + 14)));
            dst = IpAddress.ipv4((int) ((long) u16(s, at + 16) << 16 | u16(s, at + 18)));
            ttl = u8(s, at + 8);
            tos = u8(s, at + 1);
            length = u16(s, at + 2);
            l4 = at + ((u8(s, at) & 0x0F) << 2);
            firstFragment = (u16(s, at + 6) & 0x1FFF) == 0;
        } else {
            family = Family.IPV6;
            protocol = u8(s, at + 6);
            src = new IpAddress(Family.IPV6, u64(s, at + 8), u64(s, at + 16));
            dst = new IpAddress(Family.IPV6, u64(s, at + 24), u64(s, at + 32));
            ttl = u8(s, at + 7);
            tos = (u16(s, at) >>> 4) & 0xFF;
            length = 40 + u16(s, at + 4);
            l4 = at + 40;
            // skip extension headers as far as they are whole (hop-by-hop, routing, destination, fragment)
            while ((protocol == 0 || protocol == 43 || protocol == 60 || protocol == 44) && l4 + 8 <= s.byteSize()) {
                int next = u8(s, l4);
                if (protocol == 44) {
                    firstFragment = (u16(s, l4 + 2) >>> 3) == 0;
                    l4 += 8;
                } else {
                    l4 += (u8(s, l4 + 1) + 1L) << 3;
                }
                protocol = next;
            }
        }
        int sport = -1;
        int dport = -1;
        int type = -1;
        int code = -1;
        boolean whole = firstFragment && l4 + 4 <= s.byteSize();
        if (whole && PacketSpec.hasPorts(protocol)) {
            sport = u16(s, l4);
            dport = u16(s, l4 + 2);
        } else if (whole && (protocol == Protocols.ICMP || protocol == Protocols.ICMPV6)) {
            type = u8(s, l4);
            code = u8(s, l4 + 1);
        }
        return new Fields(family, protocol, src, sport, dst, dport, ttl, tos, length, type, code);
    }

    /** What changed between two readings of the same packet, as "dst 10.0.0.1:80 -> 10.0.0.9:8080, ttl 64 -> 63"; "" when nothing. */
    static String changes(Fields a, Fields b) {
        StringBuilder sb = new StringBuilder();
        if (!a.source().equals(b.source()) || a.sourcePort() != b.sourcePort()) {
            sep(sb).append("src ").append(a.endpoint(a.source(), a.sourcePort())).append(" -> ")
                    .append(b.endpoint(b.source(), b.sourcePort()));
        }
        if (!a.destination().equals(b.destination()) || a.destinationPort() != b.destinationPort()) {
            sep(sb).append("dst ").append(a.endpoint(a.destination(), a.destinationPort())).append(" -> ")
                    .append(b.endpoint(b.destination(), b.destinationPort()));
        }
        if (a.ttl() != b.ttl()) {
            sep(sb).append(a.family() == Family.IPV4 ? "ttl " : "hl ").append(a.ttl()).append(" -> ").append(b.ttl());
        }
        if (a.tos() != b.tos()) {
            sep(sb).append(a.family() == Family.IPV4 ? "tos 0x" : "tc 0x").append(Integer.toHexString(a.tos()))
                    .append(" -> 0x").append(Integer.toHexString(b.tos()));
        }
        if (a.length() != b.length()) {
            sep(sb).append("len ").append(a.length()).append(" -> ").append(b.length());
        }
        return sb.toString();
    }

    private static StringBuilder sep(StringBuilder sb) {
        return sb.isEmpty() ? sb : sb.append(", ");
    }
}
