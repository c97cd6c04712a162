package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -m rpfilter} (libxt_rpfilter, ipt_rpfilter/ip6t_rpfilter): reverse-path lookup of the source. */
public final class RpfilterMatch extends MatchExtension {
    static final OptionSpec LOOSE = OptionSpec.flag("loose");
    static final OptionSpec VALIDMARK = OptionSpec.flag("validmark");
    static final OptionSpec ACCEPT_LOCAL = OptionSpec.flag("accept-local");
    static final OptionSpec INVERT = OptionSpec.flag("invert");

    // Linux: xt_rpfilter.h XT_RPFILTER_LOOSE, _VALID_MARK, _ACCEPT_LOCAL, _INVERT
    private static final OptionSpec[] BY_BIT = {LOOSE, VALIDMARK, ACCEPT_LOCAL, INVERT};

    public RpfilterMatch() {
        super("rpfilter", List.of(LOOSE, VALIDMARK, ACCEPT_LOCAL, INVERT));
    }

    public record Data(int flags) implements ExtensionData {
        // Linux: XT_RPFILTER_LOOSE 1, XT_RPFILTER_VALID_MARK 2, XT_RPFILTER_ACCEPT_LOCAL 4, XT_RPFILTER_INVERT 8
        private static final int F_LOOSE = 1;
        private static final int F_VALID_MARK = 2;
        private static final int F_ACCEPT_LOCAL = 4;
        private static final int F_INVERT = 8;

        /**
         * ipt_rpfilter / ip6t_rpfilter: is the packet's source reachable back through the interface it came in
         * on? Looped-back packets pass. IPv4: an output-style lookup of the source (iif lo; the packet's
         * destination as source unless multicast, broadcast or 0.0.0.0/8; the mark with --validmark) must
         * give a unicast route (or local with --accept-local) whose device is the input device, or any with
         * --loose; 0.0.0.0/8 sources to the limited broadcast or 224.0.0.0/24 pass. IPv6: the unspecified
         * source passes; the lookup's route must not be reject or anycast, local only with --accept-local,
         * and leave by the input device unless --loose.
         *
         * <p>Not modelled: the IPv6 lookup's preference for routes through the input device among routes of
         * the same prefix (jnetfilter's host has one route per prefix and metric), l3mdev. Allocates (a route
         * lookup); not on the allocation-free path.
         */
        @Override
        public boolean matches(org.jnetfilter.core.netfilter.PacketContext pkt) {
            boolean invert = (flags & F_INVERT) != 0;
            String in = pkt.inInterface();
            // Linux: rpfilter_is_loopback: PACKET_LOOPBACK or an input device with IFF_LOOPBACK
            if (pkt.packetType() == org.jnetfilter.core.netfilter.PacketContext.PACKET_LOOPBACK || in.equals("lo")) {
                return !invert;
            }
            org.jnetfilter.core.host.Host host = pkt.host();
            long mark = (flags & F_VALID_MARK) != 0 ? pkt.mark() : 0;
            if (pkt.family() == org.jnetfilter.core.rules.Family.IPV4) {
                long saddr = pkt.sourceLo();
                long daddr = pkt.destinationLo();
                if ((saddr >>> 24) == 0 && (daddr == 0xFFFFFFFFL || (daddr & 0xFFFFFF00L) == 0xE0000000L)) {
                    return !invert;
                }
                boolean noSource = (daddr & 0xF0000000L) == 0xE0000000L || daddr == 0xFFFFFFFFL || (daddr >>> 24) == 0;
                org.jnetfilter.core.host.RouteResult r = host.lookup(org.jnetfilter.core.rules.Family.IPV4,
                        org.jnetfilter.core.host.IpAddress.ipv4((int) saddr),
                        noSource ? null : org.jnetfilter.core.host.IpAddress.ipv4((int) daddr), mark, null, null);
                return reversePath4(r, in) != invert;
            }
            org.jnetfilter.core.rules.Family v6 = org.jnetfilter.core.rules.Family.IPV6;
            org.jnetfilter.core.host.IpAddress src = new org.jnetfilter.core.host.IpAddress(v6, pkt.sourceHi(), pkt.sourceLo());
            org.jnetfilter.core.host.IpAddress dst = new org.jnetfilter.core.host.IpAddress(v6, pkt.destinationHi(),
                    pkt.destinationLo());
            if (src.isAny()) {
                // Linux: not routable, the forward path drops it
                return !invert;
            }
            boolean dstUnicast = !dst.isAny() && !dst.isMulticast();
            org.jnetfilter.core.host.RouteResult r = host.lookup(v6, src, dstUnicast ? dst : null, mark, null, null);
            return reversePath6(r, in) != invert;
        }

        private boolean reversePath4(org.jnetfilter.core.host.RouteResult r, String in) {
            if (r.isError() || r.route() == null) {
                return false;
            }
            org.jnetfilter.core.host.RouteType t = r.type();
            if (t != org.jnetfilter.core.host.RouteType.UNICAST
                    && (t != org.jnetfilter.core.host.RouteType.LOCAL || (flags & F_ACCEPT_LOCAL) == 0)) {
                return false;
            }
            // Linux: fib_info_nh_uses_dev(res.fi, dev) || flags & XT_RPFILTER_LOOSE
            return in.equals(r.route().dev()) || (flags & F_LOOSE) != 0;
        }

        private boolean reversePath6(org.jnetfilter.core.host.RouteResult r, String in) {
            if (r.isError() || r.route() == null) {
                return false;
            }
            org.jnetfilter.core.host.RouteType t = r.type();
            if (t == org.jnetfilter.core.host.RouteType.ANYCAST || t == org.jnetfilter.core.host.RouteType.UNREACHABLE
                    || t == org.jnetfilter.core.host.RouteType.PROHIBIT || t == org.jnetfilter.core.host.RouteType.BLACKHOLE) {
                return false;
            }
            if (t == org.jnetfilter.core.host.RouteType.LOCAL) {
                return (flags & F_ACCEPT_LOCAL) != 0;
            }
            return in.equals(r.route().dev()) || (flags & F_LOOSE) != 0;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            for (int i = 0; i < BY_BIT.length; i++) {
                if ((flags & (1 << i)) != 0) {
                    out.append(" --").append(BY_BIT[i].name());
                }
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" rpfilter");
            for (int i = 0; i < BY_BIT.length; i++) {
                if ((flags & (1 << i)) != 0) {
                    out.append(' ').append(BY_BIT[i].name());
                }
            }
        }

        /** rpfilter_check: only in the raw and mangle tables, only in PREROUTING. */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (!table.equals("mangle") && !table.equals("raw")) {
                throw XtablesException.invalidArgument();
            }
            if ((hookMask & ~Hook.PREROUTING.bit()) != 0) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int flags;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                for (int i = 0; i < BY_BIT.length; i++) {
                    if (BY_BIT[i] == option) {
                        flags |= 1 << i;
                    }
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(flags);
            }
        };
    }
}
