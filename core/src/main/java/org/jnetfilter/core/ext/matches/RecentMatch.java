package org.jnetfilter.core.ext.matches;

import java.util.HashMap;
import java.util.List;
import org.jnetfilter.core.ext.Addresses;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m recent} (libxt_recent revision 1, xt_recent): a named list of recently seen addresses. The mask is
 * kept as {hi, lo} as an IpNet keeps addresses (IPv4 in the low 32 bits of lo).
 *
 * <p>Packet semantics, xt_recent recent_mt. The lists live in {@link #TABLES}, one {@link Table} per
 * {@code --name}: the kernel keeps them per network namespace by name alone, the entries carrying their
 * family, and so does this registry (one JVM, one namespace); a rule's state holds its table, so the table
 * lives as long as a rule naming it, as the kernel's refcount keeps it. The table takes its mask from the rule
 * that created it. An entry is an address (masked, in the kernel's {@code nf_inet_addr} layout), its TTL and a
 * ring of jiffy stamps: {@code --set} adds the address or stamps it again and matches; {@code --rcheck} matches
 * when the address is there with enough stamps ({@code --hitcount}, default 1) no older than
 * {@code --seconds}; {@code --update} does the same and stamps it when the answer (after {@code !}) is true;
 * {@code --remove} drops it and matches; {@code --rttl} also requires the TTL seen at {@code --set};
 * {@code --reap} drops the least recently stamped entry when its newest stamp is older than the window.
 * Linux: ip_list_tot = 100 entries (the least recently stamped goes first), ip_pkt_list_tot = 20 stamps per
 * entry (the ring is rounded up to a power of two, or to the hit count). A rule needing more stamps than its
 * table keeps flushes the table and widens it, as recent_mt_check does; here that happens at the rule's first
 * packet. Jiffies come from {@link PacketContext#nowNanos()}. Only a new entry allocates.
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
            long maskHi, long maskLo, RuleState<Table> state) implements ExtensionData {
        public Data(long seconds, long hitCount, int checkSet, boolean invert, String name, int side, long maskHi,
                long maskLo) {
            this(seconds, hitCount, checkSet, invert, name, side, maskHi, maskLo, new RuleState<>());
        }

        @Override
        public boolean matches(PacketContext pkt) {
            boolean v4 = pkt.family() == Family.IPV4;
            Table t = state.get();
            if (t == null) {
                t = state.setIfAbsent(table(v4));
            }
            long hi = side == DEST ? pkt.destinationHi() : pkt.sourceHi();
            long lo = side == DEST ? pkt.destinationLo() : pkt.sourceLo();
            if (v4) {
                // nf_inet_addr: the IPv4 address in the first four bytes
                hi = lo << 32;
                lo = 0;
            }
            int ttl = pkt.networkU8(v4 ? 8 : 7);
            // the TTL as seen before forwarding: a forwarded packet (no local socket) was decremented already
            if (!pkt.outInterface().isEmpty() && !pkt.inInterface().isEmpty()) {
                ttl = (ttl + 1) & 0xFF;
            }
            return t.match(this, v4, hi, lo, ttl, RuleState.jiffies(pkt.nowNanos()));
        }

        /** recent_mt_check: find or create the table, widen its stamp rings if this rule needs more. */
        private Table table(boolean v4) {
            int mask;
            if (IP_PKT_LIST_TOT != 0 && hitCount < IP_PKT_LIST_TOT) {
                mask = roundUpPowerOfTwo(IP_PKT_LIST_TOT) - 1;
            } else if (hitCount != 0) {
                mask = roundUpPowerOfTwo((int) hitCount) - 1;
            } else {
                mask = 32 - 1;
            }
            long mHi = v4 ? maskLo << 32 : maskHi;
            long mLo = v4 ? 0 : maskLo;
            Table t = TABLES.get(name, n -> new Table(mHi, mLo, mask));
            t.widen(mask);
            return t;
        }

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

    // Linux: xt_recent module parameters ip_list_tot = 100, ip_pkt_list_tot = 20
    static final int IP_LIST_TOT = 100;
    static final int IP_PKT_LIST_TOT = 20;

    /** The recent lists of this namespace (the JVM), by {@code --name}; see the class comment. */
    public static final RuleState.Registry<String, Table> TABLES = new RuleState.Registry<>();

    static int roundUpPowerOfTwo(int n) {
        return n <= 1 ? 1 : Integer.highestOneBit(n - 1) << 1;
    }

    /** An entry's family and masked address. Mutable so that a table looks up with one probe under its lock. */
    private static final class Key {
        boolean v4;
        long hi;
        long lo;

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.v4 == v4 && k.hi == hi && k.lo == lo;
        }

        @Override
        public int hashCode() {
            return Long.hashCode((hi * 31 + lo) * 31 + (v4 ? 1 : 0));
        }
    }

    private static final class Entry {
        Key key;
        // the LRU list, least recently stamped first (recent_entry.lru_list)
        Entry older;
        Entry newer;
        int ttl;
        long[] stamps;
        int nstamps;
        int index;
    }

    /** recent_table: the entries in least-recently-stamped order, their stamp rings and the table's mask. */
    public static final class Table {
        private final long maskHi;
        private final long maskLo;
        private int nstampsMaxMask;
        private final HashMap<Key, Entry> entries = new HashMap<>();
        // sentinel of the LRU list: lru.newer is the least recently stamped entry
        private final Entry lru = new Entry();
        private final Key probe = new Key();

        Table(long maskHi, long maskLo, int nstampsMaxMask) {
            this.maskHi = maskHi;
            this.maskLo = maskLo;
            this.nstampsMaxMask = nstampsMaxMask;
            lru.older = lru;
            lru.newer = lru;
        }

        synchronized void widen(int mask) {
            if (mask > nstampsMaxMask) {
                flush();
                nstampsMaxMask = mask;
            }
        }

        private void unlink(Entry e) {
            e.older.newer = e.newer;
            e.newer.older = e.older;
        }

        private void linkNewest(Entry e) {
            e.older = lru.older;
            e.newer = lru;
            lru.older.newer = e;
            lru.older = e;
        }

        private void remove(Entry e) {
            unlink(e);
            entries.remove(e.key);
        }

        /** The entries in the list, as /proc/net/xt_recent/NAME counts them. */
        public synchronized int size() {
            return entries.size();
        }

        /** Empties the list, as writing "/" to /proc/net/xt_recent/NAME does. */
        public synchronized void flush() {
            entries.clear();
            lru.older = lru;
            lru.newer = lru;
        }

        synchronized boolean match(Data info, boolean v4, long hi, long lo, int ttl, long now) {
            boolean ret = info.invert;
            probe.v4 = v4;
            probe.hi = hi & maskHi;
            probe.lo = lo & maskLo;
            Entry e = entries.get(probe);
            if (e != null && (info.checkSet & TTL) != 0 && ttl != 0 && e.ttl != 0 && ttl != e.ttl) {
                e = null;
            }
            if (e == null) {
                if ((info.checkSet & SET_FLAG) == 0) {
                    return ret;
                }
                init(ttl, now);
                return !ret;
            }
            if ((info.checkSet & SET_FLAG) != 0) {
                ret = !ret;
            } else if ((info.checkSet & REMOVE_FLAG) != 0) {
                remove(e);
                return !ret;
            } else {
                long time = now - ((info.seconds * RuleState.HZ) & 0xFFFFFFFFL);
                int hits = 0;
                for (int i = 0; i < e.nstamps; i++) {
                    if (info.seconds != 0 && e.stamps[i] < time) {
                        continue;
                    }
                    if (info.hitCount == 0 || ++hits >= info.hitCount) {
                        ret = !ret;
                        break;
                    }
                }
                if ((info.checkSet & REAP_FLAG) != 0) {
                    reap(time, e);
                }
            }
            if ((info.checkSet & SET_FLAG) != 0 || ((info.checkSet & UPDATE_FLAG) != 0 && ret)) {
                e.index &= nstampsMaxMask;
                e.stamps[e.index++] = now;
                if (e.index > e.nstamps) {
                    e.nstamps = e.index;
                }
                e.ttl = ttl;
                // list_move_tail on the LRU list
                unlink(e);
                linkNewest(e);
            }
            return ret;
        }

        private void init(int ttl, long now) {
            if (entries.size() >= IP_LIST_TOT) {
                remove(lru.newer);
            }
            Entry e = new Entry();
            e.key = new Key();
            e.key.v4 = probe.v4;
            e.key.hi = probe.hi;
            e.key.lo = probe.lo;
            e.ttl = ttl;
            e.stamps = new long[nstampsMaxMask + 1];
            e.stamps[0] = now;
            e.nstamps = 1;
            e.index = 1;
            entries.put(e.key, e);
            linkNewest(e);
        }

        /** recent_entry_reap: the least recently stamped entry, unless it is the one at hand, if stale. */
        private void reap(long time, Entry working) {
            Entry e = lru.newer;
            if (e == working) {
                return;
            }
            if (e.stamps[(e.index - 1) & nstampsMaxMask] < time) {
                remove(e);
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
