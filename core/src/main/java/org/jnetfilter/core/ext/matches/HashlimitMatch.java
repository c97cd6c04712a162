package org.jnetfilter.core.ext.matches;

import java.util.HashMap;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m hashlimit} (libxt_hashlimit revision 3, xt_hashlimit): a token bucket per hash key. Packet rates are
 * kept as the period in 1/{@value #SCALE} s; byte rates ({@code 4kb/s}) as a cost per byte unit, as the
 * kernel's hashlimit_cfg3 keeps them.
 *
 * <p>Packet semantics, xt_hashlimit hashlimit_mt_common. The buckets live in a {@link Table} per
 * {@code --hashlimit-name} and family, shared by the rules naming it and held by their state, as the kernel's
 * {@code htable_find_get} shares them per network namespace and refcounts them ({@link #TABLES}); the rule
 * that created the table sets its configuration (mode, masks, rate, burst, expiry, size), as in Linux. A packet's
 * key is the masked source and destination addresses and the source and destination ports the mode asks for
 * (ports of TCP, UDP, UDP-Lite, SCTP, DCCP and ESP at offset 0, AH at 4, 0 for other protocols; a header cut
 * short drops the packet). A new key gets a full bucket; an old one gains {@code CREDITS_PER_JIFFY} (2^39) u64
 * credits per jiffy since its last packet, capped. Packet mode: cost {@code user2credits(avg)}, cap
 * {@code user2credits(avg * burst)}. Byte mode: a bucket of {@code CREDITS_PER_JIFFY_BYTES * HZ} credits, a
 * packet costs {@code (len / 16 + 1) * user2credits_byte(avg)} (at most the bucket), and each of the
 * {@code burst} refills tops the bucket up once when a packet does not fit. Under the limit matches for
 * {@code --hashlimit-upto}, over it for {@code --hashlimit-above}. An entry expires {@code htable-expire} ms
 * after its last packet and goes at the next garbage collection, every {@code htable-gcinterval} ms from the
 * table's creation; a table holding {@code htable-max} entries drops packets of new keys. Unset size means
 * 8192 buckets and max 8 * size, as on a machine with more than 1 GiB. Time is {@link PacketContext#nowNanos()}
 * in jiffies, the collection runs lazily when a packet finds it overdue (equivalent: expiry only grows with
 * packets). Only a new key and a collection allocate.
 *
 * <p>{@code --hashlimit-rate-match} (revision 3, XT_HASHLIMIT_RATE_MATCH) counts instead of spending credits: a
 * bucket counts packets (bytes in byte mode) in a window of {@code --hashlimit-rate-interval} seconds that opens
 * at the bucket's first packet; a packet at least that many jiffies after the window opened closes it, records
 * whether the closed window ran over the rate ({@code count * interval * HZ > elapsed jiffies * rate}) and opens
 * the next at itself. A packet is under the limit while the last closed window did not run over and the count,
 * itself included, is at most the burst: {@code burst + rate} packets ({@code rate = 10^6 / avg}, packets per
 * second), or {@code burst * rate} bytes ({@code rate} bytes per second; {@code rate} when no burst was given).
 * The window and the rate are set up by the rule that created the table, the decision is the rule's, as in
 * hashlimit_mt_common. An entry keeps its over-the-rate window only while it lives: once the collection has
 * freed it after its expiry (1 s after its last packet for a rate by the second), the source's next packet makes
 * a new entry with no closed window, so a source over the rate comes back under after a long enough pause (Linux
 * 6.18 in a namespace; {@code KernelExtensionPacketsDifferentialTest}). Linux's collection is deferrable work
 * every {@code htable-gcinterval} from the table's creation (the rule's insertion, here its first packet), run
 * late on a busy machine, so between an entry's expiry and the next collection whether the source is still
 * over depends on when that work ran; this model collects on time.
 */
public final class HashlimitMatch extends MatchExtension {
    static final OptionSpec UPTO = OptionSpec.withArg("hashlimit-upto");
    static final OptionSpec ABOVE = OptionSpec.withArg("hashlimit-above");
    static final OptionSpec HASHLIMIT = OptionSpec.withArg("hashlimit");
    static final OptionSpec SRCMASK = OptionSpec.withArg("hashlimit-srcmask");
    static final OptionSpec DSTMASK = OptionSpec.withArg("hashlimit-dstmask");
    static final OptionSpec BURST = OptionSpec.withArg("hashlimit-burst");
    static final OptionSpec SIZE = OptionSpec.withArg("hashlimit-htable-size");
    static final OptionSpec MAX = OptionSpec.withArg("hashlimit-htable-max");
    static final OptionSpec GCINTERVAL = OptionSpec.withArg("hashlimit-htable-gcinterval");
    static final OptionSpec EXPIRE = OptionSpec.withArg("hashlimit-htable-expire");
    static final OptionSpec MODE = OptionSpec.withArg("hashlimit-mode");
    static final OptionSpec NAME = OptionSpec.withArg("hashlimit-name");
    static final OptionSpec RATE_MATCH = OptionSpec.flag("hashlimit-rate-match");
    static final OptionSpec RATE_INTERVAL = OptionSpec.withArg("hashlimit-rate-interval");

    // Linux: xt_hashlimit.h
    public static final int HASH_DIP = 0x01;
    public static final int HASH_DPT = 0x02;
    public static final int HASH_SIP = 0x04;
    public static final int HASH_SPT = 0x08;
    public static final int INVERT = 0x10;
    public static final int BYTES = 0x20;
    public static final int RATE_MATCH_FLAG = 0x40;
    static final long SCALE = 1000000;
    static final int BYTE_SHIFT = 4;
    static final int DEFAULT_BURST = 5;
    static final long BURST_MAX = 1000000;
    static final int GC_INTERVAL = 1000;
    static final int BYTE_EXPIRE = 15;
    static final int BYTE_EXPIRE_BURST = 60;
    static final int NAME_LEN = 255;

    public HashlimitMatch() {
        super("hashlimit", List.of(UPTO, ABOVE, HASHLIMIT, SRCMASK, DSTMASK, BURST, SIZE, MAX, GCINTERVAL, EXPIRE,
                MODE, NAME, RATE_MATCH, RATE_INTERVAL));
    }

    public record Data(int mode, long avg, long burst, long size, long max, long gcInterval, long expire,
            int srcmask, int dstmask, long interval, String name, RuleState<Table> state) implements ExtensionData {
        public Data(int mode, long avg, long burst, long size, long max, long gcInterval, long expire, int srcmask,
                int dstmask, long interval, String name) {
            this(mode, avg, burst, size, max, gcInterval, expire, srcmask, dstmask, interval, name,
                    new RuleState<>());
        }

        @Override
        public boolean matches(PacketContext pkt) {
            Table t = state.get();
            if (t == null) {
                Family f = pkt.family();
                t = state.setIfAbsent(TABLES.get(new TableName(name, f), n -> new Table(this, f)));
            }
            return t.match(this, pkt, RuleState.jiffies(pkt.nowNanos()));
        }


        private int defaultMask(IpSpec ip) {
            return ip.family() == Family.IPV4 ? 32 : 128;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append((mode & INVERT) != 0 ? " --hashlimit-above" : " --hashlimit-upto");
            long quantum;
            if ((mode & BYTES) != 0) {
                quantum = appendBytes(out, avg, burst, "--hashlimit-");
            } else {
                quantum = appendRate(out, avg);
                out.append(" --hashlimit-burst ").append(burst);
            }
            if ((mode & (HASH_SIP | HASH_SPT | HASH_DIP | HASH_DPT)) != 0) {
                out.append(" --hashlimit-mode");
                appendMode(out, ',');
            }
            out.append(" --hashlimit-name ").append(name);
            appendTail(out, quantum, defaultMask(ip), "--hashlimit-");
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append((mode & INVERT) != 0 ? " limit: above" : " limit: up to");
            long quantum;
            if ((mode & BYTES) != 0) {
                quantum = appendBytes(out, avg, burst, "");
            } else {
                quantum = appendRate(out, interval != 0 ? avg * interval : avg);
                out.append(" burst ").append(burst);
            }
            if ((mode & (HASH_SIP | HASH_SPT | HASH_DIP | HASH_DPT)) != 0) {
                out.append(" mode");
                appendMode(out, '-');
            }
            appendTail(out, quantum, defaultMask(ip), "");
        }

        private void appendTail(StringBuilder out, long quantum, int dmask, String p) {
            if (size != 0) {
                out.append(' ').append(p).append("htable-size ").append(size);
            }
            if (max != 0) {
                out.append(' ').append(p).append("htable-max ").append(max);
            }
            if (gcInterval != GC_INTERVAL) {
                out.append(' ').append(p).append("htable-gcinterval ").append(gcInterval);
            }
            if (expire != quantum) {
                out.append(' ').append(p).append("htable-expire ").append(expire);
            }
            if (srcmask != dmask) {
                out.append(' ').append(p).append("srcmask ").append(srcmask);
            }
            if (dstmask != dmask) {
                out.append(' ').append(p).append("dstmask ").append(dstmask);
            }
            if ((mode & RATE_MATCH_FLAG) != 0) {
                out.append(' ').append(p).append("rate-match");
                if (interval != 1) {
                    out.append(' ').append(p).append("rate-interval ").append(interval);
                }
            }
        }

        private void appendMode(StringBuilder out, char sep) {
            out.append(' ');
            StringBuilder m = new StringBuilder();
            if ((mode & HASH_SIP) != 0) {
                m.append("srcip");
            }
            if ((mode & HASH_SPT) != 0) {
                m.append(m.isEmpty() ? "" : String.valueOf(sep)).append("srcport");
            }
            if ((mode & HASH_DIP) != 0) {
                m.append(m.isEmpty() ? "" : String.valueOf(sep)).append("dstip");
            }
            if ((mode & HASH_DPT) != 0) {
                m.append(m.isEmpty() ? "" : String.valueOf(sep)).append("dstport");
            }
            out.append(m);
        }

        /**
         * hashlimit_mt_check_common: zero gc interval or expire is EINVAL; a packet rate whose bucket overflows is
         * ERANGE, a byte rate whose cost rounds to no credit EINVAL; with rate-match a rate of 0 or above 2^32 - 1
         * is ERANGE and a zero interval EINVAL.
         */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (gcInterval == 0 || expire == 0) {
                throw XtablesException.invalidArgument();
            }
            if (srcmask > defaultMask(ip) || dstmask > defaultMask(ip)) {
                throw XtablesException.invalidArgument();
            }
            if ((mode & RATE_MATCH_FLAG) != 0) {
                // Linux: hashlimit_mt_check_common, revision 3: "invalid rate" ERANGE, "invalid interval" EINVAL
                if (avg == 0 || avg > 0xFFFFFFFFL) {
                    throw XtablesException.kernel("Numerical result out of range");
                }
                if (interval == 0) {
                    throw XtablesException.invalidArgument();
                }
            } else if ((mode & BYTES) != 0) {
                // Linux: "overflow, rate too high" EINVAL
                if (userToCreditsByte(avg) == 0) {
                    throw XtablesException.invalidArgument();
                }
            } else if (burst == 0 || Long.compareUnsigned(userToCredits(avg * burst), userToCredits(avg)) < 0) {
                throw XtablesException.kernel("Numerical result out of range");
            }
            if (name.length() > NAME_LEN - 1) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    /** The hash tables of this namespace (the JVM) by name and family; see the class comment. */
    public static final RuleState.Registry<TableName, Table> TABLES = new RuleState.Registry<>();

    public record TableName(String name, Family family) {
    }

    // Linux: CREDITS_PER_JIFFY_BYTES = POW2_BELOW32(0xFFFFFFFF / HZ) = 2^24 at HZ 250
    static final long CREDITS_PER_JIFFY = 1L << 39;
    static final long CREDITS_PER_JIFFY_BYTES = 1L << 24;
    static final long BYTE_BUCKET = CREDITS_PER_JIFFY_BYTES * RuleState.HZ;
    // Linux: htable_create sizes the table from RAM; 8192 buckets above 1 GiB, max 8 * size
    static final long DEFAULT_SIZE = 8192;

    /** user2rate_bytes: the bytes per second a byte-mode cost stands for. */
    static long rateBytes(long cost) {
        long c = cost & 0xFFFFFFFFL;
        long r = c != 0 ? 0xFFFFFFFFL / c : 0xFFFFFFFFL;
        return (r - 1) << BYTE_SHIFT;
    }

    /** user2credits_byte: {@code (user * HZ * CREDITS_PER_JIFFY_BYTES) >> 32}. */
    static long userToCreditsByte(long user) {
        return (user * RuleState.HZ * CREDITS_PER_JIFFY_BYTES) >>> 32;
    }

    /** dsthash_dst. Mutable so that a table can look up with one probe under its lock; stored keys are copies. */
    private static final class Key {
        long srcHi;
        long srcLo;
        long dstHi;
        long dstLo;
        int ports;

        Key copy() {
            Key k = new Key();
            k.srcHi = srcHi;
            k.srcLo = srcLo;
            k.dstHi = dstHi;
            k.dstLo = dstLo;
            k.ports = ports;
            return k;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.srcHi == srcHi && k.srcLo == srcLo && k.dstHi == dstHi
                    && k.dstLo == dstLo && k.ports == ports;
        }

        @Override
        public int hashCode() {
            long h = srcHi * 31 + srcLo;
            h = h * 31 + dstHi;
            h = h * 31 + dstLo;
            return Long.hashCode(h * 31 + ports);
        }
    }

    /**
     * dsthash_ent's rate state: u64 credits as rateinfo keeps them for revisions 2 and 3, or the window of
     * rate-match (the kernel keeps the two in a union; each here in fields of its own).
     */
    private static final class Bucket {
        long expires;
        long prev;
        long credit;
        long creditCap;
        long cost;
        /** Rate-match: the window in seconds, whether the last closed one ran over, the count of this one. */
        long interval;
        boolean prevWindow;
        long currentRate;
        long rate;
        long burst;
    }

    /** xt_hashlimit_htable: the configuration of the rule that created it and the buckets by key. */
    public static final class Table {
        private final Data cfg;
        private final Family family;
        private final long max;
        private final long expireJiffies;
        private final long gcJiffies;
        private final HashMap<Key, Bucket> buckets = new HashMap<>();
        private final Key probe = new Key();
        private long nextGc = Long.MIN_VALUE;

        Table(Data cfg, Family family) {
            this.cfg = cfg;
            this.family = family;
            long size = cfg.size != 0 ? cfg.size : DEFAULT_SIZE;
            this.max = cfg.max != 0 ? cfg.max : 8 * size;
            this.expireJiffies = RuleState.msecsToJiffies(cfg.expire);
            this.gcJiffies = Math.max(1, RuleState.msecsToJiffies(cfg.gcInterval));
        }

        /** The entries alive, as /proc/net/ipt_hashlimit/NAME lists them. */
        public synchronized int size() {
            return buckets.size();
        }

        synchronized boolean match(Data rule, PacketContext pkt, long now) {
            collect(now);
            if (!key(pkt)) {
                pkt.hotdrop(true);
                return false;
            }
            Bucket b = buckets.get(probe);
            if (b == null) {
                if (buckets.size() >= max) {
                    // Linux: "max count of %u reached", dsthash_alloc_init fails and the packet is dropped
                    pkt.hotdrop(true);
                    return false;
                }
                b = new Bucket();
                buckets.put(probe.copy(), b);
                b.expires = now + expireJiffies;
                init(b, now);
            } else {
                b.expires = now + expireJiffies;
                recalc(b, now);
            }
            if ((rule.mode & RATE_MATCH_FLAG) != 0) {
                b.currentRate += (rule.mode & BYTES) != 0 ? pkt.length() : 1;
                if (!b.prevWindow && Long.compareUnsigned(b.currentRate, b.burst) <= 0) {
                    return (rule.mode & INVERT) == 0;
                }
                return (rule.mode & INVERT) != 0;
            }
            long cost = (rule.mode & BYTES) != 0 ? byteCost(pkt.length(), b) : b.cost;
            if (Long.compareUnsigned(b.credit, cost) >= 0) {
                b.credit -= cost;
                return (rule.mode & INVERT) == 0;
            }
            return (rule.mode & INVERT) != 0;
        }

        /** htable_gc, run at the last collection time due by {@code now}. */
        private void collect(long now) {
            if (nextGc == Long.MIN_VALUE) {
                nextGc = now + gcJiffies;
                return;
            }
            if (now < nextGc) {
                return;
            }
            long at = nextGc + (now - nextGc) / gcJiffies * gcJiffies;
            for (var it = buckets.values().iterator(); it.hasNext(); ) {
                if (at - it.next().expires >= 0) {
                    it.remove();
                }
            }
            nextGc = at + gcJiffies;
        }

        /** rateinfo_init. */
        private void init(Bucket b, long now) {
            b.prev = now;
            if ((cfg.mode & RATE_MATCH_FLAG) != 0) {
                b.prevWindow = false;
                b.currentRate = 0;
                if ((cfg.mode & BYTES) != 0) {
                    b.rate = rateBytes(cfg.avg);
                    b.burst = cfg.burst != 0 ? cfg.burst * b.rate : b.rate;
                } else {
                    // Linux: user2rate, XT_HASHLIMIT_SCALE_v2 / avg
                    b.rate = Long.divideUnsigned(SCALE, cfg.avg);
                    b.burst = cfg.burst + b.rate;
                }
                b.interval = cfg.interval;
            } else if ((cfg.mode & BYTES) != 0) {
                b.credit = BYTE_BUCKET;
                b.cost = userToCreditsByte(cfg.avg);
                b.creditCap = cfg.burst;
            } else {
                b.credit = userToCredits(cfg.avg * cfg.burst);
                b.cost = userToCredits(cfg.avg);
                b.creditCap = b.credit;
            }
        }

        /** rateinfo_recalc. */
        private void recalc(Bucket b, long now) {
            long delta = now - b.prev;
            if (delta == 0) {
                return;
            }
            if ((cfg.mode & RATE_MATCH_FLAG) != 0) {
                long window = b.interval * RuleState.HZ;
                if (Long.compareUnsigned(delta, window) < 0) {
                    return;
                }
                b.prev = now;
                b.prevWindow = Long.compareUnsigned(b.currentRate * window, delta * b.rate) > 0;
                b.currentRate = 0;
                return;
            }
            b.prev = now;
            long cap;
            if ((cfg.mode & BYTES) != 0) {
                long before = b.credit;
                b.credit += CREDITS_PER_JIFFY_BYTES * delta;
                cap = BYTE_BUCKET;
                if (Long.compareUnsigned(before, b.credit) >= 0) {
                    b.credit = cap;
                    return;
                }
            } else {
                b.credit += delta * CREDITS_PER_JIFFY;
                cap = b.creditCap;
            }
            if (Long.compareUnsigned(b.credit, cap) > 0) {
                b.credit = cap;
            }
        }

        /** hashlimit_byte_cost: per 16-byte chunk; a packet that does not fit spends one burst refill. */
        private static long byteCost(int len, Bucket b) {
            long tmp = ((len >>> BYTE_SHIFT) + 1L) * b.cost;
            if (tmp > BYTE_BUCKET) {
                tmp = BYTE_BUCKET;
            }
            if (Long.compareUnsigned(b.credit, tmp) < 0 && b.creditCap != 0) {
                b.creditCap--;
                b.credit = BYTE_BUCKET;
            }
            return tmp & 0xFFFFFFFFL;
        }

        /** hashlimit_init_dst: the key by the table's mode and masks into the probe; false when the ports cannot be read. */
        private boolean key(PacketContext pkt) {
            int m = cfg.mode;
            long sh = 0;
            long sl = 0;
            long dh = 0;
            long dl = 0;
            if (family == Family.IPV4) {
                if ((m & HASH_DIP) != 0) {
                    dl = pkt.destinationLo() & prefix32(cfg.dstmask);
                }
                if ((m & HASH_SIP) != 0) {
                    sl = pkt.sourceLo() & prefix32(cfg.srcmask);
                }
            } else {
                if ((m & HASH_DIP) != 0) {
                    dh = pkt.destinationHi() & prefixHi(cfg.dstmask);
                    dl = pkt.destinationLo() & prefixLo(cfg.dstmask);
                }
                if ((m & HASH_SIP) != 0) {
                    sh = pkt.sourceHi() & prefixHi(cfg.srcmask);
                    sl = pkt.sourceLo() & prefixLo(cfg.srcmask);
                }
            }
            int ports = 0;
            if ((m & (HASH_DPT | HASH_SPT)) != 0) {
                int proto = pkt.protocol();
                if (proto == PacketContext.NO_PROTOCOL) {
                    return false;
                }
                int poff = portsOffset(proto);
                if (poff >= 0) {
                    if (!pkt.transportAvailable(poff + 4)) {
                        return false;
                    }
                    int sport = pkt.transportU16(poff);
                    int dport = pkt.transportU16(poff + 2);
                    ports = ((m & HASH_SPT) != 0 ? sport << 16 : 0) | ((m & HASH_DPT) != 0 ? dport : 0);
                }
            }
            probe.srcHi = sh;
            probe.srcLo = sl;
            probe.dstHi = dh;
            probe.dstLo = dl;
            probe.ports = ports;
            return true;
        }
    }

    /** proto_ports_offset: where the two port fields start in the transport header, -1 for none. */
    static int portsOffset(int protocol) {
        return switch (protocol) {
            case 6, 17, 33, 50, 132, 136 -> 0; // TCP, UDP, DCCP, ESP, SCTP, UDP-Lite
            case 51 -> 4; // AH
            default -> -1;
        };
    }

    /** maskl: the first {@code len} bits of an IPv4 address (in the low 32 bits), none for 0. */
    static long prefix32(int len) {
        return len == 0 ? 0 : (0xFFFFFFFFL << (32 - len)) & 0xFFFFFFFFL;
    }

    static long prefixHi(int len) {
        return len >= 64 ? -1L : len == 0 ? 0 : -1L << (64 - len);
    }

    static long prefixLo(int len) {
        return len <= 64 ? 0 : len == 128 ? -1L : -1L << (128 - len);
    }

    // Linux, this kernel: HZ = 250, CREDITS_PER_JIFFY = POW2_BELOW64(2^64 / (HZ*60*60*24)) = 2^39
    private static final long CREDITS_PER_SCALE = 250L * (1L << 39) / SCALE;

    /** user2credits for revision 2 and later, in wrapping u64 arithmetic as the kernel does it. */
    static long userToCredits(long user) {
        return user * CREDITS_PER_SCALE;
    }

    private static final String[] RATE_NAMES = {"day", "hour", "min", "sec"};
    private static final long[] RATE_MULTS = {SCALE * 86400, SCALE * 3600, SCALE * 60, SCALE};

    /** print_rate; returns the unit in ms, the default htable-expire. */
    static long appendRate(StringBuilder out, long period) {
        if (period == 0) {
            out.append(" inf");
            return 0;
        }
        int i = 1;
        for (; i < RATE_MULTS.length; i++) {
            if (Long.compareUnsigned(period, RATE_MULTS[i]) > 0
                    || Long.compareUnsigned(Long.divideUnsigned(RATE_MULTS[i], period),
                            Long.remainderUnsigned(RATE_MULTS[i], period)) < 0) {
                break;
            }
        }
        out.append(' ').append(Long.toUnsignedString(Long.divideUnsigned(RATE_MULTS[i - 1], period)))
                .append('/').append(RATE_NAMES[i - 1]);
        return RATE_MULTS[i - 1] / SCALE * 1000;
    }

    private static final String[] UNIT_NAMES = {"m", "k", ""};
    private static final long[] UNIT_THRESH = {1024 * 1024, 1024, 1};

    static long costToBytes(long cost) {
        long r = cost != 0 ? 0xFFFFFFFFL / cost : 0xFFFFFFFFL;
        return (r - 1) << BYTE_SHIFT;
    }

    static long bytesToCost(long bytes) {
        long r = (bytes >>> BYTE_SHIFT) & 0xFFFFFFFFL;
        return 0xFFFFFFFFL / (r + 1);
    }

    static long appendBytes(StringBuilder out, long avg, long burst, String prefix) {
        long r = costToBytes(avg);
        int i = 0;
        for (; i < UNIT_THRESH.length - 1; i++) {
            if (r >= UNIT_THRESH[i] && bytesToCost(r & ~(UNIT_THRESH[i] - 1)) == avg) {
                break;
            }
        }
        out.append(' ').append(r / UNIT_THRESH[i]).append(UNIT_NAMES[i]).append("b/s");
        if (burst == 0) {
            return BYTE_EXPIRE * 1000L;
        }
        r *= burst;
        out.append(' ').append(prefix);
        i = 0;
        for (; i < UNIT_THRESH.length - 1; i++) {
            if (r >= UNIT_THRESH[i]) {
                break;
            }
        }
        out.append("burst ").append(r / UNIT_THRESH[i]).append(UNIT_NAMES[i]).append('b');
        return BYTE_EXPIRE_BURST * 1000L;
    }

    /** xtables_param_act(XTF_BAD_VALUE, ...). */
    static XtablesException badValue(String option, String arg) {
        return XtablesException.parameter("hashlimit: Bad value for \"--" + option + "\" option: \"" + arg + "\"");
    }

    static long factor(char c) {
        return c == 'm' ? 1024 * 1024 : c == 'k' ? 1024 : 1;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        int dmask = ctx.family() == Family.IPV4 ? 32 : 128;
        return new OptionParser(name()) {
            private int mode;
            private long avg;
            private long burst = DEFAULT_BURST;
            private long size;
            private long max;
            private long gcInterval = GC_INTERVAL;
            private long expire;
            private int srcmask = dmask;
            private int dstmask = dmask;
            private long interval;
            private String hname;
            private long mult = 1;
            private boolean rateGiven;
            private boolean burstGiven;

            private void rate(OptionSpec option, String arg) {
                rateGiven = true;
                int b = arg.indexOf("b/s");
                if (b > 0) {
                    long r = LimitMatch.atol(arg);
                    if (r != 0) {
                        long tmp = r * factor(arg.charAt(b - 1));
                        long cost = bytesToCost(tmp);
                        if (cost == 0) {
                            throw XtablesException.parameter("Rate too high \"" + arg + "\"");
                        }
                        mult = BYTE_EXPIRE;
                        avg = cost;
                        mode |= BYTES;
                        return;
                    }
                }
                int slash = arg.indexOf('/');
                mult = 1;
                if (slash >= 0) {
                    mult = LimitMatch.unitSeconds(arg.substring(slash + 1));
                }
                long r = LimitMatch.atol(arg);
                if (mult < 0 || r <= 0) {
                    throw badValue(option.name(), arg);
                }
                long tmp = SCALE * mult / r;
                if (tmp == 0) {
                    throw XtablesException.parameter("Rate too fast \"" + arg + "\"");
                }
                avg = tmp;
            }

            private int plen(OptionSpec option, String arg) {
                long v = Numbers.parseUnsigned(arg, 0, 128);
                if (v < 0) {
                    throw XtablesException.parameter("hashlimit: bad value for option \"--" + option.name()
                            + "\", or out of range (0-128).\n");
                }
                return (int) v;
            }

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                if (option == UPTO || option == HASHLIMIT || option == ABOVE) {
                    if (rateGiven) {
                        OptionSpec key = option == HASHLIMIT ? UPTO : option;
                        if (!seen(key.name())) {
                            throw XtablesException.parameter("hashlimit: option \"--hashlimit-upto\" cannot be used "
                                    + "together with \"--hashlimit-above\".\n");
                        }
                    }
                    once(option == HASHLIMIT ? UPTO : option);
                    boolean above = option == ABOVE;
                    if (above != invert) {
                        mode |= INVERT;
                    }
                    rate(option, arg);
                    return;
                }
                plain(option, invert);
                if (option == SRCMASK) {
                    srcmask = plen(option, arg);
                } else if (option == DSTMASK) {
                    dstmask = plen(option, arg);
                } else if (option == BURST) {
                    burstGiven = true;
                    long v = -1;
                    int end = 0;
                    while (end < arg.length() && (Character.isLetterOrDigit(arg.charAt(end)) && arg.charAt(end) != 'k'
                            && arg.charAt(end) != 'm' && arg.charAt(end) != 'b')) {
                        end++;
                    }
                    String num = arg.substring(0, end);
                    String rest = arg.substring(end);
                    v = Numbers.parseUnsigned(num, 1, -1L);
                    if (v < 0 || (rest.isEmpty() && v > BURST_MAX)) {
                        throw XtablesException.parameter("bad value for option \"--hashlimit-burst\", or out of range (1-"
                                + BURST_MAX + ").");
                    }
                    burst = v * (rest.isEmpty() ? 1 : factor(rest.charAt(0)));
                } else if (option == SIZE) {
                    size = uint(option, arg, 0, 0xFFFFFFFFL);
                } else if (option == MAX) {
                    max = uint(option, arg, 0, 0xFFFFFFFFL);
                } else if (option == GCINTERVAL) {
                    gcInterval = uint(option, arg, 0, 0xFFFFFFFFL);
                } else if (option == EXPIRE) {
                    expire = uint(option, arg, 0, 0xFFFFFFFFL);
                } else if (option == MODE) {
                    for (String tok : arg.split("[,|]")) {
                        switch (tok) {
                            case "" -> { }
                            case "dstip" -> mode |= HASH_DIP;
                            case "srcip" -> mode |= HASH_SIP;
                            case "srcport" -> mode |= HASH_SPT;
                            case "dstport" -> mode |= HASH_DPT;
                            default -> throw badValue("hashlimit-mode", arg);
                        }
                    }
                } else if (option == NAME) {
                    if (arg.isEmpty()) {
                        throw XtablesException.parameter("hashlimit: option \"--hashlimit-name\" requires an argument\n");
                    }
                    if (arg.length() > NAME_LEN - 1) {
                        throw XtablesException.parameter("hashlimit: option \"--hashlimit-name\" is too long (max: "
                                + (NAME_LEN - 1) + ")\n");
                    }
                    hname = arg;
                } else if (option == RATE_MATCH) {
                    mode |= RATE_MATCH_FLAG;
                } else if (option == RATE_INTERVAL) {
                    long r = LimitMatch.atol(arg);
                    if (r <= 0 || r > Integer.MAX_VALUE) {
                        throw badValue("hashlimit-rate-interval", arg);
                    }
                    interval = r;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (!rateGiven) {
                    throw XtablesException.parameter("You have to specify --hashlimit");
                }
                if (!seen(EXPIRE.name())) {
                    expire = mult * 1000;
                }
                if ((mode & BYTES) != 0) {
                    long b = 0;
                    if (burstGiven) {
                        long unit = costToBytes(avg);
                        if (burst < unit) {
                            throw XtablesException.parameter("burst cannot be smaller than " + unit + "b");
                        }
                        b = (burst / unit) & 0xFFFFFFFFL;
                        if (burst % unit != 0) {
                            b++;
                        }
                        if (!seen(EXPIRE.name())) {
                            expire = BYTE_EXPIRE_BURST * 1000L;
                        }
                    }
                    burst = b;
                } else if (burst > BURST_MAX) {
                    throw XtablesException.parameter("bad value for option \"--hashlimit-burst\", or out of range (1-"
                            + BURST_MAX + ").");
                }
                if ((mode & RATE_MATCH_FLAG) != 0) {
                    if ((mode & BYTES) == 0) {
                        avg /= mult;
                    }
                    if (interval == 0) {
                        interval = (mode & BYTES) != 0 ? 1 : mult;
                    }
                }
                mandatory("hashlimit-name");
                return new Data(mode, avg, burst, size, max, gcInterval, expire, srcmask, dstmask, interval, hname);
            }
        };
    }
}
