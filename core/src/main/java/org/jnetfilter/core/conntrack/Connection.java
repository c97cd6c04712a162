package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.rules.Family;

/**
 * One connection tracking entry ({@code struct nf_conn}): its tuples in both directions, protocol state,
 * status bits, mark, labels, timeout, counters and NAT bindings. A packet carries a reference to it in
 * {@link org.jnetfilter.core.netfilter.PacketContext#conntrack()}.
 *
 * <p>Life cycle as in the kernel: created unconfirmed by {@link Conntrack#in} for the first packet of a
 * flow (its timeout then relative, in jiffies), confirmed (hashed, timeout made absolute) when that packet
 * reaches the confirm hook, expired when {@code timeout - jiffies <= 0} on the packet clock. A CT target's
 * template is a Connection too ({@link #isTemplate()}), never hashed.
 *
 * <p>Threading: protocol state changes under the connection's own lock (the kernel's {@code ct->lock});
 * status bits, mark and labels are plain fields written by the packet thread that owns the packet, as the
 * kernel writes them with atomic bit operations; readers on other threads see them eventually.
 */
public final class Connection {
    // Linux: enum ip_conntrack_status (include/uapi/linux/netfilter/nf_conntrack_common.h)
    public static final int EXPECTED = 1;
    public static final int SEEN_REPLY = 1 << 1;
    public static final int ASSURED = 1 << 2;
    public static final int CONFIRMED = 1 << 3;
    public static final int SRC_NAT = 1 << 4;
    public static final int DST_NAT = 1 << 5;
    public static final int NAT_MASK = SRC_NAT | DST_NAT;
    public static final int SEQ_ADJUST = 1 << 6;
    public static final int SRC_NAT_DONE = 1 << 7;
    public static final int DST_NAT_DONE = 1 << 8;
    public static final int NAT_DONE_MASK = SRC_NAT_DONE | DST_NAT_DONE;
    public static final int DYING = 1 << 9;
    public static final int FIXED_TIMEOUT = 1 << 10;
    public static final int TEMPLATE = 1 << 11;
    public static final int NAT_CLASH = 1 << 12;
    public static final int HELPER = 1 << 13;

    // Linux: enum tcp_conntrack
    public static final int TCP_NONE = 0;
    public static final int TCP_SYN_SENT = 1;
    public static final int TCP_SYN_RECV = 2;
    public static final int TCP_ESTABLISHED = 3;
    public static final int TCP_FIN_WAIT = 4;
    public static final int TCP_CLOSE_WAIT = 5;
    public static final int TCP_LAST_ACK = 6;
    public static final int TCP_TIME_WAIT = 7;
    public static final int TCP_CLOSE = 8;
    public static final int TCP_SYN_SENT2 = 9;
    static final String[] TCP_STATE_NAMES = {"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
            "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2"};

    final Tuple original = new Tuple(this, 0);
    final Tuple reply = new Tuple(this, 1);
    final Conntrack owner;

    volatile int status;
    volatile long mark;
    volatile long secmark;
    long labelsHi;
    long labelsLo;
    boolean hasLabels;
    boolean hasCounters;
    final long[] packets = new long[2];
    final long[] bytes = new long[2];
    /** Jiffies: relative to confirmation while unconfirmed, then absolute (the kernel's ct->timeout). */
    long timeout;
    String helper = "";
    /** The helper that parses this connection's packets (nfct_help), or null. */
    ConntrackHelper helperFunction;
    /** The connection whose helper expected this one (ct->master), or null. */
    Connection master;
    /** Expectations of this master in the table (nf_conn_help.expecting[class 0]). */
    int expecting;
    /** Confirmed connections whose master this is: each holds a reference (conntrack -L's use=). */
    int children;
    // nf_ct_ftp_master: the sequence numbers just after a newline, per direction (NUM_SEQ_TO_REMEMBER = 2)
    final int[][] ftpSeqAfterNewline = new int[2][2];
    final int[] ftpSeqAfterNewlineCount = new int[2];
    // nf_ct_pptp_master (PptpHelper): session and call state, the call ids, the GRE keymap entries per direction
    /** nf_ct_h323_master.tpkt_len: per direction, the TPKT data length a lone TPKT header announced. */
    final int[] h323TpktLength = new int[2];
    /**
     * nf_ct_h323_master.sig_port: per direction, the call signalling port an RRQ registered (RAS), or (nf_nat_h323)
     * the port an h245Address named and the one it was translated to.
     */
    final int[] h323SignalPort = new int[2];
    /**
     * nf_ct_h323_master.rtp_port (nf_nat_h323): per RTP channel i, [2i + dir] the even port each side names; made
     * when a NATed connection first announces media.
     */
    int[] h323RtpPort;
    /** nf_ct_h323_master.timeout: the registration's time to live in seconds (RAS). */
    int h323Timeout;
    int pptpSession;
    int pptpCall;
    int pptpPnsCallId;
    int pptpPacCallId;
    /** The sip helper's CSeq of the last INVITE and REGISTER it accepted (nf_ct_sip_master). */
    long sipInviteCseq;
    long sipRegisterCseq;
    /** nf_ct_sip_master.forced_dport: the Via's port of a phone that sends from another, 0 for none. */
    int sipForcedPort;
    final Tuple[] greKeymap = new Tuple[2];
    // nf_nat_pptp: the call ids before nf_nat_pptp rewrote them
    int natPptpPnsCallId;
    int natPptpPacCallId;
    /** nf_ct_sane_master.state: a NET_START request awaits its reply (SaneHelper). */
    boolean saneStartRequested;
    // nf_conn_seqadj, per direction
    final int[] seqCorrectionPos = new int[2];
    final int[] seqOffsetBefore = new int[2];
    final int[] seqOffsetAfter = new int[2];
    int zone;
    boolean zoneFromMark;

    // ---- struct ip_ct_tcp ----
    int tcpState;
    final int[] tdEnd = new int[2];
    final int[] tdMaxEnd = new int[2];
    final int[] tdMaxWin = new int[2];
    final int[] tdMaxAck = new int[2];
    final int[] tdScale = new int[2];
    final int[] tcpFlags = new int[2];
    int lastDir;
    int lastIndex;
    int lastSeq;
    int lastAck;
    int lastEnd;
    int lastWin;
    int lastWscale;
    int lastFlags;
    int retrans;

    // ---- struct nf_conn_synproxy: present on connections the SYNPROXY hook created from its template ----
    boolean synproxy;
    /** The proxy's initial sequence number toward the client (the cookie). */
    int synproxyIsn;
    /** The timestamp the proxy sent the client (its timestamp cookie). */
    int synproxyIts;
    /** The server's timestamp clock minus the proxy's, taken off the timestamps of packets to the client. */
    int synproxyTsoff;

    /** MASQUERADE: the interface the connection was masqueraded on (nat->masq_index), or null. */
    volatile String masqueradeInterface;

    // ---- NAT's by-source index ----
    boolean inBySource;
    boolean bySourceLinked;
    Connection bySourceNext;

    // ---- struct ip_ct_sctp ----
    int sctpState;
    final int[] sctpVtag = new int[2];
    final boolean[] sctpInit = new boolean[2];
    int sctpFlags;
    int sctpLastDir;

    // ---- udp, gre ----
    long streamTs;
    long greStreamTimeout;
    long greTimeout;

    Connection(Conntrack owner) {
        this.owner = owner;
    }

    /** A CT target's template: zone and helper for the connection the packet will create. */
    public static Connection template(int zone, boolean zoneFromMark, String helper) {
        Connection c = new Connection(null);
        c.status = TEMPLATE;
        c.zone = zone;
        c.zoneFromMark = zoneFromMark;
        c.helper = helper == null ? "" : helper;
        return c;
    }

    /**
     * The SYNPROXY template (synproxy_net.tmpl): a connection created with it gets the seqadj and synproxy
     * extensions.
     */
    public static Connection synproxyTemplate() {
        Connection c = template(0, false, "");
        c.synproxy = true;
        return c;
    }

    /** MASQUERADE remembers the outgoing interface (nat->masq_index). */
    public void masqueradeInterface(String name) {
        masqueradeInterface = name;
    }

    /** The interface a MASQUERADE binding was made for, or null. */
    public String masqueradeInterface() {
        return masqueradeInterface;
    }

    /** The table the connection belongs to (null for a template). */
    public Conntrack table() {
        return owner;
    }

    public boolean isTemplate() {
        return (status & TEMPLATE) != 0;
    }

    /** The tuple of the original (0) or reply (1) direction. */
    public Tuple tuple(int direction) {
        return direction == 0 ? original : reply;
    }

    public Tuple original() {
        return original;
    }

    public Tuple reply() {
        return reply;
    }

    public Family family() {
        return original.family;
    }

    public int protocol() {
        return original.protocol;
    }

    /** The status bits ({@link #SEEN_REPLY}, {@link #ASSURED}, ...). */
    public int status() {
        return status;
    }

    public boolean hasStatus(int bits) {
        return (status & bits) != 0;
    }

    /** Sets status bits (set_bit). */
    public void addStatus(int bits) {
        synchronized (this) {
            status |= bits;
        }
    }

    public boolean isConfirmed() {
        return (status & CONFIRMED) != 0;
    }

    /** ct->mark, unsigned 32 bits. */
    public long mark() {
        return mark;
    }

    public void mark(long m) {
        mark = m & 0xFFFFFFFFL;
    }

    /** ct->secmark: the security id CONNSECMARK --save copied from a packet; 0 for none. */
    public long secmark() {
        return secmark;
    }

    public void secmark(long secid) {
        secmark = secid;
    }

    public int zone() {
        return zone;
    }

    /** The conntrack helper's name, "" for none (helpers are assigned by a CT --helper template only). */
    public String helper() {
        return helper;
    }

    /** The pptp helper's PNS call id (nf_ct_pptp_master.pns_call_id; after nf_nat_pptp, the rewritten one). */
    public int pptpPnsCallId() {
        return pptpPnsCallId;
    }

    /** The pptp helper's PAC call id (nf_ct_pptp_master.pac_call_id). */
    public int pptpPacCallId() {
        return pptpPacCallId;
    }

    /** nf_nat_pptp's saved PNS call id: the PNS's own, before the rewrite. */
    public int natPptpPnsCallId() {
        return natPptpPnsCallId;
    }

    /** nf_nat_pptp's saved PAC call id. */
    public int natPptpPacCallId() {
        return natPptpPacCallId;
    }

    /** The connection whose helper expected this one, or null (ct->master). */
    public Connection master() {
        return master;
    }

    /** The connection has a label area (connlabel rules existed when it was created). */
    public boolean hasLabels() {
        return hasLabels;
    }

    /** Bit {@code bit} (0..127) of the label bitmap. */
    public boolean label(int bit) {
        return bit < 64 ? (labelsLo >>> bit & 1) != 0 : (labelsHi >>> (bit - 64) & 1) != 0;
    }

    /** Sets a label bit; false when it was set already (test_and_set_bit). */
    public synchronized boolean setLabel(int bit) {
        boolean was = label(bit);
        if (bit < 64) {
            labelsLo |= 1L << bit;
        } else {
            labelsHi |= 1L << (bit - 64);
        }
        return !was;
    }

    /** The connection has accounting counters (nf_conntrack_acct, or a connbytes rule, when created). */
    public boolean hasCounters() {
        return hasCounters;
    }

    public long packets(int direction) {
        return packets[direction];
    }

    public long bytes(int direction) {
        return bytes[direction];
    }

    /** The TCP state ({@link #TCP_SYN_SENT} ...), for TCP connections. */
    public int tcpState() {
        return tcpState;
    }

    /** The SCTP state ({@code sctp_conntrack}: 0 NONE ... 8 HEARTBEAT_SENT), for SCTP connections. */
    public int sctpState() {
        return sctpState;
    }

    /** Seconds left before the entry expires at {@code nowNanos}, as conntrack and xt_conntrack compute them. */
    public long secondsLeft(long nowNanos) {
        // Linux: nf_ct_expires = max(timeout - jiffies, 0); an unconfirmed entry's timeout is relative, so 0
        long left = timeout - Conntrack.jiffies(nowNanos);
        return left <= 0 ? 0 : left / Conntrack.HZ;
    }

    /** nf_ct_is_expired. */
    public boolean isExpired(long nowNanos) {
        return isConfirmed() && timeout - Conntrack.jiffies(nowNanos) <= 0;
    }

    /** The timeout in jiffies (relative while unconfirmed). */
    long timeoutJiffies() {
        return timeout;
    }

    /** nf_ct_refresh_acct: the new timeout and the packet counted in its direction. */
    void refresh(long now, long extra, int direction, int length) {
        timeout = isConfirmed() ? now + extra : extra;
        account(direction, length);
    }

    /** nf_ct_refresh: a new timeout, no packet counted; not for a FIXED_TIMEOUT entry. */
    void refreshTimeout(long now, long extra) {
        if ((status & FIXED_TIMEOUT) == 0) {
            timeout = isConfirmed() ? now + extra : extra;
        }
    }

    void account(int direction, int length) {
        if (hasCounters) {
            packets[direction]++;
            bytes[direction] += length;
        }
    }

    /**
     * NAT: the reply tuple becomes {@code newReply} (nf_conntrack_alter_reply). Only for unconfirmed
     * connections, as the kernel warns otherwise.
     */
    public void alterReply(Tuple newReply) {
        if (isConfirmed()) {
            throw new IllegalStateException("reply tuple of a confirmed connection changed: " + this);
        }
        reply.copyFrom(newReply);
    }

    /** The {@code conntrack -L} line of this entry at {@code nowNanos}. */
    public String listLine(long nowNanos) {
        StringBuilder sb = new StringBuilder();
        appendListLine(sb, nowNanos);
        return sb.toString();
    }

    /**
     * libnetfilter_conntrack's default output (__snprintf_conntrack_default without extended output):
     * protocol name padded to 8, protocol number, seconds left, TCP state, the original tuple (and its
     * counters), [UNREPLIED], the reply tuple (and its counters), [ASSURED], mark, zone, helper, use (checked
     * against conntrack-tools 1.4.7: counters, zone and helper each alone; their order together assumed).
     */
    void appendListLine(StringBuilder sb, long nowNanos) {
        String name = Protocol.name(protocol());
        sb.append(name);
        for (int i = name.length(); i < 8; i++) {
            sb.append(' ');
        }
        sb.append(' ').append(protocol()).append(' ').append(secondsLeft(nowNanos)).append(' ');
        if (protocol() == Protocol.TCP) {
            sb.append(TCP_STATE_NAMES[tcpState]).append(' ');
        } else if (protocol() == Protocol.SCTP) {
            sb.append(SctpTracking.NAMES[sctpState]).append(' ');
        }
        original.appendTo(sb);
        if (hasCounters) {
            sb.append("packets=").append(packets[0]).append(" bytes=").append(bytes[0]).append(' ');
        }
        if (!hasStatus(SEEN_REPLY)) {
            sb.append("[UNREPLIED] ");
        }
        reply.appendTo(sb);
        if (hasCounters) {
            sb.append("packets=").append(packets[1]).append(" bytes=").append(bytes[1]).append(' ');
        }
        if (hasStatus(ASSURED)) {
            sb.append("[ASSURED] ");
        }
        sb.append("mark=").append(mark).append(' ');
        if (zone != 0) {
            sb.append("zone=").append(zone).append(' ');
        }
        if (!helper.isEmpty()) {
            sb.append("helper=").append(helper).append(' ');
        }
        // Linux: the entry's reference count: the table's, and one per expected connection (ct->master)
        sb.append("use=").append(1 + children);
    }

    @Override
    public String toString() {
        return listLine(0);
    }
}
