package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.ext.matches.RuleState;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j NFQUEUE} (libxt_NFQUEUE revision 3, xt_NFQUEUE): hand packets to userspace queues.
 *
 * <p>Packet semantics, xt_NFQUEUE nfqueue_tg_v3: the verdict {@code NF_QUEUE_NR(queue)}, with
 * {@link #VERDICT_FLAG_QUEUE_BYPASS} set under {@code --queue-bypass} (accept the packet when no program listens).
 * With {@code --queue-balance} the queue is {@code num + reciprocal_scale(hash, total)}, the hash a
 * {@code jhash_3words} over the addresses (ordered, so both directions of a flow share a queue) and the protocol
 * (IPv6: the last and the second words of the addresses), read as a little-endian host (x86-64) reads the raw
 * address words, seeded by {@code jhash_initval}. The kernel draws that seed once per boot; here once per rule,
 * from {@link PacketContext#random()} at the rule's first packet ({@link RuleState}), so a seeded replay is
 * reproducible. {@code --queue-cpu-fanout} picks {@code num + cpu % total}, and the CPU is always 0 here.
 */
public final class NfqueueTarget extends TargetExtension {
    static final OptionSpec QUEUE_NUM = OptionSpec.withArg("queue-num");
    static final OptionSpec QUEUE_BALANCE = OptionSpec.withArg("queue-balance");
    static final OptionSpec QUEUE_BYPASS = OptionSpec.flag("queue-bypass");
    static final OptionSpec QUEUE_CPU_FANOUT = OptionSpec.flag("queue-cpu-fanout");

    // Linux: NFQ_FLAG_BYPASS, NFQ_FLAG_CPU_FANOUT
    static final int BYPASS = 0x01;
    static final int CPU_FANOUT = 0x02;
    // iptables 1.8.11 fills an open upper bound of --queue-balance with 65534 so the count fits 16 bits
    static final int OPEN_BALANCE_MAX = 65534;

    public NfqueueTarget() {
        super("NFQUEUE", List.of(QUEUE_NUM, QUEUE_BALANCE, QUEUE_BYPASS, QUEUE_CPU_FANOUT));
    }

    /** @param total queues balanced over, from {@code num}; 1 for a single queue */
    public record Data(int num, int total, int flags, RuleState<Integer> seed) implements ExtensionData {
        public Data(int num, int total, int flags) {
            this(num, total, flags, new RuleState<>());
        }

        @Override
        public int apply(PacketContext pkt) {
            int queue = num;
            if (total > 1 && (flags & CPU_FANOUT) == 0) {
                Integer s = seed.get();
                if (s == null) {
                    s = seed.setIfAbsent(pkt.random().nextInt());
                }
                queue = num + balance(pkt, total, s);
            }
            int verdict = Verdict.queue(queue);
            return (flags & BYPASS) != 0 ? verdict | VERDICT_FLAG_QUEUE_BYPASS : verdict;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (total > 1) {
                out.append(" --queue-balance ").append(num).append(':').append(num + total - 1);
            } else {
                out.append(" --queue-num ").append(num);
            }
            if ((flags & BYPASS) != 0) {
                out.append(" --queue-bypass");
            }
            if ((flags & CPU_FANOUT) != 0) {
                out.append(" --queue-cpu-fanout");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            if (total > 1) {
                out.append(" NFQUEUE balance ").append(num).append(':').append(num + total - 1);
            } else {
                out.append(" NFQUEUE num ").append(num);
            }
            if ((flags & BYPASS) != 0) {
                out.append(" bypass");
            }
            if ((flags & CPU_FANOUT) != 0) {
                out.append(" cpu-fanout");
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            // Linux: queues_total is 16 bits and must not be 0; the last queue must be <= 0xffff
            if (total > 0xFFFF || num + total - 1 > 0xFFFF) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    // Linux: NF_VERDICT_FLAG_QUEUE_BYPASS, beside the verdict's low byte
    public static final int VERDICT_FLAG_QUEUE_BYPASS = 0x00008000;

    /** nfqueue_hash: the offset from the first queue, {@code reciprocal_scale(hash_v4/hash_v6, total)}. */
    static int balance(PacketContext pkt, int total, int initval) {
        int hash;
        if (pkt.family() == Family.IPV4) {
            int s = Integer.reverseBytes((int) pkt.sourceLo());
            int d = Integer.reverseBytes((int) pkt.destinationLo());
            hash = Integer.compareUnsigned(s, d) < 0 ? org.jnetfilter.core.nat.Jhash.jhash3(s, d, pkt.protocol(), initval)
                    : org.jnetfilter.core.nat.Jhash.jhash3(d, s, pkt.protocol(), initval);
        } else {
            // s6_addr32[3] and s6_addr32[1]: the low words of lo and hi
            int s3 = Integer.reverseBytes((int) pkt.sourceLo());
            int d3 = Integer.reverseBytes((int) pkt.destinationLo());
            int s1 = Integer.reverseBytes((int) pkt.sourceHi());
            int d1 = Integer.reverseBytes((int) pkt.destinationHi());
            boolean sFirst = Integer.compareUnsigned(s3, d3) < 0;
            int a = sFirst ? s3 : d3;
            int b = sFirst ? d3 : s3;
            int c = Integer.compareUnsigned(s1, d1) < 0 ? s1 : d1;
            hash = org.jnetfilter.core.nat.Jhash.jhash3(a, b, c, initval);
        }
        return (int) (((hash & 0xFFFFFFFFL) * total) >>> 32);
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int num;
            private int total = 1;
            private int flags;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == QUEUE_NUM) {
                    num = (int) uint(option, arg, 0, 65535);
                } else if (option == QUEUE_BALANCE) {
                    parseBalance(option, arg);
                } else if (option == QUEUE_BYPASS) {
                    flags |= BYPASS;
                } else {
                    flags |= CPU_FANOUT;
                }
            }

            private void parseBalance(OptionSpec option, String arg) {
                String[] parts = arg.split(":", -1);
                if (parts.length > 2) {
                    throw XtablesException.parameter("NFQUEUE: Too many components for option \"--queue-balance\" "
                            + "(max: 2)\n");
                }
                long[] v = new long[parts.length];
                for (int i = 0; i < parts.length; i++) {
                    if (parts[i].isEmpty()) {
                        v[i] = i == 0 ? 0 : OPEN_BALANCE_MAX;
                    } else {
                        v[i] = Numbers.parseUnsigned(parts[i], 0, 65535);
                        if (v[i] < 0) {
                            throw bad(option, arg);
                        }
                    }
                }
                if (parts.length != 2) {
                    throw XtablesException.parameter("Bad range \"" + arg + "\"");
                }
                if (v[0] >= v[1]) {
                    throw XtablesException.parameter(v[0] + " should be less than " + v[1]);
                }
                num = (int) v[0];
                total = (int) (v[1] - v[0] + 1);
            }

            private XtablesException bad(OptionSpec option, String arg) {
                return XtablesException.parameter("NFQUEUE: bad value for option \"--" + option.name() + "\" near \""
                        + arg + "\", or out of range (0-65535).\n");
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (seen(QUEUE_NUM.name()) && seen(QUEUE_BALANCE.name())) {
                    throw XtablesException.parameter("NFQUEUE: option \"--queue-num\" cannot be used together with "
                            + "\"--queue-balance\".\n");
                }
                if (seen(QUEUE_CPU_FANOUT.name()) && !seen(QUEUE_BALANCE.name())) {
                    throw XtablesException.parameter("NFQUEUE: option \"--queue-cpu-fanout\" also requires "
                            + "\"--queue-balance\".\n");
                }
                return new Data(num, total, flags);
            }
        };
    }
}
