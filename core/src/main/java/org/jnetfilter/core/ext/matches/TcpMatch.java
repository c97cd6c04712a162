package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -m tcp} (libxt_tcp, xt_tcpudp.c tcp_mt): ports, flags, one TCP option. Loaded implicitly by
 * {@code -p tcp} when one of its options follows.
 */
public final class TcpMatch extends MatchExtension {
    static final OptionSpec SOURCE_PORT = OptionSpec.withArg("source-port");
    static final OptionSpec SPORT = OptionSpec.withArg("sport");
    static final OptionSpec DESTINATION_PORT = OptionSpec.withArg("destination-port");
    static final OptionSpec DPORT = OptionSpec.withArg("dport");
    static final OptionSpec SYN = OptionSpec.flag("syn");
    static final OptionSpec TCP_FLAGS = OptionSpec.withArg("tcp-flags");
    static final OptionSpec TCP_OPTION = OptionSpec.withArg("tcp-option");

    // Linux: TCP flag bits in header byte 13; iptables knows these six by name, plus ALL and NONE
    static final String[] FLAG_NAMES = {"FIN", "SYN", "RST", "PSH", "ACK", "URG"};
    static final int ALL_FLAGS = 0x3F;
    static final int SYN_MASK = 0x01 | 0x02 | 0x04 | 0x10;
    static final int SYN_COMP = 0x02;

    // Linux: sizeof(struct tcphdr); the flags are byte 13, the data offset the high nibble of byte 12
    static final int HEADER = 20;
    static final int FLAGS_BYTE = 13;
    static final int DATA_OFFSET_BYTE = 12;

    public TcpMatch() {
        super("tcp", List.of(SOURCE_PORT, SPORT, DESTINATION_PORT, DPORT, SYN, TCP_FLAGS, TCP_OPTION));
    }

    /**
     * @param option 0 when not matched on
     */
    public record Data(PortRange sport, PortRange dport, int option, boolean optionInverted,
                       int flagMask, int flagComp, boolean flagsInverted) implements ExtensionData {
        // equals and hashCode written out: compared for every tcp match a restore shares (Interned)
        @Override
        public boolean equals(Object o) {
            return o instanceof Data d && option == d.option && optionInverted == d.optionInverted
                    && flagMask == d.flagMask && flagComp == d.flagComp && flagsInverted == d.flagsInverted
                    && sport.equals(d.sport) && dport.equals(d.dport);
        }

        @Override
        public int hashCode() {
            int h = sport.hashCode();
            h = 31 * h + dport.hashCode();
            h = 31 * h + option;
            h = 31 * h + Boolean.hashCode(optionInverted);
            h = 31 * h + flagMask;
            h = 31 * h + flagComp;
            return 31 * h + Boolean.hashCode(flagsInverted);
        }

        @Override
        public boolean shareable() {
            return true;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            sport.save(out, "sport");
            dport.save(out, "dport");
            if (option != 0) {
                out.append(optionInverted ? " ! --tcp-option " : " --tcp-option ").append(option);
            }
            if (flagMask != 0 || flagsInverted) {
                out.append(flagsInverted ? " ! --tcp-flags " : " --tcp-flags ");
                appendFlags(out, flagMask);
                out.append(' ');
                appendFlags(out, flagComp);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" tcp");
            sport.list(out, "spt", numeric, "tcp");
            dport.list(out, "dpt", numeric, "tcp");
            if (option != 0) {
                out.append(" option=").append(optionInverted ? "!" : "").append(option);
            }
            if (flagMask != 0 || flagsInverted) {
                out.append(" flags:").append(flagsInverted ? "!" : "");
                if (numeric) {
                    out.append(String.format("0x%02X/0x%02X", flagMask, flagComp));
                } else {
                    appendFlags(out, flagMask);
                    out.append('/');
                    appendFlags(out, flagComp);
                }
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (ip.protocol() != Protocols.TCP || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
        }

        /**
         * xt_tcpudp tcp_mt: never a non-first fragment (one at IPv4 offset 8 bytes is dropped: it could
         * overwrite the flags of the first); a header shorter than 20 bytes, or options cut short, drops.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            if (pkt.fragmentOffset() != 0) {
                if (pkt.fragmentOffset() == 1 && pkt.family() == Family.IPV4) {
                    pkt.hotdrop(true);
                }
                return false;
            }
            if (!pkt.transportAvailable(HEADER)) {
                pkt.hotdrop(true);
                return false;
            }
            if (!sport.matches(pkt.transportU16(0)) || !dport.matches(pkt.transportU16(2))) {
                return false;
            }
            if (((pkt.transportU8(FLAGS_BYTE) & flagMask) == flagComp) == flagsInverted) {
                return false;
            }
            if (option == 0) {
                return true;
            }
            int headerLength = (pkt.transportU8(DATA_OFFSET_BYTE) >>> 4) << 2;
            if (headerLength < HEADER) {
                pkt.hotdrop(true);
                return false;
            }
            return hasOption(pkt, headerLength - HEADER);
        }

        /** tcp_find_option: kinds 0 and 1 are one byte, others say their length (0 taken as 1). */
        private boolean hasOption(PacketContext pkt, int optionsLength) {
            if (optionsLength == 0) {
                return optionInverted;
            }
            if (!pkt.transportAvailable(HEADER + optionsLength)) {
                pkt.hotdrop(true);
                return false;
            }
            for (int i = 0; i < optionsLength; ) {
                int kind = pkt.transportU8(HEADER + i);
                if (kind == option) {
                    return !optionInverted;
                }
                if (kind < 2 || i + 1 >= optionsLength) {
                    i++;
                } else {
                    int len = pkt.transportU8(HEADER + i + 1);
                    i += len == 0 ? 1 : len;
                }
            }
            return optionInverted;
        }

        public boolean matchesPorts(int sp, int dp) {
            return sport.matches(sp) && dport.matches(dp);
        }
    }

    /** libxt_tcp print_tcpf: names in bit order, comma separated; NONE for no flag. */
    static void appendFlags(StringBuilder out, int flags) {
        if ((flags & ALL_FLAGS) == 0) {
            out.append("NONE");
            return;
        }
        boolean first = true;
        for (int i = 0; i < FLAG_NAMES.length; i++) {
            if ((flags & (1 << i)) != 0) {
                if (!first) {
                    out.append(',');
                }
                out.append(FLAG_NAMES[i]);
                first = false;
            }
        }
    }

    static int parseFlags(String list) {
        int flags = 0;
        for (String word : list.split(",", -1)) {
            // libxt_tcp compares flag names ignoring case
            String f = word.toUpperCase(java.util.Locale.ROOT);
            switch (f) {
                case "ALL" -> flags |= ALL_FLAGS;
                case "NONE" -> {
                }
                default -> {
                    int bit = -1;
                    for (int i = 0; i < FLAG_NAMES.length; i++) {
                        if (FLAG_NAMES[i].equals(f)) {
                            bit = i;
                        }
                    }
                    if (bit < 0) {
                        throw XtablesException.parameter("Unknown TCP flag `" + word + "'");
                    }
                    flags |= 1 << bit;
                }
            }
        }
        return flags;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private PortRange sport = PortRange.ANY;
            private PortRange dport = PortRange.ANY;
            private int option;
            private boolean optionInverted;
            private int mask;
            private int comp;
            private boolean flagsInverted;
            private boolean haveSport;
            private boolean haveDport;
            private boolean haveFlags;
            private boolean haveOption;

            @Override
            public void parse(OptionSpec opt, boolean invert, String arg, ParseContext c) {
                if (opt == SOURCE_PORT || opt == SPORT) {
                    if (haveSport) {
                        throw XtablesException.parameter("Only one `--source-port' allowed");
                    }
                    sport = PortRange.parse(arg, "tcp", invert);
                    haveSport = true;
                } else if (opt == DESTINATION_PORT || opt == DPORT) {
                    if (haveDport) {
                        throw XtablesException.parameter("Only one `--destination-port' allowed");
                    }
                    dport = PortRange.parse(arg, "tcp", invert);
                    haveDport = true;
                } else if (opt == SYN) {
                    if (haveFlags) {
                        throw XtablesException.parameter("Only one of `--syn' or `--tcp-flags'  allowed");
                    }
                    mask = SYN_MASK;
                    comp = SYN_COMP;
                    flagsInverted = invert;
                    haveFlags = true;
                } else if (opt == TCP_FLAGS) {
                    if (haveFlags) {
                        throw XtablesException.parameter("Only one of `--syn' or `--tcp-flags'  allowed");
                    }
                    String second = c.peekWord();
                    if (second == null || second.startsWith("-") || second.startsWith("!")) {
                        throw XtablesException.parameter("--tcp-flags requires two args.");
                    }
                    c.nextWord();
                    mask = parseFlags(arg);
                    comp = parseFlags(second);
                    flagsInverted = invert;
                    haveFlags = true;
                } else if (opt == TCP_OPTION) {
                    if (haveOption) {
                        throw XtablesException.parameter("Only one `--tcp-option' allowed");
                    }
                    long v = org.jnetfilter.core.ext.Numbers.parseUnsigned(arg, 1, 255);
                    if (v < 0) {
                        throw XtablesException.parameter("Bad TCP option \"" + arg + "\"");
                    }
                    option = (int) v;
                    optionInverted = invert;
                    haveOption = true;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(sport, dport, option, optionInverted, mask, comp, flagsInverted);
            }
        };
    }
}
