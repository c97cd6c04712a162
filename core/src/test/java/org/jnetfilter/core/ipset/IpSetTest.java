package org.jnetfilter.core.ipset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;

/** Set semantics of the kernel's ipset types, on an injected clock (nanoseconds). */
class IpSetTest {
    private static final long S = 1_000_000_000L;
    private final SplittableRandom random = new SplittableRandom(7);

    static CreateOptions hash(Family f, long timeout, boolean counters) {
        return new CreateOptions(f, 1024, 65536, f.addressBits(), timeout, counters, false, false, false, 12, 1, -1, -1,
                8);
    }

    private IpSet create(Ipsets sets, String name, SetType type, CreateOptions o) {
        return sets.create(name, type, o, false, random);
    }

    private void add(IpSet set, String elem, IpSet.AddParams p, long now) {
        for (Element e : set.parseElements(elem)) {
            set.checkElement(e, () -> { });
            set.add(e, p, false, now, random);
        }
    }

    private static boolean has(IpSet set, String elem, long now) {
        return set.test(set.parseElements(elem).get(0), now);
    }

    @Test
    void hashNetAnswersWithTheMostSpecificNetworkAndNomatchExceptions() {
        IpSet set = create(new Ipsets(), "n", SetType.HASH_NET, hash(Family.IPV4, -1, false));
        add(set, "1.1.1.1", new IpSet.AddParams(-1, -1, -1, -1, null, true, -1, 0, -1, -1), 0);
        add(set, "1.1.1.0/30", IpSet.AddParams.NONE, 0);
        add(set, "1.1.1.0/28", new IpSet.AddParams(-1, -1, -1, -1, null, true, -1, 0, -1, -1), 0);
        add(set, "1.1.1.0/26", IpSet.AddParams.NONE, 0);
        // the kernel's own nethash.t expectations
        assertThat(has(set, "1.1.1.1", 0)).isFalse();
        assertThat(has(set, "1.1.1.3", 0)).isTrue();
        assertThat(has(set, "1.1.1.4", 0)).isFalse();
        assertThat(has(set, "1.1.1.16", 0)).isTrue();
        assertThat(has(set, "1.1.2.1", 0)).isFalse();
    }

    @Test
    void elementsExpireOnTheInjectedClockAndTheDefaultTimeoutApplies() {
        IpSet set = create(new Ipsets(), "t", SetType.HASH_IP, hash(Family.IPV4, 10, false));
        add(set, "10.0.0.1", IpSet.AddParams.NONE, 0);
        add(set, "10.0.0.2", IpSet.AddParams.NONE.withTimeout(100), 0);
        add(set, "10.0.0.3", IpSet.AddParams.NONE.withTimeout(0), 0);
        assertThat(has(set, "10.0.0.1", 9 * S)).isTrue();
        assertThat(has(set, "10.0.0.1", 10 * S)).isFalse();
        assertThat(has(set, "10.0.0.2", 99 * S)).isTrue();
        assertThat(has(set, "10.0.0.3", 1_000_000 * S)).isTrue();
        assertThat(set.size(50 * S)).isEqualTo(2);
        // an expired element is gone: adding it again is no error
        add(set, "10.0.0.1", IpSet.AddParams.NONE, 11 * S);
        assertThat(has(set, "10.0.0.1", 12 * S)).isTrue();
    }

    @Test
    void addingAnElementTwiceIsAnErrorUnlessExistWhichRefreshesItsTimeout() {
        IpSet set = create(new Ipsets(), "t", SetType.HASH_IP, hash(Family.IPV4, 10, false));
        Element e = set.parseElements("10.0.0.1").get(0);
        set.add(e, IpSet.AddParams.NONE, false, 0, random);
        assertThatThrownBy(() -> set.add(e, IpSet.AddParams.NONE, false, 5 * S, random))
                .hasMessage("Element cannot be added to the set: it's already added");
        set.add(e, IpSet.AddParams.NONE, true, 5 * S, random);
        assertThat(set.test(e, 14 * S)).isTrue();
        assertThat(set.test(e, 15 * S)).isFalse();
    }

    @Test
    void hashIpWithNetmaskStoresAndMatchesTheMaskedAddress() {
        CreateOptions o = new CreateOptions(Family.IPV4, 1024, 65536, 24, -1, false, false, false, false, 12, 1, -1, -1, 8);
        IpSet set = create(new Ipsets(), "m", SetType.HASH_IP, o);
        add(set, "10.1.2.3", IpSet.AddParams.NONE, 0);
        assertThat(set.elements(0)).hasSize(1);
        assertThat(set.format(set.elements(0).get(0).getKey())).isEqualTo("10.1.2.0");
        Element probe = set.probe();
        probe.lo = 0x0A0102FFL;
        assertThat(set.lookup(probe, 0)).isNotNull();
    }

    @Test
    void rangesExpandAsTheKernelDoes() {
        IpSet ip = create(new Ipsets(), "a", SetType.HASH_IP, hash(Family.IPV4, -1, false));
        assertThat(ip.parseElements("10.0.0.0/30")).hasSize(4);
        assertThat(ip.parseElements("10.0.0.3-10.0.0.1")).hasSize(3);
        IpSet net = create(new Ipsets(), "n", SetType.HASH_NET, hash(Family.IPV4, -1, false));
        List<String> nets = net.parseElements("1.1.1.0-1.1.1.9").stream().map(net::format).toList();
        assertThat(nets).containsExactly("1.1.1.0/29", "1.1.1.8/31");
        IpSet port = create(new Ipsets(), "p", SetType.HASH_IP_PORT, hash(Family.IPV4, -1, false));
        assertThat(port.parseElements("1.1.1.1,udp:10-12").stream().map(port::format).toList())
                .containsExactly("1.1.1.1,udp:10", "1.1.1.1,udp:11", "1.1.1.1,udp:12");
        assertThat(port.format(port.parseElements("1.1.1.1,icmp:3/4").get(0))).isEqualTo("1.1.1.1,icmp:fragmentation-needed");
        assertThat(port.format(port.parseElements("1.1.1.1,80").get(0))).isEqualTo("1.1.1.1,tcp:80");
    }

    @Test
    void aFullHashRefusesMoreElements() {
        CreateOptions o = new CreateOptions(Family.IPV4, 64, 2, 32, -1, false, false, false, false, 12, 1, -1, -1, 8);
        IpSet set = create(new Ipsets(), "f", SetType.HASH_IP, o);
        add(set, "10.0.0.1", IpSet.AddParams.NONE, 0);
        add(set, "10.0.0.2", IpSet.AddParams.NONE, 0);
        assertThatThrownBy(() -> add(set, "10.0.0.3", IpSet.AddParams.NONE, 0))
                .hasMessage("Hash is full, cannot add more elements");
    }

    @Test
    void listSetMembersAreReferencedAndBlockDestroyAndRename() {
        Ipsets sets = new Ipsets();
        IpSet a = create(sets, "a", SetType.HASH_IP, hash(Family.IPV4, -1, false));
        IpSet l = create(sets, "l", SetType.LIST_SET, hash(Family.IPV4, -1, false));
        sets.add(l, l.parseElements("a").get(0), IpSet.AddParams.NONE, false, 0, random, 0, null);
        assertThat(a.references()).isEqualTo(1);
        assertThatThrownBy(() -> sets.destroy("a")).hasMessage("Set cannot be destroyed: it is in use by a kernel component");
        assertThatThrownBy(() -> sets.rename("a", "b")).hasMessage("Set cannot be renamed: it is in use by another system");
        sets.flush("l");
        assertThat(a.references()).isZero();
        sets.destroy("a");
        assertThat(sets.names()).containsExactly("l");
    }

    @Test
    void aNewSetTakesTheFirstFreeIndexAsInTheKernel() {
        Ipsets sets = new Ipsets();
        for (String n : new String[] {"a", "b", "c"}) {
            create(sets, n, SetType.HASH_IP, hash(Family.IPV4, -1, false));
        }
        sets.destroy("a");
        create(sets, "d", SetType.HASH_IP, hash(Family.IPV4, -1, false));
        assertThat(sets.names()).containsExactly("d", "b", "c");
    }

    /** Reference: the longest matching prefix among all networks, by scanning them. */
    private static Boolean reference(List<long[]> nets, long address) {
        long[] best = null;
        for (long[] n : nets) {
            long mask = ElementSyntax.cidrMask4((int) n[1]);
            if ((address & mask) == n[0] && (best == null || n[1] > best[1])) {
                best = n;
            }
        }
        return best == null ? Boolean.FALSE : best[2] == 0;
    }

    @Test
    void hashNetLookupEqualsALongestPrefixScanOnRandomSets() {
        SplittableRandom r = new SplittableRandom(42);
        for (int round = 0; round < 50; round++) {
            IpSet set = create(new Ipsets(), "n", SetType.HASH_NET, hash(Family.IPV4, -1, false));
            List<long[]> nets = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                int cidr = 8 + r.nextInt(25);
                long addr = (0x0A000000L | r.nextLong(1 << 16) << 8 | r.nextLong(256)) & ElementSyntax.cidrMask4(cidr);
                boolean nomatch = r.nextInt(4) == 0;
                Element e = set.parseElements(ip(addr) + "/" + cidr).get(0);
                if (set.test(e, 0) || nets.stream().anyMatch(n -> n[0] == addr && n[1] == cidr)) {
                    continue;
                }
                set.add(e, new IpSet.AddParams(-1, -1, -1, -1, null, nomatch, -1, 0, -1, -1), false, 0, random);
                nets.add(new long[] {addr, cidr, nomatch ? 1 : 0});
            }
            for (int i = 0; i < 500; i++) {
                long address = 0x0A000000L | r.nextLong(1 << 24);
                Element probe = set.probe();
                probe.lo = address;
                Entry hit = set.lookup(probe, 0);
                boolean matched = hit != null && !hit.nomatch();
                assertThat(matched).as("%s in %d networks", ip(address), nets.size())
                        .isEqualTo(reference(nets, address));
            }
        }
    }

    private static String ip(long a) {
        return (a >>> 24 & 255) + "." + (a >>> 16 & 255) + "." + (a >>> 8 & 255) + "." + (a & 255);
    }
}
