package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m addrtype} (libxt_addrtype revision 1, xt_addrtype.c): the routing type of the source or
 * destination address (RTN_* as bits), optionally looked up only on the packet's interface.
 */
public final class AddrtypeMatch extends MatchExtension {
    static final OptionSpec SRC_TYPE = OptionSpec.withArg("src-type");
    static final OptionSpec DST_TYPE = OptionSpec.withArg("dst-type");
    static final OptionSpec LIMIT_IFACE_IN = OptionSpec.flag("limit-iface-in");
    static final OptionSpec LIMIT_IFACE_OUT = OptionSpec.flag("limit-iface-out");

    // Linux: enum xt_addrtype, bit i is RTN_i (RTN_UNSPEC = 0 ... RTN_XRESOLVE = 11)
    static final String[] TYPE_NAMES = {"UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST",
        "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE"};
    static final int BROADCAST = 1 << 3;
    static final int BLACKHOLE = 1 << 6;
    static final int PROHIBIT = 1 << 8;

    // Linux: XT_ADDRTYPE_INVERT_SOURCE = 1, _INVERT_DEST = 2, _LIMIT_IFACE_IN = 4, _LIMIT_IFACE_OUT = 8
    public static final int INVERT_SOURCE = 0x1;
    public static final int INVERT_DEST = 0x2;
    public static final int LIMIT_IN = 0x4;
    public static final int LIMIT_OUT = 0x8;

    public AddrtypeMatch() {
        super("addrtype", List.of(SRC_TYPE, DST_TYPE, LIMIT_IFACE_IN, LIMIT_IFACE_OUT));
    }

    /** @param source RTN_* bits, 0 when not matched on */
    public record Data(int source, int dest, int flags) implements ExtensionData {
        /**
         * xt_addrtype's addrtype_mt_v1: the type of each address on the packet's host, looked up through the
         * in or out interface when --limit-iface-in/out says so; each given set must contain it (or not,
         * inverted).
         */
        @Override
        public boolean matches(org.jnetfilter.core.netfilter.PacketContext pkt) {
            String dev = (flags & LIMIT_IN) != 0 ? pkt.inInterface() : (flags & LIMIT_OUT) != 0 ? pkt.outInterface() : null;
            if (dev != null && dev.isEmpty()) {
                dev = null;
            }
            org.jnetfilter.core.host.Host host = pkt.host();
            if (source != 0 && typeIn(host, pkt.family(), pkt.sourceHi(), pkt.sourceLo(), dev, source)
                    == ((flags & INVERT_SOURCE) != 0)) {
                return false;
            }
            return dest == 0 || typeIn(host, pkt.family(), pkt.destinationHi(), pkt.destinationLo(), dev, dest)
                    != ((flags & INVERT_DEST) != 0);
        }

        private static boolean typeIn(org.jnetfilter.core.host.Host host, org.jnetfilter.core.rules.Family family,
                                      long hi, long lo, String dev, int mask) {
            org.jnetfilter.core.host.IpAddress a = new org.jnetfilter.core.host.IpAddress(family, hi, lo);
            return (mask & (1 << host.addressType(a, dev).ordinal())) != 0;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (source != 0) {
                out.append((flags & INVERT_SOURCE) != 0 ? " !" : "").append(" --src-type ");
                appendTypes(out, source);
            }
            if (dest != 0) {
                out.append((flags & INVERT_DEST) != 0 ? " !" : "").append(" --dst-type ");
                appendTypes(out, dest);
            }
            if ((flags & LIMIT_IN) != 0) {
                out.append(" --limit-iface-in");
            }
            if ((flags & LIMIT_OUT) != 0) {
                out.append(" --limit-iface-out");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" ADDRTYPE match");
            if (source != 0) {
                out.append(" src-type ").append((flags & INVERT_SOURCE) != 0 ? "!" : "");
                appendTypes(out, source);
            }
            if (dest != 0) {
                out.append(" dst-type ").append((flags & INVERT_DEST) != 0 ? "!" : "");
                appendTypes(out, dest);
            }
            if ((flags & LIMIT_IN) != 0) {
                out.append(" limit-in");
            }
            if ((flags & LIMIT_OUT) != 0) {
                out.append(" limit-out");
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if ((flags & LIMIT_IN) != 0 && (flags & LIMIT_OUT) != 0) {
                throw XtablesException.invalidArgument();
            }
            if ((flags & LIMIT_OUT) != 0 && (hookMask & (Hook.PREROUTING.bit() | Hook.INPUT.bit())) != 0) {
                throw XtablesException.invalidArgument();
            }
            if ((flags & LIMIT_IN) != 0 && (hookMask & (Hook.POSTROUTING.bit() | Hook.OUTPUT.bit())) != 0) {
                throw XtablesException.invalidArgument();
            }
            // Linux: IPv6 has no blackhole, broadcast, prohibit, throw, nat or xresolve routes
            int types = source | dest;
            if (ip.family() == Family.IPV6 && ((types & (BLACKHOLE | BROADCAST)) != 0 || types >= PROHIBIT)) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    static void appendTypes(StringBuilder out, int mask) {
        boolean first = true;
        for (int i = 0; i < TYPE_NAMES.length; i++) {
            if ((mask & (1 << i)) != 0) {
                out.append(first ? "" : ",").append(TYPE_NAMES[i]);
                first = false;
            }
        }
    }

    static int parseTypes(String list) {
        int mask = 0;
        for (String t : list.split(",", -1)) {
            int bit = -1;
            for (int i = 0; i < TYPE_NAMES.length && bit < 0; i++) {
                if (TYPE_NAMES[i].equalsIgnoreCase(t)) {
                    bit = i;
                }
            }
            if (bit < 0) {
                throw XtablesException.parameter("addrtype: bad type \"" + t + "\"");
            }
            mask |= 1 << bit;
        }
        return mask;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int source;
            private int dest;
            private int flags;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                if (option == SRC_TYPE) {
                    source = parseTypes(arg);
                    flags |= invert ? INVERT_SOURCE : 0;
                } else if (option == DST_TYPE) {
                    dest = parseTypes(arg);
                    flags |= invert ? INVERT_DEST : 0;
                } else {
                    noInvert(option, invert);
                    flags |= option == LIMIT_IFACE_IN ? LIMIT_IN : LIMIT_OUT;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                exclusive("limit-iface-out", "limit-iface-in");
                if (source == 0 && dest == 0) {
                    throw XtablesException.parameter("addrtype: you must specify --src-type or --dst-type");
                }
                return new Data(source, dest, flags);
            }
        };
    }
}
