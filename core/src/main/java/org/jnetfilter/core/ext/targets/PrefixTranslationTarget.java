package org.jnetfilter.core.ext.targets;

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
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * SNPT and DNPT (libip6t_SNPT, libip6t_DNPT; ip6t_NPT.c): RFC 6296 IPv6 prefix translation, mangle table
 * only. The kernel refuses prefixes longer than 64 bits and prefixes with host bits set.
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

    public record Data(String name, Prefix src, Prefix dst, int hooks) implements ExtensionData {
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
