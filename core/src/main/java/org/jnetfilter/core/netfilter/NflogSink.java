package org.jnetfilter.core.netfilter;

/**
 * Where the NFLOG target hands packets: the kernel's nf_log_packet with an NF_LOG_TYPE_ULOG logger, which
 * nfnetlink_log turns into a netlink message to the listener of the rule's group ({@link NfnetlinkLog} is that
 * module). {@link #NONE} is a host where nothing listens: the kernel finds no instance and drops the message.
 *
 * <p>Called on the packet thread inside a table walk, with the packet as the target sees it; the sink copies
 * what it keeps before returning. Allocation is the sink's business (NONE allocates nothing).
 */
public interface NflogSink {
    NflogSink NONE = (pkt, group, prefix, copyLength, threshold) -> {
    };

    /**
     * One NFLOG rule fired.
     *
     * @param group      --nflog-group, 0-65535
     * @param prefix     --nflog-prefix, "" when not given (the kernel still sends an empty prefix attribute)
     * @param copyLength --nflog-size, or -1 when not given (then the listener's copy range alone bounds the
     *                   payload; --nflog-range is ignored by the kernel and arrives here as -1)
     * @param threshold  --nflog-threshold, 0 when not given (the listener's queue threshold applies)
     */
    void log(PacketContext pkt, int group, String prefix, long copyLength, int threshold);
}
