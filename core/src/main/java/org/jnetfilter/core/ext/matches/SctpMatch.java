package org.jnetfilter.core.ext.matches;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -m sctp} (libxt_sctp, xt_sctp.c): ports, and chunk types present in the packet (all, any or only
 * the listed ones), some with chunk flags. Loaded implicitly by {@code -p sctp}.
 */
public final class SctpMatch extends MatchExtension {
    static final OptionSpec SOURCE_PORT = OptionSpec.withArg("source-port");
    static final OptionSpec SPORT = OptionSpec.withArg("sport");
    static final OptionSpec DESTINATION_PORT = OptionSpec.withArg("destination-port");
    static final OptionSpec DPORT = OptionSpec.withArg("dport");
    static final OptionSpec CHUNK_TYPES = OptionSpec.withArg("chunk-types");

    // Linux: enum sctp_cid (RFC 9260, 7053, 8260, 6525, 4820, 3758, 8260 I-FORWARD-TSN)
    private static final String[] CHUNK_NAMES = {
        "DATA", "INIT", "INIT_ACK", "SACK", "HEARTBEAT", "HEARTBEAT_ACK", "ABORT", "SHUTDOWN", "SHUTDOWN_ACK",
        "ERROR", "COOKIE_ECHO", "COOKIE_ACK", "ECN_ECNE", "ECN_CWR", "SHUTDOWN_COMPLETE", "I_DATA",
        "RE_CONFIG", "PAD", "ASCONF", "ASCONF_ACK", "FORWARD_TSN", "I_FORWARD_TSN",
    };
    private static final int[] CHUNK_IDS = {
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 64, 130, 132, 193, 128, 192, 194,
    };

    // Linux: xt_sctp.h SCTP_CHUNK_MATCH_ANY/ALL/ONLY, XT_NUM_SCTP_FLAGS
    public static final int MATCH_ANY = 0x01;
    public static final int MATCH_ALL = 0x02;
    public static final int MATCH_ONLY = 0x04;
    static final int MAX_FLAG_ENTRIES = 4;
    // Linux: sizeof(struct sctphdr), sizeof(struct sctp_chunkhdr)
    static final int SCTP_HEADER = 12;
    static final int CHUNK_HEADER = 4;

    public SctpMatch() {
        super("sctp", List.of(SOURCE_PORT, SPORT, DESTINATION_PORT, DPORT, CHUNK_TYPES));
    }

    /** Chunk flags to match for one chunk type: the bits in mask must equal those in flags. */
    public record ChunkFlags(int chunk, int flags, int mask) {
    }

    /**
     * @param sport      null when not given (a given 0:65535 is still saved)
     * @param chunkMap   chunk types by bit, null when --chunk-types was not given
     * @param chunkFlags one entry per chunk type with flags, in the order first given
     */
    public record Data(PortRange sport, PortRange dport, BitSet chunkMap, int matchType, boolean chunksInverted,
                       List<ChunkFlags> chunkFlags) implements ExtensionData {
        /*
         * xt_sctp sctp_mt: never a non-first fragment; the 12-byte common header at thoff must be there,
         * else drop. Ports as tcp's. Chunk types (match_packet): walk the chunks from the common header
         * on, each advancing by its length rounded up to 4, while inside skb->len; a chunk header cut
         * short or of length 0 drops (its answer then still goes through the inversion, as in the
         * kernel). any: some listed chunk with matching flags; all: every listed type seen with matching
         * flags; only: every chunk listed and its flags matching. Flags are checked only for the types
         * given with flags (the first entry for a type decides).
         */
        @Override
        public boolean matches(PacketContext pkt) {
            if (pkt.fragmentOffset() != 0) {
                return false;
            }
            if (!pkt.transportAvailable(SCTP_HEADER)) {
                pkt.hotdrop(true);
                return false;
            }
            if (sport != null && !sport.matches(pkt.transportU16(0))) {
                return false;
            }
            if (dport != null && !dport.matches(pkt.transportU16(2))) {
                return false;
            }
            return chunkMap == null || matchesChunks(pkt) != chunksInverted;
        }

        private boolean matchesChunks(PacketContext pkt) {
            // the "all" bookkeeping: the kernel's chunkmapcopy, as four words so nothing is allocated
            long c0 = 0;
            long c1 = 0;
            long c2 = 0;
            long c3 = 0;
            if (matchType == MATCH_ALL) {
                for (int t = chunkMap.nextSetBit(0); t >= 0 && t < 256; t = chunkMap.nextSetBit(t + 1)) {
                    switch (t >>> 6) {
                        case 0 -> c0 |= 1L << t;
                        case 1 -> c1 |= 1L << t;
                        case 2 -> c2 |= 1L << t;
                        default -> c3 |= 1L << t;
                    }
                }
            }
            int offset = pkt.transportOffset() + SCTP_HEADER;
            int length = pkt.length();
            do {
                if (offset + CHUNK_HEADER > length || pkt.networkU16(offset + 2) == 0) {
                    pkt.hotdrop(true);
                    return false;
                }
                int type = pkt.networkU8(offset);
                int flags = pkt.networkU8(offset + 1);
                offset += (pkt.networkU16(offset + 2) + 3) & ~3;
                if (chunkMap.get(type)) {
                    boolean flagsMatch = flagsMatch(type, flags);
                    if (matchType == MATCH_ANY && flagsMatch) {
                        return true;
                    }
                    if (matchType == MATCH_ALL && flagsMatch) {
                        switch (type >>> 6) {
                            case 0 -> c0 &= ~(1L << type);
                            case 1 -> c1 &= ~(1L << type);
                            case 2 -> c2 &= ~(1L << type);
                            default -> c3 &= ~(1L << type);
                        }
                    }
                    if (matchType == MATCH_ONLY && !flagsMatch) {
                        return false;
                    }
                } else if (matchType == MATCH_ONLY) {
                    return false;
                }
            } while (offset < length);
            return switch (matchType) {
                case MATCH_ALL -> (c0 | c1 | c2 | c3) == 0;
                case MATCH_ONLY -> true;
                default -> false;
            };
        }

        private boolean flagsMatch(int type, int flags) {
            for (int i = 0, n = chunkFlags.size(); i < n; i++) {
                ChunkFlags f = chunkFlags.get(i);
                if (f.chunk() == type) {
                    return (flags & f.mask()) == f.flags();
                }
            }
            return true;
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            savePorts(out, sport, "sport");
            savePorts(out, dport, "dport");
            if (chunkMap != null) {
                out.append(chunksInverted ? " ! --chunk-types" : " --chunk-types");
                appendChunks(out, false);
            }
        }

        private static void savePorts(StringBuilder out, PortRange r, String option) {
            if (r != null) {
                r.saveAlways(out, option);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" sctp");
            if (sport != null) {
                sport.list(out, "spt", numeric, "sctp");
            }
            if (dport != null) {
                dport.list(out, "dpt", numeric, "sctp");
            }
            if (chunkMap != null) {
                if (chunksInverted) {
                    out.append(" !");
                }
                appendChunks(out, numeric);
            }
        }

        private void appendChunks(StringBuilder out, boolean numeric) {
            out.append(' ').append(matchType == MATCH_ANY ? "any" : matchType == MATCH_ALL ? "all" : "only");
            if (chunkMap.cardinality() == 256) {
                out.append(" ALL");
                return;
            }
            if (chunkMap.isEmpty()) {
                out.append(" NONE");
                return;
            }
            out.append(' ');
            boolean first = true;
            for (int id = chunkMap.nextSetBit(0); id >= 0; id = chunkMap.nextSetBit(id + 1)) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                String name = chunkName(id);
                if (numeric || name == null) {
                    out.append(String.format("0x%04X", id));
                } else {
                    out.append(name);
                }
                for (ChunkFlags f : chunkFlags) {
                    if (f.chunk() == id) {
                        out.append(':');
                        String chars = flagChars(id);
                        for (int bit = 7; bit >= 0; bit--) {
                            if ((f.mask() & (1 << bit)) != 0) {
                                char ch = chars.charAt(chars.length() - 1 - bit);
                                out.append((f.flags() & (1 << bit)) != 0 ? ch : Character.toLowerCase(ch));
                            }
                        }
                    }
                }
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (ip.protocol() != Protocols.SCTP || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    static String chunkName(int id) {
        for (int i = 0; i < CHUNK_IDS.length; i++) {
            if (CHUNK_IDS[i] == id) {
                return CHUNK_NAMES[i];
            }
        }
        return null;
    }

    /** The flag letters of a chunk type, most significant flag bit first ("IUBE": I is bit 3). */
    static String flagChars(int id) {
        return switch (id) {
            case 0 -> "IUBE";
            case 6, 14 -> "T";
            default -> "";
        };
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private PortRange sport;
            private PortRange dport;
            private BitSet map;
            private int matchType;
            private boolean chunksInverted;
            private final List<ChunkFlags> flags = new ArrayList<>();

            @Override
            public void parse(OptionSpec opt, boolean invert, String arg, ParseContext c) {
                if (opt == SOURCE_PORT || opt == SPORT) {
                    if (sport != null) {
                        throw XtablesException.parameter("Only one `--source-port' allowed");
                    }
                    sport = PortRange.parse(arg, "sctp", invert);
                } else if (opt == DESTINATION_PORT || opt == DPORT) {
                    if (dport != null) {
                        throw XtablesException.parameter("Only one `--destination-port' allowed");
                    }
                    dport = PortRange.parse(arg, "sctp", invert);
                } else {
                    if (map != null) {
                        throw XtablesException.parameter("Only one `--chunk-types' allowed");
                    }
                    String list = c.peekWord();
                    if (list == null || list.startsWith("-") || list.startsWith("!")) {
                        throw XtablesException.parameter("--chunk-types requires two args");
                    }
                    matchType = switch (arg.toUpperCase(Locale.ROOT)) {
                        case "ANY" -> MATCH_ANY;
                        case "ALL" -> MATCH_ALL;
                        case "ONLY" -> MATCH_ONLY;
                        default -> throw XtablesException.parameter(
                                "Match type has to be one of \"ALL\", \"ANY\" or \"ONLY\"");
                    };
                    c.nextWord();
                    map = parseChunks(list);
                    chunksInverted = invert;
                }
            }

            private BitSet parseChunks(String list) {
                BitSet m = new BitSet(256);
                for (String item : list.split(",")) {
                    if (item.isEmpty()) {
                        continue;
                    }
                    int colon = item.indexOf(':');
                    String name = colon < 0 ? item : item.substring(0, colon);
                    if (name.equalsIgnoreCase("ALL")) {
                        m.set(0, 256);
                        continue;
                    }
                    if (name.equalsIgnoreCase("NONE")) {
                        m.clear();
                        continue;
                    }
                    int id = -1;
                    for (int i = 0; i < CHUNK_NAMES.length; i++) {
                        if (CHUNK_NAMES[i].equalsIgnoreCase(name)) {
                            id = CHUNK_IDS[i];
                        }
                    }
                    if (id < 0) {
                        throw XtablesException.parameter("Unknown sctp chunk `" + name + "'");
                    }
                    m.set(id);
                    if (colon >= 0) {
                        addFlags(id, item.substring(colon + 1));
                    }
                }
                return m;
            }

            private void addFlags(int id, String letters) {
                String chars = flagChars(id);
                int f = 0;
                int mask = 0;
                for (char ch : letters.toCharArray()) {
                    int pos = chars.indexOf(Character.toUpperCase(ch));
                    if (pos < 0) {
                        throw XtablesException.parameter("Invalid flags for chunk type " + id);
                    }
                    int bit = 1 << (chars.length() - 1 - pos);
                    mask |= bit;
                    if (Character.isUpperCase(ch)) {
                        f |= bit;
                    }
                }
                for (int i = 0; i < flags.size(); i++) {
                    ChunkFlags old = flags.get(i);
                    if (old.chunk() == id) {
                        flags.set(i, new ChunkFlags(id, old.flags() | f, old.mask() | mask));
                        return;
                    }
                }
                if (flags.size() >= MAX_FLAG_ENTRIES) {
                    throw XtablesException.parameter("Number of chunk types with flags exceeds currently allowed "
                            + "limit.Increasing this limit involves changing IPT_NUM_SCTP_FLAGS and"
                            + "recompiling both the kernel space and user space modules\n");
                }
                flags.add(new ChunkFlags(id, f, mask));
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(sport, dport, map, matchType, chunksInverted, List.copyOf(flags));
            }
        };
    }
}
