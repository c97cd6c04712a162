package org.jnetfilter.core.reply;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;

/**
 * The kernel log line of the LOG target, as net/netfilter/nf_log_syslog.c writes it (nf_log_ip_packet,
 * nf_log_ip6_packet): the prefix, {@code IN= OUT=}, the link-layer header of packets that came in
 * ({@code MAC=} bytes, or {@code MACSRC= MACDST= MACPROTO=} with --log-macdecode), then the IP header
 * ({@code SRC= DST= LEN= TOS= PREC= TTL= ID=} and CE/DF/MF, {@code FRAG:}, {@code OPT (..)} with
 * --log-ip-options; IPv6 {@code LEN= TC= HOPLIMIT= FLOWLBL=} and the extension headers), the transport header
 * (TCP with {@code SEQ= ACK=} under --log-tcp-sequence, {@code WINDOW= RES=}, flags, {@code URGP=},
 * {@code OPT (..)} under --log-tcp-options; UDP and UDP-Lite; ICMP and ICMPv6 with the packet an error
 * quotes in {@code [ ]}; AH and ESP SPIs; else {@code PROTO=n}), and {@code MARK=} when the mark is set.
 * Every field ends with a space, as in the kernel's line; "TRUNCATED" and "INCOMPLETE [n bytes]" where the
 * packet ends early.
 *
 * With --log-uid, {@code UID= GID=} (before {@code MARK=}) for a packet sent by a local socket
 * ({@link PacketContext#socketUid()}); nothing for other packets, as in the kernel.
 *
 * <p>After {@code IN= OUT=}, {@code PHYSIN=}/{@code PHYSOUT=}: the bridge ports of a packet br_netfilter passed to
 * the hooks ({@link PacketContext#physInInterface()}), each when it differs from IN/OUT.
 *
 * <p>Called by the LOG target on the packet thread; builds one String per line (the kernel formats per
 * packet as well). Bytes are read only below the packet's length, as skb_header_pointer reads.
 */
public final class LogLine {
    // Linux: NF_LOG_* flags (include/uapi/linux/netfilter/nf_log.h), the same bits as XT_LOG_*
    public static final int TCPSEQ = 0x01;
    public static final int TCPOPT = 0x02;
    public static final int IPOPT = 0x04;
    public static final int UID = 0x08;
    public static final int MACDECODE = 0x20;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    // Linux: ETH_HLEN, the hard_header_len of Ethernet and loopback devices
    private static final int ETH_HLEN = 14;

    private final MemorySegment s;
    private final long base;
    private final int len;
    private final int flags;
    private final StringBuilder out;
    private final long uid;
    private final long gid;

    private LogLine(MemorySegment s, long base, int len, int flags, StringBuilder out, long uid, long gid) {
        this.s = s;
        this.base = base;
        this.len = len;
        this.flags = flags;
        this.out = out;
        this.uid = uid;
        this.gid = gid;
    }

    /**
     * The line for the packet in {@code pkt}. The link-layer header is printed for packets with an input
     * device when the 14 bytes before the network header are the Ethernet header the packet came with
     * ({@link PacketContext#macSource()} known), else {@code MAC=} is empty.
     */
    public static String format(PacketContext pkt, String prefix, int flags) {
        StringBuilder out = new StringBuilder(256);
        out.append(prefix).append("IN=").append(pkt.inInterface()).append(" OUT=").append(pkt.outInterface())
                .append(' ');
        // Linux: nf_log_dump_packet_common: the bridge ports br_netfilter recorded, unless the same device as IN/OUT
        if (!pkt.physInInterface().isEmpty() && !pkt.physInInterface().equals(pkt.inInterface())) {
            out.append("PHYSIN=").append(pkt.physInInterface()).append(' ');
        }
        if (!pkt.physOutInterface().isEmpty() && !pkt.physOutInterface().equals(pkt.outInterface())) {
            out.append("PHYSOUT=").append(pkt.physOutInterface()).append(' ');
        }
        MemorySegment s = pkt.segment();
        long net = pkt.networkOffset();
        if (!pkt.inInterface().isEmpty()) {
            if (cameInOnLoopback(pkt)) {
                // Linux: lo (ARPHRD_LOOPBACK) has a 14-byte header of zero addresses and the protocol, dumped as
                // bytes even with --log-macdecode (which decodes only ARPHRD_ETHER)
                out.append("MAC=00:00:00:00:00:00:00:00:00:00:00:00:")
                        .append(pkt.family() == Family.IPV4 ? "08:00 " : "86:dd ");
            } else {
                boolean ethernet = pkt.macSource() != -1 && net >= ETH_HLEN;
                macHeader(out, s, net - ETH_HLEN, ethernet, flags);
            }
        }
        LogLine line = new LogLine(s, net, pkt.length(), flags, out, pkt.socketUid(), pkt.socketGid());
        if (pkt.family() == Family.IPV4) {
            line.ipv4(0, pkt.mark());
        } else {
            line.ipv6(0, true, pkt.mark());
        }
        return out.toString();
    }

    /** Whether the packet was received on the host's loopback device (looped back from local output). */
    public static boolean cameInOnLoopback(PacketContext pkt) {
        org.jnetfilter.core.host.Link in = pkt.host() == null ? null : pkt.host().link(pkt.inInterface());
        return in != null && in.isLoopback();
    }

    /** dump_mac_header / dump_ipv6_mac_header for an Ethernet header at {@code at} (when {@code present}). */
    private static void macHeader(StringBuilder out, MemorySegment s, long at, boolean present, int flags) {
        if (present && (flags & MACDECODE) != 0) {
            out.append("MACSRC=");
            mac(out, s, at + 6);
            out.append(" MACDST=");
            mac(out, s, at);
            out.append(" MACPROTO=");
            hex4(out, Short.toUnsignedInt(s.get(U16, at + 12)));
            out.append(' ');
            return;
        }
        out.append("MAC=");
        if (present) {
            for (int i = 0; i < ETH_HLEN; i++) {
                if (i > 0) {
                    out.append(':');
                }
                hex2(out, Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at + i)), false);
            }
            out.append(' ');
        } else {
            // Linux: "MAC=" then a space, nothing between (no header, or a device without one)
            out.append(' ');
        }
    }

    private static void mac(StringBuilder out, MemorySegment s, long at) {
        for (int i = 0; i < 6; i++) {
            if (i > 0) {
                out.append(':');
            }
            hex2(out, Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at + i)), false);
        }
    }

    // ---- reads bounded by the packet, as skb_header_pointer ----

    private boolean has(int at, int n) {
        return at >= 0 && (long) at + n <= len;
    }

    private int u8(int at) {
        return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, base + at));
    }

    private int u16(int at) {
        return Short.toUnsignedInt(s.get(U16, base + at));
    }

    private long u32(int at) {
        return Integer.toUnsignedLong(s.get(U32, base + at));
    }

    // ---- IPv4: dump_ipv4_packet ----

    private void ipv4(int iphoff, long mark) {
        if (!has(iphoff, 20)) {
            out.append("TRUNCATED");
            return;
        }
        out.append("SRC=");
        ipv4Address(iphoff + 12);
        out.append(" DST=");
        ipv4Address(iphoff + 16);
        int tos = u8(iphoff + 1);
        out.append(" LEN=").append(u16(iphoff + 2)).append(" TOS=0x");
        hex2(out, tos & 0x1E, true);
        out.append(" PREC=0x");
        hex2(out, tos & 0xE0, true);
        out.append(" TTL=").append(u8(iphoff + 8)).append(" ID=").append(u16(iphoff + 4)).append(' ');
        int fragOff = u16(iphoff + 6);
        if ((fragOff & 0x8000) != 0) {
            out.append("CE ");
        }
        if ((fragOff & 0x4000) != 0) {
            out.append("DF ");
        }
        if ((fragOff & 0x2000) != 0) {
            out.append("MF ");
        }
        int fragment = fragOff & 0x1FFF;
        if (fragment != 0) {
            out.append("FRAG:").append(fragment).append(' ');
        }
        int ihl = (u8(iphoff) & 0x0F) << 2;
        if ((flags & IPOPT) != 0 && ihl > 20) {
            if (!has(iphoff + 20, ihl - 20)) {
                out.append("TRUNCATED");
                return;
            }
            out.append("OPT (");
            for (int i = 20; i < ihl; i++) {
                hex2(out, u8(iphoff + i), true);
            }
            out.append(") ");
        }
        int proto = u8(iphoff + 9);
        int th = iphoff + ihl;
        switch (proto) {
            case 6 -> {
                if (tcp(th, fragment != 0)) {
                    return;
                }
            }
            case 17, 136 -> {
                if (udp(proto, th, fragment != 0)) {
                    return;
                }
            }
            case 1 -> icmp(iphoff, th, fragment != 0);
            case 51 -> spi("PROTO=AH ", th, 4, 12, fragment != 0);
            case 50 -> spi("PROTO=ESP ", th, 0, 8, fragment != 0);
            default -> out.append("PROTO=").append(proto).append(' ');
        }
        if ((flags & UID) != 0 && iphoff == 0) {
            socketOwner();
        }
        if (iphoff == 0 && mark != 0) {
            out.append("MARK=0x").append(Long.toHexString(mark)).append(' ');
        }
    }

    /** nf_log_dump_sk_uid_gid: the sending socket's fsuid and fsgid; nothing for a packet without a socket. */
    private void socketOwner() {
        if (uid >= 0) {
            out.append("UID=").append(uid).append(" GID=").append(Math.max(gid, 0)).append(' ');
        }
    }

    private void spi(String name, int th, int spiAt, int size, boolean fragment) {
        out.append(name);
        if (fragment) {
            return;
        }
        if (!has(th, size)) {
            out.append("INCOMPLETE [").append(len - th).append(" bytes] ");
            return;
        }
        out.append("SPI=0x").append(Long.toHexString(u32(th + spiAt))).append(' ');
    }

    /** The bytes each ICMP type needs before its fields are printed (required_len); 0: none. */
    private static int icmpRequired(int type) {
        return switch (type) {
            case 0, 8 -> 4;
            case 3, 4, 5, 11, 12 -> 8 + 20;
            case 13, 14 -> 20;
            case 17, 18 -> 12;
            default -> 0;
        };
    }

    private void icmp(int iphoff, int th, boolean fragment) {
        out.append("PROTO=ICMP ");
        if (fragment) {
            return;
        }
        if (!has(th, 8)) {
            out.append("INCOMPLETE [").append(len - th).append(" bytes] ");
            return;
        }
        int type = u8(th);
        int code = u8(th + 1);
        out.append("TYPE=").append(type).append(" CODE=").append(code).append(' ');
        if (type <= 18 && icmpRequired(type) != 0 && len - th < icmpRequired(type)) {
            out.append("INCOMPLETE [").append(len - th).append(" bytes] ");
            return;
        }
        switch (type) {
            case 0, 8 -> out.append("ID=").append(u16(th + 4)).append(" SEQ=").append(u16(th + 6)).append(' ');
            case 12 -> out.append("PARAMETER=").append(u8(th + 4)).append(' ');
            case 5, 3, 4, 11 -> {
                if (type == 5) {
                    out.append("GATEWAY=");
                    ipv4Address(th + 4);
                    out.append(' ');
                }
                if (iphoff == 0) {
                    out.append('[');
                    ipv4(th + 8, 0);
                    out.append("] ");
                }
                if (type == 3 && code == 4) {
                    out.append("MTU=").append(u16(th + 6)).append(' ');
                }
            }
            default -> {
            }
        }
    }

    /** nf_log_dump_tcp_header; true when the line ends here. */
    private boolean tcp(int th, boolean fragment) {
        out.append("PROTO=TCP ");
        if (fragment) {
            return false;
        }
        if (!has(th, 20)) {
            out.append("INCOMPLETE [").append(len - th).append(" bytes] ");
            return true;
        }
        out.append("SPT=").append(u16(th)).append(" DPT=").append(u16(th + 2)).append(' ');
        if ((flags & TCPSEQ) != 0) {
            out.append("SEQ=").append(u32(th + 4)).append(" ACK=").append(u32(th + 8)).append(' ');
        }
        out.append("WINDOW=").append(u16(th + 14)).append(' ');
        out.append("RES=0x");
        // Linux: the four reserved bits of the flag word, shifted right by 22
        hex2(out, (u8(th + 12) & 0x0F) << 2, false);
        out.append(' ');
        int f = u8(th + 13);
        String[] names = {"CWR ", "ECE ", "URG ", "ACK ", "PSH ", "RST ", "SYN ", "FIN "};
        for (int i = 0; i < 8; i++) {
            if ((f & (0x80 >>> i)) != 0) {
                out.append(names[i]);
            }
        }
        out.append("URGP=").append(u16(th + 18)).append(' ');
        int doff = (u8(th + 12) >>> 4) << 2;
        if ((flags & TCPOPT) != 0 && doff > 20) {
            if (!has(th + 20, doff - 20)) {
                out.append("OPT (TRUNCATED)");
                return true;
            }
            out.append("OPT (");
            for (int i = 20; i < doff; i++) {
                hex2(out, u8(th + i), true);
            }
            out.append(") ");
        }
        return false;
    }

    /** nf_log_dump_udp_header; true when the line ends here. */
    private boolean udp(int proto, int th, boolean fragment) {
        out.append(proto == 17 ? "PROTO=UDP " : "PROTO=UDPLITE ");
        if (fragment) {
            return false;
        }
        if (!has(th, 8)) {
            out.append("INCOMPLETE [").append(len - th).append(" bytes] ");
            return true;
        }
        out.append("SPT=").append(u16(th)).append(" DPT=").append(u16(th + 2)).append(" LEN=").append(u16(th + 4))
                .append(' ');
        return false;
    }

    private void ipv4Address(int at) {
        out.append(u8(at)).append('.').append(u8(at + 1)).append('.').append(u8(at + 2)).append('.')
                .append(u8(at + 3));
    }

    // ---- IPv6: dump_ipv6_packet ----

    private void ipv6(int ip6hoff, boolean recurse, long mark) {
        if (!has(ip6hoff, 40)) {
            out.append("TRUNCATED");
            return;
        }
        out.append("SRC=");
        ipv6Address(ip6hoff + 8);
        out.append(" DST=");
        ipv6Address(ip6hoff + 24);
        long first = u32(ip6hoff);
        out.append(" LEN=").append(u16(ip6hoff + 4) + 40).append(" TC=").append((first & 0x0FF00000L) >>> 20)
                .append(" HOPLIMIT=").append(u8(ip6hoff + 7)).append(" FLOWLBL=").append(first & 0xFFFFF)
                .append(' ');
        boolean fragment = false;
        int ptr = ip6hoff + 40;
        int current = u8(ip6hoff + 6);
        boolean opt = (flags & IPOPT) != 0;
        while (current != 59 && isLoggedExtension(current)) {
            if (!has(ptr, 2)) {
                out.append("TRUNCATED");
                return;
            }
            if (opt) {
                out.append("OPT ( ");
            }
            int hdrlen;
            switch (current) {
                case 44 -> {
                    out.append("FRAG:");
                    if (!has(ptr, 8)) {
                        out.append("TRUNCATED ");
                        return;
                    }
                    int fo = u16(ptr + 2);
                    out.append(fo & 0xFFF8).append(' ');
                    if ((fo & 0x0001) != 0) {
                        out.append("INCOMPLETE ");
                    }
                    out.append("ID:");
                    String id = Long.toHexString(u32(ptr + 4));
                    out.append("0".repeat(8 - id.length())).append(id).append(' ');
                    if ((fo & 0xFFF8) != 0) {
                        fragment = true;
                    }
                    hdrlen = 8;
                }
                case 60, 43, 0 -> {
                    if (fragment) {
                        if (opt) {
                            out.append(')');
                        }
                        return;
                    }
                    hdrlen = (u8(ptr + 1) + 1) << 3;
                }
                case 51 -> {
                    if (opt) {
                        out.append("AH ");
                        if (fragment) {
                            out.append(')');
                            return;
                        }
                        if (!has(ptr, 12)) {
                            out.append("INCOMPLETE [").append(len - ptr).append(" bytes] )");
                            return;
                        }
                        out.append("SPI=0x").append(Long.toHexString(u32(ptr + 4))).append(' ');
                    }
                    hdrlen = (u8(ptr + 1) + 2) << 2;
                }
                case 50 -> {
                    if (opt) {
                        out.append("ESP ");
                        if (fragment) {
                            out.append(')');
                            return;
                        }
                        if (!has(ptr, 8)) {
                            out.append("INCOMPLETE [").append(len - ptr).append(" bytes] )");
                            return;
                        }
                        out.append("SPI=0x").append(Long.toHexString(u32(ptr))).append(" )");
                    }
                    return;
                }
                default -> {
                    out.append("Unknown Ext Hdr ").append(current);
                    return;
                }
            }
            if (opt) {
                out.append(") ");
            }
            current = u8(ptr);
            ptr += hdrlen;
        }
        switch (current) {
            case 6 -> {
                if (tcp(ptr, fragment)) {
                    return;
                }
            }
            case 17, 136 -> {
                if (udp(current, ptr, fragment)) {
                    return;
                }
            }
            case 58 -> {
                if (icmpv6(ptr, fragment, recurse)) {
                    return;
                }
            }
            default -> out.append("PROTO=").append(current).append(' ');
        }
        if ((flags & UID) != 0 && recurse) {
            socketOwner();
        }
        if (recurse && mark != 0) {
            out.append("MARK=0x").append(Long.toHexString(mark)).append(' ');
        }
    }

    /** nf_ip6_ext_hdr: the headers the IPv6 logger walks (ESP included, unlike ipv6_ext_hdr). */
    private static boolean isLoggedExtension(int next) {
        return next == 0 || next == 43 || next == 44 || next == 50 || next == 51 || next == 59 || next == 60;
    }

    /** true when the line ends here. */
    private boolean icmpv6(int ptr, boolean fragment, boolean recurse) {
        out.append("PROTO=ICMPv6 ");
        if (fragment) {
            return false;
        }
        if (!has(ptr, 8)) {
            out.append("INCOMPLETE [").append(len - ptr).append(" bytes] ");
            return true;
        }
        int type = u8(ptr);
        out.append("TYPE=").append(type).append(" CODE=").append(u8(ptr + 1)).append(' ');
        switch (type) {
            case 128, 129 -> out.append("ID=").append(u16(ptr + 4)).append(" SEQ=").append(u16(ptr + 6)).append(' ');
            case 130, 131, 132 -> {
            }
            case 4, 1, 2, 3 -> {
                if (type == 4) {
                    String p = Long.toHexString(u32(ptr + 4));
                    out.append("POINTER=").append("0".repeat(8 - p.length())).append(p).append(' ');
                }
                if (recurse) {
                    out.append('[');
                    ipv6(ptr + 8, false, 0);
                    out.append("] ");
                }
                if (type == 2) {
                    out.append("MTU=").append(u32(ptr + 4)).append(' ');
                }
            }
            default -> {
            }
        }
        return false;
    }

    private void ipv6Address(int at) {
        for (int i = 0; i < 8; i++) {
            if (i > 0) {
                out.append(':');
            }
            String g = Integer.toHexString(u16(at + 2 * i));
            out.append("0".repeat(4 - g.length())).append(g);
        }
    }

    private static void hex2(StringBuilder out, int v, boolean upper) {
        String d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
        out.append(d.charAt((v >>> 4) & 0xF)).append(d.charAt(v & 0xF));
    }

    private static void hex4(StringBuilder out, int v) {
        hex2(out, v >>> 8, false);
        hex2(out, v & 0xFF, false);
    }
}
