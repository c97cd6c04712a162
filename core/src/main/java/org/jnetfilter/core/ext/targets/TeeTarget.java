package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -j TEE --gateway ip} (libxt_TEE, xt_TEE): clone packets to another gateway. Any table and chain. */
public final class TeeTarget extends TargetExtension {
    static final OptionSpec GATEWAY = OptionSpec.withArg("gateway");
    static final OptionSpec OIF = OptionSpec.withArg("oif");

    // Linux: IFNAMSIZ 16, NUL included
    static final int OIF_MAX = 15;

    public TeeTarget() {
        super("TEE", List.of(GATEWAY, OIF));
    }

    /** @param oif "" for none */
    public record Data(Family family, long gwHi, long gwLo, String oif) implements ExtensionData {
        private String gateway() {
            return family == Family.IPV4 ? AddressText.ipv4((int) gwLo) : AddressText.ipv6(gwHi, gwLo);
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --gateway ").append(gateway());
            if (!oif.isEmpty()) {
                out.append(" --oif ").append(oif);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" TEE gw:").append(gateway());
            if (!oif.isEmpty()) {
                out.append(" oif=").append(oif);
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long[] gw;
            private String oif = "";

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == GATEWAY) {
                    gw = TproxyTarget.parseHost(c.family(), arg);
                } else {
                    oif = LogTarget.boundedString(arg, OIF_MAX);
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory(GATEWAY.name());
                return new Data(c.family(), gw[0], gw[1], oif);
            }
        };
    }
}
