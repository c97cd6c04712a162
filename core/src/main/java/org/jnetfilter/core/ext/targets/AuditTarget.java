package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -j AUDIT --type accept|drop|reject} (libxt_AUDIT, xt_AUDIT): an audit record per packet. */
public final class AuditTarget extends TargetExtension {
    static final OptionSpec TYPE = OptionSpec.withArg("type");

    // Linux: XT_AUDIT_TYPE_ACCEPT = 0, DROP = 1, REJECT = 2
    static final List<String> TYPES = List.of("accept", "drop", "reject");

    public AuditTarget() {
        super("AUDIT", List.of(TYPE));
    }

    public record Data(int type) implements ExtensionData {
        /** xt_AUDIT audit_tg: writes an audit record (no audit subsystem here) and goes on with the next rule. */
        @Override
        public int apply(PacketContext pkt) {
            return Verdict.CONTINUE;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --type ").append(TYPES.get(type));
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" AUDIT ").append(TYPES.get(type));
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int type;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                type = TYPES.indexOf(arg);
                if (type < 0) {
                    throw XtablesException.parameter("Bad action type value \"" + arg + "\"");
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory(TYPE.name());
                return new Data(type);
            }
        };
    }
}
