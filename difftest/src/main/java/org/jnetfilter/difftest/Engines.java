package org.jnetfilter.difftest;

/** The engines the harness can compare with the kernel. */
final class Engines {
    private Engines() {
    }

    /** jnetfilter's in-process datapath, or null while the known-gaps file lists {@code engine}. */
    static EngineUnderTest jnetfilter(KnownGaps gaps) {
        return gaps.has("engine") ? null : new JnetfilterEngine(gaps.has("workaround.nat-table-conntrack"));
    }
}
