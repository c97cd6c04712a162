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
}
