package org.jnetfilter.core.conntrack;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.packet.Checksums;

/**
 * nf_checksum for the trackers' error checks: whether the transport checksum of the loaded packet verifies
 * (IPv4 UDP without a checksum does). Packet thread; allocates nothing.
 */
final class Checksum {
    private Checksum() {
    }

    /**
     * nf_checksum on receipt: whether the transport checksum verifies; when it does, Linux keeps the verdict with the
     * packet (__skb_checksum_complete sets csum_valid), which REJECT reads later ({@link PacketContext#checksumVerified}).
     */
    static boolean verifiedOnReceipt(PacketContext pkt) {
        boolean valid = transportValid(pkt);
        if (valid) {
            pkt.checksumVerified(true);
        }
        return valid;
    }

    static boolean transportValid(PacketContext pkt) {
        MemorySegment s = pkt.segment();
        long ip = pkt.networkOffset();
        long l4 = ip + pkt.transportOffset();
        int len = pkt.length() - pkt.transportOffset();
        boolean v4 = pkt.family() == Family.IPV4;
        int src = (int) pkt.sourceLo();
        int dst = (int) pkt.destinationLo();
        return switch (pkt.protocol()) {
            case Protocol.TCP -> v4 ? Checksums.tcpV4Valid(s, l4, len, src, dst) : Checksums.tcpV6Valid(s, ip, l4, len);
            case Protocol.UDP -> v4 ? Checksums.udpV4Valid(s, l4, len, src, dst) : Checksums.udpV6Valid(s, ip, l4, len);
            case Protocol.UDPLITE -> v4 ? Checksums.udpLiteV4Valid(s, l4, len, src, dst)
                    : Checksums.udpLiteV6Valid(s, ip, l4, len);
            case Protocol.ICMP -> Checksums.icmpValid(s, l4, len);
            case Protocol.ICMPV6 -> Checksums.icmpv6Valid(s, ip, l4, len);
            default -> true;
        };
    }
}
