package org.jnetfilter.core.bpf;

import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;

/**
 * The part of the kernel's flow dissector (net/core/flow_dissector.c, {@code __skb_flow_dissect}) that classic BPF's
 * payload offset asks for: where the transport header starts ({@code thoff}), which protocol it is, whether the
 * packet is a fragment. It starts at the network header (xt_bpf
 * runs with {@code skb->data} there) with the packet's family and follows, as the kernel does without flags:
 *
 * <pre>
 *   IPv4      ihl &lt; 5 or cut short: bad; a fragment stops it (the first one too: no PARSE_1ST_FRAG)
 *   IPv6      cut short: bad
 *   0/43/60   IPv6 hop-by-hop, routing, destination options: skipped ((len + 1) * 8)
 *   44        IPv6 fragment header: skipped, then stops (first fragment or not)
 *   4, 41     IPv4 / IPv6 inside: dissected again (the inner addresses win)
 *   47        GRE version 0 without routing: 4 bytes, +4 checksum, +4 key, +4 sequence, then IPv4/IPv6 inside
 *             (another protocol: bad); routing or version &gt; 1: stops at the GRE header
 *   others    stop: the transport header
 * </pre>
 * at most 15 headers (MAX_FLOW_DISSECT_HDRS). Not modelled, and refused with a message when met: GRE carrying
 * Ethernet (ETH_P_TEB) or PPP (PPTP, version 1), MPLS (137).
 *
 * <p>Packet thread; one instance per thread (its fields are the result of the last {@link #dissect}); allocates
 * nothing.
 */
final class FlowDissection {
    // Linux: MAX_FLOW_DISSECT_HDRS
    static final int MAX_HEADERS = 15;
    static final int ETH_P_IP = 0x0800;
    static final int ETH_P_IPV6 = 0x86DD;
    static final int ETH_P_TEB = 0x6558;
    // Linux: GRE_CSUM, GRE_ROUTING, GRE_KEY, GRE_SEQ, GRE_VERSION (include/net/gre.h, network order as u16)
    static final int GRE_CSUM = 0x8000;
    static final int GRE_ROUTING = 0x4000;
    static final int GRE_KEY = 0x2000;
    static final int GRE_SEQ = 0x1000;
    static final int GRE_VERSION = 0x0007;

    /** The transport header's offset from the network header (keys->control.thoff). */
    int thoff;
    /** The last protocol found (keys->basic.ip_proto). */
    int ipProto;
    boolean fragment;
    boolean firstFragment;
    /** Whether the last network header dissected was IPv6 (extension headers follow only IPv6). */
    private boolean ipv6;

    /**
     * Dissects {@code pkt}; false when the kernel's dissection fails (FLOW_DISSECT_RET_OUT_BAD: a header cut
     * short, an IPv4 header length below 5, GRE carrying something other than IP).
     */
    boolean dissect(PacketContext pkt) {
        int len = pkt.length();
        int proto = pkt.family() == Family.IPV4 ? ETH_P_IP : ETH_P_IPV6;
        int nhoff = 0;
        int headers = 0;
        thoff = 0;
        ipProto = 0;
        fragment = false;
        firstFragment = false;
        while (true) {
            // the network header of protocol 'proto' at nhoff
            if (proto == ETH_P_IP) {
                if (nhoff + 20 > len) {
                    return false;
                }
                int ihl = u8(pkt, nhoff) & 0x0F;
                if (ihl < 5) {
                    return false;
                }
                ipv6 = false;
                ipProto = u8(pkt, nhoff + 9);
                int frag = u16(pkt, nhoff + 6);
                nhoff += ihl * 4;
                if ((frag & 0x3FFF) != 0) {
                    fragment = true;
                    firstFragment = (frag & 0x1FFF) == 0;
                    return done(nhoff);
                }
            } else {
                if (nhoff + 40 > len) {
                    return false;
                }
                ipv6 = true;
                ipProto = u8(pkt, nhoff + 6);
                nhoff += 40;
            }
            // the headers after it, by ip_proto
            while (true) {
                if (++headers > MAX_HEADERS) {
                    return done(nhoff);
                }
                switch (ipProto) {
                    case 0, 43, 60 -> {
                        if (!ipv6) {
                            return done(nhoff);
                        }
                        if (nhoff + 2 > len) {
                            return false;
                        }
                        int next = u8(pkt, nhoff);
                        nhoff += (u8(pkt, nhoff + 1) + 1) << 3;
                        ipProto = next;
                        continue;
                    }
                    case 44 -> {
                        if (!ipv6) {
                            return done(nhoff);
                        }
                        if (nhoff + 8 > len) {
                            return false;
                        }
                        fragment = true;
                        firstFragment = (u16(pkt, nhoff + 2) & 0xFFF8) == 0;
                        ipProto = u8(pkt, nhoff);
                        return done(nhoff + 8);
                    }
                    case 4 -> proto = ETH_P_IP;
                    case 41 -> proto = ETH_P_IPV6;
                    case 47 -> {
                        if (nhoff + 4 > len) {
                            return false;
                        }
                        int flags = u16(pkt, nhoff);
                        if ((flags & GRE_ROUTING) != 0 || (flags & GRE_VERSION) > 1) {
                            return done(nhoff);
                        }
                        int inner = u16(pkt, nhoff + 2);
                        if ((flags & GRE_VERSION) == 1) {
                            throw new UnsupportedOperationException("no packet semantics yet: the flow dissector "
                                    + "inside GRE version 1 (PPTP)");
                        }
                        int offset = 4;
                        if ((flags & GRE_CSUM) != 0) {
                            offset += 4;
                        }
                        if ((flags & GRE_KEY) != 0) {
                            if (nhoff + offset + 4 > len) {
                                return false;
                            }
                            offset += 4;
                        }
                        if ((flags & GRE_SEQ) != 0) {
                            offset += 4;
                        }
                        nhoff += offset;
                        if (inner == ETH_P_TEB) {
                            throw new UnsupportedOperationException("no packet semantics yet: the flow dissector "
                                    + "inside GRE carrying Ethernet (ETH_P_TEB)");
                        }
                        if (inner != ETH_P_IP && inner != ETH_P_IPV6) {
                            return false;
                        }
                        proto = inner;
                    }
                    case 137 -> throw new UnsupportedOperationException("no packet semantics yet: the flow dissector "
                            + "inside MPLS");
                    default -> {
                        return done(nhoff);
                    }
                }
                break;
            }
            // Linux: skb_flow_dissect_allowed before dissecting the inner network header
            if (++headers > MAX_HEADERS) {
                return done(nhoff);
            }
        }
    }

    private boolean done(int nhoff) {
        thoff = Math.min(nhoff, 0xFFFF);
        return true;
    }

    /**
     * __skb_get_poff: the payload's offset from the network header: the transport header's offset plus its length
     * (TCP: its data offset, at least 20; UDP, UDP-Lite, ICMP, ICMPv6, IGMP 8; DCCP and SCTP 12; others 0), only
     * the transport header's offset for a fragment other than the first; 0 when the dissection fails.
     */
    static long payloadOffset(FlowDissection d, PacketContext pkt) {
        if (!d.dissect(pkt)) {
            return 0;
        }
        int poff = d.thoff;
        if (d.fragment && !d.firstFragment) {
            return poff;
        }
        return switch (d.ipProto) {
            case 6 -> {
                if (poff + 13 > pkt.length()) {
                    yield poff;
                }
                yield poff + Math.max(20, (u8(pkt, poff + 12) & 0xF0) >>> 2);
            }
            case 17, 136, 1, 58, 2 -> poff + 8;
            case 33, 132 -> poff + 12;
            default -> poff;
        };
    }

    static int u8(PacketContext pkt, int at) {
        return pkt.networkU8(at);
    }

    static int u16(PacketContext pkt, int at) {
        return pkt.networkU16(at);
    }

    static long u32(PacketContext pkt, int at) {
        return ((long) pkt.networkU16(at) << 16) | pkt.networkU16(at + 2);
    }

}
