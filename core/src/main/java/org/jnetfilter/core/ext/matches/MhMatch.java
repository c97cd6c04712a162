package org.jnetfilter.core.ext.matches;

import java.util.EnumSet;
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
import org.jnetfilter.core.rules.Protocols;

/** {@code -m mh --mh-type T[:T]} (libip6t_mh, ip6t_mh.c): the Mobility Header type; needs {@code -p mh}. */
public final class MhMatch extends MatchExtension {
    static final OptionSpec MH_TYPE = OptionSpec.withArg("mh-type");

    // Linux: RFC 6275 section 6.1 mobility header types; iptables' names, each followed by its alias
    private static final String[] NAMES = {
        "binding-refresh-request", "brr", "home-test-init", "hoti", "careof-test-init", "coti",
        "home-test", "hot", "careof-test", "cot", "binding-update", "bu", "binding-acknowledgement", "ba",
        "binding-error", "be",
    };

    // Linux: sizeof(struct ip6_mh); IPPROTO_NONE, the only payload protocol RFC 6275 allows
    static final int MH_HEADER = 6;
    static final int NEXTHDR_NONE = 59;

    public MhMatch() {
        super("mh", EnumSet.of(Family.IPV6), List.of(MH_TYPE));
    }

    public record Data(int min, int max, boolean inverted) implements ExtensionData {
        /**
         * ip6t_mh mh_mt6: never a non-first fragment; the 6-byte mobility header at thoff (the rule's
         * -p mh) must be there and carry payload protocol No Next Header (59), else drop; then the type.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            if (pkt.fragmentOffset() != 0) {
                return false;
            }
            if (!pkt.transportAvailable(MH_HEADER) || pkt.transportU8(0) != NEXTHDR_NONE) {
                pkt.hotdrop(true);
                return false;
            }
            int type = pkt.transportU8(2);
            return (type >= min && type <= max) != inverted;
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (min == 0 && max == 0xFF && !inverted) {
                return;
            }
            out.append(inverted ? " ! --mh-type " : " --mh-type ").append(min);
            if (min != max) {
                out.append(':').append(max);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" mh");
            if (min == 0 && max == 0xFF && !inverted) {
                return;
            }
            out.append(' ').append(inverted ? "!" : "").append(typeName(min, numeric));
            if (min != max) {
                out.append(':').append(typeName(max, numeric));
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (ip.protocol() != Protocols.MH || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    static String typeName(int type, boolean numeric) {
        return !numeric && type * 2 < NAMES.length ? NAMES[type * 2] : Integer.toString(type);
    }

    static int parseType(String s) {
        for (int i = 0; i < NAMES.length; i++) {
            if (NAMES[i].equalsIgnoreCase(s)) {
                return i / 2;
            }
        }
        long v = Numbers.parseUnsigned(s, 0, 0xFF);
        if (v < 0) {
            throw XtablesException.parameter("Invalid MH type `" + s + "'");
        }
        return (int) v;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int min;
            private int max = 0xFF;
            private boolean inv;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                int colon = arg.indexOf(':');
                if (colon < 0) {
                    min = parseType(arg);
                    max = min;
                } else {
                    String a = arg.substring(0, colon);
                    String b = arg.substring(colon + 1);
                    min = a.isEmpty() ? 0 : parseType(a);
                    max = b.isEmpty() ? 0xFF : parseType(b);
                    if (min > max) {
                        throw XtablesException.parameter("Invalid MH type range (min > max)");
                    }
                }
                inv = invert;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(min, max, inv);
            }
        };
    }
}
