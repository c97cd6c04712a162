package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.nat.Nat;
import org.jnetfilter.core.nat.NatAddresses;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -j REDIRECT}: DNAT to the local host; nat PREROUTING and OUTPUT only (xt_REDIRECT). */
public final class RedirectTarget extends TargetExtension {
    static final OptionSpec TO_PORTS = OptionSpec.withArg("to-ports");
    static final OptionSpec RANDOM = OptionSpec.flag("random");

    public RedirectTarget() {
        super("REDIRECT", List.of(TO_PORTS, RANDOM));
    }

    public record Data(NatRange ports, boolean random) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (ports.protoSpecified()) {
                out.append(" --to-ports ").append(ports.portsText());
            }
            if (random) {
                out.append(" --random");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            if (ports.protoSpecified()) {
                out.append(" redir ports ").append(ports.portsText());
            }
            if (random) {
                out.append(" random");
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, "nat", TargetScope.hooks(Hook.PREROUTING, Hook.OUTPUT));
        }

        /**
         * nf_nat_redirect_ipv4/ipv6: destination NAT to the loopback address in OUTPUT, else to the first
         * address of the incoming interface (none: drop), with the rule's ports.
         */
        @Override
        public int apply(PacketContext pkt) {
            Connection ct = pkt.conntrack();
            if (ct == null || ct.isTemplate()) {
                return Verdict.ACCEPT;
            }
            long[] dst = NatAddresses.redirectDestination(pkt);
            if (dst == null) {
                return Verdict.DROP;
            }
            int extra = random ? NatRange.RANDOM : 0;
            return Nat.setupInfo(pkt, ct, Nat.MANIP_DST, ports.natFlags(extra) | Nat.MAP_IPS, dst[0], dst[1], dst[0],
                    dst[1], ports.minPort(), ports.maxPort(), ports.basePort());
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private NatRange ports = NatRange.NONE;
            private boolean random;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == TO_PORTS) {
                    ports = NatRange.parsePorts(arg, NatRange.portsAllowed(c.ip(), c.family()), NatRange.Shift.REFUSED);
                } else {
                    random = true;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(ports, random);
            }
        };
    }
}
