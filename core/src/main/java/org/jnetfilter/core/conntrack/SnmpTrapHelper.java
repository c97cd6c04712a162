package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.nat.HelperNat;
import org.jnetfilter.core.netfilter.PacketContext;

/**
 * The snmp_trap helper (nf_nat_snmp_basic_main.c, IPv4, UDP; registered for port 162, assigned by a CT template as
 * any helper): expects nothing (max_expected 0, timeout 180 s), it only rewrites the IP addresses an SNMP message
 * carries when the connection is translated ({@link HelperNat#snmp}).
 *
 * <p>Packet thread; allocates only on a translated connection (see {@link HelperNat#snmp}).
 */
final class SnmpTrapHelper extends ConntrackHelper {
    SnmpTrapHelper() {
        // Linux: snmp_exp_policy: max_expected 0, timeout 180 s
        super("snmp_trap", Protocol.UDP, false, 0, 180);
    }

    @Override
    int help(PacketContext pkt, Connection ct, int ctinfo, int protoff, long now) {
        return HelperNat.snmp(pkt, ct, ctinfo, protoff);
    }
}
