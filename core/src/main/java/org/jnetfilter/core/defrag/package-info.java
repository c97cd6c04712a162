/**
 * IP reassembly as netfilter performs it before connection tracking ({@link org.jnetfilter.core.defrag.Defrag}:
 * nf_defrag_ipv4 through ip_defrag, nf_defrag_ipv6 through nf_ct_frag6_gather) and the refragmentation of a
 * reassembled datagram on output ({@link org.jnetfilter.core.defrag.Fragmenter}: ip_do_fragment,
 * ip6_fragment). Libraries fed with the injected clock; the pipeline registers reassembly at
 * {@code Priorities.CONNTRACK_DEFRAG} (-400) in PREROUTING and OUTPUT when conntrack is enabled.
 */
package org.jnetfilter.core.defrag;
