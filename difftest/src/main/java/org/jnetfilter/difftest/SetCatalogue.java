package org.jnetfilter.difftest;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.ipset.Ipsets;
import org.jnetfilter.iptables.IpsetCommand;
import org.jnetfilter.iptables.IpsetStore;

/**
 * The ipsets of the harness: one fixed catalogue of sets, created once in dut (ipset is per namespace) and
 * the same in jnetfilter, whose members each case chooses. A ruleset names its members in comment lines
 * {@code # ipset add SET ELEMENT}, which iptables-restore skips, the shrinker keeps (it drops only {@code -A}
 * lines) and reproducers show; before a case both sides flush every set and add those members, so what the
 * previous case's SET targets added is gone. The catalogue covers the set types rules meet most: hash:ip
 * (with counters, and with a timeout for SET --add-set), hash:net (nomatch members too), hash:ip,port,
 * bitmap:port, list:set and a hash:ip with skbinfo for --map-set, in both families where the type has one.
 */
public final class SetCatalogue {
    /** ipset restore lines creating the catalogue. */
    static final String CREATE = """
            create dt4-ip hash:ip family inet hashsize 64 maxelem 64 counters
            create dt4-net hash:net family inet hashsize 64 maxelem 64
            create dt4-ipport hash:ip,port family inet hashsize 64 maxelem 64
            create dt4-add hash:ip family inet hashsize 64 maxelem 64 timeout 300
            create dt4-map hash:ip family inet hashsize 64 maxelem 64 skbinfo
            create dt6-ip hash:ip family inet6 hashsize 64 maxelem 64 counters
            create dt6-net hash:net family inet6 hashsize 64 maxelem 64
            create dt6-add hash:ip family inet6 hashsize 64 maxelem 64 timeout 300
            create dt-port bitmap:port range 0-65535
            create dt-list list:set size 8
            """;
    static final List<String> NAMES = List.of("dt4-ip", "dt4-net", "dt4-ipport", "dt4-add", "dt4-map", "dt6-ip",
            "dt6-net", "dt6-add", "dt-port", "dt-list");
    static final String MEMBER = "# ipset add ";

    private SetCatalogue() {
    }

    /** The member lines of both rulesets, as ipset restore lines ("add SET ELEMENT"). */
    static List<String> members(String... rulesets) {
        List<String> out = new ArrayList<>();
        for (String r : rulesets) {
            if (r == null) {
                continue;
            }
            for (String line : r.split("\n")) {
                if (line.startsWith(MEMBER)) {
                    out.add(line.substring("# ipset ".length()));
                }
            }
        }
        return out;
    }

    /** ipset restore text that empties every set (list:set first: it holds the others) and adds the members. */
    static String refill(String... rulesets) {
        StringBuilder s = new StringBuilder("flush dt-list\n");
        for (String n : NAMES) {
            if (!n.equals("dt-list")) {
                s.append("flush ").append(n).append('\n');
            }
        }
        for (String m : members(rulesets)) {
            s.append(m).append('\n');
        }
        return s.toString();
    }

    /**
     * Installs the catalogue, with the members the rulesets name, as this JVM's sets (timeouts counted from
     * {@code clockNanos}), through jnf's ipset restore as {@code jnf replay --ipsets} does. With no rulesets the
     * sets are empty: enough for rules that name them to be read.
     */
    static void install(long clockNanos, String... rulesets) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("jnf-difftest-ipsets");
            String text = CREATE + String.join("\n", members(rulesets)) + "\n";
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            IpsetCommand cmd = new IpsetCommand(new IpsetStore(dir), () -> clockNanos, new SplittableRandom(0));
            int code = cmd.run(new String[] {"restore"}, new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)),
                    new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            if (code != 0) {
                throw new IllegalStateException("jnf ipset restore refused the harness's sets: "
                        + err.toString(StandardCharsets.UTF_8).strip() + "\n" + text);
            }
            Ipsets.install(cmd.loadForRules());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } finally {
            if (dir != null) {
                try (var walk = Files.walk(dir)) {
                    walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (IOException e) {
                    // a temporary directory left behind is harmless
                }
            }
        }
    }
}
