package org.jnetfilter.core.ext.matches;

import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.Ports;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -m multiport --sports|--dports|--ports LIST} (libxt_multiport revision 1, xt_multiport.c): up to
 * 15 port slots, a range {@code a:b} taking two. The protocol must be given before the option, because
 * service names are looked up for it.
 */
public final class MultiportMatch extends MatchExtension {
    static final OptionSpec SOURCE_PORTS = OptionSpec.withArg("source-ports");
    static final OptionSpec SPORTS = OptionSpec.withArg("sports");
    static final OptionSpec DESTINATION_PORTS = OptionSpec.withArg("destination-ports");
    static final OptionSpec DPORTS = OptionSpec.withArg("dports");
    static final OptionSpec PORTS = OptionSpec.withArg("ports");

    // Linux: XT_MULTI_PORTS = 15; enum xt_multiport_flags
    static final int MAX_SLOTS = 15;
    public static final int SOURCE = 0;
    public static final int DESTINATION = 1;
    public static final int EITHER = 2;

    private static final String[] SAVE_OPTION = {"sports", "dports", "ports"};

    public MultiportMatch() {
        super("multiport", List.of(SOURCE_PORTS, SPORTS, DESTINATION_PORTS, DPORTS, PORTS));
    }

    /**
     * @param ports      port slots in order; a slot flagged in rangeStart begins a range ending at the next slot
     * @param rangeStart xt_multiport_v1.pflags
     */
    public record Data(int flags, boolean inverted, List<Integer> ports, List<Boolean> rangeStart)
            implements ExtensionData {
        @Override
        public boolean shareable() {
            return true;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! --" : " --").append(SAVE_OPTION[flags]).append(' ');
            appendPorts(out, false, null);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" multiport ").append(SAVE_OPTION[flags]).append(' ');
            if (inverted) {
                out.append(" !");
            }
            appendPorts(out, numeric, protoName(ip.protocol()));
        }

        private void appendPorts(StringBuilder out, boolean numeric, String proto) {
            boolean names = !numeric && proto != null;
            for (int i = 0; i < ports.size(); i++) {
                if (i > 0) {
                    out.append(',');
                }
                out.append(names ? Ports.listName(ports.get(i), false, proto) : ports.get(i).toString());
                if (rangeStart.get(i)) {
                    i++;
                    out.append(':').append(names ? Ports.listName(ports.get(i), false, proto) : ports.get(i));
                }
            }
        }

        /**
         * xt_multiport multiport_mt with ports_match_v1: never a non-first fragment; fewer than 4 bytes of
         * ports drop. The first slot (or range) that fits decides; none fits: the inversion.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            if (pkt.fragmentOffset() != 0) {
                return false;
            }
            if (!pkt.transportAvailable(4)) {
                pkt.hotdrop(true);
                return false;
            }
            int src = pkt.transportU16(0);
            int dst = pkt.transportU16(2);
            for (int i = 0, n = ports.size(); i < n; i++) {
                int lo = ports.get(i);
                int hi = lo;
                if (rangeStart.get(i)) {
                    hi = ports.get(++i);
                }
                boolean s = src >= lo && src <= hi;
                boolean d = dst >= lo && dst <= hi;
                if (flags == SOURCE ? s : flags == DESTINATION ? d : s || d) {
                    return !inverted;
                }
            }
            return inverted;
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (protoName(ip.protocol()) == null || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    /** The protocols multiport works with, by the names getservbyname knows them. */
    static String protoName(int protocol) {
        return switch (protocol) {
            case Protocols.TCP -> "tcp";
            case Protocols.UDP -> "udp";
            case Protocols.UDPLITE -> "udplite";
            case Protocols.SCTP -> "sctp";
            case Protocols.DCCP -> "dccp";
            default -> null;
        };
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int flags = -1;
            private String firstOption;
            private boolean inv;
            private final List<Integer> ports = new ArrayList<>();
            private final List<Boolean> rangeStart = new ArrayList<>();

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                int f = option == PORTS ? EITHER
                        : option == SOURCE_PORTS || option == SPORTS ? SOURCE : DESTINATION;
                String canonical = f == EITHER ? "ports" : f == SOURCE ? "source-ports" : "destination-ports";
                if (flags == f) {
                    throw XtablesException.parameter(
                            "multiport: option \"--" + canonical + "\" can only be used once.\n");
                }
                if (flags >= 0) {
                    String a = flags < f ? firstOption : canonical;
                    String b = flags < f ? canonical : firstOption;
                    throw XtablesException.parameter("multiport: option \"--" + a
                            + "\" cannot be used together with \"--" + b + "\".\n");
                }
                IpSpec ip = c.ip();
                if (ip.inverted(IpSpec.INV_PROTO)) {
                    throw XtablesException.parameter("multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP");
                }
                String proto = protoName(ip.protocol());
                if (proto == null) {
                    throw XtablesException.parameter(ip.protocol() == 0
                            ? "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'"
                            : "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP");
                }
                for (String item : arg.split(",", -1)) {
                    if (ports.size() >= MAX_SLOTS) {
                        throw XtablesException.parameter("too many ports specified");
                    }
                    int colon = item.indexOf(':');
                    if (colon < 0) {
                        ports.add(Ports.parse(item, proto));
                        rangeStart.add(false);
                        continue;
                    }
                    int lo = Ports.parse(item.substring(0, colon), proto);
                    if (ports.size() + 1 >= MAX_SLOTS) {
                        throw XtablesException.parameter("too many ports specified");
                    }
                    int hi = Ports.parse(item.substring(colon + 1), proto);
                    if (lo >= hi) {
                        throw XtablesException.parameter("invalid portrange specified");
                    }
                    ports.add(lo);
                    rangeStart.add(true);
                    ports.add(hi);
                    rangeStart.add(false);
                }
                flags = f;
                firstOption = canonical;
                inv = invert;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (flags < 0) {
                    throw XtablesException.parameter("multiport expection an option");
                }
                return new Data(flags, inv, List.copyOf(ports), List.copyOf(rangeStart));
            }
        };
    }
}
