package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.SaveText;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m nfacct --nfacct-name NAME} (libxt_nfacct, xt_nfacct): counts into a nfnetlink accounting
 * object that {@code nfacct add NAME} made. jnetfilter keeps no accounting objects, so the kernel's
 * checkentry finds none and refuses every such rule, as Linux does for a name nobody added; the match
 * therefore never reaches the packet path.
 */
public final class NfacctMatch extends MatchExtension {
    static final OptionSpec NFACCT_NAME = OptionSpec.withArg("nfacct-name");
    // Linux: NFACCT_NAME_MAX = 32, the terminating NUL included
    static final int NAME_MAX = 32;

    public NfacctMatch() {
        super("nfacct", List.of(NFACCT_NAME));
    }

    public record Data(String name) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --nfacct-name");
            SaveText.appendQuoted(out, name);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" nfacct-name");
            SaveText.appendQuoted(out, name);
        }

        /** nfacct_mt_checkentry: nfnl_acct_find_get finds no object of that name (ENOENT). */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            throw XtablesException.kernel("No chain/target/match by that name");
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private String name;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (arg.isEmpty()) {
                    throw XtablesException.parameter("Argument must have a minimum length of 1 characters\n");
                }
                if (arg.indexOf('\n') >= 0) {
                    throw XtablesException.parameter("Newlines not allowed in --nfacct-name");
                }
                // Linux: xtopt_parse_string cuts the name to the field, NUL included
                name = arg.length() < NAME_MAX ? arg : arg.substring(0, NAME_MAX - 1);
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("nfacct-name");
                return new Data(name);
            }
        };
    }
}
