package org.jnetfilter.core.reply;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.random.RandomGenerator;
import org.jnetfilter.core.ext.matches.RuleState;
import org.jnetfilter.core.host.IpAddress;

/**
 * The two rate limits ICMP and ICMPv6 errors pass, in the order of current kernels (6.12+, "icmp: change
 * the order of rate limits"): first the network namespace's global token bucket ({@code icmp_global_allow},
 * shared by IPv4 and IPv6), then the per-destination bucket ({@code inet_peer_xrlim_allow}); only a message
 * that passes both consumes global credit ({@code icmp_global_consume}: 0, 1 or 2 credits at random, 1 on
 * average).
 *
 * <pre>
 * global:  credit <= icmp_msgs_burst (50); empty: refilled by icmp_msgs_per_sec (1000) * elapsed / HZ once
 *          at least HZ/50 jiffies passed (elapsed capped at HZ); a positive credit allows at once
 * peer:    tokens in jiffies, capped at XRLIM_BURST_FACTOR (6) * timeout; a message costs timeout
 *          (icmp_ratelimit 1000 ms, icmpv6 ratelimit 100 ms shifted right by (128 - route prefix) / 32);
 *          a new peer starts 60 s in the past, so with a full bucket: 6 messages, then one per timeout
 * </pre>
 *
 * <p>Time is jiffies of the packet's clock ({@link RuleState#jiffies}, HZ 250 as this machine's kernel).
 * Not thread-safe: one per host, used under the caller's lock or from one packet thread. Peers are kept up
 * to {@link #MAX_PEERS}, oldest dropped first (the kernel's inet_peer tree is garbage-collected likewise).
 */
final class IcmpRateLimit {
    // Linux: XRLIM_BURST_FACTOR
    static final int BURST_FACTOR = 6;
    static final int MAX_PEERS = 65536;

    private long globalCredit;
    private long globalStamp;
    private boolean globalStarted;

    private final Map<IpAddress, long[]> peerByAddress = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<IpAddress, long[]> eldest) {
            return size() > MAX_PEERS;
        }
    };

    /**
     * icmp_global_allow: whether the global bucket lets one more message through. A positive credit allows;
     * an empty one is refilled when at least HZ/50 jiffies passed.
     */
    boolean globalAllow(long jiffies, long msgsPerSec, long burst) {
        if (!globalStarted) {
            // the stamp starts at 0, so the first refill is a full second's worth, capped at the burst
            globalStarted = true;
            globalStamp = jiffies - RuleState.HZ;
        }
        if (globalCredit > 0) {
            return true;
        }
        long delta = Math.min(jiffies - globalStamp, RuleState.HZ);
        if (delta < RuleState.HZ / 50) {
            return false;
        }
        long incr = msgsPerSec * delta / RuleState.HZ;
        if (incr == 0) {
            return false;
        }
        globalStamp = jiffies;
        globalCredit = Math.min(globalCredit + incr, burst);
        return true;
    }

    /** icmp_global_consume: 0, 1 or 2 credits (get_random_u32_below(3)); the credit may go negative. */
    void globalConsume(RandomGenerator random) {
        globalCredit -= random.nextInt(3);
    }

    // Linux: ip_rt_redirect_number 9, ip_rt_redirect_load HZ/50, ip_rt_redirect_silence (HZ/50) << 10
    static final int REDIRECT_NUMBER = 9;
    static final long REDIRECT_LOAD = RuleState.HZ / 50;
    static final long REDIRECT_SILENCE = REDIRECT_LOAD << (REDIRECT_NUMBER + 1);

    /** A peer as inet_getpeer makes it: no tokens, rate_last 60 s in the past, no redirects sent. */
    private long[] newPeer(IpAddress destination, long jiffies) {
        long[] peer = {0, jiffies - 60 * RuleState.HZ, 0};
        peerByAddress.put(destination, peer);
        return peer;
    }

    /**
     * ip_rt_send_redirect's limiter, on the same peer: after {@link #REDIRECT_SILENCE} without redirected
     * packets the count restarts; after {@link #REDIRECT_NUMBER} redirects nothing more is sent (each packet
     * pushes the silence on); otherwise the k-th redirect waits {@code REDIRECT_LOAD << k} after the last.
     */
    boolean redirectAllow(IpAddress destination, long jiffies) {
        long[] peer = peerByAddress.get(destination);
        if (peer == null) {
            peer = newPeer(destination, jiffies);
        }
        if (jiffies - peer[1] > REDIRECT_SILENCE) {
            peer[0] = 0;
            peer[2] = 0;
        }
        if (peer[2] >= REDIRECT_NUMBER) {
            peer[1] = jiffies;
            return false;
        }
        if (peer[2] == 0 || jiffies - (peer[1] + (REDIRECT_LOAD << peer[2])) > 0) {
            peer[1] = jiffies;
            peer[2]++;
            return true;
        }
        return false;
    }

    // Linux: ip_rt_error_cost = HZ, ip_rt_error_burst = 5 * HZ (per netns sysctls route.error_cost/error_burst)
    static final long ERROR_COST = RuleState.HZ;
    static final long ERROR_BURST = 5L * RuleState.HZ;

    /**
     * ip_error's limit on its unreachables, on the inet_peer of the offending packet's source: the very peer
     * {@link #peerAllow} keeps for ICMP errors sent to that address (and {@link #redirectAllow} for redirects):
     * tokens plus the jiffies since rate_last, capped at the burst, must reach the cost. So an error sent to an
     * address in a jiffy after a while (its tokens capped at 6 * icmp_ratelimit: none with icmp_ratelimit 0, rate_last
     * stamped) leaves a no-route packet from that address unanswered for up to a second (Linux 6.18, checked in a
     * netns: REJECT of a TEE copy answered its sender, whose packet then met no route: no net unreachable).
     */
    boolean ipErrorAllow(IpAddress source, long jiffies) {
        long[] peer = peerByAddress.get(source);
        if (peer == null) {
            peer = newPeer(source, jiffies);
        }
        long token = Math.min(peer[0] + (jiffies - peer[1]), ERROR_BURST);
        peer[1] = jiffies;
        boolean allowed = token >= ERROR_COST;
        peer[0] = allowed ? token - ERROR_COST : token;
        return allowed;
    }

    /** inet_peer_xrlim_allow for the peer {@code destination}, {@code timeout} in jiffies. */
    boolean peerAllow(IpAddress destination, long jiffies, long timeout) {
        long[] peer = peerByAddress.get(destination);
        if (peer == null) {
            // Linux: inet_getpeer sets rate_last = jiffies - 60 * HZ, so the first message finds a full bucket
            peer = newPeer(destination, jiffies);
        }
        long token = peer[0];
        long delta = jiffies - peer[1];
        // Linux 6.13+ (inet_peer_xrlim_allow): rate_last and the cap move only when a jiffy passed, so within the
        // jiffy ip_error stamped a peer its tokens stay above a small cap (icmp_ratelimit 0)
        if (delta != 0) {
            peer[1] = jiffies;
            token = Math.min(token + delta, BURST_FACTOR * timeout);
        }
        boolean allowed = false;
        if (token >= timeout) {
            token -= timeout;
            allowed = true;
        }
        peer[0] = token;
        return allowed;
    }
}
