package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -m quota} (libxt_quota, xt_quota): matches until a byte budget is spent; quota is unsigned 64-bit. */
public final class QuotaMatch extends MatchExtension {
    static final OptionSpec QUOTA = OptionSpec.withArg("quota");

    public QuotaMatch() {
        super("quota", List.of(QUOTA));
    }

    public record Data(long quota, boolean invert) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(invert ? " ! --quota " : " --quota ").append(Long.toUnsignedString(quota));
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" quota: ").append(Long.toUnsignedString(quota)).append(" bytes");
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long quota;
            private boolean invert;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                once(option);
                // parseStrtoul answers -1 for errors, which is also the bit pattern of the largest quota
                long v = Numbers.parseStrtoul(arg);
                String t = arg.strip();
                if (v == -1 && !t.equals("18446744073709551615") && !t.equalsIgnoreCase("0xffffffffffffffff")) {
                    throw XtablesException.parameter("quota: bad value for option \"--quota\", "
                            + "or out of range (0-18446744073709551615).\n");
                }
                quota = v;
                invert = inv;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("quota");
                return new Data(quota, invert);
            }
        };
    }
}
