package org.jnetfilter.iptables;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Ruleset;

/**
 * iptables commands and restore files as pure transactions on in-memory generations: the embedder's API (a
 * datapath publishes what these return). Each call takes the current generation and returns the next one, built
 * by sharing everything the change did not touch, with the kernel's table checks; the input generation is
 * unchanged, also when the change is refused. Nothing is read from or written to disk (for the durable form,
 * {@link Iptables} on a {@link StateStore}).
 */
public final class Transactions {
    private Transactions() {
    }

    /**
     * One iptables command ({@code "-t", "nat", "-A", "KUBE-SERVICES", ...}, without the program name) on
     * {@code current}; the same generation when the command changes nothing (-L, -C, -S).
     *
     * @throws XtablesException with iptables' message and exit status when iptables would refuse it
     */
    public static Ruleset command(Ruleset current, String... args) {
        String[] argv = new String[args.length + 1];
        argv[0] = current.family().program();
        System.arraycopy(args, 0, argv, 1, args.length);
        Command cmd;
        try {
            cmd = new CommandLine(current.family(), Extensions.standard(), argv, false, null).parse();
        } catch (CommandLine.BadArgument e) {
            throw XtablesException.parameter("Bad argument `" + e.word + "'");
        } catch (CommandLine.HelpRequested e) {
            throw XtablesException.parameter("help is not a transaction");
        }
        // a target named like a chain of the table jumps to the chain (iptables' warning is not kept here)
        cmd = CommandLine.chainOverExtension(cmd, current.tableOrInitial(Executor.tableKind(cmd.table(),
                current.family().program()))::chain, new StringBuilder());
        Executor.Result r = Executor.execute(cmd, current, true);
        return r.changed() ? r.ruleset().withGeneration(current.generation() + 1) : current;
    }

    /**
     * Refusal of a transaction based on a generation that is no longer the current one (nftables' generation
     * id check): another writer published in between. Nothing was changed; read the current generation and
     * build the change again.
     */
    public static final class StaleGeneration extends RuntimeException {
        private final long basedOn;
        private final long current;

        StaleGeneration(long basedOn, long current) {
            super("ruleset changed since generation " + basedOn + " (now " + current + ")");
            this.basedOn = basedOn;
            this.current = current;
        }

        public long basedOn() {
            return basedOn;
        }

        public long current() {
            return current;
        }
    }

    /**
     * {@link #command(Ruleset, String...)} for a writer that built its change on generation {@code basedOn}:
     * refused with {@link StaleGeneration} when {@code current} is another generation.
     */
    public static Ruleset command(Ruleset current, long basedOn, String... args) {
        requireGeneration(current, basedOn);
        return command(current, args);
    }

    /** {@link #restore(Ruleset, String, boolean)}, refused when {@code current} is not generation {@code basedOn}. */
    public static Ruleset restore(Ruleset current, long basedOn, String text, boolean noflush) throws SaveFiles.Invalid {
        requireGeneration(current, basedOn);
        return restore(current, text, noflush);
    }

    private static void requireGeneration(Ruleset current, long basedOn) {
        if (current.generation() != basedOn) {
            throw new StaleGeneration(basedOn, current.generation());
        }
    }

    /**
     * An iptables-save text applied as {@code iptables-restore} does ({@code noflush}: {@code --noflush}, the
     * delta form); counters in the text are taken.
     *
     * @throws SaveFiles.Invalid with iptables-restore's message when it would refuse the text
     */
    public static Ruleset restore(Ruleset current, String text, boolean noflush) throws SaveFiles.Invalid {
        String program = current.family().program() + "-restore";
        Restore restore = new Restore(Extensions.standard(), true, noflush, null, program);
        try {
            Ruleset next = restore.apply(current, text);
            return next == current ? current : next.withGeneration(current.generation() + 1);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (Restore.Failure f) {
            throw new SaveFiles.Invalid(SaveFiles.message(program, f.error, f.line));
        } catch (XtablesException e) {
            throw new SaveFiles.Invalid(SaveFiles.message(program, e, -1));
        }
    }
}
