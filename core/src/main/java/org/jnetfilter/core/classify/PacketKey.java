package org.jnetfilter.core.classify;

import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Protocols;

/**
 * The fields of one packet that classifiers look up: addresses, transport protocol, ports,
 * devices and conntrack state, read once per walk (addresses, ports and state again after a target). The mark is not kept: targets (MARK, CONNMARK) change it during the
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
    /** The packet's conntrack state as the conntrack match sees it (XT_CONNTRACK_STATE_* bits). */
    int ctState;
    /** The same as the state match sees it (XT_STATE_* bits: UNTRACKED is another bit). */
    int state;
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
        loadState(pkt);
        return true;
    }

    // Linux: XT_STATE_BIT(ctinfo) = 1 << (ctinfo % IP_CT_IS_REPLY + 1), XT_STATE_INVALID = 1 << 0,
    // XT_STATE_UNTRACKED = 1 << (IP_CT_NUMBER + 1); xt_conntrack adds XT_CONNTRACK_STATE_SNAT 1 << 6,
    // _DNAT 1 << 7 from the entry's status and has its own XT_CONNTRACK_STATE_UNTRACKED 1 << 8
    static final int STATE_INVALID = 1;
    static final int STATE_UNTRACKED = 1 << 6;
    static final int CT_STATE_SNAT = 1 << 6;
    static final int CT_STATE_DNAT = 1 << 7;
    static final int CT_STATE_UNTRACKED = 1 << 8;

    /**
     * The state bits of xt_state's state_mt and xt_conntrack's conntrack_mt, read again after every
     * target (CT --notrack, NOTRACK change them).
     */
    void loadState(PacketContext pkt) {
        Connection ct = pkt.conntrack();
        if (ct != null) {
            state = 1 << (pkt.ctInfo() % CtInfo.IS_REPLY + 1);
            ctState = state;
            if (ct.hasStatus(Connection.SRC_NAT)) {
                ctState |= CT_STATE_SNAT;
            }
            if (ct.hasStatus(Connection.DST_NAT)) {
                ctState |= CT_STATE_DNAT;
            }
        } else if (pkt.untracked()) {
            state = STATE_UNTRACKED;
            ctState = CT_STATE_UNTRACKED;
        } else {
            state = STATE_INVALID;
            ctState = STATE_INVALID;
        }
    }

    /** Re-reads the addresses after a target that may have rewritten them in place (SNPT, DNPT). */
    void reloadAddresses(PacketContext pkt) {
        srcHi = pkt.sourceHi();
        srcLo = pkt.sourceLo();
        dstHi = pkt.destinationHi();
        dstLo = pkt.destinationLo();
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
