package org.jnetfilter.core.reply;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.host.RouteResult;
import org.jnetfilter.core.rules.Family;

/**
 * A packet the kernel generates in answer to another (a TCP reset, an ICMP or ICMPv6 error): a complete IP
 * datagram, checksums filled in, ready for the OUTPUT hook ({@code ip_local_out} / {@code ip6_local_out}).
 *
 * @param datagram the IP datagram, header first, exactly its length
 * @param route the output route the kernel chose for it (device, gateway, source): the pipeline may route
 *     again after OUTPUT as {@code ip_route_me_harder} does when a rule changed the packet
 * @param mark {@code skb->mark}: 0 unless {@code fwmark_reflect} copies the original's (IP4_REPLY_MARK)
 * @param relatedTo the original's conntrack entry ({@code nf_ct_attach}): the reply is tracked as related
 *     to it; null when the original had none
 */
public record Reply(Family family, MemorySegment datagram, RouteResult route, long mark, Connection relatedTo) {
    public int length() {
        return (int) datagram.byteSize();
    }
}
