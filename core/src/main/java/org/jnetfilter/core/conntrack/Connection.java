package org.jnetfilter.core.conntrack;

/**
 * One connection tracking entry ({@code struct nf_conn}): its tuples in both directions, protocol
 * state, status bits, mark, timeout and NAT bindings. A packet carries a reference to it in
 * {@link org.jnetfilter.core.netfilter.PacketContext#conntrack()}.
 */
public class Connection {
}
