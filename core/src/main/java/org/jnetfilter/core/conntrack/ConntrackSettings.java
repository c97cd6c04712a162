package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.host.Host;

/**
 * The net.netfilter.nf_conntrack_* sysctls the trackers read, taken from a {@link Host} at once (timeouts
 * in jiffies). Immutable; {@link Conntrack#reloadSettings()} takes a new snapshot after a sysctl changed.
 */
final class ConntrackSettings {
    final long[] tcpTimeouts = new long[14];
    final long udpTimeout;
    final long udpStreamTimeout;
    final long icmpTimeout;
    final long icmpv6Timeout;
    final long genericTimeout;
    final long[] sctpTimeouts = new long[SctpTracking.MAX];
    final long greTimeout;
    final long greStreamTimeout;
    final boolean tcpLoose;
    final boolean tcpBeLiberal;
    final boolean tcpIgnoreInvalidRst;
    final int tcpMaxRetrans;
    final boolean checksum;
    final long max;
    final long expectMax;
    final boolean acct;

    ConntrackSettings(Host host) {
        String p = "net.netfilter.nf_conntrack_";
        // Linux: tcp_timeouts[] defaults, nf_conntrack_proto_tcp.c
        tcpTimeouts[Connection.TCP_SYN_SENT] = seconds(host, p + "tcp_timeout_syn_sent", 120);
        tcpTimeouts[Connection.TCP_SYN_RECV] = seconds(host, p + "tcp_timeout_syn_recv", 60);
        tcpTimeouts[Connection.TCP_ESTABLISHED] = seconds(host, p + "tcp_timeout_established", 432000);
        tcpTimeouts[Connection.TCP_FIN_WAIT] = seconds(host, p + "tcp_timeout_fin_wait", 120);
        tcpTimeouts[Connection.TCP_CLOSE_WAIT] = seconds(host, p + "tcp_timeout_close_wait", 60);
        tcpTimeouts[Connection.TCP_LAST_ACK] = seconds(host, p + "tcp_timeout_last_ack", 30);
        tcpTimeouts[Connection.TCP_TIME_WAIT] = seconds(host, p + "tcp_timeout_time_wait", 120);
        tcpTimeouts[Connection.TCP_CLOSE] = seconds(host, p + "tcp_timeout_close", 10);
        // Linux: TCP_CONNTRACK_SYN_SENT2 shares the syn_sent sysctl
        tcpTimeouts[Connection.TCP_SYN_SENT2] = tcpTimeouts[Connection.TCP_SYN_SENT];
        tcpTimeouts[TcpTracking.RETRANS] = seconds(host, p + "tcp_timeout_max_retrans", 300);
        tcpTimeouts[TcpTracking.UNACK] = seconds(host, p + "tcp_timeout_unacknowledged", 300);
        udpTimeout = seconds(host, p + "udp_timeout", 30);
        udpStreamTimeout = seconds(host, p + "udp_timeout_stream", 120);
        icmpTimeout = seconds(host, p + "icmp_timeout", 30);
        icmpv6Timeout = seconds(host, p + "icmpv6_timeout", 30);
        genericTimeout = seconds(host, p + "generic_timeout", 600);
        // Linux: sctp_timeouts[]; NONE takes CLOSED's (nf_conntrack_sctp_init_net)
        String[] sctp = {"closed", "closed", "cookie_wait", "cookie_echoed", "established", "shutdown_sent",
                "shutdown_recd", "shutdown_ack_sent", "heartbeat_sent"};
        long[] sctpDefaults = {10, 10, 3, 3, 210, 3, 3, 3, 30};
        for (int i = 0; i < sctp.length; i++) {
            sctpTimeouts[i] = seconds(host, p + "sctp_timeout_" + sctp[i], sctpDefaults[i]);
        }
        greTimeout = seconds(host, p + "gre_timeout", 30);
        greStreamTimeout = seconds(host, p + "gre_timeout_stream", 180);
        tcpLoose = value(host, p + "tcp_loose", 1) != 0;
        tcpBeLiberal = value(host, p + "tcp_be_liberal", 0) != 0;
        tcpIgnoreInvalidRst = value(host, p + "tcp_ignore_invalid_rst", 0) != 0;
        tcpMaxRetrans = (int) value(host, p + "tcp_max_retrans", 3);
        checksum = value(host, p + "checksum", 1) != 0;
        max = value(host, p + "max", 262144);
        // Linux: nf_ct_expect_max = 4 * (hash size / 256), 4096 for this machine's 262144 buckets
        expectMax = value(host, p + "expect_max", 4096);
        acct = value(host, p + "acct", 0) != 0;
    }

    private static long seconds(Host host, String key, long dflt) {
        return value(host, key, dflt) * Conntrack.HZ;
    }

    private static long value(Host host, String key, long dflt) {
        String v = host.sysctl(key);
        if (v == null) {
            return dflt;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }
}
