package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -j TRACE} (libxt_TRACE, xt_TRACE.c): marks the packet for rule tracing. Raw table only. */
public final class TraceTarget extends TargetExtension {

    public TraceTarget() {
        super("TRACE", List.of());
    }

    public record Data() implements ExtensionData {
        /**
         * xt_TRACE trace_tg: sets {@code skb->nf_trace} and goes on with the next rule. PacketContext has no
         * trace bit yet, so the mark is not kept; the walk's {@link org.jnetfilter.core.netfilter.Trace} is the
         * way to follow a packet here.
         */
        @Override
        public int apply(PacketContext pkt) {
            // Linux: xt_TRACE sets skb->nf_trace and continues
            pkt.traced(true);
            return Verdict.CONTINUE;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (!table.equals("raw")) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return ExtensionParser.noOptions("TRACE", Data::new);
    }
}
