package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.DatapathHarness.frame;
import static org.jnetfilter.core.netfilter.DatapathHarness.rules;
import static org.jnetfilter.core.netfilter.DatapathHarness.table;
import static org.jnetfilter.core.netfilter.DatapathHarness.u48;
import static org.jnetfilter.core.netfilter.Fixtures.builtin;
import static org.jnetfilter.core.netfilter.Fixtures.rule;
import static org.jnetfilter.core.netfilter.Fixtures.target;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * TEE --oif as Linux 6.18 routed the copies on this machine (2026-11-30): router b (vba 10.88.0.2 / fd88::2 toward
 * a, vbc 10.88.1.2 / fd88:1::2 toward c = 10.88.1.3 / fd88:1::3, vbd 10.88.2.2 / fd88:2::2, vbe down, 10.88.9.0/24
 * and fd88:9::/64 via c) with {@code -t mangle -A PREROUTING -i vba -j TEE --gateway G --oif X}, UDP from a to b's
 * own address, tcpdump on b's interfaces:
 *
 * <pre>
 * gateway        --oif   IPv4 copy                                   IPv6 copy
 * c              vbc     out vbc to c                                out vbc to c
 * c              vbd     out vbd, ARP for the copy's destination     none (ip -6 route get ... oif vbd: unreachable)
 * 10.88.9.9      vbd     out vbd, ARP for the copy's destination     none
 * c              vbe     none (down)                                 none
 * c              nosuch  out vbc to c (as without --oif)             out vbc to c
 * 10.88.2.4      vbc     out vbc, ARP for the copy's destination     none
 * c              lo      in by lo, delivered                         none
 * </pre>
 * The original is delivered locally each time, after the copy, but for the copy by lo, which is received from the
 * backlog once the original is done.
 */
class TeeOifSemanticsTest {
    static final String ROUTER = """
            link add vba address 02:00:00:00:00:ba
            link set vba up
            addr add 10.88.0.2/24 dev vba
            addr add fd88::2/64 dev vba
            link add vbc address 02:00:00:00:00:bc
            link set vbc up
            addr add 10.88.1.2/24 dev vbc
            addr add fd88:1::2/64 dev vbc
            link add vbd address 02:00:00:00:00:bd
            link set vbd up
            addr add 10.88.2.2/24 dev vbd
            addr add fd88:2::2/64 dev vbd
            link add vbe address 02:00:00:00:00:be
            addr add 10.88.3.2/24 dev vbe
            neigh add 10.88.1.3 lladdr 02:00:00:00:00:0c dev vbc
            neigh add fd88:1::3 lladdr 02:00:00:00:00:0c dev vbc
            route add 10.88.9.0/24 via 10.88.1.3
            route add fd88:9::/64 via fd88:1::3
            """;
    static final long C_MAC = 0x02000000000CL;

    static Stream<Arguments> copies() {
        // the MAC jnetfilter makes up for a neighbour it does not know (Host#neighbourMac): 10.88.0.2's
        String destination4 = "02:6a:6e:58:00:02";
        return Stream.of(
                Arguments.of(Family.IPV4, "10.88.1.3", "vbc", "tx vbc 02:00:00:00:00:0c"),
                Arguments.of(Family.IPV4, "10.88.1.3", "vbd", "tx vbd " + destination4),
                Arguments.of(Family.IPV4, "10.88.9.9", "vbd", "tx vbd " + destination4),
                Arguments.of(Family.IPV4, "10.88.1.3", "vbe", null),
                Arguments.of(Family.IPV4, "10.88.1.3", "nosuch", "tx vbc 02:00:00:00:00:0c"),
                Arguments.of(Family.IPV4, "10.88.2.4", "vbc", "tx vbc " + destination4),
                Arguments.of(Family.IPV4, "10.88.1.3", "lo", "local lo"),
                Arguments.of(Family.IPV6, "fd88:1::3", "vbc", "tx vbc 02:00:00:00:00:0c"),
                Arguments.of(Family.IPV6, "fd88:1::3", "vbd", null),
                Arguments.of(Family.IPV6, "fd88:9::9", "vbd", null),
                Arguments.of(Family.IPV6, "fd88:1::3", "vbe", null),
                Arguments.of(Family.IPV6, "fd88:1::3", "nosuch", "tx vbc 02:00:00:00:00:0c"),
                Arguments.of(Family.IPV6, "fd88:2::4", "vbc", null),
                Arguments.of(Family.IPV6, "fd88:1::3", "lo", null));
    }

    @ParameterizedTest(name = "{0} TEE --gateway {1} --oif {2}: {3}")
    @MethodSource("copies")
    void copyIsRoutedByTheOutputInterfaceAsLinuxRoutesIt(Family family, String gateway, String oif, String copy) {
        DatapathHarness h = new DatapathHarness(ROUTER);
        List<String> sent = new ArrayList<>();
        IpSpec any = IpSpec.any(family);
        h.datapath.rules(family, rules(family, table(TableKind.MANGLE, family, builtin("PREROUTING", "ACCEPT",
                rule(any.withInIface("vba"), target(any, "TEE", "--gateway", gateway, "--oif", oif))))));
        boolean v4 = family == Family.IPV4;
        MemorySegment datagram = v4
                ? DatapathKernelFactsTest.udp4(Fixtures.ip(10, 88, 0, 1), Fixtures.ip(10, 88, 0, 2), 64, false, 9)
                : DatapathKernelFactsTest.udp6(IpAddress.parse("fd88::1").hi(), 1, IpAddress.parse("fd88::2").hi(), 2,
                        64, 9);
        h.receive("vba", frame(0x0200000000BAL, 0x02000000000AL, datagram));
        for (int i = 0; i < h.out.size(); i++) {
            String o = h.out.get(i);
            sent.add(o.startsWith("tx") ? o + " " + mac(u48(h.frames.get(i), 0)) : o);
        }
        List<String> expected = new ArrayList<>();
        if (copy != null) {
            expected.add(copy);
        }
        // a copy looped back by lo waits in the backlog until the original is delivered
        expected.add(copy != null && copy.equals("local lo") ? 0 : expected.size(), "local vba");
        assertThat(sent).containsExactlyElementsOf(expected);
    }

    private static String mac(long m) {
        return String.format("%02x:%02x:%02x:%02x:%02x:%02x", m >>> 40 & 0xFF, m >>> 32 & 0xFF, m >>> 24 & 0xFF,
                m >>> 16 & 0xFF, m >>> 8 & 0xFF, m & 0xFF);
    }
}
