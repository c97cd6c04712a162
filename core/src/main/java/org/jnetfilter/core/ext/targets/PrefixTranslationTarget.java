package org.jnetfilter.core.ext.targets;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.EnumSet;
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
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * SNPT and DNPT (libip6t_SNPT, libip6t_DNPT; ip6t_NPT.c): RFC 6296 IPv6 prefix translation, mangle table
 * only. The kernel refuses prefixes longer than 64 bits and prefixes with host bits set.
 *
 * <p>Packet semantics, ip6t_npt_map_pfx on the source (SNPT) or destination (DNPT) address: the first
 * {@code max(src len, dst len)} bits become the {@code --dst-pfx} prefix's, whatever the address had (the
 * target does not look at {@code --src-pfx} there: the rule's own {@code -s}/{@code -d} selects packets). Then one
 * 16-bit word absorbs the change so that every checksum over the address stays valid (RFC 6296 section 3.2):
 * word 3 (the subnet ID) for prefixes up to /48, else the first of words 4-7 that is not 0xffff; it gets
 * {@code w + sum(src prefix) - sum(dst prefix)} in ones' complement, 0xffff written as 0. When words 4-7 are all
 * 0xffff the packet is dropped with an ICMPv6 parameter problem (erroneous header field) pointing at the address,
 * the prefix already written.
 *
 * <p>An ICMPv6 error carries the datagram it bounces: after a successful mapping, when the outer next header is
 * ICMPv6 with an error type (below 128) and the quoted IPv6 header lies whole in the linear head, the quoted
 * header's other address is translated too when its first {@code --src-pfx}-length bits equal the
 * {@code --src-pfx} prefix: SNPT maps the quoted destination (the error answers a datagram sent to the
 * translated range), DNPT the quoted source. The translation is checksum-neutral, so the ICMPv6 checksum stays
 * valid untouched. Packet thread; allocates nothing.
 */
abstract sealed class PrefixTranslationTarget extends TargetExtension permits SnptTarget, DnptTarget {
    static final OptionSpec SRC_PFX = OptionSpec.withArg("src-pfx");
    static final OptionSpec DST_PFX = OptionSpec.withArg("dst-pfx");

    // Linux: ip6t_npt_checkentry, prefixes up to /64
    static final int MAX_PREFIX = 64;

    private final int hooks;

    PrefixTranslationTarget(String name, int hooks) {
        super(name, EnumSet.of(Family.IPV6), List.of(SRC_PFX, DST_PFX));
        this.hooks = hooks;
    }

    /** A prefix as given: the address unmasked, as iptables hands it to the kernel. */
    public record Prefix(long hi, long lo, int length) {
        String text() {
            return AddressText.ipv6(hi, lo) + "/" + length;
        }

        boolean valid() {
            long[] m = Addresses.prefixMask6(length);
            return length <= MAX_PREFIX && (hi & ~m[0]) == 0 && (lo & ~m[1]) == 0;
        }
    }

    // Linux: ICMPV6_PARAMPROB, ICMPV6_HDR_FIELD; offsetof(struct ipv6hdr, saddr / daddr)
    static final int ICMPV6_PARAMPROB = 4;
    static final int ICMPV6_HDR_FIELD = 0;
    static final int SADDR = 8;
    static final int DADDR = 24;
    // Linux: struct ipv6hdr, struct icmp6hdr; icmpv6_is_err: types below 128 are errors
    static final int NEXT_HEADER = 6;
    static final int IPV6_HEADER = 40;
    static final int ICMPV6_HEADER = 8;
    static final int ICMPV6 = 58;
    static final int ICMPV6_INFO_MIN = 128;

    public record Data(String name, Prefix src, Prefix dst, int hooks) implements ExtensionData {
        @Override
        public int apply(PacketContext pkt) {
            boolean snpt = name.equals("SNPT");
            int at = snpt ? SADDR : DADDR;
            boolean mapped = mapPrefix(pkt.segment(), pkt.networkOffset() + at);
            pkt.addressesChanged();
            if (!mapped) {
                pkt.dropWithIcmpError(ICMPV6_PARAMPROB, ICMPV6_HDR_FIELD, at);
                return Verdict.DROP;
            }
            long bounced = bouncedHeader(pkt);
            if (bounced >= 0) {
                // Linux: ip6t_snpt_tg / ip6t_dnpt_tg, "rewrite dst (src) addr of bounced packet"
                long quoted = bounced + (snpt ? DADDR : SADDR);
                if (inSourcePrefix(pkt.segment(), quoted)) {
                    mapPrefix(pkt.segment(), quoted);
                }
            }
            return Verdict.CONTINUE;
        }

        /**
         * Where the IPv6 header an ICMPv6 error quotes starts in the segment, or -1 (icmpv6_bounced_ipv6hdr): the
         * outer next header must be ICMPv6 itself (no extension header between), the type an error, and the
         * quoted header whole in the first block; skb_header_pointer copies a header that is not, so the
         * kernel's rewrite of it is lost.
         */
        private static long bouncedHeader(PacketContext pkt) {
            int quoted = IPV6_HEADER + ICMPV6_HEADER;
            if (pkt.length() < IPV6_HEADER + ICMPV6_HEADER || pkt.networkU8(NEXT_HEADER) != ICMPV6
                    || pkt.networkU8(IPV6_HEADER) >= ICMPV6_INFO_MIN || pkt.blockEnd(0) < quoted + IPV6_HEADER) {
                return -1;
            }
            return pkt.networkOffset() + quoted;
        }

        /** Whether the address at {@code base} has {@code --src-pfx} as its first {@code --src-pfx}-length bits. */
        private boolean inSourcePrefix(MemorySegment s, long base) {
            // checkentry holds the prefix to 64 bits with no host bits: the low half is all host bits, zero in src
            int len = src.length();
            long mask = len == 0 ? 0 : -1L << (64 - len);
            return (s.get(U64, base) & mask) == src.hi() && src.lo() == 0;
        }

        /** ip6t_npt_map_pfx on the address at {@code base}; false when no word can take the adjustment. */
        private boolean mapPrefix(MemorySegment s, long base) {
            int length = Math.max(src.length(), dst.length());
            for (int i = 0; i < length; i += 32) {
                int keep = length - i >= 32 ? 0 : (1 << (32 - (length - i))) - 1;
                int idx = i / 32;
                int prefixWord = (int) ((idx < 2 ? dst.hi() : dst.lo()) >>> (idx % 2 == 0 ? 32 : 0));
                int word = s.get(U32, base + idx * 4L);
                s.set(U32, base + idx * 4L, word & keep | prefixWord & ~keep);
            }
            int idx = 3;
            if (length > 48) {
                idx = 4;
                while (idx < 8 && Short.toUnsignedInt(s.get(U16, base + idx * 2L)) == 0xFFFF) {
                    idx++;
                }
                if (idx == 8) {
                    return false;
                }
            }
            int w = Short.toUnsignedInt(s.get(U16, base + idx * 2L));
            int sum = onesAdd(w, adjustment());
            // Linux: CSUM_MANGLED_0 is written as 0
            s.set(U16, base + idx * 2L, (short) (sum == 0xFFFF ? 0 : sum));
            return true;
        }

        /** ip6t_npt_checkentry's adjustment: sum(src prefix) - sum(dst prefix), ones' complement. */
        private int adjustment() {
            return onesAdd(wordSum(src), ~wordSum(dst) & 0xFFFF);
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --src-pfx ").append(src.text()).append(" --dst-pfx ").append(dst.text());
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(' ').append(name).append(" src-pfx ").append(src.text()).append(" dst-pfx ")
                    .append(dst.text());
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, "mangle", hooks);
            if (!src.valid() || !dst.valid()) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** The ones' complement sum of a prefix's eight 16-bit words. */
    static int wordSum(Prefix p) {
        int sum = 0;
        for (int i = 0; i < 4; i++) {
            sum = onesAdd(sum, (int) (p.hi() >>> (48 - 16 * i)) & 0xFFFF);
            sum = onesAdd(sum, (int) (p.lo() >>> (48 - 16 * i)) & 0xFFFF);
        }
        return sum;
    }

    /** Ones' complement addition of two 16-bit values (end-around carry). */
    static int onesAdd(int a, int b) {
        int s = a + b;
        return (s & 0xFFFF) + (s >>> 16);
    }

    static Prefix parsePrefix(String arg) {
        int slash = arg.indexOf('/');
        long[] a = Addresses.parseIpv6(slash >= 0 ? arg.substring(0, slash) : arg);
        if (a == null) {
            throw XtablesException.parameter("getaddrinfo: Name or service not known\n");
        }
        long len = slash >= 0 ? Numbers.parseUnsigned(arg.substring(slash + 1), 0, 128) : 128;
        if (len < 0) {
            throw XtablesException.parameter("invalid mask `" + arg.substring(slash + 1) + "' specified");
        }
        return new Prefix(a[0], a[1], (int) len);
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private Prefix src;
            private Prefix dst;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == SRC_PFX) {
                    src = parsePrefix(arg);
                } else {
                    dst = parsePrefix(arg);
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory(SRC_PFX.name());
                mandatory(DST_PFX.name());
                return new Data(name(), src, dst, hooks);
            }
        };
    }
}
