package org.jnetfilter.core.ext.matches;

import java.util.EnumSet;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.rules.Family;

/** {@code -m hbh --hbh-len N --hbh-opts TYPE[:LEN],...} (libip6t_hbh, ip6t_hbh.c): see {@link Ipv6OptionsHeader}. */
public final class HbhMatch extends MatchExtension {
    static final OptionSpec LEN = OptionSpec.withArg("hbh-len");
    static final OptionSpec OPTS = OptionSpec.withArg("hbh-opts");

    public HbhMatch() {
        super("hbh", EnumSet.of(Family.IPV6), List.of(LEN, OPTS));
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new Ipv6OptionsHeader.Parser(name(), LEN);
    }
}
