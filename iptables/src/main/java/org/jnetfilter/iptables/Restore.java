package org.jnetfilter.iptables;

import java.io.BufferedReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;

/**
 * iptables-restore: reads a save file and builds the next generation from it, table by table, as
 * iptables-restore.c does, with its messages. Unlike iptables-legacy, which commits each table at its
 * COMMIT line, the whole input is one transaction: on any error nothing of it is applied.
 */
final class Restore {

    /** A failure; {@code line} is the line number for "Error occurred at line", or -1. */
    static final class Failure extends RuntimeException {
        final XtablesException error;
        final int line;

        Failure(XtablesException error, int line) {
            super(error.getMessage(), null, false, false);
            this.error = error;
            this.line = line;
        }
    }

    /** A rule line whose parsing failed after printing warnings: they go out before the error. */
    private static final class WarnedFailure extends RuntimeException {
        final List<String> warnings;
        final RuntimeException failure;

        WarnedFailure(List<String> warnings, RuntimeException failure) {
            super(null, null, false, false);
            this.warnings = warnings;
            this.failure = failure;
        }
    }

    /**
     * Appends a line's parse warnings; libxtables loads an extension once per process, so its load
     * warning (Extension.loadWarning) comes with the first line that uses it only.
     */
    private void warn(List<String> lines) {
        if (lines.isEmpty()) {
            // nearly every line: no iterator made
            return;
        }
        for (String w : lines) {
            if (!loadWarnings.contains(w) || loadWarned.add(w)) {
                warned.append(w).append('\n');
            }
        }
    }

    /** "iptables-restore: line N failed" (exit 1), printed as is. */
    static XtablesException lineFailed(String program, int line) {
        return new XtablesException(XtablesException.OTHER_PROBLEM, XtablesException.Kind.RAW,
                program + ": line " + line + " failed\n");
    }

    private final Extensions extensions;
    private final boolean counters;
    private final boolean noflush;
    private final String onlyTable;
    private final String program;

    Restore(Extensions extensions, boolean counters, boolean noflush, String onlyTable, String program) {
        this.extensions = extensions;
        this.counters = counters;
        this.noflush = noflush;
        this.onlyTable = onlyTable;
        this.program = program;
        ExtensionFacts facts = ExtensionFacts.of(extensions);
        this.loadWarnings = facts.loadWarnings;
        this.longestTargetName = facts.longestTargetName;
    }

    /**
     * What a restore asks of the extension set before its first line: the load warnings and the length of the
     * longest target name. The same for every restore with that set, so gathered once for the last set used
     * (a one-service delta is a restore of 8 lines: walking the 150 extensions per restore cost a twentieth
     * of it).
     */
    private record ExtensionFacts(Extensions extensions, java.util.Set<String> loadWarnings, int longestTargetName) {
        private static volatile ExtensionFacts last;

        static ExtensionFacts of(Extensions extensions) {
            ExtensionFacts f = last;
            if (f != null && f.extensions == extensions) {
                return f;
            }
            java.util.Set<String> warnings = new java.util.HashSet<>();
            int longest = 0;
            for (org.jnetfilter.core.ext.Extension x : extensions.targets()) {
                if (x.loadWarning() != null) {
                    warnings.add(x.loadWarning());
                }
                longest = Math.max(longest, x.name().length());
            }
            for (org.jnetfilter.core.ext.Extension x : extensions.matches()) {
                if (x.loadWarning() != null) {
                    warnings.add(x.loadWarning());
                }
            }
            f = new ExtensionFacts(extensions, java.util.Set.copyOf(warnings), longest);
            last = f;
            return f;
        }
    }

    /** -Djnf.timing=true: where a large restore's time goes, on stderr (read once: a delta asks per restore). */
    private static final boolean TIMING = Boolean.getBoolean("jnf.timing");

    private boolean trusted;
    /** Rule lines of the common shape go through {@link DirectRuleParser}; off, all through CommandLine. */
    private boolean direct = true;

    /** Parses every rule line through CommandLine (the reference the direct parser is tested against). */
    Restore withoutDirectParsing() {
        direct = false;
        return this;
    }
    /** Inputs of at least this many lines are parsed ahead on all cores. */
    private int preParseFrom = 2000;

    /** Sets the size from which lines are parsed ahead (tests compare both ways on the same input). */
    Restore preParseFrom(int lines) {
        preParseFrom = lines;
        return this;
    }
    private boolean verbose;
    /** What the commands inside print (-L, -S, -v), in order; printed even when the restore fails. */
    final StringBuilder printed = new StringBuilder();
    /** The warnings of the lines read so far (stderr), in order; printed before a failure's message. */
    final StringBuilder warned = new StringBuilder();
    private final java.util.Set<String> loadWarned = new java.util.HashSet<>();
    private final java.util.Set<String> loadWarnings;
    /** Tables opened so far: the kernel initialises each at its {@code *table} line, even if a later line fails. */
    final List<TableKind> opened = new ArrayList<>();

    /** -v: report flushed and deleted chains and echo each rule, as legacy does. */
    Restore verbose(boolean v) {
        verbose = v;
        return this;
    }

    /**
     * Reads jnetfilter's own state: allows what commands may create but a restore refuses (a chain
     * renamed to 29 characters with -E).
     */
    Restore trusted() {
        trusted = true;
        return this;
    }

    Ruleset apply(Ruleset start, BufferedReader in) throws IOException {
        long tRead = System.nanoTime();
        List<String> lines = lines(in);
        if (TIMING) {
            System.err.printf("jnf timing: read %d ms%n", (System.nanoTime() - tRead) / 1_000_000);
        }
        return apply(start, lines, in);
    }

    /** The whole input at once (a file read in one piece: the lines are cut from it without a reader). */
    Ruleset apply(Ruleset start, String text) throws IOException {
        long tRead = System.nanoTime();
        List<String> lines = lines(text);
        if (TIMING) {
            System.err.printf("jnf timing: lines %d ms%n", (System.nanoTime() - tRead) / 1_000_000);
        }
        return apply(start, lines, new BufferedReader(java.io.Reader.nullReader(), 1));
    }

    private Ruleset apply(Ruleset start, List<String> lines, BufferedReader in) throws IOException {
        shareWords = lines.size() >= SHARE_WORDS_FROM;
        ParseAhead ahead = lines.size() >= preParseFrom ? new ParseAhead(start.family(), lines) : null;
        try {
            return apply(start, lines, in, ahead);
        } finally {
            if (ahead != null) {
                ahead.stop();
            }
        }
    }

    private Ruleset apply(Ruleset start, List<String> lines, BufferedReader in, ParseAhead ahead) throws IOException {
        Ruleset rs = start;
        String tableName = null;
        boolean inTable = false;
        boolean skipping = false;
        int line = 0;
        for (String raw : lines) {
            line++;
            if (raw.isEmpty()) {
                continue;
            }
            if (raw.charAt(0) == '#') {
                continue;
            }
            rs = raw.charAt(0) == '-' || raw.charAt(0) == '[' || raw.charAt(0) == ':' && inTable && !skipping
                    ? rs : flush(rs);
            if (raw.equals("COMMIT") && inTable) {
                inTable = false;
                if (!skipping) {
                    try {
                        TableKind kind = TableKind.byName(tableName).orElseThrow();
                        long tc = System.nanoTime();
                        TableChecks.check(rs.table(kind), start.table(kind));
                        checkNanos += System.nanoTime() - tc;
                    } catch (XtablesException e) {
                        throw new Failure(lineFailed(program, line), -1);
                    }
                }
                skipping = false;
                continue;
            }
            if (raw.charAt(0) == '*' && !inTable) {
                String[] f = words(raw, 1);
                if (f.length == 0 || f[0].isEmpty()) {
                    throw new Failure(XtablesException.parameter(program + ": line " + line + " table name invalid"), line);
                }
                tableName = f[0];
                inTable = true;
                skipping = onlyTable != null && !onlyTable.equals(tableName);
                if (skipping) {
                    continue;
                }
                String requested = tableName;
                int at = line;
                TableKind kind = TableKind.byName(requested).orElseThrow(() -> new Failure(XtablesException.parameter(
                        program + ": unable to initialize table '" + requested + "'"), at));
                Table t = rs.tableOrInitial(kind);
                opened.add(kind);
                if (!noflush) {
                    if (verbose) {
                        for (Chain c : t.chains()) {
                            printed.append("Flushing chain `").append(c.name()).append("'\n");
                        }
                        for (String user : t.userChains().keySet()) {
                            printed.append("Deleting chain `").append(user).append("'\n");
                        }
                    }
                    t = t.withoutUserChains();
                    // the table is replaced whole: built-in policy counters restart unless -c sets them
                    for (Chain c : t.builtinChains()) {
                        t = t.with(c.withRules(RuleList.empty()).withPolicy(c.policy(), Counters.zero()));
                    }
                }
                rs = rs.with(t);
                continue;
            }
            if (skipping) {
                continue;
            }
            if (raw.charAt(0) == ':' && inTable) {
                long tc = System.nanoTime();
                rs = chainLine(rs, tableName, raw, line);
                chainNanos += System.nanoTime() - tc;
                continue;
            }
            if (!inTable) {
                throw new Failure(lineFailed(program, line), -1);
            }
            if (trusted) {
                // a state file may hold a quoted word with a newline in it (a comment read from a line
                // whose quote was never closed): the word goes on on the next line
                String more;
                while (quoteOpenAtEnd(raw) && (more = in.readLine()) != null) {
                    raw = raw + "\n" + more;
                    line++;
                }
            }
            long tr = System.nanoTime();
            rs = ruleLine(rs, tableName, raw, line, ahead == null ? null : ahead.get(line - 1));
            ruleNanos += System.nanoTime() - tr;
        }
        if (inTable) {
            throw new Failure(new XtablesException(XtablesException.OTHER_PROBLEM, XtablesException.Kind.RAW,
                    program + ": COMMIT expected at line " + (line + 1) + "\n"), -1);
        }
        Ruleset done = flush(rs);
        if (TIMING) {
            System.err.printf("jnf timing: chain lines %d ms, rule lines %d ms, table checks %d ms%n",
                    chainNanos / 1_000_000, ruleNanos / 1_000_000, checkNanos / 1_000_000);
        }
        return done;
    }

    private Ruleset chainLine(Ruleset rs, String tableName, String raw, int line) {
        String[] f = words(raw, 1);
        if (f.length == 0) {
            throw new Failure(XtablesException.parameter(program + ": line " + line + " chain name invalid"), line);
        }
        String chain = f[0];
        if (extensions.target(chain, rs.family()) != null) {
            // Linux: xtables_announce_chain; -j of this name jumps to the chain from now on
            announced.add(chain);
        }
        if (chain.length() >= CommandLine.MAX_CHAIN_NAME && !trusted) {
            throw new Failure(XtablesException.parameter("Invalid chain name `" + chain + "' ("
                    + (CommandLine.MAX_CHAIN_NAME - 1) + " chars max)"), line);
        }
        org.jnetfilter.core.rules.TableBuilder t = builder(rs, tableName);
        Chain c = t.chain(chain);
        if (c == null || !c.isBuiltin()) {
            if (noflush && c != null) {
                t.put(c.withRules(RuleList.empty()));
            } else if (c != null) {
                throw new Failure(XtablesException.parameter("error creating chain '" + chain + "':File exists"),
                        line);
            } else {
                if (org.jnetfilter.core.rules.Target.verdictOrNull(chain) != null) {
                    throw new Failure(XtablesException.parameter("error creating chain '" + chain
                            + "':File exists"), line);
                }
                t.put(Chain.user(chain));
            }
        }
        if (f.length < 2) {
            throw new Failure(XtablesException.parameter(program + ": line " + line + " policy invalid"), line);
        }
        String policy = f[1];
        if (!policy.equals("-")) {
            long[] count = {0, 0};
            if (counters) {
                long[] parsed = f.length >= 3 ? parseCounters(f[2]) : null;
                if (parsed == null) {
                    throw new Failure(XtablesException.parameter("invalid policy counters for chain '" + chain + "'"),
                            line);
                }
                count = parsed;
            }
            Chain cur = t.chain(chain);
            if (cur == null || !cur.isBuiltin()) {
                throw new Failure(XtablesException.other("Can't set policy `" + policy + "' on `" + chain + "' line "
                        + line + ": Bad built-in chain name"), -1);
            }
            if (!policy.equals("ACCEPT") && !policy.equals("DROP")) {
                throw new Failure(XtablesException.other("Can't set policy `" + policy + "' on `" + chain + "' line "
                        + line + ": Bad policy name"), -1);
            }
            Counters pc = counters ? new Counters(count[0], count[1]) : cur.policyCounters();
            t.policy(chain, policy, pc);
        }
        return rs;
    }

    /**
     * {@code raw.substring(from).trim().split("[ \t]+")} without a regular expression (a restore has a
     * chain line per chain: 60k of them on a Kubernetes node).
     */
    static String[] words(String raw, int from) {
        int end = raw.length();
        while (end > from && raw.charAt(end - 1) <= ' ') {
            end--;
        }
        int i = from;
        while (i < end && raw.charAt(i) <= ' ') {
            i++;
        }
        if (i >= end) {
            return new String[0];
        }
        List<String> out = new ArrayList<>(4);
        int start = i;
        while (i < end) {
            char c = raw.charAt(i);
            if (c == ' ' || c == '\t') {
                // trim() left no blank at either end, so every run of blanks ends a word
                out.add(raw.substring(start, i));
                while (i < end && (raw.charAt(i) == ' ' || raw.charAt(i) == '\t')) {
                    i++;
                }
                start = i;
            } else {
                i++;
            }
        }
        out.add(raw.substring(start, end));
        return out.toArray(new String[0]);
    }

    /**
     * All lines of {@code in}, as {@link BufferedReader#readLine} splits them (at "\n", "\r" or "\r\n"),
     * read in large blocks (a 160k-rule file has 220k lines) with no copy of the whole input.
     */
    static List<String> lines(BufferedReader in) throws IOException {
        return lines(in, 1 << 16);
    }

    /** The lines of {@code text} as {@link BufferedReader#readLine} splits it (at "\n", "\r" or "\r\n"). */
    static List<String> lines(String text) {
        int n = text.length();
        boolean cr = text.indexOf('\r') >= 0;
        if (n < 1 << 20 || cr) {
            return lines(text, 0, n, cr);
        }
        // a large input (a Kubernetes node's 22 MB) is cut after newlines into parts split on all cores: the
        // lines of each part are the lines of the whole
        int parts = 4;
        int[] from = new int[parts + 1];
        for (int k = 1; k < parts; k++) {
            int nl = text.indexOf('\n', Math.max(from[k - 1], (int) ((long) n * k / parts)));
            from[k] = nl < 0 ? n : nl + 1;
        }
        from[parts] = n;
        List<List<String>> split = java.util.stream.IntStream.range(0, parts).parallel()
                .mapToObj(k -> lines(text, from[k], from[k + 1], false)).toList();
        List<String> out = new ArrayList<>(n / 64);
        for (List<String> l : split) {
            out.addAll(l);
        }
        return out;
    }

    /** The lines of {@code text} from {@code start} (a line's start) to {@code n}. */
    private static List<String> lines(String text, int start, int n, boolean cr) {
        List<String> out = new ArrayList<>(Math.max(16, (n - start) / 96));
        while (start < n) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                end = n;
            }
            if (cr) {
                int r = text.indexOf('\r', start);
                if (r >= 0 && r < end) {
                    out.add(text.substring(start, r));
                    start = r + 1 < n && text.charAt(r + 1) == '\n' ? r + 2 : r + 1;
                    continue;
                }
            }
            out.add(text.substring(start, end));
            start = end + 1;
        }
        return out;
    }

    static List<String> lines(BufferedReader in, int blockSize) throws IOException {
        List<String> out = new ArrayList<>(1024);
        char[] buf = new char[blockSize];
        StringBuilder partial = new StringBuilder();
        // a '\r' ended the last block: a '\n' opening the next one belongs to it
        boolean skipNewline = false;
        for (int n; (n = in.read(buf)) > 0; ) {
            int i = 0;
            if (skipNewline && buf[0] == '\n') {
                i = 1;
            }
            skipNewline = false;
            int start = i;
            for (; i < n; i++) {
                char c = buf[i];
                if (c != '\n' && c != '\r') {
                    continue;
                }
                if (partial.isEmpty()) {
                    out.add(new String(buf, start, i - start));
                } else {
                    out.add(partial.append(buf, start, i - start).toString());
                    partial.setLength(0);
                }
                if (c == '\r') {
                    if (i + 1 < n) {
                        if (buf[i + 1] == '\n') {
                            i++;
                        }
                    } else {
                        skipNewline = true;
                    }
                }
                start = i + 1;
            }
            partial.append(buf, start, n - start);
        }
        if (!partial.isEmpty()) {
            out.add(partial.toString());
        }
        return out;
    }

    /** "[p:b]" as parse_counters reads it (sscanf "[%llu:%llu]"). */
    static long[] parseCounters(String s) {
        if (!s.startsWith("[") || !s.endsWith("]")) {
            return null;
        }
        int colon = s.indexOf(':');
        if (colon < 0) {
            return null;
        }
        Long p = CommandLine.scanUnsigned(s.substring(1, colon));
        Long b = CommandLine.scanUnsigned(s.substring(colon + 1, s.length() - 1));
        return p == null || b == null ? null : new long[] {p, b};
    }

    /**
     * Parses the rule lines of a large input on all cores while they are applied in order: parsing a line
     * depends only on the line and its table, applying it on everything before it. The lines are cut into
     * chunks claimed in order by the common pool's workers and by the applying thread itself, which parses
     * the next unclaimed chunk whenever the one it needs is not done yet; so the serial apply loop runs
     * beside the parsing instead of after it. Each slot holds the parsed command or the exception parsing
     * threw (rethrown when the line is reached, so errors come out for the first bad line, as before).
     * Small inputs are parsed as they are applied.
     */
    private final class ParseAhead {
        /** Lines per chunk: ~100 chunks for a Kubernetes node's 220k lines, few enough to claim cheaply. */
        private static final int CHUNK = 2048;
        private final org.jnetfilter.core.rules.Family family;
        private final List<String> lines;
        private final String[] tableOf;
        private final Object[] parsed;
        private final java.util.concurrent.atomic.AtomicInteger nextChunk = new java.util.concurrent.atomic.AtomicInteger();
        /** 1 once a chunk's slots are written (the volatile write publishes them to the applying thread). */
        private final java.util.concurrent.atomic.AtomicIntegerArray done;
        private final int chunks;
        private volatile boolean stopped;

        ParseAhead(org.jnetfilter.core.rules.Family family, List<String> lines) {
            this.family = family;
            this.lines = lines;
            this.tableOf = rulesByTable(family, lines);
            this.parsed = new Object[lines.size()];
            this.chunks = (lines.size() + CHUNK - 1) / CHUNK;
            this.done = new java.util.concurrent.atomic.AtomicIntegerArray(chunks);
            java.util.concurrent.ForkJoinPool pool = java.util.concurrent.ForkJoinPool.commonPool();
            for (int w = 0; w < pool.getParallelism(); w++) {
                pool.execute(() -> {
                    while (!stopped && parseNextChunk()) {
                        // claims chunks until none is left or the restore is over
                    }
                });
            }
        }

        private boolean parseNextChunk() {
            int c = nextChunk.getAndIncrement();
            if (c >= chunks) {
                return false;
            }
            for (int i = c * CHUNK, end = Math.min(lines.size(), i + CHUNK); i < end; i++) {
                if (tableOf[i] != null) {
                    try {
                        parsed[i] = preParseLine(family, tableOf[i], lines.get(i), i + 1, NO_CHAINS_ANNOUNCED);
                    } catch (RuntimeException e) {
                        parsed[i] = e;
                    }
                }
            }
            done.set(c, 1);
            synchronized (this) {
                notifyAll();
            }
            return true;
        }

        /** What line {@code index} (from 0) parsed to; null when it was not parsed ahead. */
        Object get(int index) {
            if (index >= tableOf.length || tableOf[index] == null) {
                return null;
            }
            int c = index / CHUNK;
            while (done.get(c) == 0) {
                // the chunk is being parsed by a worker: parse a later one meanwhile, or wait for it (blocked,
                // not spinning: the worker may need this core)
                if (!parseNextChunk()) {
                    synchronized (this) {
                        while (done.get(c) == 0) {
                            try {
                                wait();
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                                throw new IllegalStateException("restore interrupted while parsing ahead", e);
                            }
                        }
                    }
                }
            }
            return parsed[index];
        }

        void stop() {
            stopped = true;
        }
    }

    /**
     * For each line, the table of the rule line it is (null for every other line, and for every line after a
     * chain line that names a target extension: such lines are parsed in order, with the chains announced).
     */
    private String[] rulesByTable(org.jnetfilter.core.rules.Family family, List<String> lines) {
        String[] tableOf = new String[lines.size()];
        boolean in = false;
        String table = null;
        for (int i = 0; i < lines.size(); i++) {
            String raw = lines.get(i);
            if (raw.isEmpty() || raw.charAt(0) == '#') {
                continue;
            }
            if (raw.equals("COMMIT") && in) {
                in = false;
            } else if (raw.charAt(0) == '*' && !in) {
                String[] f = raw.substring(1).trim().split("[ \t]+");
                table = f.length == 0 || TableKind.byName(f[0]).isEmpty() ? null : f[0];
                in = true;
            } else if (in && raw.charAt(0) == ':') {
                // the chain's name, taken only when it is short enough to be a target's (a Kubernetes node's
                // 60k chain names are longer)
                int from = 1;
                while (from < raw.length() && raw.charAt(from) <= ' ') {
                    from++;
                }
                int to = from;
                while (to < raw.length() && raw.charAt(to) > ' ' && to - from <= longestTargetName) {
                    to++;
                }
                boolean whole = to == raw.length() || raw.charAt(to) <= ' ';
                if (whole && to > from && extensions.target(raw.substring(from, to), family) != null) {
                    return tableOf;
                }
            } else if (in && table != null) {
                tableOf[i] = table;
            }
        }
        return tableOf;
    }

    /**
     * "-A CHAIN words..." -> "words..." (what the rule reads back from); null for any other line. The line is
     * stripped as String.strip() strips it, and only the words are copied.
     */
    static String plainRuleWords(String line) {
        int from = 0;
        int to = line.length();
        while (from < to && Character.isWhitespace(line.charAt(from))) {
            from++;
        }
        while (to > from && Character.isWhitespace(line.charAt(to - 1))) {
            to--;
        }
        if (to - from < 3 || !line.startsWith("-A", from) || !isBlank(line.charAt(from + 2))) {
            return null;
        }
        int i = from + 2;
        while (i < to && isBlank(line.charAt(i))) {
            i++;
        }
        while (i < to && !isBlank(line.charAt(i))) {
            if (line.charAt(i) == '"') {
                return null;
            }
            i++;
        }
        while (i < to && Character.isWhitespace(line.charAt(i))) {
            i++;
        }
        // a quote left open takes the line's newline into its word: not plain
        int quotes = 0;
        for (int k = i; k < to; k++) {
            if (line.charAt(k) == '"') {
                quotes++;
            }
        }
        return quotes % 2 == 0 ? line.substring(i, to) : null;
    }

    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t';
    }

    /** Length of the longest target extension's name. */
    private final int longestTargetName;

    /** Chains of the ':' lines read so far that are named like a target extension (libxtables' notargets). */
    private final java.util.Set<String> announced = new java.util.HashSet<>();
    /** What lines parsed ahead see: they come before any chain line that names a target. */
    private static final java.util.function.Predicate<String> NO_CHAINS_ANNOUNCED = name -> false;

    private long checkNanos;
    private long chainNanos;
    private long ruleNanos;

    /** Chain lines and appends of the table being restored, not yet in {@code rs} (see {@link #flush}). */
    private org.jnetfilter.core.rules.TableBuilder pending;
    private String pendingTable;
    private java.util.function.Function<String, Chain> pendingChains;

    private org.jnetfilter.core.rules.TableBuilder builder(Ruleset rs, String tableName) {
        if (pending == null) {
            pending = new org.jnetfilter.core.rules.TableBuilder(rs.table(TableKind.byName(tableName).orElseThrow()));
            pendingTable = tableName;
            pendingChains = pending::chain;
        } else if (!pendingTable.equals(tableName)) {
            throw new IllegalStateException("builder of table " + pendingTable + " used for " + tableName);
        }
        return pending;
    }

    /**
     * The common line of a restore file, "-A CHAIN rule", without going through a new immutable table per
     * line: checked as -A checks it, appended to a builder.
     */
    private void appendFast(Ruleset rs, Command cmd, Rule[] built) {
        org.jnetfilter.core.rules.TableBuilder b = builder(rs, cmd.table());
        // a fast append echoes nothing (-v goes the other way): nothing is appended to printed
        Executor.validateRuleCommand(cmd, pendingChains, printed);
        for (int i = 0; i < cmd.rules().size(); i++) {
            b.append(cmd.chain(), built != null ? built[i] : newRule(cmd, i));
        }
    }

    private static Rule newRule(Command cmd, int i) {
        Counters counters = cmd.counters() != null ? new Counters(cmd.counters()[0], cmd.counters()[1]) : Counters.zero();
        return new Rule(cmd.rules().get(i), counters, cmd.source(i));
    }

    /** {@code rs} with the pending chain lines and appends in it. */
    private Ruleset flush(Ruleset rs) {
        if (pending == null) {
            return rs;
        }
        Ruleset out = pending.isChanged() ? rs.with(pending.build()) : rs;
        pending = null;
        pendingTable = null;
        return out;
    }

    /**
     * A rule line parsed ahead: the command and, for a plain append, its rules, built with what the table
     * checks and the snapshot ask of them (save text, jump target) already computed, on the parsing
     * thread.
     */
    private record PreParsed(Command command, Rule[] rules) {
    }

    private PreParsed preParseLine(org.jnetfilter.core.rules.Family family, String tableName, String raw, int line,
                                   java.util.function.Predicate<String> notTargets) {
        Command cmd = parseRuleLine(family, tableName, raw, line, notTargets);
        if (!isFastAppend(cmd, tableName)) {
            return new PreParsed(cmd, null);
        }
        Rule[] rules = new Rule[cmd.rules().size()];
        // the chain names the apply loop looks up, hashed here on all cores (a String keeps its hash)
        cmd.chain().hashCode();
        for (int i = 0; i < rules.length; i++) {
            Rule r = newRule(cmd, i);
            r.text();
            String jump = r.jumpChain();
            if (jump != null) {
                jump.hashCode();
            }
            r.isUnconditionalVerdict();
            rules[i] = r;
        }
        return new PreParsed(cmd, rules);
    }

    private static boolean isFastAppend(Command cmd, String tableName) {
        return cmd.kind() == CommandKind.APPEND && cmd.verbose() == 0 && cmd.table().equals(tableName);
    }

    /** The argv of a rule line, parsed (pure: lines can be parsed in parallel). */
    private Command parseRuleLine(org.jnetfilter.core.rules.Family family, String tableName, String raw, int line,
                                  java.util.function.Predicate<String> notTargets) {
        String parse = raw;
        String[] count = null;
        if (raw.charAt(0) == '[') {
            // as legacy reads it: strtok(line + 1, ":") for the packets, strtok(NULL, "]") for the bytes
            if (raw.indexOf(']') < 0) {
                throw new Failure(XtablesException.parameter("Bad line " + line + ": need ]"), line);
            }
            int ps = 1;
            while (ps < raw.length() && raw.charAt(ps) == ':') {
                ps++;
            }
            if (ps >= raw.length()) {
                throw new Failure(XtablesException.parameter("Bad line " + line + ": need :"), line);
            }
            int pe = raw.indexOf(':', ps);
            int bs = pe < 0 ? raw.length() : pe + 1;
            while (bs < raw.length() && raw.charAt(bs) == ']') {
                bs++;
            }
            if (bs >= raw.length()) {
                throw new Failure(XtablesException.parameter("Bad line " + line + ": need ]"), line);
            }
            int be = raw.indexOf(']', bs);
            if (counters) {
                count = new String[] {raw.substring(ps, pe), raw.substring(bs, be < 0 ? raw.length() : be)};
            }
            parse = be < 0 ? "" : raw.substring(be + 1);
        }
        // the line as fgets() read it: a quote left open keeps the newline in its word
        List<String> words = tokenizeLine(parse, shareWords);
        if (direct && !(verbose && !noflush) && (count == null || isPlainCount(count[0]) && isPlainCount(count[1]))) {
            // the common "[P:B] -A CHAIN rule" without getopt; anything else, and every error, through CommandLine
            long[] values = count == null ? null : new long[] {Long.parseLong(count[0]), Long.parseLong(count[1])};
            Command cmd = DirectRuleParser.append(family, extensions, tableName, words, plainRuleWords(parse), values,
                    notTargets);
            if (cmd != null) {
                return cmd;
            }
        }
        List<String> argv = new ArrayList<>(words.size() + 8);
        argv.add(program);
        argv.add("-t");
        argv.add(tableName);
        if (count != null) {
            argv.add("--set-counters");
            argv.add(count[0]);
            argv.add(count[1]);
        }
        if (verbose && !noflush) {
            // observed with iptables-legacy-restore 1.8.9: -v echoes each rule, but not with --noflush
            argv.add("-v");
        }
        argv.addAll(words);
        CommandLine cl = new CommandLine(family, extensions, argv.toArray(new String[0]), true, null);
        cl.plainSource(plainRuleWords(parse)).notTargets(notTargets);
        try {
            return cl.parse();
        } catch (RuntimeException e) {
            throw cl.warnings().isEmpty() ? e : new WarnedFailure(List.copyOf(cl.warnings()), e);
        }
    }

    /** Digits only, few enough for a long: what "-c P B" reads as the number written. */
    private static boolean isPlainCount(String s) {
        if (s.isEmpty() || s.length() > 18) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    private Ruleset ruleLine(Ruleset rs, String tableName, String raw, int line, Object preParsed) {
        try {
            Command cmd;
            Rule[] built = null;
            try {
                if (preParsed instanceof PreParsed parsed) {
                    cmd = parsed.command();
                    built = parsed.rules();
                } else if (preParsed instanceof RuntimeException e) {
                    throw e;
                } else {
                    cmd = parseRuleLine(rs.family(), tableName, raw, line, announced::contains);
                }
            } catch (WarnedFailure w) {
                warn(w.warnings);
                throw w.failure;
            }
            warn(cmd.warnings());
            Command jumping = CommandLine.chainOverExtension(cmd, pending != null ? pendingChains
                    : rs.tableOrInitial(TableKind.byName(tableName).orElseThrow())::chain, warned);
            if (jumping != cmd) {
                cmd = jumping;
                built = null;
            }
            if (cmd.verbose() > 0) {
                // only an echoed rule has echo warnings: no builder per line of a plain restore
                warned.append(Executor.echoWarnings(cmd));
            }
            if (isFastAppend(cmd, tableName)) {
                appendFast(rs, cmd, built);
                return rs;
            }
            Ruleset current = flush(rs);
            return Executor.execute(cmd, current, false, printed).ruleset();
        } catch (XtablesException e) {
            if (e.kind() == XtablesException.Kind.KERNEL) {
                throw new Failure(lineFailed(program, line), -1);
            }
            throw new Failure(e, line);
        } catch (CommandLine.BadArgument e) {
            throw new Failure(new XtablesException(XtablesException.PARAMETER_PROBLEM, XtablesException.Kind.RAW,
                    "Bad argument `" + e.word + "'\n"), line);
        }
    }

    private static boolean quoteOpenAtEnd(String s) {
        boolean open = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (open && c == '\\') {
                i++;
            } else if (c == '"') {
                open = !open;
            }
        }
        return open;
    }

    /** add_param_to_argv: words split on blanks; double quotes group, and inside them '\\' escapes. */
    static List<String> tokenize(String s, int line) {
        return split(s, false, true);
    }

    /**
     * The words of a line as fgets() hands it to add_param_to_argv, with its newline: {@code tokenize(line +
     * "\n")} without the copy (a quote left open keeps the newline in its word).
     */
    static List<String> tokenizeLine(String line) {
        return split(line, true, true);
    }

    /** {@link #tokenizeLine(String)}, the words shared with earlier lines' only when {@code shareWords}. */
    static List<String> tokenizeLine(String line, boolean shareWords) {
        return split(line, true, shareWords);
    }

    /**
     * Inputs from this many lines share their repeated words ({@link #word}): what a large restore keeps
     * alive. A delta's few lines would pay a hash of every character for nothing (a tenth of a
     * one-service delta).
     */
    private static final int SHARE_WORDS_FROM = 256;
    private boolean shareWords = true;

    /**
     * Words taken as substrings of {@code s} where they are one plain run or one quoted run without escapes
     * (nearly always), else assembled: this runs for every line of a 160k-rule restore. With
     * {@code newlineAtEnd}, a '\n' is read after the last character.
     */
    private static List<String> split(String s, boolean newlineAtEnd, boolean shareWords) {
        List<String> out = new ArrayList<>(24);
        String[] seen = shareWords ? SEEN_WORDS.get() : null;
        StringBuilder param = null;
        boolean quoteOpen = false;
        int n = s.length();
        int end = newlineAtEnd ? n + 1 : n;
        int i = 0;
        while (i < end) {
            char c = i < n ? s.charAt(i) : '\n';
            if (quoteOpen) {
                int j = i;
                while (j < end) {
                    char d = j < n ? s.charAt(j) : '\n';
                    if (d == '"' || d == '\\') {
                        break;
                    }
                    j++;
                }
                if (j < n && s.charAt(j) == '"' && (param == null || param.isEmpty())) {
                    // the whole quoted word in one run: the closing quote ends it, even an empty one
                    out.add(word(seen, s, i, j));
                    quoteOpen = false;
                    i = j + 1;
                    continue;
                }
                param = param(param).append(s, i, Math.min(j, n));
                if (j > n) {
                    param.append('\n');
                }
                i = j;
                if (i >= end) {
                    break;
                }
                if (s.charAt(i) == '\\') {
                    // inside quotes a backslash takes the next character as it is
                    if (i + 1 < end) {
                        param.append(i + 1 < n ? s.charAt(i + 1) : '\n');
                    }
                    i += 2;
                    continue;
                }
                quoteOpen = false;
                i++;
                out.add(param.toString());
                param.setLength(0);
                continue;
            }
            if (c == '"') {
                quoteOpen = true;
                i++;
            } else if (c == ' ' || c == '\t' || c == '\n') {
                if (param != null && !param.isEmpty()) {
                    out.add(param.toString());
                    param.setLength(0);
                }
                i++;
            } else {
                int j = i;
                // the word's hash for the table of words seen, made in the same pass (as word() would make it);
                // none for a small restore, whose words are not shared
                int h = 0;
                if (seen != null) {
                    while (j < n) {
                        char d = s.charAt(j);
                        if (d == '"' || d == ' ' || d == '\t' || d == '\n') {
                            break;
                        }
                        h = 31 * h + d;
                        j++;
                    }
                } else {
                    while (j < n) {
                        char d = s.charAt(j);
                        if (d == '"' || d == ' ' || d == '\t' || d == '\n') {
                            break;
                        }
                        j++;
                    }
                }
                if ((param == null || param.isEmpty()) && (j >= n || s.charAt(j) != '"')) {
                    // a word of one run, ended by a blank or the end
                    out.add(word(seen, s, i, j, h));
                } else {
                    param = param(param).append(s, i, j);
                }
                i = j;
            }
        }
        if (param != null && !param.isEmpty() || quoteOpen) {
            out.add(param == null ? "" : param.toString());
        }
        return out;
    }

    /**
     * {@code s.substring(from, to)}, or the equal word this thread split last into the same slot: the words of a
     * large restore repeat (options, protocols, a chain's name on its lines, a service's comment on its
     * rules), and 2.4M new substrings were a sixth of what a 160k-rule restore allocated. Words are immutable,
     * so sharing one is invisible to the parsers.
     */
    private static String word(String[] seen, String s, int from, int to) {
        if (seen == null) {
            return s.substring(from, to);
        }
        int h = 0;
        for (int k = from; k < to; k++) {
            h = 31 * h + s.charAt(k);
        }
        return word(seen, s, from, to, h);
    }

    /** {@link #word(String[], String, int, int)} with the hash of the characters already made ({@code 31 * h + c}). */
    private static String word(String[] seen, String s, int from, int to, int charsHash) {
        if (seen == null) {
            return s.substring(from, to);
        }
        int len = to - from;
        int h = charsHash + len;
        int slot = (h ^ (h >>> 12)) & (seen.length - 1);
        String w = seen[slot];
        if (w != null && w.length() == len && s.regionMatches(from, w, 0, len)) {
            return w;
        }
        w = s.substring(from, to);
        seen[slot] = w;
        return w;
    }

    /** Per parsing thread: the last word split into each slot (a power of two). */
    private static final ThreadLocal<String[]> SEEN_WORDS = ThreadLocal.withInitial(() -> new String[4096]);

    private static StringBuilder param(StringBuilder param) {
        return param != null ? param : new StringBuilder(64);
    }
}
