package org.jnetfilter.core.ext.matches;

import java.util.ArrayList;
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
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m policy} (libxt_policy, xt_policy): the IPsec policy a packet was or will be handled by, as up to
 * {@value #MAX_ELEM} elements matched in order with {@code --strict}.
 */
public final class PolicyMatch extends MatchExtension {
    static final OptionSpec DIR = OptionSpec.withArg("dir");
    static final OptionSpec POL = OptionSpec.withArg("pol");
    static final OptionSpec STRICT = OptionSpec.flag("strict");
    static final OptionSpec REQID = OptionSpec.withArg("reqid");
    static final OptionSpec SPI = OptionSpec.withArg("spi");
    static final OptionSpec TUNNEL_SRC = OptionSpec.withArg("tunnel-src");
    static final OptionSpec TUNNEL_DST = OptionSpec.withArg("tunnel-dst");
    static final OptionSpec PROTO = OptionSpec.withArg("proto");
    static final OptionSpec MODE = OptionSpec.withArg("mode");
    static final OptionSpec NEXT = OptionSpec.flag("next");

    // Linux: xt_policy.h
    static final int MAX_ELEM = 4;
    public static final int MATCH_IN = 1;
    public static final int MATCH_OUT = 2;
    public static final int MATCH_NONE = 4;
    public static final int MATCH_STRICT = 8;
    public static final int PROTO_ESP = 50;
    public static final int PROTO_AH = 51;
    public static final int PROTO_COMP = 108;

    public PolicyMatch() {
        super("policy", List.of(DIR, POL, STRICT, REQID, SPI, TUNNEL_SRC, TUNNEL_DST, PROTO, MODE, NEXT));
    }

    /** One policy element; a null field is not matched. {@code tunnel} is the mode: true tunnel, false transport. */
    public record Element(Long reqid, boolean invReqid, Long spi, boolean invSpi, Integer proto, boolean invProto,
            Boolean tunnel, boolean invMode, IpNet src, boolean invSrc, IpNet dst, boolean invDst) {

        boolean empty() {
            return reqid == null && spi == null && src == null && dst == null && proto == null && tunnel == null;
        }

        void append(StringBuilder out, String prefix, boolean numeric) {
            if (reqid != null) {
                out.append(invReqid ? " !" : "").append(' ').append(prefix).append("reqid ").append(reqid);
            }
            if (spi != null) {
                out.append(invSpi ? " !" : "").append(' ').append(prefix).append("spi 0x")
                        .append(Long.toHexString(spi));
            }
            if (proto != null) {
                out.append(invProto ? " !" : "").append(' ').append(prefix).append("proto ").append(numeric ? Integer.toString(proto) : protoName(proto));
            }
            if (tunnel != null) {
                out.append(invMode ? " !" : "").append(' ').append(prefix).append("mode ")
                        .append(tunnel ? "tunnel" : "transport");
            }
            if (dst != null) {
                out.append(invDst ? " !" : "").append(' ').append(prefix).append("tunnel-dst ").append(netText(dst));
            }
            if (src != null) {
                out.append(invSrc ? " !" : "").append(' ').append(prefix).append("tunnel-src ").append(netText(src));
            }
        }
    }

    /** The address, with "/mask" only when it is not a host mask. */
    static String netText(IpNet net) {
        return net.isHost() ? net.addressText() : net.saveText();
    }

    static String protoName(int p) {
        return switch (p) {
            case PROTO_ESP -> "esp";
            case PROTO_AH -> "ah";
            case PROTO_COMP -> "ipcomp";
            default -> Integer.toString(p);
        };
    }

    public record Data(int flags, List<Element> elements) implements ExtensionData {
        /*
         * xt_policy policy_mt: match_policy_in looks at the packet's security path (decapsulations
         * done), match_policy_out at the route's xfrm bundle (transformations to come). This model has no
         * IPsec: there is never either, which both report as "no policy" (-1), so --pol none matches and
         * --pol ipsec does not, whatever the elements say.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            return (flags & MATCH_NONE) != 0;
        }

        public Data {
            elements = List.copyOf(elements);
        }

        private void appendFlags(StringBuilder out, String prefix) {
            out.append(' ').append(prefix).append((flags & MATCH_IN) != 0 ? "dir in" : "dir out");
            out.append(' ').append(prefix).append((flags & MATCH_NONE) != 0 ? "pol none" : "pol ipsec");
            if ((flags & MATCH_STRICT) != 0) {
                out.append(' ').append(prefix).append("strict");
            }
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            appendFlags(out, "--");
            for (int i = 0; i < elements.size(); i++) {
                elements.get(i).append(out, "--", false);
                if (i + 1 < elements.size()) {
                    out.append(" --next");
                }
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" policy match");
            appendFlags(out, "");
            for (int i = 0; i < elements.size(); i++) {
                if (elements.size() > 1) {
                    out.append(" [").append(i).append(']');
                }
                elements.get(i).append(out, "", numeric);
            }
        }

        /** policy_mt_check: "in" policies not where packets leave, "out" policies not where they arrive. */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if ((flags & (MATCH_IN | MATCH_OUT)) == 0) {
                throw XtablesException.invalidArgument();
            }
            int arrive = Hook.PREROUTING.bit() | Hook.INPUT.bit();
            int leave = Hook.POSTROUTING.bit() | Hook.OUTPUT.bit();
            if ((hookMask & arrive) != 0 && (flags & MATCH_OUT) != 0) {
                throw XtablesException.invalidArgument();
            }
            if ((hookMask & leave) != 0 && (flags & MATCH_IN) != 0) {
                throw XtablesException.invalidArgument();
            }
            if (elements.size() > MAX_ELEM) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int flags;
            private final List<Element> done = new ArrayList<>();
            private Long reqid;
            private boolean invReqid;
            private Long spi;
            private boolean invSpi;
            private Integer proto;
            private boolean invProto;
            private Boolean tunnel;
            private boolean invMode;
            private IpNet src;
            private boolean invSrc;
            private IpNet dst;
            private boolean invDst;

            private Element current() {
                return new Element(reqid, invReqid, spi, invSpi, proto, invProto, tunnel, invMode, src, invSrc, dst,
                        invDst);
            }

            private void twice(Object field, String opt) {
                if (field != null) {
                    throw XtablesException.parameter("policy match: double --" + opt + " option");
                }
            }

            private IpNet address(String arg, String opt) {
                List<IpNet> nets = Addresses.parseMultiple(ctx.family(), arg);
                if (nets.size() != 1) {
                    throw XtablesException.parameter("policy match: name resolves to multiple IPs");
                }
                return nets.get(0);
            }

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                if (option == DIR || option == POL || option == STRICT || option == NEXT) {
                    noInvert(option, inv);
                }
                if (option == DIR) {
                    once(option);
                    flags |= switch (arg) {
                        case "in" -> MATCH_IN;
                        case "out" -> MATCH_OUT;
                        default -> throw XtablesException.parameter("policy_match: invalid dir \"" + arg + "\"");
                    };
                } else if (option == POL) {
                    once(option);
                    flags |= switch (arg) {
                        case "none" -> MATCH_NONE;
                        case "ipsec" -> 0;
                        default -> throw XtablesException.parameter("policy match: invalid policy \"" + arg + "\"");
                    };
                } else if (option == STRICT) {
                    once(option);
                    flags |= MATCH_STRICT;
                } else if (option == REQID) {
                    twice(reqid, "reqid");
                    reqid = uint(option, arg, 0, 0xFFFFFFFFL);
                    invReqid = inv;
                } else if (option == SPI) {
                    twice(spi, "spi");
                    spi = uint(option, arg, 0, 0xFFFFFFFFL);
                    invSpi = inv;
                } else if (option == TUNNEL_SRC) {
                    twice(src, "tunnel-src");
                    src = address(arg, "tunnel-src");
                    invSrc = inv;
                } else if (option == TUNNEL_DST) {
                    twice(dst, "tunnel-dst");
                    dst = address(arg, "tunnel-dst");
                    invDst = inv;
                } else if (option == PROTO) {
                    twice(proto, "proto");
                    int p = switch (arg) {
                        case "esp" -> PROTO_ESP;
                        case "ah" -> PROTO_AH;
                        case "ipcomp" -> PROTO_COMP;
                        default -> {
                            long v = org.jnetfilter.core.ext.Numbers.parseUnsigned(arg, 0, 255);
                            if (v != PROTO_ESP && v != PROTO_AH && v != PROTO_COMP) {
                                throw XtablesException.parameter("policy match: protocol must be ah/esp/ipcomp");
                            }
                            yield (int) v;
                        }
                    };
                    proto = p;
                    invProto = inv;
                } else if (option == MODE) {
                    twice(tunnel, "mode");
                    tunnel = switch (arg) {
                        case "transport" -> Boolean.FALSE;
                        case "tunnel" -> Boolean.TRUE;
                        default -> throw XtablesException.parameter("policy match: invalid mode \"" + arg + "\"");
                    };
                    invMode = inv;
                } else {
                    if (done.size() == MAX_ELEM - 1) {
                        throw XtablesException.parameter("policy match: maximum policy depth reached");
                    }
                    done.add(current());
                    reqid = null;
                    spi = null;
                    proto = null;
                    tunnel = null;
                    src = null;
                    dst = null;
                    invReqid = invSpi = invProto = invMode = invSrc = invDst = false;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (!done.isEmpty() && (flags & MATCH_STRICT) == 0) {
                    throw XtablesException.parameter("policy: option \"--next\" also requires \"--strict\".\n");
                }
                if ((flags & (MATCH_IN | MATCH_OUT)) == 0) {
                    throw XtablesException.parameter("policy match: neither --dir in nor --dir out specified");
                }
                List<Element> all = new ArrayList<>(done);
                if ((flags & MATCH_NONE) != 0) {
                    if ((flags & MATCH_STRICT) != 0) {
                        throw XtablesException.parameter("policy match: policy none but --strict given");
                    }
                    if (!done.isEmpty()) {
                        throw XtablesException.parameter("policy match: policy none but policy given");
                    }
                } else {
                    all.add(current());
                }
                if ((flags & MATCH_STRICT) == 0 && all.size() > 1) {
                    throw XtablesException.parameter("policy match: multiple elements but no --strict");
                }
                for (int i = 0; i < all.size(); i++) {
                    Element e = all.get(i);
                    if ((flags & MATCH_STRICT) != 0 && e.empty()) {
                        throw XtablesException.parameter("policy match: empty policy element " + i + ". --strict is "
                                + "in effect, but at least one of reqid, spi, tunnel-src, tunnel-dst, proto or mode "
                                + "is required.");
                    }
                    boolean isTunnel = Boolean.TRUE.equals(e.tunnel());
                    if ((e.src() != null || e.dst() != null) && isTunnel == e.invMode()) {
                        throw XtablesException.parameter(
                                "policy match: --tunnel-src/--tunnel-dst is only valid in tunnel mode");
                    }
                }
                return new Data(flags, all);
            }
        };
    }
}
