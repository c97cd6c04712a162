package org.jnetfilter.difftest;

import java.util.List;

/**
 * The side compared with the kernel: given the same rulesets (restore text of each family, missing
 * tables empty) and the same injected frames in order, it returns what it observed in the kernel's
 * terms. jnetfilter's in-process datapath implements it; {@link KernelDut} is the other side.
 */
public interface EngineUnderTest {
    Observation run(String ipv4Rules, String ipv6Rules, List<Injection> packets);
}
