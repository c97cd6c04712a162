package org.jnetfilter.iptables;

import java.util.List;

/**
 * GNU getopt_long as iptables drives it: optstring "-:..." (non-options come back in order as code 1,
 * a missing argument as ':'), long options matched exactly or by an unambiguous prefix (prefixes that all
 * name the same option are not ambiguous), short options clustered. The option table may grow while
 * parsing, as iptables merges extension options when it loads a match or target.
 */
final class Getopt {
    /** Returned for a non-option word; {@link #optarg} holds it. */
    static final int NON_OPTION = 1;
    static final int MISSING_ARG = ':';
    static final int UNKNOWN = '?';
    static final int END = -1;

    enum HasArg { NONE, REQUIRED, OPTIONAL }

    /** A long option; {@code code} is what getopt returns for it, {@code owner} who handles it. */
    record LongOpt(String name, HasArg hasArg, int code, Object owner) {
    }

    private final String[] argv;
    private final String shortOpts;
    /** Next word to scan. */
    int optind = 1;
    String optarg;
    /** The long option matched by the last call, or null for a short option. */
    LongOpt matched;
    /** Who holds {@link #matched} (the entry of the holders list beside it). */
    Object matchedHolder;
    private int nextChar;

    Getopt(String[] argv, String shortOpts) {
        this.argv = argv;
        this.shortOpts = shortOpts;
    }

    String[] argv() {
        return argv;
    }

    /**
     * The long options in order, as segments: each a list of options with who holds them (two entries
     * of different holders are different options even with the same owner).
     */
    interface LongOpts {
        int segments();

        List<LongOpt> segment(int s);

        Object holder(int s);

        /** The first index in segment {@code s} of an option named exactly {@code name}, or -1. */
        default int exactIndex(int s, String name) {
            List<LongOpt> segment = segment(s);
            for (int i = 0; i < segment.size(); i++) {
                if (segment.get(i).name().equals(name)) {
                    return i;
                }
            }
            return -1;
        }
    }

    int next(List<LongOpt> longOpts) {
        return next(new LongOpts() {
            @Override
            public int segments() {
                return 1;
            }

            @Override
            public List<LongOpt> segment(int s) {
                return longOpts;
            }

            @Override
            public Object holder(int s) {
                return null;
            }
        });
    }

    int next(LongOpts longOpts) {
        optarg = null;
        matched = null;
        matchedHolder = null;
        if (nextChar == 0) {
            if (optind >= argv.length) {
                return END;
            }
            String w = argv[optind];
            if (w.equals("--")) {
                optind++;
                return END;
            }
            if (!w.startsWith("-") || w.length() == 1) {
                optarg = w;
                optind++;
                return NON_OPTION;
            }
            if (w.startsWith("--")) {
                return longOption(w, longOpts);
            }
            nextChar = 1;
        }
        String w = argv[optind];
        char c = w.charAt(nextChar++);
        int idx = c == ':' || c == '-' ? -1 : shortOpts.indexOf(c);
        boolean last = nextChar >= w.length();
        if (idx < 0) {
            if (last) {
                nextChar = 0;
                optind++;
            }
            return UNKNOWN;
        }
        boolean takesArg = idx + 1 < shortOpts.length() && shortOpts.charAt(idx + 1) == ':';
        boolean optional = takesArg && idx + 2 < shortOpts.length() && shortOpts.charAt(idx + 2) == ':';
        if (!takesArg) {
            if (last) {
                nextChar = 0;
                optind++;
            }
            return c;
        }
        if (!last) {
            optarg = w.substring(nextChar);
            nextChar = 0;
            optind++;
            return c;
        }
        nextChar = 0;
        optind++;
        if (optional) {
            return c;
        }
        if (optind >= argv.length) {
            return MISSING_ARG;
        }
        optarg = argv[optind++];
        return c;
    }

    private int longOption(String w, LongOpts longOpts) {
        String body = w.substring(2);
        int eq = body.indexOf('=');
        String name = eq >= 0 ? body.substring(0, eq) : body;
        String attached = eq >= 0 ? body.substring(eq + 1) : null;
        optind++;
        LongOpt found = null;
        Object foundHolder = null;
        boolean ambiguous = false;
        // an exact name wins over any abbreviation: the first exact entry, looked up by name
        for (int s = 0; s < longOpts.segments() && found == null; s++) {
            int i = longOpts.exactIndex(s, name);
            if (i >= 0) {
                found = longOpts.segment(s).get(i);
                foundHolder = longOpts.holder(s);
            }
        }
        search:
        for (int s = 0; s < longOpts.segments() && found == null; s++) {
            List<LongOpt> segment = longOpts.segment(s);
            Object holder = longOpts.holder(s);
            for (int i = 0; i < segment.size(); i++) {
                LongOpt o = segment.get(i);
                if (o.name().equals(name)) {
                    found = o;
                    foundHolder = holder;
                    ambiguous = false;
                    break search;
                }
                if (o.name().startsWith(name)) {
                    if (found == null) {
                        found = o;
                        foundHolder = holder;
                    } else if (found.hasArg() != o.hasArg() || found.code() != o.code() || found.owner() != o.owner()
                            || foundHolder != holder) {
                        ambiguous = true;
                    }
                }
            }
        }
        if (found == null || ambiguous) {
            return UNKNOWN;
        }
        matched = found;
        matchedHolder = foundHolder;
        switch (found.hasArg()) {
            case NONE -> {
                if (attached != null) {
                    return UNKNOWN;
                }
            }
            case OPTIONAL -> optarg = attached;
            case REQUIRED -> {
                if (attached != null) {
                    optarg = attached;
                } else if (optind < argv.length) {
                    optarg = argv[optind++];
                } else {
                    return MISSING_ARG;
                }
            }
        }
        return found.code();
    }

    /** iptables' xs_has_arg: the next word exists and starts with neither '-' nor '!'. */
    boolean hasArg() {
        return optind < argv.length && !argv[optind].startsWith("-") && !argv[optind].startsWith("!");
    }
}
