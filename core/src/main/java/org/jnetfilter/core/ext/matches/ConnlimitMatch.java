package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.conntrack.ConnectionCount;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m connlimit} (libxt_connlimit revision 1, xt_connlimit.c): the number of connections from the
 * packet's source (or to its destination) network, compared with a limit.
 */
public final class ConnlimitMatch extends MatchExtension {
    static final OptionSpec UPTO = OptionSpec.withArg("connlimit-upto");
    static final OptionSpec ABOVE = OptionSpec.withArg("connlimit-above");
    static final OptionSpec MASK = OptionSpec.withArg("connlimit-mask");
    static final OptionSpec SADDR = OptionSpec.flag("connlimit-saddr");
    static final OptionSpec DADDR = OptionSpec.flag("connlimit-daddr");

    public ConnlimitMatch() {
        super("connlimit", List.of(UPTO, ABOVE, MASK, SADDR, DADDR));
    }

    /**
     * @param above XT_CONNLIMIT_INVERT: matches when the count is above the limit, else up to it
     * @param daddr XT_CONNLIMIT_DADDR: counts per destination network
     */
    public record Data(long limit, boolean above, int prefix, boolean daddr, RuleState<ConnectionCount> counts)
            implements ExtensionData {
        public Data(long limit, boolean above, int prefix, boolean daddr) {
            this(limit, above, prefix, daddr, new RuleState<>());
        }

        /**
         * xt_connlimit connlimit_mt: the connections this rule has counted for the packet's masked source (or
         * destination) address, the packet's own included (nf_conncount_count); matches when the count is
         * above the limit, or (--connlimit-upto) when it is not. A packet whose tuple cannot be read is
         * dropped (hotdrop).
         */
        @Override
        public boolean matches(PacketContext pkt) {
            ConnectionCount c = counts.get();
            if (c == null) {
                c = counts.setIfAbsent(new ConnectionCount());
            }
            long hi = daddr ? pkt.destinationHi() : pkt.sourceHi();
            long lo = daddr ? pkt.destinationLo() : pkt.sourceLo();
            if (pkt.family() == Family.IPV4) {
                lo &= prefix == 0 ? 0 : (0xFFFFFFFFL << (32 - prefix)) & 0xFFFFFFFFL;
            } else {
                hi &= prefix == 0 ? 0 : prefix >= 64 ? -1L : -1L << (64 - prefix);
                lo &= prefix <= 64 ? 0 : prefix == 128 ? -1L : -1L << (128 - prefix);
            }
            long n = c.count(pkt, hi, lo);
            if (n <= 0) {
                pkt.hotdrop(true);
                return false;
            }
            return (n > limit) == above;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(above ? " --connlimit-above " : " --connlimit-upto ").append(limit)
                    .append(" --connlimit-mask ").append(prefix)
                    .append(daddr ? " --connlimit-daddr" : " --connlimit-saddr");
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" #conn ").append(daddr ? "dst" : "src").append('/').append(prefix)
                    .append(above ? " > " : " <= ").append(limit);
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long limit;
            private boolean above;
            private int prefix = ctx.family().addressBits();
            private boolean daddr;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                if (option == UPTO || option == ABOVE) {
                    once(option);
                    limit = uint(option, arg, 0, 0xFFFFFFFFL);
                    above = (option == ABOVE) != invert;
                } else if (option == MASK) {
                    plain(option, invert);
                    prefix = ConntrackValues.prefixLength(extName, option.name(), c.family(), arg);
                } else {
                    plain(option, invert);
                    daddr = option == DADDR;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                exclusive("connlimit-above", "connlimit-upto");
                exclusive("connlimit-daddr", "connlimit-saddr");
                if (!seen("connlimit-upto") && !seen("connlimit-above")) {
                    throw XtablesException.parameter("You must specify \"--connlimit-above\" or \"--connlimit-upto\".");
                }
                return new Data(limit, above, prefix, daddr);
            }
        };
    }
}
