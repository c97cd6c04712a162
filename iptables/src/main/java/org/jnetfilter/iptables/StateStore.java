package org.jnetfilter.iptables;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;

/**
 * The rules of a jnetfilter without a daemon: one file per family in a state directory, in
 * iptables-save -c format (tables oldest first, so loading rebuilds the kernel's table order).
 * Each command is one transaction under an exclusive lock (the xtables lock's role, with its messages
 * and {@code -w} semantics); a new state is written to a temporary file, forced to disk and renamed
 * over the old one, so a crash at any moment leaves the old or the new state, never a mix.
 */
public final class StateStore {
    /** Serialises threads of one JVM, which a file lock alone does not (it is per process). */
    private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

    private final Path dir;
    private final Extensions extensions;

    public StateStore(Path dir, Extensions extensions) {
        this(dir, extensions, StateFiles.MIN_COMPACT_BYTES);
    }

    /** A store whose journal is compacted once it outgrows {@code compactFromBytes} (tests: snapshots often). */
    StateStore(Path dir, Extensions extensions, long compactFromBytes) {
        this.dir = dir;
        this.extensions = extensions;
        this.compactFromBytes = compactFromBytes;
    }

    private final long compactFromBytes;

    /**
     * The directory named by JNF_STATE_DIR, else $XDG_STATE_HOME/jnetfilter, else
     * ~/.local/state/jnetfilter.
     */
    public static Path defaultDirectory() {
        String env = System.getenv("JNF_STATE_DIR");
        if (env != null && !env.isEmpty()) {
            return Path.of(env);
        }
        String xdg = System.getenv("XDG_STATE_HOME");
        if (xdg != null && !xdg.isEmpty()) {
            return Path.of(xdg, "jnetfilter");
        }
        return Path.of(System.getProperty("user.home"), ".local", "state", "jnetfilter");
    }

    public Path directory() {
        return dir;
    }

    private Path file(Family family) {
        return dir.resolve(family == Family.IPV4 ? "ipv4.rules" : "ipv6.rules");
    }

    /** A held lock; close to release. */
    public interface Held extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Takes the lock. {@code waitSeconds} < 0: fail at once if busy (iptables without -w);
     * Integer.MAX_VALUE: wait as long as it takes (-w); else wait up to that many seconds (-w N).
     */
    public Held lock(int waitSeconds) {
        try {
            Files.createDirectories(dir);
            Path lockFile = dir.resolve("xtables.lock");
            ReentrantLock jvm = JVM_LOCKS.computeIfAbsent(lockFile.toAbsolutePath().normalize(), p -> new ReentrantLock());
            long deadline = waitSeconds < 0 ? 0 : System.nanoTime() + TimeUnit.SECONDS.toNanos(waitSeconds);
            boolean forever = waitSeconds == Integer.MAX_VALUE;
            if (!acquire(jvm, waitSeconds, forever, deadline)) {
                throw busy(waitSeconds);
            }
            FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock fl;
            while ((fl = ch.tryLock()) == null) {
                if (waitSeconds < 0 || (!forever && System.nanoTime() > deadline)) {
                    ch.close();
                    jvm.unlock();
                    throw busy(waitSeconds);
                }
                Thread.sleep(20);
            }
            FileLock held = fl;
            return () -> {
                try {
                    held.release();
                    ch.close();
                } catch (IOException e) {
                    throw new IllegalStateException("releasing " + lockFile, e);
                } finally {
                    jvm.unlock();
                }
            };
        } catch (IOException e) {
            throw new XtablesException(XtablesException.RESOURCE_PROBLEM, XtablesException.Kind.PARAMETER,
                    "Could not open the state lock in " + dir + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw busy(waitSeconds);
        }
    }

    private static boolean acquire(ReentrantLock jvm, int waitSeconds, boolean forever, long deadline)
            throws InterruptedException {
        if (waitSeconds < 0) {
            return jvm.tryLock();
        }
        if (forever) {
            jvm.lockInterruptibly();
            return true;
        }
        return jvm.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    private static XtablesException busy(int waitSeconds) {
        String msg = waitSeconds < 0
                ? "Another app is currently holding the xtables lock. Perhaps you want to use the -w option?\n"
                : "Another app is currently holding the xtables lock. Stopped waiting after " + waitSeconds + "s.\n";
        return new XtablesException(XtablesException.RESOURCE_PROBLEM, XtablesException.Kind.RAW, msg);
    }

    private final java.util.EnumMap<Family, StateFiles> filesByFamily = new java.util.EnumMap<>(Family.class);

    private synchronized StateFiles files(Family family) {
        return filesByFamily.computeIfAbsent(family, f -> new StateFiles(dir, f, extensions, compactFromBytes));
    }

    /** The current generation of {@code family}; empty when nothing was stored. Call with the lock held. */
    public Ruleset load(Family family) {
        try {
            return files(family).load();
        } catch (IOException e) {
            throw new IllegalStateException("reading state of " + family + " in " + dir, e);
        }
    }

    /** Persists the successor of the generation {@link #load} returned. Call with the lock held. */
    public void store(Ruleset rs) {
        try {
            files(rs.family()).store(rs);
        } catch (IOException e) {
            throw new IllegalStateException("writing state of " + rs.family() + " in " + dir, e);
        }
    }

    /** The parser for rules of {@code table} kept as text. */
    org.jnetfilter.core.rules.RuleParser parser(Family family, String table) {
        return files(family).parser(table);
    }
}
