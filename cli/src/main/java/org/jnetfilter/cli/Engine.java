package org.jnetfilter.cli;

import java.util.SplittableRandom;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.PacketSink;

/**
 * The datapath {@code jnf trace} and {@code jnf replay} run: the host's packet path with everything jnetfilter
 * has plugged in (reply builders, conntrack and NAT), randomness from a seed so that runs repeat.
 */
final class Engine {
    private Engine() {
    }

    static Datapath datapath(Host host, PacketSink sink, long seed) {
        return new Datapath(host, sink).random(new SplittableRandom(seed));
    }
}
