package org.jnetfilter.core.nat;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.ConntrackHooks;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.conntrack.Rules;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.Netfilter;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Table;

/**
 * A forwarding path without the kernel for the NAT helper tests: conntrack's and NAT's hook functions on IPv4
 * PREROUTING and POSTROUTING, with one nat rule, {@code -j SNAT --to-source 10.0.2.100}, and a clock that moves
 * 10 ms a packet.
 */
public final class SnatForwarding {
    public final Conntrack table = new Conntrack(new Host());
    final Netfilter netfilter = new Netfilter();
    final Table nat = Rules.nat(Family.IPV4, List.of(), List.of(), List.of(),
            List.of(Rules.rule(IpSpec.any(Family.IPV4), "SNAT", "--to-source", "10.0.2.100")));
    final SplittableRandom random = new SplittableRandom(7);
    double clock;

    public SnatForwarding() {
        ConntrackHooks.register(netfilter, Family.IPV4, table, () -> nat);
    }

    /** The clock now, as packets are stamped. */
    public long nowNanos() {
        return (long) (clock * 1e9) + 1_700_000_000_000_000_000L;
    }

    /**
     * Forwards the packet (PREROUTING, POSTROUTING) in a buffer {@code room} bytes longer than it, every hook function
     * accepting it; {@code helper}, when not null, is the conntrack helper a new connection gets (CT --helper).
     */
    public PacketContext forward(MemorySegment packet, String helper, int room) {
        PacketContext p = load(packet, helper, room);
        assertThat(verdict(netfilter, p)).as("the hook functions' verdict").isEqualTo(Verdict.ACCEPT);
        return p;
    }

    /** As {@link #forward}, the verdict (the path ends at the first hook function that does not accept). */
    int verdict(MemorySegment packet, String helper) {
        return verdict(netfilter, load(packet, helper, 256));
    }

    /** PREROUTING then POSTROUTING; the verdict of the first hook function that did not accept, else ACCEPT. */
    static int verdict(Netfilter netfilter, PacketContext p) {
        for (Hook h : new Hook[] {Hook.PREROUTING, Hook.POSTROUTING}) {
            for (Netfilter.Registration r : netfilter.entries(Family.IPV4, h)) {
                p.hook(h);
                int v = r.function().apply(p);
                if (v != Verdict.ACCEPT) {
                    return v;
                }
            }
        }
        return Verdict.ACCEPT;
    }

    private PacketContext load(MemorySegment packet, String helper, int room) {
        MemorySegment buffer = MemorySegment.ofArray(new byte[(int) packet.byteSize() + room]);
        MemorySegment.copy(packet, 0, buffer, 0, packet.byteSize());
        PacketContext p = new PacketContext().ipv4(buffer, 0);
        clock += 0.01;
        p.nowNanos(nowNanos()).host(table.host()).random(random);
        if (helper != null) {
            p.conntrack(Connection.template(0, false, helper), CtInfo.NEW);
        }
        return p;
    }
}
