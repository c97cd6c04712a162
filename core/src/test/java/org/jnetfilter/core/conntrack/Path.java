package org.jnetfilter.core.conntrack;

import java.lang.foreign.MemorySegment;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Hook;

/**
 * A packet's way through conntrack alone, as the kernel's hooks would run it without rules: forwarded
 * (PREROUTING conntrack_in, POSTROUTING confirm), local out (OUTPUT, POSTROUTING) or local in (PREROUTING,
 * INPUT). The clock is set per packet in seconds.
 */
final class Path {
    final Conntrack table;
    int lastVerdict;

    Path(Conntrack table) {
        this.table = table;
    }

    static long seconds(double s) {
        return (long) (s * 1_000_000_000L) + 1_700_000_000_000_000_000L;
    }

    PacketContext forward(MemorySegment packet, double atSeconds) {
        return run(packet, atSeconds, Hook.PREROUTING);
    }

    /** The packet through conntrack's PREROUTING hook only: its new connection stays unconfirmed. */
    PacketContext arrive(MemorySegment packet, double atSeconds) {
        PacketContext pkt = Packets.load(packet);
        pkt.nowNanos(seconds(atSeconds));
        lastVerdict = table.in(pkt, Hook.PREROUTING);
        return pkt;
    }

    /** The confirm hook for a packet {@link #arrive} left unconfirmed. */
    void confirm(PacketContext pkt) {
        lastVerdict = table.confirm(pkt);
    }

    PacketContext localOut(MemorySegment packet, double atSeconds) {
        return run(packet, atSeconds, Hook.OUTPUT);
    }

    private PacketContext run(MemorySegment packet, double atSeconds, Hook first) {
        PacketContext pkt = Packets.load(packet);
        pkt.nowNanos(seconds(atSeconds));
        lastVerdict = table.in(pkt, first);
        if (lastVerdict == Verdict.ACCEPT) {
            lastVerdict = table.confirm(pkt);
        }
        return pkt;
    }
}
