package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.netfilter.PacketContext;

/**
 * A conntrack helper ({@code struct nf_conntrack_helper}): reads the payload of a control connection and
 * creates {@link Expectation}s for the connections it announces. Linux 6.x assigns helpers explicitly only
 * (automatic assignment by port, nf_conntrack_helper=1, is gone): a {@code -t raw ... -j CT --helper NAME}
 * template names the helper, looked up by name and layer-4 protocol; the port the kernel registers a helper
 * for (21, 69) no longer matters.
 *
 * <pre>
 *   name   l4    families    max_expected  timeout  module
 *   ftp    TCP   IPv4, IPv6  1             300 s    nf_conntrack_ftp (+ nf_nat_ftp)
 *   tftp   UDP   IPv4, IPv6  1             300 s    nf_conntrack_tftp (+ nf_nat_tftp)
 * </pre>
 *
 * Other in-tree helpers (irc, sip, h323, pptp, amanda, sane, netbios-ns, snmp) are not modelled: a CT
 * template may name them (the connection lists {@code helper=NAME}), but nothing parses their payload.
 *
 * <p>{@link #help} runs at the confirm hooks (nf_confirm: INPUT and POSTROUTING, last), after NAT, for every
 * packet of the connection but RELATED_REPLY ones, with the transport header at {@code protoff}. Packet
 * thread; allocates only when it creates an expectation.
 */
public abstract sealed class ConntrackHelper permits FtpHelper, TftpHelper {
    private final String name;
    private final int protocol;
    private final int maxExpected;
    private final long timeoutSeconds;

    ConntrackHelper(String name, int protocol, int maxExpected, long timeoutSeconds) {
        this.name = name;
        this.protocol = protocol;
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

    /** The expect policy's max_expected: more expectations of one master evict the oldest. */
    public int maxExpected() {
        return maxExpected;
    }

    /** The expect policy's timeout. */
    public long timeoutSeconds() {
        return timeoutSeconds;
    }

    /** The helper function (helper->help): a verdict, ACCEPT or DROP. */
    abstract int help(PacketContext pkt, Connection ct, int ctinfo, int protoff, long now);

    private static final ConntrackHelper FTP = new FtpHelper();
    private static final ConntrackHelper TFTP = new TftpHelper();

    /** __nf_conntrack_helper_find: the helper of this name for this layer-4 protocol, or null. */
    public static ConntrackHelper find(String name, int protocol) {
        if (FTP.name.equals(name) && FTP.protocol == protocol) {
            return FTP;
        }
        return TFTP.name.equals(name) && TFTP.protocol == protocol ? TFTP : null;
    }

    @Override
    public String toString() {
        return name;
    }
}
