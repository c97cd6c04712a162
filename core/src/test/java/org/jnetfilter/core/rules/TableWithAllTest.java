package org.jnetfilter.core.rules;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Table.withAll (many chains merged into the sorted map in one pass) makes the table a run of
 * Table.with makes: the same chains, the same objects, in the same order, for new and replaced user
 * chains and built-in chains, in few and in many.
 */
class TableWithAllTest {
    @Test
    void withAllEqualsOneWithPerChain() {
        SplittableRandom rnd = new SplittableRandom(17);
        for (int round = 0; round < 300; round++) {
            Table base = Table.initial(TableKind.FILTER, Family.IPV4);
            int existing = rnd.nextInt(rnd.nextBoolean() ? 10 : 400);
            for (int i = 0; i < existing; i++) {
                base = base.with(Chain.user("C" + rnd.nextInt(1000)));
            }
            List<Chain> changes = new ArrayList<>();
            java.util.Set<String> names = new java.util.HashSet<>();
            int n = rnd.nextInt(rnd.nextBoolean() ? 20 : 600);
            for (int i = 0; i < n; i++) {
                String name = rnd.nextInt(20) == 0 ? "INPUT" : "C" + rnd.nextInt(1000);
                if (names.add(name)) {
                    changes.add(name.equals("INPUT") ? Chain.builtin("INPUT").withPolicy("DROP", Counters.zero())
                            : Chain.user(name));
                }
            }
            Table expected = base;
            for (Chain c : changes) {
                expected = expected.with(c);
            }
            Table actual = base.withAll(changes);
            assertThat(actual.chains()).as("round " + round).containsExactlyElementsOf(expected.chains());
            for (Chain c : expected.chains()) {
                assertThat(actual.chain(c.name())).isSameAs(c);
            }
        }
    }
}
