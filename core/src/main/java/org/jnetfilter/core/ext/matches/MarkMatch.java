package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -m mark --mark VALUE[/MASK]} (libxt_mark revision 1, xt_mark.c): {@code (skb->mark & mask) == mark}. */
public final class MarkMatch extends MatchExtension {
    static final OptionSpec MARK = OptionSpec.withArg("mark");

    public MarkMatch() {
        super("mark", List.of(MARK));
    }

    public record Data(long mark, long mask, boolean inverted) implements ExtensionData {
        @Override
        public boolean shareable() {
            return true;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! --mark " : " --mark ");
            appendMarkMask(out, mark, mask);
        }

        /** xt_mark mark_mt: {@code (skb->mark & mask) == mark}, negated by '!'. */
        @Override
        public boolean matches(PacketContext pkt) {
            return ((pkt.mark() & mask) == mark) != inverted;
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" mark match").append(inverted ? " !" : "").append(' ');
            appendMarkMask(out, mark, mask);
        }
    }

    /** libxt_mark print_mark: {@code 0xMARK} and {@code /0xMASK} unless the mask is all ones. */
    static void appendMarkMask(StringBuilder out, long mark, long mask) {
        out.append("0x").append(Long.toHexString(mark));
        if (mask != ConntrackValues.U32) {
            out.append("/0x").append(Long.toHexString(mask));
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new MarkOptionParser(name(), Data::new);
    }
}
