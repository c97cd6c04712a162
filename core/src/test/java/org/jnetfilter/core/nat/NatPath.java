package org.jnetfilter.core.nat;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.ConntrackHooks;
import org.jnetfilter.core.conntrack.Packets;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.Netfilter;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Table;

/**
 * Conntrack and NAT registered on a {@link Netfilter} with {@link ConntrackHooks#register}, and packets run
 * through the hooks of their path in priority order (no filter tables, no routing: the test says where a
 * packet goes in and out).
 */
final class NatPath {
    final Host host;
    final Conntrack table;
    final Netfilter netfilter = new Netfilter();
    Table nat;
    int lastVerdict;
    final SplittableRandom random = new SplittableRandom(42);

    NatPath(Host host, Table nat) {
        this.host = host;
        this.table = new Conntrack(host);
        this.nat = nat;
        ConntrackHooks.register(netfilter, Family.IPV4, table, () -> this.nat);
        ConntrackHooks.register(netfilter, Family.IPV6, table, () -> this.nat);
    }

    static long at(double seconds) {
        return (long) (seconds * 1e9) + 1_700_000_000_000_000_000L;
    }

    private PacketContext load(MemorySegment s, double t, String in, String out) {
        PacketContext p = Packets.load(s);
        p.nowNanos(at(t)).host(host).random(random).inInterface(in).outInterface(out);
        return p;
    }

    private int hook(PacketContext p, Hook h) {
        for (Netfilter.Registration r : netfilter.entries(p.family(), h)) {
            p.hook(h);
            int v = r.function().apply(p);
            if (v != Verdict.ACCEPT) {
                return v;
            }
        }
        return Verdict.ACCEPT;
    }

    PacketContext forward(MemorySegment s, double t, String in, String out) {
        PacketContext p = load(s, t, in, out);
        lastVerdict = hook(p, Hook.PREROUTING);
        if (lastVerdict == Verdict.ACCEPT) {
            lastVerdict = hook(p, Hook.POSTROUTING);
        }
        return p;
    }

    PacketContext localIn(MemorySegment s, double t, String in) {
        PacketContext p = load(s, t, in, "");
        lastVerdict = hook(p, Hook.PREROUTING);
        if (lastVerdict == Verdict.ACCEPT) {
            lastVerdict = hook(p, Hook.INPUT);
        }
        return p;
    }

    PacketContext localOut(MemorySegment s, double t, String out) {
        PacketContext p = load(s, t, "", out);
        lastVerdict = hook(p, Hook.OUTPUT);
        if (lastVerdict == Verdict.ACCEPT) {
            lastVerdict = hook(p, Hook.POSTROUTING);
        }
        return p;
    }
}
