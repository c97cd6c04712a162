package org.jnetfilter.iptables;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;

/**
 * The iptables programs: {@code iptables}, {@code ip6tables}, their {@code -save} and {@code -restore}
 * twins, with iptables-legacy 1.8.9's options, output, messages and exit codes. Each run is one
 * transaction on a {@link StateStore}.
 */
public final class Iptables {
    public static final String VERSION = SaveFormat.VERSION;
    public static final List<String> PERSONALITIES = List.of("iptables", "ip6tables", "iptables-save",
            "ip6tables-save", "iptables-restore", "ip6tables-restore");

    /** -Djnf.timing=true prints where a command's time goes (for benchmarks). */
    private static final boolean TIMING = Boolean.getBoolean("jnf.timing");

    private final StateStore store;
    private final Extensions extensions;
    private final Supplier<ZonedDateTime> clock;

    public Iptables(StateStore store, Extensions extensions, Supplier<ZonedDateTime> clock) {
        this.store = store;
        this.extensions = extensions;
        this.clock = clock;
    }

    /** Runs one program; returns its exit code. */
    public int run(String personality, String[] args, InputStream in, PrintStream out, PrintStream err) {
        Family family = personality.startsWith("ip6") ? Family.IPV6 : Family.IPV4;
        if (personality.endsWith("-save")) {
            return save(family, args, out, err);
        }
        if (personality.endsWith("-restore")) {
            return restore(family, args, in, out, err);
        }
        return command(family, args, out, err);
    }

    private int command(Family family, String[] args, PrintStream out, PrintStream err) {
        String program = family.program();
        String[] argv = new String[args.length + 1];
        argv[0] = program;
        System.arraycopy(args, 0, argv, 1, args.length);
        CommandLine cl = new CommandLine(family, extensions, argv, false, null);
        try {
            Command cmd;
            try {
                cmd = cl.parse();
            } finally {
                for (String w : cl.warnings()) {
                    err.println(w);
                }
            }
            Executor.tableKind(cmd.table(), program);
            try (StateStore.Held lock = store.lock(cmd.waitSeconds())) {
                long t0 = System.nanoTime();
                Ruleset current = store.load(family);
                long t1 = System.nanoTime();
                StringBuilder printed = new StringBuilder();
                Executor.Result r;
                try {
                    StringBuilder warned = new StringBuilder();
                    cmd = CommandLine.chainOverExtension(cmd, current.tableOrInitial(
                            Executor.tableKind(cmd.table(), program))::chain, warned);
                    err.print(warned);
                    err.print(Executor.echoWarnings(cmd));
                    r = Executor.execute(cmd, current, true, printed);
                    if (TIMING) {
                        System.err.printf("jnf timing: load %d ms, execute %d ms%n", (t1 - t0) / 1_000_000,
                                (System.nanoTime() - t1) / 1_000_000);
                    }
                } catch (XtablesException e) {
                    // the table was initialised before the command failed, and the kernel keeps it
                    TableKind k = Executor.tableKind(cmd.table(), program);
                    if (current.table(k) == null) {
                        store.store(current.with(current.tableOrInitial(k)).withGeneration(current.generation() + 1));
                    }
                    throw e;
                } finally {
                    out.print(printed);
                }
                if (cmd.kind() == CommandKind.LIST || cmd.kind() == CommandKind.LIST_RULES) {
                    StringBuilder warned = new StringBuilder();
                    Executor.printWarnings(Executor.listedRules(cmd,
                            r.ruleset().tableOrInitial(Executor.tableKind(cmd.table(), program))), warned);
                    err.print(warned);
                }
                if (r.changed()) {
                    long t2 = System.nanoTime();
                    store.store(policyCountersRestarted(cmd, r.ruleset()).withGeneration(current.generation() + 1));
                    if (TIMING) {
                        System.err.printf("jnf timing: store %d ms%n", (System.nanoTime() - t2) / 1_000_000);
                    }
                }
            }
            return 0;
        } catch (XtablesException e) {
            printError(err, program, e, -1);
            return e.status();
        } catch (CommandLine.HelpRequested e) {
            out.print(resource("help-" + (family == Family.IPV4 ? "ipv4" : "ipv6") + ".txt"));
            if (e.standardTarget) {
                out.print("\n" + resource("help-standard-target.txt"));
            }
            for (org.jnetfilter.core.ext.Extension x : e.extensions) {
                String help = x.help(family);
                if (help != null) {
                    out.print("\n" + help);
                }
            }
            return 0;
        } catch (CommandLine.VersionRequested e) {
            out.println(e.negated ? "Not " + VERSION + " (legacy) ;-)" : program + " v" + VERSION + " (legacy)");
            return 0;
        } catch (CommandLine.BadArgument e) {
            err.println("Bad argument `" + e.word + "'");
            err.println("Try `" + program + " -h' or '" + program + " --help' for more information.");
            return XtablesException.PARAMETER_PROBLEM;
        } catch (CommandLine.WrongFamily e) {
            err.println("Try `" + program + " -h' or '" + program + " --help' for more information.");
            return XtablesException.PARAMETER_PROBLEM;
        }
    }

    /**
     * Legacy's commit of a changed table leaves the built-in chains' policy counters at zero, except the
     * one this very command set with {@code -P CHAIN POLICY -c P B} (observed with iptables-legacy 1.8.9:
     * any -A, -N or -P after a {@code -P -c} shows the policy at 0 packets, 0 bytes).
     */
    private static Ruleset policyCountersRestarted(Command cmd, Ruleset rs) {
        TableKind k = TableKind.byName(cmd.table()).orElseThrow();
        Table t = rs.table(k);
        if (t == null) {
            return rs;
        }
        Table next = t;
        for (Chain c : t.builtinChains()) {
            boolean setNow = cmd.kind() == CommandKind.SET_POLICY && cmd.counters() != null && c.name().equals(cmd.chain());
            if (!setNow && (c.policyCounters().packets() != 0 || c.policyCounters().bytes() != 0)) {
                next = next.with(c.withPolicy(c.policy(), Counters.zero()));
            }
        }
        if (next == t) {
            return rs;
        }
        // policy counters take no part in the jump graph: the checked table's hook reach is the new one's
        if (t.knownReach() != null) {
            next.knowReach(t.knownReach());
        } else if (t.knownHookMasks() != null) {
            next.knowHookMasks(t.knownHookMasks());
        }
        return rs.with(next);
    }

    /** The tables a restore opened exist from then on, empty, as the kernel initialised them. */
    private void keepOpenedTables(Ruleset current, Restore r) {
        Ruleset initialised = current;
        for (TableKind k : r.opened) {
            if (initialised.table(k) == null) {
                initialised = initialised.with(initialised.tableOrInitial(k));
            }
        }
        if (initialised != current) {
            store.store(initialised.withGeneration(current.generation() + 1));
        }
    }

    static void printError(PrintStream err, String program, XtablesException e, int line) {
        switch (e.kind()) {
            case KERNEL -> err.print(program + ": " + e.getMessage() + ".\n");
            case RAW -> {
                err.print(e.getMessage());
                if (e.status() == XtablesException.PARAMETER_PROBLEM && line >= 0) {
                    tryHelp(err, program, line);
                }
            }
            case PARAMETER -> {
                err.print(program + " v" + VERSION + " (legacy): " + e.getMessage() + "\n");
                if (e.status() == XtablesException.PARAMETER_PROBLEM) {
                    tryHelp(err, program, line);
                }
                if (e.status() == XtablesException.VERSION_PROBLEM && !e.getMessage().contains("Perhaps")) {
                    err.print("Perhaps " + program + " or your kernel needs to be upgraded.\n");
                }
            }
        }
    }

    private static void tryHelp(PrintStream err, String program, int line) {
        if (line >= 0) {
            err.print("Error occurred at line: " + line + "\n");
        }
        err.print("Try `" + program + " -h' or '" + program + " --help' for more information.\n");
    }

    private static String resource(String name) {
        try (InputStream s = Iptables.class.getResourceAsStream(name)) {
            return new String(s.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException | NullPointerException e) {
            throw new IllegalStateException("missing resource " + name, e);
        }
    }

    private static final List<String> SAVE_LONG_OPTIONS = List.of("counters", "dump", "table", "modprobe", "file",
            "version");
    private static final List<String> RESTORE_LONG_OPTIONS = List.of("counters", "verbose", "version", "test",
            "help", "noflush", "wait", "wait-interval", "table", "modprobe");

    /** A long option the user could not have meant uniquely; getopt_long's message is in it. */
    private static final class LongOptionError extends Exception {
        LongOptionError(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * getopt_long's long option matching: "--name[=value]" with name an exact option or the unique option
     * it abbreviates; returns the word spelled out, so the parsers below see full names only.
     */
    private static String[] spellOutLongOptions(String[] args, List<String> names, String prog)
            throws LongOptionError {
        String[] out = args.clone();
        for (int i = 0; i < out.length; i++) {
            String a = out[i];
            if (a.equals("--")) {
                break;
            }
            if (!a.startsWith("--")) {
                continue;
            }
            int eq = a.indexOf('=');
            String name = a.substring(2, eq < 0 ? a.length() : eq);
            if (names.contains(name)) {
                continue;
            }
            List<String> candidates = names.stream().filter(n -> n.startsWith(name)).toList();
            if (candidates.size() == 1 && !name.isEmpty()) {
                out[i] = "--" + candidates.get(0) + (eq < 0 ? "" : a.substring(eq));
            } else if (candidates.size() > 1 && !name.isEmpty()) {
                StringBuilder m = new StringBuilder(prog + ": option '" + a.substring(0, eq < 0 ? a.length() : eq)
                        + "' is ambiguous; possibilities:");
                for (String c : candidates) {
                    m.append(" '--").append(c).append('\'');
                }
                throw new LongOptionError(m.toString());
            } else {
                throw new LongOptionError(prog + ": unrecognized option '" + a + "'");
            }
        }
        return out;
    }

    /**
     * getopt's short option clusters: "-ct raw" is "-c -t raw", "-Tnat" is "-T nat"; a letter in
     * {@code withArg} takes the rest of its word as its argument.
     */
    private static String[] splitClusters(String[] args, String withArg) {
        List<String> out = new ArrayList<>();
        boolean options = true;
        for (String a : args) {
            if (a.equals("--")) {
                options = false;
            }
            if (!options || !a.startsWith("-") || a.startsWith("--") || a.length() <= 2) {
                out.add(a);
                continue;
            }
            for (int j = 1; j < a.length(); j++) {
                char c = a.charAt(j);
                out.add("-" + c);
                if (withArg.indexOf(c) >= 0) {
                    if (j + 1 < a.length()) {
                        out.add(a.substring(j + 1));
                    }
                    break;
                }
            }
        }
        return out.toArray(String[]::new);
    }

    private int save(Family family, String[] rawArgs, PrintStream out, PrintStream err) {
        String program = family.program() + "-save";
        String[] args;
        try {
            args = splitClusters(spellOutLongOptions(rawArgs, SAVE_LONG_OPTIONS, family.program() + "-legacy-save"),
                    "tMf");
        } catch (LongOptionError e) {
            err.print(e.getMessage() + "\nLook at manual page `" + program + ".8' for more information.\n");
            return 1;
        }
        boolean counters = false;
        String table = null;
        String file = null;
        boolean extra = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "-c", "--counters" -> counters = true;
                case "-t", "--table" -> {
                    if (i + 1 >= args.length) {
                        err.print(family.program() + "-legacy-save: option requires an argument -- 't'\n"
                                + "Look at manual page `" + program + ".8' for more information.\n");
                        return 1;
                    }
                    table = args[++i];
                }
                case "-V", "--version" -> {
                    out.println(program + " v" + VERSION + " (legacy)");
                    return 0;
                }
                case "-M", "--modprobe" -> i++;
                case "-d", "--dump" -> {
                }
                case "-f", "--file" -> {
                    if (i + 1 >= args.length) {
                        err.print(family.program() + "-legacy-save: option requires an argument -- 'f'\n"
                                + "Look at manual page `" + program + ".8' for more information.\n");
                        return 1;
                    }
                    file = args[++i];
                }
                default -> {
                    if (a.startsWith("--table=")) {
                        table = a.substring(8);
                    } else if (a.startsWith("-t") && a.length() > 2) {
                        table = a.substring(2);
                    } else if (a.startsWith("--modprobe=")) {
                        continue;
                    } else if (a.startsWith("--file=")) {
                        file = a.substring(7);
                    } else if (!a.startsWith("-") || a.equals("-")) {
                        extra = true;
                    } else if (a.startsWith("--")) {
                        err.print(family.program() + "-legacy-save: unrecognized option '" + a + "'\n"
                                + "Look at manual page `" + program + ".8' for more information.\n");
                        return 1;
                    } else {
                        err.print(family.program() + "-legacy-save: invalid option -- '"
                                + (a.startsWith("-") && a.length() > 1 ? a.substring(1, 2) : a) + "'\n"
                                + "Look at manual page `" + program + ".8' for more information.\n");
                        return 1;
                    }
                }
            }
        }
        if (extra) {
            err.print("Unknown arguments found on commandline\n");
            return 1;
        }
        PrintStream dest = out;
        if (file != null && !file.equals("/dev/stdout")) {
            try {
                dest = new PrintStream(Files.newOutputStream(Path.of(file)), true, StandardCharsets.UTF_8);
            } catch (IOException e) {
                err.print("Failed to open file, error: " + e.getMessage() + "\n");
                return 1;
            }
        }
        try (StateStore.Held lock = store.lock(Integer.MAX_VALUE)) {
            Ruleset rs = store.load(family);
            if (table != null && TableKind.byName(table).isEmpty()) {
                err.print(program + " v" + VERSION + " (legacy): Cannot initialize: Table does not exist (do you need to insmod?)\n");
                return 1;
            }
            if (table != null) {
                TableKind k = TableKind.byName(table).orElseThrow();
                if (rs.table(k) == null) {
                    rs = rs.with(rs.tableOrInitial(k));
                    store.store(rs);
                }
            }
            dest.print(SaveFormat.save(rs, table, counters, clock.get()));
            StringBuilder warned = new StringBuilder();
            for (Table t : rs.tables()) {
                if (table == null || t.name().equals(table)) {
                    for (Chain c : t.chains()) {
                        Executor.printWarnings(c.rules(), warned);
                    }
                }
            }
            err.print(warned);
            if (dest != out) {
                dest.close();
            }
            return 0;
        }
    }

    /**
     * The whole input, read in one piece and decoded at once as the reader decoded it (malformed bytes
     * replaced); a file opened here is closed, standard input is not.
     */
    private static String readAll(InputStream input, InputStream in) throws IOException {
        if (input == in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        try (InputStream file = input) {
            return new String(file.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private int restore(Family family, String[] args, InputStream in, PrintStream out, PrintStream err) {
        String program = family.program() + "-restore";
        boolean counters = false;
        boolean noflush = false;
        boolean test = false;
        String table = null;
        int wait = -1;
        String file = null;
        boolean waitInterval = false;
        boolean verbose = false;
        List<String> words;
        try {
            words = new ArrayList<>(List.of(splitClusters(spellOutLongOptions(args, RESTORE_LONG_OPTIONS,
                    family.program() + "-legacy-restore"), "TM")));
        } catch (LongOptionError e) {
            err.print(e.getMessage() + "\nTry `" + program + " -h' for more information.\n");
            return 1;
        }
        for (int i = 0; i < words.size(); i++) {
            String a = words.get(i);
            switch (a) {
                case "-c", "--counters" -> counters = true;
                case "-n", "--noflush" -> noflush = true;
                case "-t", "--test" -> test = true;
                case "-v", "--verbose" -> verbose = true;
                case "-T", "--table" -> {
                    if (i + 1 >= words.size()) {
                        err.print(family.program() + "-legacy-restore: option requires an argument -- 'T'\n"
                                + "Try `" + program + " -h' for more information.\n");
                        return 1;
                    }
                    table = words.get(++i);
                }
                // -w and -W take the next word when it is no option, as legacy's restore does
                case "-w", "--wait" -> {
                    wait = Integer.MAX_VALUE;
                    if (i + 1 < words.size() && !words.get(i + 1).startsWith("-")) {
                        String v = words.get(++i);
                        if (!v.matches("\\d+")) {
                            printError(err, program, XtablesException.parameter("wait seconds not numeric"), 0);
                            return XtablesException.PARAMETER_PROBLEM;
                        }
                        Long secs = CommandLine.scanUnsigned(v);
                        wait = secs > Integer.MAX_VALUE || secs < 0 ? Integer.MAX_VALUE : secs.intValue();
                    }
                }
                case "-W", "--wait-interval" -> {
                    String v = i + 1 < words.size() && !words.get(i + 1).startsWith("-") ? words.get(++i) : null;
                    try {
                        CommandLine.parseWaitInterval(v);
                    } catch (XtablesException e) {
                        printError(err, program, e, 0);
                        return e.status();
                    }
                    waitInterval = true;
                }
                case "-M", "--modprobe" -> i++;
                case "-h", "--help" -> {
                    err.print(resource("help-restore.txt").replace("PROGRAM", program));
                    return 0;
                }
                case "-V", "--version" -> {
                    out.println(program + " v" + VERSION + " (legacy)");
                    return 0;
                }
                default -> {
                    if (a.startsWith("--table=")) {
                        table = a.substring(8);
                    } else if (a.startsWith("--wait-interval=")) {
                        waitInterval = true;
                    } else if (a.startsWith("--wait=")) {
                        wait = Integer.parseInt(a.substring(7));
                    } else if (a.startsWith("--modprobe=")) {
                        continue;
                    } else if (a.startsWith("--")) {
                        err.print(family.program() + "-legacy-restore: unrecognized option '" + a + "'\n"
                                + "Try `" + program + " -h' for more information.\n");
                        return 1;
                    } else if (a.startsWith("-") && a.length() > 1) {
                        err.print(family.program() + "-legacy-restore: invalid option -- '" + a.substring(1, 2) + "'\n"
                                + "Try `" + program + " -h' for more information.\n");
                        return 1;
                    } else if (file == null) {
                        file = a;
                    } else {
                        err.print("Unknown arguments found on commandline\n");
                        return 1;
                    }
                }
            }
        }
        if (waitInterval) {
            err.print("Ignoring deprecated --wait-interval option.\n");
            if (wait < 0) {
                err.print("Option --wait-interval requires option --wait\n");
                return 1;
            }
        }
        InputStream input;
        try {
            input = file == null || file.equals("-") ? in : Files.newInputStream(Path.of(file));
        } catch (NoSuchFileException e) {
            err.print("Can't open " + file + ": No such file or directory\n");
            return 1;
        } catch (IOException e) {
            err.print("Can't open " + file + ": " + e.getMessage() + "\n");
            return 1;
        }
        Restore r = new Restore(extensions, counters, noflush, table, program).verbose(verbose);
        try (StateStore.Held lock = store.lock(wait)) {
            long t0 = System.nanoTime();
            Ruleset current = store.load(family);
            long t1 = System.nanoTime();
            Ruleset next;
            try {
                // read in one piece and decoded at once (as the reader would, malformed bytes replaced)
                next = r.apply(current, readAll(input, in));
                if (TIMING) {
                    System.err.printf("jnf timing: load %d ms, parse+apply %d ms%n", (t1 - t0) / 1_000_000,
                            (System.nanoTime() - t1) / 1_000_000);
                }
            } catch (Restore.Failure f) {
                // all-or-nothing: no line of a failing restore is applied
                keepOpenedTables(current, r);
                throw f;
            } finally {
                out.print(r.printed);
                err.print(r.warned);
            }
            if (test) {
                keepOpenedTables(current, r);
            } else if (next != current) {
                long t2 = System.nanoTime();
                store.store(next.withGeneration(current.generation() + 1));
                if (TIMING) {
                    System.err.printf("jnf timing: store %d ms%n", (System.nanoTime() - t2) / 1_000_000);
                }
            }
            return 0;
        } catch (Restore.Failure f) {
            printError(err, program, f.error, f.line);
            return f.error.status();
        } catch (XtablesException e) {
            printError(err, program, e, -1);
            return e.status();
        } catch (IOException e) {
            err.print(program + ": " + e.getMessage() + "\n");
            return 1;
        }
    }
}
