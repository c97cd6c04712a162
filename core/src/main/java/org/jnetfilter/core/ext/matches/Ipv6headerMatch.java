package org.jnetfilter.core.ext.matches;

import java.util.EnumSet;
import java.util.List;
import java.util.OptionalInt;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -m ipv6header --header LIST [--soft]} (libip6t_ipv6header, ip6t_ipv6header.c): which extension
 * headers the packet has: exactly these, or with --soft at least these.
 */
public final class Ipv6headerMatch extends MatchExtension {
    static final OptionSpec HEADER = OptionSpec.withArg("header");
    static final OptionSpec SOFT = OptionSpec.flag("soft");

    // Linux: ip6t_ipv6header.h MASK_*, by header protocol number (255 stands for any upper-layer protocol)
    private static final int[] PROTOS = {0, 60, 43, 44, 51, 50, 59, 255};
    private static final int[] MASKS = {0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02, 0x01};
    static final int MASK_ESP = 0x04;
    static final int MASK_NONE = 0x02;
    static final int MASK_PROTO = 0x01;
    /** The names iptables knows besides /etc/protocols, in its lookup order. */
    private static final String[] OWN_NAMES = {"hop-by-hop", "protocol", "hop", "dst", "route", "frag", "auth",
        "esp", "none", "prot", "0", "60", "43", "44", "51", "50", "59", "255"};
    private static final int[] OWN_PROTOS = {0, 255, 0, 60, 43, 44, 51, 50, 59, 255, 0, 60, 43, 44, 51, 50, 59,
        255};

    public Ipv6headerMatch() {
        super("ipv6header", EnumSet.of(Family.IPV6), List.of(HEADER, SOFT));
    }

    public record Data(int matchFlags, boolean inverted, boolean soft) implements ExtensionData {
        /*
         * ip6t_ipv6header ipv6header_mt6: walk the chain collecting a bit per extension header met
         * (ip6t_ext_hdr: ESP counts, and ends the walk, as does No Next Header); an upper-layer header
         * after the chain sets the "protocol" bit. A chain whose next header would start less than two
         * bytes before the end does not match. Hard mode: the set equals --header (inverted: differs);
         * --soft: every listed header is there (inverted: every listed one is absent), others allowed.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            int seen = headersSeen(pkt);
            if (seen < 0) {
                return false;
            }
            int invflags = inverted ? 0xFF : 0;
            if (soft) {
                return ((seen ^ matchFlags ^ invflags) & matchFlags) == 0;
            }
            return inverted ? seen != matchFlags : seen == matchFlags;
        }

        private static int headersSeen(PacketContext pkt) {
            int next = pkt.networkU8(6);
            int ptr = Ipv6OptionsHeader.IPV6_HEADER;
            int len = pkt.length() - ptr;
            int seen = 0;
            while (isChainHeader(next)) {
                if (next == Ipv6OptionsHeader.NEXTHDR_NONE) {
                    seen |= MASK_NONE;
                    break;
                }
                if (len < 2) {
                    return -1;
                }
                if (next == Ipv6OptionsHeader.NEXTHDR_ESP) {
                    seen |= MASK_ESP;
                    break;
                }
                int hdrlen;
                if (next == Ipv6OptionsHeader.NEXTHDR_FRAGMENT) {
                    hdrlen = 8;
                } else if (next == Ipv6OptionsHeader.NEXTHDR_AUTH) {
                    hdrlen = (pkt.networkU8(ptr + 1) + 2) << 2;
                } else {
                    hdrlen = (pkt.networkU8(ptr + 1) + 1) << 3;
                }
                for (int i = 0; i < PROTOS.length; i++) {
                    if (PROTOS[i] == next) {
                        seen |= MASKS[i];
                    }
                }
                next = pkt.networkU8(ptr);
                len -= hdrlen;
                ptr += hdrlen;
                if (ptr > pkt.length()) {
                    break;
                }
            }
            if (next != Ipv6OptionsHeader.NEXTHDR_NONE && next != Ipv6OptionsHeader.NEXTHDR_ESP) {
                seen |= MASK_PROTO;
            }
            return seen;
        }

        /** Linux: ip6t_ext_hdr, which unlike ipv6_ext_hdr counts ESP. */
        private static boolean isChainHeader(int next) {
            return Ipv6OptionsHeader.isExtension(next) || next == Ipv6OptionsHeader.NEXTHDR_ESP;
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! --header " : " --header ");
            appendNames(out);
            if (soft) {
                out.append(" --soft");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" ipv6header flags:").append(inverted ? "!" : "");
            if (numeric) {
                out.append(String.format("0x%02X", matchFlags));
            } else {
                appendNames(out);
            }
            if (soft) {
                out.append(" soft");
            }
        }

        private void appendNames(StringBuilder out) {
            boolean first = true;
            for (int i = 0; i < PROTOS.length; i++) {
                if ((matchFlags & MASKS[i]) != 0) {
                    out.append(first ? "" : ",").append(headerName(PROTOS[i]));
                    first = false;
                }
            }
        }
    }

    /** getprotobynumber first (except for 0), then iptables' own names. */
    static String headerName(int proto) {
        if (proto != 0) {
            String n = Protocols.name(proto);
            if (n != null) {
                return n;
            }
        }
        for (int i = 0; i < OWN_NAMES.length; i++) {
            if (OWN_PROTOS[i] == proto) {
                return OWN_NAMES[i];
            }
        }
        return Integer.toString(proto);
    }

    static int headerMask(String s) {
        int proto = -1;
        if (!s.isEmpty() && !Character.isDigit(s.charAt(0)) && !s.equals("all")) {
            OptionalInt p = Protocols.parse(s);
            if (p.isPresent()) {
                proto = p.getAsInt();
            }
        }
        if (proto < 0) {
            for (int i = 0; i < OWN_NAMES.length && proto < 0; i++) {
                if (OWN_NAMES[i].equals(s)) {
                    proto = OWN_PROTOS[i];
                }
            }
        }
        if (proto < 0) {
            throw XtablesException.parameter("unknown header `" + s + "' specified");
        }
        for (int i = 0; i < PROTOS.length; i++) {
            if (PROTOS[i] == proto) {
                return MASKS[i];
            }
        }
        throw XtablesException.parameter("unknown header `" + proto + "' specified");
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int flags;
            private boolean inv;
            private boolean soft;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                if (option == SOFT) {
                    plain(option, invert);
                    soft = true;
                    return;
                }
                once(option);
                for (String h : arg.split(",")) {
                    if (!h.isEmpty()) {
                        flags |= headerMask(h);
                    }
                }
                inv = invert;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("header");
                return new Data(flags, inv, soft);
            }
        };
    }
}
