package org.jnetfilter.difftest;

import java.util.List;
import org.jnetfilter.core.rules.Family;

/**
 * The kernel side: one {@link Topology} and {@link Wire} kept for many rulesets. Per ruleset: restore
 * both families into dut (every table named, so each restore replaces all of them and zeroes their
 * counters), flush conntrack, inject the packets one at a time with marker pacing, then read
 * {@code iptables-save -c}, {@code ip6tables-save -c} and {@code conntrack -L} of both families.
 */
public final class KernelDut implements AutoCloseable {
    private final Topology topology;
    private final Wire wire;
    private String lastSave4 = "";
    private String lastSave6 = "";

    private KernelDut(Topology topology) {
        this.topology = topology;
        Wire w;
        try {
            w = new Wire(topology);
        } catch (RuntimeException e) {
            topology.close();
            throw e;
        }
        this.wire = w;
    }

    public static KernelDut start(long seed) {
        return new KernelDut(Topology.create(seed));
    }

    public Topology topology() {
        return topology;
    }

    /** Runs one case: rulesets (restore text, any tables; missing tables are loaded empty) and packets. */
    public Observation run(String ipv4Rules, String ipv6Rules, List<Injection> packets) {
        load(Family.IPV4, "iptables-legacy-restore", Rulesets.withAllTables(ipv4Rules));
        load(Family.IPV6, "ip6tables-legacy-restore", Rulesets.withAllTables(ipv6Rules));
        // the flush also forgets entries the previous case left; expectations start from nothing
        topology.inDut(null, "conntrack", "-F");
        wire.drain();
        List<List<Wire.Captured>> out = wire.inject(packets);
        String save4 = must("iptables-legacy-save", "-c");
        String save6 = must("ip6tables-legacy-save", "-c");
        lastSave4 = save4;
        lastSave6 = save6;
        // without -f, conntrack -L lists both families
        String ct = topology.inDut(null, "conntrack", "-L").stdout();
        return Observation.of(packets, out, save4, save6, ct);
    }

    /** The {@code iptables-save -c} text of the last run. */
    public String lastSave4() {
        return lastSave4;
    }

    public String lastSave6() {
        return lastSave6;
    }

    private void load(Family family, String tool, String text) {
        Shell.Result r = topology.inDut(text, tool);
        if (!r.ok()) {
            throw new RulesetRefused(family, tool + " refused the ruleset (" + r.exit() + "): " + r.stderr().strip());
        }
    }

    private String must(String... command) {
        Shell.Result r = topology.inDut(null, command);
        if (!r.ok()) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + r.stderr().strip());
        }
        return r.stdout();
    }

    /** The kernel would not load a generated ruleset: a generator bug, reported with the kernel's message. */
    public static final class RulesetRefused extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient Family family;

        RulesetRefused(Family family, String message) {
            super(message);
            this.family = family;
        }

        public Family family() {
            return family;
        }
    }

    @Override
    public void close() {
        try {
            wire.close();
        } finally {
            topology.close();
        }
    }
}
