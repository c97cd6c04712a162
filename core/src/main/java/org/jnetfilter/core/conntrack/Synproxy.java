package org.jnetfilter.core.conntrack;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.LongAdder;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Family;

/**
 * SYNPROXY of one network namespace (net/netfilter/nf_synproxy_core.c with xt_SYNPROXY's target): the proxy answers
 * a client's SYN itself with a SYN cookie, and only when the client's ACK proves the cookie does it open the
 * connection to the server, then splices the two halves together with sequence number and timestamp offsets.
 *
 * <pre>
 *   client                      proxy (SYNPROXY target, INPUT/FORWARD)              server
 *   SYN ─────────────────────►  target: SYN-ACK, ISN = cookie, tsval = ts cookie
 *   ◄───────────────────────── (STOLEN: the SYN goes no further)
 *   ACK (ack = cookie + 1) ──►  target: cookie valid → SYN to the server, with the
 *                               client's options recovered from the cookies, on the
 *                               synproxy template (the new connection gets the
 *                               synproxy and seqadj extensions)      ───────────────►
 *                               hook (POSTROUTING, SYN_SENT): isn, its remembered
 *                               hook (POSTROUTING/INPUT, SYN_RECV) ◄────────────────── SYN-ACK
 *                               ACK to the server                    ───────────────►
 *   ◄───────────────────────── window update to the client; seqadj = isn - server ISN, tsoff
 *   later packets: seq/ack moved by seqadj at the confirm hook, timestamps by tsoff in the hook
 * </pre>
 *
 * <p>{@link #target} is synproxy_tg4/tg6, {@link #hook} is ipv4/ipv6_synproxy_hook (INPUT and POSTROUTING at
 * {@code NF_IP_PRI_CONNTRACK_CONFIRM - 1}, registered by {@link SynproxyModule}). Generated packets go through
 * ip_local_out ({@link PacketContext#localOut}): OUTPUT, POSTROUTING, with the connection Linux attaches.
 *
 * <p>Per namespace ({@code synproxy_net}): the template, the counters of {@code /proc/net/stat/synproxy} and the
 * cookie secrets ({@link SynCookies}), drawn from the packet's random source on first use as the kernel draws
 * its boot secret once. Packet threads; a SYN or a cookie ACK builds its answer in a per-thread scratch buffer
 * (no allocation after the first on a thread, but for the siphash state the JIT scalar-replaces); the hook on an
 * established connection allocates nothing.
 */
public final class Synproxy {
    // Linux: NF_SYNPROXY_OPT_* (include/uapi/linux/netfilter/nf_synproxy.h), the same bits as XT_SYNPROXY_OPT_*
    public static final int OPT_MSS = 0x01;
    public static final int OPT_WSCALE = 0x02;
    public static final int OPT_SACK_PERM = 0x04;
    public static final int OPT_TIMESTAMP = 0x08;
    public static final int OPT_ECN = 0x10;

    // Linux: TCPOPT_* and TCPOLEN_* (include/net/tcp.h)
    private static final int TCPOPT_EOL = 0;
    private static final int TCPOPT_NOP = 1;
    private static final int TCPOPT_MSS = 2;
    private static final int TCPOPT_WINDOW = 3;
    private static final int TCPOPT_SACK_PERM = 4;
    private static final int TCPOPT_TIMESTAMP = 8;
    private static final int TCPOLEN_MSS = 4;
    private static final int TCPOLEN_WINDOW = 3;
    private static final int TCPOLEN_SACK_PERM = 2;
    private static final int TCPOLEN_TIMESTAMP = 10;
    // Linux: TCP_MAX_WSCALE
    private static final int TCP_MAX_WSCALE = 14;

    private static final int FIN = 0x01;
    private static final int SYN = 0x02;
    private static final int RST = 0x04;
    private static final int ACK = 0x10;
    private static final int ECE = 0x40;
    private static final int CWR = 0x80;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** struct synproxy_options: what one TCP header says, and what the proxy answers with. */
    static final class Options {
        int options;
        int wscale;
        int mssOption;
        int mssEncode;
        int tsval;
        int tsecr;

        Options clear() {
            options = 0;
            wscale = 0;
            mssOption = 0;
            mssEncode = 0;
            tsval = 0;
            tsecr = 0;
            return this;
        }
    }

    private static final class Scratch {
        final Options options = new Options();
        // the largest answer: an IPv6 header and a TCP header with 20 bytes of options
        final MemorySegment out = MemorySegment.ofArray(new byte[40 + 40]);
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final Connection template = Connection.synproxyTemplate();
    private volatile SynCookies cookies;
    private final LongAdder synReceived = new LongAdder();
    private final LongAdder cookieInvalid = new LongAdder();
    private final LongAdder cookieValid = new LongAdder();
    private final LongAdder cookieRetrans = new LongAdder();
    private final LongAdder connReopened = new LongAdder();

    /** A namespace's proxy whose cookie secrets are drawn from the first packet's random source. */
    public Synproxy() {
    }

    /** A proxy with these cookie secrets. */
    public Synproxy(SynCookies cookies) {
        this.cookies = cookies;
    }

    /** The proxy of {@code host}'s namespace (synproxy_pernet). */
    public static Synproxy of(Host host) {
        return host.pernet(Synproxy.class, Synproxy::new);
    }

    private SynCookies cookies(PacketContext pkt) {
        SynCookies c = cookies;
        if (c == null) {
            synchronized (this) {
                c = cookies;
                if (c == null) {
                    // Linux: net_get_random_once(syncookie_secret): drawn once, on the first cookie
                    long[] v4 = new long[4];
                    long[] v6 = new long[4];
                    for (int i = 0; i < 4; i++) {
                        v4[i] = pkt.random().nextLong();
                        v6[i] = pkt.random().nextLong();
                    }
                    c = new SynCookies(v4, v6);
                    cookies = c;
                }
            }
        }
        return c;
    }

    // ---- counters: /proc/net/stat/synproxy ----

    public long synReceived() {
        return synReceived.sum();
    }

    public long cookieInvalid() {
        return cookieInvalid.sum();
    }

    public long cookieValid() {
        return cookieValid.sum();
    }

    public long cookieRetrans() {
        return cookieRetrans.sum();
    }

    public long connReopened() {
        return connReopened.sum();
    }

    /**
     * {@code /proc/net/stat/synproxy} as the kernel prints it, with one line of totals where the kernel prints one
     * per possible CPU (sum the kernel's lines to compare).
     */
    public String procStat() {
        return "entries\t\tsyn_received\tcookie_invalid\tcookie_valid\tcookie_retrans\tconn_reopened\n"
                + String.format("%08x\t%08x\t%08x\t%08x\t%08x\t%08x%n", 0, synReceived() & 0xFFFFFFFFL,
                        cookieInvalid() & 0xFFFFFFFFL, cookieValid() & 0xFFFFFFFFL, cookieRetrans() & 0xFFFFFFFFL,
                        connReopened() & 0xFFFFFFFFL);
    }

    // ---- the target: synproxy_tg4 / synproxy_tg6 ----

    /**
     * The SYNPROXY target with its rule's options ({@code infoOptions} the OPT_* bits, {@code infoWscale},
     * {@code infoMss}): a SYN is answered with a cookie SYN-ACK (STOLEN), an ACK with a valid cookie opens the
     * connection to the server (STOLEN; DROP when the cookie is not valid), other packets continue.
     */
    public int target(PacketContext pkt, int infoOptions, int infoWscale, int infoMss) {
        int thoff = pkt.transportOffset();
        if (!pkt.transportAvailable(20) || !checksumValid(pkt)) {
            // Linux: nf_ip_checksum / nf_ip6_checksum fails, or skb_header_pointer finds no header
            return Verdict.DROP;
        }
        Scratch scratch = SCRATCH.get();
        Options o = scratch.options.clear();
        if (!parseOptions(pkt, thoff, o)) {
            return Verdict.DROP;
        }
        int flags = pkt.transportU8(13);
        if ((flags & SYN) != 0 && (flags & (ACK | FIN | RST)) == 0) {
            // Linux: the initial SYN from the client
            synReceived.increment();
            if ((flags & ECE) != 0 && (flags & CWR) != 0) {
                o.options |= OPT_ECN;
            }
            o.options &= infoOptions;
            o.mssEncode = o.mssOption;
            o.mssOption = infoMss;
            if ((o.options & OPT_TIMESTAMP) != 0) {
                initTimestampCookie(infoWscale, o, pkt.nowNanos());
            } else {
                o.options &= ~(OPT_WSCALE | OPT_SACK_PERM | OPT_ECN);
            }
            sendClientSynack(pkt, thoff, o, scratch.out);
            return Verdict.STOLEN;
        }
        if ((flags & ACK) != 0 && (flags & (FIN | RST | SYN)) == 0) {
            // Linux: the client's ACK of the cookie SYN-ACK
            return recvClientAck(pkt, thoff, o, seq(pkt, thoff), scratch.out) ? Verdict.STOLEN : Verdict.DROP;
        }
        return Verdict.CONTINUE;
    }

    private static boolean checksumValid(PacketContext pkt) {
        if (pkt.transportChecksumPartial()) {
            return true;
        }
        MemorySegment s = pkt.segment();
        long net = pkt.networkOffset();
        int thoff = pkt.transportOffset();
        int len = pkt.length() - thoff;
        if (pkt.family() == Family.IPV4) {
            return Checksums.tcpV4Valid(s, net + thoff, len, s.get(U32, net + 12), s.get(U32, net + 16));
        }
        return Checksums.tcpV6Valid(s, net, net + thoff, len);
    }

    /** synproxy_init_timestamp_cookie: the client's wscale, SACK and ECN in the low 6 bits of the proxy's tsval. */
    static void initTimestampCookie(int infoWscale, Options o, long nowNanos) {
        o.tsecr = o.tsval;
        // Linux: tcp_clock_ms() & ~0x3f
        o.tsval = (int) (nowNanos / 1_000_000L) & ~0x3f;
        if ((o.options & OPT_WSCALE) != 0) {
            o.tsval |= o.wscale;
            o.wscale = infoWscale;
        } else {
            o.tsval |= 0xf;
        }
        if ((o.options & OPT_SACK_PERM) != 0) {
            o.tsval |= 1 << 4;
        }
        if ((o.options & OPT_ECN) != 0) {
            o.tsval |= 1 << 5;
        }
    }

    /** synproxy_check_timestamp_cookie: what the echoed tsval says of the client's options. */
    static void checkTimestampCookie(Options o) {
        o.wscale = o.tsecr & 0xf;
        if (o.wscale != 0xf) {
            o.options |= OPT_WSCALE;
        }
        if ((o.tsecr & (1 << 4)) != 0) {
            o.options |= OPT_SACK_PERM;
        }
        if ((o.tsecr & (1 << 5)) != 0) {
            o.options |= OPT_ECN;
        }
    }

    private void sendClientSynack(PacketContext pkt, int thoff, Options o, MemorySegment out) {
        MemorySegment s = pkt.segment();
        long th = pkt.networkOffset() + thoff;
        boolean v4 = pkt.family() == Family.IPV4;
        int[] table = v4 ? SynCookies.MSS_V4 : SynCookies.MSS_V6;
        int mssind = SynCookies.mssIndex(table, o.mssEncode);
        int sport = u16(s, th);
        int dport = u16(s, th + 2);
        int seq = s.get(U32, th + 4);
        SynCookies c = cookies(pkt);
        int cookie = v4
                ? c.initV4(s.get(U32, pkt.networkOffset() + 12), s.get(U32, pkt.networkOffset() + 16), sport, dport,
                        seq, mssind, pkt.nowNanos())
                : c.initV6(pkt.sourceHi(), pkt.sourceLo(), pkt.destinationHi(), pkt.destinationLo(), sport, dport,
                        seq, mssind, pkt.nowNanos());
        int flags = SYN | ACK | ((o.options & OPT_ECN) != 0 ? ECE : 0);
        int n = build(out, pkt, true, dport, sport, cookie, seq + 1, flags, 0, o);
        pkt.localOut(out.asSlice(0, n), pkt.conntrack(), CtInfo.ESTABLISHED_REPLY);
    }

    /** synproxy_recv_client_ack: checks the cookie and sends the server the client's SYN again. */
    private boolean recvClientAck(PacketContext pkt, int thoff, Options o, int recvSeq, MemorySegment out) {
        MemorySegment s = pkt.segment();
        long th = pkt.networkOffset() + thoff;
        int sport = u16(s, th);
        int dport = u16(s, th + 2);
        int seq = s.get(U32, th + 4);
        int ackSeq = s.get(U32, th + 8);
        SynCookies c = cookies(pkt);
        int mss = pkt.family() == Family.IPV4
                ? c.checkV4(s.get(U32, pkt.networkOffset() + 12), s.get(U32, pkt.networkOffset() + 16), sport, dport,
                        seq, ackSeq, pkt.nowNanos())
                : c.checkV6(pkt.sourceHi(), pkt.sourceLo(), pkt.destinationHi(), pkt.destinationLo(), sport, dport,
                        seq, ackSeq, pkt.nowNanos());
        if (mss == 0) {
            cookieInvalid.increment();
            return false;
        }
        cookieValid.increment();
        o.mssOption = mss;
        o.options |= OPT_MSS;
        if ((o.options & OPT_TIMESTAMP) != 0) {
            checkTimestampCookie(o);
        }
        // synproxy_send_server_syn: the ack relays the proxy's ISN to the hook
        int flags = SYN | ((o.options & OPT_ECN) != 0 ? ECE | CWR : 0);
        int n = build(out, pkt, false, sport, dport, recvSeq - 1, ackSeq - 1, flags, u16(s, th + 14), o);
        pkt.localOut(out.asSlice(0, n), template, CtInfo.NEW);
        return true;
    }

    // ---- the hook: ipv4_synproxy_hook / ipv6_synproxy_hook ----

    /**
     * The hook at INPUT and POSTROUTING before conntrack confirms: on connections made from the template it
     * remembers the proxy's ISN and timestamp from its SYN to the server, answers the server's SYN-ACK (ACK to
     * the server, window update to the client, sequence offset set) and adjusts timestamps of later packets.
     */
    public int hook(PacketContext pkt) {
        Connection ct = pkt.conntrack();
        if (ct == null || !ct.synproxy || ct.isTemplate() || Conntrack.loopback(pkt)
                || pkt.protocol() != Protocol.TCP || pkt.fragmentOffset() != 0) {
            return Verdict.ACCEPT;
        }
        int thoff = pkt.transportOffset();
        if (!pkt.transportAvailable(20)) {
            return Verdict.DROP;
        }
        MemorySegment s = pkt.segment();
        long th = pkt.networkOffset() + thoff;
        int flags = pkt.transportU8(13);
        int dir = CtInfo.direction(pkt.ctInfo());
        Scratch scratch = null;
        Options o = null;
        switch (ct.tcpState) {
            case Connection.TCP_CLOSE:
                if ((flags & RST) != 0 && dir != 0) {
                    SeqAdjust.init(ct, dir, ct.synproxyIsn - s.get(U32, th + 4) + 1);
                    break;
                }
                if ((flags & SYN) == 0 || (flags & ACK) != 0 || dir != 0) {
                    break;
                }
                // Linux: a reopened connection: the offsets are set again once it is re-established
                SeqAdjust.init(ct, dir, 0);
                ct.synproxyTsoff = 0;
                connReopened.increment();
                // fall through
            case Connection.TCP_SYN_SENT:
                scratch = SCRATCH.get();
                o = scratch.options.clear();
                if (!parseOptions(pkt, thoff, o)) {
                    return Verdict.DROP;
                }
                if ((flags & SYN) == 0 && (flags & ACK) != 0 && dir == 0) {
                    // Linux: keep-alives are sent with SEG.SEQ = SND.NXT - 1: + 1 gives the first SYN's
                    if (recvClientAck(pkt, thoff, o, s.get(U32, th + 4) + 1, scratch.out)) {
                        cookieRetrans.increment();
                        return Verdict.STOLEN;
                    }
                    return Verdict.DROP;
                }
                ct.synproxyIsn = s.get(U32, th + 8);
                if ((o.options & OPT_TIMESTAMP) != 0) {
                    ct.synproxyIts = o.tsecr;
                }
                break;
            case Connection.TCP_SYN_RECV:
                if ((flags & SYN) == 0 || (flags & ACK) == 0) {
                    break;
                }
                scratch = SCRATCH.get();
                o = scratch.options.clear();
                if (!parseOptions(pkt, thoff, o)) {
                    return Verdict.DROP;
                }
                if ((o.options & OPT_TIMESTAMP) != 0) {
                    ct.synproxyTsoff = o.tsval - ct.synproxyIts;
                }
                o.options &= ~(OPT_MSS | OPT_WSCALE | OPT_SACK_PERM);
                swapTimestamps(o);
                sendServerAck(pkt, th, ct, o, scratch.out);
                SeqAdjust.init(ct, dir, ct.synproxyIsn - s.get(U32, th + 4));
                swapTimestamps(o);
                sendClientAck(pkt, th, o, scratch.out);
                return Verdict.STOLEN;
            default:
                break;
        }
        tstampAdjust(pkt, thoff, ct, dir);
        return Verdict.ACCEPT;
    }

    private static void swapTimestamps(Options o) {
        int t = o.tsval;
        o.tsval = o.tsecr;
        o.tsecr = t;
    }

    /** synproxy_send_server_ack: the client's ACK of the server's SYN-ACK, as the client would have sent it. */
    private void sendServerAck(PacketContext pkt, long th, Connection ct, Options o, MemorySegment out) {
        MemorySegment s = pkt.segment();
        int window = ct.tdMaxWin[0] & 0xFFFF;
        int n = build(out, pkt, true, u16(s, th + 2), u16(s, th), s.get(U32, th + 8), s.get(U32, th + 4) + 1, ACK,
                window, o);
        pkt.localOut(out.asSlice(0, n), null, 0);
    }

    /** synproxy_send_client_ack: the window update to the client, as the server's ACK (seqadj moves it). */
    private void sendClientAck(PacketContext pkt, long th, Options o, MemorySegment out) {
        MemorySegment s = pkt.segment();
        int window = u16(s, th + 14) >>> o.wscale;
        int n = build(out, pkt, false, u16(s, th), u16(s, th + 2), s.get(U32, th + 4) + 1, s.get(U32, th + 8), ACK,
                window, o);
        pkt.localOut(out.asSlice(0, n), pkt.conntrack(), CtInfo.ESTABLISHED_REPLY);
    }

    /** synproxy_tstamp_adjust: the timestamp option moved by tsoff (tsval toward the client, tsecr toward the server). */
    static void tstampAdjust(PacketContext pkt, int thoff, Connection ct, int dir) {
        int tsoff = ct.synproxyTsoff;
        if (tsoff == 0) {
            return;
        }
        MemorySegment s = pkt.segment();
        long base = pkt.networkOffset();
        int doff = (pkt.transportU8(12) >>> 4) * 4;
        int optoff = thoff + 20;
        int optend = thoff + doff;
        if (optend > pkt.length()) {
            return;
        }
        while (optoff < optend) {
            int kind = u8(s, base + optoff);
            if (kind == TCPOPT_EOL) {
                return;
            }
            if (kind == TCPOPT_NOP) {
                optoff++;
                continue;
            }
            if (optoff + 1 == optend) {
                return;
            }
            int len = u8(s, base + optoff + 1);
            if (optoff + len > optend || len < 2) {
                return;
            }
            if (kind == TCPOPT_TIMESTAMP && len == TCPOLEN_TIMESTAMP) {
                long at = base + optoff + (dir == 1 ? 2 : 6);
                int old = s.get(U32, at);
                int neu = dir == 1 ? old - tsoff : old + tsoff;
                s.set(U32, at, neu);
                long check = base + thoff + 16;
                s.set(U16, check, (short) Checksums.update32(u16(s, check), old, neu));
                return;
            }
            optoff += len;
        }
    }

    // ---- options and packets ----

    /** synproxy_parse_options: false when the header's options cannot be read. */
    static boolean parseOptions(PacketContext pkt, int thoff, Options o) {
        MemorySegment s = pkt.segment();
        int doff = (pkt.transportU8(12) >>> 4) * 4;
        int length = doff - 20;
        if (length < 0 || thoff + doff > pkt.length()) {
            return false;
        }
        long p = pkt.networkOffset() + thoff + 20;
        o.options = 0;
        while (length > 0) {
            int opcode = u8(s, p++);
            if (opcode == TCPOPT_EOL) {
                return true;
            }
            if (opcode == TCPOPT_NOP) {
                length--;
                continue;
            }
            if (length < 2) {
                return true;
            }
            int opsize = u8(s, p++);
            if (opsize < 2 || opsize > length) {
                return true;
            }
            switch (opcode) {
                case TCPOPT_MSS -> {
                    if (opsize == TCPOLEN_MSS) {
                        o.mssOption = u16(s, p);
                        o.options |= OPT_MSS;
                    }
                }
                case TCPOPT_WINDOW -> {
                    if (opsize == TCPOLEN_WINDOW) {
                        o.wscale = Math.min(u8(s, p), TCP_MAX_WSCALE);
                        o.options |= OPT_WSCALE;
                    }
                }
                case TCPOPT_TIMESTAMP -> {
                    if (opsize == TCPOLEN_TIMESTAMP) {
                        o.tsval = s.get(U32, p);
                        o.tsecr = s.get(U32, p + 4);
                        o.options |= OPT_TIMESTAMP;
                    }
                }
                case TCPOPT_SACK_PERM -> {
                    if (opsize == TCPOLEN_SACK_PERM) {
                        o.options |= OPT_SACK_PERM;
                    }
                }
                default -> {
                }
            }
            p += opsize - 2;
            length -= opsize;
        }
        return true;
    }

    /** synproxy_options_size. */
    static int optionsSize(Options o) {
        int size = 0;
        if ((o.options & OPT_MSS) != 0) {
            size += 4;
        }
        if ((o.options & OPT_TIMESTAMP) != 0) {
            size += 12;
        } else if ((o.options & OPT_SACK_PERM) != 0) {
            size += 4;
        }
        if ((o.options & OPT_WSCALE) != 0) {
            size += 4;
        }
        return size;
    }

    /** synproxy_build_options: MSS, then SACK-permitted and timestamp (NOP-padded), then NOP and window scale. */
    static void buildOptions(MemorySegment out, long at, Options o) {
        int opts = o.options;
        if ((opts & OPT_MSS) != 0) {
            out.set(U32, at, TCPOPT_MSS << 24 | TCPOLEN_MSS << 16 | (o.mssOption & 0xFFFF));
            at += 4;
        }
        if ((opts & OPT_TIMESTAMP) != 0) {
            int lead = (opts & OPT_SACK_PERM) != 0 ? TCPOPT_SACK_PERM << 24 | TCPOLEN_SACK_PERM << 16
                    : TCPOPT_NOP << 24 | TCPOPT_NOP << 16;
            out.set(U32, at, lead | TCPOPT_TIMESTAMP << 8 | TCPOLEN_TIMESTAMP);
            out.set(U32, at + 4, o.tsval);
            out.set(U32, at + 8, o.tsecr);
            at += 12;
        } else if ((opts & OPT_SACK_PERM) != 0) {
            out.set(U32, at, TCPOPT_NOP << 24 | TCPOPT_NOP << 16 | TCPOPT_SACK_PERM << 8 | TCPOLEN_SACK_PERM);
            at += 4;
        }
        if ((opts & OPT_WSCALE) != 0) {
            out.set(U32, at, TCPOPT_NOP << 24 | TCPOPT_WINDOW << 16 | TCPOLEN_WINDOW << 8 | (o.wscale & 0xFF));
        }
    }

    /**
     * synproxy_build_ip / synproxy_build_ip_ipv6 and the TCP header: a datagram from the packet's destination to
     * its source ({@code reverse}) or along it, TTL {@code ip_default_ttl} (hop limit {@code conf.all.hop_limit}),
     * IPv4 ID 0 and DF, TOS and flow label 0, the TCP checksum complete. Returns its length.
     */
    private static int build(MemorySegment out, PacketContext pkt, boolean reverse, int sport, int dport, int seq,
            int ack, int flags, int window, Options o) {
        MemorySegment s = pkt.segment();
        long net = pkt.networkOffset();
        int tcpLen = 20 + optionsSize(o);
        int ipLen;
        Host host = pkt.host();
        if (pkt.family() == Family.IPV4) {
            ipLen = 20;
            int src = s.get(U32, net + (reverse ? 16 : 12));
            int dst = s.get(U32, net + (reverse ? 12 : 16));
            out.set(U32, 0, 0x45 << 24 | (ipLen + tcpLen));
            // Linux: id 0, DF
            out.set(U32, 4, 0x4000);
            out.set(U32, 8, setting(host, "net.ipv4.ip_default_ttl", 64) << 24 | Checksums.PROTO_TCP << 16);
            out.set(U32, 12, src);
            out.set(U32, 16, dst);
            out.set(U16, 10, (short) Checksums.ipv4Header(out, 0));
        } else {
            ipLen = 40;
            out.set(U32, 0, 6 << 28);
            out.set(U32, 4, tcpLen << 16 | Checksums.PROTO_TCP << 8 | setting(host, "net.ipv6.conf.all.hop_limit", 64));
            out.set(U64, reverse ? 24 : 8, pkt.sourceHi());
            out.set(U64, reverse ? 32 : 16, pkt.sourceLo());
            out.set(U64, reverse ? 8 : 24, pkt.destinationHi());
            out.set(U64, reverse ? 16 : 32, pkt.destinationLo());
        }
        long th = ipLen;
        out.set(U16, th, (short) sport);
        out.set(U16, th + 2, (short) dport);
        out.set(U32, th + 4, seq);
        out.set(U32, th + 8, ack);
        out.set(U16, th + 12, (short) ((tcpLen / 4) << 12 | flags));
        out.set(U16, th + 14, (short) window);
        out.set(U32, th + 16, 0);
        buildOptions(out, th + 20, o);
        int check = pkt.family() == Family.IPV4
                ? Checksums.tcpV4(out, th, tcpLen, out.get(U32, 12), out.get(U32, 16))
                : Checksums.tcpV6(out, 0, th, tcpLen);
        out.set(U16, th + 16, (short) check);
        return ipLen + tcpLen;
    }

    /** A sysctl of the host, or Linux's default when the host does not model it. */
    private static int setting(Host host, String name, int linuxDefault) {
        String v = host.sysctl(name);
        return v == null ? linuxDefault : Integer.parseInt(v.strip());
    }

    private static int seq(PacketContext pkt, int thoff) {
        return pkt.segment().get(U32, pkt.networkOffset() + thoff + 4);
    }

    private static int u8(MemorySegment s, long at) {
        return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at));
    }

    private static int u16(MemorySegment s, long at) {
        return Short.toUnsignedInt(s.get(U16, at));
    }
}
