package org.jnetfilter.core.ext.matches;

import java.util.EnumSet;
import java.util.List;
import org.jnetfilter.core.ext.Addresses;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m srh} (libip6t_srh revision 1, ip6t_srh.c): fields of the Segment Routing Header (RFC 8754):
 * next header, length, segments left and last entry compared with =, &gt; or &lt;, the tag, and the
 * previous, next and last segment ids against prefixes.
 */
public final class SrhMatch extends MatchExtension {
    /** The numeric fields in option-table (and save) order, with their maximum. */
    static final String[] FIELDS = {"next-hdr", "hdr-len-eq", "hdr-len-gt", "hdr-len-lt", "segs-left-eq",
        "segs-left-gt", "segs-left-lt", "last-entry-eq", "last-entry-gt", "last-entry-lt", "tag"};
    static final String[] SIDS = {"psid", "nsid", "lsid"};
    // Linux: sizeof(struct ipv6_sr_hdr), the fixed part before the segment list
    static final int SRH_HEADER = 8;
    static final OptionSpec[] FIELD_OPTIONS = new OptionSpec[FIELDS.length];
    static final OptionSpec[] SID_OPTIONS = new OptionSpec[SIDS.length];

    static {
        for (int i = 0; i < FIELDS.length; i++) {
            FIELD_OPTIONS[i] = OptionSpec.withArg("srh-" + FIELDS[i]);
        }
        for (int i = 0; i < SIDS.length; i++) {
            SID_OPTIONS[i] = OptionSpec.withArg("srh-" + SIDS[i]);
        }
    }

    public SrhMatch() {
        super("srh", EnumSet.of(Family.IPV6), optionTable());
    }

    private static List<OptionSpec> optionTable() {
        OptionSpec[] all = new OptionSpec[FIELDS.length + SIDS.length];
        System.arraycopy(FIELD_OPTIONS, 0, all, 0, FIELDS.length);
        System.arraycopy(SID_OPTIONS, 0, all, FIELDS.length, SIDS.length);
        return List.of(all);
    }

    /** A segment id prefix: address {hi, lo} as given (not masked) and a prefix length. */
    public record Sid(long hi, long lo, int prefix, boolean inverted) {
    }

    /**
     * @param values  per FIELDS entry, -1 when not matched on
     * @param sids    per SIDS entry, null when not matched on
     */
    public record Data(List<Long> values, int invertedFields, List<Sid> sids) implements ExtensionData {
        /**
         * ip6t_srh's srh1_mt6 (revision 1). The first routing header (ipv6_find_hdr) must be a whole
         * Segment Routing Header (type 4) with Segments Left at most Last Entry, or nothing matches, negated
         * options included; Linux 6.18 drops nothing here (a cut header is no match). Then every option given
         * must hold, each inverted by its {@code !}: next header, header length, segments left and last entry
         * against = &gt; &lt;, the tag, and the segment ids against their prefixes: the previous one
         * (Segment List[Segments Left + 1]: never when Segments Left equals Last Entry), the next one
         * ([Segments Left - 1]: never when Segments Left is 0) and the last one ([0]); a segment id past the
         * packet's end is no match.
         *
         * <p>The tag is compared as the kernel on a little-endian host compares it: libip6t_srh stores the
         * number in host order and the kernel compares it with the header's big-endian field unconverted, so
         * {@code --srh-tag 513} matches a header whose tag bytes are 01 02 (Linux 6.18 on x86-64, checked).
         * Packet thread; allocates nothing.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            int ptr = Ipv6OptionsHeader.find(pkt, Ipv6OptionsHeader.NEXTHDR_ROUTING);
            int len = pkt.length();
            if (ptr < 0 || ptr + SRH_HEADER > len) {
                return false;
            }
            int hdrlen = pkt.networkU8(ptr + 1);
            // Linux: ipv6_optlen
            if (len - ptr < (hdrlen + 1) << 3) {
                return false;
            }
            int segsLeft = pkt.networkU8(ptr + 3);
            int lastEntry = pkt.networkU8(ptr + 4);
            // Linux: IPV6_SRCRT_TYPE_4
            if (pkt.networkU8(ptr + 2) != 4 || segsLeft > lastEntry) {
                return false;
            }
            int tag = pkt.networkU16(ptr + 6);
            tag = ((tag & 0xFF) << 8) | (tag >>> 8);
            for (int i = 0; i < FIELDS.length; i++) {
                long want = values.get(i);
                if (want < 0) {
                    continue;
                }
                long have = i == 0 ? pkt.networkU8(ptr) : i <= 3 ? hdrlen : i <= 6 ? segsLeft : i <= 9 ? lastEntry : tag;
                // FIELDS: 0 next-hdr (=), then (=, >, <) for hdr-len 1-3, segs-left 4-6, last-entry 7-9; 10 tag (=)
                int kind = i == 0 || i == 10 ? 0 : (i - 1) % 3;
                boolean holds = kind == 0 ? have == want : kind == 1 ? have > want : have < want;
                if (holds == ((invertedFields & (1 << i)) != 0)) {
                    return false;
                }
            }
            Sid psid = sids.get(0);
            if (psid != null && (segsLeft == lastEntry || !sidHolds(pkt, ptr + SRH_HEADER + (segsLeft + 1) * 16, psid))) {
                return false;
            }
            Sid nsid = sids.get(1);
            if (nsid != null && (segsLeft == 0 || !sidHolds(pkt, ptr + SRH_HEADER + (segsLeft - 1) * 16, nsid))) {
                return false;
            }
            Sid lsid = sids.get(2);
            return lsid == null || sidHolds(pkt, ptr + SRH_HEADER, lsid);
        }

        /** Whether the segment id at {@code at} is in the prefix (inverted by {@code !}); false past the end. */
        private static boolean sidHolds(PacketContext pkt, int at, Sid sid) {
            if (at + 16 > pkt.length()) {
                return false;
            }
            long hi = 0;
            long lo = 0;
            for (int k = 0; k < 8; k++) {
                hi = hi << 8 | pkt.networkU8(at + k);
                lo = lo << 8 | pkt.networkU8(at + 8 + k);
            }
            int p = sid.prefix();
            long maskHi = p == 0 ? 0 : p >= 64 ? -1L : -1L << (64 - p);
            long maskLo = p <= 64 ? 0 : p == 128 ? -1L : -1L << (128 - p);
            // Linux: ipv6_masked_addr_cmp, the rule's address unmasked
            boolean in = ((hi ^ sid.hi()) & maskHi) == 0 && ((lo ^ sid.lo()) & maskLo) == 0;
            return in != sid.inverted();
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            for (int i = 0; i < FIELDS.length; i++) {
                if (values.get(i) >= 0) {
                    out.append((invertedFields & (1 << i)) != 0 ? " ! --srh-" : " --srh-").append(FIELDS[i])
                            .append(' ').append(values.get(i));
                }
            }
            for (int i = 0; i < SIDS.length; i++) {
                Sid s = sids.get(i);
                if (s != null) {
                    out.append(s.inverted() ? " ! --srh-" : " --srh-").append(SIDS[i]).append(' ')
                            .append(AddressText.ipv6(s.hi(), s.lo())).append('/').append(s.prefix());
                }
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" srh");
            for (int i = 0; i < FIELDS.length; i++) {
                if (values.get(i) >= 0) {
                    out.append(' ').append(FIELDS[i]).append(':')
                            .append((invertedFields & (1 << i)) != 0 ? "!" : "").append(values.get(i));
                }
            }
            for (int i = 0; i < SIDS.length; i++) {
                Sid s = sids.get(i);
                if (s != null) {
                    out.append(' ').append(SIDS[i]).append(s.inverted() ? " ! " : "  ")
                            .append(AddressText.ipv6(s.hi(), s.lo())).append('/').append(s.prefix());
                }
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private final Long[] values = new Long[FIELDS.length];
            private int inverted;
            private final Sid[] sids = new Sid[SIDS.length];

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                for (int i = 0; i < FIELDS.length; i++) {
                    if (option == FIELD_OPTIONS[i]) {
                        values[i] = uint(option, arg, 0, FIELDS[i].equals("tag") ? 0xFFFF : 0xFF);
                        if (invert) {
                            inverted |= 1 << i;
                        }
                        return;
                    }
                }
                for (int i = 0; i < SIDS.length; i++) {
                    if (option == SID_OPTIONS[i]) {
                        sids[i] = parseSid(arg, invert);
                    }
                }
            }

            private Sid parseSid(String arg, boolean invert) {
                int slash = arg.indexOf('/');
                String a = slash < 0 ? arg : arg.substring(0, slash);
                long[] v = Addresses.parseIpv6(a);
                if (v == null) {
                    throw XtablesException.parameter("getaddrinfo: Temporary failure in name resolution\n");
                }
                int prefix = 128;
                if (slash >= 0) {
                    long p = Numbers.parseUnsigned(arg.substring(slash + 1), 0, 128);
                    if (p < 0) {
                        throw XtablesException.parameter("invalid mask `" + arg.substring(slash + 1) + "' specified");
                    }
                    prefix = (int) p;
                }
                return new Sid(v[0], v[1], prefix, invert);
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                Long[] out = new Long[FIELDS.length];
                for (int i = 0; i < FIELDS.length; i++) {
                    out[i] = values[i] == null ? -1L : values[i];
                }
                return new Data(List.of(out), inverted, java.util.Arrays.asList(sids.clone()));
            }
        };
    }
}
