package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.nat.HelperNat;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;

/**
 * The snmp helper (nf_conntrack_snmp.c over nf_conntrack_broadcast.c, IPv4, UDP): a manager's request the host
 * broadcasts is answered by unicast from every agent of the subnet, so, as netbios-ns does for port 137, a
 * broadcast from a local socket expects the answers from port 161 of any host of the broadcast address's subnet
 * ({@link ConntrackHelper#broadcastHelp}), PERMANENT, and keeps the master 30 s (the module's {@code timeout},
 * also the expectation's; max_expected 1). On a translated connection every datagram then goes through
 * nf_nat_snmp_basic's address rewrite ({@link HelperNat#snmp}), which may drop it.
 *
 * <p>Packet thread; allocates the expectation.
 */
final class SnmpHelper extends ConntrackHelper {
    // Linux: SNMP_PORT
    static final int SNMP_PORT = 161;
    // Linux: module parameter timeout = 30 s (policy timeout and master timeout)
    private static final long TIMEOUT = 30;

    SnmpHelper() {
        super("snmp", Protocol.UDP, false, 1, TIMEOUT);
    }

    @Override
    int help(PacketContext pkt, Connection ct, int ctinfo, int protoff, long now) {
        broadcastHelp(pkt, ct, ctinfo, SNMP_PORT, TIMEOUT, now);
        // Linux: nf_nat_snmp_hook, set while nf_nat_snmp_basic is loaded (built in here)
        if ((ct.status & Connection.NAT_MASK) != 0) {
            return HelperNat.snmp(pkt, ct, ctinfo, protoff);
        }
        return Verdict.ACCEPT;
    }
}
