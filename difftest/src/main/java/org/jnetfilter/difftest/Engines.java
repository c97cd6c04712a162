package org.jnetfilter.difftest;

/**
 * The engines the harness can compare with the kernel. jnetfilter's in-process datapath
 * (org.jnetfilter.core.netfilter.Datapath) is not in the tree yet: until it is, the known-gaps file
 * carries the {@code engine} gap and the run compares only how rulesets load and print.
 */
final class Engines {
    private Engines() {
    }

    /** jnetfilter's engine, or null while the {@code engine} gap is listed. */
    static EngineUnderTest jnetfilter(KnownGaps gaps) {
        if (gaps.has("engine")) {
            return null;
        }
        throw new IllegalStateException("the known-gaps file no longer lists `engine', but no engine is wired here"
                + " yet: wire org.jnetfilter.core.netfilter.Datapath in Engines.jnetfilter");
    }
}
