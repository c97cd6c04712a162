package org.jnetfilter.core.ext.matches;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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

/**
 * {@code -m owner} (libxt_owner revision 1, xt_owner.c): the uid/gid of the local socket that sent the
 * packet, so only where locally generated packets pass (OUTPUT, POSTROUTING). User and group names are
 * read from /etc/passwd and /etc/group as getpwnam/getgrnam would find them there.
 */
public final class OwnerMatch extends MatchExtension {
    static final OptionSpec UID_OWNER = OptionSpec.withArg("uid-owner");
    static final OptionSpec GID_OWNER = OptionSpec.withArg("gid-owner");
    static final OptionSpec SOCKET_EXISTS = OptionSpec.flag("socket-exists");
    static final OptionSpec SUPPL_GROUPS = OptionSpec.flag("suppl-groups");

    // Linux: XT_OWNER_UID = 1, XT_OWNER_GID = 2, XT_OWNER_SOCKET = 4, XT_OWNER_SUPPL_GROUPS = 8
    public static final int UID = 0x1;
    public static final int GID = 0x2;
    public static final int SOCKET = 0x4;
    public static final int SUPPL_GROUPS_BIT = 0x8;

    // (uid_t)-1 is not a valid id
    private static final long ID_MAX = 0xFFFFFFFEL;

    public OwnerMatch() {
        super("owner", List.of(UID_OWNER, GID_OWNER, SOCKET_EXISTS, SUPPL_GROUPS));
    }

    /** @param match the XT_OWNER_* bits given; invert those negated */
    public record Data(long uidMin, long uidMax, long gidMin, long gidMax, int match, int invert)
            implements ExtensionData {
        /**
         * xt_owner's owner_mt. Without a socket (forwarded and received packets, the kernel's own, and
         * {@code jnf replay}'s {@code @local} packets unless given --uid), a rule matches exactly when every option
         * it gives is negated: {@code (match ^ invert) == 0}. With a socket ({@link
         * org.jnetfilter.core.netfilter.PacketContext#socketUid()}), a negated --socket-exists fails, then the uid
         * and gid ranges are tested against the socket file's fsuid and fsgid, each inverted by its {@code !}; the
         * socket has no supplementary groups here, so --suppl-groups adds nothing.
         */
        @Override
        public boolean matches(org.jnetfilter.core.netfilter.PacketContext pkt) {
            long uid = pkt.socketUid();
            if (uid < 0 && uid != org.jnetfilter.core.netfilter.PacketContext.KERNEL_SOCKET) {
                // Linux: if (!sk || !sk->sk_socket || ...) return (info->match ^ info->invert) == 0
                return (match ^ invert) == 0;
            }
            if ((match & invert & SOCKET) != 0) {
                return false;
            }
            if (uid == org.jnetfilter.core.netfilter.PacketContext.KERNEL_SOCKET) {
                // Linux: a control socket has no file: return ((info->match ^ info->invert) & (UID | GID)) == 0
                return ((match ^ invert) & (UID | GID)) == 0;
            }
            if ((match & UID) != 0 && (uid >= uidMin && uid <= uidMax) == ((invert & UID) != 0)) {
                return false;
            }
            long gid = pkt.socketGid();
            return (match & GID) == 0 || (gid >= gidMin && gid <= gidMax) != ((invert & GID) != 0);
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if ((match & SOCKET) != 0) {
                out.append((invert & SOCKET) != 0 ? " !" : "").append(" --socket-exists");
            }
            if ((match & UID) != 0) {
                out.append((invert & UID) != 0 ? " !" : "").append(" --uid-owner ");
                appendRange(out, uidMin, uidMax);
            }
            if ((match & GID) != 0) {
                out.append((invert & GID) != 0 ? " !" : "").append(" --gid-owner ");
                appendRange(out, gidMin, gidMax);
            }
            if ((match & SUPPL_GROUPS_BIT) != 0) {
                out.append(" --suppl-groups");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            if ((match & SOCKET) != 0) {
                out.append((invert & SOCKET) != 0 ? " !" : "").append(" owner socket exists");
            }
            if ((match & UID) != 0) {
                out.append((invert & UID) != 0 ? " !" : "").append(" owner UID match ");
                appendNamed(out, uidMin, uidMax, numeric, Path.of("/etc/passwd"));
            }
            if ((match & GID) != 0) {
                out.append((invert & GID) != 0 ? " !" : "").append(" owner GID match ");
                appendNamed(out, gidMin, gidMax, numeric, Path.of("/etc/group"));
            }
            if ((match & SUPPL_GROUPS_BIT) != 0) {
                out.append(" incl. suppl. groups");
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            int allowed = Hook.OUTPUT.bit() | Hook.POSTROUTING.bit();
            if ((hookMask & ~allowed) != 0) {
                throw XtablesException.invalidArgument();
            }
            if (((match & UID) != 0 && uidMax < uidMin) || ((match & GID) != 0 && gidMax < gidMin)) {
                throw XtablesException.invalidArgument();
            }
        }

        private static void appendRange(StringBuilder out, long min, long max) {
            out.append(min);
            if (min != max) {
                out.append('-').append(max);
            }
        }

        private static void appendNamed(StringBuilder out, long min, long max, boolean numeric, Path db) {
            if (min == max && !numeric) {
                String name = nameOf(db, min);
                if (name != null) {
                    out.append(name);
                    return;
                }
            }
            appendRange(out, min, max);
        }
    }

    /** The first entry of an /etc/passwd or /etc/group style file with this id, or null. */
    static String nameOf(Path db, long id) {
        for (String[] f : entries(db)) {
            if (f.length > 2 && f[2].equals(Long.toString(id))) {
                return f[0];
            }
        }
        return null;
    }

    /** The id of the first entry named {@code name}, or -1. */
    static long idOf(Path db, String name) {
        for (String[] f : entries(db)) {
            if (f.length > 2 && f[0].equals(name)) {
                try {
                    return Long.parseLong(f[2]);
                } catch (NumberFormatException e) {
                    return -1;
                }
            }
        }
        return -1;
    }

    private static List<String[]> entries(Path db) {
        try {
            return Files.readAllLines(db).stream().map(l -> l.split(":", -1)).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** A name, or {@code id} or {@code id-id}, each at most (uid_t)-2; "Bad value" otherwise. Returns {min, max}. */
    static long[] parseIds(String option, String arg, Path db) {
        long named = idOf(db, arg);
        if (named >= 0) {
            return new long[] {named, named};
        }
        int[] end = new int[1];
        long from = TypeOfService.prefixNumber(arg, 0, end);
        long to = from;
        boolean ok = from >= 0 && from <= ID_MAX;
        if (ok && end[0] < arg.length() && arg.charAt(end[0]) == '-') {
            int start = end[0] + 1;
            to = TypeOfService.prefixNumber(arg, start, end);
            ok = to >= 0 && to <= ID_MAX;
        }
        if (!ok || end[0] != arg.length()) {
            throw XtablesException.parameter("owner: Bad value for \"--" + option + "\" option: \"" + arg + "\"");
        }
        return new long[] {from, to};
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long uidMin;
            private long uidMax;
            private long gidMin;
            private long gidMax;
            private int match;
            private int invert;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                once(option);
                int bit;
                if (option == UID_OWNER) {
                    long[] r = parseIds(option.name(), arg, Path.of("/etc/passwd"));
                    uidMin = r[0];
                    uidMax = r[1];
                    bit = UID;
                } else if (option == GID_OWNER) {
                    long[] r = parseIds(option.name(), arg, Path.of("/etc/group"));
                    gidMin = r[0];
                    gidMax = r[1];
                    bit = GID;
                } else if (option == SOCKET_EXISTS) {
                    bit = SOCKET;
                } else {
                    noInvert(option, inv);
                    if ((match & GID) == 0) {
                        throw XtablesException.parameter(
                                "owner: Bad value for \"--suppl-groups\" option: \"you need to use --gid-owner first\"");
                    }
                    bit = SUPPL_GROUPS_BIT;
                }
                match |= bit;
                if (inv) {
                    invert |= bit;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (match == 0) {
                    throw XtablesException.parameter(
                            "owner: At least one of --uid-owner, --gid-owner or --socket-exists is required");
                }
                return new Data(uidMin, uidMax, gidMin, gidMax, match, invert);
            }
        };
    }
}
