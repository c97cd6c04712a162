package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m connbytes} (libxt_connbytes, xt_connbytes.c): packets, bytes or average packet size a
 * connection has seen so far, in one or both directions, within a range.
 */
public final class ConnbytesMatch extends MatchExtension {
    static final OptionSpec CONNBYTES = OptionSpec.withArg("connbytes");
    static final OptionSpec DIR = OptionSpec.withArg("connbytes-dir");
    static final OptionSpec MODE = OptionSpec.withArg("connbytes-mode");

    /** Linux: XT_CONNBYTES_PKTS, _BYTES, _AVGPKT. */
    static final String[] MODES = {"packets", "bytes", "avgpkt"};
    /** Linux: XT_CONNBYTES_DIR_ORIGINAL, _REPLY, _BOTH. */
    static final String[] DIRS = {"original", "reply", "both"};

    static final long U64_MAX = -1L;

    public ConnbytesMatch() {
        super("connbytes", List.of(CONNBYTES, DIR, MODE));
    }

    /**
     * As struct xt_connbytes_info keeps it: a negated range is stored with from and to swapped, so
     * {@code from > to} (unsigned) means "not in to..from". A single value has {@code to} = 2^64-1.
     */
    public record Data(long from, long to, int what, int direction) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            print(out, "--connbytes ", " --connbytes-mode ", " --connbytes-dir ");
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            print(out, "connbytes ", " connbytes mode ", " connbytes direction ");
        }

        /**
         * xt_connbytes connbytes_mt: the connection's packets, bytes or average packet size in the chosen
         * direction(s), in [from, to] (unsigned), or outside [to, from] when negated; false without an entry
         * or without counters (a connection created before accounting was on).
         */
        @Override
        public boolean matches(PacketContext pkt) {
            Connection ct = pkt.conntrack();
            if (ct == null || !ct.hasCounters()) {
                return false;
            }
            long what = 0;
            long packets = switch (direction) {
                case 0 -> ct.packets(0);
                case 1 -> ct.packets(1);
                default -> ct.packets(0) + ct.packets(1);
            };
            long bytes = switch (direction) {
                case 0 -> ct.bytes(0);
                case 1 -> ct.bytes(1);
                default -> ct.bytes(0) + ct.bytes(1);
            };
            switch (this.what) {
                case 0 -> what = packets;
                case 1 -> what = bytes;
                default -> {
                    if (packets != 0) {
                        what = Long.divideUnsigned(bytes, packets);
                    }
                }
            }
            if (Long.compareUnsigned(to, from) >= 0) {
                return Long.compareUnsigned(what, to) <= 0 && Long.compareUnsigned(what, from) >= 0;
            }
            return Long.compareUnsigned(what, to) < 0 || Long.compareUnsigned(what, from) > 0;
        }

        public boolean inverted() {
            return Long.compareUnsigned(from, to) > 0;
        }

        private void print(StringBuilder out, String count, String mode, String dir) {
            long lo = inverted() ? to : from;
            long hi = inverted() ? from : to;
            out.append(inverted() ? " ! " : " ").append(count).append(Long.toUnsignedString(lo));
            if (hi != U64_MAX) {
                out.append(':').append(Long.toUnsignedString(hi));
            }
            out.append(mode).append(MODES[what]).append(dir).append(DIRS[direction]);
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long from;
            private long to;
            private int what;
            private int direction;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                if (option == CONNBYTES) {
                    once(option);
                    long[] r = ConntrackValues.uintRange(extName, option.name(), arg, U64_MAX);
                    boolean two = arg.indexOf(':') >= 0;
                    from = r[0];
                    to = two ? r[1] : U64_MAX;
                    if (invert) {
                        long t = from;
                        from = to;
                        to = t;
                    }
                } else if (option == MODE) {
                    plain(option, invert);
                    what = index(MODES, arg, "--connbytes-mode");
                } else {
                    plain(option, invert);
                    direction = index(DIRS, arg, "--connbytes-dir");
                }
            }

            private int index(String[] names, String arg, String opt) {
                for (int i = 0; i < names.length; i++) {
                    if (names[i].equals(arg)) {
                        return i;
                    }
                }
                throw XtablesException.parameter("Unknown " + opt + " `" + arg + "'");
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("connbytes");
                mandatory("connbytes-dir");
                mandatory("connbytes-mode");
                return new Data(from, to, what, direction);
            }
        };
    }
}
