package org.jnetfilter.difftest;

import java.util.List;
import org.jnetfilter.core.rules.Family;

/**
 * The kernel side: one {@link Topology} and {@link Wire} kept for many rulesets. Per ruleset: refill the
 * {@link SetCatalogue}'s sets, turn connection accounting off (an earlier case's connbytes rule left it on), restore
 * both families into dut (every table named, so each restore replaces
 * all of them and zeroes their counters), flush conntrack, inject the packets one at a time with marker
 * pacing, then read {@code iptables-save -c}, {@code ip6tables-save -c} and {@code conntrack -L} of both
 * families.
 *
 * <p>Named state outlives a restore in the kernel: a hashlimit table or a recent list is found by name
 * when the new rules are checked, before the old rules let go of it, so the next case would meet this
 * case's buckets and entries. Each run therefore gives every such name a suffix of its own
 * ({@link #salted}) and takes it off again in what iptables-save prints; jnetfilter starts every case
 * with fresh state and sees the names as generated.
 */
public final class KernelDut implements AutoCloseable {
    private static final java.util.regex.Pattern NAMED_STATE = java.util.regex.Pattern.compile(
            "(--hashlimit-name|--name) (\\S+)");
    private final Topology topology;
    private final Wire wire;
    private final boolean sets;
    private String lastSave4 = "";
    private String lastSave6 = "";
    private int runs;

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
        // the harness's sets, when ipset is here (.ci/run installs it); without, rules naming them are not drawn
        this.sets = Shell.run("sh", "-c", "command -v ipset").ok();
        if (sets) {
            Shell.Result r = topology.inDut(SetCatalogue.CREATE, "ipset", "restore");
            if (!r.ok()) {
                close();
                throw new IllegalStateException("ipset restore of the harness's sets failed: " + r.stderr().strip());
            }
        }
    }

    /** Whether dut has the {@link SetCatalogue}'s sets (ipset installed). */
    public boolean hasSets() {
        return sets;
    }

    /** {@code text} with every hashlimit and recent name given this run's suffix ("dth3" to "dth3-1f"). */
    static String salted(String text, int run) {
        return NAMED_STATE.matcher(text).replaceAll(m -> m.group(1) + " " + m.group(2) + "-" + Integer.toHexString(run));
    }

    /** What {@link #salted} did, undone in an iptables-save text. */
    static String unsalted(String save, int run) {
        return save.replaceAll("(--hashlimit-name|--name) (\\S+)-" + Integer.toHexString(run) + "(?=\\s|$)", "$1 $2");
    }

    public static KernelDut start(long seed) {
        return new KernelDut(Topology.create(seed));
    }

    public Topology topology() {
        return topology;
    }

    /** Runs one case: rulesets (restore text, any tables; missing tables are loaded empty) and packets. */
    public Observation run(String ipv4Rules, String ipv6Rules, List<Injection> packets) {
        int run = ++runs;
        if (sets) {
            Shell.Result r = topology.inDut(SetCatalogue.refill(ipv4Rules, ipv6Rules), "ipset", "restore");
            if (!r.ok()) {
                throw new RulesetRefused(Family.IPV4, "ipset restore refused the members (" + r.exit() + "): "
                        + r.stderr().strip());
            }
        }
        // Linux: connbytes_mt_check turns net.netfilter.nf_conntrack_acct on for good when a rule is loaded, so an
        // earlier case's connbytes rule would give this case's connections counters (packets= bytes= in conntrack -L)
        // that jnetfilter, starting each case afresh, does not: every case starts from the default instead, and its
        // own connbytes rules turn accounting on again as they load (seed 20261130, ruleset 116)
        must("sysctl", "-qw", "net.netfilter.nf_conntrack_acct=0");
        load(Family.IPV4, "iptables-legacy-restore", salted(Rulesets.withAllTables(ipv4Rules), run));
        load(Family.IPV6, "ip6tables-legacy-restore", salted(Rulesets.withAllTables(ipv6Rules), run));
        // the flush also forgets entries the previous case left; expectations start from nothing
        topology.inDut(null, "conntrack", "-F");
        wire.drain();
        List<Long> sentAt = new java.util.ArrayList<>(packets.size());
        List<List<Wire.Captured>> out = wire.inject(packets, sentAt);
        String save4 = unsalted(must("iptables-legacy-save", "-c"), run);
        String save6 = unsalted(must("ip6tables-legacy-save", "-c"), run);
        lastSave4 = save4;
        lastSave6 = save6;
        // the moment the table is listed, after the packets' stamps: jnetfilter lists its table then too, so an entry
        // whose timeout runs out between the last packet and the listing (a CLOSE entry's 10 s, the saves taking seconds
        // on a loaded machine) is gone on both sides (seed 9, ruleset 0, in a run beside others; alone it agreed)
        java.time.Instant listed = java.time.Instant.now();
        sentAt.add(listed.getEpochSecond() * 1_000_000_000L + listed.getNano());
        // without -f, conntrack -L lists both families
        String ct = topology.inDut(null, "conntrack", "-L").stdout();
        return Observation.of(packets, out, save4, save6, ct, sentAt);
    }

    /**
     * Stops what the last case left going for ever (a TEE copy that keeps coming back to its TEE): every table
     * flushed, then a pause for the copies in flight to be delivered once more and end, so none of them meets the next
     * case's rules (session 8's CI run: the case after such a loop counted one packet more in mangle INPUT).
     */
    public void quiesce() {
        load(Family.IPV4, "iptables-legacy-restore", Rulesets.withAllTables(""));
        load(Family.IPV6, "ip6tables-legacy-restore", Rulesets.withAllTables(""));
        try {
            Thread.sleep(QUIESCE_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        wire.drain();
    }

    private static final long QUIESCE_MILLIS = 300;

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
            String why = r.stderr().strip();
            java.util.regex.Matcher line = java.util.regex.Pattern.compile("line (\\d+) failed").matcher(why);
            if (line.find()) {
                String[] lines = text.split("\n");
                int n = Integer.parseInt(line.group(1));
                if (n >= 1 && n <= lines.length) {
                    why += ": " + lines[n - 1];
                }
            }
            throw new RulesetRefused(family, tool + " refused the ruleset (" + r.exit() + "): " + why);
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
