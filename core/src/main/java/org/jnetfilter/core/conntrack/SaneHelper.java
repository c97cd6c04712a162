package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;

/**
 * The sane helper (nf_conntrack_sane.c, IPv4 and IPv6): a SANE client's NET_START request is answered with the
 * port of the data connection, which the client opens to the server; the helper expects it.
 *
 * <pre>
 *   client's request (exactly 8 bytes)     server's reply (8 bytes or more)
 *   +------------------+--------------+    +------------------+-------+-------+-----
 *   | RPC code (7)     | handle       |    | status (0 = ok)  | 0     | port  | ...
 *   +------------------+--------------+    +------------------+-------+-------+-----
 * </pre>
 *
 * Per connection one bit of state (nf_ct_sane_master.state): a client segment of 8 bytes sets it when its code is
 * NET_START and clears it otherwise (other lengths leave it); the next server segment with data clears it and,
 * when it reads status 0 and a zero half-word, expects a TCP connection from the client's original address (any
 * port) to the server's original address at the port. Only ESTABLISHED packets are read. No NAT helper exists:
 * the expected connection is translated as the nat table says. max_expected 1, timeout 300 s.
 *
 * <p>Packet thread; allocates the expectation.
 */
final class SaneHelper extends ConntrackHelper {
    // Linux: SANE_NET_START, SANE_STATUS_SUCCESS
    private static final int NET_START = 7;
    private static final int STATUS_SUCCESS = 0;

    SaneHelper() {
        // Linux: sane_exp_policy: max_expected 1, timeout 5 * 60 s
        super("sane", Protocol.TCP, true, 1, 5 * 60);
    }

    @Override
    int help(PacketContext pkt, Connection ct, int ctinfo, int protoff, long now) {
        int dataoff = tcpPayload(pkt, ctinfo, protoff);
        if (dataoff < 0) {
            return Verdict.ACCEPT;
        }
        int len = pkt.length();
        int datalen = len - dataoff;
        int port;
        synchronized (ct) {
            if (CtInfo.direction(ctinfo) == 0) {
                if (datalen == 8) {
                    ct.saneStartRequested = u32(pkt, dataoff) == NET_START;
                }
                return Verdict.ACCEPT;
            }
            if (!ct.saneStartRequested) {
                return Verdict.ACCEPT;
            }
            ct.saneStartRequested = false;
            if (datalen < 8 || u32(pkt, dataoff) != STATUS_SUCCESS || pkt.networkU16(dataoff + 4) != 0) {
                // Linux: too short, saned refused, or an invalid reply
                return Verdict.ACCEPT;
            }
            port = pkt.networkU16(dataoff + 6);
        }
        Tuple o = ct.original;
        Expectation exp = new Expectation(ct, ct.family(), Protocol.TCP, o.srcHi, o.srcLo, o.dstHi, o.dstLo, port);
        // Linux: "Can't expect this?  Best to drop packet now."
        return ct.owner.expectRelated(exp, now) == 0 ? Verdict.ACCEPT : Verdict.DROP;
    }

}
