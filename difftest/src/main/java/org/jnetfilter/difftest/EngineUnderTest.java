package org.jnetfilter.difftest;

import java.util.List;

/**
 * The side compared with the kernel: given the same rulesets (restore text of each family, missing
 * tables empty) and the same injected frames in order, it returns what it observed in the kernel's
 * terms. jnetfilter's in-process datapath implements it; {@link KernelDut} is the other side.
 */
public interface EngineUnderTest {
    /**
     * {@code clock}: the time of each packet in nanoseconds since the epoch, as the kernel side sent it
     * ({@link Observation#sentAtNanos}), so that limits, recent lists and time matches see the kernel's
     * clock; empty for a clock of the engine's own (packets 1 ms apart, pauses added). One entry more, when there
     * is one, is when the kernel side listed its connections: the engine lists its table at that time.
     */
    Observation run(String ipv4Rules, String ipv6Rules, List<Injection> packets, List<Long> clock);

    default Observation run(String ipv4Rules, String ipv6Rules, List<Injection> packets) {
        return run(ipv4Rules, ipv6Rules, packets, List.of());
    }
}
