package org.jnetfilter.core.rules;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * A map made lazily from a sorted source (a state file's chain directory) is the map the eager build makes:
 * same lookups, walks, changes and diffs, each value made once, and a lookup makes only the path to its key.
 */
class LazyNameMapTest {
    private static List<String> sortedNames(int n) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            names.add(String.format("KUBE-SEP-%06d", i * 3));
        }
        return names;
    }

    @Test
    void oneLookupMakesOnlyThePathToItsKey() {
        List<String> names = sortedNames(60_000);
        AtomicIntegerArray made = new AtomicIntegerArray(names.size());
        NameMap<Integer> lazy = NameMap.lazy(names.size(), names::get, i -> {
            made.incrementAndGet(i);
            return i;
        });
        assertThat(lazy.get(names.get(12_345))).isEqualTo(12_345);
        assertThat(lazy.get("KUBE-SEP-000001")).isNull();
        int total = 0;
        for (int i = 0; i < names.size(); i++) {
            total += made.get(i);
        }
        // a path of a balanced tree of 60k entries and its siblings: tens of entries, not thousands
        assertThat(total).isLessThan(4 * 17);
        assertThat(lazy.size()).isEqualTo(60_000);
    }

    @Test
    void behavesLikeTheEagerBuildUnderRandomPutsRemovesWalksAndDiffs() {
        for (int seed = 0; seed < 40; seed++) {
            SplittableRandom rnd = new SplittableRandom(seed);
            List<String> names = sortedNames(1 + rnd.nextInt(3000));
            AtomicIntegerArray made = new AtomicIntegerArray(names.size());
            List<Object> values = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                values.add(new Object());
            }
            NameMap<Object> lazy = NameMap.lazy(names.size(), names::get, i -> {
                made.incrementAndGet(i);
                return values.get(i);
            });
            NameMap<Object> eager = NameMap.fromSorted(names.size(), names::get, values::get);
            TreeMap<String, Object> reference = new TreeMap<>();
            for (int i = 0; i < names.size(); i++) {
                reference.put(names.get(i), values.get(i));
            }
            for (int step = 0; step < 200; step++) {
                NameMap<Object> lazyBefore = lazy;
                NameMap<Object> eagerBefore = eager;
                String key = rnd.nextInt(4) == 0 ? "X" + rnd.nextInt(100) : names.get(rnd.nextInt(names.size()));
                switch (rnd.nextInt(3)) {
                    case 0 -> {
                        Object v = new Object();
                        lazy = lazy.put(key, v);
                        eager = eager.put(key, v);
                        reference.put(key, v);
                    }
                    case 1 -> {
                        lazy = lazy.remove(key);
                        eager = eager.remove(key);
                        reference.remove(key);
                    }
                    default -> assertThat(lazy.get(key)).isSameAs(reference.get(key));
                }
                assertThat(lazy.get(key)).isSameAs(eager.get(key));
                assertThat(lazy.size()).isEqualTo(reference.size());
                List<String> lazyChanged = new ArrayList<>();
                lazy.forEachChange(lazyBefore, (k, b, a) -> lazyChanged.add(k));
                List<String> eagerChanged = new ArrayList<>();
                eager.forEachChange(eagerBefore, (k, b, a) -> eagerChanged.add(k));
                assertThat(lazyChanged).as("seed " + seed + " step " + step).isEqualTo(eagerChanged);
            }
            List<String> walked = new ArrayList<>();
            lazy.forEach((k, v) -> {
                walked.add(k);
                assertThat(v).isSameAs(reference.get(k));
            });
            assertThat(walked).isEqualTo(List.copyOf(reference.keySet()));
            for (int i = 0; i < names.size(); i++) {
                assertThat(made.get(i)).as("value %d made", i).isLessThanOrEqualTo(1);
            }
        }
    }

    @Test
    void threadsReachingTheSameNodesSeeTheSameValues() throws Exception {
        List<String> names = sortedNames(20_000);
        AtomicIntegerArray made = new AtomicIntegerArray(names.size());
        NameMap<Object> lazy = NameMap.lazy(names.size(), names::get, i -> {
            made.incrementAndGet(i);
            return new Object();
        });
        List<Thread> threads = new ArrayList<>();
        List<List<Object>> seen = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            List<Object> mine = new ArrayList<>();
            seen.add(mine);
            threads.add(Thread.ofPlatform().start(() -> {
                for (String n : names) {
                    mine.add(lazy.get(n));
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        for (int i = 0; i < names.size(); i++) {
            assertThat(made.get(i)).isEqualTo(1);
            for (int t = 1; t < 4; t++) {
                assertThat(seen.get(t).get(i)).isSameAs(seen.get(0).get(i));
            }
        }
    }
}
