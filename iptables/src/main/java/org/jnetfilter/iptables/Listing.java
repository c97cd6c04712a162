package org.jnetfilter.iptables;

import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Protocols;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.Target;

/**
 * {@code iptables -L} output, column for column as iptables.c print_header/print_firewall and
 * xtables_print_num lay it out, and the one-line rule echo of {@code -v -A}.
 */
final class Listing {
    // iptables.c FMT_* flags
    static final int FMT_NUMERIC = 0x0001;
    static final int FMT_NOCOUNTS = 0x0002;
    static final int FMT_KILOMEGAGIGA = 0x0004;
    static final int FMT_OPTIONS = 0x0008;
    static final int FMT_NOTABLE = 0x0010;
    static final int FMT_NOTARGET = 0x0020;
    static final int FMT_VIA = 0x0040;
    static final int FMT_NONEWLINE = 0x0080;
    static final int FMT_LINENUMBERS = 0x0100;
    static final int FMT_PRINT_RULE = FMT_NOCOUNTS | FMT_OPTIONS | FMT_VIA | FMT_NUMERIC | FMT_NOTABLE;

    private Listing() {
    }

    static int format(Command cmd) {
        int f = FMT_OPTIONS;
        if (cmd.verbose() == 0) {
            f |= FMT_NOCOUNTS;
        } else {
            f |= FMT_VIA;
        }
        if (cmd.numeric()) {
            f |= FMT_NUMERIC;
        }
        if (!cmd.exact()) {
            f |= FMT_KILOMEGAGIGA;
        }
        if (cmd.lineNumbers()) {
            f |= FMT_LINENUMBERS;
        }
        return f;
    }

    private static String fmt(int format, String table, String noTable) {
        return (format & FMT_NOTABLE) != 0 ? noTable : table;
    }

    static void printNum(StringBuilder sb, long number, int format) {
        if ((format & FMT_KILOMEGAGIGA) == 0) {
            sb.append(String.format(fmt(format, "%8s ", "%s "), Long.toUnsignedString(number)));
            return;
        }
        if (Long.compareUnsigned(number, 99999) <= 0) {
            sb.append(String.format(fmt(format, "%5s ", "%s "), Long.toUnsignedString(number)));
            return;
        }
        String[] units = {"K", "M", "G"};
        long n = number;
        for (String unit : units) {
            n = Long.divideUnsigned(n + 500, 1000);
            if (Long.compareUnsigned(n, 9999) <= 0) {
                sb.append(String.format(fmt(format, "%4s%s ", "%s%s "), Long.toUnsignedString(n), unit));
                return;
            }
        }
        n = Long.divideUnsigned(n + 500, 1000);
        sb.append(String.format(fmt(format, "%4s%s ", "%s%s "), Long.toUnsignedString(n), "T"));
    }

    static void header(StringBuilder sb, Table table, Chain chain, int format) {
        sb.append("Chain ").append(chain.name());
        if (chain.isBuiltin()) {
            sb.append(" (policy ").append(chain.policy());
            if ((format & FMT_NOCOUNTS) == 0) {
                sb.append(' ');
                printNum(sb, chain.policyCounters().packets(), format | FMT_NOTABLE);
                sb.append("packets, ");
                printNum(sb, chain.policyCounters().bytes(), format | FMT_NOTABLE);
                sb.append("bytes");
            }
            sb.append(")\n");
        } else {
            sb.append(" (").append(table.references(chain.name())).append(" references)\n");
        }
        if ((format & FMT_LINENUMBERS) != 0) {
            sb.append(String.format(fmt(format, "%-4s ", "%s "), "num"));
        }
        if ((format & FMT_NOCOUNTS) == 0) {
            if ((format & FMT_KILOMEGAGIGA) != 0) {
                sb.append(String.format(fmt(format, "%5s ", "%s "), "pkts"));
                sb.append(String.format(fmt(format, "%5s ", "%s "), "bytes"));
            } else {
                sb.append(String.format(fmt(format, "%8s ", "%s "), "pkts"));
                sb.append(String.format(fmt(format, "%10s ", "%s "), "bytes"));
            }
        }
        if ((format & FMT_NOTARGET) == 0) {
            sb.append(String.format(fmt(format, "%-9s ", "%s "), "target"));
        }
        sb.append(" prot ");
        if ((format & FMT_OPTIONS) != 0) {
            sb.append("opt");
        }
        if ((format & FMT_VIA) != 0) {
            sb.append(String.format(fmt(format, " %-6s ", "%s "), "in"));
            sb.append(String.format(fmt(format, "%-6s ", "%s "), "out"));
        }
        sb.append(String.format(fmt(format, " %-19s ", "%s "), "source"));
        sb.append(String.format(fmt(format, " %-19s ", " %s "), "destination"));
        sb.append('\n');
    }

    static void rule(StringBuilder sb, Rule rule, int num, int format) {
        IpSpec ip = rule.ip();
        Family family = ip.family();
        if ((format & FMT_LINENUMBERS) != 0) {
            sb.append(String.format(fmt(format, "%-4d ", "%d "), num));
        }
        if ((format & FMT_NOCOUNTS) == 0) {
            Counters c = rule.counters();
            printNum(sb, c.packets(), format);
            printNum(sb, c.bytes(), format);
        }
        if ((format & FMT_NOTARGET) == 0) {
            sb.append(String.format(fmt(format, "%-9s ", "%s "), targetName(rule.target())));
        }
        sb.append(ip.inverted(IpSpec.INV_PROTO) ? '!' : ' ');
        String pname;
        if ((format & (FMT_NUMERIC | FMT_NOTABLE)) == FMT_NUMERIC) {
            pname = Integer.toString(ip.protocol());
        } else {
            pname = Protocols.name(ip.protocol());
            if (pname == null) {
                pname = Integer.toString(ip.protocol());
            }
        }
        sb.append(String.format(fmt(format, "%-4s ", "%s "), pname));
        if ((format & FMT_OPTIONS) != 0) {
            if ((format & FMT_NOTABLE) != 0) {
                sb.append("opt ");
            }
            if (family == Family.IPV4) {
                sb.append(ip.inverted(IpSpec.INV_FRAG) ? '!' : '-');
                sb.append(ip.fragment() ? 'f' : '-');
            } else {
                // ip6tables has no -f, so its two flag characters are always "--"
                sb.append("--");
            }
            sb.append(' ');
        }
        if ((format & FMT_VIA) != 0) {
            sb.append(String.format(fmt(format, " %-6s ", "in %s "),
                    iface(ip.inIface(), ip.inverted(IpSpec.INV_VIA_IN), format)));
            sb.append(String.format(fmt(format, "%-6s ", "out %s "),
                    iface(ip.outIface(), ip.inverted(IpSpec.INV_VIA_OUT), format)));
        }
        sb.append(ip.inverted(IpSpec.INV_SRCIP) ? '!' : ' ');
        sb.append(String.format(fmt(format, "%-19s ", "%s "), address(ip.src(), format)));
        sb.append(ip.inverted(IpSpec.INV_DSTIP) ? '!' : ' ');
        sb.append(String.format(fmt(format, "%-19s ", "-> %s"), address(ip.dst(), format)));
        if ((format & FMT_NOTABLE) != 0) {
            sb.append("  ");
        }
        if (rule.target() instanceof Target.Jump j && j.isGoto()) {
            sb.append("[goto] ");
        }
        boolean numeric = (format & FMT_NUMERIC) != 0;
        for (Match m : rule.spec().matches()) {
            m.data().list(sb, ip, numeric);
        }
        if (rule.target() instanceof Target.Extension e) {
            e.data().list(sb, ip, numeric);
        }
        if ((format & FMT_NONEWLINE) == 0) {
            sb.append('\n');
        }
    }

    private static String iface(String name, boolean inverted, int format) {
        String s = inverted ? "!" : "";
        if (!name.isEmpty()) {
            return s + name;
        }
        return s + ((format & FMT_NUMERIC) != 0 ? "*" : "any");
    }

    private static String address(IpNet net, int format) {
        if (net.isAny() && (format & FMT_NUMERIC) == 0) {
            return "anywhere";
        }
        String a = (format & FMT_NUMERIC) != 0 ? net.addressText() : HostNames.anyName(net);
        return a + maskSuffix(net);
    }

    /** xtables_ipmask_to_numeric: "" for a host mask, "/N", or "/mask" when not contiguous. */
    private static String maskSuffix(IpNet net) {
        if (net.isHost()) {
            return "";
        }
        return "/" + net.maskText();
    }

    static String targetName(Target t) {
        if (t instanceof Target.Extension e && e.data().listName() != null) {
            return e.data().listName();
        }
        return t.name();
    }
}
