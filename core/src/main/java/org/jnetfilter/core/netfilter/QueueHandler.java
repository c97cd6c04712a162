package org.jnetfilter.core.netfilter;

/**
 * The userspace side of {@code NF_QUEUE} (nfnetlink_queue and the programs bound to its queues), in process: it
 * receives a packet a hook function queued and answers with a verdict, as a program answers with
 * {@code nfq_set_verdict}.
 *
 * <p>Answers: {@link Verdict#ACCEPT} (the hook goes on after the queuing function), {@link Verdict#DROP},
 * {@link Verdict#REPEAT} (the queuing function runs again), {@link Verdict#STOP} (the rest of the hook is
 * skipped), {@link Verdict#STOLEN}, {@link Verdict#queue(int)} (to another queue), or {@link #NOT_BOUND} when no
 * program listens on {@code queueNumber} (the kernel's -ESRCH: dropped unless the verdict had
 * {@code --queue-bypass}).
 *
 * <p>The handler may change the packet, as a verdict with a payload does: rewrite bytes in place in
 * {@link PacketContext#segment()} (within {@link PacketContext#length()}), or put a whole new datagram with
 * {@link PacketContext#replace}; set {@link PacketContext#mark(long)} as {@code NFQA_MARK} does. The datapath
 * re-reads the headers afterwards.
 *
 * <p>Called synchronously on the packet thread: the packet waits for the answer (a real queue is asynchronous;
 * a replay wants the order kept).
 */
@FunctionalInterface
public interface QueueHandler {
    /** No program is bound to the queue. */
    int NOT_BOUND = -1;

    int verdict(int queueNumber, PacketContext pkt);
}
