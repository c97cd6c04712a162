package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.Services;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -m dccp} (libxt_dccp, xt_dccp.c): ports, packet types, one DCCP option. Loaded implicitly by
 * {@code -p dccp}.
 */
public final class DccpMatch extends MatchExtension {
    static final OptionSpec SOURCE_PORT = OptionSpec.withArg("source-port");
    static final OptionSpec SPORT = OptionSpec.withArg("sport");
    static final OptionSpec DESTINATION_PORT = OptionSpec.withArg("destination-port");
    static final OptionSpec DPORT = OptionSpec.withArg("dport");
    static final OptionSpec DCCP_TYPES = OptionSpec.withArg("dccp-types");
    static final OptionSpec DCCP_OPTION = OptionSpec.withArg("dccp-option");

    // Linux: enum dccp_pkt_type; INVALID stands for every type from 10 up (types are 4 bits)
    private static final String[] TYPE_NAMES = {
        "REQUEST", "RESPONSE", "DATA", "ACK", "DATAACK", "CLOSEREQ", "CLOSE", "RESET", "SYNC", "SYNCACK",
    };
    static final int INVALID_TYPES = 0xFC00;
    // Linux: sizeof(struct dccp_hdr)
    static final int DCCP_HEADER = 12;

    public DccpMatch() {
        super("dccp", List.of(SOURCE_PORT, SPORT, DESTINATION_PORT, DPORT, DCCP_TYPES, DCCP_OPTION));
    }

    /**
     * @param sport   null when not given (a given 0:65535 is still saved)
     * @param types   bit per packet type, 0 when not given
     * @param option  0 when not given
     */
    public record Data(PortRange sport, PortRange dport, int types, boolean typesInverted, int option,
                       boolean optionInverted) implements ExtensionData {
        /*
         * xt_dccp dccp_mt: never a non-first fragment; the 12-byte generic header at thoff must be there,
         * else drop. Ports, then the packet type (bits 1-4 of byte 8) against the type set, then the
         * option: options lie between the type's header (__dccp_hdr_len: 12, 4 more with X set, plus the
         * type's own part) and Data Offset * 4; an offset below the header, or options cut short, drop.
         * Option kinds below 2 are one byte, others say their length (0 taken as 1); a length byte past
         * the options is not read (one byte is stepped instead).
         */
        @Override
        public boolean matches(PacketContext pkt) {
            if (pkt.fragmentOffset() != 0) {
                return false;
            }
            if (!pkt.transportAvailable(DCCP_HEADER)) {
                pkt.hotdrop(true);
                return false;
            }
            if (sport != null && !sport.matches(pkt.transportU16(0))) {
                return false;
            }
            if (dport != null && !dport.matches(pkt.transportU16(2))) {
                return false;
            }
            int type = (pkt.transportU8(8) >>> 1) & 0x0F;
            if (types != 0 && ((types & (1 << type)) != 0) == typesInverted) {
                return false;
            }
            return option == 0 || hasOption(pkt, type) != optionInverted;
        }

        private boolean hasOption(PacketContext pkt, int type) {
            int headerLength = DCCP_HEADER + ((pkt.transportU8(8) & 1) != 0 ? 4 : 0) + typeHeaderLength(type);
            int dataOffset = pkt.transportU8(4) * 4;
            if (dataOffset < headerLength) {
                pkt.hotdrop(true);
                return false;
            }
            int optionsLength = dataOffset - headerLength;
            if (optionsLength == 0) {
                return false;
            }
            if (!pkt.transportAvailable(dataOffset)) {
                pkt.hotdrop(true);
                return false;
            }
            for (int i = 0; i < optionsLength; ) {
                int kind = pkt.transportU8(headerLength + i);
                if (kind == option) {
                    return true;
                }
                if (kind < 2 || i + 1 >= optionsLength) {
                    i++;
                } else {
                    int len = pkt.transportU8(headerLength + i + 1);
                    i += len == 0 ? 1 : len;
                }
            }
            return false;
        }

        /** Linux: dccp_packet_hdr_len; DATA has none, types past SYNCACK count as RESET. */
        private static int typeHeaderLength(int type) {
            return switch (type) {
                case 2 -> 0;
                case 3, 4, 5, 6, 8, 9 -> 8;
                case 0 -> 4;
                default -> 12;
            };
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            savePorts(out, sport, "sport");
            savePorts(out, dport, "dport");
            if (types != 0) {
                out.append(typesInverted ? " ! --dccp-types " : " --dccp-types ");
                appendTypes(out, false);
            }
            if (option != 0) {
                out.append(optionInverted ? " ! --dccp-option " : " --dccp-option ").append(option);
            }
        }

        private static void savePorts(StringBuilder out, PortRange r, String option) {
            if (r != null) {
                r.saveAlways(out, option);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" dccp");
            if (sport != null) {
                sport.list(out, "spt", numeric, "dccp");
            }
            if (dport != null) {
                dport.list(out, "dpt", numeric, "dccp");
            }
            if (types != 0) {
                out.append(typesInverted ? " ! " : " ");
                appendTypes(out, numeric);
            }
            if (option != 0) {
                out.append(" option=").append(optionInverted ? "!" : "").append(option);
            }
        }

        private void appendTypes(StringBuilder out, boolean numeric) {
            boolean first = true;
            for (int i = 0; i < 16; i++) {
                if ((types & (1 << i)) == 0) {
                    continue;
                }
                if (!numeric && i >= TYPE_NAMES.length) {
                    out.append(first ? "" : ",").append("INVALID");
                    return;
                }
                out.append(first ? "" : ",");
                first = false;
                out.append(numeric ? Integer.toString(i) : TYPE_NAMES[i]);
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (ip.protocol() != Protocols.DCCP || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private PortRange sport;
            private PortRange dport;
            private int types;
            private boolean typesInverted;
            private int option;
            private boolean optionInverted;

            @Override
            public void parse(OptionSpec opt, boolean invert, String arg, ParseContext c) {
                if (opt == SOURCE_PORT || opt == SPORT) {
                    once(SOURCE_PORT);
                    sport = ports(arg, invert, SOURCE_PORT);
                } else if (opt == DESTINATION_PORT || opt == DPORT) {
                    once(DESTINATION_PORT);
                    dport = ports(arg, invert, DESTINATION_PORT);
                } else if (opt == DCCP_TYPES) {
                    once(opt);
                    types = parseTypes(arg);
                    typesInverted = invert;
                } else {
                    once(opt);
                    option = (int) uint(opt, arg, 1, 255);
                    optionInverted = invert;
                }
            }

            /** xtopt_parse_mport: numbers are truncated to 16 bits as iptables stores them. */
            private PortRange ports(String arg, boolean invert, OptionSpec opt) {
                int colon = arg.indexOf(':');
                String a = colon < 0 ? arg : arg.substring(0, colon);
                String b = colon < 0 ? null : arg.substring(colon + 1);
                int lo = a.isEmpty() && colon >= 0 ? 0 : port(a);
                int hi = colon < 0 ? lo : b.isEmpty() ? 65535 : port(b);
                if (lo > hi) {
                    // iptables 1.8.11 refuses a reversed range (1.8.9 stored it)
                    throw XtablesException.parameter(extName + ": invalid range given for option \"--"
                            + opt.name() + "\"\n");
                }
                return new PortRange(lo, hi, invert);
            }

            private int port(String s) {
                long v = Numbers.parseUnsigned(s, 0, 0xFFFFFFFFL);
                if (v >= 0 && !s.isEmpty()) {
                    return (int) (v & 0xFFFF);
                }
                int p = Services.port(s, null);
                if (p < 0) {
                    throw XtablesException.parameter("Port \"" + s + "\" does not resolve to anything.\n");
                }
                return p;
            }

            private int parseTypes(String list) {
                int mask = 0;
                for (String t : list.split(",")) {
                    if (t.isEmpty()) {
                        continue;
                    }
                    if (t.equalsIgnoreCase("INVALID")) {
                        mask |= INVALID_TYPES;
                        continue;
                    }
                    int bit = -1;
                    for (int i = 0; i < TYPE_NAMES.length; i++) {
                        if (TYPE_NAMES[i].equalsIgnoreCase(t)) {
                            bit = i;
                        }
                    }
                    if (bit < 0) {
                        throw XtablesException.parameter("Unknown DCCP type `" + t + "'");
                    }
                    mask |= 1 << bit;
                }
                return mask;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(sport, dport, types, typesInverted, option, optionInverted);
            }
        };
    }
}
