package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.Addresses;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.Services;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -j TPROXY} (libxt_TPROXY revision 1, xt_TPROXY): transparent proxying. mangle PREROUTING only,
 * for {@code -p tcp} or {@code -p udp}.
 *
 * <p>Packet semantics, tproxy_tg4 / tproxy_tg6_v1 on a host without sockets (this model has none): the kernel
 * looks for an established socket of the packet's addresses and ports, then for a listener on
 * {@code --on-ip}:{@code --on-port} (defaults: the packet's destination address and port); only a transparent
 * socket found there gets the packet, which is then marked ({@code (mark & ~mask) ^ value}) and ACCEPTed. With
 * no socket (and, before that, with a transport header cut short, or an IPv6 packet whose upper-layer header
 * ipv6_find_hdr cannot find) the verdict is DROP and the mark stays: checked on Linux 6.18, a TPROXY rule
 * without a listening transparent socket drops every packet it takes. So here TPROXY always drops; the redirect
 * address, port and mark have no effect. Its checkentry also enables nf_defrag_ipv4/ipv6 (the datapath then
 * reassembles before PREROUTING, see {@link #DEFRAG_EXTENSIONS}). Packet thread; allocates nothing.
 */
public final class TproxyTarget extends TargetExtension {
    static final OptionSpec ON_PORT = OptionSpec.withArg("on-port");
    static final OptionSpec ON_IP = OptionSpec.withArg("on-ip");
    static final OptionSpec TPROXY_MARK = OptionSpec.withArg("tproxy-mark");

    public TproxyTarget() {
        super("TPROXY", List.of(ON_PORT, ON_IP, TPROXY_MARK));
    }

    /** @param ipHi ipLo the address to redirect to, all zero for the packet's own */
    /**
     * The extensions whose checkentry calls nf_defrag_ipv4_enable / nf_defrag_ipv6_enable without taking
     * conntrack: the TPROXY target and the socket match.
     */
    public static final java.util.Set<String> DEFRAG_EXTENSIONS = java.util.Set.of("TPROXY", "socket");

    public record Data(Family family, int port, long ipHi, long ipLo, long mark, long mask) implements ExtensionData {
        @Override
        public int apply(org.jnetfilter.core.netfilter.PacketContext pkt) {
            // Linux: no socket, transparent or not, can be found on a host without sockets: NF_DROP
            return org.jnetfilter.core.netfilter.Verdict.DROP;
        }

        private String address() {
            return family == Family.IPV4 ? AddressText.ipv4((int) ipLo) : AddressText.ipv6(ipHi, ipLo);
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --on-port ").append(port).append(" --on-ip ").append(address())
                    .append(" --tproxy-mark 0x").append(Long.toHexString(mark)).append("/0x")
                    .append(Long.toHexString(mask));
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" TPROXY redirect ").append(address()).append(':').append(port).append(" mark 0x")
                    .append(Long.toHexString(mark)).append("/0x").append(Long.toHexString(mask));
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, "mangle", Hook.PREROUTING.bit());
            int p = ip.protocol();
            if ((p != Protocols.TCP && p != Protocols.UDP) || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int port;
            private long ipHi;
            private long ipLo;
            private long mark;
            private long mask;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == ON_PORT) {
                    port = parseServicePort(arg);
                } else if (option == ON_IP) {
                    long[] a = parseHost(c.family(), arg);
                    ipHi = a[0];
                    ipLo = a[1];
                } else {
                    int slash = arg.indexOf('/');
                    long v = Numbers.parseUnsigned(slash >= 0 ? arg.substring(0, slash) : arg, 0, 0xFFFFFFFFL);
                    long m = slash >= 0 ? Numbers.parseUnsigned(arg.substring(slash + 1), 0, 0xFFFFFFFFL)
                            : 0xFFFFFFFFL;
                    if (v < 0 || m < 0) {
                        throw XtablesException.parameter("TPROXY: bad integer value for option \"--tproxy-mark\", "
                                + "or out of range.\n");
                    }
                    mark = v;
                    mask = m;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory(ON_PORT.name());
                return new Data(c.family(), port, ipHi, ipLo, mark, mask);
            }
        };
    }

    /**
     * An x6 port argument, resolved as getaddrinfo resolves a service: a decimal number (kept modulo 2^16,
     * as it is stored in 16 bits: 70000 becomes 4464) or a service name.
     */
    static int parseServicePort(String arg) {
        if (!arg.isEmpty() && arg.length() < 19 && arg.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
            return (int) (Long.parseLong(arg) & 0xFFFF);
        }
        int p = Services.port(arg, null);
        if (p < 0) {
            throw XtablesException.parameter("Port \"" + arg + "\" does not resolve to anything.\n");
        }
        return p;
    }

    /** An x6 host argument: a numeric address or a name from /etc/hosts. */
    static long[] parseHost(Family family, String arg) {
        if (family == Family.IPV4) {
            long v = Addresses.parseIpv4(arg);
            if (v >= 0 && arg.split("\\.", -1).length == 4) {
                return new long[] {0, v};
            }
        } else {
            long[] v = Addresses.parseIpv6(arg);
            if (v != null) {
                return v;
            }
        }
        if (arg.indexOf('/') < 0) {
            try {
                var net = Addresses.parseOne(family, arg).get(0);
                return new long[] {net.hi(), net.lo()};
            } catch (XtablesException e) {
                // fall through to getaddrinfo's message
            }
        }
        throw XtablesException.parameter("getaddrinfo: Name or service not known\n");
    }
}
