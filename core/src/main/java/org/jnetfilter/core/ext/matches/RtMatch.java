package org.jnetfilter.core.ext.matches;

import java.util.ArrayList;
import java.util.EnumSet;
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
 * {@code -m rt} (libip6t_rt, ip6t_rt.c): the IPv6 Routing header's type, segments left, length, and for
 * type 0 the reserved field and the address list (in order, or as a set with --rt-0-not-strict).
 */
public final class RtMatch extends MatchExtension {
    static final OptionSpec RT_TYPE = OptionSpec.withArg("rt-type");
    static final OptionSpec RT_SEGSLEFT = OptionSpec.withArg("rt-segsleft");
    static final OptionSpec RT_LEN = OptionSpec.withArg("rt-len");
    static final OptionSpec RT_0_RES = OptionSpec.flag("rt-0-res");
    static final OptionSpec RT_0_ADDRS = OptionSpec.withArg("rt-0-addrs");
    static final OptionSpec RT_0_NOT_STRICT = OptionSpec.flag("rt-0-not-strict");
    static final long MAX = 0xFFFFFFFFL;
    // Linux: IP6T_RT_HOPS
    static final int MAX_ADDRS = 16;

    public RtMatch() {
        super("rt", EnumSet.of(Family.IPV6),
                List.of(RT_TYPE, RT_SEGSLEFT, RT_LEN, RT_0_RES, RT_0_ADDRS, RT_0_NOT_STRICT));
    }

    /**
     * @param type   -1 when not matched on
     * @param length -1 when not matched on
     * @param addrs  {hi, lo} pairs flattened, in order
     */
    public record Data(long type, boolean typeInverted, SpiRange segsLeft, long length, boolean lengthInverted,
                       boolean reserved, List<Long> addrs, boolean notStrict) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (type >= 0) {
                out.append(typeInverted ? " ! --rt-type " : " --rt-type ").append(type);
            }
            segsLeft.save(out, "rt-segsleft");
            if (length >= 0) {
                out.append(lengthInverted ? " ! --rt-len " : " --rt-len ").append(length);
            }
            if (reserved) {
                out.append(" --rt-0-res");
            }
            if (!addrs.isEmpty()) {
                out.append(" --rt-0-addrs ");
                appendAddrs(out);
            }
            if (notStrict) {
                out.append(" --rt-0-not-strict");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" rt");
            if (type >= 0) {
                out.append(" type:").append(typeInverted ? "!" : "").append(type);
            }
            if (!segsLeft.isAny()) {
                out.append(' ');
                segsLeft.list(out, "segsleft");
            }
            if (length >= 0) {
                out.append(" length:").append(lengthInverted ? "!" : "").append(length);
            }
            if (reserved) {
                out.append(" reserved");
            }
            if (!addrs.isEmpty()) {
                out.append(" 0-addrs ");
                appendAddrs(out);
            }
            if (notStrict) {
                out.append(" 0-not-strict");
            }
        }

        private void appendAddrs(StringBuilder out) {
            for (int i = 0; i < addrs.size(); i += 2) {
                out.append(i > 0 ? "," : "").append(AddressText.ipv6(addrs.get(i), addrs.get(i + 1)));
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long type = -1;
            private boolean typeInverted;
            private SpiRange segsLeft = SpiRange.any(MAX);
            private long length = -1;
            private boolean lengthInverted;
            private boolean reserved;
            private final List<Long> addrs = new ArrayList<>();
            private boolean notStrict;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                if (option == RT_TYPE) {
                    once(option);
                    type = uint(option, arg, 0, MAX);
                    typeInverted = invert;
                } else if (option == RT_SEGSLEFT) {
                    once(option);
                    segsLeft = SpiRange.parse(extName, option.name(), arg, MAX, invert);
                } else if (option == RT_LEN) {
                    once(option);
                    length = uint(option, arg, 0, MAX);
                    lengthInverted = invert;
                } else if (option == RT_0_RES) {
                    plain(option, invert);
                    reserved = true;
                } else if (option == RT_0_ADDRS) {
                    plain(option, invert);
                    if (type != 0 || typeInverted) {
                        throw XtablesException.parameter("`--rt-type 0' required before `--rt-0-addrs'");
                    }
                    for (String a : arg.split(",", -1)) {
                        if (addrs.size() / 2 >= MAX_ADDRS) {
                            throw XtablesException.parameter("too many addresses specified");
                        }
                        long[] v = Addresses.parseIpv6(a);
                        if (v == null) {
                            throw XtablesException.parameter("bad address: " + a);
                        }
                        addrs.add(v[0]);
                        addrs.add(v[1]);
                    }
                } else {
                    plain(option, invert);
                    if (addrs.isEmpty()) {
                        throw XtablesException.parameter("`--rt-0-addr ...' required before `--rt-0-not-strict'");
                    }
                    notStrict = true;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(type, typeInverted, segsLeft, length, lengthInverted, reserved, List.copyOf(addrs),
                        notStrict);
            }
        };
    }
}
