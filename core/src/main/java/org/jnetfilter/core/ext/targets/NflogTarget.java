package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.SaveText;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.NflogSink;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -j NFLOG} (libxt_NFLOG, xt_NFLOG): hand packets to a netlink log group. Any table and chain. */
public final class NflogTarget extends TargetExtension {
    static final OptionSpec NFLOG_GROUP = OptionSpec.withArg("nflog-group");
    static final OptionSpec NFLOG_PREFIX = OptionSpec.withArg("nflog-prefix");
    static final OptionSpec NFLOG_RANGE = OptionSpec.withArg("nflog-range");
    static final OptionSpec NFLOG_THRESHOLD = OptionSpec.withArg("nflog-threshold");
    static final OptionSpec NFLOG_SIZE = OptionSpec.withArg("nflog-size");

    // Linux: struct xt_nflog_info prefix[64], NUL included
    static final int PREFIX_MAX = 63;
    // Linux: XT_NFLOG_F_COPY_LEN, set by --nflog-size
    static final int F_COPY_LEN = 0x2;

    public NflogTarget() {
        super("NFLOG", List.of(NFLOG_GROUP, NFLOG_PREFIX, NFLOG_RANGE, NFLOG_THRESHOLD, NFLOG_SIZE));
    }

    /** @param len the copy length of --nflog-size or --nflog-range; flags tells which */
    public record Data(int group, String prefix, long len, int threshold, int flags) implements ExtensionData {
        /**
         * xt_NFLOG nflog_tg: hands the packet to the datapath's {@link NflogSink} (nf_log_packet, then
         * nfnetlink_log's group) and goes on with the next rule. The copy length counts only with --nflog-size
         * (XT_NFLOG_F_COPY_LEN); --nflog-range is stored and ignored, as the kernel ignores it.
         */
        @Override
        public int apply(PacketContext pkt) {
            NflogSink sink = pkt.nflogSink();
            if (sink != NflogSink.NONE) {
                sink.log(pkt, group, prefix, (flags & F_COPY_LEN) != 0 ? len : -1, threshold);
            }
            return Verdict.CONTINUE;
        }

        private void print(StringBuilder out, String dashes) {
            if (!prefix.isEmpty()) {
                out.append(' ').append(dashes).append("nflog-prefix");
                SaveText.appendQuoted(out, prefix);
            }
            if (group != 0) {
                out.append(' ').append(dashes).append("nflog-group ").append(group);
            }
            if ((flags & F_COPY_LEN) != 0) {
                out.append(' ').append(dashes).append("nflog-size ").append(len);
            } else if (len != 0) {
                out.append(' ').append(dashes).append("nflog-range ").append(len);
            }
            if (threshold != 0) {
                out.append(' ').append(dashes).append("nflog-threshold ").append(threshold);
            }
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            print(out, "--");
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            print(out, "");
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int group;
            private String prefix = "";
            private long len;
            private int threshold;
            private int flags;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == NFLOG_GROUP) {
                    group = (int) uint(option, arg, 0, 65535);
                } else if (option == NFLOG_PREFIX) {
                    prefix = LogTarget.boundedString(arg, PREFIX_MAX);
                } else if (option == NFLOG_RANGE) {
                    len = uint(option, arg, 0, 0xFFFFFFFFL);
                    c.warn("warn: --nflog-range has never worked and is no longer supported, please use --nflog-size instead");
                } else if (option == NFLOG_THRESHOLD) {
                    threshold = (int) uint(option, arg, 0, 65535);
                } else {
                    len = uint(option, arg, 0, 0xFFFFFFFFL);
                    flags |= F_COPY_LEN;
                }
                if (seen(NFLOG_RANGE.name()) && seen(NFLOG_SIZE.name())) {
                    throw XtablesException.parameter("NFLOG: option \"--nflog-range\" cannot be used together with "
                            + "\"--nflog-size\".\n");
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(group, prefix, len, threshold, flags);
            }
        };
    }
}
