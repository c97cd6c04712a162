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
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;

/**
 * The iptables programs: {@code iptables}, {@code ip6tables}, their {@code -save} and {@code -restore}
 * twins, with iptables-legacy 1.8.9's options, output, messages and exit codes. Each run is one
 * transaction on a {@link StateStore}.
 */
public final class Iptables {
    public static final String VERSION = SaveFormat.VERSION;
    public static final List<String> PERSONALITIES = List.of("iptables", "ip6tables", "iptables-save",
            "ip6tables-save", "iptables-restore", "ip6tables-restore");

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
                Ruleset current = store.load(family);
                Executor.Result r = Executor.execute(cmd, current);
                out.print(r.stdout());
                if (r.changed()) {
                    store.store(r.ruleset().withGeneration(current.generation() + 1));
                }
            }
            return 0;
        } catch (XtablesException e) {
            printError(err, program, e, -1);
            return e.status();
        } catch (CommandLine.HelpRequested e) {
            out.print(resource("help-" + (family == Family.IPV4 ? "ipv4" : "ipv6") + ".txt"));
            return 0;
        } catch (CommandLine.VersionRequested e) {
            out.println(e.negated ? "Not " + VERSION + " ;-)" : program + " v" + VERSION + " (legacy)");
            return 0;
        } catch (CommandLine.BadArgument e) {
            err.println("Bad argument `" + e.word + "'");
            err.println("Try `" + program + " -h' or '" + program + " --help' for more information.");
            return XtablesException.PARAMETER_PROBLEM;
        } catch (CommandLine.WrongFamily e) {
            err.println("This is the IPv" + (family == Family.IPV4 ? "4" : "6") + " version of " + program + ".");
            return XtablesException.PARAMETER_PROBLEM;
        }
    }

    static void printError(PrintStream err, String program, XtablesException e, int line) {
        switch (e.kind()) {
            case KERNEL -> err.print(program + ": " + e.getMessage() + ".\n");
            case RAW -> err.print(e.getMessage());
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

    private int save(Family family, String[] args, PrintStream out, PrintStream err) {
        String program = family.program() + "-save";
        boolean counters = false;
        String table = null;
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
                default -> {
                    if (a.startsWith("--table=")) {
                        table = a.substring(8);
                    } else if (a.startsWith("-t") && a.length() > 2) {
                        table = a.substring(2);
                    } else if (a.startsWith("--modprobe=")) {
                        continue;
                    } else {
                        err.print(family.program() + "-legacy-save: invalid option -- '"
                                + (a.startsWith("-") && a.length() > 1 ? a.substring(1, 2) : a) + "'\n"
                                + "Look at manual page `" + program + ".8' for more information.\n");
                        return 1;
                    }
                }
            }
        }
        try (StateStore.Held lock = store.lock(Integer.MAX_VALUE)) {
            Ruleset rs = store.load(family);
            if (table != null && org.jnetfilter.core.rules.TableKind.byName(table).isEmpty()) {
                err.print(program + " v" + VERSION + " (legacy): Cannot initialize: Table does not exist (do you need to insmod?)\n");
                return 1;
            }
            if (table != null) {
                org.jnetfilter.core.rules.TableKind k = org.jnetfilter.core.rules.TableKind.byName(table).orElseThrow();
                if (rs.table(k) == null) {
                    rs = rs.with(rs.tableOrInitial(k));
                    store.store(rs);
                }
            }
            out.print(SaveFormat.save(rs, table, counters, clock.get()));
            return 0;
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
        List<String> words = new ArrayList<>(List.of(args));
        for (int i = 0; i < words.size(); i++) {
            String a = words.get(i);
            switch (a) {
                case "-c", "--counters" -> counters = true;
                case "-n", "--noflush" -> noflush = true;
                case "-t", "--test" -> test = true;
                case "-v", "--verbose" -> {
                }
                case "-T", "--table" -> table = i + 1 < words.size() ? words.get(++i) : null;
                case "-w", "--wait" -> {
                    wait = Integer.MAX_VALUE;
                    if (i + 1 < words.size() && words.get(i + 1).matches("\\d+")) {
                        wait = Integer.parseInt(words.get(++i));
                    }
                }
                case "-W", "--wait-interval" -> {
                    if (i + 1 < words.size() && words.get(i + 1).matches("\\d+")) {
                        i++;
                    }
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
                    } else if (a.startsWith("--wait=")) {
                        wait = Integer.parseInt(a.substring(7));
                    } else if (a.startsWith("--modprobe=")) {
                        continue;
                    } else if (a.startsWith("-") && a.length() > 1) {
                        err.print(family.program() + "-legacy-restore: invalid option -- '" + a.substring(1, 2) + "'\n");
                        err.print(resource("help-restore.txt").replace("PROGRAM", program));
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
        BufferedReader reader;
        try {
            reader = file == null || file.equals("-")
                    ? new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))
                    : Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            err.print("Can't open " + file + ": No such file or directory\n");
            return 1;
        } catch (IOException e) {
            err.print("Can't open " + file + ": " + e.getMessage() + "\n");
            return 1;
        }
        try (StateStore.Held lock = store.lock(wait)) {
            Ruleset current = store.load(family);
            Restore r = new Restore(extensions, counters, noflush, table, program);
            Ruleset next = r.apply(current, reader);
            if (!test && next != current) {
                store.store(next.withGeneration(current.generation() + 1));
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
