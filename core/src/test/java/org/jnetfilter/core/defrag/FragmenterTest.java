package org.jnetfilter.core.defrag;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.defrag.Defrag.Outcome;
import org.jnetfilter.core.defrag.Defrag.Result;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;

class FragmenterTest {
    static List<String> hex(List<MemorySegment> segments) {
        List<String> out = new ArrayList<>();
        for (MemorySegment s : segments) {
            out.add(HexFormat.of().formatHex(s.toArray(ValueLayout.JAVA_BYTE)));
        }
        return out;
    }

    static Result reassemble(Defrag defrag, List<byte[]> frags) {
        Result done = null;
        for (byte[] f : frags) {
            done = defrag.add(MemorySegment.ofArray(f), 0, f.length, 0, 0, null);
        }
        assertThat(done.outcome()).isEqualTo(Outcome.REASSEMBLED);
        return done;
    }

    @Test
    void aReassembledDatagramLeavesAsTheFragmentsItCameInWithoutDf() {
        SplittableRandom r = new SplittableRandom(11);
        for (int round = 0; round < 200; round++) {
            byte[] d = Datagrams.ipv4(round, 0, r.nextBoolean(), 16 + r.nextInt(4000), r);
            List<int[]> cuts = Datagrams.cuts(d.length - 20, r);
            if (cuts.size() < 2) {
                continue;
            }
            List<byte[]> frags = new ArrayList<>();
            List<byte[]> expected = new ArrayList<>();
            for (int i = 0; i < cuts.size(); i++) {
                byte[] f = Datagrams.fragment4(d, cuts.get(i)[0], cuts.get(i)[1], i < cuts.size() - 1);
                frags.add(f);
                // the fast path writes MF alone: DF does not survive
                byte[] e = f.clone();
                e[6] &= (byte) ~0x40;
                Datagrams.setChecksum(e, 20);
                expected.add(e);
            }
            Result done = reassemble(new Defrag(Family.IPV4), frags);
            Fragmenter.Output out = Fragmenter.refragment(done, 9000, true, 0);
            assertThat(out.tooBig()).isFalse();
            assertThat(hex(out.fragments())).containsExactlyElementsOf(
                    hex(expected.stream().map(MemorySegment::ofArray).toList()));
        }
    }

    @Test
    void withoutTheFragmentsTheSlowPathCutsAtTheLargestFragmentSizeAndKeepsDf() {
        SplittableRandom r = new SplittableRandom(12);
        byte[] d = Datagrams.ipv4(99, 0, true, 3000 - 28, r);
        List<byte[]> frags = List.of(Datagrams.fragment4(d, 0, 1000, true), Datagrams.fragment4(d, 1000, 2000, true),
                Datagrams.fragment4(d, 2000, 2980, false));
        Result done = reassemble(new Defrag(Family.IPV4), frags);
        assertThat(done.fragMaxSize()).isEqualTo(1020);
        Fragmenter.Output out = Fragmenter.ipv4(done.datagram(), 1500, done.fragMaxSize(), done.dontFragment(), true,
                null);
        assertThat(out.fragments()).extracting(s -> (int) s.byteSize()).containsExactly(1020, 1020, 1000);
        assertThat(out.fragments()).extracting(s -> Short.toUnsignedInt(s.get(Datagrams.U16, 6)))
                .containsExactly(0x4000 | 0x2000, 0x4000 | 0x2000 | 125, 0x4000 | 250);
    }

    @Test
    void aDatagramWithDfLargerThanTheMtuIsNotFragmentedButAnswersFragmentationNeeded() {
        SplittableRandom r = new SplittableRandom(13);
        byte[] d = Datagrams.ipv4(1, 0, true, 1600, r);
        Fragmenter.Output out = Fragmenter.ipv4(MemorySegment.ofArray(d), 1500, 0, false, false, null);
        assertThat(out.fragments()).isEmpty();
        assertThat(out.tooBigMtu()).isEqualTo(1500);
        // a reassembled datagram whose fragments were larger than the next MTU: the same
        List<byte[]> frags = List.of(Datagrams.fragment4(d, 0, 1480, true), Datagrams.fragment4(d, 1480, 1608, false));
        Result done = reassemble(new Defrag(Family.IPV4), frags);
        assertThat(Fragmenter.refragment(done, 1400, true, 0).tooBigMtu()).isEqualTo(1400);
        // without DF a datagram larger than the MTU is cut to it
        byte[] plain = Datagrams.ipv4(2, 0, false, 1600, r);
        assertThat(Fragmenter.ipv4(MemorySegment.ofArray(plain), 1500, 0, false, false, null).fragments())
                .extracting(s -> (int) s.byteSize()).containsExactly(1500, 148);
    }

    @Test
    void optionsWithoutTheCopiedBitBecomeNopsAfterTheFirstFragment() {
        byte[] header = HexFormat.of().parseHex("46000000000000004011000000000000000000000707040000000000".substring(0, 56));
        byte[] h = new byte[24];
        System.arraycopy(header, 0, h, 0, Math.min(24, header.length));
        h[20] = (byte) 0x94; // router alert, copied
        h[21] = 4;
        h[22] = 0;
        h[23] = 0;
        Fragmenter.stripUncopiedOptions(h, 24);
        assertThat(HexFormat.of().formatHex(h, 20, 24)).isEqualTo("94040000");
        h[20] = 0x07; // record route, not copied
        Fragmenter.stripUncopiedOptions(h, 24);
        assertThat(HexFormat.of().formatHex(h, 20, 24)).isEqualTo("01010101");
    }

    @Test
    void ipv6ReassembledDatagramIsRefragmentedWithTheUnfragmentablePartInEachFragment() {
        SplittableRandom r = new SplittableRandom(14);
        byte[] d = Datagrams.ipv6(0, true, 2500, r);
        List<byte[]> frags = List.of(Datagrams.fragment6(d, 48, 40, 0, 1232, true, 77),
                Datagrams.fragment6(d, 48, 40, 1232, 2464, true, 77),
                Datagrams.fragment6(d, 48, 40, 2464, d.length - 48, false, 77));
        Result done = reassemble(new Defrag(Family.IPV6), frags);
        assertThat(done.fragMaxSize()).isEqualTo(48 + 8 + 1232);
        Fragmenter.Output out = Fragmenter.refragment(done, 1500, false, 77);
        assertThat(hex(out.fragments())).containsExactlyElementsOf(hex(frags.stream().map(MemorySegment::ofArray).toList()));
        assertThat(Fragmenter.refragment(done, 1280, false, 77).tooBigMtu()).isEqualTo(1280);
    }
}
