package org.jnetfilter.difftest;

import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.EthernetHeader;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.packet.Ipv6Header;
import org.jnetfilter.core.packet.TcpHeader;

/** Reading captured frames: a one-line description for reports, and what the comparison leaves out. */
public final class Frames {
    private Frames() {
    }

    /**
     * ARP and ICMPv6 neighbour discovery / MLD (types 130-137, 143): the kernel's own link-layer
     * chatter, not part of the netfilter behaviour compared (jnetfilter has no neighbour subsystem).
     */
    static boolean isNeighbourDiscovery(byte[] frame) {
        if (frame.length < EthernetHeader.LENGTH) {
            return false;
        }
        MemorySegment s = MemorySegment.ofArray(frame);
        int type = Be.u16(s, EthernetHeader.ETHER_TYPE);
        if (type == EthernetHeader.ETH_P_ARP) {
            return true;
        }
        if (type != EthernetHeader.ETH_P_IPV6 || frame.length < EthernetHeader.LENGTH + Ipv6Header.LENGTH + 1) {
            return false;
        }
        int next = Be.u8(s, EthernetHeader.LENGTH + Ipv6Header.NEXT_HEADER);
        int at = EthernetHeader.LENGTH + Ipv6Header.LENGTH;
        if (next == Ipv6Header.NEXTHDR_HOP && frame.length > at + 8) {
            next = Be.u8(s, at);
            at += (Be.u8(s, at + 1) + 1) * 8;
        }
        if (next != Ipv6Header.NEXTHDR_ICMP || frame.length <= at) {
            return false;
        }
        int icmp = Be.u8(s, at);
        return (icmp >= 130 && icmp <= 137) || icmp == 143;
    }

    /**
     * ICMP "fragment reassembly time exceeded" (type 11 code 1, ICMPv6 3/1): sent by the kernel when a
     * reassembly queue expires, 30 or 60 s after its first fragment, so during some later case; the
     * harness's cases last milliseconds on both sides, and shrinking may leave incomplete series behind.
     */
    static boolean isReassemblyTimeout(byte[] frame) {
        if (frame.length < EthernetHeader.LENGTH + 20) {
            return false;
        }
        MemorySegment s = MemorySegment.ofArray(frame);
        int type = Be.u16(s, EthernetHeader.ETHER_TYPE);
        int l3 = EthernetHeader.LENGTH;
        if (type == EthernetHeader.ETH_P_IP && Be.u8(s, l3 + Ipv4Header.PROTOCOL) == Checksums.PROTO_ICMP) {
            int l4 = l3 + (Be.u8(s, l3) & 0xF) * 4;
            return frame.length >= l4 + 2 && Be.u8(s, l4) == 11 && Be.u8(s, l4 + 1) == 1;
        }
        if (type == EthernetHeader.ETH_P_IPV6 && frame.length >= l3 + Ipv6Header.LENGTH + 2
                && Be.u8(s, l3 + Ipv6Header.NEXT_HEADER) == Checksums.PROTO_ICMPV6) {
            int l4 = l3 + Ipv6Header.LENGTH;
            return Be.u8(s, l4) == 3 && Be.u8(s, l4 + 1) == 1;
        }
        return false;
    }

    /** tcpdump-like: "IPv4 10.1.0.2 > 10.2.0.2 ttl 63 id 4660 len 40 tcp 1024 > 80 [S] seq 1 ack 0". */
    public static String describe(byte[] frame) {
        if (frame.length < EthernetHeader.LENGTH) {
            return "runt " + HexFormat.of().formatHex(frame);
        }
        MemorySegment s = MemorySegment.ofArray(frame);
        int type = Be.u16(s, EthernetHeader.ETHER_TYPE);
        int l3 = EthernetHeader.LENGTH;
        StringBuilder d = new StringBuilder();
        int proto;
        int l4;
        int end;
        if (type == EthernetHeader.ETH_P_IP && frame.length >= l3 + Ipv4Header.MIN_LENGTH) {
            Ipv4Header ip = new Ipv4Header().wrap(s, l3);
            d.append("IPv4 ").append(PacketCrafter.Address.v4(ip.source())).append(" > ")
                    .append(PacketCrafter.Address.v4(ip.destination())).append(" ttl ").append(ip.ttl())
                    .append(" id ").append(ip.identification()).append(" len ").append(ip.totalLength());
            if (ip.tos() != 0) {
                d.append(" tos 0x").append(Integer.toHexString(ip.tos()));
            }
            if (ip.isFragment()) {
                d.append(" frag ").append(ip.fragmentOffset() * 8).append(ip.moreFragments() ? "+" : "");
            }
            if (!Checksums.ipv4HeaderValid(s, l3)) {
                d.append(" BAD-IP-CSUM");
            }
            proto = ip.protocol();
            l4 = l3 + ip.headerLength();
            end = Math.min(frame.length, l3 + ip.totalLength());
            if (ip.fragmentOffset() != 0) {
                return d.append(" proto ").append(proto).toString();
            }
        } else if (type == EthernetHeader.ETH_P_IPV6 && frame.length >= l3 + Ipv6Header.LENGTH) {
            Ipv6Header ip = new Ipv6Header().wrap(s, l3);
            d.append("IPv6 ").append(PacketCrafter.Address.v6(ip.sourceHigh(), ip.sourceLow())).append(" > ")
                    .append(PacketCrafter.Address.v6(ip.destinationHigh(), ip.destinationLow())).append(" hlim ")
                    .append(ip.hopLimit()).append(" plen ").append(ip.payloadLength());
            if (ip.trafficClass() != 0) {
                d.append(" tc 0x").append(Integer.toHexString(ip.trafficClass()));
            }
            proto = ip.nextHeader();
            l4 = l3 + Ipv6Header.LENGTH;
            end = Math.min(frame.length, l4 + ip.payloadLength());
            if (proto == Ipv6Header.NEXTHDR_FRAGMENT) {
                return d.append(" frag ").append(Be.u16(s, l4 + 2) & ~7).append((Be.u16(s, l4 + 2) & 1) != 0 ? "+" : "")
                        .toString();
            }
        } else {
            return "ether type 0x" + Integer.toHexString(type) + " " + HexFormat.of().formatHex(frame);
        }
        int n = end - l4;
        switch (proto) {
            case Checksums.PROTO_TCP -> {
                if (n < TcpHeader.MIN_LENGTH) {
                    return d.append(" tcp truncated").toString();
                }
                TcpHeader t = new TcpHeader().wrap(s, l4);
                d.append(" tcp ").append(t.sourcePort()).append(" > ").append(t.destinationPort()).append(" [")
                        .append(flags(t.flags())).append("] seq ").append(t.sequence()).append(" ack ")
                        .append(t.acknowledgment()).append(" win ").append(t.window()).append(" data ")
                        .append(n - t.headerLength());
            }
            case Checksums.PROTO_UDP -> {
                if (n < 8) {
                    return d.append(" udp truncated").toString();
                }
                d.append(" udp ").append(Be.u16(s, l4)).append(" > ").append(Be.u16(s, l4 + 2)).append(" len ")
                        .append(Be.u16(s, l4 + 4));
            }
            case Checksums.PROTO_ICMP, Checksums.PROTO_ICMPV6 -> {
                if (n < 4) {
                    return d.append(" icmp truncated").toString();
                }
                d.append(proto == Checksums.PROTO_ICMP ? " icmp " : " icmp6 ").append(Be.u8(s, l4)).append('/')
                        .append(Be.u8(s, l4 + 1));
                if (n >= 8) {
                    d.append(" id ").append(Be.u16(s, l4 + 4)).append(" seq ").append(Be.u16(s, l4 + 6));
                }
            }
            default -> d.append(" proto ").append(proto);
        }
        return d.toString();
    }

    static String flags(int f) {
        StringBuilder s = new StringBuilder();
        int[] masks = {TcpHeader.FIN, TcpHeader.SYN, TcpHeader.RST, TcpHeader.PSH, TcpHeader.URG, TcpHeader.ECE,
            TcpHeader.CWR};
        String names = "FSRPUEW";
        for (int i = 0; i < masks.length; i++) {
            if ((f & masks[i]) != 0) {
                s.append(names.charAt(i));
            }
        }
        if ((f & TcpHeader.ACK) != 0) {
            s.append('.');
        }
        return s.toString();
    }
}
