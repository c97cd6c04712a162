package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;

/**
 * Ethernet II frame header (IEEE 802.3), optionally followed by 802.1Q / 802.1ad VLAN tags.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination MAC address                    |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |                      Source MAC address                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           EtherType           |  (802.1Q: PCP|DEI| VLAN ID    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   inner EtherType)            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * <p>MAC addresses are 48-bit values in the low bits of a {@code long}.
 *
 * <p>Hot path: one instance per packet thread, re-pointed with {@link #wrap}; no allocation.
 * Assumes the caller checked that {@link #LENGTH} bytes (plus 4 per VLAN tag read) are present;
 * reads past the segment throw {@link IndexOutOfBoundsException}.
 */
public final class EthernetHeader {
    public static final int DESTINATION = 0;
    public static final int SOURCE = 6;
    public static final int ETHER_TYPE = 12;
    public static final int LENGTH = 14;
    public static final int VLAN_TAG_LENGTH = 4;

    public static final int ETH_P_IP = 0x0800;
    public static final int ETH_P_ARP = 0x0806;
    public static final int ETH_P_8021Q = 0x8100;
    public static final int ETH_P_8021AD = 0x88A8;
    public static final int ETH_P_IPV6 = 0x86DD;
    public static final long BROADCAST = 0xFFFF_FFFF_FFFFL;

    private MemorySegment segment;
    private long offset;

    public EthernetHeader wrap(MemorySegment segment, long offset) {
        this.segment = segment;
        this.offset = offset;
        return this;
    }

    public MemorySegment segment() {
        return segment;
    }

    public long offset() {
        return offset;
    }

    public long destination() {
        return NetworkOrder.mac(segment, offset + DESTINATION);
    }

    public EthernetHeader destination(long mac) {
        NetworkOrder.mac(segment, offset + DESTINATION, mac);
        return this;
    }

    public long source() {
        return NetworkOrder.mac(segment, offset + SOURCE);
    }

    public EthernetHeader source(long mac) {
        NetworkOrder.mac(segment, offset + SOURCE, mac);
        return this;
    }

    public int etherType() {
        return NetworkOrder.u16(segment, offset + ETHER_TYPE);
    }

    public EthernetHeader etherType(int v) {
        NetworkOrder.u16(segment, offset + ETHER_TYPE, v);
        return this;
    }

    /** True for 802.1Q or 802.1ad outer tags. */
    public boolean vlanTagged() {
        int t = etherType();
        return t == ETH_P_8021Q || t == ETH_P_8021AD;
    }

    /** VLAN ID of the outer tag; only meaningful when {@link #vlanTagged()}. */
    public int vlanId() {
        return NetworkOrder.u16(segment, offset + LENGTH) & 0x0FFF;
    }

    public EthernetHeader vlanId(int v) {
        int tci = NetworkOrder.u16(segment, offset + LENGTH);
        NetworkOrder.u16(segment, offset + LENGTH, (tci & 0xF000) | (v & 0x0FFF));
        return this;
    }

    /** Priority code point (802.1p) of the outer tag. */
    public int vlanPriority() {
        return NetworkOrder.u16(segment, offset + LENGTH) >>> 13;
    }

    public EthernetHeader vlanPriority(int v) {
        int tci = NetworkOrder.u16(segment, offset + LENGTH);
        NetworkOrder.u16(segment, offset + LENGTH, (tci & 0x1FFF) | ((v & 7) << 13));
        return this;
    }

    /**
     * Length of this header including every stacked VLAN tag that fits in {@code frameLength}
     * (frame length measured from {@link #offset()}); the payload starts there.
     */
    public int headerLength(int frameLength) {
        int at = ETHER_TYPE;
        while (at + 2 + VLAN_TAG_LENGTH <= frameLength) {
            int t = NetworkOrder.u16(segment, offset + at);
            if (t != ETH_P_8021Q && t != ETH_P_8021AD) {
                break;
            }
            at += VLAN_TAG_LENGTH;
        }
        return at + 2;
    }

    /** The EtherType after all VLAN tags: what the payload is. */
    public int payloadType(int frameLength) {
        return NetworkOrder.u16(segment, offset + headerLength(frameLength) - 2);
    }

    /** Linux: is_multicast_ether_addr, the I/G bit of the first octet (broadcast included). */
    public static boolean isMulticast(long mac) {
        return (mac & 0x0100_0000_0000L) != 0;
    }
}
