package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -m tos --tos value[/mask]|symbol} (libxt_tos revision 1, xt_dscp.c tos_mt): (tos & mask) == value. */
public final class TosMatch extends MatchExtension {
    static final OptionSpec TOS = OptionSpec.withArg("tos");

    public TosMatch() {
        super("tos", List.of(TOS));
    }

    public record Data(int value, int mask, boolean inverted) implements ExtensionData {
        /** xt_dscp tos_mt: {@code (dsfield & mask) == value}, the IPv6 traffic class for IPv6. */
        @Override
        public boolean matches(PacketContext pkt) {
            return ((TypeOfService.dsfield(pkt) & mask) == value) != inverted;
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! --tos " : " --tos ").append(TypeOfService.hex2(value)).append('/')
                    .append(TypeOfService.hex2(mask));
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" tos match").append(inverted ? "!" : "");
            String symbol = numeric ? null : TypeOfService.symbol(value, mask);
            if (symbol != null) {
                out.append(' ').append(symbol);
            } else {
                out.append(TypeOfService.hex2(value)).append('/').append(TypeOfService.hex2(mask));
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int[] vm;
            private boolean inverted;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                vm = TypeOfService.parseValueMask(arg);
                inverted = invert;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("tos");
                return new Data(vm[0], vm[1], inverted);
            }
        };
    }
}
