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
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -j MASQUERADE}: SNAT to the outgoing interface's address; nat POSTROUTING only (xt_MASQUERADE). */
public final class MasqueradeTarget extends TargetExtension {
    static final OptionSpec TO_PORTS = OptionSpec.withArg("to-ports");
    static final OptionSpec RANDOM = OptionSpec.flag("random");
    static final OptionSpec RANDOM_FULLY = OptionSpec.flag("random-fully");

    public MasqueradeTarget() {
        super("MASQUERADE", List.of(TO_PORTS, RANDOM, RANDOM_FULLY));
    }

    /** @param ports NatRange.NONE when no --to-ports */
    public record Data(NatRange ports, int flags) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (ports.protoSpecified()) {
                out.append(" --to-ports ").append(ports.portsText());
            }
            if ((flags & NatRange.RANDOM) != 0) {
                out.append(" --random");
            }
            if ((flags & NatRange.RANDOM_FULLY) != 0) {
                out.append(" --random-fully");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            if (ports.protoSpecified()) {
                out.append(" masq ports: ").append(ports.portsText());
            }
            if ((flags & NatRange.RANDOM) != 0) {
                out.append(" random");
            }
            if ((flags & NatRange.RANDOM_FULLY) != 0) {
                out.append(" random-fully");
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, "nat", Hook.POSTROUTING.bit());
        }

        /**
         * nf_nat_masquerade_ipv4/ipv6: source NAT to the address the outgoing interface would choose for the
         * next hop (inet_select_addr; IPv6 source address selection), with the rule's ports and flags; the
         * connection remembers the interface and dies if its packets later leave by another. A packet from
         * 0.0.0.0 is left alone; no usable address drops the packet.
         */
        @Override
        public int apply(PacketContext pkt) {
            Connection ct = pkt.conntrack();
            if (ct == null || ct.isTemplate()) {
                return Verdict.ACCEPT;
            }
            if (pkt.family() == Family.IPV4 && ct.original().sourceLo() == 0) {
                return Verdict.ACCEPT;
            }
            long[] src = NatAddresses.masqueradeSource(pkt);
            if (src == null) {
                // Linux: "%s ate my IP address"
                return Verdict.DROP;
            }
            ct.masqueradeInterface(pkt.outInterface());
            return Nat.setupInfo(pkt, ct, Nat.MANIP_SRC, ports.natFlags(flags) | Nat.MAP_IPS, src[0], src[1],
                    src[0], src[1], ports.minPort(), ports.maxPort(), ports.basePort());
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private NatRange ports = NatRange.NONE;
            private int flags;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == TO_PORTS) {
                    ports = NatRange.parsePorts(arg, NatRange.portsAllowed(c.ip(), c.family()), NatRange.Shift.ZEROED);
                } else if (option == RANDOM) {
                    flags |= NatRange.RANDOM;
                } else {
                    flags |= NatRange.RANDOM_FULLY;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(ports, flags);
            }
        };
    }
}
