package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.Addresses;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.conntrack.Tuple;
import org.jnetfilter.core.nat.Jhash;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Protocols;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j HMARK} (libxt_HMARK, xt_HMARK.c): sets the packet mark to
 * {@code hash(masked tuple, rnd) % mod + offset}, the tuple taken from the packet or its conntrack entry.
 *
 * <p>Packet semantics, hmark_tg_v4 / hmark_tg_v6 (always XT_CONTINUE):
 * <ul>
 * <li>The tuple: source and destination address, each ANDed with its prefix mask (no {@code --hmark-src-prefix}:
 * mask 0, the address counts as 0); an IPv6 address folds to one word by XOR of its four masked words. The
 * protocol. The ports as one word: the four bytes at the protocol's port offset (TCP, UDP, UDP-Lite, DCCP,
 * SCTP: the ports; ESP: the SPI; AH: the SPI four bytes in), ANDed with the port or SPI mask and ORed with
 * the {@code --hmark-sport}/{@code --hmark-dport}/{@code --hmark-spi} value, then split into two 16-bit halves
 * and ordered, larger half high. ICMP, ICMPv6 and fragments (any IPv4 fragment; an IPv6 packet with a fragment
 * header) have ports 0, as have packets too short to hold them.</li>
 * <li>An ICMP error (IPv4: types 3, 4, 5, 11, 12; IPv6: types 1-127) is hashed by the header it quotes;
 * when that header is cut short the mark is left alone. IPv6 walks extension headers as ipv6_find_hdr with
 * IP6_FH_F_AUTH (AH ends the walk, its SPI is hashed); a quoted IPv6 header must have version 6.</li>
 * <li>{@code --hmark-tuple ct}: the original direction's source and the reply direction's source (the real
 * peer after DNAT), the conntrack protocol, and (but for ICMP) the two directions' source ports; without a
 * conntrack entry the mark is left alone.</li>
 * <li>The hash: {@code jhash_3words(min(src, dst), max(src, dst), ports, rnd)} with the addresses as
 * numbers (network order read as big-endian, endian-independent as the kernel intends), XOR
 * {@code proto & proto-mask}; the mark is {@code reciprocal_scale(hash, mod) + offset} modulo 2^32.</li>
 * </ul>
 * Packet thread; allocates nothing.
 */
public final class HmarkTarget extends TargetExtension {
    static final OptionSpec TUPLE = OptionSpec.withArg("hmark-tuple");
    static final OptionSpec SRC_PREFIX = OptionSpec.withArg("hmark-src-prefix");
    static final OptionSpec DST_PREFIX = OptionSpec.withArg("hmark-dst-prefix");
    static final OptionSpec SPORT_MASK = OptionSpec.withArg("hmark-sport-mask");
    static final OptionSpec DPORT_MASK = OptionSpec.withArg("hmark-dport-mask");
    static final OptionSpec SPI_MASK = OptionSpec.withArg("hmark-spi-mask");
    static final OptionSpec SPORT = OptionSpec.withArg("hmark-sport");
    static final OptionSpec DPORT = OptionSpec.withArg("hmark-dport");
    static final OptionSpec SPI = OptionSpec.withArg("hmark-spi");
    static final OptionSpec PROTO_MASK = OptionSpec.withArg("hmark-proto-mask");
    static final OptionSpec RND = OptionSpec.withArg("hmark-rnd");
    static final OptionSpec MOD = OptionSpec.withArg("hmark-mod");
    static final OptionSpec OFFSET = OptionSpec.withArg("hmark-offset");

    // Linux: XT_HMARK_FLAG(XT_HMARK_*) bits (xt_HMARK.h)
    public static final int F_SADDR_MASK = 1;
    public static final int F_DADDR_MASK = 1 << 1;
    public static final int F_SPI = 1 << 2;
    public static final int F_SPI_MASK = 1 << 3;
    public static final int F_SPORT = 1 << 4;
    public static final int F_DPORT = 1 << 5;
    public static final int F_SPORT_MASK = 1 << 6;
    public static final int F_DPORT_MASK = 1 << 7;
    public static final int F_PROTO_MASK = 1 << 8;
    public static final int F_RND = 1 << 9;
    public static final int F_MODULUS = 1 << 10;
    public static final int F_OFFSET = 1 << 11;
    public static final int F_CT = 1 << 12;

    /** The tuple element names of --hmark-tuple, each a case-insensitive prefix. */
    static final String[] TUPLE_NAMES = {"ct", "src", "dst", "sport", "dport", "proto", "spi"};
    static final int[] TUPLE_FLAGS = {F_CT, F_SADDR_MASK, F_DADDR_MASK, F_SPORT_MASK, F_DPORT_MASK, F_PROTO_MASK,
            F_SPI_MASK};
    /** Options that select what is hashed (libxt_HMARK's packet-mask option set). */
    static final int PACKET_FLAGS = F_SADDR_MASK | F_DADDR_MASK | F_SPI_MASK | F_SPORT_MASK | F_DPORT_MASK
            | F_PROTO_MASK | F_SPORT | F_DPORT | F_SPI;

    public HmarkTarget() {
        super("HMARK", List.of(TUPLE, SRC_PREFIX, DST_PREFIX, SPORT_MASK, DPORT_MASK, SPI_MASK, SPORT, DPORT, SPI,
                PROTO_MASK, RND, MOD, OFFSET));
    }

    /** @param srcPrefix the source mask as a prefix length (meaningful with F_SADDR_MASK) */
    public record Data(int flags, int srcPrefix, int dstPrefix, int sportMask, int dportMask, long spiMask,
                       int sport, int dport, long spi, int protoMask, long rnd, long modulus, long offset)
            implements ExtensionData {
        @Override
        public int apply(PacketContext pkt) {
            long hash = has(F_CT) ? ctHash(pkt) : pkt.family() == Family.IPV4 ? packetHash4(pkt) : packetHash6(pkt);
            if (hash >= 0) {
                pkt.mark(Jhash.reciprocalScale((int) hash, modulus) + offset);
            }
            return Verdict.CONTINUE;
        }

        /** hmark_ct_set_htuple; -1 without a conntrack entry. */
        private long ctHash(PacketContext pkt) {
            Connection ct = pkt.conntrack();
            if (ct == null) {
                return -1;
            }
            if (ct.isTemplate()) {
                // Linux: a CT template's tuples are all zero: no family, protocol 0, ports 0
                return hash(0, 0, 0, 0);
            }
            Tuple o = ct.original();
            Tuple r = ct.reply();
            int src = foldAddress(o.family(), o.sourceHi(), o.sourceLo(), srcPrefix, has(F_SADDR_MASK));
            int dst = foldAddress(o.family(), r.sourceHi(), r.sourceLo(), dstPrefix, has(F_DADDR_MASK));
            int proto = ct.protocol();
            int ports = proto == Protocols.ICMP ? 0 : orderedPorts(o.sourceId() << 16 | r.sourceId());
            return hash(src, dst, ports, proto);
        }

        /** hmark_pkt_set_htuple_ipv4; -1 when an ICMP error's quoted header is cut short. */
        private long packetHash4(PacketContext pkt) {
            int ip = 0;
            int ihl = (pkt.networkU8(0) & 0x0F) << 2;
            if (pkt.networkU8(9) == Protocols.ICMP && ihl + 8 <= pkt.length() && isIcmpError(pkt.networkU8(ihl))) {
                // Linux: get_inner_hdr: hash the header the error quotes
                ip = ihl + 8;
                if (ip + 20 > pkt.length()) {
                    return -1;
                }
            }
            int src = foldAddress(Family.IPV4, 0, u32(pkt, ip + 12), srcPrefix, has(F_SADDR_MASK));
            int dst = foldAddress(Family.IPV4, 0, u32(pkt, ip + 16), dstPrefix, has(F_DADDR_MASK));
            int proto = pkt.networkU8(ip + 9);
            int ports = 0;
            // Linux: ICMP has no ports; no fragment (first or not) is hashed by its ports (IP_MF | IP_OFFSET)
            if (proto != Protocols.ICMP && (pkt.networkU16(ip + 6) & 0x3FFF) == 0) {
                ports = ports(pkt, ip + ((pkt.networkU8(ip) & 0x0F) << 2), proto);
            }
            return hash(src, dst, ports, proto);
        }

        /** hmark_pkt_set_htuple_ipv6; -1 when a quoted header cannot be walked. */
        private long packetHash6(PacketContext pkt) {
            long found = findHeader(pkt, 0);
            if (found < 0) {
                // Linux: nexthdr < 0 returns 0 there: the mark is the hash of an all-zero tuple
                return hash(0, 0, 0, 0);
            }
            int ip = 0;
            if (nextHeader(found) == Protocols.ICMPV6 && !fragment(found)) {
                int at = headerOffset(found);
                if (at + 8 <= pkt.length()) {
                    int type = pkt.networkU8(at);
                    if (type != 0 && type < 128) {
                        ip = at + 8;
                        if (ip + 40 > pkt.length()) {
                            return -1;
                        }
                        found = findHeader(pkt, ip);
                        if (found < 0) {
                            return -1;
                        }
                    }
                }
            }
            int src = fold6(pkt, ip + 8, srcPrefix, has(F_SADDR_MASK));
            int dst = fold6(pkt, ip + 24, dstPrefix, has(F_DADDR_MASK));
            int proto = nextHeader(found);
            int ports = 0;
            if (proto != Protocols.ICMPV6 && !fragment(found)) {
                ports = ports(pkt, headerOffset(found), proto);
            }
            return hash(src, dst, ports, proto);
        }

        /** hmark_hash before the scaling: the tuple's hash, as an unsigned value. */
        private long hash(int src, int dst, int ports, int proto) {
            int lo = Integer.compareUnsigned(src, dst) <= 0 ? src : dst;
            int hi = lo == src ? dst : src;
            int h = Jhash.jhash3(lo, hi, ports, (int) rnd) ^ (proto & protoMask);
            return h & 0xFFFFFFFFL;
        }

        /** hmark_set_tuple_ports: the four bytes at the protocol's port offset, masked, set and ordered; or 0. */
        private int ports(PacketContext pkt, int transport, int proto) {
            int at = switch (proto) {
                case Protocols.TCP, Protocols.UDP, Protocols.UDPLITE, Protocols.DCCP, Protocols.SCTP, Protocols.ESP ->
                        transport;
                case Protocols.AH -> transport + 4;
                default -> -1;
            };
            if (at < 0 || at + 4 > pkt.length()) {
                return 0;
            }
            return orderedPorts(u32(pkt, at));
        }

        /** hmark_swap_ports: mask and set the two halves, then put the larger one high. */
        private int orderedPorts(int raw) {
            int mask = (int) spiMask | sportMask << 16 | dportMask;
            int set = (int) spi | sport << 16 | dport;
            int v = raw & mask | set;
            int src = v >>> 16;
            int dst = v & 0xFFFF;
            return dst > src ? dst << 16 | src : src << 16 | dst;
        }

        /** An address ANDed with its prefix mask, IPv6 folded by XOR of its four words. */
        private static int foldAddress(Family family, long hi, long lo, int prefix, boolean masked) {
            if (!masked) {
                return 0;
            }
            if (family == Family.IPV4) {
                return (int) lo & wordMask(prefix);
            }
            return (int) (hi >>> 32) & wordMask(prefix) ^ (int) hi & wordMask(prefix - 32)
                    ^ (int) (lo >>> 32) & wordMask(prefix - 64) ^ (int) lo & wordMask(prefix - 96);
        }

        private static int fold6(PacketContext pkt, int at, int prefix, boolean masked) {
            if (!masked) {
                return 0;
            }
            return u32(pkt, at) & wordMask(prefix) ^ u32(pkt, at + 4) & wordMask(prefix - 32)
                    ^ u32(pkt, at + 8) & wordMask(prefix - 64) ^ u32(pkt, at + 12) & wordMask(prefix - 96);
        }

        /** The mask of one 32-bit word that {@code bits} more prefix bits cover. */
        private static int wordMask(int bits) {
            return bits <= 0 ? 0 : bits >= 32 ? -1 : -1 << (32 - bits);
        }

        private boolean has(int f) {
            return (flags & f) != 0;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (has(F_SADDR_MASK)) {
                out.append(" --hmark-src-prefix ").append(srcPrefix);
            }
            if (has(F_DADDR_MASK)) {
                out.append(" --hmark-dst-prefix ").append(dstPrefix);
            }
            save(out, F_SPORT_MASK, "sport-mask", "0x%04x", sportMask);
            save(out, F_DPORT_MASK, "dport-mask", "0x%04x", dportMask);
            save(out, F_SPI_MASK, "spi-mask", "0x%08x", spiMask);
            save(out, F_SPORT, "sport", "0x%04x", sport);
            save(out, F_DPORT, "dport", "0x%04x", dport);
            save(out, F_SPI, "spi", "0x%08x", spi);
            save(out, F_PROTO_MASK, "proto-mask", "0x%02x", protoMask);
            save(out, F_RND, "rnd", "0x%08x", rnd);
            save(out, F_MODULUS, "mod", "%d", modulus);
            save(out, F_OFFSET, "offset", "%d", offset);
            if (has(F_CT)) {
                out.append(" --hmark-tuple ct");
            }
        }

        private void save(StringBuilder out, int f, String name, String format, long v) {
            if (has(f)) {
                out.append(" --hmark-").append(name).append(' ').append(String.format(format, v));
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" HMARK ");
            if (has(F_MODULUS)) {
                out.append("mod ").append(modulus).append(' ');
            }
            if (has(F_OFFSET)) {
                out.append("+ 0x").append(Long.toHexString(offset)).append(' ');
            }
            if (has(F_CT)) {
                out.append("ct, ");
            }
            if (has(F_SADDR_MASK)) {
                out.append("src-prefix ").append(listPrefix(ip, srcPrefix)).append(' ');
            }
            if (has(F_DADDR_MASK)) {
                out.append("dst-prefix ").append(listPrefix(ip, dstPrefix)).append(' ');
            }
            list(out, F_SPORT_MASK, "sport-mask", sportMask);
            list(out, F_DPORT_MASK, "dport-mask", dportMask);
            list(out, F_SPI_MASK, "spi-mask", spiMask);
            list(out, F_SPORT, "sport", sport);
            list(out, F_DPORT, "dport", dport);
            list(out, F_SPI, "spi", spi);
            list(out, F_PROTO_MASK, "proto-mask", protoMask);
            list(out, F_RND, "rnd", rnd);
        }

        /** IPv6 prints the mask text without its slash: nothing for a full mask. */
        private static String listPrefix(IpSpec ip, int prefix) {
            return ip.family() == Family.IPV6 && prefix == 128 ? "" : Integer.toString(prefix);
        }

        private void list(StringBuilder out, int f, String name, long v) {
            if (has(f)) {
                out.append(name).append(" 0x").append(Long.toHexString(v)).append(' ');
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            // Linux: hmark_tg_check refuses an SPI value together with port values (they share the field)
            if (has(F_SPI) && (flags & (F_SPORT | F_DPORT)) != 0) {
                throw XtablesException.invalidArgument();
            }
            if (has(F_SPI_MASK) && (flags & (F_SPORT_MASK | F_DPORT_MASK)) != 0) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    // Linux: ICMP_DEST_UNREACH, ICMP_SOURCE_QUENCH, ICMP_REDIRECT, ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB
    static boolean isIcmpError(int type) {
        return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    }

    static int u32(PacketContext pkt, int at) {
        return pkt.networkU16(at) << 16 | pkt.networkU16(at + 2);
    }

    // ---- ipv6_find_hdr(skb, &offset, -1, &fragoff, &flags) with IP6_FH_F_AUTH, its answer packed in a long ----

    private static final long FRAGMENT_SEEN = 1L << 40;

    static int nextHeader(long found) {
        return (int) (found & 0xFF);
    }

    static int headerOffset(long found) {
        return (int) (found >>> 8) & 0xFFFFFFFF;
    }

    static boolean fragment(long found) {
        return (found & FRAGMENT_SEEN) != 0;
    }

    /**
     * The upper-layer header of the IPv6 header at {@code ip} (0: the packet's own): skips hop-by-hop, routing,
     * destination options and first-fragment headers, stops at AH, at No Next Header, at a non-first fragment's
     * upper-layer protocol. Answers next header, its offset and whether a fragment header was seen; -1 when a
     * header lies past the end, a non-first fragment carries an extension header, or a quoted header is not
     * version 6 (the kernel's -EBADMSG and -ENOENT).
     */
    static long findHeader(PacketContext pkt, int ip) {
        int len = pkt.length();
        if (ip != 0 && (ip + 40 > len || pkt.networkU8(ip) >>> 4 != 6)) {
            return -1;
        }
        int next = pkt.networkU8(ip + 6);
        int at = ip + 40;
        long frag = 0;
        while (isExtension(next) && next != 59) {
            if (at + 2 > len) {
                return -1;
            }
            int following = pkt.networkU8(at);
            int headerLength;
            if (next == 44) {
                frag = FRAGMENT_SEEN;
                if (at + 4 > len) {
                    return -1;
                }
                if ((pkt.networkU16(at + 2) & ~7) != 0) {
                    if (isExtension(following) && following != 59) {
                        return -1;
                    }
                    return FRAGMENT_SEEN | (long) at << 8 | following;
                }
                headerLength = 8;
            } else if (next == Protocols.AH) {
                break;
            } else {
                headerLength = (pkt.networkU8(at + 1) + 1) << 3;
            }
            next = following;
            at += headerLength;
        }
        return frag | (long) at << 8 | next;
    }

    /** ipv6_ext_hdr: hop-by-hop, routing, fragment, AH, No Next Header, destination options. */
    private static boolean isExtension(int nextHeader) {
        return nextHeader == 0 || nextHeader == 43 || nextHeader == 44 || nextHeader == 51 || nextHeader == 59
                || nextHeader == 60;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int flags;
            private int srcPrefix;
            private int dstPrefix;
            private int sportMask;
            private int dportMask;
            private long spiMask;
            private int sport;
            private int dport;
            private long spi;
            private int protoMask;
            private long rnd;
            private long modulus;
            private long offset;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                int bits = c.family().addressBits();
                if (option == TUPLE) {
                    parseTuple(arg, bits);
                } else if (option == SRC_PREFIX) {
                    srcPrefix = prefix(option, c.family(), arg);
                    flags |= F_SADDR_MASK;
                } else if (option == DST_PREFIX) {
                    dstPrefix = prefix(option, c.family(), arg);
                    flags |= F_DADDR_MASK;
                } else if (option == SPORT_MASK) {
                    sportMask = (int) uint(option, arg, 0, 0xFFFF);
                    flags |= F_SPORT_MASK;
                } else if (option == DPORT_MASK) {
                    dportMask = (int) uint(option, arg, 0, 0xFFFF);
                    flags |= F_DPORT_MASK;
                } else if (option == SPI_MASK) {
                    spiMask = uint(option, arg, 0, MarkValues.U32);
                    flags |= F_SPI_MASK;
                } else if (option == SPORT) {
                    sport = (int) uint(option, arg, 0, 0xFFFF);
                    flags |= F_SPORT;
                } else if (option == DPORT) {
                    dport = (int) uint(option, arg, 0, 0xFFFF);
                    flags |= F_DPORT;
                } else if (option == SPI) {
                    spi = uint(option, arg, 0, MarkValues.U32);
                    flags |= F_SPI;
                } else if (option == PROTO_MASK) {
                    protoMask = (int) uint(option, arg, 0, 0xFFFF);
                    flags |= F_PROTO_MASK;
                } else if (option == RND) {
                    rnd = uint(option, arg, 0, MarkValues.U32);
                    flags |= F_RND;
                } else if (option == MOD) {
                    modulus = uint(option, arg, 1, MarkValues.U32);
                    flags |= F_MODULUS;
                } else {
                    offset = uint(option, arg, 0, MarkValues.U32);
                    flags |= F_OFFSET;
                }
            }

            /** xtopt_parse_plenmask; a mask that is no prefix counts as a full one. */
            private int prefix(OptionSpec option, Family family, String arg) {
                int bits = family.addressBits();
                long n = Numbers.parseUnsigned(arg, 0, bits);
                if (n >= 0) {
                    return (int) n;
                }
                IpNet mask = null;
                if (family == Family.IPV4) {
                    long m = Addresses.parseIpv4(arg);
                    mask = m < 0 ? null : new IpNet(family, 0, 0, 0, m);
                } else {
                    long[] m = Addresses.parseIpv6(arg);
                    mask = m == null ? null : new IpNet(family, 0, 0, m[0], m[1]);
                }
                if (mask == null) {
                    throw XtablesException.parameter(extName + ": bad value for option \"--" + option.name()
                            + "\", neither a valid network mask nor valid CIDR (0-" + bits + ").\n");
                }
                int p = mask.prefixLength();
                return p < 0 ? bits : p;
            }

            private void parseTuple(String arg, int bits) {
                int pos = 0;
                while (true) {
                    int comma = arg.indexOf(',', pos);
                    String rest = arg.substring(pos);
                    if (comma < 0) {
                        if (rest.isEmpty()) {
                            throw XtablesException.parameter("\"--hmark-tuple\" requires a list of types with no "
                                    + "spaces, e.g. src,dst,sport,dport,proto");
                        }
                        tupleElement(rest, rest, bits);
                        return;
                    }
                    tupleElement(arg.substring(pos, comma), rest, bits);
                    pos = comma + 1;
                }
            }

            private void tupleElement(String word, String rest, int bits) {
                for (int i = 0; i < TUPLE_NAMES.length && !word.isEmpty(); i++) {
                    if (word.length() <= TUPLE_NAMES[i].length()
                            && TUPLE_NAMES[i].regionMatches(true, 0, word, 0, word.length())) {
                        int f = TUPLE_FLAGS[i];
                        flags |= f;
                        switch (f) {
                            case F_SADDR_MASK -> srcPrefix = bits;
                            case F_DADDR_MASK -> dstPrefix = bits;
                            case F_SPORT_MASK -> sportMask = 0xFFFF;
                            case F_DPORT_MASK -> dportMask = 0xFFFF;
                            case F_PROTO_MASK -> protoMask = 0xFFFF;
                            case F_SPI_MASK -> spiMask = MarkValues.U32;
                            default -> {
                            }
                        }
                        return;
                    }
                }
                throw XtablesException.parameter("Bad type \"" + rest + "\"");
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if ((flags & F_MODULUS) == 0) {
                    throw XtablesException.parameter("--hmark-mod is mandatory");
                }
                if ((flags & F_RND) == 0) {
                    throw XtablesException.parameter("--hmark-rnd is mandatory");
                }
                if ((flags & F_SPI_MASK) != 0 && (flags & (F_SPORT_MASK | F_DPORT_MASK)) != 0) {
                    throw XtablesException.parameter(
                            "you cannot use --hmark-spi-mask and --hmark-?port-mask,at the same time");
                }
                if ((flags & (PACKET_FLAGS | F_CT)) == 0) {
                    throw XtablesException.parameter("you have to specify --hmark-tuple at least");
                }
                return new Data(flags, srcPrefix, dstPrefix, sportMask, dportMask, spiMask, sport, dport, spi,
                        protoMask, rnd, modulus, offset);
            }
        };
    }
}
