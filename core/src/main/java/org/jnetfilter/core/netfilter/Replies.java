package org.jnetfilter.core.netfilter;

import java.lang.foreign.MemorySegment;

/**
 * The packets the path generates, built by the reply builders (org.jnetfilter.core.reply: RejectReplies,
 * IcmpErrors); the {@link Datapath} sends what they return through ip_local_out (OUTPUT, routing, POSTROUTING).
 *
 * <p>Each method gets the offending packet as it is at that point (its interfaces, hook, mark, clock and host on
 * {@code pkt}) and returns a whole IP datagram, source address chosen, or null when Linux sends nothing (an error
 * about an ICMP error, a non-first fragment, a rate limit, no reply builder). Called on the packet thread; the
 * returned segment is copied before the next call.
 */
public interface Replies {
    /** No builder: nothing is generated (REJECT still drops, errors are still counted as drops). */
    Replies NONE = new Replies() {
        @Override
        public MemorySegment reject(PacketContext pkt, int rejectWith) {
            return null;
        }

        @Override
        public MemorySegment icmpError(PacketContext pkt, int type, int code, long info) {
            return null;
        }
    };

    /** The reply of a REJECT with {@code rejectWith} ({@link PacketContext#rejectWith()}): a TCP RST or ICMP error. */
    MemorySegment reject(PacketContext pkt, int rejectWith);

    /**
     * icmp_send (IPv4) or icmp6_send (IPv6) of {@code type}/{@code code}; {@code info} is the next-hop MTU of
     * fragmentation needed / packet too big, the gateway (IPv4, 32 bits) of a redirect, else 0.
     */
    MemorySegment icmpError(PacketContext pkt, int type, int code, long info);
}
