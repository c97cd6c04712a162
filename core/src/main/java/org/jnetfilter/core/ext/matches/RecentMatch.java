package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.Addresses;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m recent} (libxt_recent revision 1, xt_recent): a named list of recently seen addresses. The mask is
 * kept as {hi, lo} as an IpNet keeps addresses (IPv4 in the low 32 bits of lo).
 */
public final class RecentMatch extends MatchExtension {
    static final OptionSpec SET = OptionSpec.flag("set");
    static final OptionSpec RCHECK = OptionSpec.flag("rcheck");
    static final OptionSpec UPDATE = OptionSpec.flag("update");
    static final OptionSpec SECONDS = OptionSpec.withArg("seconds");
    static final OptionSpec REAP = OptionSpec.flag("reap");
    static final OptionSpec HITCOUNT = OptionSpec.withArg("hitcount");
    static final OptionSpec REMOVE = OptionSpec.flag("remove");
    static final OptionSpec RTTL = OptionSpec.flag("rttl");
    static final OptionSpec NAME = OptionSpec.withArg("name");
    static final OptionSpec RSOURCE = OptionSpec.flag("rsource");
    static final OptionSpec RDEST = OptionSpec.flag("rdest");
    static final OptionSpec MASK = OptionSpec.withArg("mask");

    // Linux: xt_recent.h
    public static final int CHECK = 1;
    public static final int SET_FLAG = 2;
    public static final int UPDATE_FLAG = 4;
    public static final int REMOVE_FLAG = 8;
    public static final int TTL = 16;
    public static final int REAP_FLAG = 32;
    public static final int SOURCE = 0;
    public static final int DEST = 1;
    static final int NAME_LEN = 200;
    static final long MAX_NSTAMPS = 1 << 16;

    public RecentMatch() {
        super("recent", List.of(SET, RCHECK, UPDATE, SECONDS, REAP, HITCOUNT, REMOVE, RTTL, NAME, RSOURCE, RDEST,
                MASK));
    }

    public record Data(long seconds, long hitCount, int checkSet, boolean invert, String name, int side,
            long maskHi, long maskLo) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (invert) {
                out.append(" !");
            }
            appendAction(out, " --set", " --rcheck", " --update", " --remove");
            if (seconds != 0) {
                out.append(" --seconds ").append((int) seconds);
            }
            if ((checkSet & REAP_FLAG) != 0) {
                out.append(" --reap");
            }
            if (hitCount != 0) {
                out.append(" --hitcount ").append((int) hitCount);
            }
            if ((checkSet & TTL) != 0) {
                out.append(" --rttl");
            }
            out.append(" --name ").append(name);
            out.append(" --mask ").append(maskText(ip.family()));
            if (side == SOURCE) {
                out.append(" --rsource");
            } else if (side == DEST) {
                out.append(" --rdest");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            if (invert) {
                out.append(" !");
            }
            out.append(" recent:");
            appendAction(out, " SET", " CHECK", " UPDATE", " REMOVE");
            if (seconds != 0) {
                out.append(" seconds: ").append((int) seconds);
            }
            if ((checkSet & REAP_FLAG) != 0) {
                out.append(" reap");
            }
            if (hitCount != 0) {
                out.append(" hit_count: ").append((int) hitCount);
            }
            if ((checkSet & TTL) != 0) {
                out.append(" TTL-Match");
            }
            out.append(" name: ").append(name);
            if (side == SOURCE) {
                out.append(" side: source");
            } else if (side == DEST) {
                out.append(" side: dest");
            }
            out.append(" mask: ").append(maskText(ip.family()));
        }

        private void appendAction(StringBuilder out, String set, String check, String update, String remove) {
            if ((checkSet & SET_FLAG) != 0) {
                out.append(set);
            }
            if ((checkSet & CHECK) != 0) {
                out.append(check);
            }
            if ((checkSet & UPDATE_FLAG) != 0) {
                out.append(update);
            }
            if ((checkSet & REMOVE_FLAG) != 0) {
                out.append(remove);
            }
        }

        private String maskText(Family family) {
            return family == Family.IPV4 ? AddressText.ipv4((int) maskLo) : AddressText.ipv6(maskHi, maskLo);
        }

        /** recent_mt_check: one action, modifiers only with --rcheck/--update, hit count below 65536, a plain name. */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            int actions = checkSet & (SET_FLAG | REMOVE_FLAG | CHECK | UPDATE_FLAG);
            if (Integer.bitCount(actions) != 1) {
                throw XtablesException.invalidArgument();
            }
            if ((checkSet & (SET_FLAG | REMOVE_FLAG)) != 0
                    && (seconds != 0 || hitCount != 0 || (checkSet & (TTL | REAP_FLAG)) != 0)) {
                throw XtablesException.invalidArgument();
            }
            if ((checkSet & REAP_FLAG) != 0 && seconds == 0) {
                throw XtablesException.invalidArgument();
            }
            if (hitCount >= MAX_NSTAMPS) {
                throw XtablesException.invalidArgument();
            }
            if (name.isEmpty() || name.length() > NAME_LEN - 1 || name.indexOf('.') >= 0 || name.indexOf('/') >= 0
                    || name.indexOf('\n') >= 0) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        Family family = ctx.family();
        return new OptionParser(name()) {
            private long seconds;
            private long hitCount;
            private int checkSet;
            private boolean invert;
            private String rname = "DEFAULT";
            private int side = SOURCE;
            private long maskHi = family == Family.IPV4 ? 0 : -1L;
            private long maskLo = family == Family.IPV4 ? 0xFFFFFFFFL : -1L;
            private OptionSpec action;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                if (option == SET || option == RCHECK || option == UPDATE || option == REMOVE) {
                    if (action != null && action != option) {
                        List<OptionSpec> order = List.of(SET, RCHECK, UPDATE, REMOVE);
                        boolean actionFirst = order.indexOf(action) < order.indexOf(option);
                        OptionSpec first = actionFirst ? action : option;
                        OptionSpec second = actionFirst ? option : action;
                        throw XtablesException.parameter("recent: option \"--" + first.name()
                                + "\" cannot be used together with \"--" + second.name() + "\".\n");
                    }
                    once(option);
                    action = option;
                    invert = inv;
                    checkSet |= option == SET ? SET_FLAG : option == RCHECK ? CHECK
                            : option == UPDATE ? UPDATE_FLAG : REMOVE_FLAG;
                    return;
                }
                plain(option, inv);
                if (option == SECONDS) {
                    seconds = uint(option, arg, 0, 0xFFFFFFFFL);
                } else if (option == HITCOUNT) {
                    hitCount = uint(option, arg, 0, 0xFFFFFFFFL);
                } else if (option == REAP) {
                    checkSet |= REAP_FLAG;
                } else if (option == RTTL) {
                    checkSet |= TTL;
                } else if (option == NAME) {
                    if (arg.length() > NAME_LEN - 1) {
                        throw XtablesException.parameter("recent: option \"--name\" is too long (max: "
                                + (NAME_LEN - 1) + ")\n");
                    }
                    rname = arg;
                } else if (option == RSOURCE) {
                    side = SOURCE;
                } else if (option == RDEST) {
                    side = DEST;
                } else if (option == MASK) {
                    if (family == Family.IPV4) {
                        long v = Addresses.parseIpv4(arg);
                        if (v < 0) {
                            throw XtablesException.parameter("getaddrinfo: Name or service not known\n");
                        }
                        maskLo = v;
                    } else {
                        long[] v = Addresses.parseIpv6(arg);
                        if (v == null) {
                            throw XtablesException.parameter("getaddrinfo: Name or service not known\n");
                        }
                        maskHi = v[0];
                        maskLo = v[1];
                    }
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (action == null) {
                    throw XtablesException.parameter(
                            "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'");
                }
                if (seen("reap") && !seen("seconds")) {
                    throw XtablesException.parameter("recent: option \"--reap\" also requires \"--seconds\".\n");
                }
                return new Data(seconds, hitCount, checkSet, invert, rname, side, maskHi, maskLo);
            }
        };
    }
}
