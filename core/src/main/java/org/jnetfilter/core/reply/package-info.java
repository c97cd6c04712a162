/**
 * Packets the kernel generates itself: the replies of REJECT ({@link org.jnetfilter.core.reply.RejectReplies}:
 * nf_reject_ipv4.c, nf_reject_ipv6.c), ICMP and ICMPv6 errors with the kernel's eligibility rules, quoting,
 * source selection and rate limits ({@link org.jnetfilter.core.reply.IcmpErrors}: icmp.c __icmp_send,
 * ipv6/icmp.c icmp6_send), and the LOG target's kernel log line ({@link org.jnetfilter.core.reply.LogLine}:
 * nf_log_syslog.c).
 *
 * <p>Each builder reads the original from a loaded {@link org.jnetfilter.core.netfilter.PacketContext} and
 * returns a new datagram in a {@link org.jnetfilter.core.reply.Reply}, or null when the kernel sends nothing.
 * Generating a packet allocates (the kernel allocates an skb too); nothing here runs for packets that are
 * accepted.
 */
package org.jnetfilter.core.reply;
