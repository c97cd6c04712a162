package org.jnetfilter.core.netfilter;

/**
 * A function registered at one (family, hook, priority), as a kernel module registers an
 * {@code nf_hook_ops}: the tables, conntrack, NAT, defragmentation, and whatever an embedder adds.
 *
 * <p>Returns a {@link Verdict}: {@link Verdict#ACCEPT} lets the next function of the hook run,
 * {@link Verdict#DROP} frees the packet, {@link Verdict#STOLEN} means the function took it (nothing
 * further happens to it here), {@link Verdict#queue(int)} hands it to the queue handler. The function
 * may rewrite the packet in place (NAT, MARK) or replace its bytes through {@link PacketContext}.
 *
 * <p>Hot path: called on the packet thread for every packet crossing the hook; should not allocate.
 */
@FunctionalInterface
public interface HookFunction {
    int apply(PacketContext pkt);
}
