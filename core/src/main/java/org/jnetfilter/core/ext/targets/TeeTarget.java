package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j TEE --gateway ip} (libxt_TEE, xt_TEE): clone packets to another gateway. Any table and chain.
 *
 * <p>Packet semantics, tee_tg4 / tee_tg6: XT_CONTINUE for the original, after nf_dup_ipv4 / nf_dup_ipv6 sent a
 * copy of it as it is at that rule ({@link PacketContext#duplicate}): untracked, IPv4 with DF set, one TTL (hop
 * limit) less when cloned in PREROUTING or INPUT, routed to the gateway as its next hop, through OUTPUT and
 * POSTROUTING (checked on Linux 6.18: the copy counts in raw, mangle and filter OUTPUT and in POSTROUTING, and
 * leaves to the gateway's MAC address with the original destination). While the copy is under way a TEE it meets
 * does nothing (nf_skb_duplicated). The copy is sent at once, before the original's next rule. With
 * {@code --oif} the copy is routed with that output interface (the datapath's route for TEE copies: a device that
 * is down gives no copy; IPv4 takes a gateway not routed through the device as on-link there, the copy's own
 * destination then being the neighbour, and lo as local; IPv6 needs a route through the device; an absent device
 * is as no --oif). Packet thread.
 */
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
        @Override
        public int apply(PacketContext pkt) {
            pkt.duplicate(gwHi, gwLo, oif);
            return Verdict.CONTINUE;
        }

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
