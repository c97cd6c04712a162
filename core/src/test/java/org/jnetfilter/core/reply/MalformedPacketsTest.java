package org.jnetfilter.core.reply;

import static org.assertj.core.api.Assertions.assertThatCode;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.jnetfilter.core.defrag.Defrag;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.api.Test;

/**
 * Whatever the bytes after a plausible IP header (random protocols, header lengths, options, extension
 * headers, truncation), the LOG line, the REJECT replies, the ICMP errors and reassembly never read past
 * the packet nor throw: seeded random packets, each checked in every builder.
 */
class MalformedPacketsTest {
    static final int[] PROTOCOLS = {0, 1, 6, 17, 43, 44, 47, 50, 51, 58, 59, 60, 132, 136, 255};

    static byte[] randomIpv4(SplittableRandom r) {
        int len = 20 + r.nextInt(120);
        byte[] b = new byte[len];
        r.nextBytes(b);
        b[0] = (byte) (0x40 | (5 + r.nextInt(11)));
        b[2] = (byte) (len >>> 8);
        b[3] = (byte) len;
        b[9] = (byte) PROTOCOLS[r.nextInt(PROTOCOLS.length)];
        if (r.nextBoolean()) {
            b[6] &= 0x40;
            b[7] = 0;
        }
        if (r.nextBoolean()) {
            b[12] = 10;
            b[16] = 10;
        }
        return b;
    }

    static byte[] randomIpv6(SplittableRandom r) {
        int len = 40 + r.nextInt(140);
        byte[] b = new byte[len];
        r.nextBytes(b);
        b[0] = (byte) (0x60 | (b[0] & 0x0F));
        b[4] = (byte) ((len - 40) >>> 8);
        b[5] = (byte) (len - 40);
        b[6] = (byte) PROTOCOLS[r.nextInt(PROTOCOLS.length)];
        if (r.nextBoolean()) {
            b[8] = (byte) 0xfd;
            b[24] = (byte) 0xfd;
        }
        for (int at = 40; at + 1 < len; at += 8) {
            if (r.nextInt(3) == 0) {
                b[at] = (byte) PROTOCOLS[r.nextInt(PROTOCOLS.length)];
                b[at + 1] = (byte) r.nextInt(3);
            }
        }
        return b;
    }

    @Test
    void neverThrowsOnRandomPackets() {
        SplittableRandom r = new SplittableRandom(2026);
        IcmpErrors icmp = new IcmpErrors(KernelRecording.firewall(), 1);
        RejectReplies replies = new RejectReplies(icmp);
        Defrag defrag4 = new Defrag(Family.IPV4);
        Defrag defrag6 = new Defrag(Family.IPV6);
        for (int i = 0; i < 20_000; i++) {
            boolean v4 = r.nextBoolean();
            byte[] d = v4 ? randomIpv4(r) : randomIpv6(r);
            // the packet may claim more than it has: the context reads only its (trimmed) length
            int length = r.nextInt(4) == 0 ? Math.max(v4 ? 20 : 40, d.length - r.nextInt(16)) : d.length;
            MemorySegment s = MemorySegment.ofArray(d);
            PacketContext pkt = new PacketContext();
            if (v4) {
                pkt.ipv4(s, 0, length);
            } else {
                pkt.ipv6(s, 0, length);
            }
            pkt.inInterface("a0").hook(Hook.INPUT).nowNanos(i * 1_000_000L).mark(r.nextInt(3));
            int flags = r.nextInt(64);
            long now = i * 1_000_000L;
            assertThatCode(() -> {
                LogLine.format(pkt, "x: ", flags);
                for (int with = 0; with < 9; with++) {
                    replies.reply(pkt, with);
                }
                icmp.send(pkt, v4 ? 11 : 3, 0, 0);
                icmp.send(pkt, v4 ? 12 : 4, v4 ? 0 : 2, r.nextInt(length));
                (v4 ? defrag4 : defrag6).add(s, 0, length, now, 0, "a0");
            }).as("packet %d: %s", i, java.util.HexFormat.of().formatHex(d, 0, length)).doesNotThrowAnyException();
        }
    }
}
