package org.jnetfilter.core.rules;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A TableBuilder answers and builds what the same chain lines and appends made one by one on immutable tables
 * (Table.with, RuleList.appending) give: lookups of chains the base lacks (remembered as missing) see the
 * chain once it is put, appends go to the chain as it stands, policies keep the appends.
 */
class TableBuilderTest {
    private static final Rule ACCEPT = new Rule(new RuleSpec(IpSpec.any(Family.IPV4), List.of(),
            Target.verdictOrNull("ACCEPT")), Counters.zero());
    private static final Rule DROP = new Rule(new RuleSpec(IpSpec.any(Family.IPV4), List.of(),
            Target.verdictOrNull("DROP")), Counters.zero());

    @Test
    void buildsWhatTheSameChangesOnImmutableTablesMake() {
        SplittableRandom rnd = new SplittableRandom(29);
        for (int round = 0; round < 500; round++) {
            Table base = Table.initial(TableKind.FILTER, Family.IPV4);
            for (int i = rnd.nextInt(30); i > 0; i--) {
                base = base.with(Chain.user("C" + rnd.nextInt(60)).withRules(RuleList.of(List.of(ACCEPT))));
            }
            TableBuilder builder = new TableBuilder(base);
            Table reference = base;
            for (int step = rnd.nextInt(40); step > 0; step--) {
                String name = rnd.nextInt(10) == 0 ? "INPUT" : "C" + rnd.nextInt(60);
                String what = "round " + round + " " + name;
                Chain expected = reference.chain(name);
                Chain had = builder.chain(name);
                assertThat(had == null).as(what).isEqualTo(expected == null);
                switch (rnd.nextInt(4)) {
                    case 0 -> {
                        if (expected == null || !expected.isBuiltin()) {
                            Chain made = Chain.user(name);
                            builder.put(made);
                            reference = reference.with(made);
                        }
                    }
                    case 1, 2 -> {
                        if (expected != null) {
                            Rule r = rnd.nextBoolean() ? ACCEPT : DROP;
                            builder.append(name, r);
                            reference = reference.with(expected.withRules(expected.rules().appending(r)));
                        }
                    }
                    default -> {
                        if (expected != null && expected.isBuiltin()) {
                            builder.policy(name, "DROP", Counters.zero());
                            reference = reference.with(expected.withPolicy("DROP", Counters.zero()));
                        }
                    }
                }
            }
            Table built = builder.build();
            assertThat(built.chains()).as("round " + round).hasSameSizeAs(reference.chains());
            for (int i = 0; i < built.chains().size(); i++) {
                Chain b = built.chains().get(i);
                Chain r = reference.chains().get(i);
                assertThat(b.name()).as("round " + round).isEqualTo(r.name());
                assertThat(b.policy()).as("round " + round + " " + b.name()).isEqualTo(r.policy());
                assertThat(List.copyOf(b.rules())).as("round " + round + " " + b.name())
                        .containsExactlyElementsOf(r.rules());
            }
        }
    }
}
