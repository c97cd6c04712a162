package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;

/**
 * Walks the IPv6 extension header chain (RFC 8200 section 4) to the upper-layer header, the
 * way ip6tables finds the protocol for {@code -p} (Linux: ipv6_find_hdr with target -1, and
 * ipv6_skip_exthdr).
 *
 * <pre>
 * Generic extension header (hop-by-hop, routing, destination options):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Header  |  Hdr Ext Len  |  (type-specific data ...)     |   length = (Hdr Ext Len + 1) * 8
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Routing header (RFC 8200 4.4):
 * |  Next Header  |  Hdr Ext Len  |  Routing Type | Segments Left |
 * Fragment header (RFC 8200 4.5), always 8 bytes:
 * |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
 * |                         Identification                        |
 * Authentication header (RFC 4302), length = (Payload Len + 2) * 4:
 * |  Next Header  |  Payload Len  |          RESERVED             |
 * |                 Security Parameters Index (SPI)               |
 * </pre>
 *
 * <p>The walk ends at the first header that is not an extension header; ESP (50) ends it too,
 * since what follows is encrypted, and so does No Next Header (59). In a non-first fragment
 * (fragment offset != 0) it stops after the fragment header: the protocol is the fragment's Next
 * Header, but no transport header is present, which is what ip6tables' {@code fragoff} means.
 *
 * <p>Offsets are relative to the start of the IPv6 header.
 *
 * <p>Hot path: one instance per packet thread, reused by {@link #walk}; no allocation, never
 * throws for bytes inside {@code packetLength}. The chain is bounded by the packet length since
 * every header advances at least 8 bytes.
 */
public final class Ipv6HeaderChain {
    /** Fragment header fields, relative to the fragment header. */
    public static final int FRAG_NEXT_HEADER = 0;
    public static final int FRAG_OFFSET_FLAGS = 2;
    public static final int FRAG_IDENTIFICATION = 4;
    public static final int FRAG_LENGTH = 8;
    /** Routing header fields, relative to the routing header. */
    public static final int RT_TYPE = 2;
    public static final int RT_SEGMENTS_LEFT = 3;
    /** AH fields, relative to the AH. */
    public static final int AH_SPI = 4;

    /** Linux ip6t_ipv6header masks (include/uapi/linux/netfilter_ipv6/ip6t_ipv6header.h). */
    public static final int MASK_HOPOPTS = 128;
    public static final int MASK_DSTOPTS = 64;
    public static final int MASK_ROUTING = 32;
    public static final int MASK_FRAGMENT = 16;
    public static final int MASK_AH = 8;
    public static final int MASK_ESP = 4;
    public static final int MASK_NONE = 2;
    public static final int MASK_PROTO = 1;

    public enum Status { OK, TRUNCATED }

    private Status status = Status.OK;
    private int protocol;
    private int transportOffset;
    private int headersSeen;
    private int headerCount;
    private boolean hopByHopMisplaced;
    private int fragmentHeaderOffset;
    private int fragmentWord;
    private long fragmentId;
    private int routingHeaderOffset;
    private int routingType;
    private int segmentsLeft;

    /**
     * Walks the chain of the IPv6 packet at {@code ipv6Offset} whose bytes end at
     * {@code ipv6Offset + packetLength}. Returns {@link Status#TRUNCATED} when an extension header
     * runs past the end; the other fields then describe the walk so far.
     */
    public Status walk(MemorySegment s, long ipv6Offset, int packetLength) {
        reset();
        if (packetLength < Ipv6Header.LENGTH) {
            return status = Status.TRUNCATED;
        }
        int next = NetworkOrder.u8(s, ipv6Offset + Ipv6Header.NEXT_HEADER);
        int at = Ipv6Header.LENGTH;
        while (isExtension(next)) {
            if (at + 8 > packetLength) {
                // Every extension header is at least 8 bytes long.
                return stop(next, at, Status.TRUNCATED);
            }
            if (next == Ipv6Header.NEXTHDR_HOP && headerCount > 0) {
                hopByHopMisplaced = true;
            }
            headerCount++;
            long base = ipv6Offset + at;
            int length;
            switch (next) {
                case Ipv6Header.NEXTHDR_FRAGMENT -> {
                    headersSeen |= MASK_FRAGMENT;
                    fragmentHeaderOffset = at;
                    fragmentWord = NetworkOrder.u16(s, base + FRAG_OFFSET_FLAGS);
                    fragmentId = NetworkOrder.u32(s, base + FRAG_IDENTIFICATION);
                    length = FRAG_LENGTH;
                    if (fragmentOffset() != 0) {
                        return stop(NetworkOrder.u8(s, base), at + length, Status.OK);
                    }
                }
                case Ipv6Header.NEXTHDR_AUTH -> {
                    headersSeen |= MASK_AH;
                    length = (NetworkOrder.u8(s, base + 1) + 2) << 2;
                }
                case Ipv6Header.NEXTHDR_ROUTING -> {
                    headersSeen |= MASK_ROUTING;
                    routingHeaderOffset = at;
                    routingType = NetworkOrder.u8(s, base + RT_TYPE);
                    segmentsLeft = NetworkOrder.u8(s, base + RT_SEGMENTS_LEFT);
                    length = (NetworkOrder.u8(s, base + 1) + 1) << 3;
                }
                default -> {
                    headersSeen |= next == Ipv6Header.NEXTHDR_HOP ? MASK_HOPOPTS : MASK_DSTOPTS;
                    length = (NetworkOrder.u8(s, base + 1) + 1) << 3;
                }
            }
            if (at + length > packetLength) {
                return stop(next, at, Status.TRUNCATED);
            }
            next = NetworkOrder.u8(s, base);
            at += length;
        }
        if (next == Ipv6Header.NEXTHDR_ESP) {
            headersSeen |= MASK_ESP;
        } else if (next == Ipv6Header.NEXTHDR_NONE) {
            headersSeen |= MASK_NONE;
        } else {
            headersSeen |= MASK_PROTO;
        }
        return stop(next, at, Status.OK);
    }

    private Status stop(int protocol, int at, Status result) {
        this.protocol = protocol;
        this.transportOffset = at;
        return this.status = result;
    }

    private void reset() {
        status = Status.OK;
        protocol = -1;
        transportOffset = -1;
        headersSeen = 0;
        headerCount = 0;
        hopByHopMisplaced = false;
        fragmentHeaderOffset = -1;
        fragmentWord = 0;
        fragmentId = 0;
        routingHeaderOffset = -1;
        routingType = -1;
        segmentsLeft = -1;
    }

    /** Linux: ipv6_ext_hdr minus NEXTHDR_NONE, which ends a walk like an upper layer. */
    public static boolean isExtension(int nextHeader) {
        return nextHeader == Ipv6Header.NEXTHDR_HOP || nextHeader == Ipv6Header.NEXTHDR_ROUTING
                || nextHeader == Ipv6Header.NEXTHDR_FRAGMENT || nextHeader == Ipv6Header.NEXTHDR_AUTH
                || nextHeader == Ipv6Header.NEXTHDR_DEST;
    }

    public Status status() {
        return status;
    }

    /** The upper-layer protocol (or 50 ESP, 59 none); for TRUNCATED, the header that did not fit. */
    public int protocol() {
        return protocol;
    }

    /** Where the upper-layer header starts (for TRUNCATED, where the broken header starts). */
    public int transportOffset() {
        return transportOffset;
    }

    /** Which kinds of header were seen, as ip6t_ipv6header masks. */
    public int headersSeen() {
        return headersSeen;
    }

    public int headerCount() {
        return headerCount;
    }

    /** A hop-by-hop header after the first position; RFC 8200 allows it only first. */
    public boolean hopByHopMisplaced() {
        return hopByHopMisplaced;
    }

    public boolean hasFragmentHeader() {
        return fragmentHeaderOffset >= 0;
    }

    public int fragmentHeaderOffset() {
        return fragmentHeaderOffset;
    }

    /** Fragment offset in 8-byte units; 0 without a fragment header. */
    public int fragmentOffset() {
        return fragmentWord >>> 3;
    }

    public boolean moreFragments() {
        return (fragmentWord & 1) != 0;
    }

    public long fragmentId() {
        return fragmentId;
    }

    /** A fragment header that really fragments (an atomic fragment has offset 0 and no M). */
    public boolean isFragment() {
        return fragmentOffset() != 0 || moreFragments();
    }

    public int routingHeaderOffset() {
        return routingHeaderOffset;
    }

    public int routingType() {
        return routingType;
    }

    public int segmentsLeft() {
        return segmentsLeft;
    }
}
