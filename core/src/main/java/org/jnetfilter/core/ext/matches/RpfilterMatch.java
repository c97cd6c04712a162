package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -m rpfilter} (libxt_rpfilter, ipt_rpfilter/ip6t_rpfilter): reverse-path lookup of the source. */
public final class RpfilterMatch extends MatchExtension {
    static final OptionSpec LOOSE = OptionSpec.flag("loose");
    static final OptionSpec VALIDMARK = OptionSpec.flag("validmark");
    static final OptionSpec ACCEPT_LOCAL = OptionSpec.flag("accept-local");
    static final OptionSpec INVERT = OptionSpec.flag("invert");

    // Linux: xt_rpfilter.h XT_RPFILTER_LOOSE, _VALID_MARK, _ACCEPT_LOCAL, _INVERT
    private static final OptionSpec[] BY_BIT = {LOOSE, VALIDMARK, ACCEPT_LOCAL, INVERT};

    public RpfilterMatch() {
        super("rpfilter", List.of(LOOSE, VALIDMARK, ACCEPT_LOCAL, INVERT));
    }

    public record Data(int flags) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            for (int i = 0; i < BY_BIT.length; i++) {
                if ((flags & (1 << i)) != 0) {
                    out.append(" --").append(BY_BIT[i].name());
                }
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" rpfilter");
            for (int i = 0; i < BY_BIT.length; i++) {
                if ((flags & (1 << i)) != 0) {
                    out.append(' ').append(BY_BIT[i].name());
                }
            }
        }

        /** rpfilter_check: only in the raw and mangle tables, only in PREROUTING. */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (!table.equals("mangle") && !table.equals("raw")) {
                throw XtablesException.invalidArgument();
            }
            if ((hookMask & ~Hook.PREROUTING.bit()) != 0) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int flags;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                for (int i = 0; i < BY_BIT.length; i++) {
                    if (BY_BIT[i] == option) {
                        flags |= 1 << i;
                    }
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(flags);
            }
        };
    }
}
