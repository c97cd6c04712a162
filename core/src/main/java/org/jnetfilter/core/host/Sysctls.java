package org.jnetfilter.core.host;

import java.util.Map;
import java.util.Set;

/**
 * The sysctls a host keeps, with Linux 6.x defaults in a fresh network namespace. Per-interface IPv4 conf
 * entries are created from conf.default when the interface appears (devinet_init_net / inetdev_init), and
 * writing net.ipv4.ip_forward sets every conf.*.forwarding, as devinet_sysctl_forward does.
 */
final class Sysctls {
    private Sysctls() {
    }

    static final String[] CONF_KEYS = {"rp_filter", "accept_local", "send_redirects", "forwarding",
        "accept_source_route", "shared_media"};

    static final String[] BRIDGE_NF_TABLES = {"iptables", "ip6tables", "arptables"};

    static void defaults(Map<String, String> s) {
        s.put("net.ipv4.ip_forward", "0");
        s.put("net.ipv6.conf.all.forwarding", "0");
        s.put("net.ipv6.conf.default.forwarding", "0");
        s.put("net.ipv6.conf.all.keep_addr_on_down", "0");
        s.put("net.ipv6.conf.default.keep_addr_on_down", "0");
        // Linux: IN6_ADDR_GEN_MODE_EUI64 0 (the link-local address from the MAC), NONE 1 (no link-local address)
        s.put("net.ipv6.conf.all.addr_gen_mode", "0");
        s.put("net.ipv6.conf.default.addr_gen_mode", "0");
        // Linux: IP6_DEFAULT_MAX_DST_OPTS_CNT, IP6_DEFAULT_MAX_HBH_OPTS_CNT, IP6_DEFAULT_MAX_{DST,HBH}_OPTS_LEN (INT_MAX)
        s.put("net.ipv6.max_dst_opts_number", "8");
        s.put("net.ipv6.max_hbh_opts_number", "8");
        s.put("net.ipv6.max_dst_opts_length", "2147483647");
        s.put("net.ipv6.max_hbh_length", "2147483647");
        // Linux: segment routing headers are processed only where all and the interface enable it
        s.put("net.ipv6.conf.all.seg6_enabled", "0");
        s.put("net.ipv6.conf.default.seg6_enabled", "0");
        // Linux: IOAM6_DEFAULT_ID (24 bits) and IOAM6_DEFAULT_ID_WIDE (56 bits) for the node; IOAM6_DEFAULT_IF_ID
        // (16 bits) and IOAM6_DEFAULT_IF_ID_WIDE (32 bits) for interfaces, which do not take part until enabled
        s.put("net.ipv6.ioam6_id", "16777215");
        s.put("net.ipv6.ioam6_id_wide", "72057594037927935");
        for (String conf : new String[] {"all", "default"}) {
            s.put("net.ipv6.conf." + conf + ".ioam6_enabled", "0");
            s.put("net.ipv6.conf." + conf + ".ioam6_id", "65535");
            s.put("net.ipv6.conf." + conf + ".ioam6_id_wide", "4294967295");
        }
        for (String conf : new String[] {"all", "default"}) {
            s.put("net.ipv4.conf." + conf + ".rp_filter", "0");
            s.put("net.ipv4.conf." + conf + ".accept_local", "0");
            s.put("net.ipv4.conf." + conf + ".send_redirects", "1");
            s.put("net.ipv4.conf." + conf + ".shared_media", "1");
            s.put("net.ipv4.conf." + conf + ".forwarding", "0");
            // Linux: source routes accepted only where all and the interface agree; all is 0 in a new namespace
            s.put("net.ipv4.conf." + conf + ".accept_source_route", conf.equals("all") ? "0" : "1");
        }
        // Linux: the ICMP senders' sysctls (icmp.c, icmpv6 in route.c; read by IcmpErrors and RejectReplies): the
        // per-destination limit in ms, the types it applies to (unreachable, source quench, time exceeded, parameter
        // problem; ICMPv6: every type but packet too big's 2, as a bitmap list), the global credit, the TTL
        s.put("net.ipv4.icmp_ratelimit", "1000");
        s.put("net.ipv4.icmp_ratemask", "6168");
        s.put("net.ipv4.icmp_msgs_per_sec", "1000");
        s.put("net.ipv4.icmp_msgs_burst", "50");
        s.put("net.ipv4.icmp_errors_use_inbound_ifaddr", "0");
        s.put("net.ipv4.ip_default_ttl", "64");
        s.put("net.ipv4.fwmark_reflect", "0");
        s.put("net.ipv6.icmp.ratelimit", "100");
        s.put("net.ipv6.icmp.ratemask", "0-1,3-127");
        s.put("net.ipv6.fwmark_reflect", "0");
        // Linux: br_netfilter's switches; brnf_init_net sets them to 1 when the module is loaded (a HOST file's
        // `modprobe br_netfilter`), 0 here stands for the module not loaded (bridged frames see no iptables)
        for (String t : BRIDGE_NF_TABLES) {
            s.put("net.bridge.bridge-nf-call-" + t, "0");
        }
        // Linux: brnf_filter_vlan_tagged, 0: 802.1Q-tagged IPv4/IPv6 frames are no IP to br_netfilter
        s.put("net.bridge.bridge-nf-filter-vlan-tagged", "0");
        // Linux: nf_conntrack_proto_*.c timeouts, in seconds; stored for the conntrack engine.
        String p = "net.netfilter.nf_conntrack_";
        s.put(p + "generic_timeout", "600");
        s.put(p + "tcp_timeout_syn_sent", "120");
        s.put(p + "tcp_timeout_syn_recv", "60");
        s.put(p + "tcp_timeout_established", "432000");
        s.put(p + "tcp_timeout_fin_wait", "120");
        s.put(p + "tcp_timeout_close_wait", "60");
        s.put(p + "tcp_timeout_last_ack", "30");
        s.put(p + "tcp_timeout_time_wait", "120");
        s.put(p + "tcp_timeout_close", "10");
        s.put(p + "tcp_timeout_max_retrans", "300");
        s.put(p + "tcp_timeout_unacknowledged", "300");
        s.put(p + "udp_timeout", "30");
        s.put(p + "udp_timeout_stream", "120");
        s.put(p + "icmp_timeout", "30");
        s.put(p + "icmpv6_timeout", "30");
        s.put(p + "gre_timeout", "30");
        s.put(p + "gre_timeout_stream", "180");
        s.put(p + "sctp_timeout_closed", "10");
        s.put(p + "sctp_timeout_cookie_wait", "3");
        s.put(p + "sctp_timeout_cookie_echoed", "3");
        s.put(p + "sctp_timeout_established", "210");
        s.put(p + "sctp_timeout_shutdown_sent", "3");
        s.put(p + "sctp_timeout_shutdown_recd", "3");
        s.put(p + "sctp_timeout_shutdown_ack_sent", "3");
        s.put(p + "sctp_timeout_heartbeat_sent", "30");
        s.put(p + "frag6_timeout", "60");
        // Linux: nf_conntrack_proto_tcp.c and nf_conntrack_core.c switches; nf_conntrack_max as this
        // machine's kernel sizes it (262144 with its memory; the kernel derives it from RAM)
        s.put(p + "tcp_loose", "1");
        s.put(p + "tcp_be_liberal", "0");
        s.put(p + "tcp_ignore_invalid_rst", "0");
        s.put(p + "tcp_max_retrans", "3");
        s.put(p + "checksum", "1");
        s.put(p + "acct", "0");
        s.put(p + "max", "262144");
        s.put("net.nf_conntrack_max", "262144");
    }

    static void newInterface(Map<String, String> s, String dev) {
        for (String k : CONF_KEYS) {
            s.put("net.ipv4.conf." + dev + "." + k, s.get("net.ipv4.conf.default." + k));
        }
        s.put("net.ipv6.conf." + dev + ".forwarding", s.get("net.ipv6.conf.default.forwarding"));
        s.put("net.ipv6.conf." + dev + ".keep_addr_on_down", s.get("net.ipv6.conf.default.keep_addr_on_down"));
        s.put("net.ipv6.conf." + dev + ".addr_gen_mode", s.get("net.ipv6.conf.default.addr_gen_mode"));
        s.put("net.ipv6.conf." + dev + ".seg6_enabled", s.get("net.ipv6.conf.default.seg6_enabled"));
        for (String k : new String[] {"ioam6_enabled", "ioam6_id", "ioam6_id_wide"}) {
            s.put("net.ipv6.conf." + dev + "." + k, s.get("net.ipv6.conf.default." + k));
        }
    }

    /**
     * Linux: plain proc_dointvec sysctls, where a negative value is taken (the option counts: see IpReceive; a
     * negative icmp_ratemask sets every bit, a negative icmp_ratelimit limits nothing).
     */
    private static final Set<String> SIGNED = Set.of("net.ipv6.max_hbh_opts_number",
            "net.ipv6.max_dst_opts_number", "net.ipv4.icmp_ratemask", "net.ipv4.icmp_ratelimit");

    /** Linux: the ICMPv6 types (0-255) as proc_do_large_bitmap reads and prints them: "0-1,3-127". */
    private static final String BITMAP = "net.ipv6.icmp.ratemask";

    /**
     * The value {@code sysctl -w key=value} stores, as the kernel prints it back; refused as sysctl refuses it
     * (ip_default_ttl is 1-255, checked on Linux 6.18).
     */
    static String validate(String key, String value) {
        String v = value.trim();
        try {
            if (key.equals(BITMAP)) {
                return bitmap(v);
            }
            long n = Long.parseLong(v);
            boolean signed = SIGNED.contains(key);
            if (n < 0 && !signed || n != (int) n && signed
                    || key.equals("net.ipv4.ip_default_ttl") && (n < 1 || n > 255)) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("sysctl: setting key \"" + key + "\": Invalid argument");
        }
    }

    /** A bitmap list of bits 0-255 ("5,1-3"), printed back in order with ranges merged ("1-3,5"); empty is no bit. */
    private static String bitmap(String list) {
        java.util.BitSet bits = new java.util.BitSet(256);
        for (String part : list.split(",", -1)) {
            if (part.isEmpty() && list.isEmpty()) {
                break;
            }
            int dash = part.indexOf('-');
            int lo = Integer.parseInt(dash < 0 ? part : part.substring(0, dash));
            int hi = dash < 0 ? lo : Integer.parseInt(part.substring(dash + 1));
            if (lo < 0 || hi > 255 || lo > hi) {
                throw new NumberFormatException();
            }
            bits.set(lo, hi + 1);
        }
        StringBuilder out = new StringBuilder();
        for (int lo = bits.nextSetBit(0); lo >= 0; lo = bits.nextSetBit(lo)) {
            int hi = bits.nextClearBit(lo) - 1;
            out.append(out.isEmpty() ? "" : ",").append(lo).append(hi > lo ? "-" + hi : "");
            lo = hi + 1;
        }
        return out.toString();
    }

    /**
     * ip_forward and conf.all.forwarding set every interface's forwarding (devinet_sysctl_forward,
     * addrconf_fixup_forwarding).
     */
    static void propagate(Map<String, String> s, String key, Set<String> devs) {
        String v = s.get(key);
        switch (key) {
            case "net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding" -> {
                s.put("net.ipv4.ip_forward", v);
                s.put("net.ipv4.conf.all.forwarding", v);
                s.put("net.ipv4.conf.default.forwarding", v);
                for (String d : devs) {
                    s.put("net.ipv4.conf." + d + ".forwarding", v);
                }
            }
            case "net.ipv6.conf.all.forwarding" -> {
                s.put("net.ipv6.conf.default.forwarding", v);
                for (String d : devs) {
                    s.put("net.ipv6.conf." + d + ".forwarding", v);
                }
            }
            case "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables",
                    "net.bridge.bridge-nf-call-arptables", "net.bridge.bridge-nf-filter-vlan-tagged" ->
                // Linux: brnf_sysctl_call_tables stores any non-zero value as 1
                s.put(key, Long.parseLong(v) != 0 ? "1" : "0");
            default -> {
            }
        }
    }
}
