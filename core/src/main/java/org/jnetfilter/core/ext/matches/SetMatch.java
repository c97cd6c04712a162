package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.ipset.IpSet;
import org.jnetfilter.core.ipset.Ipsets;
import org.jnetfilter.core.ipset.SetPackets;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m set --match-set NAME FLAGS} (libxt_set revision 4, xt_set set_match_v4). The set must exist in
 * this JVM's namespace of sets ({@link IpsetNames}).
 *
 * <p>Packet semantics, ip_set_test: the packet's element is looked up in the set named by the rule (by name
 * on each packet: the namespace's map read, allocation-free); {@code --return-nomatch} makes nomatch
 * elements match and the others not; element counters are counted unless {@code ! --update-counters}
 * (members of a list:set: {@code ! --update-subcounters}), then compared with {@code --packets-*} and
 * {@code --bytes-*}. A set that no longer exists matches nothing (the kernel keeps a referenced set alive:
 * ipset refuses to destroy it). Packet thread; allocates nothing.
 */
public final class SetMatch extends MatchExtension {
    static final OptionSpec MATCH_SET = OptionSpec.withArg("match-set");
    static final OptionSpec SET = OptionSpec.withArg("set");
    static final OptionSpec RETURN_NOMATCH = OptionSpec.flag("return-nomatch");
    static final OptionSpec UPDATE_COUNTERS = OptionSpec.flag("update-counters");
    static final OptionSpec UPDATE_SUBCOUNTERS = OptionSpec.flag("update-subcounters");
    static final OptionSpec PACKETS_EQ = OptionSpec.withArg("packets-eq");
    static final OptionSpec PACKETS_LT = OptionSpec.withArg("packets-lt");
    static final OptionSpec PACKETS_GT = OptionSpec.withArg("packets-gt");
    static final OptionSpec BYTES_EQ = OptionSpec.withArg("bytes-eq");
    static final OptionSpec BYTES_LT = OptionSpec.withArg("bytes-lt");
    static final OptionSpec BYTES_GT = OptionSpec.withArg("bytes-gt");

    public SetMatch() {
        super("set", List.of(MATCH_SET, SET, RETURN_NOMATCH, UPDATE_COUNTERS, UPDATE_SUBCOUNTERS, PACKETS_EQ,
                PACKETS_LT, PACKETS_GT, BYTES_EQ, BYTES_LT, BYTES_GT));
    }

    /** The options of one set match; {@code flags} are xt_set's cmdflags (SetPackets.FLAG_*). */
    public record Data(IpsetNames.Reference set, boolean invert, int flags, SetPackets.CounterMatch counters)
            implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(invert ? " ! --match-set " : " --match-set ").append(set.name()).append(' ').append(set.flags());
            options(out, " --", " ! --");
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(invert ? " ! match-set " : " match-set ").append(set.name()).append(' ').append(set.flags());
            options(out, " ", " ! ");
        }

        private void options(StringBuilder out, String plain, String negated) {
            if ((flags & SetPackets.FLAG_RETURN_NOMATCH) != 0) {
                out.append(plain).append("return-nomatch");
            }
            if ((flags & SetPackets.FLAG_SKIP_COUNTER_UPDATE) != 0) {
                out.append(negated).append("update-counters");
            }
            if ((flags & SetPackets.FLAG_SKIP_SUBCOUNTER_UPDATE) != 0) {
                out.append(negated).append("update-subcounters");
            }
            counter(out, "packets", counters.packetsOp(), counters.packets(), plain, negated);
            counter(out, "bytes", counters.bytesOp(), counters.bytes(), plain, negated);
        }

        private static void counter(StringBuilder out, String what, int op, long value, String plain, String negated) {
            switch (op) {
                case SetPackets.COUNTER_EQ -> out.append(plain).append(what).append("-eq ").append(value);
                case SetPackets.COUNTER_NE -> out.append(negated).append(what).append("-eq ").append(value);
                case SetPackets.COUNTER_LT -> out.append(plain).append(what).append("-lt ").append(value);
                case SetPackets.COUNTER_GT -> out.append(plain).append(what).append("-gt ").append(value);
                default -> {
                }
            }
        }

        @Override
        public boolean matches(PacketContext pkt) {
            Ipsets sets = Ipsets.current();
            IpSet s = sets.get(set.name());
            boolean in = s != null && SetPackets.test(sets, s, pkt, set.dim(), set.srcBits(), flags, counters);
            return in != invert;
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private IpsetNames.Reference set;
            private boolean invert;
            private int flags;
            private int packetsOp;
            private long packets;
            private int bytesOp;
            private long bytes;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                if (option == SET) {
                    c.warn("--set option deprecated, please use --match-set");
                }
                if (option == MATCH_SET || option == SET) {
                    if (set != null) {
                        throw XtablesException.parameter("--match-set can be specified only once");
                    }
                    set = IpsetNames.reference(option.name(), arg, c);
                    invert = inv;
                } else if (option == RETURN_NOMATCH) {
                    flags |= SetPackets.FLAG_RETURN_NOMATCH;
                } else if (option == UPDATE_COUNTERS) {
                    flags = inv ? flags | SetPackets.FLAG_SKIP_COUNTER_UPDATE
                            : flags & ~SetPackets.FLAG_SKIP_COUNTER_UPDATE;
                } else if (option == UPDATE_SUBCOUNTERS) {
                    flags = inv ? flags | SetPackets.FLAG_SKIP_SUBCOUNTER_UPDATE
                            : flags & ~SetPackets.FLAG_SKIP_SUBCOUNTER_UPDATE;
                } else if (option == PACKETS_EQ || option == PACKETS_LT || option == PACKETS_GT) {
                    if (packetsOp != SetPackets.COUNTER_NONE) {
                        throw XtablesException.parameter("only one of the --packets-[eq|lt|gt] is allowed");
                    }
                    packetsOp = op(option, inv);
                    packets = counterValue(arg);
                } else {
                    if (bytesOp != SetPackets.COUNTER_NONE) {
                        throw XtablesException.parameter("only one of the --bytes-[eq|lt|gt] is allowed");
                    }
                    bytesOp = op(option, inv);
                    bytes = counterValue(arg);
                }
                mark(option);
            }

            private int op(OptionSpec option, boolean inv) {
                boolean eq = option == PACKETS_EQ || option == BYTES_EQ;
                if (inv && !eq) {
                    throw XtablesException.parameter("--" + option.name() + " option cannot be inverted");
                }
                if (eq) {
                    return inv ? SetPackets.COUNTER_NE : SetPackets.COUNTER_EQ;
                }
                return option == PACKETS_LT || option == BYTES_LT ? SetPackets.COUNTER_LT : SetPackets.COUNTER_GT;
            }

            private long counterValue(String arg) {
                long v = Numbers.parseUnsigned(arg, 0, Long.MAX_VALUE);
                if (v < 0) {
                    throw XtablesException.parameter("Cannot parse " + arg + " as a counter value\n");
                }
                return v;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (set == null) {
                    throw XtablesException.parameter("You must specify `--match-set' with proper arguments");
                }
                return new Data(set, invert, flags, new SetPackets.CounterMatch(packetsOp, packets, bytesOp, bytes));
            }
        };
    }
}
