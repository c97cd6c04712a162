package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m set --match-set NAME FLAGS} (libxt_set revision 4, xt_set). Without ipset no set exists, so parsing
 * ends in iptables' "Set NAME doesn't exist." (see {@link IpsetNames}).
 */
public final class SetMatch extends MatchExtension {
    static final OptionSpec MATCH_SET = OptionSpec.withArg("match-set");
    static final OptionSpec SET = OptionSpec.withArg("set");
    static final OptionSpec RETURN_NOMATCH = OptionSpec.flag("return-nomatch");
    static final OptionSpec UPDATE_COUNTERS = OptionSpec.flag("update-counters");
    static final OptionSpec UPDATE_SUBCOUNTERS = OptionSpec.flag("update-subcounters");
    static final OptionSpec PACKETS_EQ = OptionSpec.withArg("packets-eq");
    static final OptionSpec PACKETS_LT = OptionSpec.withArg("packets-lt");
    static final OptionSpec PACKETS_GT = OptionSpec.withArg("packets-gt");
    static final OptionSpec BYTES_EQ = OptionSpec.withArg("bytes-eq");
    static final OptionSpec BYTES_LT = OptionSpec.withArg("bytes-lt");
    static final OptionSpec BYTES_GT = OptionSpec.withArg("bytes-gt");

    public SetMatch() {
        super("set", List.of(MATCH_SET, SET, RETURN_NOMATCH, UPDATE_COUNTERS, UPDATE_SUBCOUNTERS, PACKETS_EQ,
                PACKETS_LT, PACKETS_GT, BYTES_EQ, BYTES_LT, BYTES_GT));
    }

    /** Never built while no set can exist; kept so the type is complete. */
    public record Data(String set, String flags, boolean invert) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(invert ? " ! --match-set " : " --match-set ").append(set).append(' ').append(flags);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(invert ? " ! match-set " : " match-set ").append(set).append(' ').append(flags);
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                if (option == SET) {
                    c.warn("--set option deprecated, please use --match-set");
                }
                if (option == MATCH_SET || option == SET) {
                    IpsetNames.requireTwoArgs(option.name(), arg, c);
                }
                mark(option);
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                throw XtablesException.parameter("You must specify `--match-set' with proper arguments");
            }
        };
    }
}
