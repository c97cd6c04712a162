package org.jnetfilter.core.defrag;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.defrag.Defrag.Outcome;
import org.jnetfilter.core.defrag.Defrag.Result;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;

class DefragTest {
    static final long SECOND = 1_000_000_000L;

    static Result feed(Defrag d, byte[] f, long now) {
        MemorySegment s = MemorySegment.ofArray(new byte[f.length + 5]);
        MemorySegment.copy(MemorySegment.ofArray(f), 0, s, 3, f.length);
        return d.add(s, 3, f.length, now, 0, "eth0");
    }

    static String hex(MemorySegment s) {
        return HexFormat.of().formatHex(s.toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void reassemblesFragmentsInAnyOrderWithExactDuplicatesIgnoredAsTheOriginal() {
        SplittableRandom r = new SplittableRandom(42);
        for (int round = 0; round < 300; round++) {
            int payload = 8 + r.nextInt(3000);
            boolean df = r.nextBoolean();
            byte[] d = Datagrams.ipv4(round, 0, df, payload, r);
            List<int[]> cuts = Datagrams.cuts(d.length - 20, r);
            List<byte[]> frags = new ArrayList<>();
            for (int i = 0; i < cuts.size(); i++) {
                frags.add(Datagrams.fragment4(d, cuts.get(i)[0], cuts.get(i)[1], i < cuts.size() - 1));
            }
            if (frags.size() == 1) {
                continue;
            }
            List<byte[]> arrival = new ArrayList<>(frags);
            for (int k = r.nextInt(3); k > 0; k--) {
                arrival.add(frags.get(r.nextInt(frags.size())));
            }
            Collections.shuffle(arrival, new java.util.Random(r.nextLong()));
            // the queue completes at the last missing fragment: later copies would open a new queue
            Defrag defrag = new Defrag(Family.IPV4);
            Result done = null;
            for (byte[] f : arrival) {
                Result res = feed(defrag, f, 10 * SECOND);
                if (res.outcome() == Outcome.REASSEMBLED) {
                    done = res;
                    break;
                }
                assertThat(res.outcome()).isIn(Outcome.QUEUED, Outcome.DROPPED);
            }
            assertThat(done).as("round %d", round).isNotNull();
            assertThat(hex(done.datagram())).isEqualTo(HexFormat.of().formatHex(d));
            assertThat(done.dontFragment()).isEqualTo(df);
            int largest = cuts.stream().mapToInt(c -> c[1] - c[0]).max().orElseThrow() + 20;
            assertThat(done.fragMaxSize()).isEqualTo(largest);
            assertThat(done.fragmentPayloads()).containsExactly(cuts.stream().mapToInt(c -> c[1] - c[0]).toArray());
            assertThat(defrag.queues()).isZero();
            assertThat(defrag.memory()).isZero();
        }
    }

    @Test
    void aPartlyOverlappingFragmentKillsTheWholeQueue() {
        SplittableRandom r = new SplittableRandom(1);
        byte[] d = Datagrams.ipv4(7, 0, false, 40, r);
        Defrag defrag = new Defrag(Family.IPV4);
        assertThat(feed(defrag, Datagrams.fragment4(d, 0, 16, true), 0).outcome()).isEqualTo(Outcome.QUEUED);
        assertThat(feed(defrag, Datagrams.fragment4(d, 8, 24, true), 0).outcome()).isEqualTo(Outcome.DROPPED);
        assertThat(defrag.queues()).isZero();
        // the rest alone opens a new queue, which lacks the first fragment
        assertThat(feed(defrag, Datagrams.fragment4(d, 16, 48, false), 0).outcome()).isEqualTo(Outcome.QUEUED);
    }

    @Test
    void aDuplicateInsideOneRunIsDroppedAloneButOneSpanningTwoRunsIsAnOverlap() {
        SplittableRandom r = new SplittableRandom(2);
        byte[] d = Datagrams.ipv4(8, 0, false, 40, r);
        // in order: [0,8) then [8,16) append to one run; [0,16) lies inside it
        Defrag inOrder = new Defrag(Family.IPV4);
        feed(inOrder, Datagrams.fragment4(d, 0, 8, true), 0);
        feed(inOrder, Datagrams.fragment4(d, 8, 16, true), 0);
        assertThat(feed(inOrder, Datagrams.fragment4(d, 0, 16, true), 0).outcome()).isEqualTo(Outcome.DROPPED);
        assertThat(inOrder.queues()).isOne();
        assertThat(feed(inOrder, Datagrams.fragment4(d, 16, 48, false), 0).outcome()).isEqualTo(Outcome.REASSEMBLED);
        // out of order: [0,8), [16,24), then [8,16) stands alone; [0,16) spans two runs: overlap
        Defrag outOfOrder = new Defrag(Family.IPV4);
        feed(outOfOrder, Datagrams.fragment4(d, 0, 8, true), 0);
        feed(outOfOrder, Datagrams.fragment4(d, 16, 24, true), 0);
        feed(outOfOrder, Datagrams.fragment4(d, 8, 16, true), 0);
        assertThat(feed(outOfOrder, Datagrams.fragment4(d, 0, 16, true), 0).outcome()).isEqualTo(Outcome.DROPPED);
        assertThat(outOfOrder.queues()).isZero();
    }

    @Test
    void aSecondLastFragmentWithAnotherEndKillsAnIpv4QueueButOnlyDropsAnIpv6Fragment() {
        SplittableRandom r = new SplittableRandom(3);
        byte[] d = Datagrams.ipv4(9, 0, false, 40, r);
        Defrag v4 = new Defrag(Family.IPV4);
        feed(v4, Datagrams.fragment4(d, 16, 48, false), 0);
        assertThat(feed(v4, Datagrams.fragment4(d, 8, 40, false), 0).outcome()).isEqualTo(Outcome.DROPPED);
        assertThat(v4.queues()).isZero();

        byte[] d6 = Datagrams.ipv6(0, false, 40, r);
        Defrag v6 = new Defrag(Family.IPV6);
        feed(v6, Datagrams.fragment6(d6, 40, 6, 16, 48, false, 5), 0);
        assertThat(feed(v6, Datagrams.fragment6(d6, 40, 6, 8, 40, false, 5), 0).outcome()).isEqualTo(Outcome.DROPPED);
        assertThat(v6.queues()).isOne();
        feed(v6, Datagrams.fragment6(d6, 40, 6, 0, 16, true, 5), 0);
        assertThat(v6.queues()).isZero();
    }

    @Test
    void aNonLastFragmentNotAMultipleOfEightIsTrimmedInIpv4AndPassesUnreassembledInIpv6() {
        SplittableRandom r = new SplittableRandom(4);
        byte[] d = Datagrams.ipv4(10, 0, false, 40, r);
        Defrag v4 = new Defrag(Family.IPV4);
        // [0,20) is queued as [0,16); [16,48) then completes the datagram
        assertThat(feed(v4, Datagrams.fragment4(d, 0, 20, true), 0).outcome()).isEqualTo(Outcome.QUEUED);
        Result done = feed(v4, Datagrams.fragment4(d, 16, 48, false), 0);
        assertThat(done.outcome()).isEqualTo(Outcome.REASSEMBLED);
        assertThat(hex(done.datagram())).isEqualTo(HexFormat.of().formatHex(d));

        byte[] d6 = Datagrams.ipv6(0, false, 40, r);
        Defrag v6 = new Defrag(Family.IPV6);
        feed(v6, Datagrams.fragment6(d6, 40, 6, 24, 48, false, 6), 0);
        assertThat(feed(v6, Datagrams.fragment6(d6, 40, 6, 0, 20, true, 6), 0).outcome()).isEqualTo(Outcome.PASS);
        assertThat(v6.queues()).isZero();
    }

    @Test
    void ecnCodepointsCombineAsTheKernelsTable() {
        assertThat(Defrag.ecnOf(1 << 2)).isZero();
        assertThat(Defrag.ecnOf(1 << 3 | 1 << 2)).isEqualTo(3);
        assertThat(Defrag.ecnOf(1 << 3 | 1 << 1 | 1 << 2)).isEqualTo(3);
        assertThat(Defrag.ecnOf(1 << 0 | 1 << 3)).isEqualTo(-1);
        assertThat(Defrag.ecnOf(1 << 0 | 1 << 2)).isEqualTo(-1);
        assertThat(Defrag.ecnOf(1 << 0)).isZero();
        SplittableRandom r = new SplittableRandom(5);
        byte[] d = Datagrams.ipv4(11, 0x02, false, 40, r);
        byte[] first = Datagrams.fragment4(d, 0, 16, true);
        byte[] last = Datagrams.fragment4(d, 16, 48, false);
        last[1] = 0x03;
        Datagrams.setChecksum(last, 20);
        Defrag defrag = new Defrag(Family.IPV4);
        feed(defrag, first, 0);
        Result done = feed(defrag, last, 0);
        assertThat(done.datagram().get(ValueLayout.JAVA_BYTE, 1)).isEqualTo((byte) 0x03);
        byte[] notEct = Datagrams.fragment4(d, 16, 48, false);
        notEct[1] = 0;
        Datagrams.setChecksum(notEct, 20);
        Defrag mixed = new Defrag(Family.IPV4);
        feed(mixed, first, 0);
        assertThat(feed(mixed, notEct, 0).outcome()).isEqualTo(Outcome.DROPPED);
    }

    @Test
    void aQueueExpiresThirtySecondsAfterItsFirstFragmentWithTheFirstFragmentForTheError() {
        SplittableRandom r = new SplittableRandom(6);
        byte[] d = Datagrams.ipv4(12, 0, false, 40, r);
        Defrag defrag = new Defrag(Family.IPV4);
        byte[] first = Datagrams.fragment4(d, 0, 16, true);
        feed(defrag, first, 0);
        feed(defrag, Datagrams.fragment4(d, 24, 48, false), 29 * SECOND);
        assertThat(defrag.expire(30 * SECOND - 1)).isEmpty();
        List<Defrag.Expired> gone = defrag.expire(30 * SECOND);
        assertThat(gone).hasSize(1);
        assertThat(hex(gone.get(0).first())).isEqualTo(HexFormat.of().formatHex(first));
        assertThat(gone.get(0).inDevice()).isEqualTo("eth0");
        assertThat(defrag.queues()).isZero();
        assertThat(defrag.memory()).isZero();
        // a queue without its first fragment expires with nothing to send the error from
        feed(defrag, Datagrams.fragment4(d, 24, 48, false), 40 * SECOND);
        assertThat(feed(defrag, Datagrams.fragment4(d, 16, 24, true), 80 * SECOND).outcome())
                .isEqualTo(Outcome.QUEUED);
        assertThat(defrag.expire(80 * SECOND)).extracting(Defrag.Expired::first).containsExactly((MemorySegment) null);
    }

    @Test
    void aboveTheHighThresholdEveryFragmentIsDropped() {
        SplittableRandom r = new SplittableRandom(7);
        Defrag defrag = new Defrag(Family.IPV4).highThresh(2000);
        byte[] a = Datagrams.ipv4(13, 0, false, 1400, r);
        assertThat(feed(defrag, Datagrams.fragment4(a, 0, 1400, true), 0).outcome()).isEqualTo(Outcome.QUEUED);
        assertThat(defrag.memory()).isEqualTo(1420 + Defrag.SKB_OVERHEAD);
        // 1996 bytes counted: still below 2000, so one more is taken
        assertThat(feed(defrag, Datagrams.fragment4(a, 1400, 1408, false), 0).outcome()).isEqualTo(Outcome.REASSEMBLED);
        byte[] b = Datagrams.ipv4(14, 0, false, 1400, r);
        feed(defrag, Datagrams.fragment4(b, 0, 1400, true), 0);
        byte[] c = Datagrams.ipv4(15, 0, false, 1400, r);
        assertThat(feed(defrag, Datagrams.fragment4(c, 0, 1400, true), 0).outcome()).isEqualTo(Outcome.QUEUED);
        assertThat(feed(defrag, Datagrams.fragment4(b, 1400, 1408, false), 0).outcome()).isEqualTo(Outcome.DROPPED);
    }

    @Test
    void notFragmentsPassUntouched() {
        SplittableRandom r = new SplittableRandom(8);
        Defrag defrag = new Defrag(Family.IPV4);
        assertThat(feed(defrag, Datagrams.ipv4(1, 0, true, 30, r), 0).outcome()).isEqualTo(Outcome.NOT_FRAGMENT);
        Defrag v6 = new Defrag(Family.IPV6);
        assertThat(feed(v6, Datagrams.ipv6(0, true, 30, r), 0).outcome()).isEqualTo(Outcome.NOT_FRAGMENT);
    }

    @Test
    void ipv6ReassemblyRemovesTheFragmentHeaderAndRestoresTheNextHeaderAfterHopByHop() {
        SplittableRandom r = new SplittableRandom(9);
        for (int round = 0; round < 100; round++) {
            boolean hbh = r.nextBoolean();
            byte[] d = Datagrams.ipv6(0x20, hbh, 8 + r.nextInt(2000), r);
            int hlen = hbh ? 48 : 40;
            int nextAt = hbh ? 40 : 6;
            List<int[]> cuts = Datagrams.cuts(d.length - hlen, r);
            if (cuts.size() < 2) {
                continue;
            }
            List<byte[]> frags = new ArrayList<>();
            for (int i = 0; i < cuts.size(); i++) {
                frags.add(Datagrams.fragment6(d, hlen, nextAt, cuts.get(i)[0], cuts.get(i)[1], i < cuts.size() - 1, round));
            }
            Collections.shuffle(frags, new java.util.Random(r.nextLong()));
            Defrag defrag = new Defrag(Family.IPV6);
            Result done = null;
            for (byte[] f : frags) {
                done = feed(defrag, f, 0);
            }
            assertThat(done.outcome()).isEqualTo(Outcome.REASSEMBLED);
            assertThat(hex(done.datagram())).isEqualTo(HexFormat.of().formatHex(d));
            int largest = cuts.stream().mapToInt(c -> c[1] - c[0]).max().orElseThrow() + hlen + 8;
            assertThat(done.fragMaxSize()).isEqualTo(largest);
        }
    }
}
