package org.jnetfilter.core.classify;

import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Protocols;

/**
 * The fields of one packet that classifiers look up: addresses, transport protocol, ports and
 * devices, read once per walk. The mark is not kept: targets (MARK, CONNMARK) change it during the
 * walk, so lookups read {@link PacketContext#mark()} each time.
 *
 * <p>A packet is <em>regular</em> when no rule's fixed part or indexed match could set hotdrop on
 * it: not a non-first fragment, an upper-layer protocol found, and for the protocols whose ports
 * are indexed the header those matches need (tcp 20 bytes, udp 8, sctp 12, multiport 4). Only
 * regular packets are classified; the others are walked linearly, so a skipped rule can never be
 * one on which the linear walk would have dropped at once.
 *
 * <p>Hot path: one per packet thread (inside the walk state); {@link #load} allocates nothing.
 */
final class PacketKey {
    /** A port of a packet whose protocol has none: outside every indexed range. */
    static final int NO_PORT = -1;

    long srcHi;
    long srcLo;
    long dstHi;
    long dstLo;
    int protocol;
    int sport;
    int dport;
    String in;
    String out;
    int inHash;
    int outHash;

    /** Reads the packet's fields; false when the packet is not regular (see the class comment). */
    boolean load(PacketContext pkt) {
        if (pkt.fragmentOffset() != 0) {
            return false;
        }
        int p = pkt.protocol();
        if (p < 0) {
            return false;
        }
        int header = portHeader(p);
        if (header > 0) {
            if (!pkt.transportAvailable(header)) {
                return false;
            }
            sport = pkt.transportU16(0);
            dport = pkt.transportU16(2);
        } else {
            sport = NO_PORT;
            dport = NO_PORT;
        }
        protocol = p;
        srcHi = pkt.sourceHi();
        srcLo = pkt.sourceLo();
        dstHi = pkt.destinationHi();
        dstLo = pkt.destinationLo();
        in = pkt.inInterface();
        out = pkt.outInterface();
        inHash = in.hashCode();
        outHash = out.hashCode();
        return true;
    }

    /** Re-reads the ports after a target that may have rewritten the transport header. */
    void reloadPorts(PacketContext pkt) {
        if (sport != NO_PORT) {
            sport = pkt.transportU16(0);
            dport = pkt.transportU16(2);
        }
    }

    /**
     * The transport header the indexed port matches read before they can fail without side effect:
     * Linux xt_tcpudp tcp_mt reads 20 bytes (a shorter header is hotdropped), udp_mt 8, xt_sctp 12
     * (the common header), xt_multiport 4 (the two ports) for the other protocols it accepts.
     */
    static int portHeader(int protocol) {
        return switch (protocol) {
            case Protocols.TCP -> 20;
            case Protocols.UDP -> 8;
            case Protocols.SCTP -> 12;
            case Protocols.UDPLITE, Protocols.DCCP -> 4;
            default -> 0;
        };
    }
}
