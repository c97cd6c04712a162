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
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m quota} (libxt_quota, xt_quota): matches until a byte budget is spent; quota is unsigned 64-bit.
 *
 * <p>Packet semantics, xt_quota quota_mt: a packet of {@code skb->len} bytes that fits in what is left takes its
 * bytes and matches; one that does not fit empties the quota (no smaller packet passes afterwards) and does not
 * match; {@code !} inverts the answer. What is left lives with the rule ({@link RuleState}); the save form keeps
 * printing the quota given, as iptables-save does.
 */
public final class QuotaMatch extends MatchExtension {
    static final OptionSpec QUOTA = OptionSpec.withArg("quota");

    public QuotaMatch() {
        super("quota", List.of(QUOTA));
    }

    public record Data(long quota, boolean invert, RuleState<Left> state) implements ExtensionData {
        public Data(long quota, boolean invert) {
            this(quota, invert, new RuleState<>());
        }

        @Override
        public boolean matches(PacketContext pkt) {
            Left left = state.get();
            if (left == null) {
                left = state.setIfAbsent(new Left(quota));
            }
            return left.take(pkt.length()) != invert;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(invert ? " ! --quota " : " --quota ").append(Long.toUnsignedString(quota));
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" quota: ").append(Long.toUnsignedString(quota)).append(" bytes");
        }
    }

    /** xt_quota_priv: the bytes left, unsigned 64-bit. */
    public static final class Left {
        private long bytes;

        Left(long bytes) {
            this.bytes = bytes;
        }

        synchronized boolean take(long len) {
            if (Long.compareUnsigned(bytes, len) >= 0) {
                bytes -= len;
                return true;
            }
            bytes = 0;
            return false;
        }

        public synchronized long bytes() {
            return bytes;
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long quota;
            private boolean invert;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                once(option);
                // parseStrtoul answers -1 for errors, which is also the bit pattern of the largest quota
                long v = Numbers.parseStrtoul(arg);
                String t = arg.strip();
                if (v == -1 && !t.equals("18446744073709551615") && !t.equalsIgnoreCase("0xffffffffffffffff")) {
                    throw XtablesException.parameter("quota: bad value for option \"--quota\", "
                            + "or out of range (0-18446744073709551615).\n");
                }
                quota = v;
                invert = inv;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("quota");
                return new Data(quota, invert);
            }
        };
    }
}
