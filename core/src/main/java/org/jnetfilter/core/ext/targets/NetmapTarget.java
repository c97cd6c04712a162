package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.Addresses;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.nat.Nat;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -j NETMAP --to net} (libipt_NETMAP, libip6t_NETMAP; xt_NETMAP): 1:1 network mapping in nat. */
public final class NetmapTarget extends TargetExtension {
    static final OptionSpec TO = OptionSpec.withArg("to");

    public NetmapTarget() {
        super("NETMAP", List.of(TO));
    }

    public record Data(IpNet to) implements ExtensionData {
        private String text() {
            int prefix = to.prefixLength();
            return to.addressText() + "/" + (prefix >= 0 ? prefix : to.family().addressBits());
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --to ").append(text());
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" to:").append(text());
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, "nat",
                    TargetScope.hooks(Hook.PREROUTING, Hook.INPUT, Hook.OUTPUT, Hook.POSTROUTING));
        }

        /**
         * netmap_tg4/tg6: the destination (PREROUTING, OUTPUT) or source (POSTROUTING, INPUT) address keeps
         * its host part and takes the network part of {@code --to}; ports untouched.
         */
        @Override
        public int apply(PacketContext pkt) {
            Connection ct = pkt.conntrack();
            if (ct == null || ct.isTemplate()) {
                return Verdict.ACCEPT;
            }
            int manip = Nat.manipOf(pkt.hook());
            long hi = manip == Nat.MANIP_DST ? pkt.destinationHi() : pkt.sourceHi();
            long lo = manip == Nat.MANIP_DST ? pkt.destinationLo() : pkt.sourceLo();
            long newHi = (hi & ~to.maskHi()) | (to.hi() & to.maskHi());
            long newLo = (lo & ~to.maskLo()) | (to.lo() & to.maskLo());
            if (to.family() == org.jnetfilter.core.rules.Family.IPV4) {
                newHi = 0;
                newLo &= 0xFFFFFFFFL;
            }
            return Nat.setupInfo(pkt, ct, manip, Nat.MAP_IPS, newHi, newLo, newHi, newLo, 0, 0, 0);
        }
    }

    /**
     * xtables' host/mask option type: a host, then a prefix length or a mask in address form. A length
     * up to 128 is taken for IPv4 too and then cut to 32.
     */
    static IpNet parseHostMask(Family family, String arg) {
        int slash = arg.indexOf('/');
        long[] host = TproxyTarget.parseHost(family, slash >= 0 ? arg.substring(0, slash) : arg);
        long[] mask;
        if (slash < 0) {
            mask = family == Family.IPV4 ? new long[] {0, 0xFFFFFFFFL} : new long[] {-1L, -1L};
        } else {
            String m = arg.substring(slash + 1);
            long bits = Numbers.parseUnsigned(m, 0, 128);
            long[] asAddress = family == Family.IPV4
                    ? (Addresses.parseIpv4(m) >= 0 && m.split("\\.", -1).length == 4
                            ? new long[] {0, Addresses.parseIpv4(m)} : null)
                    : Addresses.parseIpv6(m);
            if (bits >= 0) {
                int len = (int) Math.min(bits, family.addressBits());
                mask = family == Family.IPV4
                        ? new long[] {0, len == 0 ? 0 : (0xFFFFFFFFL << (32 - len)) & 0xFFFFFFFFL}
                        : Addresses.prefixMask6(len);
            } else if (asAddress != null) {
                mask = asAddress;
            } else {
                throw XtablesException.parameter("NETMAP: bad value for option \"--to\", neither a valid network "
                        + "mask nor valid CIDR (0-" + family.addressBits() + ").\n");
            }
        }
        return IpNet.of(family, host[0], host[1], mask[0], mask[1]);
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private IpNet to;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                to = parseHostMask(c.family(), arg);
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory(TO.name());
                return new Data(to);
            }
        };
    }
}
