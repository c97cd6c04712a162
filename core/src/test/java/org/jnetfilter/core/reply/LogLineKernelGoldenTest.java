package org.jnetfilter.core.reply;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.jnetfilter.core.ext.targets.LogTarget;
import org.jnetfilter.core.host.Link;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Hook;
import org.junit.jupiter.api.Test;

/**
 * LOG lines compared with the lines Linux wrote to its log (resources/reply/kernel-log-lines.txt, recorded
 * by tools/replies/record.sh): every probe of the recording that reached INPUT, through the LOG rules of
 * tools/replies/rules.v4 and rules.v6, in the same order, character for character (trailing space included).
 */
class LogLineKernelGoldenTest {
    static final int TCPSEQ = LogLine.TCPSEQ;
    static final int TCPOPT = LogLine.TCPOPT;
    static final int IPOPT = LogLine.IPOPT;

    record Logged(int level, String line) {
    }

    /** The recorded datagram as the firewall saw it: behind the Ethernet header it came with. */
    static PacketContext received(byte[] datagram, boolean v4) {
        byte[] frame = new byte[14 + datagram.length];
        System.arraycopy(HexFormat.of().parseHex("0200000000a00200000000b0" + (v4 ? "0800" : "86dd")), 0, frame, 0, 14);
        System.arraycopy(datagram, 0, frame, 14, datagram.length);
        PacketContext pkt = new PacketContext();
        MemorySegment s = MemorySegment.ofArray(frame);
        if (v4) {
            pkt.ipv4(s, 14);
        } else {
            pkt.ipv6(s, 14);
        }
        return pkt.inInterface("a0").hook(Hook.INPUT).macSource(Link.parseMac("02:00:00:00:00:b0"));
    }

    /** The LOG rules of rules.v4 / rules.v6 the packet hits, through the real target. */
    static void logRules(PacketContext pkt, boolean v4) {
        if (v4) {
            // Linux reassembles before INPUT: fragments never reached the rules
            if ((pkt.networkU16(6) & 0x3FFF) != 0) {
                return;
            }
            stampRecordRoute(pkt);
            int proto = pkt.protocol();
            if (proto == 6 && pkt.transportU16(2) == 7000) {
                log(pkt, 6, TCPSEQ | TCPOPT | IPOPT, "jnf-seq: ");
            }
            if (proto == 6) {
                log(pkt, 4, 0, "jnf-tcp: ");
            } else if (proto == 17) {
                log(pkt, 4, IPOPT, "jnf-udp: ");
            } else if (proto == 1) {
                log(pkt, 4, 0, "jnf-icmp: ");
            }
        } else {
            log(pkt, 4, TCPSEQ | IPOPT, "jnf-v6: ");
        }
    }

    /**
     * What the receive path did before INPUT (ip_rcv_options, ip_options_compile): a Record Route option
     * with room gets the receiving address, 10.99.0.1, and its pointer moves on (the header checksum is not
     * fixed, as in Linux).
     */
    static void stampRecordRoute(PacketContext pkt) {
        int ihl = (pkt.networkU8(0) & 0x0F) << 2;
        MemorySegment s = pkt.segment();
        long net = pkt.networkOffset();
        for (int at = 20; at + 2 < ihl; ) {
            int type = pkt.networkU8(at);
            if (type == 0) {
                break;
            }
            if (type == 1) {
                at++;
                continue;
            }
            int optlen = pkt.networkU8(at + 1);
            int ptr = pkt.networkU8(at + 2);
            if (type == 7 && ptr + 3 <= optlen) {
                byte[] local = {10, 99, 0, 1};
                MemorySegment.copy(MemorySegment.ofArray(local), 0, s, net + at + ptr - 1, 4);
                s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, net + at + 2, (byte) (ptr + 4));
            }
            at += Math.max(optlen, 2);
        }
    }

    static void log(PacketContext pkt, int level, int flags, String prefix) {
        int verdict = new LogTarget.Data(level, flags, prefix).apply(pkt);
        assertThat(verdict).isEqualTo(Verdict.CONTINUE);
    }

    @Test
    void logLinesAreTheKernels() {
        compare(KernelRecording.probes(), KernelRecording.resource("/reply/kernel-log-lines.txt"));
    }

    /** The LOG lines of {@code probes} equal {@code kernelLines}, one a line, in order. */
    static void compare(java.util.Map<String, KernelRecording.Probe> probes, String kernelLines) {
        List<Logged> ours = new ArrayList<>();
        for (KernelRecording.Probe p : probes.values()) {
            for (byte[] d : p.sent()) {
                boolean v4 = (d[0] >> 4) == 4;
                PacketContext pkt = received(d, v4).logSink((level, line) -> ours.add(new Logged(level, line)));
                logRules(pkt, v4);
            }
        }
        List<String> linux = List.of(kernelLines.split("\n"));
        assertThat(ours).extracting(Logged::line).containsExactlyElementsOf(linux);
        assertThat(ours).filteredOn(l -> l.line().startsWith("jnf-seq: ")).extracting(Logged::level).containsOnly(6);
    }

    @Test
    void aPacketWithoutInputDeviceHasNoMacAndItsMarkEndsTheLine() {
        byte[] udp = HexFormat.of().parseHex("4500001d12344000401113d30a6300030a6300011b58005200095d6872");
        PacketContext pkt = new PacketContext().ipv4(MemorySegment.ofArray(udp), 0).outInterface("a0").mark(0xbeef);
        StringBuilder got = new StringBuilder();
        pkt.logSink((level, line) -> got.append(line));
        log(pkt, 4, 0, "out: ");
        assertThat(got.toString()).isEqualTo("out: IN= OUT=a0 SRC=10.99.0.3 DST=10.99.0.1 LEN=29 TOS=0x00 PREC=0x00 "
                + "TTL=64 ID=4660 DF PROTO=UDP SPT=7000 DPT=82 LEN=9 MARK=0xbeef ");
    }

    @Test
    void macDecodeNamesSourceDestinationAndProtocol() {
        byte[] udp = HexFormat.of().parseHex("4500001d12344000401113d30a6300030a6300011b58005200095d6872");
        StringBuilder got = new StringBuilder();
        PacketContext pkt = received(udp, true).logSink((level, line) -> got.append(line));
        log(pkt, 4, LogLine.MACDECODE, "");
        assertThat(got.toString()).startsWith("IN=a0 OUT= MACSRC=02:00:00:00:00:b0 MACDST=02:00:00:00:00:a0 "
                + "MACPROTO=0800 SRC=10.99.0.3 ");
    }

    @Test
    void truncatedTcpHeaderIsIncompleteAndAFragmentStopsAfterTheProtocol() {
        // 20-byte IP header + 8 bytes of TCP: skb_header_pointer cannot read the 20-byte header
        byte[] shortTcp = HexFormat.of().parseHex("4500001c000100004006000a0a0000010a00000204d2005000000001");
        StringBuilder got = new StringBuilder();
        PacketContext pkt = new PacketContext().ipv4(MemorySegment.ofArray(shortTcp), 0)
                .logSink((level, line) -> got.append(line).append('\n'));
        log(pkt, 4, 0, "");
        byte[] fragment = HexFormat.of().parseHex("4500001c000120034006000a0a0000010a00000204d2005000000001");
        PacketContext frag = new PacketContext().ipv4(MemorySegment.ofArray(fragment), 0)
                .logSink((level, line) -> got.append(line));
        log(frag, 4, 0, "");
        assertThat(got.toString()).isEqualTo(
                "IN= OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=TCP "
                        + "INCOMPLETE [8 bytes] \n"
                        + "IN= OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=1 MF FRAG:3 "
                        + "PROTO=TCP ");
    }
}
