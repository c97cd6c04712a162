package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hook masks kept with the state (computed incrementally per command, carried through the journal
 * and the snapshot) are always those a full walk of the jump graph finds, and loops are refused as a full
 * check refuses them.
 */
class HookMaskTest {
    @TempDir
    Path dir;

    @Test
    void incrementalHookMasksEqualAFullWalkAfterEveryCommand() {
        SplittableRandom rnd = new SplittableRandom(42);
        StateStore store = new StateStore(dir, Extensions.standard());
        Iptables ipt = new Iptables(store, Extensions.standard(), ZonedDateTime::now);
        List<String> chains = new ArrayList<>(List.of("INPUT", "FORWARD", "OUTPUT"));
        int compared = 0;
        for (int i = 0; i < 400; i++) {
            List<String> args = new ArrayList<>();
            int op = rnd.nextInt(10);
            String chain = chains.get(rnd.nextInt(chains.size()));
            String target = chains.get(rnd.nextInt(chains.size()));
            switch (op) {
                case 0 -> {
                    String name = "C" + rnd.nextInt(30);
                    args.addAll(List.of("-N", name));
                    if (!chains.contains(name)) {
                        chains.add(name);
                    }
                }
                case 1 -> args.addAll(List.of("-D", chain, "1"));
                case 2 -> args.addAll(List.of("-F", chain));
                case 3 -> args.addAll(List.of("-I", chain, "1", "-j", target));
                case 4 -> args.addAll(List.of("-A", chain, "-j", "ACCEPT"));
                case 5 -> args.addAll(List.of("-X", chain));
                default -> args.addAll(List.of("-A", chain, "-p", "tcp", rnd.nextBoolean() ? "-j" : "-g", target));
            }
            ConformanceTest.run(ipt, "iptables", args);
            // a fresh store reads what was persisted: snapshot plus journal
            StateStore fresh = new StateStore(dir, Extensions.standard());
            try (StateStore.Held held = fresh.lock(Integer.MAX_VALUE)) {
                Ruleset rs = fresh.load(Family.IPV4);
                for (Table t : rs.tables()) {
                    if (t.knownHookMasks() != null) {
                        compared++;
                        assertThat(t.knownHookMasks()).as("after iptables " + String.join(" ", args))
                                .isEqualTo(TableChecks.reachableHooks(t));
                    }
                }
            }
        }
        assertThat(compared).as("generations whose persisted masks were compared").isGreaterThan(300);
    }
}
