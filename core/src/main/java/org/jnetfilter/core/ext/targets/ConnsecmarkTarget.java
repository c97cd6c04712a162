package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j CONNSECMARK --save|--restore} (libxt_CONNSECMARK, xt_CONNSECMARK.c): copies the security mark
 * between packet and connection. Mangle and security tables only. The kernel accepts it without an LSM (Linux
 * 6.18 with none loaded, checked); there no packet ever has a secmark (SECMARK is refused), so it changes
 * nothing. See {@link SecmarkTarget} for the security ids jnetfilter gives.
 */
public final class ConnsecmarkTarget extends TargetExtension {
    static final OptionSpec SAVE = OptionSpec.flag("save");
    static final OptionSpec RESTORE = OptionSpec.flag("restore");

    // Linux: CONNSECMARK_SAVE = 1, CONNSECMARK_RESTORE = 2
    public static final int MODE_SAVE = 1;
    public static final int MODE_RESTORE = 2;

    public ConnsecmarkTarget() {
        super("CONNSECMARK", List.of(SAVE, RESTORE));
    }

    public record Data(int mode) implements ExtensionData {
        /**
         * xt_CONNSECMARK connsecmark_tg: --save copies a packet's secmark to its connection when the packet has
         * one and the connection has none yet (secmark_save); --restore copies the connection's to a packet
         * that has none (secmark_restore). A packet without a connection is left alone. Next rule either way.
         */
        @Override
        public int apply(PacketContext pkt) {
            Connection c = pkt.conntrack();
            if (c != null) {
                if (mode == MODE_SAVE) {
                    if (pkt.secmark() != 0 && c.secmark() == 0) {
                        c.secmark(pkt.secmark());
                    }
                } else if (pkt.secmark() == 0 && c.secmark() != 0) {
                    pkt.secmark(c.secmark());
                }
            }
            return Verdict.CONTINUE;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(mode == MODE_SAVE ? " --save" : " --restore");
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(mode == MODE_SAVE ? " CONNSECMARK save" : " CONNSECMARK restore");
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (!table.equals("mangle") && !table.equals("security")) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int mode;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                mode = option == SAVE ? MODE_SAVE : MODE_RESTORE;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (mode == 0) {
                    throw XtablesException.parameter("CONNSECMARK target: parameter required");
                }
                exclusive("restore", "save");
                return new Data(mode);
            }
        };
    }
}
