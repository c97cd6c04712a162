package org.jnetfilter.core.netfilter;

import org.jnetfilter.core.conntrack.Connection;

/**
 * What a packet carries beside its bytes (the {@code sk_buff} fields the hooks see) while it waits to be handled
 * again: a looped-back packet in the {@link Backlog} (loopback_xmit keeps the whole skb), a decapsulated one queued
 * by netif_rx, a bridged packet kept for each of br_flood's clones. {@link #keep} takes every field from the packet,
 * {@link #applyTo} puts them back after the bytes were loaded (a load clears them); what a path changes on the way
 * (eth_type_trans on lo, skb_scrub_packet) is changed here between the two.
 *
 * <p>Packet thread only; holders are recycled by their owner: nothing here allocates.
 */
final class KeptPacketState {
    long mark;
    Connection conntrack;
    int ctInfo;
    boolean untracked;
    long priority;
    long secmark;
    boolean traced;
    int packetType;
    long macSource;
    boolean checksumVerified;
    // "" for a packet br_netfilter never saw; null is never kept
    String physIn;
    boolean bridged;

    /** Takes every field from {@code pkt}. */
    KeptPacketState keep(PacketContext pkt) {
        mark = pkt.mark();
        conntrack = pkt.conntrack();
        ctInfo = pkt.ctInfo();
        untracked = pkt.untracked();
        priority = pkt.priority();
        secmark = pkt.secmark();
        traced = pkt.traced();
        packetType = pkt.packetType();
        macSource = pkt.macSource();
        checksumVerified = pkt.checksumVerified();
        physIn = pkt.physInInterface();
        bridged = pkt.bridged();
        return this;
    }

    /** Puts the kept fields on {@code pkt}, whose bytes were just loaded. */
    void applyTo(PacketContext pkt) {
        pkt.mark(mark).conntrack(conntrack, ctInfo).untracked(untracked).priority(priority).secmark(secmark)
                .traced(traced).packetType(packetType).macSource(macSource).checksumVerified(checksumVerified);
        if (bridged) {
            pkt.physdev(physIn, "");
        }
    }

    /**
     * Received on lo after loopback_xmit: eth_type_trans finds lo's all-zero destination, PACKET_HOST; lo is not an
     * Ethernet device (ARPHRD_LOOPBACK), so no MAC source; the rest of the skb goes through as it was (Linux 6.18
     * keeps the nftrace bit, the secmark, the mark, the priority and the conntrack entry: checked with TRACE).
     */
    KeptPacketState receivedOnLoopback() {
        packetType = PacketContext.PACKET_HOST;
        macSource = -1;
        checksumVerified = false;
        bridged = false;
        physIn = "";
        return this;
    }

    /**
     * skb_scrub_packet within the namespace (xnet false), as __skb_tunnel_rx calls it for a decapsulated packet:
     * PACKET_HOST, the conntrack entry and the nftrace bit dropped (nf_reset_ct, nf_reset_trace); the mark, the
     * priority and the secmark stay. The inner packet is received anew: no MAC source, checksums to verify.
     */
    KeptPacketState scrubbed() {
        receivedOnLoopback();
        conntrack = null;
        ctInfo = org.jnetfilter.core.conntrack.CtInfo.UNTRACKED;
        untracked = false;
        traced = false;
        return this;
    }

    /** Drops the references (a recycled holder keeps no connection alive). */
    void clear() {
        conntrack = null;
        physIn = "";
    }
}
