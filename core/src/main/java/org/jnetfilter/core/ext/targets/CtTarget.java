package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -j CT} (libxt_CT revision 2, xt_CT.c): attaches a conntrack template to the packet before
 * connection tracking sees it: no tracking, a helper, a timeout policy, event masks, a zone. Raw table only.
 */
public final class CtTarget extends TargetExtension {
    static final OptionSpec NOTRACK = OptionSpec.flag("notrack");
    static final OptionSpec HELPER = OptionSpec.withArg("helper");
    static final OptionSpec TIMEOUT = OptionSpec.withArg("timeout");
    static final OptionSpec CTEVENTS = OptionSpec.withArg("ctevents");
    static final OptionSpec EXPEVENTS = OptionSpec.withArg("expevents");
    static final OptionSpec ZONE_ORIG = OptionSpec.withArg("zone-orig");
    static final OptionSpec ZONE_REPLY = OptionSpec.withArg("zone-reply");
    static final OptionSpec ZONE = OptionSpec.withArg("zone");

    // Linux: XT_CT_* flags (xt_CT.h)
    public static final int F_NOTRACK = 1;
    public static final int F_NOTRACK_ALIAS = 1 << 1;
    public static final int F_ZONE_DIR_ORIG = 1 << 2;
    public static final int F_ZONE_DIR_REPL = 1 << 3;
    public static final int F_ZONE_MARK = 1 << 4;

    /** Linux: enum ip_conntrack_events, IPCT_NEW = 0 ... IPCT_SECMARK = 9, as libxt_CT names them. */
    static final String[] CT_EVENTS = {"new", "related", "destroy", "reply", "assured", "protoinfo", "helper",
            "mark", "natseqinfo", "secmark"};
    /** Linux: enum ip_conntrack_expect_events, IPEXP_NEW = 0. */
    static final String[] EXP_EVENTS = {"new"};

    public CtTarget() {
        super("CT", List.of(NOTRACK, HELPER, TIMEOUT, CTEVENTS, EXPEVENTS, ZONE_ORIG, ZONE_REPLY, ZONE));
    }

    /** @param helper "" for none; @param timeout "" for none */
    public record Data(int flags, String helper, String timeout, int ctEvents, int expEvents, int zone,
            org.jnetfilter.core.ext.matches.RuleState<Connection> template) implements ExtensionData {
        public Data(int flags, String helper, String timeout, int ctEvents, int expEvents, int zone) {
            this(flags, helper, timeout, ctEvents, expEvents, zone, new org.jnetfilter.core.ext.matches.RuleState<>());
        }

        /**
         * xt_ct_target: a packet that has an entry, a template or is untracked already is left alone;
         * {@code --notrack} makes it untracked; otherwise it gets the rule's template (IP_CT_NEW), whose zone
         * ({@code --zone}, or the mark's low 16 bits with {@code mark}) and helper name the connection it
         * creates takes. A directional zone (--zone-orig/--zone-reply) applies to both directions here. Event
         * masks only filter ctnetlink events, which nothing listens to: accepted, without effect. Always goes
         * on with the next rule.
         */
        @Override
        public int apply(PacketContext pkt) {
            if (pkt.conntrack() != null || pkt.untracked()) {
                return Verdict.CONTINUE;
            }
            if ((flags & F_NOTRACK) != 0) {
                pkt.untracked(true);
                pkt.conntrack(null, CtInfo.UNTRACKED);
                return Verdict.CONTINUE;
            }
            Connection t = template.get();
            if (t == null) {
                t = template.setIfAbsent(Connection.template(zone, (flags & F_ZONE_MARK) != 0, helper));
            }
            pkt.conntrack(t, CtInfo.NEW);
            return Verdict.CONTINUE;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            print(out, "--");
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" CT");
            print(out, "");
        }

        private void print(StringBuilder out, String dash) {
            if ((flags & F_NOTRACK) != 0) {
                out.append(' ').append(dash).append("notrack");
            }
            if (!helper.isEmpty()) {
                out.append(' ').append(dash).append("helper ").append(helper);
            }
            if (!timeout.isEmpty()) {
                out.append(' ').append(dash).append("timeout ").append(timeout);
            }
            if (ctEvents != 0) {
                out.append(' ').append(dash).append("ctevents ").append(eventNames(CT_EVENTS, ctEvents));
            }
            if (expEvents != 0) {
                out.append(' ').append(dash).append("expevents ").append(eventNames(EXP_EVENTS, expEvents));
            }
            int dir = flags & (F_ZONE_DIR_ORIG | F_ZONE_DIR_REPL);
            String suffix = dir == F_ZONE_DIR_ORIG ? "-orig" : dir == F_ZONE_DIR_REPL ? "-reply" : "";
            if ((flags & F_ZONE_MARK) != 0) {
                out.append(' ').append(dash).append("zone").append(suffix).append(" mark");
            } else if (zone != 0) {
                out.append(' ').append(dash).append("zone").append(suffix).append(' ').append(zone);
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (!table.equals("raw")) {
                throw XtablesException.invalidArgument();
            }
            if (!helper.isEmpty() && !helperExists(helper, ip)) {
                // Linux: xt_ct_set_helper needs the rule's (non-negated) layer-4 protocol and a helper
                // registered for it, else ENOENT
                throw XtablesException.kernel("No chain/target/match by that name");
            }
            if (!timeout.isEmpty()) {
                // Linux: no cttimeout policy objects exist (nfct timeout add), so the lookup fails with EINVAL
                throw XtablesException.invalidArgument();
            }
        }
    }

    /**
     * The kernel's in-tree conntrack helpers by name, layer-4 protocol and family (nf_conntrack_ftp, _tftp, _irc,
     * _amanda, _sip, _h323, _pptp, _sane, _netbios_ns, _snmp, nf_nat_snmp_basic's snmp_trap), loadable on demand as on a stock kernel; with
     * their module parameters at the defaults, so no port-suffixed names ({@code ftp-2121}). irc, pptp,
     * netbios-ns, snmp and snmp_trap register for IPv4 only: ip6tables refuses them (checked on Linux 6.18).
     */
    record HelperRegistration(java.util.Set<Integer> protocols, boolean ipv6) {
    }

    static final java.util.Map<String, HelperRegistration> HELPERS = java.util.Map.ofEntries(
            java.util.Map.entry("ftp", new HelperRegistration(java.util.Set.of(Protocols.TCP), true)),
            java.util.Map.entry("tftp", new HelperRegistration(java.util.Set.of(Protocols.UDP), true)),
            java.util.Map.entry("irc", new HelperRegistration(java.util.Set.of(Protocols.TCP), false)),
            java.util.Map.entry("amanda", new HelperRegistration(java.util.Set.of(Protocols.UDP), true)),
            java.util.Map.entry("sip", new HelperRegistration(java.util.Set.of(Protocols.UDP, Protocols.TCP), true)),
            java.util.Map.entry("RAS", new HelperRegistration(java.util.Set.of(Protocols.UDP), true)),
            java.util.Map.entry("Q.931", new HelperRegistration(java.util.Set.of(Protocols.TCP), true)),
            // Linux: nf_conntrack_helper_h245 is registered for UDP (its tuple's protonum), any family
            java.util.Map.entry("H.245", new HelperRegistration(java.util.Set.of(Protocols.UDP), true)),
            java.util.Map.entry("pptp", new HelperRegistration(java.util.Set.of(Protocols.TCP), false)),
            java.util.Map.entry("sane", new HelperRegistration(java.util.Set.of(Protocols.TCP), true)),
            java.util.Map.entry("netbios-ns", new HelperRegistration(java.util.Set.of(Protocols.UDP), false)),
            java.util.Map.entry("snmp", new HelperRegistration(java.util.Set.of(Protocols.UDP), false)),
            java.util.Map.entry("snmp_trap", new HelperRegistration(java.util.Set.of(Protocols.UDP), false)));

    static boolean helperExists(String name, IpSpec ip) {
        HelperRegistration h = HELPERS.get(name);
        return h != null && !ip.inverted(IpSpec.INV_PROTO) && h.protocols().contains(ip.protocol())
                && (h.ipv6() || ip.family() == org.jnetfilter.core.rules.Family.IPV4);
    }

    static String eventNames(String[] names, int mask) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < names.length; i++) {
            if ((mask & (1 << i)) != 0) {
                if (!sb.isEmpty()) {
                    sb.append(',');
                }
                sb.append(names[i]);
            }
        }
        return sb.toString();
    }

    static int parseEvents(String[] names, String arg) {
        int mask = 0;
        for (String word : arg.split(",", -1)) {
            int bit = -1;
            for (int i = 0; i < names.length && bit < 0; i++) {
                if (names[i].equals(word)) {
                    bit = i;
                }
            }
            if (bit < 0) {
                throw XtablesException.parameter("Unknown event type \"" + word + "\"");
            }
            mask |= 1 << bit;
        }
        return mask;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int flags;
            private String helper = "";
            private String timeout = "";
            private int ctEvents;
            private int expEvents;
            private int zone;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == NOTRACK) {
                    flags |= F_NOTRACK;
                } else if (option == HELPER) {
                    helper = fieldText(option, arg, 15);
                } else if (option == TIMEOUT) {
                    timeout = fieldText(option, arg, 31);
                } else if (option == CTEVENTS) {
                    ctEvents = parseEvents(CT_EVENTS, arg);
                } else if (option == EXPEVENTS) {
                    expEvents = parseEvents(EXP_EVENTS, arg);
                } else {
                    if (option == ZONE_ORIG) {
                        flags |= F_ZONE_DIR_ORIG;
                    } else if (option == ZONE_REPLY) {
                        flags |= F_ZONE_DIR_REPL;
                    }
                    if (arg.equals("mark")) {
                        flags |= F_ZONE_MARK;
                    } else {
                        long z = Numbers.parseUnsigned(arg, 0, 0xFFFF);
                        if (z < 0) {
                            throw XtablesException.parameter("Cannot parse " + arg + " as a zone ID");
                        }
                        zone = (int) z;
                    }
                }
            }

            /** libxt_CT copies the name into a fixed-size field: longer names are cut, not refused. */
            private String fieldText(OptionSpec option, String arg, int max) {
                return arg.length() > max ? arg.substring(0, max) : arg;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(flags, helper, timeout, ctEvents, expEvents, zone);
            }
        };
    }
}
