package org.jnetfilter.core.packet;

import java.util.List;

/**
 * What Linux's receive path does with an IP packet before PREROUTING: accept it, or drop it,
 * with the SNMP counters it increments ({@code /proc/net/snmp} Ip: / {@code /proc/net/snmp6}
 * Ip6: names) and the {@code SKB_DROP_REASON_*} it reports.
 *
 * <p>Every drop also counted InReceives first; that counter is not listed.
 */
public enum ReceiveResult {
    OK(null),

    // ---- IPv4: ip_rcv_core (net/ipv4/ip_input.c) ----
    /** Fewer than 20 bytes: pskb_may_pull(sizeof(struct iphdr)) fails. */
    IPV4_HEADER_TRUNCATED("IP_INHDR", "InHdrErrors"),
    /** Version is not 4. */
    IPV4_BAD_VERSION("IP_INHDR", "InHdrErrors"),
    /** IHL below 5. */
    IPV4_BAD_IHL("IP_INHDR", "InHdrErrors"),
    /** The buffer holds fewer than IHL * 4 bytes. */
    IPV4_OPTIONS_TRUNCATED("IP_INHDR", "InHdrErrors"),
    /** ip_fast_csum fails: counted as a checksum error and as a header error. */
    IPV4_BAD_CHECKSUM("IP_CSUM", "InCsumErrors", "InHdrErrors"),
    /** Total Length larger than the buffer. */
    IPV4_TRUNCATED("PKT_TOO_SMALL", "InTruncatedPkts"),
    /** Total Length smaller than the header. */
    IPV4_BAD_TOTAL_LENGTH("IP_INHDR", "InHdrErrors"),

    // ---- IPv6: ip6_rcv_core (net/ipv6/ip6_input.c) ----
    /** Fewer than 40 bytes. */
    IPV6_HEADER_TRUNCATED("IP_INHDR", "InHdrErrors"),
    /** Version is not 6. */
    IPV6_BAD_VERSION("UNHANDLED_PROTO", "InHdrErrors"),
    /** ::1 as source or destination on a non-loopback device (RFC 4291 2.5.3). */
    IPV6_LOOPBACK_ADDRESS("IP_INHDR", "InHdrErrors"),
    /** Interface-local multicast (scope 1) from another node (RFC 4291 errata 3480). */
    IPV6_INTERFACE_LOCAL_MULTICAST("IP_INHDR", "InHdrErrors"),
    /** Multicast destination with reserved scope 0 (RFC 4291 2.7). */
    IPV6_MULTICAST_SCOPE_ZERO("IP_INHDR", "InHdrErrors"),
    /** Multicast source address (RFC 4291 2.7). */
    IPV6_MULTICAST_SOURCE("IP_INHDR", "InHdrErrors"),
    /** Payload Length beyond the buffer. */
    IPV6_TRUNCATED("PKT_TOO_SMALL", "InTruncatedPkts"),
    /** Hop-by-hop options header truncated or malformed (ipv6_parse_hopopts fails). */
    IPV6_BAD_HOP_BY_HOP("IP_INHDR", "InHdrErrors"),
    /** Hop-by-hop header longer than net.ipv6.max_hbh_length (ipv6_parse_hopopts fails before reading it). */
    IPV6_HOP_BY_HOP_TOO_LONG("NOT_SPECIFIED", "InHdrErrors"),
    /** Destination options header longer than net.ipv6.max_dst_opts_length: ipv6_destopt_rcv frees it uncounted. */
    IPV6_DESTINATION_OPTIONS_TOO_LONG("NOT_SPECIFIED"),
    /**
     * An option not known here whose two high bits say discard (Linux: ip6_tlvopt_unknown,
     * SKB_DROP_REASON_UNHANDLED_PROTO; ip6_rcv_core counts the failed hop-by-hop header).
     */
    IPV6_UNKNOWN_OPTION("UNHANDLED_PROTO", "InHdrErrors"),
    /** Jumbo payload option inconsistent (RFC 2675; Linux: ipv6_hop_jumbo), counted twice. */
    IPV6_BAD_JUMBO("IP_INHDR", "InHdrErrors", "InHdrErrors"),
    /** Jumbo payload length beyond the buffer. */
    IPV6_JUMBO_TRUNCATED("PKT_TOO_SMALL", "InTruncatedPkts", "InHdrErrors");

    private final String dropReason;
    private final List<String> counters;

    ReceiveResult(String dropReason, String... counters) {
        this.dropReason = dropReason;
        this.counters = List.of(counters);
    }

    public boolean accepted() {
        return this == OK;
    }

    /** The SKB_DROP_REASON_ suffix, or null for OK. */
    public String dropReason() {
        return dropReason;
    }

    /** SNMP counters incremented, in order, as named in /proc/net/snmp (Ip6 prefix for IPv6). */
    public List<String> counters() {
        return counters;
    }
}
