package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/** {@code -m udp} (libxt_udp, xt_tcpudp.c udp_mt): source and destination port ranges. */
public final class UdpMatch extends MatchExtension {
    static final OptionSpec SOURCE_PORT = OptionSpec.withArg("source-port");
    static final OptionSpec SPORT = OptionSpec.withArg("sport");
    static final OptionSpec DESTINATION_PORT = OptionSpec.withArg("destination-port");
    static final OptionSpec DPORT = OptionSpec.withArg("dport");

    public UdpMatch() {
        super("udp", List.of(SOURCE_PORT, SPORT, DESTINATION_PORT, DPORT));
    }

    public record Data(PortRange sport, PortRange dport) implements ExtensionData {
        @Override
        public boolean shareable() {
            return true;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            sport.save(out, "sport");
            dport.save(out, "dport");
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" udp");
            sport.list(out, "spt", numeric, "udp");
            dport.list(out, "dpt", numeric, "udp");
        }

        /** xt_tcpudp udp_mt: never a non-first fragment; a header shorter than 8 bytes drops. */
        @Override
        public boolean matches(PacketContext pkt) {
            if (pkt.fragmentOffset() != 0) {
                return false;
            }
            if (!pkt.transportAvailable(8)) {
                pkt.hotdrop(true);
                return false;
            }
            return sport.matches(pkt.transportU16(0)) && dport.matches(pkt.transportU16(2));
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (ip.protocol() != Protocols.UDP || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private PortRange sport;
            private PortRange dport;

            @Override
            public void parse(OptionSpec opt, boolean invert, String arg, ParseContext c) {
                if (opt == SOURCE_PORT || opt == SPORT) {
                    if (sport != null) {
                        throw XtablesException.parameter("Only one `--source-port' allowed");
                    }
                    sport = PortRange.parseX6(arg, "udp", invert);
                } else {
                    if (dport != null) {
                        throw XtablesException.parameter("Only one `--destination-port' allowed");
                    }
                    dport = PortRange.parseX6(arg, "udp", invert);
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(sport == null ? PortRange.ANY : sport, dport == null ? PortRange.ANY : dport);
            }
        };
    }
}
