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
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.OsfFingerprints;
import org.jnetfilter.core.netfilter.LogSink;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.reply.LogLine;
import org.jnetfilter.core.rules.AddressText;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -m osf} (libxt_osf, xt_osf; IPv4 only): passive OS fingerprinting of TCP SYNs.
 *
 * <p>Packet semantics, nf_osf_match over the host's fingerprints ({@link Host#osfFingerprints()}: Linux keeps them in
 * one list for the whole machine, filled by {@code nfnl_osf -f pf.os}; a HOST file's {@code nfnl_osf} line here),
 * those whose DF bit is the packet's, in load order. Only a TCP SYN (SYN set, ACK or not) is looked at. A
 * fingerprint fits when the IP total length is its size, the TTL passes ({@code --ttl 0} or no {@code --ttl}: equal;
 * 1: not above the fingerprint's; 2: not checked), the TCP options are as long as its options and each starts with
 * its option's kind (stepping by the fingerprint's lengths; the MSS read from the packet's MSS option), and the
 * window is right: its value (0: any), a multiple of the MSS (or of 1460 or 1448), of the MTU (MSS + 40, 1500 or
 * 1488), or a multiple of the value. Without {@code --log} the match is true when a fingerprint of the genre fits;
 * with {@code --log} the genre is not compared: any fitting fingerprint makes it true and is logged
 * ({@code "GENRE [VERSION:SUBTYPE] : SRC:SPT -> DST:DPT hops=FTTL-TTL\n"}; level 1 logs the first only), and a SYN
 * none fits is logged as {@code "Remote OS is not known: SRC:SPT -> DST:DPT\n"}; both through nf_log_packet's
 * default logger: level 5, flags 0x0f (checked on Linux 6.18). {@code !} changes nothing (the kernel never reads
 * NF_OSF_INVERT; checked on Linux 6.18). Each fingerprint compares the options from their start (Linux 6.18 logs
 * every fitting fingerprint at level 0: older kernels left the options cursor behind after a fit). Packet thread; allocates only to format a log line.
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
    // Linux: NF_OSF_TTL_TRUE, NF_OSF_TTL_NOCHECK, NF_OSF_LOGLEVEL_FIRST, MAX_IPOPTLEN, TCPOPT_MSS, SMART_MSS_1/2
    static final int NF_OSF_TTL_TRUE = 0;
    static final int NF_OSF_TTL_NOCHECK = 2;
    static final int NF_OSF_LOGLEVEL_FIRST = 1;
    static final int MAX_IPOPTLEN = 40;
    static final int TCPOPT_MSS = 2;
    static final long SMART_MSS_1 = 1460;
    static final long SMART_MSS_2 = 1448;

    public OsfMatch() {
        super("osf", EnumSet.of(Family.IPV4), List.of(GENRE, TTL, LOG));
    }

    /** ttl and log are -1 when not given. */
    public record Data(String genre, boolean invert, int ttl, int log) implements ExtensionData {
        @Override
        public boolean matches(PacketContext pkt) {
            // Linux: nf_osf_hdr_ctx_init gives up on a TCP header cut short and on anything but a SYN
            int tcp = (pkt.networkU8(0) & 0x0F) << 2;
            if (tcp + 20 > pkt.length() || (pkt.networkU8(tcp + 13) & 0x02) == 0) {
                return false;
            }
            Host host = pkt.host();
            boolean df = (pkt.networkU16(6) & 0x4000) != 0;
            List<OsfFingerprints.Fingerprint> candidates = host == null ? List.of()
                    : host.osfFingerprints().withDf(df);
            if (candidates.isEmpty() && log < 0) {
                return false;
            }
            int optionsAt = tcp + 20;
            int optionsLength = Math.max(0, ((pkt.networkU8(tcp + 12) >>> 4) << 2) - 20);
            // Linux: ttl_check is the --ttl value, NF_OSF_TTL_TRUE (0) without it
            int ttlCheck = ttl >= 0 ? ttl : NF_OSF_TTL_TRUE;
            int fits = 0;
            for (OsfFingerprints.Fingerprint f : candidates) {
                if (log < 0 && !genre.equals(f.genre())) {
                    continue;
                }
                if (!fits(pkt, f, ttlCheck, tcp, optionsLength, optionsAt)) {
                    continue;
                }
                fits++;
                if (log >= 0) {
                    log(pkt, f.genre() + " [" + f.version() + ":" + f.subtype() + "] : " + endpoints(pkt, tcp)
                            + " hops=" + (f.ttl() - pkt.networkU8(8)) + "\n");
                    if (log == NF_OSF_LOGLEVEL_FIRST) {
                        break;
                    }
                }
            }
            if (fits == 0 && log >= 0) {
                log(pkt, "Remote OS is not known: " + endpoints(pkt, tcp) + "\n");
            }
            return fits > 0;
        }

        /** nf_osf_match_one: whether fingerprint {@code f} fits the SYN whose options start at {@code options}. */
        private static boolean fits(PacketContext pkt, OsfFingerprints.Fingerprint f, int ttlCheck, int tcp,
                int optionsLength, int options) {
            int ttl = pkt.networkU8(8);
            if (pkt.networkU16(2) != f.size()) {
                return false;
            }
            boolean ttlOk = switch (ttlCheck) {
                case NF_OSF_TTL_TRUE -> ttl == f.ttl();
                case NF_OSF_TTL_NOCHECK -> true;
                // Linux: above the fingerprint's TTL only a sender on a local subnet could pass, and only with an
                // equal TTL: never
                default -> ttl <= f.ttl();
            };
            if (!ttlOk) {
                return false;
            }
            int expected = f.optionsLength();
            if (expected > MAX_IPOPTLEN || optionsLength > MAX_IPOPTLEN || optionsLength != expected) {
                return false;
            }
            int at = options;
            int mss = 0;
            boolean optionsOk = true;
            for (OsfFingerprints.Option o : f.options()) {
                if (at >= pkt.length() || pkt.networkU8(at) != o.kind()) {
                    optionsOk = false;
                    break;
                }
                if (o.kind() == TCPOPT_MSS && at + 4 <= pkt.length()) {
                    mss = pkt.networkU16(at + 2);
                }
                at += o.length();
            }
            boolean ok = false;
            if (optionsOk) {
                long window = pkt.networkU16(tcp + 14);
                long v = f.window();
                ok = switch (f.windowKind()) {
                    case OsfFingerprints.WSS_PLAIN -> v == 0 || window == v;
                    case OsfFingerprints.WSS_MSS -> window == ((v * mss) & 0xFFFFFFFFL)
                            || window == ((v * SMART_MSS_1) & 0xFFFFFFFFL) || window == ((v * SMART_MSS_2) & 0xFFFFFFFFL);
                    case OsfFingerprints.WSS_MTU -> window == ((v * (mss + 40)) & 0xFFFFFFFFL)
                            || window == ((v * (SMART_MSS_1 + 40)) & 0xFFFFFFFFL)
                            || window == ((v * (SMART_MSS_2 + 40)) & 0xFFFFFFFFL);
                    case OsfFingerprints.WSS_MODULO -> v != 0 && window % v == 0;
                    default -> false;
                };
            }
            return ok;
        }

        private static String endpoints(PacketContext pkt, int tcp) {
            return AddressText.ipv4((int) pkt.sourceLo()) + ":" + pkt.networkU16(tcp) + " -> "
                    + AddressText.ipv4((int) pkt.destinationLo()) + ":" + pkt.networkU16(tcp + 2);
        }

        /** nf_log_packet with the default logger (the osf match passes no loginfo). */
        private static void log(PacketContext pkt, String prefix) {
            LogSink sink = pkt.logSink();
            if (sink != LogSink.NONE) {
                sink.log(DEFAULT_LOG_LEVEL, LogLine.format(pkt, prefix, DEFAULT_LOG_FLAGS));
            }
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
