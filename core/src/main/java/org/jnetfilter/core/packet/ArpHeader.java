package org.jnetfilter.core.packet;

import java.lang.foreign.MemorySegment;

/**
 * ARP packet (RFC 826), as matched by arptables. Addresses follow the fixed part; their
 * offsets depend on the hardware and protocol address lengths. The address accessors read the
 * common Ethernet/IPv4 layout (hlen 6, plen 4); {@link #isEthernetIpv4()} says whether it applies.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Hardware Type         |         Protocol Type         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  HW Addr Len  | Proto Addr Len|           Operation           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Sender hardware address (hlen bytes) ...             |
 * |          Sender protocol address (plen bytes) ...             |
 * |          Target hardware address (hlen bytes) ...             |
 * |          Target protocol address (plen bytes) ...             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * <p>Hot path: one instance per packet thread, re-pointed with {@link #wrap}; no allocation.
 * Assumes the caller checked {@link #length()} bytes are present.
 */
public final class ArpHeader {
    public static final int HARDWARE_TYPE = 0;
    public static final int PROTOCOL_TYPE = 2;
    public static final int HARDWARE_LENGTH = 4;
    public static final int PROTOCOL_LENGTH = 5;
    public static final int OPERATION = 6;
    public static final int FIXED_LENGTH = 8;
    /** Offsets of the addresses for Ethernet/IPv4. */
    public static final int SENDER_MAC = 8;
    public static final int SENDER_IP = 14;
    public static final int TARGET_MAC = 18;
    public static final int TARGET_IP = 24;
    public static final int ETHERNET_IPV4_LENGTH = 28;

    public static final int HTYPE_ETHERNET = 1;
    public static final int OP_REQUEST = 1;
    public static final int OP_REPLY = 2;

    private MemorySegment segment;
    private long offset;

    public ArpHeader wrap(MemorySegment segment, long offset) {
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

    public int hardwareType() {
        return NetworkOrder.u16(segment, offset + HARDWARE_TYPE);
    }

    public ArpHeader hardwareType(int v) {
        NetworkOrder.u16(segment, offset + HARDWARE_TYPE, v);
        return this;
    }

    public int protocolType() {
        return NetworkOrder.u16(segment, offset + PROTOCOL_TYPE);
    }

    public ArpHeader protocolType(int v) {
        NetworkOrder.u16(segment, offset + PROTOCOL_TYPE, v);
        return this;
    }

    public int hardwareLength() {
        return NetworkOrder.u8(segment, offset + HARDWARE_LENGTH);
    }

    public ArpHeader hardwareLength(int v) {
        NetworkOrder.u8(segment, offset + HARDWARE_LENGTH, v);
        return this;
    }

    public int protocolLength() {
        return NetworkOrder.u8(segment, offset + PROTOCOL_LENGTH);
    }

    public ArpHeader protocolLength(int v) {
        NetworkOrder.u8(segment, offset + PROTOCOL_LENGTH, v);
        return this;
    }

    public int operation() {
        return NetworkOrder.u16(segment, offset + OPERATION);
    }

    public ArpHeader operation(int v) {
        NetworkOrder.u16(segment, offset + OPERATION, v);
        return this;
    }

    /** Whole ARP packet length: the fixed part plus two address pairs. */
    public int length() {
        return FIXED_LENGTH + 2 * (hardwareLength() + protocolLength());
    }

    public boolean isEthernetIpv4() {
        return hardwareType() == HTYPE_ETHERNET && protocolType() == EthernetHeader.ETH_P_IP
                && hardwareLength() == 6 && protocolLength() == 4;
    }

    public long senderMac() {
        return NetworkOrder.mac(segment, offset + SENDER_MAC);
    }

    public ArpHeader senderMac(long v) {
        NetworkOrder.mac(segment, offset + SENDER_MAC, v);
        return this;
    }

    public int senderIp() {
        return NetworkOrder.bits32(segment, offset + SENDER_IP);
    }

    public ArpHeader senderIp(int v) {
        NetworkOrder.bits32(segment, offset + SENDER_IP, v);
        return this;
    }

    public long targetMac() {
        return NetworkOrder.mac(segment, offset + TARGET_MAC);
    }

    public ArpHeader targetMac(long v) {
        NetworkOrder.mac(segment, offset + TARGET_MAC, v);
        return this;
    }

    public int targetIp() {
        return NetworkOrder.bits32(segment, offset + TARGET_IP);
    }

    public ArpHeader targetIp(int v) {
        NetworkOrder.bits32(segment, offset + TARGET_IP, v);
        return this;
    }
}
