package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.DatapathHarness.CLIENT;
import static org.jnetfilter.core.netfilter.DatapathHarness.CLIENT_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH0_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.SERVER;
import static org.jnetfilter.core.netfilter.DatapathHarness.frame;
import static org.jnetfilter.core.netfilter.DatapathHarness.rules;
import static org.jnetfilter.core.netfilter.DatapathHarness.table;
import static org.jnetfilter.core.netfilter.DatapathHarness.tcp;
import static org.jnetfilter.core.netfilter.Fixtures.builtin;
import static org.jnetfilter.core.netfilter.Fixtures.ip;
import static org.jnetfilter.core.netfilter.Fixtures.rule;
import static org.jnetfilter.core.netfilter.Fixtures.target;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** nf_hook_slow, nf_queue and nf_reinject as {@link Netfilter} runs them, and the registry's order. */
class NetfilterHookTest {
    static final IpSpec ANY = IpSpec.any(Family.IPV4);

    @Test
    void functionsRunByPriorityAndEqualPrioritiesInRegistrationOrder() {
        Netfilter nf = new Netfilter();
        List<String> ran = new ArrayList<>();
        nf.register(Family.IPV4, Hook.INPUT, Priorities.FILTER, "filter", p -> log(ran, "filter"));
        nf.register(Family.IPV4, Hook.INPUT, Priorities.MANGLE, "mangle", p -> log(ran, "mangle"));
        nf.register(Family.IPV4, Hook.INPUT, Priorities.FILTER, "second filter", p -> log(ran, "second filter"));
        nf.register(Family.IPV4, Hook.INPUT, Priorities.CONNTRACK_CONFIRM, "confirm", p -> log(ran, "confirm"));
        Netfilter.Registration first = nf.register(Family.IPV4, Hook.INPUT, Priorities.FIRST, "first",
                p -> log(ran, "first"));
        nf.register(Family.IPV6, Hook.INPUT, Priorities.FIRST, "ipv6 only", p -> log(ran, "ipv6"));
        PacketContext pkt = new PacketContext().ipv4(Fixtures.tcp4(CLIENT, SERVER, 1, 2, 0x02), 0);
        assertThat(nf.run(Hook.INPUT, pkt)).isEqualTo(Verdict.ACCEPT);
        assertThat(ran).containsExactly("first", "mangle", "filter", "second filter", "confirm");
        assertThat(nf.unregister(first)).isTrue();
        assertThat(nf.unregister(first)).isFalse();
        ran.clear();
        nf.run(Hook.INPUT, pkt);
        assertThat(ran).containsExactly("mangle", "filter", "second filter", "confirm");
    }

    @Test
    void registrationOrderPropertyMatchesAStableSortReference() {
        SplittableRandom random = new SplittableRandom(42);
        for (int round = 0; round < 200; round++) {
            Netfilter nf = new Netfilter();
            List<int[]> reference = new ArrayList<>();
            List<String> ran = new ArrayList<>();
            int n = random.nextInt(1, 12);
            for (int i = 0; i < n; i++) {
                int prio = random.nextInt(-3, 4) * 100;
                String name = "f" + i;
                nf.register(Family.IPV4, Hook.FORWARD, prio, name, p -> log(ran, name));
                reference.add(new int[] {prio, i});
            }
            reference.sort((a, b) -> Integer.compare(a[0], b[0]));
            nf.run(Hook.FORWARD, new PacketContext().ipv4(Fixtures.tcp4(CLIENT, SERVER, 1, 2, 0x02), 0));
            assertThat(ran).containsExactlyElementsOf(reference.stream().map(r -> "f" + r[1]).toList());
        }
    }

    private static int log(List<String> ran, String name) {
        ran.add(name);
        return Verdict.ACCEPT;
    }

    @Test
    void dropEndsTheHookBeforeLaterFunctions() {
        Netfilter nf = new Netfilter();
        List<String> ran = new ArrayList<>();
        nf.register(Family.IPV4, Hook.INPUT, 0, "dropper", p -> Verdict.DROP);
        nf.register(Family.IPV4, Hook.INPUT, 10, "later", p -> log(ran, "later"));
        PacketContext pkt = new PacketContext().ipv4(Fixtures.tcp4(CLIENT, SERVER, 1, 2, 0x02), 0);
        assertThat(nf.run(Hook.INPUT, pkt)).isEqualTo(Verdict.DROP);
        assertThat(ran).isEmpty();
    }

    /** NFQUEUE in FORWARD, then an embedder function after filter; what the handler answers decides. */
    static Stream<Arguments> queueScenarios() {
        return Stream.of(
                Arguments.of("no handler drops", false, null, List.of("FORWARD filter QUEUE(3)",
                        "queued 3 -> not bound", "dropped NETFILTER_DROP"), false),
                Arguments.of("no handler with --queue-bypass goes on", true, null,
                        List.of("queued 3 -> not bound", "FORWARD after"), true),
                Arguments.of("nothing bound to the queue drops", false, QueueHandler.NOT_BOUND,
                        List.of("queued 3 -> not bound", "dropped NETFILTER_DROP"), false),
                Arguments.of("ACCEPT continues after the queuing function", false, Verdict.ACCEPT,
                        List.of("queued 3 -> ACCEPT", "FORWARD after"), true),
                Arguments.of("DROP drops", true, Verdict.DROP, List.of("queued 3 -> DROP", "dropped NETFILTER_DROP"),
                        false),
                Arguments.of("STOP skips the rest of the hook", false, Verdict.STOP, List.of("queued 3 -> STOP"), true),
                Arguments.of("REPEAT runs the queuing function again", false, Verdict.REPEAT,
                        List.of("queued 3 -> REPEAT", "FORWARD filter", "FORWARD filter QUEUE(3)",
                                "queued 3 -> DROP", "dropped NETFILTER_DROP"), false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("queueScenarios")
    void queueVerdicts(String name, boolean bypass, Integer answer, List<String> expected, boolean transmitted) {
        DatapathHarness h = new DatapathHarness();
        List<String> args = new ArrayList<>(List.of("--queue-num", "3"));
        if (bypass) {
            args.add("--queue-bypass");
        }
        var queue = rule(ANY, target(ANY, "NFQUEUE", args.toArray(String[]::new)));
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4,
                builtin("FORWARD", "ACCEPT", queue))));
        h.datapath.netfilter().register(Family.IPV4, Hook.FORWARD, 10, "after", p -> Verdict.ACCEPT);
        int[] calls = {0};
        if (answer != null) {
            h.datapath.queueHandler((q, p) -> {
                // REPEAT once, then the re-run queues again: answer DROP the second time
                return answer == Verdict.REPEAT && calls[0]++ > 0 ? Verdict.DROP : answer;
            });
        }
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.events).containsSubsequence(expected);
        assertThat(h.out).isEqualTo(transmitted ? List.of("tx eth1") : List.of());
    }

    @Test
    void queueHandlerMayChangeTheMarkAndTheOutputIsReroutedOnAccept() {
        DatapathHarness h = new DatapathHarness();
        var queue = rule(ANY, target(ANY, "NFQUEUE", "--queue-num", "0"));
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4,
                builtin("OUTPUT", "ACCEPT", queue))));
        h.datapath.queueHandler((q, p) -> {
            p.mark(1);
            return Verdict.ACCEPT;
        });
        h.sendLocal(tcp(0, ip(192, 0, 2, 7)));
        assertThat(h.out).containsExactly("tx eth2");
    }

    @Test
    void queueHandlerMayReplaceThePacket() {
        DatapathHarness h = new DatapathHarness();
        var queue = rule(ANY, target(ANY, "NFQUEUE", "--queue-num", "0"));
        h.datapath.rules(Family.IPV4, rules(Family.IPV4, table(TableKind.FILTER, Family.IPV4,
                builtin("FORWARD", "ACCEPT", queue))));
        var bigger = tcp(CLIENT, SERVER, 63, 0, 100);
        h.datapath.queueHandler((q, p) -> {
            p.replace(bigger);
            return Verdict.ACCEPT;
        });
        h.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, SERVER)));
        assertThat(h.lastFrame().byteSize()).isEqualTo(14 + bigger.byteSize());
        assertThat(Arrays.equals(h.lastFrame().asSlice(14).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                bigger.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))).isTrue();
    }
}
