package org.jnetfilter.core.netfilter;

import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.reply.IcmpErrors;
import org.jnetfilter.core.reply.RejectReplies;
import org.jnetfilter.core.reply.Reply;

/**
 * The packets the path generates: REJECT replies and the ICMP errors of the path (time exceeded, fragmentation
 * needed, unreachables, redirects). The {@link Datapath} sends what they return through ip_local_out (OUTPUT,
 * routing, POSTROUTING), with the reply's mark and attached to the original's connection as related.
 *
 * <p>Each method gets the offending packet as it is at that point (its interfaces, hook, mark, clock and host on
 * {@code pkt}) and returns the reply, or null when Linux sends nothing (an error about an ICMP error, a non-first
 * fragment, a rate limit). Called on the packet thread; the reply's bytes are copied before the next call.
 */
public interface Replies {
    /** Nothing is ever generated (REJECT still drops, errors still drop the packet). */
    Replies NONE = new Replies() {
        @Override
        public Reply reject(PacketContext pkt, int rejectWith) {
            return null;
        }

        @Override
        public Reply icmpError(PacketContext pkt, int type, int code, int info) {
            return null;
        }
    };

    /**
     * What the kernel sends: {@link RejectReplies} (nf_reject_ipv4/ipv6) and {@link IcmpErrors} (icmp_send,
     * icmp6_send, with their rate limits) on {@code host}; {@code flowLabelSeed} seeds IPv6 flow labels.
     */
    static Replies kernel(Host host, long flowLabelSeed) {
        return kernel(new IcmpErrors(host, flowLabelSeed));
    }

    /** What the kernel sends, through {@code icmp} (its sysctls set as a test or embedder wants them). */
    static Replies kernel(IcmpErrors icmp) {
        RejectReplies reject = new RejectReplies(icmp);
        return new Replies() {
            @Override
            public Reply reject(PacketContext pkt, int rejectWith) {
                return reject.reply(pkt, rejectWith);
            }

            @Override
            public Reply icmpError(PacketContext pkt, int type, int code, int info) {
                return icmp.send(pkt, type, code, info);
            }

            @Override
            public Reply redirect6(PacketContext pkt, IpAddress target) {
                return icmp.ndiscRedirect(pkt, target);
            }

            @Override
            public boolean ipErrorAllowed(PacketContext pkt) {
                return icmp.ipErrorAllow(pkt);
            }
        };
    }

    /** The reply of a REJECT with {@code rejectWith} ({@link PacketContext#rejectWith()}): a TCP RST or ICMP error. */
    Reply reject(PacketContext pkt, int rejectWith);

    /**
     * icmp_send (IPv4) or icmp6_send (IPv6) of {@code type}/{@code code}; {@code info} is the next-hop MTU of
     * fragmentation needed / packet too big, the gateway (IPv4) of a redirect, else 0.
     */
    Reply icmpError(PacketContext pkt, int type, int code, int info);

    /**
     * ip_error's limit on the unreachable it is about to send for the IPv4 packet {@code pkt} (its source's inet_peer,
     * shared with the per-destination limit of the ICMP errors: {@link IcmpErrors#ipErrorAllow}); true, no limit,
     * unless implemented.
     */
    default boolean ipErrorAllowed(PacketContext pkt) {
        return true;
    }

    /**
     * ndisc_send_redirect: the ICMPv6 redirect about a forwarded packet that leaves by the interface it came in on,
     * toward {@code target} (the route's gateway or the destination). Nothing unless implemented.
     */
    default Reply redirect6(PacketContext pkt, IpAddress target) {
        return null;
    }
}
