package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchAwareCheck;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.ext.matches.TcpMatch;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -j TCPMSS --set-mss N | --clamp-mss-to-pmtu} (libxt_TCPMSS, xt_TCPMSS.c). The kernel wants
 * {@code -p tcp} and a tcp match on SYN (as {@code --tcp-flags SYN,RST SYN}); clamping to the path MTU
 * needs a route, so only FORWARD, OUTPUT and POSTROUTING.
 */
public final class TcpmssTarget extends TargetExtension {
    static final OptionSpec SET_MSS = OptionSpec.withArg("set-mss");
    static final OptionSpec CLAMP_MSS_TO_PMTU = OptionSpec.flag("clamp-mss-to-pmtu");

    // Linux: XT_TCPMSS_CLAMP_PMTU = 0xffff
    public static final int CLAMP_PMTU = 0xffff;
    // the largest packet less the fixed IP header: 20 bytes for IPv4, 40 for IPv6
    static final int MAX_MSS_IPV4 = 65535 - 20;
    static final int MAX_MSS_IPV6 = 65535 - 40;
    // Linux: TCPHDR_SYN
    static final int SYN = 0x02;

    public TcpmssTarget() {
        super("TCPMSS", List.of(SET_MSS, CLAMP_MSS_TO_PMTU));
    }

    /** @param mss CLAMP_PMTU for --clamp-mss-to-pmtu */
    public record Data(int mss) implements ExtensionData, MatchAwareCheck {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(mss == CLAMP_PMTU ? " --clamp-mss-to-pmtu" : " --set-mss " + mss);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(mss == CLAMP_PMTU ? " TCPMSS clamp to PMTU" : " TCPMSS set " + mss);
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (ip.protocol() != Protocols.TCP || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
            int routed = Hook.FORWARD.bit() | Hook.OUTPUT.bit() | Hook.POSTROUTING.bit();
            if (mss == CLAMP_PMTU && (hookMask & ~routed) != 0) {
                throw XtablesException.invalidArgument();
            }
        }

        @Override
        public void checkMatches(List<ExtensionData> matches) {
            for (ExtensionData m : matches) {
                if (m instanceof TcpMatch.Data t && (t.flagComp() & SYN) != 0 && !t.flagsInverted()) {
                    return;
                }
            }
            throw XtablesException.invalidArgument();
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        int max = ctx.family() == Family.IPV4 ? MAX_MSS_IPV4 : MAX_MSS_IPV6;
        return new OptionParser(name()) {
            private int mss = -1;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                noInvert(option, invert);
                mss = option == SET_MSS ? (int) uint(option, arg, 0, max) : CLAMP_PMTU;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (mss < 0) {
                    throw XtablesException.parameter("TCPMSS target: At least one parameter is required");
                }
                return new Data(mss);
            }
        };
    }
}
