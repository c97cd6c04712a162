package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.nat.HelperNat;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;

/**
 * The tftp helper (nf_conntrack_tftp.c): a read or write request (opcode 1 RRQ, 2 WRQ) expects the server's
 * answer from a new port: a UDP connection from the reply tuple's source (any port) to its destination address
 * and port. Every packet of the connection is read, its first included; other opcodes (DATA, ACK, ERROR) are
 * passed. On a NATed connection nf_nat_tftp adds the expectation so that the answer is translated back to the
 * client ({@link HelperNat#tftp}). Packet thread; allocates the expectation.
 */
final class TftpHelper extends ConntrackHelper {
    // Linux: TFTP_OPCODE_READ, TFTP_OPCODE_WRITE
    private static final int READ = 1;
    private static final int WRITE = 2;

    TftpHelper() {
        // Linux: tftp_exp_policy: max_expected 1, timeout 5 * 60 s
        super("tftp", Protocol.UDP, true, 1, 5 * 60);
    }

    @Override
    int help(PacketContext pkt, Connection ct, int ctinfo, int protoff, long now) {
        if (protoff + 8 + 2 > pkt.length()) {
            return Verdict.ACCEPT;
        }
        int opcode = pkt.networkU16(protoff + 8);
        if (opcode != READ && opcode != WRITE) {
            return Verdict.ACCEPT;
        }
        Tuple reply = ct.reply;
        Expectation exp = new Expectation(ct, ct.family(), Protocol.UDP, reply.srcHi, reply.srcLo, reply.dstHi,
                reply.dstLo, reply.dstId);
        if ((ct.status & Connection.NAT_MASK) != 0) {
            return HelperNat.tftp(exp, now);
        }
        // Linux: "cannot add expectation": dropped
        return ct.owner.expectRelated(exp, now) == 0 ? Verdict.ACCEPT : Verdict.DROP;
    }
}
