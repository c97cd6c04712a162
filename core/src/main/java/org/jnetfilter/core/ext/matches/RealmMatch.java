package org.jnetfilter.core.ext.matches;

import java.util.EnumSet;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -m realm} (libxt_realm, xt_realm; IPv4 only): the route's realm id under a mask. */
public final class RealmMatch extends MatchExtension {
    static final OptionSpec REALM = OptionSpec.withArg("realm");

    public RealmMatch() {
        super("realm", EnumSet.of(Family.IPV4), List.of(REALM));
    }

    public record Data(long id, long mask, boolean invert) implements ExtensionData {
        /**
         * xt_realm realm_mt: {@code id == (dst->tclassid & mask)}. This model's routes carry no realms,
         * so the route's tclassid is always 0.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            long tclassid = 0;
            return (id == (tclassid & mask)) != invert;
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(invert ? " ! --realm" : " --realm");
            appendRealm(out, false);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(invert ? " ! realm" : " realm");
            appendRealm(out, numeric);
        }

        private void appendRealm(StringBuilder out, boolean numeric) {
            String name = mask == 0xFFFFFFFFL && !numeric ? RealmNames.name(id) : null;
            if (name != null) {
                out.append(' ').append(name);
                return;
            }
            out.append(" 0x").append(Long.toHexString(id));
            if (mask != 0xFFFFFFFFL) {
                out.append("/0x").append(Long.toHexString(mask));
            }
        }

        /** xt_realm hooks: POSTROUTING, FORWARD, OUTPUT, INPUT (not PREROUTING). */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if ((hookMask & Hook.PREROUTING.bit()) != 0) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long id;
            private long mask = 0xFFFFFFFFL;
            private boolean invert;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                once(option);
                invert = inv;
                int slash = arg.indexOf('/');
                String idText = slash >= 0 ? arg.substring(0, slash) : arg;
                long v = Numbers.parseUnsigned(idText, 0, 0xFFFFFFFFL);
                if (v < 0) {
                    v = RealmNames.lookup(idText);
                }
                if (v < 0) {
                    throw XtablesException.parameter("realm: could not map name " + arg
                            + " to an integer value for option \"--realm\".\n");
                }
                id = v;
                if (slash >= 0) {
                    long m = Numbers.parseUnsigned(arg.substring(slash + 1), 0, 0xFFFFFFFFL);
                    if (m < 0) {
                        throw XtablesException.parameter(
                                "realm: bad integer value for option \"--realm\", or out of range.\n");
                    }
                    mask = m;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("realm");
                return new Data(id, mask, invert);
            }
        };
    }
}
