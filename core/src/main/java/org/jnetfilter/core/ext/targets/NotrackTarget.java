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

/**
 * {@code -j NOTRACK} (libxt_CT's NOTRACK alias): in the kernel a CT target with
 * {@code XT_CT_NOTRACK | XT_CT_NOTRACK_ALIAS}, so it is listed with target name CT but saved as NOTRACK,
 * and it is a different rule from {@code -j CT --notrack}. Raw table only.
 */
public final class NotrackTarget extends TargetExtension {
    /** The kernel target this alias stands for. */
    public static final String KERNEL_NAME = "CT";

    public NotrackTarget() {
        super("NOTRACK", List.of());
    }

    public record Data() implements ExtensionData {
        @Override
        public String listName() {
            return KERNEL_NAME;
        }

        // Linux: XT_CT_NOTRACK | XT_CT_NOTRACK_ALIAS
        public static final int CT_FLAGS = CtTarget.F_NOTRACK | CtTarget.F_NOTRACK_ALIAS;

        /**
         * xt_ct_target with XT_CT_NOTRACK: marks the packet untracked ({@code IP_CT_UNTRACKED}) and goes on;
         * a packet that has an entry or a template already is left alone.
         */
        @Override
        public int apply(PacketContext pkt) {
            if (pkt.conntrack() != null || pkt.untracked()) {
                return Verdict.CONTINUE;
            }
            // Linux: the packet gets the untracked conntrack entry, and conntrack leaves it alone
            pkt.untracked(true);
            pkt.conntrack(null, org.jnetfilter.core.conntrack.CtInfo.UNTRACKED);
            return Verdict.CONTINUE;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" NOTRACK");
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
        return ExtensionParser.noOptions("NOTRACK", Data::new);
    }
}
