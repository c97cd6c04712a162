package org.jnetfilter.core.ext.targets;

import java.util.List;
import java.util.Locale;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -j REJECT} (libipt_REJECT, libip6t_REJECT; ipt_REJECT.c, ip6t_REJECT.c): drop and answer with an
 * ICMP error or a TCP reset. Filter table only, in INPUT, FORWARD and OUTPUT; a TCP reset needs
 * {@code -p tcp} (not negated).
 */
public final class RejectTarget extends TargetExtension {
    static final OptionSpec REJECT_WITH = OptionSpec.withArg("reject-with");

    /** One reply kind: its code in the kernel's enum, its name and the short alias iptables also takes. */
    record Kind(int code, String name, String alias) {
    }

    // Linux: enum ipt_reject_with, in iptables' lookup order (a prefix picks the first that fits)
    static final List<Kind> IPV4 = List.of(
            new Kind(0, "icmp-net-unreachable", "net-unreach"),
            new Kind(1, "icmp-host-unreachable", "host-unreach"),
            new Kind(2, "icmp-proto-unreachable", "proto-unreach"),
            new Kind(3, "icmp-port-unreachable", "port-unreach"),
            new Kind(5, "icmp-net-prohibited", "net-prohib"),
            new Kind(6, "icmp-host-prohibited", "host-prohib"),
            new Kind(7, "tcp-reset", "tcp-rst"),
            new Kind(8, "icmp-admin-prohibited", "admin-prohib"));
    static final int IPV4_PORT_UNREACHABLE = 3;
    static final int IPV4_TCP_RESET = 7;

    // Linux: enum ip6t_reject_with
    static final List<Kind> IPV6 = List.of(
            new Kind(0, "icmp6-no-route", "no-route"),
            new Kind(1, "icmp6-adm-prohibited", "adm-prohibited"),
            new Kind(3, "icmp6-addr-unreachable", "addr-unreach"),
            new Kind(4, "icmp6-port-unreachable", "port-unreach"),
            new Kind(6, "tcp-reset", "tcp-reset"),
            new Kind(7, "icmp6-policy-fail", "policy-fail"),
            new Kind(8, "icmp6-reject-route", "reject-route"));
    static final int IPV6_PORT_UNREACHABLE = 4;
    static final int IPV6_TCP_RESET = 6;

    public RejectTarget() {
        super("REJECT", List.of(REJECT_WITH));
    }

    static List<Kind> kinds(Family family) {
        return family == Family.IPV4 ? IPV4 : IPV6;
    }

    /** @param with the kernel's reject_with code */
    public record Data(Family family, int with) implements ExtensionData {
        String kindName() {
            for (Kind k : kinds(family)) {
                if (k.code() == with) {
                    return k.name();
                }
            }
            return Integer.toString(with);
        }

        /**
         * ipt_REJECT / ip6t_REJECT reject_tg: sends the reply named by {@code with} and drops. The reply is
         * recorded on the packet ({@link PacketContext#rejectWith()}) for whoever builds it.
         */
        @Override
        public int apply(PacketContext pkt) {
            pkt.rejectWith(with);
            return Verdict.DROP;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --reject-with ").append(kindName());
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" reject-with ").append(kindName());
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, "filter",
                    TargetScope.hooks(Hook.INPUT, Hook.FORWARD, Hook.OUTPUT));
            int reset = family == Family.IPV4 ? IPV4_TCP_RESET : IPV6_TCP_RESET;
            if (with == reset && (ip.protocol() != Protocols.TCP || ip.inverted(IpSpec.INV_PROTO))) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int with = ctx.family() == Family.IPV4 ? IPV4_PORT_UNREACHABLE : IPV6_PORT_UNREACHABLE;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                String a = arg.toLowerCase(Locale.ROOT);
                for (Kind k : kinds(c.family())) {
                    if (k.name().startsWith(a) || k.alias().startsWith(a)) {
                        with = k.code();
                        return;
                    }
                }
                // Linux: libipt_REJECT still names the type 2.4 dropped, for any prefix of it
                if (c.family() == Family.IPV4 && ("echo-reply".startsWith(a) || "echoreply".startsWith(a))) {
                    c.warn("--reject-with echo-reply no longer supported");
                }
                throw XtablesException.parameter("unknown reject type \"" + arg + "\"");
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(c.family(), with);
            }
        };
    }
}
