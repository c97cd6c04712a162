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
import org.jnetfilter.core.rules.IpSpec;

/** {@code -j NFQUEUE} (libxt_NFQUEUE revision 3, xt_NFQUEUE): hand packets to userspace queues. */
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
    public record Data(int num, int total, int flags) implements ExtensionData {
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
