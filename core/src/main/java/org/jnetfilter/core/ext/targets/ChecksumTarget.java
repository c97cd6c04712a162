package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -j CHECKSUM --checksum-fill} (libxt_CHECKSUM, xt_CHECKSUM): mangle table only. */
public final class ChecksumTarget extends TargetExtension {
    static final OptionSpec CHECKSUM_FILL = OptionSpec.flag("checksum-fill");

    public ChecksumTarget() {
        super("CHECKSUM", List.of(CHECKSUM_FILL));
    }

    public record Data() implements ExtensionData {
        /**
         * xt_CHECKSUM checksum_tg: fills in a checksum only when the stack left it to the device
         * ({@code ip_summed == CHECKSUM_PARTIAL}, not GSO). Packets here carry their bytes as on the
         * wire, checksums complete, so there is never one to fill; the walk goes on.
         */
        @Override
        public int apply(PacketContext pkt) {
            return Verdict.CONTINUE;
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --checksum-fill");
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" CHECKSUM fill");
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, "mangle", 0);
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory(CHECKSUM_FILL.name());
                return new Data();
            }
        };
    }
}
