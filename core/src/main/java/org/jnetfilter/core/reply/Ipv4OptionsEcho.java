package org.jnetfilter.core.reply;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.RouteType;
import org.jnetfilter.core.netfilter.Ipv4Options;
import org.jnetfilter.core.netfilter.PacketContext;

/**
 * The IPv4 options an answer echoes from the datagram it answers, as {@code __ip_options_echo} copies them and
 * {@code ip_options_build} completes them: what ICMP errors ({@code icmp_send}), echo replies ({@code icmp_reply})
 * and TCP's resets of a closed port ({@code tcp_v4_send_reset} through {@code ip_send_unicast_reply}) carry. Only
 * the options the receive path compiled ({@link PacketContext#ipv4Options()}, IPCB(skb)->opt) are echoed: record
 * route, timestamp, source route (reversed) and CIPSO; router alert, security, stream id and unknown options are
 * not (checked on Linux 6.18 with a closed TCP port, a closed UDP port and an echo request).
 *
 * <p>Packet thread; allocates the option bytes (datagrams with options are rare).
 */
public final class Ipv4OptionsEcho {
    private static final byte[] NO_OPTIONS = new byte[0];

    private Ipv4OptionsEcho() {
    }

    /**
     * __ip_options_echo and ip_options_build: the record route, timestamp and CIPSO options the receive path
     * compiled in the original ({@link PacketContext#ipv4Options()}), copied into the answer's header, each given one more entry
     * when it has room and the original's asked for one: the answer's source ({@code source}) for a record route or a timestamp
     * with addresses, the time for a timestamp (a prespecified one only at an address of this host); padded with
     * end-of-list bytes. Nothing for a packet whose options were never compiled (a local one). Null when the
     * original's options cannot be echoed (a pointer leaving less than an entry): the kernel then sends nothing
     * (icmp_send, icmp_reply and ip_send_unicast_reply return). A source route is echoed reversed with room for the
     * real destination: {@link #build} fills it once the answer's header is written.
     */
    public static byte[] options(PacketContext pkt, int source, Host host) {
        Echo e = echo(pkt, source, host);
        return e == null ? null : e.options();
    }

    /**
     * The echoed options ({@link #options}) and their state in the answer as ip_options_build leaves it in the answer's
     * IPCB(skb)->opt ({@link Ipv4Options#built}; 0 for none): what an ICMP error about the answer echoes in turn.
     */
    public record Echo(byte[] options, int state) {
    }

    private static final Echo NONE = new Echo(NO_OPTIONS, 0);

    /** {@link #options} with the answer's own options state; null when the options cannot be echoed. */
    public static Echo echo(PacketContext pkt, int source, Host host) {
        int state = pkt.ipv4Options();
        if (state == 0) {
            return NONE;
        }
        byte[] d = new byte[40];
        int n = 0;
        int rr = Ipv4Options.recordRouteAt(state);
        int rrAt = 0;
        boolean rrNeedsAddress = false;
        if (rr != 0) {
            int optlen = pkt.networkU8(rr + 1);
            int offset = pkt.networkU8(rr + 2);
            copyOption(pkt, rr, optlen, d, n);
            rrAt = 20 + n;
            if (Ipv4Options.recordRouteNeedsAddress(state) && offset <= optlen) {
                if (offset + 3 > optlen) {
                    return null;
                }
                d[n + 2] = (byte) (offset + 4);
                putInt(d, n + offset - 1, source);
                rrNeedsAddress = true;
            }
            n += optlen;
        }
        int ts = Ipv4Options.timestampAt(state);
        int tsAt = 0;
        boolean tsNeedsAddress = false;
        boolean tsNeedsTime = false;
        if (ts != 0) {
            tsAt = 20 + n;
            int optlen = pkt.networkU8(ts + 1);
            int offset = pkt.networkU8(ts + 2);
            copyOption(pkt, ts, optlen, d, n);
            if (offset <= optlen) {
                boolean address = false;
                boolean time = false;
                if (Ipv4Options.timestampNeedsAddress(state)) {
                    if (offset + 3 > optlen) {
                        return null;
                    }
                    address = true;
                    offset += 4;
                }
                if (Ipv4Options.timestampNeedsTime(state)) {
                    if (offset + 3 > optlen) {
                        return null;
                    }
                    if ((d[n + 3] & 0xF) != 3) {
                        time = true;
                        offset += 4;
                    } else if (offset + 7 <= optlen) {
                        int a = ((d[n + offset - 1] & 0xFF) << 24) | ((d[n + offset] & 0xFF) << 16)
                                | ((d[n + offset + 1] & 0xFF) << 8) | (d[n + offset + 2] & 0xFF);
                        // Linux: a prespecified entry is stamped only at an address of this host
                        if (host.addressType(IpAddress.ipv4(a), null) != RouteType.UNICAST) {
                            time = true;
                            offset += 8;
                        }
                    }
                }
                d[n + 2] = (byte) offset;
                if (address) {
                    putInt(d, n + offset - 9, source);
                }
                if (time) {
                    putInt(d, n + offset - 5, Ipv4Options.millisSinceMidnight(pkt.nowNanos()));
                }
                tsNeedsAddress = address;
                tsNeedsTime = time;
            }
            n += optlen;
        }
        if (Ipv4Options.hasSourceRoute(state)) {
            n += echoSourceRoute(pkt, d, n);
        }
        int cipso = Ipv4Options.cipsoAt(state);
        int cipsoAt = 0;
        if (cipso != 0) {
            int optlen = pkt.networkU8(cipso + 1);
            copyOption(pkt, cipso, optlen, d, n);
            cipsoAt = 20 + n;
            n += optlen;
        }
        // Linux: padded with IPOPT_END to a multiple of 4
        byte[] options = java.util.Arrays.copyOf(d, (n + 3) & ~3);
        // the echoed source route stays out of the answer's state: an error about an answer to a source-routed datagram
        // (which this host refuses unless accept_source_route) is not modelled
        return new Echo(options, n == 0 ? 0 : Ipv4Options.built(rrAt, rrNeedsAddress, tsAt, tsNeedsAddress, tsNeedsTime,
                cipsoAt));
    }

    /** The offset of the original's source route option (LSRR or SSRR), 0 for none. */
    private static int sourceRouteIn(PacketContext pkt) {
        return sourceRouteAt(pkt.segment(), pkt.networkOffset(),
                Math.min((pkt.networkU8(0) & 0xF) << 2, pkt.length()));
    }

    /** The offset of the source route option in the IPv4 header at {@code ip} of {@code ihl} bytes, 0 for none. */
    static int sourceRouteAt(MemorySegment s, long ip, int ihl) {
        for (int at = 20; at < ihl; ) {
            int type = Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, ip + at));
            if (type == 0) {
                return 0;
            }
            if (type == 1) {
                at++;
                continue;
            }
            if (at + 3 > ihl) {
                return 0;
            }
            if (type == 131 || type == 137) {
                return at;
            }
            at += Math.max(2, Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, ip + at + 1)));
        }
        return 0;
    }

    /**
     * The hops of the original's source route up to its pointer, newest first, as __ip_options_echo reverses them
     * (RFC 1812: the option's first entry is left out when it is the sender); null when none are echoed. The first
     * is the error's next hop (faddr), the others the echoed option's entries before the real destination.
     */
    private static int[] reversedHops(PacketContext pkt) {
        if (!Ipv4Options.hasSourceRoute(pkt.ipv4Options())) {
            return null;
        }
        int at = sourceRouteIn(pkt);
        if (at == 0) {
            return null;
        }
        int optlen = Math.min(pkt.networkU8(at + 1), Math.min((pkt.networkU8(0) & 0xF) << 2, pkt.length()) - at);
        int soffset = pkt.networkU8(at + 2);
        if (soffset > optlen) {
            soffset = optlen + 1;
        }
        soffset -= 4;
        if (soffset <= 3) {
            return null;
        }
        int[] hops = new int[(soffset + 1) / 4];
        int n = 0;
        for (; soffset > 3; soffset -= 4) {
            hops[n++] = (pkt.networkU16(at + soffset - 1) << 16) | pkt.networkU16(at + soffset + 1);
        }
        // Linux: "RFC1812 requires to fix illegal source routes": the sender itself is no hop back
        if (hops[n - 1] == (int) pkt.sourceLo()) {
            n--;
        }
        return n == 0 ? null : java.util.Arrays.copyOf(hops, n);
    }

    /**
     * The first hop an answer to {@code pkt} goes to when it echoes a source route (opt->faddr: the answer's IP
     * destination), else null (the answer goes to the sender).
     */
    public static IpAddress firstHop(PacketContext pkt) {
        int[] hops = reversedHops(pkt);
        return hops == null ? null : IpAddress.ipv4(hops[0]);
    }

    /**
     * __ip_options_echo's source route: the option type, the hops after the first in reverse order and room for the
     * real destination (ip_options_build fills it), pointer 4. Returns the bytes written at {@code to}.
     */
    private static int echoSourceRoute(PacketContext pkt, byte[] d, int to) {
        int[] hops = reversedHops(pkt);
        if (hops == null) {
            return 0;
        }
        int at = sourceRouteIn(pkt);
        int doffset = 4 * hops.length;
        d[to] = (byte) pkt.networkU8(at);
        d[to + 1] = (byte) (doffset + 3);
        d[to + 2] = 4;
        for (int i = 1; i < hops.length; i++) {
            putInt(d, to + 3 + 4 * (i - 1), hops[i]);
        }
        return doffset + 3;
    }

    private static void copyOption(PacketContext pkt, int at, int optlen, byte[] d, int to) {
        for (int i = 0; i < optlen; i++) {
            d[to + i] = (byte) pkt.networkU8(at + i);
        }
    }

    private static void putInt(byte[] d, int at, int v) {
        d[at] = (byte) (v >>> 24);
        d[at + 1] = (byte) (v >>> 16);
        d[at + 2] = (byte) (v >>> 8);
        d[at + 3] = (byte) v;
    }

    /**
     * ip_options_build's part after the header is written: the last entry of an echoed source route is the real
     * destination ({@code destination}, the original's sender). {@code ip} is the answer's IP header, {@code ihl} its
     * length.
     */
    public static void build(MemorySegment out, long ip, int ihl, int destination) {
        int srr = sourceRouteAt(out, ip, ihl);
        if (srr != 0) {
            out.set(U32, ip + srr + Byte.toUnsignedInt(out.get(ValueLayout.JAVA_BYTE, ip + srr + 1)) - 4, destination);
        }
    }

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
}
