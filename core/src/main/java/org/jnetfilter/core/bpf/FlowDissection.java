package org.jnetfilter.core.bpf;

import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;

/**
 * The part of the kernel's flow dissector (net/core/flow_dissector.c, {@code __skb_flow_dissect}) that classic BPF's
 * payload offset asks for: where the transport header starts ({@code thoff}), which protocol it is, whether the
 * packet is a fragment. It starts at the network header (xt_bpf runs with {@code skb->data} there) with the
 * packet's family and follows, as the kernel does with the basic keys only and no flags, two switches:
 *
 * <pre>
 *   by network protocol (proto_again)
 *   IPv4          ihl &lt; 5 or cut short: bad; a fragment stops it (the first one too: no PARSE_1ST_FRAG)
 *   IPv6          cut short: bad
 *   802.1Q/802.1ad  4 bytes, then the protocol inside
 *   PPPoE session 8 bytes; version and type 1, code 0, else bad; PPP IP, IPv6, MPLS: again; another valid
 *                 PPP protocol (first byte even, last odd) stops it; an invalid one (a compressed one too) is bad
 *   MPLS          stops after one label stack entry (4 bytes): no MPLS keys asked
 *   ARP, RARP, CFM, TIPC (16 bytes readable)  stop at their header
 *   FCoE          38 bytes readable: stops after them
 *   B.A.T.M.A.N.  unicast of compat version 15: 10 + 14 bytes, then the Ethernet type; else bad
 *   others        bad
 *
 *   by IP protocol (ip_proto_again)
 *   0/43/60   IPv6 hop-by-hop, routing, destination options: skipped ((len + 1) * 8)
 *   44        IPv6 fragment header: skipped, then stops (first fragment or not)
 *   4, 41     IPv4 / IPv6 inside: dissected again (the inner addresses win)
 *   137       MPLS inside
 *   47        GRE with routing or version &gt; 1: stops at the GRE header. Version 0: 4 bytes, +4 checksum, +4
 *             key (readable), +4 sequence, then its protocol type; Ethernet (TEB) adds its 14-byte header and
 *             gives its type (so TEB inside TEB is bad: the first switch has no TEB). Version 1 (PPTP): only
 *             PPP with a key is followed (else stops at the GRE header), +4 acknowledgment, then a 4-byte PPP
 *             header whose protocol IP or IPv6 is followed; another leaves the PPP type, which is bad
 *   others    stop: the transport header
 * </pre>
 * at most 15 headers (MAX_FLOW_DISSECT_HDRS) counted by skb_flow_dissect_allowed. The transport offset is
 * {@code min_t(u16, nhoff, len)}. Not modelled: a VLAN tag the driver took out of the frame (the kernel then reads
 * the first 802.1Q header's protocol from the packet's metadata; a packet here carries its tags in its bytes).
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
    static final int ETH_P_ARP = 0x0806;
    static final int ETH_P_RARP = 0x8035;
    static final int ETH_P_8021Q = 0x8100;
    static final int ETH_P_8021AD = 0x88A8;
    static final int ETH_P_PPP_SES = 0x8864;
    static final int ETH_P_MPLS_UC = 0x8847;
    static final int ETH_P_MPLS_MC = 0x8848;
    static final int ETH_P_TIPC = 0x88CA;
    static final int ETH_P_FCOE = 0x8906;
    static final int ETH_P_BATMAN = 0x4305;
    static final int ETH_P_CFM = 0x8902;
    // Linux: GRE_PROTO_PPP; PPP_IP, PPP_IPV6, PPP_MPLS_UC, PPP_MPLS_MC (include/uapi/linux/ppp_defs.h)
    static final int GRE_PROTO_PPP = 0x880B;
    static final int PPP_IP = 0x21;
    static final int PPP_IPV6 = 0x57;
    static final int PPP_MPLS_UC = 0x281;
    static final int PPP_MPLS_MC = 0x283;
    // Linux: PPPOE_SES_HLEN = 8, FCOE_HEADER_LEN = 38, BATADV_UNICAST = 0x40, BATADV_COMPAT_VERSION = 15
    static final int PPPOE_SES_HLEN = 8;
    static final int FCOE_HEADER_LEN = 38;
    static final int BATADV_UNICAST = 0x40;
    static final int BATADV_COMPAT_VERSION = 15;
    // Linux: GRE_CSUM, GRE_ROUTING, GRE_KEY, GRE_SEQ, GRE_ACK, GRE_VERSION (include/net/gre.h, network order as u16)
    static final int GRE_CSUM = 0x8000;
    static final int GRE_ROUTING = 0x4000;
    static final int GRE_KEY = 0x2000;
    static final int GRE_SEQ = 0x1000;
    static final int GRE_ACK = 0x0080;
    static final int GRE_VERSION = 0x0007;

    /** The transport header's offset from the network header (keys->control.thoff). */
    int thoff;
    /** The last protocol found (keys->basic.ip_proto). */
    int ipProto;
    boolean fragment;
    boolean firstFragment;

    // the outcomes of a step, as enum flow_dissect_ret
    private static final int OUT_GOOD = 0;
    private static final int OUT_BAD = 1;
    private static final int PROTO_AGAIN = 2;
    private static final int IPPROTO_AGAIN = 3;
    private static final int CONTINUE = 4;

    // the state one step hands to the next
    private int proto;
    private int nhoff;

    /**
     * Dissects {@code pkt}; false when the kernel's dissection fails (FLOW_DISSECT_RET_OUT_BAD: a header cut
     * short, an IPv4 header length below 5, a network protocol it does not know).
     */
    boolean dissect(PacketContext pkt) {
        int len = pkt.length();
        proto = pkt.family() == Family.IPV4 ? ETH_P_IP : ETH_P_IPV6;
        nhoff = 0;
        int headers = 0;
        thoff = 0;
        ipProto = 0;
        fragment = false;
        firstFragment = false;
        while (true) {
            int ret = network(pkt, len);
            if (ret == OUT_BAD) {
                return done(false, len);
            }
            if (ret == OUT_GOOD) {
                return done(true, len);
            }
            if (ret == PROTO_AGAIN) {
                if (++headers > MAX_HEADERS) {
                    return done(true, len);
                }
                continue;
            }
            // the headers after a network header, by ip_proto
            while (true) {
                ret = transport(pkt, len);
                if (ret == IPPROTO_AGAIN) {
                    if (++headers > MAX_HEADERS) {
                        return done(true, len);
                    }
                    continue;
                }
                break;
            }
            if (ret == OUT_BAD) {
                return done(false, len);
            }
            if (ret != PROTO_AGAIN || ++headers > MAX_HEADERS) {
                return done(true, len);
            }
        }
    }

    /** The switch on the network protocol {@code proto} at {@code nhoff}. */
    private int network(PacketContext pkt, int len) {
        while (true) {
            switch (proto) {
                case ETH_P_IP -> {
                    if (nhoff + 20 > len) {
                        return OUT_BAD;
                    }
                    int ihl = u8(pkt, nhoff) & 0x0F;
                    if (ihl < 5) {
                        return OUT_BAD;
                    }
                    ipProto = u8(pkt, nhoff + 9);
                    int frag = u16(pkt, nhoff + 6);
                    nhoff += ihl * 4;
                    if ((frag & 0x3FFF) != 0) {
                        fragment = true;
                        firstFragment = (frag & 0x1FFF) == 0;
                        return OUT_GOOD;
                    }
                    return CONTINUE;
                }
                case ETH_P_IPV6 -> {
                    if (nhoff + 40 > len) {
                        return OUT_BAD;
                    }
                    ipProto = u8(pkt, nhoff + 6);
                    nhoff += 40;
                    return CONTINUE;
                }
                case ETH_P_8021Q, ETH_P_8021AD -> {
                    if (nhoff + 4 > len) {
                        return OUT_BAD;
                    }
                    proto = u16(pkt, nhoff + 2);
                    nhoff += 4;
                    return PROTO_AGAIN;
                }
                case ETH_P_PPP_SES -> {
                    return pppoe(pkt, len);
                }
                case ETH_P_MPLS_UC, ETH_P_MPLS_MC -> {
                    // Linux: __skb_flow_dissect_mpls is OUT_GOOD without MPLS keys; the label is counted all the same
                    nhoff += 4;
                    return OUT_GOOD;
                }
                case ETH_P_TIPC -> {
                    return nhoff + 16 > len ? OUT_BAD : OUT_GOOD;
                }
                case ETH_P_FCOE -> {
                    if (len - nhoff < FCOE_HEADER_LEN) {
                        return OUT_BAD;
                    }
                    nhoff += FCOE_HEADER_LEN;
                    return OUT_GOOD;
                }
                case ETH_P_ARP, ETH_P_RARP, ETH_P_CFM -> {
                    return OUT_GOOD;
                }
                case ETH_P_BATMAN -> {
                    if (nhoff + 24 > len || u8(pkt, nhoff + 1) != BATADV_COMPAT_VERSION
                            || u8(pkt, nhoff) != BATADV_UNICAST) {
                        return OUT_BAD;
                    }
                    proto = u16(pkt, nhoff + 22);
                    nhoff += 24;
                    return PROTO_AGAIN;
                }
                default -> {
                    return OUT_BAD;
                }
            }
        }
    }

    /** PPPoE session: version 1, type 1, code 0, then the 2-byte PPP protocol (Linux 6.18 takes none compressed). */
    private int pppoe(PacketContext pkt, int len) {
        if (nhoff + PPPOE_SES_HLEN > len) {
            return OUT_BAD;
        }
        if (u8(pkt, nhoff) != 0x11 || u8(pkt, nhoff + 1) != 0) {
            return OUT_BAD;
        }
        int ppp = u16(pkt, nhoff + 6);
        nhoff += PPPOE_SES_HLEN;
        switch (ppp) {
            case PPP_IP -> proto = ETH_P_IP;
            case PPP_IPV6 -> proto = ETH_P_IPV6;
            case PPP_MPLS_UC -> proto = ETH_P_MPLS_UC;
            case PPP_MPLS_MC -> proto = ETH_P_MPLS_MC;
            default -> {
                // Linux: ppp_proto_is_valid: the first byte even, the last odd
                return (ppp & 0x0101) == 0x0001 ? OUT_GOOD : OUT_BAD;
            }
        }
        return PROTO_AGAIN;
    }

    /** The switch on the IP protocol {@code ipProto} at {@code nhoff}. */
    private int transport(PacketContext pkt, int len) {
        switch (ipProto) {
            case 0, 43, 60 -> {
                if (proto != ETH_P_IPV6) {
                    return CONTINUE;
                }
                if (nhoff + 2 > len) {
                    return OUT_BAD;
                }
                int next = u8(pkt, nhoff);
                nhoff += (u8(pkt, nhoff + 1) + 1) << 3;
                ipProto = next;
                return IPPROTO_AGAIN;
            }
            case 44 -> {
                if (proto != ETH_P_IPV6) {
                    return CONTINUE;
                }
                if (nhoff + 8 > len) {
                    return OUT_BAD;
                }
                fragment = true;
                firstFragment = (u16(pkt, nhoff + 2) & 0xFFF8) == 0;
                ipProto = u8(pkt, nhoff);
                nhoff += 8;
                return OUT_GOOD;
            }
            case 4 -> {
                proto = ETH_P_IP;
                return PROTO_AGAIN;
            }
            case 41 -> {
                proto = ETH_P_IPV6;
                return PROTO_AGAIN;
            }
            case 137 -> {
                proto = ETH_P_MPLS_UC;
                return PROTO_AGAIN;
            }
            case 47 -> {
                return gre(pkt, len);
            }
            default -> {
                return CONTINUE;
            }
        }
    }

    /** __skb_flow_dissect_gre. */
    private int gre(PacketContext pkt, int len) {
        if (nhoff + 4 > len) {
            return OUT_BAD;
        }
        int flags = u16(pkt, nhoff);
        if ((flags & GRE_ROUTING) != 0 || (flags & GRE_VERSION) > 1) {
            return OUT_GOOD;
        }
        int version = flags & GRE_VERSION;
        int inner = u16(pkt, nhoff + 2);
        if (version == 1 && (inner != GRE_PROTO_PPP || (flags & GRE_KEY) == 0)) {
            // Linux: version 1 must be PPTP: PPP with a key
            return OUT_GOOD;
        }
        proto = inner;
        int offset = 4;
        if ((flags & GRE_CSUM) != 0) {
            offset += 4;
        }
        if ((flags & GRE_KEY) != 0) {
            if (nhoff + offset + 4 > len) {
                return OUT_BAD;
            }
            offset += 4;
        }
        if ((flags & GRE_SEQ) != 0) {
            offset += 4;
        }
        if (version == 0 && inner == ETH_P_TEB) {
            // the Ethernet header is read here, in the GRE step: its type is the next network protocol
            if (nhoff + offset + 14 > len) {
                return OUT_BAD;
            }
            proto = u16(pkt, nhoff + offset + 12);
            offset += 14;
        }
        if (version == 1) {
            if ((flags & GRE_ACK) != 0) {
                offset += 4;
            }
            if (nhoff + offset + 4 > len) {
                return OUT_BAD;
            }
            int ppp = u16(pkt, nhoff + offset + 2);
            if (ppp == PPP_IP) {
                proto = ETH_P_IP;
            } else if (ppp == PPP_IPV6) {
                proto = ETH_P_IPV6;
            }
            offset += 4;
        }
        nhoff += offset;
        return PROTO_AGAIN;
    }

    /** The out label: thoff = min_t(u16, nhoff, skb->len). */
    private boolean done(boolean good, int len) {
        thoff = Math.min(nhoff & 0xFFFF, len & 0xFFFF);
        return good;
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
