package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.iptables.KernelExtensionPacketsDifferentialTest.concat;
import static org.jnetfilter.iptables.KernelExtensionPacketsDifferentialTest.icmpEcho;
import static org.jnetfilter.iptables.KernelExtensionPacketsDifferentialTest.ipv4;
import static org.jnetfilter.iptables.KernelExtensionPacketsDifferentialTest.ipv6;
import static org.jnetfilter.iptables.KernelExtensionPacketsDifferentialTest.tcpSyn;
import static org.jnetfilter.iptables.KernelExtensionPacketsDifferentialTest.udp;
import static org.jnetfilter.iptables.KernelExtensionPacketsDifferentialTest.v4;
import static org.jnetfilter.iptables.KernelExtensionPacketsDifferentialTest.v6;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.TableWalk;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.api.Test;

/**
 * Every match and target the language knows has packet semantics: each rule iptables' own extension tests
 * (../shared/conformance/iptables-t/*.t, read in place) expect to be accepted is added, as iptables would add it,
 * to each chain its file names, and the linear walk (the reference) runs it on IPv4 or IPv6 packets of several
 * kinds (TCP SYN, UDP with data, ICMP echo, an ICMP error quoting UDP) arriving at that chain's hook. No rule may
 * answer with UnsupportedOperationException ("no packet semantics yet"), nor with any other exception. Where a
 * rule truly cannot have packet semantics, {@link #WITHOUT_PACKET_SEMANTICS} names it with the reason (empty
 * now: none is left).
 */
class EveryExtensionHasPacketSemanticsTest {
    /** Extensions that cannot have packet semantics here, with the reason; the README's known limits say the same. */
    static final Map<String, String> WITHOUT_PACKET_SEMANTICS = Map.of();

    static final int SRC4 = v4(10, 78, 0, 2);
    static final int DST4 = v4(10, 77, 0, 1);
    static final byte[] SRC6 = v6(0xfd78_0000_0000_0000L, 2);
    static final byte[] DST6 = v6(0xfd77_0000_0000_0000L, 1);

    /** UDP to port 53 carrying 12 bytes of text (for string, u32 and the like). */
    static byte[] udpWithData() {
        byte[] u = udp(40000, 53, 12);
        byte[] text = "GET /index H".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(text, 0, u, 8, text.length);
        return u;
    }

    static List<byte[]> packets(Family family) {
        if (family == Family.IPV4) {
            byte[] quoted = ipv4(DST4, SRC4, 17, udp(5353, 40000, 0), 6);
            return List.of(ipv4(SRC4, DST4, 6, tcpSyn(40000, 80), 16),
                    ipv4(SRC4, DST4, 17, udpWithData(), 6),
                    ipv4(SRC4, DST4, 1, icmpEcho(7, 1), 2),
                    ipv4(SRC4, DST4, 1, concat(new byte[] {3, 3, 0, 0, 0, 0, 0, 0}, quoted), 2));
        }
        byte[] quoted = ipv6(DST6, SRC6, 17, udp(5353, 40000, 0), 17, 0, 6);
        return List.of(ipv6(SRC6, DST6, 6, tcpSyn(40000, 80), 6, 0, 16),
                ipv6(SRC6, DST6, 17, udpWithData(), 17, 0, 6),
                ipv6(SRC6, DST6, 58, icmpEcho(7, 1), 58, 0, 2),
                ipv6(SRC6, DST6, 58, concat(new byte[] {1, 4, 0, 0, 0, 0, 0, 0}, quoted), 58, 0, 2));
    }

    @Test
    void everyRuleOfTheExtensionTestsRunsOnPacketsInTheLinearWalk() throws IOException {
        List<Path> files = ConformanceTest.testFilesOrSkip("packet semantics of every extension not checked");
        Map<String, String> failures = new TreeMap<>();
        TreeSet<String> extensionsRun = new TreeSet<>();
        int walks = 0;
        for (Path file : files) {
            String name = file.getFileName().toString();
            List<Family> families = name.startsWith("libip6t_") ? List.of(Family.IPV6)
                    : name.startsWith("libxt_") ? List.of(Family.IPV4, Family.IPV6) : List.of(Family.IPV4);
            for (Family family : families) {
                for (ConformanceTest.RuleLine line : ConformanceTest.ruleLines(file)) {
                    if (!line.accepted()) {
                        continue;
                    }
                    String table = line.table();
                    for (String chain : line.chains()) {
                        Hook hook = Hook.valueOf(chain);
                        Ruleset rules;
                        List<String> args = new ArrayList<>(List.of("-t", table, "-A", chain));
                        args.addAll(ShellWords.split(line.rule()));
                        try {
                            rules = Transactions.command(Ruleset.empty(family), args.toArray(new String[0]));
                        } catch (XtablesException e) {
                            continue; // refused in this family or chain, as iptables may refuse it
                        }
                        Table t = rules.table(TableKind.byName(table).orElseThrow());
                        extensionsRun.add(name);
                        for (byte[] packet : packets(family)) {
                            walks++;
                            try {
                                TableWalk.run(t, hook, packet(family, packet, hook), Trace.NONE);
                            } catch (RuntimeException e) {
                                String ext = name.replaceFirst("^lib(xt|ipt|ip6t)_", "").replaceFirst("\\.t$", "");
                                if (!WITHOUT_PACKET_SEMANTICS.containsKey(ext)) {
                                    failures.putIfAbsent(name + " " + family + " " + chain + ": " + line.rule(),
                                            e.getClass().getSimpleName() + ": " + e.getMessage());
                                }
                            }
                        }
                    }
                }
            }
        }
        assertThat(failures).as("rules without packet semantics").isEmpty();
        assertThat(extensionsRun).as("extension test files whose rules ran").hasSizeGreaterThan(100);
        assertThat(walks).isGreaterThan(5000);
    }

    static PacketContext packet(Family family, byte[] bytes, Hook hook) {
        Host host = new Host();
        host.addLink("eth0", 0x02_77_00_00_00_01L, 1500);
        host.addLink("eth1", 0x02_77_00_00_00_02L, 1500);
        MemorySegment s = MemorySegment.ofArray(bytes.clone());
        PacketContext p = new PacketContext();
        p = family == Family.IPV4 ? p.ipv4(s, 0) : p.ipv6(s, 0);
        p.host(host).hook(hook).nowNanos(1_000_000_000L);
        if (hook == Hook.PREROUTING || hook == Hook.INPUT || hook == Hook.FORWARD) {
            p.inInterface("eth0");
        }
        if (hook == Hook.OUTPUT || hook == Hook.POSTROUTING || hook == Hook.FORWARD) {
            p.outInterface("eth1");
        }
        return p;
    }
}
