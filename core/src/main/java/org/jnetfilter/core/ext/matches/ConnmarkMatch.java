package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m connmark --mark VALUE[/MASK]} (libxt_connmark revision 1, xt_connmark.c): the mark of the
 * packet's conntrack entry.
 */
public final class ConnmarkMatch extends MatchExtension {
    static final OptionSpec MARK = OptionSpec.withArg("mark");

    public ConnmarkMatch() {
        super("connmark", List.of(MARK));
    }

    public record Data(long mark, long mask, boolean inverted) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! --mark " : " --mark ");
            MarkMatch.appendMarkMask(out, mark, mask);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            // libxt_connmark prints "connmark match " and then " 0x..." or "! 0x...": two spaces when not negated
            out.append(" connmark match ").append(inverted ? "! " : " ");
            MarkMatch.appendMarkMask(out, mark, mask);
        }

        /** xt_connmark connmark_mt: {@code (ct->mark & mask) == mark}; false without an entry, '!' or not. */
        @Override
        public boolean matches(PacketContext pkt) {
            Connection ct = pkt.conntrack();
            if (ct == null) {
                return false;
            }
            return ((ct.mark() & mask) == mark) != inverted;
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new MarkOptionParser(name(), Data::new);
    }
}
