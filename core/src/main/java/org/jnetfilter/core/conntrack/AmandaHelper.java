package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.nat.HelperNat;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;

/**
 * The amanda helper (nf_conntrack_amanda.c, IPv4 and IPv6, UDP): the Amanda client's answer to the backup server
 * names up to three TCP ports the server then connects to.
 *
 * <pre>
 *   ... CONNECT DATA 50000 MESG 50001 INDEX 50002\n
 *       ^ first "CONNECT "; up to the next '\n', each of "DATA ", "MESG ", "INDEX " (first occurrence) and the
 *         number after it: at most 5 digits, not 0
 * </pre>
 *
 * Only reply-direction packets are read; each sets the master's timeout to 300 s (master_timeout), as replies
 * can be slow. Per keyword found, in that order, a TCP connection from the master's original source (any port)
 * to its original destination at the port is expected; a port of 0 (or no digits) ends the scan. A failed
 * expectation makes the verdict DROP, but the scan goes on. On a NATed IPv4 connection nf_nat_amanda takes the
 * port or the next free one above it and rewrites the number ({@link HelperNat#amanda}); then the last keyword's
 * result is the verdict. The scan bounds (after "CONNECT " to the '\n') are taken before any rewrite, as in the
 * kernel. max_expected 3, timeout 180 s.
 *
 * <p>Packet thread; allocates the expectations.
 */
final class AmandaHelper extends ConntrackHelper {
    // Linux: master_timeout = 300 s
    private static final long MASTER_TIMEOUT = 300;
    private static final String[] KEYWORDS = {"DATA ", "MESG ", "INDEX "};

    AmandaHelper() {
        // Linux: amanda_exp_policy: max_expected 3, timeout 180 s
        super("amanda", Protocol.UDP, true, 3, 180);
    }

    @Override
    int help(PacketContext pkt, Connection ct, int ctinfo, int protoff, long now) {
        if (CtInfo.direction(ctinfo) == 0) {
            return Verdict.ACCEPT;
        }
        // Linux: nf_ct_refresh(ct, master_timeout * HZ)
        ct.refreshTimeout(now, MASTER_TIMEOUT * Conntrack.HZ);
        int dataoff = protoff + 8;
        if (dataoff >= pkt.length()) {
            return Verdict.ACCEPT;
        }
        int start = find(pkt, "CONNECT ", dataoff, pkt.length());
        if (start < 0) {
            return Verdict.ACCEPT;
        }
        start += "CONNECT ".length();
        int stop = find(pkt, "\n", start, pkt.length());
        if (stop < 0) {
            return Verdict.ACCEPT;
        }
        int verdict = Verdict.ACCEPT;
        for (String keyword : KEYWORDS) {
            int off = find(pkt, keyword, start, stop);
            if (off < 0) {
                continue;
            }
            off += keyword.length();
            int n = Math.min(5, stop - off);
            long value = 0;
            int digits = 0;
            while (digits < n && isDigit(pkt.networkU8(off + digits))) {
                value = value * 10 + pkt.networkU8(off + digits) - '0';
                digits++;
            }
            int port = (int) (value & 0xFFFF);
            if (port == 0) {
                break;
            }
            Tuple o = ct.original;
            Expectation exp = new Expectation(ct, ct.family(), Protocol.TCP, o.srcHi, o.srcLo, o.dstHi, o.dstLo,
                    port);
            if (ct.family() == Family.IPV4 && (ct.status & Connection.NAT_MASK) != 0) {
                verdict = HelperNat.amanda(pkt, ct, ctinfo, protoff, off - dataoff, digits, exp, now);
            } else if (ct.owner.expectRelated(exp, now) != 0) {
                verdict = Verdict.DROP;
            }
        }
        return verdict;
    }

    /** skb_find_text: the network offset of the first {@code text} lying wholly in [from, to), or -1. */
    static int find(PacketContext pkt, String text, int from, int to) {
        int n = text.length();
        for (int i = from; i + n <= to; i++) {
            int j = 0;
            while (j < n && pkt.networkU8(i + j) == text.charAt(j)) {
                j++;
            }
            if (j == n) {
                return i;
            }
        }
        return -1;
    }

    private static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }
}
