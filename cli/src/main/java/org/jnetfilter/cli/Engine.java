package org.jnetfilter.cli;

import java.util.SplittableRandom;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.ConntrackModule;
import org.jnetfilter.core.conntrack.SynproxyModule;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.PacketSink;

/**
 * The datapath {@code jnf trace} and {@code jnf replay} run: the host's packet path with everything jnetfilter
 * has plugged in (REJECT replies and ICMP errors, which the datapath builds itself; conntrack and NAT, which
 * register while the rules need them, as Linux does per network namespace), randomness from a seed so that
 * runs repeat.
 */
final class Engine {
    private Engine() {
    }

    /** The datapath and its conntrack table (for {@code conntrack -L} style listings). */
    record Parts(Datapath datapath, Conntrack conntrack) {
    }

    static Parts build(Host host, PacketSink sink, long seed) {
        Datapath d = new Datapath(host, sink).random(new SplittableRandom(seed));
        Conntrack ct = new Conntrack(host);
        d.module(new ConntrackModule(ct));
        d.module(new SynproxyModule());
        return new Parts(d, ct);
    }

    static Datapath datapath(Host host, PacketSink sink, long seed) {
        return build(host, sink, seed).datapath();
    }
}
