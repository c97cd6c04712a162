package org.jnetfilter.core.ext.matches;

import java.util.List;
import java.util.OptionalInt;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -m ipvs} (libxt_ipvs, xt_ipvs.c): IPVS properties of the packet's connection: whether IPVS
 * handles it, the virtual service's protocol, address and port, direction, forwarding method.
 */
public final class IpvsMatch extends MatchExtension {
    static final OptionSpec IPVS = OptionSpec.flag("ipvs");
    static final OptionSpec VPROTO = OptionSpec.withArg("vproto");
    static final OptionSpec VADDR = OptionSpec.withArg("vaddr");
    static final OptionSpec VPORT = OptionSpec.withArg("vport");
    static final OptionSpec VDIR = OptionSpec.withArg("vdir");
    static final OptionSpec VMETHOD = OptionSpec.withArg("vmethod");
    static final OptionSpec VPORTCTL = OptionSpec.withArg("vportctl");

    // Linux: XT_IPVS_* bits (xt_ipvs.h)
    public static final int F_IPVS_PROPERTY = 1;
    public static final int F_PROTO = 1 << 1;
    public static final int F_VADDR = 1 << 2;
    public static final int F_VPORT = 1 << 3;
    public static final int F_DIR = 1 << 4;
    public static final int F_METHOD = 1 << 5;
    public static final int F_VPORTCTL = 1 << 6;
    static final int ONCE_MASK = 0x7F & ~F_IPVS_PROPERTY;

    // Linux: IP_VS_CONN_F_MASQ = 0, IP_VS_CONN_F_TUNNEL = 2, IP_VS_CONN_F_DROUTE = 3
    public static final int METHOD_MASQ = 0;
    public static final int METHOD_TUNNEL = 2;
    public static final int METHOD_DROUTE = 3;

    static final List<OptionSpec> OPTIONS = List.of(IPVS, VPROTO, VADDR, VPORT, VDIR, VMETHOD, VPORTCTL);

    public IpvsMatch() {
        super("ipvs", OPTIONS);
    }

    /** @param invert F_* bits negated; for F_DIR set means REPLY */
    public record Data(int bitmask, int invert, int protocol, IpNet vaddr, int vport, int method, int vportctl)
            implements ExtensionData {
        /**
         * xt_ipvs on a host without IPVS (jnetfilter has no IPVS): no packet has skb->ipvs_property. With
         * --ipvs alone the rule matches when it is negated; with any other option it never matches.
         */
        @Override
        public boolean matches(org.jnetfilter.core.netfilter.PacketContext pkt) {
            // Linux: bitmask == XT_IPVS_IPVS_PROPERTY: ipvs_property ^ invert; else !ipvs_property -> false
            if (bitmask == F_IPVS_PROPERTY) {
                return (invert & F_IPVS_PROPERTY) != 0;
            }
            return false;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            print(out, "--", true);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            print(out, "", numeric);
        }

        private void print(StringBuilder out, String dash, boolean numeric) {
            if (bitmask == F_IPVS_PROPERTY) {
                neg(out, F_IPVS_PROPERTY).append(' ').append(dash).append("ipvs");
            }
            if ((bitmask & F_PROTO) != 0) {
                neg(out, F_PROTO).append(' ').append(dash).append("vproto ").append(protocol);
            }
            if ((bitmask & F_VADDR) != 0) {
                neg(out, F_VADDR).append(' ').append(dash).append("vaddr");
                if (!numeric && vaddr.hi() == 0 && vaddr.lo() == 0) {
                    out.append(" anywhere");
                } else {
                    ConntrackValues.appendAddress(out.append(' '), vaddr, numeric);
                }
            }
            if ((bitmask & F_VPORT) != 0) {
                neg(out, F_VPORT).append(' ').append(dash).append("vport ").append(vport);
            }
            if ((bitmask & F_DIR) != 0) {
                out.append(' ').append(dash).append("vdir ").append((invert & F_DIR) != 0 ? "REPLY" : "ORIGINAL");
            }
            if ((bitmask & F_METHOD) != 0) {
                String m = switch (method) {
                    case METHOD_DROUTE -> "GATE";
                    case METHOD_TUNNEL -> "IPIP";
                    case METHOD_MASQ -> "MASQ";
                    default -> "UNKNOWN";
                };
                neg(out, F_METHOD).append(' ').append(dash).append("vmethod ").append(m);
            }
            if ((bitmask & F_VPORTCTL) != 0) {
                neg(out, F_VPORTCTL).append(' ').append(dash).append("vportctl ").append(vportctl);
            }
        }

        private StringBuilder neg(StringBuilder out, int f) {
            return (invert & f) != 0 ? out.append(" !") : out;
        }

        // Accepted everywhere, as a kernel with the module accepts it (the kernel iptables-legacy runs on
        // here lacks it and refuses with ENOENT; jnetfilter is not bound to one kernel's modules).
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int bitmask;
            private int invert;
            private int protocol;
            private IpNet vaddr;
            private int vport;
            private int method;
            private int vportctl;

            @Override
            public void parse(OptionSpec opt, boolean inv, String arg, ParseContext c) {
                if (opt == VDIR) {
                    plain(opt, inv);
                } else {
                    once(opt);
                }
                if (opt == VPROTO) {
                    OptionalInt p = Protocols.parse(arg);
                    if (p.isEmpty()) {
                        throw XtablesException.parameter("unknown protocol \"" + arg + "\" specified");
                    }
                    protocol = p.getAsInt();
                } else if (opt == VADDR) {
                    vaddr = ConntrackValues.hostMask(extName, opt.name(), c.family(), arg);
                } else if (opt == VPORT) {
                    vport = ConntrackValues.port(arg);
                } else if (opt == VPORTCTL) {
                    vportctl = ConntrackValues.port(arg);
                } else if (opt == VDIR) {
                    if (arg.equalsIgnoreCase("ORIGINAL")) {
                        inv = false;
                    } else if (arg.equalsIgnoreCase("REPLY")) {
                        inv = true;
                    } else {
                        throw XtablesException.parameter("ipvs: Bad value for \"--vdir\" option: \"" + arg + "\"");
                    }
                } else if (opt == VMETHOD) {
                    if (arg.equalsIgnoreCase("GATE")) {
                        method = METHOD_DROUTE;
                    } else if (arg.equalsIgnoreCase("IPIP")) {
                        method = METHOD_TUNNEL;
                    } else if (arg.equalsIgnoreCase("MASQ")) {
                        method = METHOD_MASQ;
                    } else {
                        throw XtablesException.parameter("ipvs: Bad value for \"--vmethod\" option: \"" + arg + "\"");
                    }
                }
                int f = 1 << OPTIONS.indexOf(opt);
                bitmask |= f;
                if (inv) {
                    invert |= f;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (bitmask == 0) {
                    throw XtablesException.parameter("IPVS: At least one option is required");
                }
                if ((bitmask & ONCE_MASK) != 0) {
                    if ((invert & F_IPVS_PROPERTY) != 0) {
                        throw XtablesException.parameter("! --ipvs cannot be together with other options");
                    }
                    bitmask |= F_IPVS_PROPERTY;
                }
                return new Data(bitmask, invert, protocol, vaddr, vport, method, vportctl);
            }
        };
    }
}
