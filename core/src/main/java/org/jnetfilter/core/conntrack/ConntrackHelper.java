package org.jnetfilter.core.conntrack;

import java.util.List;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.RouteType;
import org.jnetfilter.core.nat.HelperNat;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;

/**
 * A conntrack helper ({@code struct nf_conntrack_helper}): reads the payload of a control connection and
 * creates {@link Expectation}s for the connections it announces. Linux 6.x assigns helpers explicitly only
 * (automatic assignment by port, nf_conntrack_helper=1, is gone): a {@code -t raw ... -j CT --helper NAME}
 * template names the helper, looked up by name, layer-3 family and layer-4 protocol; the port the kernel registers
 * a helper for (21, 69, ...) no longer matters.
 *
 * <pre>
 *   name        l4    families    max_expected  timeout  module
 *   ftp         TCP   IPv4, IPv6  1             300 s    nf_conntrack_ftp (+ nf_nat_ftp)
 *   tftp        UDP   IPv4, IPv6  1             300 s    nf_conntrack_tftp (+ nf_nat_tftp)
 *   irc         TCP   IPv4        8             300 s    nf_conntrack_irc (+ nf_nat_irc)
 *   sane        TCP   IPv4, IPv6  1             300 s    nf_conntrack_sane
 *   amanda      UDP   IPv4, IPv6  3             180 s    nf_conntrack_amanda (+ nf_nat_amanda, IPv4)
 *   netbios-ns  UDP   IPv4        1             3 s      nf_conntrack_netbios_ns (nf_conntrack_broadcast)
 *   pptp        TCP   IPv4        2             300 s    nf_conntrack_pptp, GRE keymaps (+ nf_nat_pptp)
 *   snmp        UDP   IPv4        1             30 s     nf_conntrack_snmp (nf_conntrack_broadcast; + nf_nat_snmp_basic)
 *   snmp_trap   UDP   IPv4        0             180 s    nf_nat_snmp_basic (rewrites addresses only, behind NAT)
 *   sip         UDP   IPv4, IPv6  1/4/4/2       180 s    nf_conntrack_sip, per class (+ nf_nat_sip)
 *   sip         TCP   IPv4, IPv6  1/4/4/2       180 s    nf_conntrack_sip, per class (+ nf_nat_sip)
 *   Q.931       TCP   IPv4, IPv6  20            240 s    nf_conntrack_h323 (call signalling; NAT not modelled)
 *   H.245       UDP*  IPv4, IPv6  18            240 s    nf_conntrack_h323 (*given by Q.931's expectations to TCP)
 *   RAS         UDP   IPv4, IPv6  32            240 s    nf_conntrack_h323 (registration and admission)
 * </pre>
 *
 * Module parameters are at their defaults (this is what a kernel with the helpers built in has), but for
 * nf_conntrack_sip's, which the host's {@link org.jnetfilter.core.host.ModuleParameters} give: with
 * {@code ports=} a module registers further helpers named {@code ftp-2121}, {@code irc-1}, {@code sane-6567}...
 * which such a kernel does not have, so a CT template naming them is refused (ENOENT), here as there.
 *
 * <p>Not modelled: nf_nat_h323.
 *
 * <p>{@link #help} runs at the confirm hooks (nf_confirm: INPUT and POSTROUTING, last), after NAT, for every
 * packet of the connection but RELATED_REPLY ones, with the transport header at {@code protoff}. Packet
 * thread; allocates only when it creates an expectation.
 */
public abstract sealed class ConntrackHelper
        permits FtpHelper, TftpHelper, IrcHelper, SaneHelper, AmandaHelper, NetbiosNsHelper, PptpHelper, SnmpHelper,
        SnmpTrapHelper, SipHelper, H323Helper {
    private final String name;
    private final int protocol;
    private final boolean ipv6;
    private final int maxExpected;
    private final long timeoutSeconds;

    ConntrackHelper(String name, int protocol, boolean ipv6, int maxExpected, long timeoutSeconds) {
        this.name = name;
        this.protocol = protocol;
        this.ipv6 = ipv6;
        this.maxExpected = maxExpected;
        this.timeoutSeconds = timeoutSeconds;
    }

    public String name() {
        return name;
    }

    /** The layer-4 protocol the helper is registered for. */
    public int protocol() {
        return protocol;
    }

    /** Whether the helper is registered for {@code family} (all are for IPv4). */
    public boolean supports(Family family) {
        return family == Family.IPV4 || ipv6;
    }

    /** The expect policy's max_expected of class {@code cls}: more expectations of one master evict the oldest. */
    public int maxExpected(int cls) {
        return maxExpected;
    }

    /** The expect policy's timeout of class {@code cls}. */
    public long timeoutSeconds(int cls) {
        return timeoutSeconds;
    }

    /** The helper function (helper->help): a verdict, ACCEPT or DROP. */
    abstract int help(PacketContext pkt, Connection ct, int ctinfo, int protoff, long now);

    /**
     * exp->expectfn: {@code ct}, new and unconfirmed, matched {@code exp}; called before the protocol tracker sees
     * its first packet, table lock not held. By default nf_nat_follow_master when the helper's NAT set the
     * expectation up for it.
     */
    void expectationMet(PacketContext pkt, Connection ct, Expectation exp, long now) {
        if (exp.natDirection >= 0) {
            HelperNat.followMaster(pkt, ct, exp);
        }
    }

    /**
     * The network offset of the TCP payload of a segment whose header is at {@code protoff}, or -1 when the header
     * is cut short or no data follows it (the helpers then let the packet pass).
     */
    static int tcpPayload(PacketContext pkt, int protoff) {
        return tcpPayload(pkt, CtInfo.ESTABLISHED, protoff);
    }

    /**
     * {@link #tcpPayload(PacketContext, int)} of an ESTABLISHED packet (either direction), -1 for others: the TCP
     * helpers do not look into packets until there has been traffic both ways.
     */
    static int tcpPayload(PacketContext pkt, int ctinfo, int protoff) {
        if (ctinfo != CtInfo.ESTABLISHED && ctinfo != CtInfo.ESTABLISHED_REPLY) {
            return -1;
        }
        int len = pkt.length();
        if (protoff + 20 > len) {
            return -1;
        }
        int dataoff = protoff + (pkt.networkU8(protoff + 12) >>> 4) * 4;
        return dataoff >= len ? -1 : dataoff;
    }

    /**
     * nf_conntrack_broadcast_help (netbios-ns, snmp): for a datagram a local socket sends in the original direction
     * on a broadcast route, to the broadcast address of a primary address of the outgoing interface, expects
     * replies from any host of that address's subnet from {@code port} (the helper's) to the sender's address and
     * port, PERMANENT, and sets the master's timeout to {@code timeout} seconds (the expectation's too). A
     * broadcast to 255.255.255.255, or from an address given no {@code brd}, finds no mask and expects nothing.
     */
    static void broadcastHelp(PacketContext pkt, Connection ct, int ctinfo, int port, long timeout, long now) {
        // Linux: only locally generated packets (a socket of this namespace)
        if (pkt.socketUid() == -1 || CtInfo.direction(ctinfo) != 0 || ct.family() != Family.IPV4) {
            return;
        }
        Host host = pkt.host();
        String dev = pkt.outInterface();
        long dst = pkt.destinationLo();
        if (host == null || dev == null || dev.isEmpty()
                || host.addressType(IpAddress.ipv4((int) dst), null) != RouteType.BROADCAST) {
            // Linux: the route is not RTCF_BROADCAST
            return;
        }
        long mask = host.ipv4BroadcastMask(dev, dst);
        if (mask == 0) {
            return;
        }
        Tuple r = ct.reply;
        Expectation exp = new Expectation(ct, Family.IPV4, Protocol.UDP, 0, r.srcLo, 0, mask, port, 0xFFFF,
                r.dstHi, r.dstLo, r.dstId, Expectation.PERMANENT, 0);
        ct.owner.expectRelated(exp, now);
        ct.refreshTimeout(now, timeout * Conntrack.HZ);
    }

    /** A 32-bit network-order field at a network offset, unsigned. */
    static long u32(PacketContext pkt, int at) {
        return (long) pkt.networkU16(at) << 16 | pkt.networkU16(at + 2);
    }

    private static final List<ConntrackHelper> HELPERS = List.of(new FtpHelper(), new TftpHelper(), new IrcHelper(),
            new SaneHelper(), new AmandaHelper(), new NetbiosNsHelper(), new PptpHelper(), new SnmpHelper(),
            new SnmpTrapHelper(), new SipHelper(Protocol.UDP), new SipHelper(Protocol.TCP), H323Helper.Q931,
            H323Helper.H245, H323Helper.RAS);

    /** __nf_conntrack_helper_find: the helper of this name for this layer-4 protocol (any family), or null. */
    public static ConntrackHelper find(String name, int protocol) {
        for (ConntrackHelper h : HELPERS) {
            if (h.name.equals(name) && h.protocol == protocol) {
                return h;
            }
        }
        return null;
    }

    /** __nf_conntrack_helper_find: the helper of this name, family and layer-4 protocol, or null. */
    public static ConntrackHelper find(String name, Family family, int protocol) {
        ConntrackHelper h = find(name, protocol);
        return h != null && h.supports(family) ? h : null;
    }

    @Override
    public String toString() {
        return name;
    }
}
