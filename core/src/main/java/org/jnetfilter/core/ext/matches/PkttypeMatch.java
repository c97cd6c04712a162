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
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -m pkttype --pkt-type TYPE} (libxt_pkttype, xt_pkttype.c): the link-layer packet type. */
public final class PkttypeMatch extends MatchExtension {
    static final OptionSpec PKT_TYPE = OptionSpec.withArg("pkt-type");

    // Linux: PACKET_HOST = 0, PACKET_BROADCAST = 1, PACKET_MULTICAST = 2, PACKET_OTHERHOST = 3; the
    // names first, then the aliases iptables accepts
    private static final String[] NAMES = {"unicast", "broadcast", "multicast", "otherhost", "bcast", "mcast", "host"};
    private static final int[] TYPES = {0, 1, 2, 3, 1, 2, 0};

    public PkttypeMatch() {
        super("pkttype", List.of(PKT_TYPE));
    }

    public record Data(int type, boolean inverted) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! --pkt-type " : " --pkt-type ").append(name());
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" PKTTYPE ").append(inverted ? "!" : "").append("= ").append(name());
        }

        /**
         * xt_pkttype: {@code skb->pkt_type}, except for a looped-back packet: IPv4 to 224/4 and every IPv6
         * one count as multicast, any other IPv4 one as broadcast.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            int t = pkt.packetType();
            if (t == PacketContext.PACKET_LOOPBACK) {
                boolean multicast = pkt.family() == Family.IPV6 || (pkt.destinationLo() & 0xF0000000L) == 0xE0000000L;
                t = multicast ? PacketContext.PACKET_MULTICAST : PacketContext.PACKET_BROADCAST;
            }
            return (t == type) != inverted;
        }

        private String name() {
            for (int i = 0; i < NAMES.length; i++) {
                if (TYPES[i] == type) {
                    return NAMES[i];
                }
            }
            return Integer.toString(type);
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int type = -1;
            private boolean inverted;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                type = -1;
                for (int i = 0; i < NAMES.length && type < 0; i++) {
                    if (NAMES[i].equalsIgnoreCase(arg)) {
                        type = TYPES[i];
                    }
                }
                if (type < 0) {
                    throw XtablesException.parameter("Bad packet type '" + arg + "'");
                }
                inverted = invert;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("pkt-type");
                return new Data(type, inverted);
            }
        };
    }
}
