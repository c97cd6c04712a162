package org.jnetfilter.core;

import java.lang.management.ManagementFactory;

/** What a piece of hot-path code allocates on the calling thread, for the allocation tests. */
public final class AllocationMeter {
    private AllocationMeter() {
    }

    /**
     * Runs {@code one} {@code warmup} times (JIT), then three rounds of {@code perRound} runs, and returns the
     * bytes the thread allocated in the least of them: a JIT compilation or a profile update may allocate
     * during one round, while anything allocated per run shows in all three.
     */
    public static long leastOfThreeRounds(Runnable one, int warmup, int perRound) {
        for (int i = 0; i < warmup; i++) {
            one.run();
        }
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().threadId();
        long allocated = Long.MAX_VALUE;
        for (int round = 0; round < 3; round++) {
            long before = threads.getThreadAllocatedBytes(id);
            for (int i = 0; i < perRound; i++) {
                one.run();
            }
            allocated = Math.min(allocated, threads.getThreadAllocatedBytes(id) - before);
        }
        return allocated;
    }
}
