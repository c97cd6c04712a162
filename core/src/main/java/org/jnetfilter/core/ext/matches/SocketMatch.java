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

/** {@code -m socket} (libxt_socket revision 3, xt_socket): a local socket exists for the packet. */
public final class SocketMatch extends MatchExtension {
    static final OptionSpec TRANSPARENT = OptionSpec.flag("transparent");
    static final OptionSpec NOWILDCARD = OptionSpec.flag("nowildcard");
    static final OptionSpec RESTORE_SKMARK = OptionSpec.flag("restore-skmark");

    // Linux: xt_socket.h XT_SOCKET_TRANSPARENT, XT_SOCKET_NOWILDCARD, XT_SOCKET_RESTORESKMARK
    public static final int FLAG_TRANSPARENT = 1;
    public static final int FLAG_NOWILDCARD = 2;
    public static final int FLAG_RESTORE_SKMARK = 4;

    public SocketMatch() {
        super("socket", List.of(TRANSPARENT, NOWILDCARD, RESTORE_SKMARK));
    }

    public record Data(int flags) implements ExtensionData {
        /**
         * xt_socket: the packet matches when a local socket would receive it (an established one, or a
         * listening one unless --nowildcard, transparent with --transparent). jnetfilter has no sockets, so
         * no lookup finds one and the match is false; the match has no negation.
         */
        @Override
        public boolean matches(org.jnetfilter.core.netfilter.PacketContext pkt) {
            // Linux: socket_match: sk == NULL -> false
            return false;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            append(out);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" socket");
            append(out);
        }

        private void append(StringBuilder out) {
            if ((flags & FLAG_TRANSPARENT) != 0) {
                out.append(" --transparent");
            }
            if ((flags & FLAG_NOWILDCARD) != 0) {
                out.append(" --nowildcard");
            }
            if ((flags & FLAG_RESTORE_SKMARK) != 0) {
                out.append(" --restore-skmark");
            }
        }

        /** xt_socket registers for PREROUTING and INPUT only. */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if ((hookMask & ~(Hook.PREROUTING.bit() | Hook.INPUT.bit())) != 0) {
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
                flags |= option == TRANSPARENT ? FLAG_TRANSPARENT
                        : option == NOWILDCARD ? FLAG_NOWILDCARD : FLAG_RESTORE_SKMARK;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(flags);
            }
        };
    }
}
