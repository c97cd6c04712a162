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
import org.jnetfilter.core.netfilter.PacketContext;
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
    // Linux: sizeof(struct ipv6_rt_hdr), sizeof(struct rt0_hdr)
    static final int RT_HEADER = 4;
    static final int RT0_HEADER = 8;

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
        /*
         * ip6t_rt rt_mt6: the routing header anywhere in the chain (not there: no match; chain cut short or
         * its 4 fixed bytes missing: drop); a header longer than the rest of the packet does not match.
         * Segments left, --rt-len (bytes, (hdrlen + 1) * 8) and --rt-type, then --rt-0-res (the 32-bit
         * reserved field zero). With --rt-0-addrs the type 0 addresses are compared: strictly, the list
         * must be all of them in order; not strictly, it must appear in order, others between.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            int ptr = Ipv6OptionsHeader.find(pkt, Ipv6OptionsHeader.NEXTHDR_ROUTING);
            if (ptr < 0) {
                if (ptr != Ipv6OptionsHeader.NOT_FOUND) {
                    pkt.hotdrop(true);
                }
                return false;
            }
            int packetLength = pkt.length();
            if (ptr + RT_HEADER > packetLength) {
                pkt.hotdrop(true);
                return false;
            }
            int hdrlen = (pkt.networkU8(ptr + 1) + 1) << 3;
            if (packetLength - ptr < hdrlen) {
                return false;
            }
            boolean ret = segsLeft.matches(pkt.networkU8(ptr + 3))
                    && (length < 0 || (length == hdrlen) != lengthInverted)
                    && (type < 0 || (type == pkt.networkU8(ptr + 2)) != typeInverted);
            if (ret && reserved) {
                ret = pkt.networkU16(ptr + 4) == 0 && pkt.networkU16(ptr + 6) == 0;
            }
            if (addrs.isEmpty()) {
                return ret;
            }
            int wanted = addrs.size() / 2;
            int present = (hdrlen - RT0_HEADER) / 16;
            if (wanted > present) {
                return false;
            }
            int at = ptr + RT0_HEADER;
            if (notStrict) {
                int i = 0;
                for (int k = 0; k < present && i < wanted; k++) {
                    if (addressAt(pkt, at + k * 16, i)) {
                        i++;
                    }
                }
                return i == wanted && ret;
            }
            int k = 0;
            while (k < wanted && addressAt(pkt, at + k * 16, k)) {
                k++;
            }
            return k == wanted && k == present && ret;
        }

        private boolean addressAt(PacketContext pkt, int at, int index) {
            return word64(pkt, at) == addrs.get(2 * index) && word64(pkt, at + 8) == addrs.get(2 * index + 1);
        }

        private static long word64(PacketContext pkt, int at) {
            return (long) pkt.networkU16(at) << 48 | (long) pkt.networkU16(at + 2) << 32
                    | (long) pkt.networkU16(at + 4) << 16 | pkt.networkU16(at + 6);
        }
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
