package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.nat.Nat;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/**
 * SNAT and DNAT (libxt_NAT, xt_nat.c): one {@code --to-*} mapping and the random/persistent flags. Only
 * the nat table, and only the hooks each direction is translated in.
 */
abstract sealed class AddressNatTarget extends TargetExtension permits SnatTarget, DnatTarget {
    static final OptionSpec RANDOM = OptionSpec.flag("random");
    static final OptionSpec RANDOM_FULLY = OptionSpec.flag("random-fully");
    static final OptionSpec PERSISTENT = OptionSpec.flag("persistent");

    private final OptionSpec to;
    private final boolean keepsBasePort;
    private final int hooks;

    AddressNatTarget(String name, OptionSpec to, List<OptionSpec> options, boolean keepsBasePort, int hooks) {
        super(name, options);
        this.to = to;
        this.keepsBasePort = keepsBasePort;
        this.hooks = hooks;
    }

    /** @param flags NatRange.RANDOM, RANDOM_FULLY, PERSISTENT */
    public record Data(String option, Family family, NatRange range, int flags, int hooks)
            implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --").append(option).append(' ').append(range.text(family));
            if ((flags & NatRange.RANDOM) != 0) {
                out.append(" --random");
            }
            if ((flags & NatRange.RANDOM_FULLY) != 0) {
                out.append(" --random-fully");
            }
            if ((flags & NatRange.PERSISTENT) != 0) {
                out.append(" --persistent");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" to:").append(range.text(family));
            if ((flags & NatRange.RANDOM) != 0) {
                out.append(" random");
            }
            if ((flags & NatRange.RANDOM_FULLY) != 0) {
                out.append(" random-fully");
            }
            if ((flags & NatRange.PERSISTENT) != 0) {
                out.append(" persistent");
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, "nat", hooks);
        }

        /**
         * xt_snat_target / xt_dnat_target: nf_nat_setup_info with this range for the connection's first packet
         * (the nat table is walked for nothing else); the walk ends with ACCEPT.
         */
        @Override
        public int apply(PacketContext pkt) {
            Connection ct = pkt.conntrack();
            if (ct == null || ct.isTemplate()) {
                return Verdict.ACCEPT;
            }
            int manip = option.equals("to-source") ? Nat.MANIP_SRC : Nat.MANIP_DST;
            return Nat.setupInfo(pkt, ct, manip, range.natFlags(flags), range.minHi(), range.minLo(),
                    range.maxHi(), range.maxLo(), range.minPort(), range.maxPort(), range.basePort());
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private NatRange range;
            private int flags;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == to) {
                    range = NatRange.parseTo(c.family(), arg, NatRange.portsAllowed(c.ip(), c.family()),
                            keepsBasePort ? NatRange.Shift.KEPT : NatRange.Shift.ZEROED);
                } else if (option == RANDOM) {
                    flags |= NatRange.RANDOM;
                } else if (option == RANDOM_FULLY) {
                    flags |= NatRange.RANDOM_FULLY;
                } else if (option == PERSISTENT) {
                    flags |= NatRange.PERSISTENT;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory(to.name());
                return new Data(to.name(), c.family(), range, flags, hooks);
            }
        };
    }
}
