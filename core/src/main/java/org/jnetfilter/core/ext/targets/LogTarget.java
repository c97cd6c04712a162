package org.jnetfilter.core.ext.targets;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.SaveText;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.LogSink;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.reply.LogLine;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -j LOG} (libxt_LOG, nf_log_syslog): a kernel log line per packet. Allowed in every table and chain. */
public final class LogTarget extends TargetExtension {
    static final OptionSpec LOG_LEVEL = OptionSpec.withArg("log-level");
    static final OptionSpec LOG_PREFIX = OptionSpec.withArg("log-prefix");
    static final OptionSpec LOG_TCP_SEQUENCE = OptionSpec.flag("log-tcp-sequence");
    static final OptionSpec LOG_TCP_OPTIONS = OptionSpec.flag("log-tcp-options");
    static final OptionSpec LOG_IP_OPTIONS = OptionSpec.flag("log-ip-options");
    static final OptionSpec LOG_UID = OptionSpec.flag("log-uid");
    static final OptionSpec LOG_MACDECODE = OptionSpec.flag("log-macdecode");

    // Linux: XT_LOG_* flags, include/uapi/linux/netfilter/xt_LOG.h
    static final int TCPSEQ = 0x01;
    static final int TCPOPT = 0x02;
    static final int IPOPT = 0x04;
    static final int UID = 0x08;
    static final int MACDECODE = 0x20;
    // Linux: struct xt_log_info prefix[30], NUL included
    static final int PREFIX_MAX = 29;
    // Linux: LOGLEVEL_WARNING, the default
    static final int DEFAULT_LEVEL = 4;

    /** Names iptables prints for levels 0-7 in -L. */
    static final String[] LEVEL_NAMES = {"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"};

    public LogTarget() {
        super("LOG", List.of(LOG_LEVEL, LOG_PREFIX, LOG_TCP_SEQUENCE, LOG_TCP_OPTIONS, LOG_IP_OPTIONS, LOG_UID,
                LOG_MACDECODE));
    }

    /** @param prefix "" for none */
    public record Data(int level, int flags, String prefix) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (!prefix.isEmpty()) {
                out.append(" --log-prefix");
                SaveText.appendQuoted(out, prefix);
            }
            if (level != DEFAULT_LEVEL) {
                out.append(" --log-level ").append(level);
            }
            if ((flags & TCPSEQ) != 0) {
                out.append(" --log-tcp-sequence");
            }
            if ((flags & TCPOPT) != 0) {
                out.append(" --log-tcp-options");
            }
            if ((flags & IPOPT) != 0) {
                out.append(" --log-ip-options");
            }
            if ((flags & UID) != 0) {
                out.append(" --log-uid");
            }
            if ((flags & MACDECODE) != 0) {
                out.append(" --log-macdecode");
            }
        }

        /**
         * xt_LOG log_tg: writes the kernel log line ({@link LogLine}) at the rule's level to the packet's
         * {@link LogSink} and goes on with the next rule. Nothing is formatted when the sink discards.
         */
        @Override
        public int apply(PacketContext pkt) {
            LogSink sink = pkt.logSink();
            if (sink != LogSink.NONE) {
                sink.log(level, LogLine.format(pkt, prefix, flags));
            }
            return Verdict.CONTINUE;
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" LOG");
            if (numeric) {
                out.append(" flags ").append(flags).append(" level ").append(level);
            } else {
                out.append(" level ").append(level < LEVEL_NAMES.length ? LEVEL_NAMES[level] : "UNKNOWN");
                if ((flags & TCPSEQ) != 0) {
                    out.append(" tcp-sequence");
                }
                if ((flags & TCPOPT) != 0) {
                    out.append(" tcp-options");
                }
                if ((flags & IPOPT) != 0) {
                    out.append(" ip-options");
                }
                if ((flags & UID) != 0) {
                    out.append(" uid");
                }
                if ((flags & MACDECODE) != 0) {
                    out.append(" macdecode");
                }
            }
            if (!prefix.isEmpty()) {
                out.append(" prefix \"").append(prefix).append('"');
            }
        }
    }

    /** xtables' syslog level names, or a number 0-7; -1 when neither. */
    static int parseLevel(String s) {
        switch (s) {
            case "emerg", "panic":
                return 0;
            case "alert":
                return 1;
            case "crit":
                return 2;
            case "error":
                return 3;
            case "warning":
                return 4;
            case "notice":
                return 5;
            case "info":
                return 6;
            case "debug":
                return 7;
            default:
                return (int) Numbers.parseUnsigned(s, 0, 7);
        }
    }

    /** An x6 string option: at least one character, silently cut to the kernel field's size. */
    static String boundedString(String arg, int max) {
        if (arg.isEmpty()) {
            throw XtablesException.parameter("Argument must have a minimum length of 1 characters\n");
        }
        byte[] b = arg.getBytes(StandardCharsets.UTF_8);
        return b.length <= max ? arg : new String(b, 0, max, StandardCharsets.UTF_8);
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int level = DEFAULT_LEVEL;
            private int flags;
            private String prefix = "";

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (option == LOG_LEVEL) {
                    level = parseLevel(arg);
                    if (level < 0) {
                        throw XtablesException.parameter("log level \"" + arg + "\" unknown\n");
                    }
                } else if (option == LOG_PREFIX) {
                    prefix = boundedString(arg, PREFIX_MAX);
                } else if (option == LOG_TCP_SEQUENCE) {
                    flags |= TCPSEQ;
                } else if (option == LOG_TCP_OPTIONS) {
                    flags |= TCPOPT;
                } else if (option == LOG_IP_OPTIONS) {
                    flags |= IPOPT;
                } else if (option == LOG_UID) {
                    flags |= UID;
                } else {
                    flags |= MACDECODE;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(level, flags, prefix);
            }
        };
    }
}
