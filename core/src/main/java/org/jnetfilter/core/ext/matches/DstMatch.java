package org.jnetfilter.core.ext.matches;

import java.util.EnumSet;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.rules.Family;

/** {@code -m dst --dst-len N --dst-opts TYPE[:LEN],...} (libip6t_dst, ip6t_hbh.c): see {@link Ipv6OptionsHeader}. */
public final class DstMatch extends MatchExtension {
    static final OptionSpec LEN = OptionSpec.withArg("dst-len");
    static final OptionSpec OPTS = OptionSpec.withArg("dst-opts");

    public DstMatch() {
        super("dst", EnumSet.of(Family.IPV6), List.of(LEN, OPTS));
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new Ipv6OptionsHeader.Parser(name(), LEN);
    }
}
