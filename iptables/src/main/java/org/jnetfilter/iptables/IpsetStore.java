package org.jnetfilter.iptables;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The sets of a jnetfilter without a daemon, beside the rules in the state directory: one file,
 * {@code ipsets}, in a binary form {@link IpsetCommand} writes (sets by index, create options, elements with
 * their extensions), element timeouts kept as absolute expiry times so that a set read later has aged by the
 * time that passed.
 * Each ipset command is one transaction under {@code ipset.lock} (the kernel serialises ipset commands on
 * its nfnetlink mutex, so there is no -w: a command waits for the lock); a new state is written to a
 * temporary file, forced to disk and renamed over the old one.
 */
public final class IpsetStore {
    static final String FILE = "ipsets";
    private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

    private final Path dir;

    public IpsetStore(Path dir) {
        this.dir = dir;
    }

    public Path directory() {
        return dir;
    }

    /** A held lock; close to release. */
    public interface Held extends AutoCloseable {
        @Override
        void close();
    }

    /** Takes the ipset lock, waiting for it. */
    public Held lock() {
        try {
            Files.createDirectories(dir);
            Path lockFile = dir.resolve("ipset.lock");
            ReentrantLock jvm = JVM_LOCKS.computeIfAbsent(lockFile.toAbsolutePath().normalize(), p -> new ReentrantLock());
            jvm.lock();
            FileChannel ch;
            FileLock fl;
            try {
                ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                fl = ch.lock();
            } catch (IOException | RuntimeException e) {
                jvm.unlock();
                throw e;
            }
            FileChannel held = ch;
            FileLock heldLock = fl;
            return () -> {
                try {
                    heldLock.release();
                    held.close();
                } catch (IOException e) {
                    throw new IllegalStateException("releasing " + lockFile, e);
                } finally {
                    jvm.unlock();
                }
            };
        } catch (IOException e) {
            throw new IllegalStateException("cannot take the ipset lock in " + dir, e);
        }
    }

    /** The stored state (empty when nothing was stored). Readers without the lock see the old or the new state. */
    public byte[] read() {
        Path f = dir.resolve(FILE);
        try {
            return Files.exists(f) ? Files.readAllBytes(f) : new byte[0];
        } catch (IOException e) {
            throw new IllegalStateException("reading " + f, e);
        }
    }

    /** Replaces the stored state by {@code bytes}, atomically and durably. Call with the lock held. */
    public void write(byte[] bytes) {
        Path f = dir.resolve(FILE);
        Path tmp = dir.resolve(FILE + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        } catch (IOException e) {
            throw new IllegalStateException("writing " + tmp, e);
        }
        try {
            try {
                Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new IllegalStateException("renaming " + tmp, e);
        }
    }
}
