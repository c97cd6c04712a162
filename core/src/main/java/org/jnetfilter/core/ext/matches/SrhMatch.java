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
