package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.conntrack.Synproxy;
import org.jnetfilter.core.conntrack.SynproxyModule;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -j SYNPROXY} (libxt_SYNPROXY, ipt_SYNPROXY/ip6t_SYNPROXY): answers SYNs itself with SYN cookies and
 * opens the connection to the server once the client's ACK proves its cookie ({@link Synproxy}). INPUT and FORWARD
 * only, for {@code -p tcp} (not negated). Packet thread; a SYN or ACK it answers fills a per-thread buffer.
 */
public final class SynproxyTarget extends TargetExtension {
    static final OptionSpec SACK_PERM = OptionSpec.flag("sack-perm");
    static final OptionSpec TIMESTAMP = OptionSpec.flag("timestamp");
    static final OptionSpec WSCALE = OptionSpec.withArg("wscale");
    static final OptionSpec MSS = OptionSpec.withArg("mss");
    static final OptionSpec ECN = OptionSpec.flag("ecn");

    // Linux: XT_SYNPROXY_OPT_* from include/uapi/linux/netfilter/xt_SYNPROXY.h
    static final int OPT_MSS = 0x01;
    static final int OPT_WSCALE = 0x02;
    static final int OPT_SACK_PERM = 0x04;
    static final int OPT_TIMESTAMP = 0x08;
    static final int OPT_ECN = 0x10;

    public SynproxyTarget() {
        super("SYNPROXY", List.of(SACK_PERM, TIMESTAMP, WSCALE, MSS, ECN));
    }

    public record Data(int options, int wscale, int mss) implements ExtensionData {
        private void print(StringBuilder out, String dashes) {
            if ((options & OPT_SACK_PERM) != 0) {
                out.append(' ').append(dashes).append("sack-perm");
            }
            if ((options & OPT_TIMESTAMP) != 0) {
                out.append(' ').append(dashes).append("timestamp");
            }
            if ((options & OPT_WSCALE) != 0) {
                out.append(' ').append(dashes).append("wscale ").append(wscale);
            }
            if ((options & OPT_MSS) != 0) {
                out.append(' ').append(dashes).append("mss ").append(mss);
            }
            if ((options & OPT_ECN) != 0) {
                out.append(' ').append(dashes).append("ecn");
            }
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            print(out, "--");
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            // iptables ends this listing with a space
            out.append(" SYNPROXY");
            print(out, "");
            out.append(' ');
        }

        /**
         * synproxy_tg4 / synproxy_tg6 ({@link Synproxy#target}): a SYN is answered with a cookie SYN-ACK, an ACK
         * with a valid cookie opens the connection to the server; both STOLEN. Needs {@link SynproxyModule}'s
         * hooks (registered with conntrack) for the rest of the handshake.
         */
        @Override
        public int apply(PacketContext pkt) {
            return Synproxy.of(pkt.host()).target(pkt, options, wscale, mss);
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, null, TargetScope.hooks(Hook.INPUT, Hook.FORWARD));
            if (ip.protocol() != Protocols.TCP || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int options;
            private int wscale;
            private int mss;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == SACK_PERM) {
                    options |= OPT_SACK_PERM;
                } else if (option == TIMESTAMP) {
                    options |= OPT_TIMESTAMP;
                } else if (option == WSCALE) {
                    // parsed as 32 bits, stored in 8: 256 becomes 0
                    wscale = (int) (uint(option, arg, 0, 0xFFFFFFFFL) & 0xFF);
                    options |= OPT_WSCALE;
                } else if (option == MSS) {
                    mss = (int) (uint(option, arg, 0, 0xFFFFFFFFL) & 0xFFFF);
                    options |= OPT_MSS;
                } else {
                    options |= OPT_ECN;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(options, wscale, mss);
            }
        };
    }
}
