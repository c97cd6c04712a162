package org.jnetfilter.core.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Ipv6HeaderChainTest {
    private static final String ADDRESSES =
            "20010db8000000000000000000000001 20010db8000000000000000000000002";

    private final Ipv6HeaderChain chain = new Ipv6HeaderChain();

    /** An IPv6 header with next header {@code next} followed by {@code rest}. */
    private static MemorySegment ipv6(int next, String rest) {
        String body = rest.replaceAll("\\s+", "");
        int payload = body.length() / 2;
        return Bytes.hex("60000000" + String.format("%04x%02x40", payload, next) + ADDRESSES + body);
    }

    private Ipv6HeaderChain.Status walk(MemorySegment s) {
        return chain.walk(s, 0, (int) s.byteSize());
    }

    @Test
    void withoutExtensionHeadersTheTransportFollowsTheFixedHeader() {
        MemorySegment s = ipv6(6, "04d20050 00000001 00000000 50020000 00000000");
        assertThat(walk(s)).isEqualTo(Ipv6HeaderChain.Status.OK);
        assertThat(chain.protocol()).isEqualTo(6);
        assertThat(chain.transportOffset()).isEqualTo(40);
        assertThat(chain.headerCount()).isZero();
        assertThat(chain.headersSeen()).isEqualTo(Ipv6HeaderChain.MASK_PROTO);
        assertThat(chain.hasFragmentHeader()).isFalse();
    }

    @Test
    void walksHopByHopRoutingDestinationOptionsAndAuthenticationToUdp() {
        MemorySegment s = ipv6(Ipv6Header.NEXTHDR_HOP,
                // hop-by-hop, 8 bytes: router alert + PadN
                "2b00 05020000 0100"
                // routing type 4 (SRH), len 2 -> 24 bytes, segments left 1
                + "3c02 0401 00000000 20010db8000000000000000000000099"
                // destination options, len 0 -> 8 bytes
                + "3300 01040000 0000"
                // AH, payload len 4 -> (4+2)*4 = 24 bytes, SPI 0x100
                + "1104 0000 00000100 00000001 000000000000000000000000"
                // UDP
                + "04d20035 0008 0000");
        assertThat(walk(s)).isEqualTo(Ipv6HeaderChain.Status.OK);
        assertThat(chain.protocol()).isEqualTo(Ipv6Header.NEXTHDR_UDP);
        assertThat(chain.transportOffset()).isEqualTo(40 + 8 + 24 + 8 + 24);
        assertThat(chain.headerCount()).isEqualTo(4);
        assertThat(chain.routingHeaderOffset()).isEqualTo(48);
        assertThat(chain.routingType()).isEqualTo(4);
        assertThat(chain.segmentsLeft()).isEqualTo(1);
        assertThat(chain.headersSeen()).isEqualTo(Ipv6HeaderChain.MASK_HOPOPTS | Ipv6HeaderChain.MASK_ROUTING
                | Ipv6HeaderChain.MASK_DSTOPTS | Ipv6HeaderChain.MASK_AH | Ipv6HeaderChain.MASK_PROTO);
        assertThat(chain.hopByHopMisplaced()).isFalse();
        assertThat(new UdpHeader().wrap(s, chain.transportOffset()).destinationPort()).isEqualTo(53);
    }

    @Test
    void firstFragmentExposesItsFieldsAndTheTransportHeader() {
        MemorySegment s = ipv6(Ipv6Header.NEXTHDR_FRAGMENT,
                "3a00 0001 deadbeef"   // offset 0, M=1, id 0xdeadbeef; ICMPv6 follows
                + "80000000 00010001");
        assertThat(walk(s)).isEqualTo(Ipv6HeaderChain.Status.OK);
        assertThat(chain.protocol()).isEqualTo(Ipv6Header.NEXTHDR_ICMP);
        assertThat(chain.transportOffset()).isEqualTo(48);
        assertThat(chain.fragmentHeaderOffset()).isEqualTo(40);
        assertThat(chain.fragmentOffset()).isZero();
        assertThat(chain.moreFragments()).isTrue();
        assertThat(chain.fragmentId()).isEqualTo(0xdeadbeefL);
        assertThat(chain.isFragment()).isTrue();
    }

    @Test
    void laterFragmentStopsAfterTheFragmentHeaderWithTheFragmentsProtocol() {
        // offset 185 * 8 = 1480, M=0; the bytes after it are the middle of a TCP stream.
        MemorySegment s = ipv6(Ipv6Header.NEXTHDR_FRAGMENT, "0600 05c8 00000007 ffffffffffffffff");
        assertThat(walk(s)).isEqualTo(Ipv6HeaderChain.Status.OK);
        assertThat(chain.protocol()).isEqualTo(Ipv6Header.NEXTHDR_TCP);
        assertThat(chain.fragmentOffset()).isEqualTo(185);
        assertThat(chain.moreFragments()).isFalse();
        assertThat(chain.transportOffset()).isEqualTo(48);
    }

    @Test
    void laterFragmentDoesNotWalkExtensionHeadersThatBelongToTheFirstFragment() {
        MemorySegment s = ipv6(Ipv6Header.NEXTHDR_FRAGMENT, "3c00 0010 00000007 ffffffffffffffff");
        assertThat(walk(s)).isEqualTo(Ipv6HeaderChain.Status.OK);
        assertThat(chain.protocol()).isEqualTo(Ipv6Header.NEXTHDR_DEST);
        assertThat(chain.headerCount()).isEqualTo(1);
    }

    @Test
    void atomicFragmentIsNotAFragment() {
        MemorySegment s = ipv6(Ipv6Header.NEXTHDR_FRAGMENT, "1100 0000 00000001 04d200350008ffff");
        assertThat(walk(s)).isEqualTo(Ipv6HeaderChain.Status.OK);
        assertThat(chain.hasFragmentHeader()).isTrue();
        assertThat(chain.isFragment()).isFalse();
        assertThat(chain.protocol()).isEqualTo(Ipv6Header.NEXTHDR_UDP);
    }

    @Test
    void espEndsTheWalkBecauseTheRestIsEncrypted() {
        MemorySegment s = ipv6(Ipv6Header.NEXTHDR_DEST, "3200 01040000 0000 00001000 00000001 abcdef0123456789");
        assertThat(walk(s)).isEqualTo(Ipv6HeaderChain.Status.OK);
        assertThat(chain.protocol()).isEqualTo(Ipv6Header.NEXTHDR_ESP);
        assertThat(chain.transportOffset()).isEqualTo(48);
        assertThat(chain.headersSeen()).isEqualTo(Ipv6HeaderChain.MASK_DSTOPTS | Ipv6HeaderChain.MASK_ESP);
    }

    @Test
    void noNextHeaderEndsTheWalk() {
        MemorySegment s = ipv6(Ipv6Header.NEXTHDR_HOP, "3b00 01040000 0000");
        assertThat(walk(s)).isEqualTo(Ipv6HeaderChain.Status.OK);
        assertThat(chain.protocol()).isEqualTo(Ipv6Header.NEXTHDR_NONE);
        assertThat(chain.headersSeen()).isEqualTo(Ipv6HeaderChain.MASK_HOPOPTS | Ipv6HeaderChain.MASK_NONE);
    }

    @Test
    void hopByHopAfterAnotherHeaderIsFlagged() {
        MemorySegment s = ipv6(Ipv6Header.NEXTHDR_DEST, "0000 01040000 0000 0600 01040000 0000");
        assertThat(walk(s)).isEqualTo(Ipv6HeaderChain.Status.OK);
        assertThat(chain.hopByHopMisplaced()).isTrue();
        assertThat(chain.protocol()).isEqualTo(6);
    }

    @Test
    void headerRunningPastThePacketIsTruncated() {
        // Routing header claims 24 bytes, only 8 are present.
        MemorySegment s = ipv6(Ipv6Header.NEXTHDR_ROUTING, "0602 0000 00000000");
        assertThat(walk(s)).isEqualTo(Ipv6HeaderChain.Status.TRUNCATED);
        assertThat(chain.protocol()).isEqualTo(Ipv6Header.NEXTHDR_ROUTING);
        assertThat(chain.transportOffset()).isEqualTo(40);

        MemorySegment shortFragment = ipv6(Ipv6Header.NEXTHDR_FRAGMENT, "0600 0001");
        assertThat(walk(shortFragment)).isEqualTo(Ipv6HeaderChain.Status.TRUNCATED);

        MemorySegment noHeader = Bytes.hex("6000");
        assertThat(walk(noHeader)).isEqualTo(Ipv6HeaderChain.Status.TRUNCATED);
    }

    @Test
    void longChainsOfRandomExtensionHeadersAreWalkedToTheEnd() {
        SplittableRandom rnd = new SplittableRandom(8200);
        int[] kinds = {Ipv6Header.NEXTHDR_HOP, Ipv6Header.NEXTHDR_ROUTING, Ipv6Header.NEXTHDR_DEST,
                Ipv6Header.NEXTHDR_AUTH, Ipv6Header.NEXTHDR_FRAGMENT};
        for (int round = 0; round < 500; round++) {
            int count = rnd.nextInt(0, 12);
            int[] chainKinds = new int[count];
            StringBuilder body = new StringBuilder();
            int expectedOffset = 40;
            for (int i = 0; i < count; i++) {
                chainKinds[i] = kinds[rnd.nextInt(kinds.length)];
            }
            for (int i = 0; i < count; i++) {
                int next = i + 1 < count ? chainKinds[i + 1] : Ipv6Header.NEXTHDR_TCP;
                int kind = chainKinds[i];
                int units = rnd.nextInt(0, 4);
                int length = switch (kind) {
                    case Ipv6Header.NEXTHDR_FRAGMENT -> 8;
                    case Ipv6Header.NEXTHDR_AUTH -> (units * 2 + 1 + 2) * 4;
                    default -> (units + 1) * 8;
                };
                int lengthField = kind == Ipv6Header.NEXTHDR_AUTH ? units * 2 + 1 : units;
                body.append(String.format("%02x%02x", next, kind == Ipv6Header.NEXTHDR_FRAGMENT ? 0 : lengthField));
                // Fragment offset 0 with M set keeps the walk going.
                body.append(kind == Ipv6Header.NEXTHDR_FRAGMENT ? "0001" : "0000");
                body.append("00".repeat(length - 4));
                expectedOffset += length;
            }
            body.append("00".repeat(20));
            MemorySegment s = ipv6(count == 0 ? Ipv6Header.NEXTHDR_TCP : chainKinds[0], body.toString());
            assertThat(walk(s)).isEqualTo(Ipv6HeaderChain.Status.OK);
            assertThat(chain.protocol()).isEqualTo(Ipv6Header.NEXTHDR_TCP);
            assertThat(chain.transportOffset()).isEqualTo(expectedOffset);
            assertThat(chain.headerCount()).isEqualTo(count);
            // Any truncation of that packet is reported, never thrown.
            int cut = rnd.nextInt((int) s.byteSize() + 1);
            chain.walk(s, 0, cut);
            if (cut < expectedOffset) {
                assertThat(chain.status()).isEqualTo(Ipv6HeaderChain.Status.TRUNCATED);
            }
        }
    }

    @Test
    void randomBytesNeverThrow() {
        SplittableRandom rnd = new SplittableRandom(44);
        byte[] b = new byte[200];
        for (int round = 0; round < 5000; round++) {
            rnd.nextBytes(b);
            b[6] = (byte) new int[] {0, 43, 44, 51, 60, 59, 50, 6}[rnd.nextInt(8)];
            int length = rnd.nextInt(b.length + 1);
            chain.walk(MemorySegment.ofArray(b), 0, length);
            if (chain.status() == Ipv6HeaderChain.Status.OK) {
                assertThat(chain.transportOffset()).isBetween(40, length);
            }
        }
    }
}
