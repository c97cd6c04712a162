package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;

/**
 * physdev (xt_physdev's physdev_mt) on packets with and without br_netfilter's ports, as Linux 6.18 matched them
 * ({@code KernelBridgeDifferentialTest} runs such rules on bridged, routed and local packets in a namespace): not
 * bridged, only negations match; bridged, --physdev-in is compared only when there is an input port and
 * --physdev-out only when there is an output port.
 */
class PhysdevSemanticsTest {
    /** Options; the ports ("-" for a packet without br_netfilter's information, "" for no port); the answer. */
    record Row(String options, String in, String out, boolean matches) {
    }

    static final List<Row> ROWS = List.of(
            new Row("--physdev-in veth1", "veth1", "", true),
            new Row("--physdev-in veth1", "veth2", "", false),
            new Row("! --physdev-in veth1", "veth2", "veth1", true),
            new Row("--physdev-in veth+", "veth7", "", true),
            new Row("--physdev-in veth+", "eth0", "", false),
            new Row("--physdev-in + ", "eth0", "", true),
            new Row("--physdev-in veth", "veth1", "", false),
            new Row("--physdev-out veth2", "veth1", "veth2", true),
            new Row("--physdev-out veth2", "veth1", "veth3", false),
            new Row("! --physdev-out veth2", "veth1", "veth3", true),
            // no output port yet (PREROUTING, INPUT): no match, negated or not
            new Row("--physdev-out veth2", "veth1", "", false),
            new Row("! --physdev-out veth2", "veth1", "", false),
            // no input port (br_netfilter always records one; xt_physdev passes the option over)
            new Row("--physdev-in veth1", "", "veth2", true),
            new Row("--physdev-is-bridged", "veth1", "veth2", true),
            new Row("--physdev-is-bridged", "veth1", "", false),
            new Row("! --physdev-is-bridged", "veth1", "", true),
            new Row("--physdev-is-in", "veth1", "", true),
            new Row("! --physdev-is-in", "veth1", "", false),
            new Row("--physdev-is-out", "veth1", "", false),
            new Row("! --physdev-is-out", "veth1", "", true),
            new Row("--physdev-is-out --physdev-out veth2", "veth1", "veth2", true),
            new Row("--physdev-in veth1 --physdev-out veth3", "veth1", "veth2", false),
            // not bridged: every option given must be negated
            new Row("--physdev-in veth1", "-", "-", false),
            new Row("! --physdev-in veth1", "-", "-", true),
            new Row("! --physdev-is-bridged", "-", "-", true),
            new Row("! --physdev-is-in ! --physdev-is-out", "-", "-", true),
            new Row("! --physdev-is-in --physdev-is-out", "-", "-", false));

    @Test
    void matchesAsPhysdevMtForEveryRow() {
        for (Row row : ROWS) {
            ExtensionData m = SemanticsPackets.match(Family.IPV4, 6, "physdev", row.options().strip().split(" +"));
            PacketContext pkt = new PacketContext().ipv4(SemanticsPackets.ipv4(6, SemanticsPackets.tcp(0x02)), 0);
            if (!row.in().equals("-")) {
                pkt.inInterface("br0").physdev(row.in(), row.out());
            }
            assertThat(m.matches(pkt)).as("%s on in=%s out=%s", row.options(), row.in(), row.out())
                    .isEqualTo(row.matches());
        }
    }
}
