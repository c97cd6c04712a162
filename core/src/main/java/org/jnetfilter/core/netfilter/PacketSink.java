package org.jnetfilter.core.netfilter;

import java.lang.foreign.MemorySegment;

/**
 * Where the datapath's packets end: frames leaving by an interface, datagrams delivered to the local stack.
 *
 * <p>Called on the packet thread. The segments are views of the datapath's buffers, valid only during the call:
 * copy what you keep.
 */
public interface PacketSink {
    /** A frame leaving by {@code ifname} (dev_queue_xmit), Ethernet header included. Never called for lo. */
    void transmit(String ifname, MemorySegment ethernetFrame);

    /** A datagram that passed INPUT (ip_local_deliver_finish), from its IP header; it arrived on {@code ifname}. */
    void deliverLocal(String ifname, MemorySegment ipPacket);

    /**
     * The same delivery with the IPv4 options the receive path compiled in the datagram ({@code ipv4Options}: what
     * {@link PacketContext#ipv4Options()} holds, decoded by {@link Ipv4Options}; 0 for a datagram without options or
     * an IPv6 one). Linux's local stack answers from them: a closed port's TCP reset (tcp_v4_send_reset, with
     * TCP_SKB_CB(skb)->header.h4.opt), a port unreachable (icmp_send with IPCB(skb)->opt) and an echo reply
     * (icmp_reply) echo the record route, timestamp and source route options
     * ({@link org.jnetfilter.core.reply.Ipv4OptionsEcho}). The datapath calls this form; a sink that has no use for
     * the options implements the other.
     */
    default void deliverLocal(String ifname, MemorySegment ipPacket, int ipv4Options) {
        deliverLocal(ifname, ipPacket);
    }

    /**
     * One packet's path is over, before the next looped-back packet of the backlog is received (the NET_RX softirq
     * between two packets): a local stack answers what it was delivered here, as the kernel's sockets answer while
     * the softirq runs, by {@link Datapath#sendLocal}; what that loops back waits its turn in the backlog.
     */
    default void packetDone() {
    }
}
