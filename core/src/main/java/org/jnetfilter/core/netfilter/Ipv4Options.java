package org.jnetfilter.core.netfilter;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.RouteType;

/**
 * The IPv4 options of a received datagram, as ip_rcv_options and __ip_options_compile handle them after the input
 * route, and ip_forward_options before a forwarded datagram leaves.
 *
 * <pre>
 *  type  len  ptr  data...           RR (7), LSRR (131), SSRR (137): ptr >= 4, data = 4-byte addresses
 *  68    len  ptr  oflw|flg  data... timestamp: ptr >= 5; flag 0 times, 1 address + time, 3 prespecified addresses
 *  0 ends the list (what follows is rewritten to 0), 1 is a pad byte, others carry their length
 * </pre>
 *
 * Compiling (the receive side, with a route) checks every option and fills in what a hop records: record route
 * gets spec_dst (the destination of a local datagram, else the preferred source toward the sender) and the
 * timestamp option the time in milliseconds since midnight UTC (and spec_dst before it with flag 1; with flag 3 only
 * when the address at the pointer is one of this host's), each pointer advanced while there is room; a full
 * timestamp option counts in its overflow nibble. The first error gives the offset of the offending byte for ICMP
 * parameter problem: an option running past the list or shorter than 2, a pointer below its minimum or a record
 * that does not fit, a second record route, timestamp or source route, a full overflow count, a CIPSO option (no
 * DOI is ever configured here, so cipso_v4_validate refuses it). Unknown options (security, stream id, router alert
 * ...) pass. A source route is then refused unless accept_source_route is on for all and the interface (it is off
 * for all by default); the datapath follows an accepted one as ip_options_rcv_srr does ({@link #nextHop}).
 *
 * <p>On forwarding, the record route entry just written is replaced by the source the egress route prefers
 * (ip_rt_get_source), and the header checksum is recomputed when anything changed. The timestamp option's address
 * keeps spec_dst, as Linux 6.18 leaves it (checked: a datagram forwarded from 10.9.0.1 through 10.9.0.2 / 10.9.1.2
 * records 10.9.1.2 in its record route and 10.9.0.2 in its timestamp). Locally delivered datagrams keep the
 * changes and their now stale checksum, as the kernel's buffer does.
 *
 * <p>Packet thread; one per datapath slot; allocates only the route lookups for spec_dst (datagrams with options
 * are rare).
 */
public final class Ipv4Options {
    // Linux: IPOPT_* (include/uapi/linux/ip.h)
    static final int IPOPT_END = 0;
    static final int IPOPT_NOOP = 1;
    static final int IPOPT_RR = 7;
    static final int IPOPT_TIMESTAMP = 68;
    static final int IPOPT_LSRR = 131;
    static final int IPOPT_SSRR = 137;
    static final int IPOPT_CIPSO = 134;
    static final int IPOPT_TS_TSONLY = 0;
    static final int IPOPT_TS_TSANDADDR = 1;
    static final int IPOPT_TS_PRESPEC = 3;
    /** {@link #compile}: no error. */
    static final int OK = -1;

    /*
     * What compile leaves for the packet (IPCB(skb)->opt, as icmp_send's __ip_options_echo reads it), one int in
     * the packet context ({@link PacketContext#ipv4Options()}): the offsets of the record route, timestamp and
     * CIPSO options (0: none) and the need flags; 0 for a packet whose options were never compiled (a local one).
     */
    private static final int COMPILED = 1 << 31;
    private static final int RR_NEEDADDR = 1 << 16;
    private static final int TS_NEEDADDR = 1 << 17;
    private static final int TS_NEEDTIME = 1 << 18;
    private static final int SRR = 1 << 19;

    /**
     * The state of options a host built into a datagram it sends (ip_options_build copies them into IPCB(skb)->opt):
     * the offsets of its record route, timestamp and CIPSO options in the header (0: none) and whether each asked
     * this host for an entry; what an ICMP error about the datagram echoes.
     */
    public static int built(int recordRouteAt, boolean recordRouteNeedsAddress, int timestampAt,
            boolean timestampNeedsAddress, boolean timestampNeedsTime, int cipsoAt) {
        return COMPILED | recordRouteAt | timestampAt << 8 | cipsoAt << 20 | (recordRouteNeedsAddress ? RR_NEEDADDR : 0)
                | (timestampNeedsAddress ? TS_NEEDADDR : 0) | (timestampNeedsTime ? TS_NEEDTIME : 0);
    }

    /** The record route option's offset in the header (opt->rr), 0 for none. */
    public static int recordRouteAt(int state) {
        return state & 0xFF;
    }

    /** The timestamp option's offset in the header (opt->ts), 0 for none. */
    public static int timestampAt(int state) {
        return (state >>> 8) & 0xFF;
    }

    /** The CIPSO option's offset in the header (opt->cipso, set before it is refused), 0 for none. */
    public static int cipsoAt(int state) {
        return (state >>> 20) & 0xFF;
    }

    public static boolean recordRouteNeedsAddress(int state) {
        return (state & RR_NEEDADDR) != 0;
    }

    public static boolean timestampNeedsAddress(int state) {
        return (state & TS_NEEDADDR) != 0;
    }

    public static boolean timestampNeedsTime(int state) {
        return (state & TS_NEEDTIME) != 0;
    }

    /** Whether a source route option was compiled (opt->srr): an ICMP error echoes it reversed. */
    public static boolean hasSourceRoute(int state) {
        return (state & SRR) != 0;
    }

    /** What the last {@link #compile} recorded, up to its error if it found one. */
    int state;

    private MemorySegment s;
    private long ip;
    /** Offset of the record route option with an entry to fill on forwarding, or -1. */
    int recordRoute;
    /** Offset of the source route option, or 0. */
    int sourceRoute;
    /** ip_options_rcv_srr found the next hop in the source route (srr_is_hit): {@link #nextHop}. */
    boolean sourceRouteHit;
    /** The next hop of a followed source route (opt->nexthop). */
    int nextHop;
    /** Whether the header changed (is_changed): the checksum is recomputed on forwarding. */
    boolean changed;

    /** The source this host records for the datagram at this hop (fib_compute_spec_dst). */
    interface SpecDst {
        int address();
    }

    /**
     * __ip_options_compile on the datagram at {@code ip} in {@code s} (header length {@code ihl} bytes, more than
     * 20): checks and fills the options in place. Returns {@link #OK} or the offset from the IP header of the byte
     * an ICMP parameter problem points at.
     */
    int compile(MemorySegment s, long ip, int ihl, SpecDst specDst, long nowNanos, Host host) {
        this.s = s;
        this.ip = ip;
        recordRoute = -1;
        sourceRoute = 0;
        sourceRouteHit = false;
        changed = false;
        int ts = 0;
        int rr = 0;
        int cipso = 0;
        state = COMPILED;
        int at = 20;
        int l = ihl - 20;
        while (l > 0) {
            int type = u8(at);
            if (type == IPOPT_END) {
                for (at++, l--; l > 0; at++, l--) {
                    if (u8(at) != IPOPT_END) {
                        put(at, IPOPT_END);
                        changed = true;
                    }
                }
                break;
            }
            if (type == IPOPT_NOOP) {
                at++;
                l--;
                continue;
            }
            if (l < 2) {
                return at;
            }
            int optlen = u8(at + 1);
            if (optlen < 2 || optlen > l) {
                return at;
            }
            switch (type) {
                case IPOPT_SSRR, IPOPT_LSRR -> {
                    if (optlen < 3) {
                        return at + 1;
                    }
                    if (u8(at + 2) < 4) {
                        return at + 2;
                    }
                    // Linux: one source route only (RFC 1812 5.2.4.1)
                    if (sourceRoute != 0) {
                        return at;
                    }
                    sourceRoute = at;
                    state |= SRR;
                }
                case IPOPT_RR -> {
                    if (rr != 0) {
                        return at;
                    }
                    if (optlen < 3) {
                        return at + 1;
                    }
                    int ptr = u8(at + 2);
                    if (ptr < 4) {
                        return at + 2;
                    }
                    if (ptr <= optlen) {
                        if (ptr + 3 > optlen) {
                            return at + 2;
                        }
                        putAddress(at + ptr - 1, specDst.address());
                        changed = true;
                        put(at + 2, ptr + 4);
                        recordRoute = at;
                        state |= RR_NEEDADDR;
                    }
                    rr = at;
                    state |= at;
                }
                case IPOPT_TIMESTAMP -> {
                    if (ts != 0) {
                        return at;
                    }
                    if (optlen < 4) {
                        return at + 1;
                    }
                    int ptr = u8(at + 2);
                    if (ptr < 5) {
                        return at + 2;
                    }
                    int flags = u8(at + 3);
                    if (ptr <= optlen) {
                        if (ptr + 3 > optlen) {
                            return at + 2;
                        }
                        int timeAt = -1;
                        switch (flags & 0xF) {
                            case IPOPT_TS_TSONLY -> {
                                timeAt = at + ptr - 1;
                                put(at + 2, ptr + 4);
                                state |= TS_NEEDTIME;
                            }
                            case IPOPT_TS_TSANDADDR -> {
                                if (ptr + 7 > optlen) {
                                    return at + 2;
                                }
                                putAddress(at + ptr - 1, specDst.address());
                                timeAt = at + ptr + 3;
                                put(at + 2, ptr + 8);
                                state |= TS_NEEDADDR | TS_NEEDTIME;
                            }
                            case IPOPT_TS_PRESPEC -> {
                                if (ptr + 7 > optlen) {
                                    return at + 2;
                                }
                                IpAddress a = IpAddress.ipv4(s.get(U32, ip + at + ptr - 1));
                                // Linux: only an address of this host (not RTN_UNICAST) is stamped
                                if (host.addressType(a, null) != RouteType.UNICAST) {
                                    timeAt = at + ptr + 3;
                                    put(at + 2, ptr + 8);
                                    state |= TS_NEEDTIME;
                                }
                            }
                            default -> {
                                // other flags: left alone on receive (a capable sender may set them)
                            }
                        }
                        if (timeAt >= 0) {
                            putAddress(timeAt, millisSinceMidnight(nowNanos));
                            changed = true;
                        }
                    } else if ((flags & 0xF) != IPOPT_TS_PRESPEC) {
                        int overflow = flags >>> 4;
                        if (overflow == 15) {
                            return at + 3;
                        }
                        put(at + 3, (flags & 0xF) | ((overflow + 1) << 4));
                        changed = true;
                    }
                    ts = at;
                    state |= at << 8;
                }
                case IPOPT_CIPSO -> {
                    if (cipso != 0) {
                        return at;
                    }
                    cipso = at;
                    state |= at << 20;
                    // Linux: cipso_v4_validate finds no DOI (none configured): the offset of the DOI, or of the
                    // length when the option is shorter than its 8-byte minimum
                    return optlen < 8 ? at + 1 : at + 2;
                }
                default -> {
                    // security, stream id, router alert and unknown options pass on receive
                }
            }
            l -= optlen;
            at += optlen;
        }
        return OK;
    }

    /** ip_forward_options: the record route entry gets the egress source; the checksum follows any change. */
    void forward(int egressSource) {
        if (recordRoute >= 0) {
            int ptr = u8(recordRoute + 2);
            putAddress(recordRoute + ptr - 5, egressSource);
            changed = true;
        }
    }

    /**
     * ip_forward_options for a followed source route: the entry holding the next hop (searched from the pointer) gets
     * {@code egressSource} and the pointer moves past it; with a timestamp option that records addresses, its last
     * address entry gets it too (as Linux does only here). Returns the next hop, the datagram's new destination, or
     * 0 when the next hop is no longer in the option (Linux: "Destination lost", left as it is).
     */
    int forwardSourceRoute(int egressSource) {
        int length = u8(sourceRoute + 1);
        int ptr = u8(sourceRoute + 2);
        for (; ptr <= length; ptr += 4) {
            if (ptr + 3 > length) {
                return 0;
            }
            if (s.get(U32, ip + sourceRoute + ptr - 1) == nextHop) {
                break;
            }
        }
        if (ptr + 3 > length) {
            return 0;
        }
        putAddress(sourceRoute + ptr - 1, egressSource);
        put(sourceRoute + 2, ptr + 4);
        if (timestampNeedsAddress(state)) {
            int ts = timestampAt(state);
            putAddress(ts + u8(ts + 2) - 9, egressSource);
        }
        changed = true;
        return nextHop;
    }

    /** inet_current_timestamp: milliseconds since midnight UTC. */
    public static int millisSinceMidnight(long nowNanos) {
        long ms = Math.floorDiv(nowNanos, 1_000_000L);
        return (int) Math.floorMod(ms, 86_400_000L);
    }

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);

    private int u8(int at) {
        return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, ip + at));
    }

    private void put(int at, int v) {
        s.set(ValueLayout.JAVA_BYTE, ip + at, (byte) v);
    }

    private void putAddress(int at, int v) {
        s.set(U32, ip + at, v);
    }
}
