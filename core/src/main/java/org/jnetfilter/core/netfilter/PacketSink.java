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
}
