package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.Fixtures.ip;
import static org.jnetfilter.core.netfilter.Fixtures.ipv4;
import static org.jnetfilter.core.netfilter.Fixtures.ipv6;
import static org.jnetfilter.core.netfilter.Fixtures.match;
import static org.jnetfilter.core.netfilter.Fixtures.tcp;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.matches.RecentMatch;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.junit.jupiter.api.Test;

/** xt_recent lists: set, check, update, remove, windows in seconds, hit counts, TTLs, masks and reaping. */
class RecentSemanticsTest {
    static final IpSpec ANY = IpSpec.any(Family.IPV4);
    static final long SECOND = 1_000_000_000L;
    static final int A = ip(203, 0, 113, 7);
    static final int SERVER = ip(10, 0, 0, 1);

    private final PacketContext pkt = new PacketContext();

    private static ExtensionData recent(String... words) {
        return match(ANY, "recent", words).data();
    }

    private static MemorySegment from(int src, int ttl) {
        return ipv4(src, SERVER, 6, 0, ttl, tcp(40000, 22, 0x02));
    }

    private boolean at(ExtensionData d, long seconds, MemorySegment packet) {
        return d.matches(pkt.ipv4(packet, 0).nowNanos(seconds * SECOND));
    }

    private boolean at(ExtensionData d, long seconds) {
        return at(d, seconds, from(A, 64));
    }

    @Test
    void setAlwaysMatchesAndCheckCountsStampsWithinTheWindow() {
        ExtensionData set = recent("--set", "--name", "r-window");
        ExtensionData check = recent("--rcheck", "--seconds", "60", "--hitcount", "3", "--name", "r-window");
        assertThat(at(check, 0)).isFalse();
        assertThat(at(set, 0)).isTrue();
        assertThat(at(set, 10)).isTrue();
        assertThat(at(check, 15)).isFalse();
        assertThat(at(set, 20)).isTrue();
        assertThat(at(check, 25)).isTrue();
        // the window is [now - 60 s, now]: the stamp at 0 still counts at 60 s, not at 60 s + 1 jiffy
        assertThat(at(check, 60)).isTrue();
        assertThat(pkt.ipv4(from(A, 64), 0).nowNanos(60 * SECOND + 4_000_000L)).isNotNull();
        assertThat(check.matches(pkt)).isFalse();
    }

    @Test
    void updateStampsOnlyWhenItMatches() {
        ExtensionData set = recent("--set", "--name", "r-update");
        ExtensionData update = recent("--update", "--seconds", "10", "--name", "r-update");
        at(set, 0);
        assertThat(at(update, 5)).isTrue();
        // the stamp at 5 s keeps the address within 10 s at 14 s, and 14 s is stamped too
        assertThat(at(update, 14)).isTrue();
        assertThat(at(update, 24)).isTrue();
        // 24 s + 10 s < 35 s: out of the window, and a miss stamps nothing
        assertThat(at(update, 35)).isFalse();
        assertThat(at(update, 36)).isFalse();
    }

    @Test
    void invertedUpdateStampsWhenTheInvertedAnswerIsTrue() {
        ExtensionData set = recent("--set", "--name", "r-invupdate");
        ExtensionData notUpdate = recent("!", "--update", "--seconds", "10", "--name", "r-invupdate");
        ExtensionData check = recent("--rcheck", "--seconds", "10", "--name", "r-invupdate");
        at(set, 0);
        // within the window: the inverted answer is false, nothing stamped
        assertThat(at(notUpdate, 5)).isFalse();
        // out of it: true, and recent_mt stamps on "ret", so the address is fresh again
        assertThat(at(notUpdate, 20)).isTrue();
        assertThat(at(check, 25)).isTrue();
    }

    @Test
    void removeDropsTheAddress() {
        ExtensionData set = recent("--set", "--name", "r-remove");
        ExtensionData remove = recent("--remove", "--name", "r-remove");
        ExtensionData check = recent("--rcheck", "--name", "r-remove");
        assertThat(at(remove, 0)).isFalse();
        at(set, 0);
        assertThat(at(check, 1)).isTrue();
        assertThat(at(remove, 2)).isTrue();
        assertThat(at(check, 3)).isFalse();
    }

    @Test
    void theRingKeepsTheNewestStampsAndAWiderRuleFlushesTheList() {
        // ip_pkt_list_tot = 20 rounds up to a ring of 32 stamps: of 40 stamps (0 .. 39 s) 8 .. 39 remain
        ExtensionData set = recent("--set", "--name", "r-ring");
        for (int i = 0; i < 40; i++) {
            at(set, i);
        }
        assertThat(at(recent("--rcheck", "--hitcount", "32", "--name", "r-ring"), 41)).isTrue();
        // the window at 41 s is [36 s, 41 s]: 36 .. 39, four stamps
        assertThat(at(recent("--rcheck", "--seconds", "5", "--hitcount", "4", "--name", "r-ring"), 41)).isTrue();
        assertThat(at(recent("--rcheck", "--seconds", "5", "--hitcount", "5", "--name", "r-ring"), 41)).isFalse();
        // at 39 s it is [34 s, 39 s]: six stamps
        assertThat(at(recent("--rcheck", "--seconds", "5", "--hitcount", "6", "--name", "r-ring"), 39)).isTrue();
        // a rule counting 33 hits needs a ring of 64: recent_mt_check flushes the list to widen it
        assertThat(at(recent("--rcheck", "--hitcount", "33", "--name", "r-ring"), 42)).isFalse();
        assertThat(at(recent("--rcheck", "--name", "r-ring"), 42)).isFalse();
    }

    @Test
    void ttlMustEqualTheOneSeenAtSet() {
        ExtensionData set = recent("--set", "--name", "r-ttl");
        ExtensionData checkTtl = recent("--rcheck", "--rttl", "--name", "r-ttl");
        ExtensionData check = recent("--rcheck", "--name", "r-ttl");
        at(set, 0, from(A, 64));
        assertThat(at(checkTtl, 1, from(A, 63))).isFalse();
        assertThat(at(check, 1, from(A, 63))).isTrue();
        assertThat(at(checkTtl, 1, from(A, 64))).isTrue();
    }

    @Test
    void forwardedPacketsCountTheTtlBeforeForwarding() {
        ExtensionData set = recent("--set", "--name", "r-fwd");
        ExtensionData checkTtl = recent("--rcheck", "--rttl", "--name", "r-fwd");
        at(set, 0, from(A, 64));
        pkt.ipv4(from(A, 63), 0).inInterface("eth0").outInterface("eth1");
        assertThat(checkTtl.matches(pkt)).isTrue();
    }

    @Test
    void maskAndDestinationSideChooseTheKey() {
        ExtensionData set = recent("--set", "--name", "r-mask", "--mask", "255.255.255.0");
        ExtensionData check = recent("--rcheck", "--name", "r-mask", "--mask", "255.255.255.0");
        at(set, 0, from(A, 64));
        assertThat(at(check, 1, from(ip(203, 0, 113, 200), 64))).isTrue();
        assertThat(at(check, 1, from(ip(203, 0, 114, 7), 64))).isFalse();
        ExtensionData byDest = recent("--rcheck", "--name", "r-mask", "--rdest");
        // the destination 10.0.0.1 was never set
        assertThat(at(byDest, 1, from(A, 64))).isFalse();
    }

    @Test
    void listsAreKeptByNameAndEntriesByFamily() {
        ExtensionData set = recent("--set", "--name", "r-names");
        ExtensionData other = recent("--rcheck", "--name", "r-names-other");
        at(set, 0);
        assertThat(at(other, 1)).isFalse();
        IpSpec any6 = IpSpec.any(Family.IPV6);
        ExtensionData check6 = match(any6, "recent", "--rcheck", "--name", "r-names").data();
        // ::cb00:7107 as IPv6 is not the IPv4 203.0.113.7
        MemorySegment p6 = ipv6(0, 0xcb007107L, 0, 1, 6, 64, tcp(1, 2, 0x02));
        assertThat(check6.matches(pkt.ipv6(p6, 0).nowNanos(SECOND))).isFalse();
    }

    @Test
    void aFullListForgetsTheLeastRecentlyStampedAddress() {
        ExtensionData set = recent("--set", "--name", "r-lru");
        ExtensionData check = recent("--rcheck", "--name", "r-lru");
        for (int i = 0; i < 100; i++) {
            at(set, i, from(ip(10, 1, 0, i), 64));
        }
        // stamping the first again makes the second the oldest
        at(set, 100, from(ip(10, 1, 0, 0), 64));
        at(set, 101, from(ip(10, 1, 1, 0), 64));
        assertThat(((RecentMatch.Data) set).state().get().size()).isEqualTo(100);
        assertThat(at(check, 102, from(ip(10, 1, 0, 0), 64))).isTrue();
        assertThat(at(check, 102, from(ip(10, 1, 0, 1), 64))).isFalse();
        assertThat(at(check, 102, from(ip(10, 1, 0, 2), 64))).isTrue();
    }

    @Test
    void reapDropsTheOldestStaleEntry() {
        ExtensionData set = recent("--set", "--name", "r-reap");
        ExtensionData reap = recent("--update", "--seconds", "10", "--reap", "--name", "r-reap");
        int b = ip(198, 51, 100, 1);
        at(set, 0, from(A, 64));
        at(set, 50, from(b, 64));
        assertThat(at(reap, 55, from(b, 64))).isTrue();
        RecentMatch.Table t = ((RecentMatch.Data) set).state().get();
        assertThat(t.size()).isEqualTo(1);
    }
}
