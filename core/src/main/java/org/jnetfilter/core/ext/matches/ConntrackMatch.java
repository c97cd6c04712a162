package org.jnetfilter.core.ext.matches;

import java.util.List;
import java.util.OptionalInt;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.conntrack.CtInfo;
import org.jnetfilter.core.conntrack.Tuple;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -m conntrack} (libxt_conntrack revision 3, xt_conntrack.c): the packet's connection-tracking
 * entry: state, layer-4 protocol, original and reply tuple, status bits, remaining lifetime, direction.
 */
public final class ConntrackMatch extends MatchExtension {
    static final OptionSpec CTSTATE = OptionSpec.withArg("ctstate");
    static final OptionSpec CTPROTO = OptionSpec.withArg("ctproto");
    static final OptionSpec CTORIGSRC = OptionSpec.withArg("ctorigsrc");
    static final OptionSpec CTORIGDST = OptionSpec.withArg("ctorigdst");
    static final OptionSpec CTREPLSRC = OptionSpec.withArg("ctreplsrc");
    static final OptionSpec CTREPLDST = OptionSpec.withArg("ctrepldst");
    static final OptionSpec CTSTATUS = OptionSpec.withArg("ctstatus");
    static final OptionSpec CTEXPIRE = OptionSpec.withArg("ctexpire");
    static final OptionSpec CTORIGSRCPORT = OptionSpec.withArg("ctorigsrcport");
    static final OptionSpec CTORIGDSTPORT = OptionSpec.withArg("ctorigdstport");
    static final OptionSpec CTREPLSRCPORT = OptionSpec.withArg("ctreplsrcport");
    static final OptionSpec CTREPLDSTPORT = OptionSpec.withArg("ctrepldstport");
    static final OptionSpec CTDIR = OptionSpec.withArg("ctdir");

    // Linux: XT_CONNTRACK_* match and invert flags (xt_conntrack.h)
    public static final int F_STATE = 1;
    public static final int F_PROTO = 1 << 1;
    public static final int F_ORIGSRC = 1 << 2;
    public static final int F_ORIGDST = 1 << 3;
    public static final int F_REPLSRC = 1 << 4;
    public static final int F_REPLDST = 1 << 5;
    public static final int F_STATUS = 1 << 6;
    public static final int F_EXPIRES = 1 << 7;
    public static final int F_ORIGSRC_PORT = 1 << 8;
    public static final int F_ORIGDST_PORT = 1 << 9;
    public static final int F_REPLSRC_PORT = 1 << 10;
    public static final int F_REPLDST_PORT = 1 << 11;
    public static final int F_DIRECTION = 1 << 12;

    /** Names in the order libxt_conntrack tries them (prefixes match) and prints them. */
    static final String[] STATE_NAMES = {"INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT"};
    static final int[] STATE_BITS = {ConntrackValues.STATE_INVALID, ConntrackValues.STATE_NEW,
            ConntrackValues.STATE_RELATED, ConntrackValues.STATE_ESTABLISHED, ConntrackValues.CT_STATE_UNTRACKED,
            ConntrackValues.CT_STATE_SNAT, ConntrackValues.CT_STATE_DNAT};
    static final String[] STATE_PARSE_ORDER = {"INVALID", "NEW", "RELATED", "ESTABLISHED", "SNAT", "DNAT",
            "UNTRACKED"};
    static final int[] STATE_PARSE_BITS = {ConntrackValues.STATE_INVALID, ConntrackValues.STATE_NEW,
            ConntrackValues.STATE_RELATED, ConntrackValues.STATE_ESTABLISHED, ConntrackValues.CT_STATE_SNAT,
            ConntrackValues.CT_STATE_DNAT, ConntrackValues.CT_STATE_UNTRACKED};
    static final String[] STATUS_NAMES = {"EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED"};
    static final int[] STATUS_BITS = {ConntrackValues.STATUS_EXPECTED, ConntrackValues.STATUS_SEEN_REPLY,
            ConntrackValues.STATUS_ASSURED, ConntrackValues.STATUS_CONFIRMED};

    public ConntrackMatch() {
        super("conntrack", List.of(CTSTATE, CTPROTO, CTORIGSRC, CTORIGDST, CTREPLSRC, CTREPLDST, CTSTATUS, CTEXPIRE,
                CTORIGSRCPORT, CTORIGDSTPORT, CTREPLSRCPORT, CTREPLDSTPORT, CTDIR));
    }

    /** An inclusive range of ports or seconds. */
    public record Range(long from, long to) {
        static final Range NONE = new Range(0, 0);

        String text() {
            return ConntrackValues.range(from, to);
        }
    }

    /**
     * @param flags  F_* options given
     * @param invert F_* options negated; for F_DIRECTION set means REPLY
     */
    public record Data(int flags, int invert, int stateMask, int protocol, IpNet origSrc, IpNet origDst,
                       IpNet replSrc, IpNet replDst, Range origSrcPort, Range origDstPort, Range replSrcPort,
                       Range replDstPort, int statusMask, Range expires) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            print(out, "--", true);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            print(out, "", numeric);
        }

        private void print(StringBuilder out, String dash, boolean numeric) {
            if (has(F_STATE)) {
                String s = stateMask == 0 ? "" : ConntrackValues.names(STATE_NAMES, STATE_BITS, stateMask);
                opt(out, F_STATE, dash, "ctstate").append(s);
            }
            if (has(F_PROTO)) {
                opt(out, F_PROTO, dash, "ctproto").append(protocol);
            }
            address(out, F_ORIGSRC, dash, "ctorigsrc", origSrc, numeric);
            address(out, F_ORIGDST, dash, "ctorigdst", origDst, numeric);
            address(out, F_REPLSRC, dash, "ctreplsrc", replSrc, numeric);
            address(out, F_REPLDST, dash, "ctrepldst", replDst, numeric);
            port(out, F_ORIGSRC_PORT, dash, "ctorigsrcport", origSrcPort);
            port(out, F_ORIGDST_PORT, dash, "ctorigdstport", origDstPort);
            port(out, F_REPLSRC_PORT, dash, "ctreplsrcport", replSrcPort);
            port(out, F_REPLDST_PORT, dash, "ctrepldstport", replDstPort);
            if (has(F_STATUS)) {
                String s = statusMask == 0 ? "NONE" : ConntrackValues.names(STATUS_NAMES, STATUS_BITS, statusMask);
                opt(out, F_STATUS, dash, "ctstatus").append(s);
            }
            port(out, F_EXPIRES, dash, "ctexpire", expires);
            if (has(F_DIRECTION)) {
                out.append(' ').append(dash).append("ctdir ")
                        .append((invert & F_DIRECTION) != 0 ? "REPLY" : "ORIGINAL");
            }
        }

        private boolean has(int f) {
            return (flags & f) != 0;
        }

        private boolean inv(int f) {
            return (invert & f) != 0;
        }

        /**
         * xt_conntrack conntrack_mt (revision 3): the state (with SNAT/DNAT from the status) is tested first
         * and alone decides for a packet without an entry; then direction, tuple addresses, protocol, ports
         * ({@code src.u.all}/{@code dst.u.all}: the ICMP id and type/code too), status bits and the seconds left.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            Connection ct = pkt.conntrack();
            if (has(F_STATE)) {
                int bit;
                if (ct != null) {
                    bit = 1 << (pkt.ctInfo() % CtInfo.IS_REPLY + 1);
                    if (ct.hasStatus(Connection.SRC_NAT)) {
                        bit |= ConntrackValues.CT_STATE_SNAT;
                    }
                    if (ct.hasStatus(Connection.DST_NAT)) {
                        bit |= ConntrackValues.CT_STATE_DNAT;
                    }
                } else {
                    bit = pkt.untracked() ? ConntrackValues.CT_STATE_UNTRACKED : ConntrackValues.STATE_INVALID;
                }
                if (((stateMask & bit) != 0) == inv(F_STATE)) {
                    return false;
                }
            }
            if (ct == null) {
                return has(F_STATE);
            }
            if (has(F_DIRECTION) && (CtInfo.direction(pkt.ctInfo()) == 0) == inv(F_DIRECTION)) {
                return false;
            }
            Tuple o = ct.original();
            Tuple r = ct.reply();
            if (has(F_ORIGSRC) && origSrc.contains(o.sourceHi(), o.sourceLo()) == inv(F_ORIGSRC)) {
                return false;
            }
            if (has(F_ORIGDST) && origDst.contains(o.destinationHi(), o.destinationLo()) == inv(F_ORIGDST)) {
                return false;
            }
            if (has(F_REPLSRC) && replSrc.contains(r.sourceHi(), r.sourceLo()) == inv(F_REPLSRC)) {
                return false;
            }
            if (has(F_REPLDST) && replDst.contains(r.destinationHi(), r.destinationLo()) == inv(F_REPLDST)) {
                return false;
            }
            if (has(F_PROTO) && (ct.protocol() == protocol) == inv(F_PROTO)) {
                return false;
            }
            if (has(F_ORIGSRC_PORT) && !portMatch(origSrcPort, o.sourceId(), inv(F_ORIGSRC_PORT))) {
                return false;
            }
            if (has(F_ORIGDST_PORT) && !portMatch(origDstPort, o.destinationId(), inv(F_ORIGDST_PORT))) {
                return false;
            }
            if (has(F_REPLSRC_PORT) && !portMatch(replSrcPort, r.sourceId(), inv(F_REPLSRC_PORT))) {
                return false;
            }
            if (has(F_REPLDST_PORT) && !portMatch(replDstPort, r.destinationId(), inv(F_REPLDST_PORT))) {
                return false;
            }
            if (has(F_STATUS) && ((statusMask & ct.status()) != 0) == inv(F_STATUS)) {
                return false;
            }
            if (has(F_EXPIRES)) {
                long left = ct.secondsLeft(pkt.nowNanos());
                if ((left >= expires.from() && left <= expires.to()) == inv(F_EXPIRES)) {
                    return false;
                }
            }
            return true;
        }

        private static boolean portMatch(Range r, int port, boolean invert) {
            return (port >= r.from() && port <= r.to()) != invert;
        }

        private StringBuilder opt(StringBuilder out, int f, String dash, String name) {
            out.append((invert & f) != 0 ? " ! " : " ").append(dash).append(name).append(' ');
            return out;
        }

        private void address(StringBuilder out, int f, String dash, String name, IpNet net, boolean numeric) {
            if (has(f)) {
                ConntrackValues.appendAddress(opt(out, f, dash, name), net, numeric);
            }
        }

        private void port(StringBuilder out, int f, String dash, String name, Range r) {
            if (has(f)) {
                opt(out, f, dash, name).append(r.text());
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int flags;
            private int invert;
            private int stateMask;
            private int protocol;
            private IpNet origSrc;
            private IpNet origDst;
            private IpNet replSrc;
            private IpNet replDst;
            private Range origSrcPort = Range.NONE;
            private Range origDstPort = Range.NONE;
            private Range replSrcPort = Range.NONE;
            private Range replDstPort = Range.NONE;
            private int statusMask;
            private Range expires = Range.NONE;

            @Override
            public void parse(OptionSpec opt, boolean inv, String arg, ParseContext c) {
                if (opt == CTDIR) {
                    plain(opt, inv);
                } else {
                    once(opt);
                }
                int f;
                if (opt == CTSTATE) {
                    f = F_STATE;
                    stateMask = parseNames(arg, STATE_PARSE_ORDER, STATE_PARSE_BITS, "ctstate", false, null);
                } else if (opt == CTPROTO) {
                    f = F_PROTO;
                    OptionalInt p = Protocols.parse(arg);
                    if (p.isEmpty()) {
                        throw XtablesException.parameter("unknown protocol \"" + arg + "\" specified");
                    }
                    if (p.getAsInt() == 0) {
                        // iptables 1.8.10: protocol 0 never occurs in a conntrack entry
                        throw XtablesException.parameter(inv ? "conntrack: condition would always match protocol"
                                : "conntrack: rule would never match protocol");
                    }
                    protocol = p.getAsInt();
                } else if (opt == CTORIGSRC) {
                    f = F_ORIGSRC;
                    origSrc = ConntrackValues.hostMask(extName, opt.name(), c.family(), arg);
                } else if (opt == CTORIGDST) {
                    f = F_ORIGDST;
                    origDst = ConntrackValues.hostMask(extName, opt.name(), c.family(), arg);
                } else if (opt == CTREPLSRC) {
                    f = F_REPLSRC;
                    replSrc = ConntrackValues.hostMask(extName, opt.name(), c.family(), arg);
                } else if (opt == CTREPLDST) {
                    f = F_REPLDST;
                    replDst = ConntrackValues.hostMask(extName, opt.name(), c.family(), arg);
                } else if (opt == CTSTATUS) {
                    f = F_STATUS;
                    statusMask = parseNames(arg, STATUS_NAMES, STATUS_BITS, "ctstatus", true, null);
                } else if (opt == CTEXPIRE) {
                    f = F_EXPIRES;
                    long[] r = ConntrackValues.uintRange(extName, opt.name(), arg, ConntrackValues.U32);
                    expires = new Range(r[0], r[1]);
                } else if (opt == CTDIR) {
                    f = F_DIRECTION;
                    if (arg.equalsIgnoreCase("ORIGINAL")) {
                        inv = false;
                    } else if (arg.equalsIgnoreCase("REPLY")) {
                        inv = true;
                    } else {
                        throw XtablesException.parameter("conntrack: Bad value for \"--ctdir\" option: \"" + arg
                                + "\"");
                    }
                } else {
                    int[] r = ConntrackValues.portRange(extName, opt.name(), arg);
                    Range range = new Range(r[0], r[1]);
                    if (opt == CTORIGSRCPORT) {
                        f = F_ORIGSRC_PORT;
                        origSrcPort = range;
                    } else if (opt == CTORIGDSTPORT) {
                        f = F_ORIGDST_PORT;
                        origDstPort = range;
                    } else if (opt == CTREPLSRCPORT) {
                        f = F_REPLSRC_PORT;
                        replSrcPort = range;
                    } else {
                        f = F_REPLDST_PORT;
                        replDstPort = range;
                    }
                }
                flags |= f;
                if (inv) {
                    invert |= f;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (flags == 0) {
                    throw XtablesException.parameter("conntrack: At least one option is required");
                }
                return new Data(flags, invert, stateMask, protocol, origSrc, origDst, replSrc, replDst, origSrcPort,
                        origDstPort, replSrcPort, replDstPort, statusMask, expires);
            }
        };
    }

    /**
     * libxt_conntrack's and libxt_state's list parsing: comma-separated, case-insensitive, a prefix names the
     * first name it begins; an error quotes the rest of the list from the bad word on.
     *
     * @param emptyTail the message for an empty last word (state has its own), or null for "Bad ..."
     */
    static int parseNames(String arg, String[] names, int[] bits, String what, boolean none, String emptyTail) {
        int mask = 0;
        int pos = 0;
        while (true) {
            int comma = arg.indexOf(',', pos);
            String word = comma < 0 ? arg.substring(pos) : arg.substring(pos, comma);
            if (comma < 0 && word.isEmpty() && emptyTail != null) {
                throw XtablesException.parameter(emptyTail);
            }
            int bit = -1;
            if (!word.isEmpty()) {
                if (none && word.length() <= 4 && "NONE".regionMatches(true, 0, word, 0, word.length())) {
                    bit = 0;
                } else {
                    for (int i = 0; i < names.length && bit < 0; i++) {
                        if (word.length() <= names[i].length()
                                && names[i].regionMatches(true, 0, word, 0, word.length())) {
                            bit = bits[i];
                        }
                    }
                }
            }
            if (bit < 0) {
                throw XtablesException.parameter("Bad " + what + " \"" + arg.substring(pos) + "\"");
            }
            mask |= bit;
            if (comma < 0) {
                return mask;
            }
            pos = comma + 1;
        }
    }
}
