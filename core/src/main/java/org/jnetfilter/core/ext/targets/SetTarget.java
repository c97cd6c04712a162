package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j SET --add-set/--del-set/--map-set NAME FLAGS} (libxt_SET revision 3, xt_set). Without ipset no set
 * exists, so parsing ends in iptables' "Set NAME doesn't exist.".
 */
public final class SetTarget extends TargetExtension {
    static final OptionSpec ADD_SET = OptionSpec.withArg("add-set");
    static final OptionSpec DEL_SET = OptionSpec.withArg("del-set");
    static final OptionSpec EXIST = OptionSpec.flag("exist");
    static final OptionSpec TIMEOUT = OptionSpec.withArg("timeout");
    static final OptionSpec MAP_SET = OptionSpec.withArg("map-set");
    static final OptionSpec MAP_MARK = OptionSpec.flag("map-mark");
    static final OptionSpec MAP_PRIO = OptionSpec.flag("map-prio");
    static final OptionSpec MAP_QUEUE = OptionSpec.flag("map-queue");

    // ipset: IPSET_MAXNAMELEN = 32
    static final int MAX_NAME = 31;

    public SetTarget() {
        super("SET", List.of(ADD_SET, DEL_SET, EXIST, TIMEOUT, MAP_SET, MAP_MARK, MAP_PRIO, MAP_QUEUE));
    }

    /** Never built while no set can exist; kept so the type is complete. */
    public record Data(String option, String set, String flags) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --").append(option).append(' ').append(set).append(' ').append(flags);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(' ').append(option).append(' ').append(set).append(' ').append(flags);
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                if (option == ADD_SET || option == DEL_SET || option == MAP_SET) {
                    String flags = c.peekWord();
                    if (flags == null || flags.startsWith("-") || flags.startsWith("!")) {
                        throw XtablesException.parameter("--" + option.name() + " requires two args.");
                    }
                    c.nextWord();
                    if (arg.length() > MAX_NAME) {
                        throw XtablesException.parameter("setname `" + arg + "' too long, max " + MAX_NAME
                                + " characters.");
                    }
                    throw XtablesException.parameter("Set " + arg + " doesn't exist.\n");
                }
                mark(option);
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                throw XtablesException.parameter(
                        "You must specify either `--add-set' or `--del-set' or `--map-set'");
            }
        };
    }
}
