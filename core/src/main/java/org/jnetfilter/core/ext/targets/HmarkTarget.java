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
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j HMARK} (libxt_HMARK, xt_HMARK.c): sets the packet mark to
 * {@code hash(masked tuple, rnd) % mod + offset}, the tuple taken from the packet or its conntrack entry.
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

        private boolean has(int f) {
            return (flags & f) != 0;
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
