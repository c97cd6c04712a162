package org.jnetfilter.iptables;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;

/**
 * iptables-save files as values, without a state directory: what {@code jnf replay}, {@code jnf trace} and
 * embedders use to load a node's rules. Reading is {@code iptables-restore -c} into an empty ruleset (the
 * counters of the file are kept, every table check of a commit runs); writing is {@code iptables-save -c}.
 */
public final class SaveFiles {

    /** A file iptables-restore refuses; the message is what iptables-restore prints. */
    public static final class Invalid extends Exception {
        public Invalid(String message) {
            super(message);
        }
    }

    private SaveFiles() {
    }

    public static Ruleset read(Family family, Path file) throws IOException, Invalid {
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return read(family, r);
        }
    }

    public static Ruleset read(Family family, String text) throws Invalid {
        try {
            return read(family, new StringReader(text));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Ruleset read(Family family, Reader text) throws IOException, Invalid {
        String program = family == Family.IPV4 ? "iptables-restore" : "ip6tables-restore";
        Restore restore = new Restore(Extensions.standard(), true, false, null, program);
        BufferedReader in = text instanceof BufferedReader b ? b : new BufferedReader(text);
        try {
            return restore.apply(Ruleset.empty(family), in);
        } catch (Restore.Failure f) {
            throw new Invalid(message(program, f.error, f.line));
        } catch (XtablesException e) {
            throw new Invalid(message(program, e, -1));
        }
    }

    /** The ruleset as {@code iptables-save -c} prints it, without the date comments. */
    public static String write(Ruleset rs) {
        return SaveFormat.save(rs, null, true, null);
    }

    static String message(String program, XtablesException e, int line) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        PrintStream p = new PrintStream(b, true, StandardCharsets.UTF_8);
        Iptables.printError(p, program, e, line);
        return b.toString(StandardCharsets.UTF_8).stripTrailing();
    }
}
