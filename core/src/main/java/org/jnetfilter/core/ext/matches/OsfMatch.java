package org.jnetfilter.core.ext.matches;

import java.util.EnumSet;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -m osf} (libxt_osf, xt_osf; IPv4 only): passive OS fingerprinting of TCP SYNs.
 *
 * <p>Packet semantics, nf_osf_match with the fingerprint list empty: Linux keeps the fingerprints in one list for
 * the whole machine, filled only by {@code nfnl_osf} (the {@code nfnl_osf -f pf.os} tool), and with no fingerprint
 * loaded no packet matches, {@code !} or not (the kernel never reads NF_OSF_INVERT; checked on Linux 6.18). This
 * model loads no fingerprints, so the match is always false. With {@code --log} (any level) every TCP SYN the
 * match sees is logged through nf_log_packet's default logger: level 5, flags 0x0f (TCP sequence, TCP and IP
 * options, UID), the prefix {@code "Remote OS is not known: SRC:SPT -> DST:DPT\n"} (one record over two lines in
 * dmesg; checked on Linux 6.18). Packet thread; allocates only to format a log line.
 */
public final class OsfMatch extends MatchExtension {
    static final OptionSpec GENRE = OptionSpec.withArg("genre");
    static final OptionSpec TTL = OptionSpec.withArg("ttl");
    static final OptionSpec LOG = OptionSpec.withArg("log");

    // Linux: nf_log_syslog's default_loginfo: LOGLEVEL_NOTICE, NF_LOG_DEFAULT_MASK
    static final int DEFAULT_LOG_LEVEL = 5;
    static final int DEFAULT_LOG_FLAGS = 0x0f;

    // Linux: MAXGENRELEN = 32
    static final int MAX_GENRE = 31;

    public OsfMatch() {
        super("osf", EnumSet.of(Family.IPV4), List.of(GENRE, TTL, LOG));
    }

    /** ttl and log are -1 when not given. */
    public record Data(String genre, boolean invert, int ttl, int log) implements ExtensionData {
        @Override
        public boolean matches(org.jnetfilter.core.netfilter.PacketContext pkt) {
            if (log >= 0) {
                logUnknown(pkt);
            }
            // Linux: nf_osf_fingers is empty until nfnl_osf loads fingerprints, and INVERT is never read
            return false;
        }

        /**
         * nf_osf_match's "Remote OS is not known" for a SYN (nf_osf_hdr_ctx_init gives up on a TCP header cut short
         * and on anything but a SYN).
         */
        private static void logUnknown(org.jnetfilter.core.netfilter.PacketContext pkt) {
            org.jnetfilter.core.netfilter.LogSink sink = pkt.logSink();
            int tcp = (pkt.networkU8(0) & 0x0F) << 2;
            if (sink == org.jnetfilter.core.netfilter.LogSink.NONE || tcp + 20 > pkt.length()
                    || (pkt.networkU8(tcp + 13) & 0x02) == 0) {
                return;
            }
            String prefix = "Remote OS is not known: " + org.jnetfilter.core.rules.AddressText.ipv4((int) pkt.sourceLo())
                    + ":" + pkt.networkU16(tcp) + " -> "
                    + org.jnetfilter.core.rules.AddressText.ipv4((int) pkt.destinationLo()) + ":"
                    + pkt.networkU16(tcp + 2) + "\n";
            sink.log(DEFAULT_LOG_LEVEL, org.jnetfilter.core.reply.LogLine.format(pkt, prefix, DEFAULT_LOG_FLAGS));
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(invert ? " ! --genre " : " --genre ").append(genre);
            if (ttl >= 0) {
                out.append(" --ttl ").append(ttl);
            }
            if (log >= 0) {
                out.append(" --log ").append(log);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" OS fingerprint match ").append(invert ? "! " : "").append(genre);
        }

        /** xt_osf: TCP only, in PREROUTING, INPUT and FORWARD. */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (ip.protocol() != Protocols.TCP || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
            if ((hookMask & ~(Hook.PREROUTING.bit() | Hook.INPUT.bit() | Hook.FORWARD.bit())) != 0) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private String genre;
            private boolean invert;
            private int ttl = -1;
            private int log = -1;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                if (option == GENRE) {
                    once(option);
                    if (arg.length() > MAX_GENRE) {
                        throw XtablesException.parameter("osf: option \"--genre\" is too long (max: " + MAX_GENRE
                                + ")\n");
                    }
                    genre = arg;
                    invert = inv;
                } else if (option == TTL) {
                    plain(option, inv);
                    ttl = (int) uint(option, arg, 0, 2);
                } else {
                    plain(option, inv);
                    log = (int) uint(option, arg, 0, 2);
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("genre");
                return new Data(genre, invert, ttl, log);
            }
        };
    }
}
