package org.jnetfilter.core.rules;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class ChainMapTest {
    @Test
    void behavesLikeATreeMapUnderRandomPutsAndRemovesAndKeepsOldVersions() {
        SplittableRandom rnd = new SplittableRandom(7);
        ChainMap map = ChainMap.empty();
        TreeMap<String, Chain> reference = new TreeMap<>();
        List<ChainMap> versions = new ArrayList<>();
        List<List<String>> expectedKeys = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            String key = "C" + rnd.nextInt(800);
            if (rnd.nextInt(3) == 0) {
                map = map.remove(key);
                reference.remove(key);
            } else {
                Chain c = Chain.user(key);
                map = map.put(key, c);
                reference.put(key, c);
            }
            assertThat(map.get(key)).isSameAs(reference.get(key));
            if (i % 500 == 0) {
                versions.add(map);
                expectedKeys.add(List.copyOf(reference.keySet()));
            }
        }
        assertThat(map.size()).isEqualTo(reference.size());
        assertThat(map.values()).containsExactlyElementsOf(reference.values());
        for (int v = 0; v < versions.size(); v++) {
            assertThat(versions.get(v).values().stream().map(Chain::name).toList()).isEqualTo(expectedKeys.get(v));
        }
    }

    @Test
    void forEachChangeReportsExactlyTheChainsThatDiffer() {
        SplittableRandom rnd = new SplittableRandom(9);
        ChainMap map = ChainMap.empty();
        for (int i = 0; i < 2000; i++) {
            String key = "C" + rnd.nextInt(3000);
            map = map.put(key, Chain.user(key));
        }
        for (int round = 0; round < 300; round++) {
            ChainMap before = map;
            ChainMap after = map;
            for (int k = rnd.nextInt(4); k >= 0; k--) {
                String key = "C" + rnd.nextInt(3000);
                after = rnd.nextInt(3) == 0 ? after.remove(key) : after.put(key, Chain.user(key));
            }
            java.util.Map<String, Chain> a = new TreeMap<>();
            before.forEach(c -> a.put(c.name(), c));
            java.util.Map<String, Chain> b = new TreeMap<>();
            after.forEach(c -> b.put(c.name(), c));
            java.util.Set<String> expected = new java.util.TreeSet<>();
            for (String k : a.keySet()) {
                if (b.get(k) != a.get(k)) {
                    expected.add(k);
                }
            }
            for (String k : b.keySet()) {
                if (a.get(k) != b.get(k)) {
                    expected.add(k);
                }
            }
            java.util.Set<String> reported = new java.util.TreeSet<>();
            after.forEachChange(before, (x, y) -> reported.add((y != null ? y : x).name()));
            assertThat(reported).isEqualTo(expected);
            map = after;
        }
    }
}
