package org.jnetfilter.core.reply;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.Link;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;

/**
 * The netlink message nfnetlink_log builds for one logged packet (__build_packet_message), without its
 * {@code nlmsghdr}: exactly the record a {@code tcpdump -i nflog:N -w} capture holds (LINKTYPE_NFLOG, 239).
 *
 * <pre>
 *  0      7 8     15 16                    31
 * +--------+--------+-----------------------+
 * | family |version |  resource id (group)  |   struct nfgenmsg; res_id big-endian
 * +--------+--------+-----------------------+
 * |  length (host)  |     type (host)       |   struct nlattr, then the value, padded to 4 bytes
 * +-----------------+-----------------------+
 * | value ...                               |   numbers in values are big-endian
 * </pre>
 *
 * Attributes in the kernel's order: PACKET_HDR (hw_protocol, hook), PREFIX (with its NUL, present even when
 * empty, since xt_NFLOG always passes its prefix), IFINDEX_INDEV (then IFINDEX_PHYSINDEV, a bridged packet's port),
 * IFINDEX_OUTDEV (then IFINDEX_PHYSOUTDEV), MARK (when not 0), for packets
 * that came in with an Ethernet header HWADDR (the source address), HWTYPE (ARPHRD_ETHER), HWLEN (14) and
 * HWHEADER (for packets looped back through lo: zero addresses and ARPHRD_LOOPBACK), TIMESTAMP (seconds and microseconds, only at PREROUTING, INPUT and FORWARD: the packet's time here;
 * the kernel's skb_tstamp_cond gives the receive time when something timestamps packets, else its clock at the
 * NFLOG, microseconds later), UID and GID (packets
 * from a local socket), PAYLOAD (the packet from its network header, {@code dataLength} bytes; absent when 0).
 * Not sent: SEQ, SEQ_GLOBAL and CT (only for listeners that ask with NFULNL_CFG_F_*, which tcpdump does not),
 * VLAN and L2HDR (bridge and netdev families only).
 *
 * <p>Packet thread; allocates the message (a listener keeps it). The NLA header fields are little-endian: the
 * byte order of the x86 and arm64 hosts whose captures these are meant to equal.
 */
public final class NflogMessage {
    // Linux: NFULA_* attribute types, include/uapi/linux/netfilter/nfnetlink_log.h
    static final int NFULA_PACKET_HDR = 1;
    static final int NFULA_MARK = 2;
    static final int NFULA_TIMESTAMP = 3;
    static final int NFULA_IFINDEX_INDEV = 4;
    static final int NFULA_IFINDEX_OUTDEV = 5;
    static final int NFULA_IFINDEX_PHYSINDEV = 6;
    static final int NFULA_IFINDEX_PHYSOUTDEV = 7;
    static final int NFULA_HWADDR = 8;
    static final int NFULA_PAYLOAD = 9;
    static final int NFULA_PREFIX = 10;
    static final int NFULA_UID = 11;
    static final int NFULA_GID = 14;
    static final int NFULA_HWTYPE = 15;
    static final int NFULA_HWHEADER = 16;
    static final int NFULA_HWLEN = 17;
    // Linux: AF_INET, AF_INET6; ARPHRD_ETHER; ETH_HLEN (the Ethernet device's hard_header_len)
    static final int AF_INET = 2;
    static final int AF_INET6 = 10;
    static final int ARPHRD_ETHER = 1;
    static final int ARPHRD_LOOPBACK = 772;
    static final int ETH_HLEN = 14;
    // Linux: NLA_HDRLEN, NLMSG_HDRLEN
    static final int NLA_HDRLEN = 4;
    public static final int NLMSG_HDRLEN = 16;

    private byte[] b;
    private int at;

    private NflogMessage(int capacity) {
        b = new byte[capacity];
    }

    /** NLA_ALIGN(NLA_HDRLEN + payload): the bytes an attribute takes. */
    public static int attributeSize(int payload) {
        return (NLA_HDRLEN + payload + 3) & ~3;
    }

    /** Whether the packet came in with a link header: lo's, or the Ethernet header kept before its network header. */
    public static boolean hasLinkHeader(PacketContext pkt) {
        return !pkt.inInterface().isEmpty() && (LogLine.cameInOnLoopback(pkt)
                || pkt.macSource() != -1 && pkt.networkOffset() >= ETH_HLEN);
    }

    /**
     * The message for {@code pkt} logged to {@code group} with {@code prefix}.
     *
     * @param dataLength the payload bytes to copy, at most the packet's length; 0 for none
     */
    public static byte[] build(PacketContext pkt, int group, String prefix, int dataLength) {
        byte[] p = prefix.getBytes(StandardCharsets.UTF_8);
        NflogMessage m = new NflogMessage(256 + p.length + dataLength);
        boolean v4 = pkt.family() == Family.IPV4;
        m.u8(v4 ? AF_INET : AF_INET6).u8(0).be16(group);
        m.header(NFULA_PACKET_HDR, 4).be16(v4 ? 0x0800 : 0x86DD).u8(pkt.hook().ordinal()).u8(0);
        m.header(NFULA_PREFIX, p.length + 1).bytes(p, p.length).u8(0).pad();
        Host host = pkt.host();
        // Linux: __build_packet_message: the bridge port br_netfilter recorded follows each device it belongs with
        if (!pkt.inInterface().isEmpty()) {
            m.be32Attribute(NFULA_IFINDEX_INDEV, ifindex(host, pkt.inInterface()));
            if (!pkt.physInInterface().isEmpty()) {
                m.be32Attribute(NFULA_IFINDEX_PHYSINDEV, ifindex(host, pkt.physInInterface()));
            }
        }
        if (!pkt.outInterface().isEmpty()) {
            m.be32Attribute(NFULA_IFINDEX_OUTDEV, ifindex(host, pkt.outInterface()));
            if (!pkt.physOutInterface().isEmpty()) {
                m.be32Attribute(NFULA_IFINDEX_PHYSOUTDEV, ifindex(host, pkt.physOutInterface()));
            }
        }
        if (pkt.mark() != 0) {
            m.be32Attribute(NFULA_MARK, pkt.mark());
        }
        MemorySegment s = pkt.segment();
        long net = pkt.networkOffset();
        if (LogLine.cameInOnLoopback(pkt)) {
            // Linux: lo's header: zero addresses (eth_header_parse gives the zero source), ARPHRD_LOOPBACK
            m.header(NFULA_HWADDR, 12).be16(6).be16(0).bytes(new byte[8], 8);
            m.header(NFULA_HWTYPE, 2).be16(ARPHRD_LOOPBACK).pad();
            m.header(NFULA_HWLEN, 2).be16(ETH_HLEN).pad();
            m.header(NFULA_HWHEADER, ETH_HLEN).bytes(new byte[12], 12).be16(v4 ? 0x0800 : 0x86DD).pad();
        } else if (hasLinkHeader(pkt)) {
            long mac = net - ETH_HLEN;
            // Linux: eth_header_parse gives the source address; struct nfulnl_msg_packet_hw {be16 len, pad, [8]}
            m.header(NFULA_HWADDR, 12).be16(6).be16(0);
            for (int i = 0; i < 6; i++) {
                m.u8(Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, mac + 6 + i)));
            }
            m.be16(0);
            m.header(NFULA_HWTYPE, 2).be16(ARPHRD_ETHER).pad();
            m.header(NFULA_HWLEN, 2).be16(ETH_HLEN).pad();
            m.header(NFULA_HWHEADER, ETH_HLEN);
            for (int i = 0; i < ETH_HLEN; i++) {
                m.u8(Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, mac + i)));
            }
            m.pad();
        }
        if (pkt.hook().ordinal() <= org.jnetfilter.core.rules.Hook.FORWARD.ordinal()) {
            // Linux: the receive time (skb_tstamp_cond), as be64 seconds and be64 microseconds
            long now = pkt.nowNanos();
            m.header(NFULA_TIMESTAMP, 16).be64(Math.floorDiv(now, 1_000_000_000L))
                    .be64(Math.floorMod(now, 1_000_000_000L) / 1_000);
        }
        if (pkt.socketUid() >= 0) {
            m.be32Attribute(NFULA_UID, pkt.socketUid());
            m.be32Attribute(NFULA_GID, Math.max(pkt.socketGid(), 0));
        }
        if (dataLength > 0) {
            m.header(NFULA_PAYLOAD, dataLength);
            m.room(dataLength + 3);
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, net, m.b, m.at, dataLength);
            m.at += dataLength;
            m.pad();
        }
        return java.util.Arrays.copyOf(m.b, m.at);
    }

    /** The interface index the host gives {@code name}; 0 for a name it does not know. */
    private static int ifindex(Host host, String name) {
        Link l = host == null ? null : host.link(name);
        return l == null ? 0 : l.index();
    }

    private void room(int n) {
        if (at + n > b.length) {
            b = java.util.Arrays.copyOf(b, Math.max(b.length * 2, at + n));
        }
    }

    private NflogMessage header(int type, int payload) {
        room(NLA_HDRLEN + payload + 3);
        int len = NLA_HDRLEN + payload;
        b[at] = (byte) len;
        b[at + 1] = (byte) (len >>> 8);
        b[at + 2] = (byte) type;
        b[at + 3] = (byte) (type >>> 8);
        at += NLA_HDRLEN;
        return this;
    }

    private void be32Attribute(int type, long v) {
        header(type, 4).be16((int) (v >>> 16)).be16((int) v);
    }

    private NflogMessage u8(int v) {
        room(1);
        b[at++] = (byte) v;
        return this;
    }

    private NflogMessage be16(int v) {
        return u8(v >>> 8).u8(v);
    }

    private NflogMessage be64(long v) {
        for (int i = 56; i >= 0; i -= 8) {
            u8((int) (v >>> i));
        }
        return this;
    }

    private NflogMessage bytes(byte[] v, int n) {
        room(n);
        System.arraycopy(v, 0, b, at, n);
        at += n;
        return this;
    }

    private NflogMessage pad() {
        while ((at & 3) != 0) {
            u8(0);
        }
        return this;
    }
}
