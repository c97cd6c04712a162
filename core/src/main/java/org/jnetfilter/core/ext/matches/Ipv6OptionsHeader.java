package org.jnetfilter.core.ext.matches;

import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/**
 * The Hop-by-Hop and Destination Options headers as the hbh and dst matches see them (ip6t_hbh.c serves
 * both): the header length and a list of options {@code type[:length]}.
 */
final class Ipv6OptionsHeader {
    // Linux: IP6T_OPTS_OPTSNR
    static final int MAX_OPTIONS = 16;
    /** Low byte of an option entry meaning "any length", as ip6t_opts keeps it. */
    static final int ANY_LENGTH = 0x00FF;
    static final long MAX = 0xFFFFFFFFL;

    private Ipv6OptionsHeader() {
    }

    // Linux: include/net/ipv6.h NEXTHDR_*
    static final int NEXTHDR_HOP = 0;
    static final int NEXTHDR_ROUTING = 43;
    static final int NEXTHDR_FRAGMENT = 44;
    static final int NEXTHDR_ESP = 50;
    static final int NEXTHDR_AUTH = 51;
    static final int NEXTHDR_NONE = 59;
    static final int NEXTHDR_DEST = 60;
    static final int IPV6_HEADER = 40;
    /** {@link #find} found no such header: -ENOENT, the match answers false. */
    static final int NOT_FOUND = -2;
    /** {@link #find} ran past the packet: -EBADMSG, the match drops. */
    static final int TRUNCATED = -1;

    /** Linux: ipv6_ext_hdr, NEXTHDR_NONE included. */
    static boolean isExtension(int nextHeader) {
        return nextHeader == NEXTHDR_HOP || nextHeader == NEXTHDR_ROUTING || nextHeader == NEXTHDR_FRAGMENT
                || nextHeader == NEXTHDR_AUTH || nextHeader == NEXTHDR_NONE || nextHeader == NEXTHDR_DEST;
    }

    /**
     * ipv6_find_hdr(skb, &offset, target, NULL, NULL) for a target header: where the first header of type
     * {@code target} starts (from the network header), {@link #NOT_FOUND} when the chain ends without it
     * (an upper-layer header, No Next Header, or a non-first fragment before it), {@link #TRUNCATED} when
     * a header to read lies past the packet's end. Extension headers are skipped by their own length
     * field; a fragment header is 8 bytes.
     */
    static int find(PacketContext pkt, int target) {
        int length = pkt.length();
        int next = pkt.networkU8(6);
        int at = IPV6_HEADER;
        while (true) {
            boolean found = next == target;
            if (!isExtension(next) || next == NEXTHDR_NONE) {
                return found ? at : NOT_FOUND;
            }
            if (at + 2 > length) {
                return TRUNCATED;
            }
            if (next == NEXTHDR_ROUTING && at + 4 > length) {
                return TRUNCATED;
            }
            int headerLength;
            if (next == NEXTHDR_FRAGMENT) {
                if (at + 4 > length) {
                    return TRUNCATED;
                }
                if ((pkt.networkU16(at + 2) & ~0x7) != 0) {
                    return found ? at : NOT_FOUND;
                }
                headerLength = 8;
            } else if (next == NEXTHDR_AUTH) {
                headerLength = (pkt.networkU8(at + 1) + 2) << 2;
            } else {
                headerLength = (pkt.networkU8(at + 1) + 1) << 3;
            }
            if (found) {
                return at;
            }
            next = pkt.networkU8(at);
            at += headerLength;
        }
    }

    /**
     * @param length  -1 when not matched on
     * @param options type in the high byte, length (or {@link #ANY_LENGTH}) in the low byte
     */
    record Data(String name, long length, boolean lengthInverted, List<Integer> options)
            implements ExtensionData {
        /*
         * ip6t_hbh hbh_mt6 (hbh and dst alike): find the header (-ENOENT: no match; cut short: drop); a
         * header longer than what is left of the packet does not match. --hbh-len compares the length in
         * bytes. The option list is strict: the header's options, in order from its first, must be the
         * listed types, a listed length checked against the option's length byte unless "any"; Pad1 is
         * one byte, others two plus their length. The walk stops early without failing when the header
         * or packet ends (the kernel's breaks), which then fails the list unless every entry was seen.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            int ptr = find(pkt, name.equals("hbh") ? NEXTHDR_HOP : NEXTHDR_DEST);
            if (ptr < 0) {
                if (ptr != NOT_FOUND) {
                    pkt.hotdrop(true);
                }
                return false;
            }
            int packetLength = pkt.length();
            if (ptr + 2 > packetLength) {
                pkt.hotdrop(true);
                return false;
            }
            int hdrlen = (pkt.networkU8(ptr + 1) + 1) << 3;
            if (packetLength - ptr < hdrlen) {
                return false;
            }
            boolean ret = length < 0 || ((length == hdrlen) != lengthInverted);
            if (options.isEmpty()) {
                return ret;
            }
            ptr += 2;
            hdrlen -= 2;
            int n = options.size();
            int temp = 0;
            for (; temp < n; temp++) {
                if (hdrlen < 1 || ptr + 1 > packetLength) {
                    break;
                }
                int type = pkt.networkU8(ptr);
                int spec = options.get(temp);
                if (type != spec >>> 8) {
                    return false;
                }
                int optlen;
                if (type != 0) {
                    if (hdrlen < 2 || ptr + 2 > packetLength) {
                        break;
                    }
                    int len = pkt.networkU8(ptr + 1);
                    int specLength = spec & 0xFF;
                    if (specLength != ANY_LENGTH && specLength != len) {
                        return false;
                    }
                    optlen = len + 2;
                } else {
                    optlen = 1;
                }
                if ((ptr > packetLength - optlen || hdrlen < optlen) && temp < n - 1) {
                    break;
                }
                ptr += optlen;
                hdrlen -= optlen;
            }
            return temp == n && ret;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (length >= 0) {
                out.append(lengthInverted ? " ! --" : " --").append(name).append("-len ").append(length);
            }
            if (!options.isEmpty()) {
                out.append(" --").append(name).append("-opts ");
                appendOptions(out);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(' ').append(name);
            if (length >= 0) {
                out.append(" length:").append(lengthInverted ? "!" : "").append(length);
            }
            if (!options.isEmpty()) {
                out.append(" opts ");
                appendOptions(out);
            }
        }

        private void appendOptions(StringBuilder out) {
            for (int i = 0; i < options.size(); i++) {
                int o = options.get(i);
                out.append(i > 0 ? "," : "").append(o >> 8);
                if ((o & 0xFF) != ANY_LENGTH) {
                    out.append(':').append(o & 0xFF);
                }
            }
        }
    }

    static final class Parser extends OptionParser {
        private final OptionSpec lenOption;
        private long length = -1;
        private boolean lengthInverted;
        private final List<Integer> options = new ArrayList<>();

        Parser(String name, OptionSpec lenOption) {
            super(name);
            this.lenOption = lenOption;
        }

        @Override
        public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
            if (option == lenOption) {
                once(option);
                length = uint(option, arg, 0, MAX);
                lengthInverted = invert;
                return;
            }
            plain(option, invert);
            for (String item : arg.split(",", -1)) {
                if (options.size() >= MAX_OPTIONS) {
                    throw XtablesException.parameter("too many addresses specified");
                }
                int colon = item.indexOf(':');
                String type = colon < 0 ? item : item.substring(0, colon);
                int t = strtol(type, "opt");
                int len = colon < 0 ? ANY_LENGTH : strtol(item.substring(colon + 1), "length");
                options.add(((t & 0xFF) << 8) | (len & 0xFF));
            }
        }

        /** strtol(s, NULL, 0) with its leading-digits reading; "no valid digits" when there are none. */
        private int strtol(String s, String what) {
            int i = 0;
            boolean neg = false;
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
                neg = s.charAt(i) == '-';
                i++;
            }
            int radix = 10;
            if (s.startsWith("0x", i) || s.startsWith("0X", i)) {
                if (i + 2 < s.length() && Character.digit(s.charAt(i + 2), 16) >= 0) {
                    radix = 16;
                    i += 2;
                }
            } else if (s.startsWith("0", i)) {
                radix = 8;
            }
            long v = 0;
            int start = i;
            while (i < s.length() && Character.digit(s.charAt(i), radix) >= 0) {
                v = Math.min(v * radix + Character.digit(s.charAt(i), radix), Integer.MAX_VALUE);
                i++;
            }
            if (i == start) {
                throw XtablesException.parameter(extName + ": no valid digits in " + what + " `" + s + "'");
            }
            return (int) (neg ? -v : v);
        }

        @Override
        public ExtensionData finish(ParseContext c) {
            return new Data(extName, length, lengthInverted, List.copyOf(options));
        }
    }
}
